"""Checks of exercise 12: find the failing objects of a cluster, and why each fails.

The notebook is ``solutions/ex12_monitoring-debugging.md``. The learner writes
``diagnose(c)``: given a simulated cluster in which faults were planted, it
returns what is broken, as ``{"object": "cause"}`` (or a list of
``(object, cause)`` pairs). The grader builds clusters from seeds it keeps
(:func:`labsupport.sim.faults.build_cluster`), calls ``diagnose`` on each and
compares the answer with what it planted. Two checks, 6 points:

- ``ex12.q1`` (4 points): the workloads whose pods fail. Each is named by its
  Deployment (``deployment/cart``) or by any of its pods, with the *cause*:
  ``ImagePullBackOff`` (a mistyped image tag), ``CreateContainerConfigError``
  (a ConfigMap key that does not exist), ``Insufficient cpu`` (a request no
  node can hold) or ``CrashLoopBackOff`` (the program exits at start).
  Reporting ``Pending`` is reporting the symptom, and is marked wrong.
- ``ex12.q2`` (2 points): the Service with no endpoints (its selector has a
  typo; it must be named as ``service/...``, its Deployment is healthy) and
  the slow dependency (cause ``slow``: requests to it take far longer than to
  the others), named by its Deployment, its Service or one of its pods.

Naming a healthy object fails the case too: a diagnosis that flags
everything is no diagnosis.

Example:
    >>> EXERCISE
    <Exercise ex12 'Monitoring and debugging: name each fault and its cause': 2 checks, 6 points>
    >>> cause_kind("0/3 nodes are available: 3 Insufficient cpu."), cause_kind("Pending")
    ('cpu', 'pending')
    >>> app_of("pod/cart-7c448cf4b7-29prn"), app_of("deployment/cart"), app_of("service/cart")
    ('cart', 'cart', 'cart')
"""

from __future__ import annotations

import re
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise
from labsupport.sim.faults import POD_FAULTS, plan

__all__ = ["EXERCISE", "CAUSES", "cause_kind", "app_of", "answer_pairs", "reference_diagnose"]

#: What each fault kind is called in an answer (the first word is the one the solution uses).
CAUSES = {"image": "ImagePullBackOff", "config": "CreateContainerConfigError",
          "cpu": "Insufficient cpu", "crash": "CrashLoopBackOff",
          "selector": "no endpoints", "slow": "slow"}
# --- reading an answer -------------------------------------------------------------------

_KINDS = (("cpu", ("insufficientcpu",)),
          ("image", ("imagepullbackoff", "errimagepull")),
          ("config", ("createcontainerconfigerror", "couldntfindkey")),
          ("crash", ("crashloopbackoff", "backoffrestartingfailedcontainer")),
          ("selector", ("noendpoints", "selector", "noreadyendpoints")),
          ("slow", ("slow", "latency")),
          ("pending", ("pending", "failedscheduling", "unschedulable")))


def cause_kind(cause: Any) -> str:
    """Which fault a cause names (``"cpu"``, ``"pending"``...), or ``""`` when none."""
    text = re.sub(r"[^a-z]", "", str(cause).lower())
    return next((kind for kind, words in _KINDS if any(w in text for w in words)), "")


def app_of(obj: Any) -> str:
    """The app an object name belongs to: ``pod/cart-7c448cf4b7-29prn`` -> ``cart``."""
    kind, _, name = str(obj).strip().partition("/")
    if not name:
        kind, name = "", kind
    kind = kind.lower().rstrip("s")
    if kind == "pod" and name.count("-") >= 2:
        return name.rsplit("-", 2)[0]
    if kind == "replicaset" and "-" in name:
        return name.rsplit("-", 1)[0]
    return name


def _kind_of(obj: Any) -> str:
    kind, _, name = str(obj).strip().partition("/")
    return kind.lower().rstrip("s") if name else ""


def answer_pairs(seen: Any) -> list[tuple[str, str]]:
    """The answer as ``(object, cause)`` pairs, from a dict or a list of pairs."""
    if isinstance(seen, dict):
        return [(str(k), str(v)) for k, v in seen.items()]
    if isinstance(seen, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in seen):
        return [(str(a), str(b)) for a, b in seen]
    raise ValueError("diagnose(c) should return a dict {object: cause} or a list of "
                     f"(object, cause) pairs, got {str(seen)[:80]}")


# --- the reference ---------------------------------------------------------------------

def reference_diagnose(c: Any) -> dict[str, str]:
    """What the solution's ``diagnose`` does: events for pods, slices for Services, p99s."""
    from labsupport.sim.promql import parse, quantiles

    found: dict[str, str] = {}
    for ev in c.events():
        if ev.type != "Warning" or not ev.object.startswith("pod/"):
            continue
        if ev.reason == "FailedScheduling" and "Insufficient cpu" in ev.message:
            found[ev.object] = "Insufficient cpu"
        elif ev.reason == "Failed" and ("ImagePullBackOff" in ev.message
                                         or "ErrImagePull" in ev.message):
            found[ev.object] = "ImagePullBackOff"
        elif ev.reason == "Failed" and "couldn't find key" in ev.message:
            found[ev.object] = "CreateContainerConfigError"
        elif ev.reason == "BackOff" and "restarting failed container" in ev.message:
            found[ev.object] = "CrashLoopBackOff"
    for svc in c.list("services"):
        name = svc["metadata"]["name"]
        if name == "kubernetes":
            continue
        slices = c.list("endpointslices", selector=f"kubernetes.io/service-name={name}")
        if not any(s.get("endpoints") for s in slices):
            found[f"service/{name}"] = "no endpoints"
    p99 = quantiles(0.99, parse(c.prometheus()), by=lambda lab: lab["pod"].rsplit("-", 2)[0])
    for app, seconds in p99.items():
        if seconds > 0.5:
            found[f"deployment/{app}"] = "slow"
    return found


