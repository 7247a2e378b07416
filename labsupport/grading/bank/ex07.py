"""Checks of exercise 07: a Deployment manifest that meets a specification.

The notebook is ``solutions/ex07_workloads.md``. The learner writes one
manifest, ``manifest`` (YAML text or a dict), for the shop's web front end.
The grader applies it to a fresh seeded simulated cluster, waits for it to
roll out, then rolls it out again with a new image (as ``kubectl set image``
does) and counts, at every change the API server recorded, the pods that
exist and the pods that answer. Four checks, 8 points:

- ``ex07.q1`` (1) the basics: a Deployment named ``shop`` with :data:`REPLICAS`
  replicas of :data:`IMAGE`, that the API server accepts;
- ``ex07.q2`` (2) a readiness probe that passes once the app answers;
- ``ex07.q3`` (2) resource requests and limits as specified;
- ``ex07.q4`` (3) a rolling update that never leaves fewer than
  :data:`MIN_SERVING` pods answering and never runs more than :data:`MAX_PODS`.

"Answering" is what users see: a pod is ready (so its Service sends it
requests), not terminating, and its app has finished starting
(:data:`START_SECONDS` after the container starts; the grader writes this
into the template as the simulator's ``start-seconds`` annotation). A pod
without a readiness probe is ready the moment its container starts, before
the app answers: that is why the specification asks for a probe.

Example:
    >>> EXERCISE
    <Exercise ex07 'A Deployment that rolls out safely': 4 checks, 8 points>
    >>> spec_problems({"kind": "Deployment"})[0]
    'apiVersion: missing; a Deployment is apiVersion apps/v1'
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

__all__ = ["EXERCISE", "NAME", "REPLICAS", "IMAGE", "NEW_IMAGE", "MIN_SERVING", "MAX_PODS",
           "START_SECONDS", "REQUESTS", "LIMITS", "parse", "spec_problems", "rollout_run",
           "closed_probe_port"]

NAME = "shop"
REPLICAS = 5
IMAGE = "nginx:1.27"
#: The image of the rollout the grader runs (hidden cases use others).
NEW_IMAGE = "nginx:1.28"
#: Pods that answer may never fall below this during a rollout.
MIN_SERVING = 4
#: Pods may never be more than this during a rollout.
MAX_PODS = 6
#: Seconds the shop's app takes from container start until it answers.
START_SECONDS = 8
REQUESTS = {"cpu": "200m", "memory": "128Mi"}
LIMITS = {"cpu": "500m", "memory": "256Mi"}
#: How long the grader lets a rollout take (virtual seconds).
DEADLINE = 240.0
_C0 = "spec.template.spec.containers[0]"


# --- reading the answer ----------------------------------------------------------------

def parse(seen: Any) -> tuple[dict | None, str]:
    r"""The one Deployment in the answer, or ``(None, why not)``.

    Example:
        >>> parse("kind: Deployment\napiVersion: apps/v1\nmetadata: {name: shop}")[1]
        ''
        >>> parse(3)[1]
        'manifest should be YAML text (a string) or a dict, got int'
    """
    if isinstance(seen, dict):
        docs = [seen]
    elif isinstance(seen, str):
        import yaml

        try:
            docs = [d for d in yaml.safe_load_all(seen) if d is not None]
        except yaml.YAMLError as e:
            return None, f"manifest is not valid YAML: {str(e).splitlines()[0]}"
    else:
        return None, f"manifest should be YAML text (a string) or a dict, got {type(seen).__name__}"
    if len(docs) != 1 or not isinstance(docs[0], dict):
        return None, (f"manifest should hold exactly one object, a Deployment; it holds "
                      f"{len(docs)} documents")
    return docs[0], ""


def _container(obj: dict) -> dict:
    try:
        return obj["spec"]["template"]["spec"]["containers"][0] or {}
    except (KeyError, IndexError, TypeError):
        return {}


def spec_problems(obj: dict) -> list[str]:
    """What in the manifest's basics differs from the specification, field by field."""
    out = []
    if obj.get("apiVersion") != "apps/v1":
        have = obj.get("apiVersion")
        out.append(f"apiVersion: {'missing' if have is None else repr(have)}; "
                   "a Deployment is apiVersion apps/v1")
    if obj.get("kind") != "Deployment":
        out.append(f"kind: {obj.get('kind')!r}; the specification asks for a Deployment")
    name = (obj.get("metadata") or {}).get("name")
    if name != NAME:
        out.append(f"metadata.name: {name!r}; the specification names it {NAME!r}")
    spec = obj.get("spec") or {}
    if spec.get("replicas") != REPLICAS:
        have = spec.get("replicas")
        out.append(f"spec.replicas: {'missing (1 by default)' if have is None else have}; "
                   f"the specification needs {REPLICAS}")
    image = _container(obj).get("image")
    if image != IMAGE:
        out.append(f"{_C0}.image: {image!r}; the specification runs {IMAGE}")
    return out