# --- judging -----------------------------------------------------------------------------

def _symptom(name: str) -> str:
    return (f"{name}: Pending is the symptom, not the cause; the pod's FailedScheduling event "
            "says why the scheduler could place it on no node")


def _judge_pods(case: Case, seen: Any) -> tuple[bool, str]:
    rows = {r["name"]: r for r in plan(case.expect["seed"])}
    faulty = {n for n, r in rows.items() if r["fault"] in POD_FAULTS}
    named: set[str] = set()
    reported: set[str] = set()
    problems: list[str] = []
    for obj, cause in answer_pairs(seen):
        kind, app = cause_kind(cause), app_of(obj)
        if kind in ("selector", "slow") or app in reported:
            continue  # q2's business, or a second pod of a workload already judged wrong
        before = len(problems)
        if app not in rows:
            problems.append(f"{obj}: no such object in this cluster")
        elif app not in faulty:
            fault = rows[app]["fault"]
            problems.append(f"{obj} is named with {cause!r}, but its pods are Running and Ready"
                            + (" (its trouble is elsewhere)" if fault else ""))
        elif kind == rows[app]["fault"]:
            named.add(app)
        elif kind == "pending" and rows[app]["fault"] == "cpu":
            problems.append(_symptom(obj))
        else:
            problems.append(f"{obj}: {cause!r} is not why its pods fail; read the Warning events "
                            "of one of them (kubectl describe pod), and its previous log if it "
                            "restarts")
        if len(problems) > before:
            reported.add(app)
    missed = faulty - named - {app_of(o) for o, _ in answer_pairs(seen)}
    if missed:
        problems.append(f"{len(missed)} failing workload{'s' if len(missed) > 1 else ''} not "
                        "named: look for pods that are not Running and Ready")
    if problems:
        return False, "; ".join(problems)
    return True, ""


def _judge_services(case: Case, seen: Any) -> tuple[bool, str]:
    rows = {r["name"]: r for r in plan(case.expect["seed"])}
    broken = next(n for n, r in rows.items() if r["fault"] == "selector")
    slow = next(n for n, r in rows.items() if r["fault"] == "slow")
    found = {"selector": False, "slow": False}
    problems = []
    for obj, cause in answer_pairs(seen):
        kind, app, what = cause_kind(cause), app_of(obj), _kind_of(obj)
        if kind not in ("selector", "slow") and app not in (broken, slow):
            continue  # q1's business
        if app not in rows:
            problems.append(f"{obj}: no such object in this cluster")
        elif app == broken and kind == "selector":
            if what == "service":
                found["selector"] = True
            else:
                problems.append(
                    f"{obj}: the {broken} pods are Running and Ready; it is the Service "
                    f"{broken} that has no endpoints, because its selector matches none of "
                    "them (name service/...)")
        elif app == slow and kind == "slow":
            found["slow"] = True
        elif kind == "selector":
            problems.append(f"{obj}: this Service has ready endpoints")
        elif kind == "slow":
            problems.append(f"{obj}: its requests are as fast as the others'; compare the p99 "
                            "of every app")
        elif app == broken:
            problems.append(f"{obj}: {cause!r} is not what is wrong; its requests fail with no "
                            "endpoints")
        else:
            problems.append(f"{obj}: {cause!r} is not what is wrong; its pods run, but answer "
                            "slowly")
    if not found["selector"]:
        problems.append("the Service whose requests all fail is not named with 'no endpoints'")
    if not found["slow"]:
        problems.append("the slow dependency is not named with 'slow': compare the p99 latency "
                        "of each app from http_request_duration_seconds")
    if problems:
        return False, "; ".join(problems)
    return True, ""


def _cases() -> list[Case]:
    out = [Case("the notebook's cluster (seed 0)", {"args": [{"$faults": {"seed": 0}}]},
                expect={"seed": 0})]
    for seed in (11, 12, 13, 14):
        out.append(Case(f"a hidden cluster ({seed - 10})",
                        {"args": [{"$faults": {"seed": seed}}]},
                        expect={"seed": seed}, hidden=True))
    return out


Q1 = Check("ex12.q1", title="failing workloads and their causes", points=4, answer="diagnose",
           probe="call", cases=_cases(), judge=_judge_pods, many_answers=True,
           hint="for each pod that is not Running and Ready, its Warning events say why: "
                "kubectl describe pod, kubectl get events, kubectl logs --previous.")
Q2 = Check("ex12.q2", title="the Service with no endpoints and the slow dependency", points=2,
           answer="diagnose", probe="call", cases=_cases(), judge=_judge_services,
           many_answers=True,
           hint="compare each Service's EndpointSlices with its pods, and each app's p99 "
                "latency from the Prometheus histograms.")

EXERCISE = Exercise("ex12", "Monitoring and debugging: name each fault and its cause",
                    (Q1, Q2))