# --- running it -------------------------------------------------------------------------

def _prepared(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
    meta.setdefault("annotations", {})["sim.labsupport.io/start-seconds"] = str(START_SECONDS)
    return obj


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _running(pod: dict) -> bool:
    return any("running" in (s.get("state") or {})
               for s in (pod.get("status") or {}).get("containerStatuses") or ())


def _counts(cluster: Any, since: float, until: float) -> list[tuple[float, int, int]]:
    """``(time, pods, answering)`` at every change of a shop pod between two times."""
    from labsupport.viz.timeline import object_history

    history = object_history(cluster, "/registry/pods/default/")
    started: dict[str, float] = {}
    changes: set[float] = {since, until}
    for key, versions in history.items():
        for t, pod in versions:
            if pod is not None and _running(pod) and key not in started:
                started[key] = t
                changes.add(t + START_SECONDS)
            changes.add(t)
    out = []
    for t in sorted(x for x in changes if since <= x <= until):
        pods = answering = 0
        for key, versions in history.items():
            pod = None
            for when, obj in versions:
                if when > t:
                    break
                pod = obj
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            pods += 1
            if _ready(pod) and key in started and t >= started[key] + START_SECONDS:
                answering += 1
        out.append((t, pods, answering))
    return out


@cache
def _run(text: str, seed: int, new_image: str) -> dict:
    import labsupport as ls
    from labsupport.errors import LabSupportError

    obj = json.loads(text)
    c = ls.connect(nodes=3, seed=seed)
    out: dict[str, Any] = {"applied": "", "first_ready": False, "first_message": "",
                           "rolled": False, "min_answering": None, "max_pods": None,
                           "images": [], "probe_event": ""}
    try:
        c.apply(_prepared(obj))
    except LabSupportError as e:
        out["applied"] = str(e).splitlines()[0]
        return out
    try:
        c.wait_for_rollout(f"deployment/{NAME}", timeout=120)
        out["first_ready"] = True
    except LabSupportError as e:
        out["first_message"] = str(e).splitlines()[0]
        failed = [ev.message for ev in c.events("default")
                  if ev.reason in ("Unhealthy", "Failed", "BackOff")]
        out["probe_event"] = failed[-1] if failed else ""
        return out
    # Let the first pods finish starting, so the rollout starts from a shop that answers.
    c.advance(START_SECONDS + 2)
    start = c.now
    new = _prepared(obj)
    _container(new)["image"] = new_image
    c.apply(new)
    try:
        c.wait_for_rollout(f"deployment/{NAME}", timeout=DEADLINE)
        out["rolled"] = True
    except LabSupportError as e:
        out["rollout_message"] = str(e).splitlines()[0]
    c.advance(START_SECONDS + 1)
    counts = _counts(c, start, c.now)
    out["min_answering"] = min(a for _, _, a in counts)
    out["max_pods"] = max(p for _, p, _ in counts)
    out["low_at"] = next(t - start for t, _, a in counts if a == out["min_answering"])
    out["images"] = sorted({pod["spec"]["containers"][0]["image"]
                            for pod in c.list("pods", namespace="default")})
    return out


def rollout_run(obj: dict, seed: int = 0, new_image: str = NEW_IMAGE) -> dict:
    """Apply a manifest to a fresh seeded cluster, roll out ``new_image``, and count.

    Returns:
        ``applied`` (the API server's refusal, or ``""``), ``first_ready``
        (the first rollout finished), ``rolled`` (the second one did),
        ``min_answering`` and ``max_pods`` during the second rollout.
    """
    return _run(json.dumps(obj, sort_keys=True), seed, new_image)


def _setup(case: Case, seen: Any) -> tuple[dict | None, dict | None, str]:
    obj, problem = parse(seen)
    if obj is None:
        return None, None, problem
    basics = [p for p in spec_problems(obj) if p.startswith(("apiVersion", "kind", "metadata"))]
    if basics:
        return obj, None, "; ".join(basics)
    run = rollout_run(obj, case.expect["seed"], case.expect["image"])
    if run["applied"]:
        return obj, None, f"the API server refused the manifest: {run['applied']}"
    return obj, run, ""


# --- q1 ---------------------------------------------------------------------------------

def _judge_basics(case: Case, seen: Any) -> tuple[bool, str]:
    obj, run, problem = _setup(case, seen)
    if problem:
        return False, problem
    problems = spec_problems(obj)
    if problems:
        return False, "; ".join(problems)
    return True, ""


# --- q2 ---------------------------------------------------------------------------------

def _judge_probe(case: Case, seen: Any) -> tuple[bool, str]:
    obj, run, problem = _setup(case, seen)
    if problem:
        return False, problem
    probe = _container(obj).get("readinessProbe")
    if not probe:
        return False, (f"{_C0}.readinessProbe: missing; without one a pod counts as ready the "
                       f"moment its container starts, {START_SECONDS} s before the shop answers, "
                       "and the Service sends it requests that fail")
    if not run["first_ready"]:
        said = f" (the kubelet reported {run['probe_event']!r})" if run["probe_event"] else ""
        closed = closed_probe_port(obj)
        if closed:
            return False, closed + said
        return False, (f"{_C0}.readinessProbe: the pods never became ready{said}; the shop "
                       "answers HTTP on port 80")
    return True, ""


def closed_probe_port(obj: dict) -> str | None:
    """What is wrong when the readiness probe aims at a port the container does not listen on.

    The simulated kubelet dials the probe's port and a closed port refuses
    (:mod:`labsupport.sim.listening` says which ports an image opens: nginx
    80, whatever the manifest declares), so such a pod never becomes Ready.

    Example:
        >>> d = {"spec": {"template": {"spec": {"containers": [{"image": "nginx:1.27",
        ...     "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}]}}}}
        >>> field, why = closed_probe_port(d).split(" — ")
        >>> field
        'spec.template.spec.containers[0].readinessProbe.httpGet.port: 8080'
        >>> why
        'nothing listens there (nginx listens on 80), so the pod never becomes Ready'
    """
    from labsupport.sim import listening

    template = (obj.get("spec") or {}).get("template") or {}
    container = _container(obj)
    probe = container.get("readinessProbe") or {}
    handler = next((h for h in ("httpGet", "tcpSocket", "grpc")
                    if isinstance(probe.get(h), dict)), None)
    if handler is None:
        return None
    port = probe[handler].get("port")
    if listening.listens(template, container, port):
        return None
    number = listening.resolve_port(container, port)
    shown = f"{port!r} (containerPort {number})" if number != port else f"{port!r}"
    ports = sorted(listening.listen_ports(template, container) or ())
    image = str(container.get("image", "")).split(":")[0]
    where = ", ".join(map(str, ports)) if ports else "no port"
    return (f"{_C0}.readinessProbe.{handler}.port: {shown} — nothing listens there "
            f"({image} listens on {where}), so the pod never becomes Ready")


# --- q3 ---------------------------------------------------------------------------------

def _judge_resources(case: Case, seen: Any) -> tuple[bool, str]:
    from labsupport.quantity import parse_quantity

    obj, run, problem = _setup(case, seen)
    if problem:
        return False, problem
    resources = _container(obj).get("resources") or {}
    out = []
    for part, want in (("requests", REQUESTS), ("limits", LIMITS)):
        have = resources.get(part) or {}
        for res, value in want.items():
            field = f"{_C0}.resources.{part}.{res}"
            got = have.get(res)
            if got is None:
                out.append(f"{field}: missing; the specification needs {value}")
                continue
            try:
                same = parse_quantity(str(got)) == parse_quantity(value)
            except Exception:  # noqa: BLE001 - any unreadable quantity is the learner's mistake
                same = False
            if not same:
                hint = ""
                if res == "memory" and str(got).endswith(("M", "G")):
                    hint = f" ({got} is powers of 1000; Mi is powers of 1024)"
                out.append(f"{field}: {got}; the specification needs {value}{hint}")
    if out:
        return False, "; ".join(out)
    return True, ""


# --- q4 ---------------------------------------------------------------------------------

def _strategy_words(obj: dict) -> tuple[str, str, int, int]:
    from labsupport.sim.controllers.deployment import resolve_fenceposts

    spec = obj.get("spec") or {}
    ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = ru.get("maxSurge", "25%")
    unavailable = ru.get("maxUnavailable", "25%")
    s, u = resolve_fenceposts(surge, unavailable, int(spec.get("replicas") or 1))
    sw = f"{surge}{' (the default)' if 'maxSurge' not in ru else ''}"
    uw = f"{unavailable}{' (the default)' if 'maxUnavailable' not in ru else ''}"
    return sw, uw, s, u


def _judge_rollout(case: Case, seen: Any) -> tuple[bool, str]:
    obj, run, problem = _setup(case, seen)
    if problem:
        return False, problem
    image = case.expect["image"]
    if not run["first_ready"]:
        closed = closed_probe_port(obj)
        return False, (f"the first rollout never finished ({run['first_message']}), so the "
                       f"rollout to {image} could not start; fix the readiness probe first"
                       + (f": {closed}" if closed else ""))
    out = []
    strategy = (obj.get("spec") or {}).get("strategy") or {}
    sw, uw, surge, unavailable = _strategy_words(obj)
    low, high = run["min_answering"], run["max_pods"]
    if low < MIN_SERVING:
        at = f" ({run['low_at']:.0f} s into the rollout)"
        if strategy.get("type") == "Recreate":
            out.append(f"spec.strategy.type: Recreate stops every old pod before it starts a new "
                       f"one: pods that answer fell to {low}{at}; the specification needs at "
                       f"least {MIN_SERVING}; use RollingUpdate")
        elif unavailable > REPLICAS - MIN_SERVING:
            out.append(f"spec.strategy.rollingUpdate.maxUnavailable: {uw} lets ready pods fall "
                       f"to {REPLICAS - unavailable}; pods that answer fell to {low}{at}; the "
                       f"specification needs at least {MIN_SERVING}")
        elif not _container(obj).get("readinessProbe"):
            out.append(f"{_C0}.readinessProbe: missing, so new pods counted as ready before the "
                       f"app answered and old pods were stopped too early: pods that answer fell "
                       f"to {low}{at}; the specification needs at least {MIN_SERVING}")
        else:
            out.append(f"pods that answer fell to {low}{at}; the specification needs at least "
                       f"{MIN_SERVING}: check {_C0}.readinessProbe and "
                       "spec.strategy.rollingUpdate.maxUnavailable")
    if high > MAX_PODS:
        out.append(f"spec.strategy.rollingUpdate.maxSurge: {sw} lets the rollout run {high} "
                   f"pods at once; the specification allows at most {MAX_PODS}")
    if not run["rolled"]:
        out.append(f"the rollout to {image} did not finish within {DEADLINE:.0f} s "
                   f"({run.get('rollout_message', '')})")
    if out:
        return False, "; ".join(out)
    return True, ""


def _cases() -> list[Case]:
    rows = [(0, NEW_IMAGE, f"roll out {NEW_IMAGE} (seed 0)", False),
            (3, "nginx:1.29", "roll out nginx:1.29 on another cluster (seed 3)", True),
            (8, "nginx:1.26", "roll back to nginx:1.26 (seed 8)", True)]
    return [Case(label, None, expect={"seed": seed, "image": image}, hidden=hidden)
            for seed, image, label, hidden in rows]


Q1 = Check("ex07.q1", title="a Deployment of 5 shop pods", points=1, answer="manifest",
           probe="value", cases=_cases(), judge=_judge_basics,
           hint="apiVersion apps/v1, kind Deployment, metadata.name shop, spec.replicas 5, "
                "and the image nginx:1.27 in spec.template.spec.containers")
Q2 = Check("ex07.q2", title="a readiness probe that passes", points=2, answer="manifest",
           probe="value", cases=_cases(), judge=_judge_probe,
           hint="readinessProbe under the container: an httpGet on path / and port 80")
Q3 = Check("ex07.q3", title="requests and limits", points=2, answer="manifest",
           probe="value", cases=_cases(), judge=_judge_resources,
           hint="resources.requests and resources.limits under the container, cpu and memory "
                "in the units of the specification (m for millicores, Mi for mebibytes)")
Q4 = Check("ex07.q4", title="a rollout that keeps 4 pods answering", points=3,
           answer="manifest", probe="value", cases=_cases(), judge=_judge_rollout,
           hint="spec.strategy.rollingUpdate: maxUnavailable bounds how far ready pods may "
                "fall below replicas, maxSurge how many extra pods may run")

EXERCISE = Exercise("ex07", "A Deployment that rolls out safely", (Q1, Q2, Q3, Q4))
