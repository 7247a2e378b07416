"""Checks of exercise 08: a Service and a readiness probe that keep traffic off unready pods.

The notebook is ``solutions/ex08_services.md``. Two checks, 6 points:

- ``ex08.q1`` ``service``: a Service manifest for the ``web`` pods. Graded by
  applying it next to the course's Deployment (with a readiness probe that
  works) and a canary Deployment, and sending traffic through it: every
  request must succeed and none may reach a canary pod.
- ``ex08.q2`` ``readiness_probe``: the ``readinessProbe`` of the web
  container. Graded by putting it into the Deployment, sending traffic
  through the grader's own Service while the Deployment rolls out a new image
  and one pod is killed: zero failed requests are required, and the count is
  shown when there are some.

The web container is plain nginx: it listens on port 80 (its image's port),
declared as ``containerPort: 80`` named ``http``, and needs a few seconds
after it starts before it answers (``sim.labsupport.io/start-seconds``). The
simulator refuses a connection to a port nothing listens on, as a real
cluster does, so a probe or a ``targetPort`` aimed at another port shows up in
the simulated result (the pods never become Ready; every request is refused),
and the message names the field and the port nginx listens on.

What is not counted against the learner (:func:`excused`): the requests sent
to the killed pod once it is killed, or in flight on it when it is killed.
The pod is force-deleted; until the EndpointSlice controller has removed it
and kube-proxy has read the new slice, kube-proxy still sends it requests,
and they fail whatever the answer (a real cluster does the same). No
readiness probe can prevent those; every other failed request counts.

Example:
    >>> EXERCISE
    <Exercise ex08 'Services: traffic only to ready pods': 2 checks, 6 points>
    >>> _closed_port(web_deployment(None), 8080)
    'nothing listens there (nginx listens on 80)'
    >>> _closed_port(web_deployment(None), "http") is None
    True
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

__all__ = ["EXERCISE", "APP_PORT", "PORT_NAME", "web_deployment", "canary_deployment",
           "REFERENCE_SERVICE", "REFERENCE_PROBE", "run_scenario", "excused"]

#: The port the web container listens on (nginx's own), and its name.
APP_PORT, PORT_NAME = 80, "http"
#: Requests per second of the grader's traffic, and its seconds.
RPS, SPAN = 100.0, 90.0
#: The rollout starts this long after the traffic; the crash comes 5 s after the rollout.
ROLLOUT_AT, CRASH_AFTER = 10.0, 5.0
#: The rollout must finish within this many seconds.
ROLLOUT_TIMEOUT = 240.0
#: A request sent this long before the kill is still on the wire when the pod
#: goes: it arrives at a dead pod and is refused (the simulated network's
#: one-way delay between pods is well under a millisecond).
ON_THE_WIRE = 0.01

#: A Service that selects only the stable web pods (the grader's own, for q2).
REFERENCE_SERVICE = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web", "track": "stable"},
             "ports": [{"port": 80, "targetPort": PORT_NAME}]}}
#: A readiness probe that works (the grader's own, for q1).
REFERENCE_PROBE = {"httpGet": {"path": "/", "port": PORT_NAME}, "periodSeconds": 2}


def _template(track: str, image: str, start: float, probe: dict | None) -> dict:
    container: dict[str, Any] = {
        "name": "web", "image": image,
        "ports": [{"name": PORT_NAME, "containerPort": APP_PORT}],
        "resources": {"requests": {"cpu": "400m", "memory": "64Mi"}}}
    if probe:
        container["readinessProbe"] = copy.deepcopy(probe)
    return {"metadata": {"labels": {"app": "web", "track": track},
                         "annotations": {"sim.labsupport.io/start-seconds": f"{start:g}",
                                         "sim.labsupport.io/service-time": "exponential:0.01"}},
            "spec": {"containers": [container]}}


def web_deployment(probe: dict | None, *, replicas: int = 4, image: str = "nginx:1.27",
                   start: float = 8.0) -> dict:
    """The stable web Deployment, with ``probe`` as its container's readinessProbe.

    Example:
        >>> d = web_deployment(None)
        >>> container = d["spec"]["template"]["spec"]["containers"][0]
        >>> d["spec"]["selector"], "readinessProbe" in container
        ({'matchLabels': {'app': 'web', 'track': 'stable'}}, False)
    """
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": "web", "track": "stable"}},
                     "template": _template("stable", image, start, probe)}}


def canary_deployment(replicas: int = 1) -> dict:
    """A canary of the next version, labelled ``app: web, track: canary``: not for users yet."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web-canary"},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": "web", "track": "canary"}},
                     "template": _template("canary", "nginx:1.28", 2.0, REFERENCE_PROBE)}}


@cache
def _run(service_json: str, probe_json: str, seed: int, replicas: int, canary: int,
         start: float) -> dict[str, Any]:
    import numpy as np

    import labsupport as ls
    from labsupport.errors import LabSupportError
    from labsupport.sim.traffic import OK, STATUS

    service, probe = json.loads(service_json), json.loads(probe_json)
    c = ls.connect(seed=seed)
    out: dict[str, Any] = {"first_ready": True, "rolled_out": False, "killed": None,
                           "requests": 0, "errors": 0, "excused": 0, "error_kinds": {},
                           "canary": 0, "probe_event": "", "applied": ""}
    try:
        c.apply([web_deployment(probe, replicas=replicas, start=start),
                 canary_deployment(canary)])
    except LabSupportError as e:
        out["applied"], out["first_ready"] = str(e).splitlines()[0], False
        return out
    try:
        c.wait_for_rollout("deployment/web", timeout=ROLLOUT_TIMEOUT)
    except LabSupportError:
        out["first_ready"] = False
        failed = [ev.message for ev in c.events("default") if ev.reason == "Unhealthy"
                  and ev.object.startswith("pod/web-") and "-canary-" not in ev.object]
        out["probe_event"] = failed[-1] if failed else ""
        return out
    c.wait_for_rollout("deployment/web-canary", timeout=ROLLOUT_TIMEOUT)
    c.apply(service)
    c.advance(2.0)  # the EndpointSlice controller writes the slices, kube-proxy reads them
    name = service["metadata"]["name"]
    handle = c.send_traffic(f"service/{name}", rps=RPS, duration=SPAN, pattern="poisson",
                            background=True, seed=f"ex08:{seed}")
    c.advance(ROLLOUT_AT)
    c.apply(web_deployment(probe, replicas=replicas, start=start, image="nginx:1.28"))
    try:
        c.wait_for_rollout("deployment/web", timeout=ROLLOUT_TIMEOUT)
        out["rolled_out"] = True
    except LabSupportError:
        pass
    c.advance(CRASH_AFTER)
    stable = sorted(p.name for p in c.pods(selector="app=web,track=stable"))
    killed_at = c.now
    if stable:
        c.kill_pod(stable[0])
    c.advance(max(0.0, handle.end - c.now) + 5.0)
    r = handle.result()
    excuse = excused(r, stable[0] if stable else None, killed_at)
    kinds = np.bincount(r.status[(r.status != OK) & ~excuse], minlength=len(STATUS))
    out.update(requests=r.requests, errors=r.errors, excused=int(excuse.sum()),
               error_kinds={STATUS[k]: int(n) for k, n in enumerate(kinds) if k != OK and n},
               canary=sum(n for pod, n in r.per_pod.items() if pod.startswith("web-canary-")),
               killed=stable[0] if stable else None)
    return out


def excused(result: Any, killed: str | None, killed_at: float) -> Any:
    """Which failed requests are not counted: those lost to the pod killed under load.

    A failed request is excused when it went to the killed pod and

    - was sent after the kill, or at most :data:`ON_THE_WIRE` seconds before
      it (it reached a pod that was gone: ``refused``). kube-proxy keeps
      sending the pod requests until the EndpointSlice controller has
      removed it from the slice and kube-proxy has read the new slice; a
      real cluster does the same; or
    - was being served when the pod was killed (``reset``).

    A readiness probe cannot prevent either: the pod is force-deleted at
    once, it never reports unready. Every other failed request counts,
    including one sent to the killed pod earlier that failed because its
    app was not answering yet (a readiness probe prevents that).

    Returns:
        A boolean numpy array, one entry per request of ``result``.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> r = SimpleNamespace(status=np.array([2, 2, 2, 4, 2]), pod=np.array([0, 0, 0, 0, 1]),
        ...                     times=np.array([5.0, 9.995, 10.2, 9.0, 10.2]),
        ...                     pod_names=("web-a", "web-b"))
        >>> excused(r, "web-a", 10.0).tolist()
        [False, True, True, True, False]
    """
    import numpy as np

    from labsupport.sim.traffic import OK, RESET

    failed = result.status != OK
    if killed is None or killed not in result.pod_names:
        return np.zeros(len(failed), dtype=bool)
    to_killed = result.pod == result.pod_names.index(killed)
    late = result.times >= killed_at - ON_THE_WIRE
    return failed & to_killed & (late | (result.status == RESET))


def run_scenario(service: dict, probe: dict | None, *, seed: int = 0, replicas: int = 4,
                 canary: int = 1, start: float = 8.0) -> dict[str, Any]:
    """Apply, send traffic, roll out a new image, kill a pod, and count what failed.

    Returns:
        ``applied`` (the API server's refusal, or ``""``), ``first_ready``
        (the first rollout finished; when not, nothing else
        ran and ``probe_event`` is the kubelet's last Unhealthy message),
        ``requests``, ``errors`` (all failed requests), ``excused`` (those
        lost to the kill, see :func:`excused`), ``error_kinds`` (the
        counted ones by cause), ``canary`` (requests that reached canary
        pods), ``rolled_out`` and ``killed`` (the pod killed).
    """
    return _run(json.dumps(service, sort_keys=True), json.dumps(probe or {}, sort_keys=True),
                seed, replicas, canary, start)


def _counted(row: dict[str, Any]) -> int:
    """Failed requests that count: all but those lost to the kill (:func:`excused`)."""
    return row["errors"] - row["excused"]


def _failures(row: dict[str, Any]) -> str:
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(row["error_kinds"].items()))
    return f"{_counted(row)} of {row['requests']} requests failed ({kinds})"


def _closed_port(deployment: dict, port: Any) -> str | None:
    """``nothing listens there (...)`` when the web container does not listen on ``port``.

    Asks the simulator's own rule (:mod:`labsupport.sim.listening`): nginx
    listens on its image's port, 80, whatever the manifest declares.
    """
    from labsupport.sim import listening

    template = deployment["spec"]["template"]
    container = template["spec"]["containers"][0]
    if listening.listens(template, container, port):
        return None
    ports = sorted(listening.listen_ports(template, container) or ())
    image = container["image"].split(":")[0]
    where = ", ".join(map(str, ports)) if ports else "no port"
    return f"nothing listens there ({image} listens on {where})"


def _port_of(spec: dict) -> tuple[str, Any]:
    """The handler of a probe and the port it names: ``("httpGet", 8080)``."""
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if isinstance(spec.get(handler), dict):
            return handler, spec[handler].get("port")
    return "", None


# --- q1: the Service -------------------------------------------------------------------

def _service_problem(seen: Any) -> str | None:
    if not isinstance(seen, dict) or seen.get("kind") != "Service":
        return ("service should be a Service manifest (a dict with kind: Service), got "
                f"{str(seen)[:80]}")
    name = (seen.get("metadata") or {}).get("name")
    if name != "web":
        return f'the clients call http://web, so the Service must be named "web", got {name!r}'
    spec = seen.get("spec") or {}
    if spec.get("clusterIP") == "None":
        return ("clusterIP: None makes a headless Service: no virtual IP, so kube-proxy does not "
                "balance it; leave clusterIP out")
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not selector:
        return ("the Service has no selector, so no EndpointSlice lists the web pods; select "
                "them by their labels")
    ports = spec.get("ports") or []
    if not ports or not isinstance(ports[0], dict):
        return "the Service needs a port: ports: [{port: 80, targetPort: ...}]"
    if ports[0].get("port") != 80:
        return ("the clients call port 80 (http://web), the Service's port is "
                f"{ports[0].get('port')!r}")
    target = ports[0].get("targetPort")
    if isinstance(target, str) and not target.isdigit() and target != PORT_NAME:
        # The simulator does not yet refuse these (EndpointSlice lists no port for the pod,
        # endpointslice/utils.go getEndpointPorts); a real kube-proxy has no endpoint for it.
        return (f"spec.ports[0].targetPort: {target!r} — the web container has no port of that "
                f"name (its port {APP_PORT} is named {PORT_NAME!r}), so the EndpointSlice lists "
                "no port for the pods and no request reaches them")
    return None


def _judge_service(case: Case, seen: Any) -> tuple[bool, str]:
    problem = _service_problem(seen)
    if problem:
        return False, problem
    row = run_scenario(seen, REFERENCE_PROBE, **case.expect)
    selector = ",".join(f"{k}={v}" for k, v in seen["spec"]["selector"].items())
    if row["canary"]:
        return False, (f"the selector {selector} also matches the canary pods (track=canary): "
                       f"{row['canary']} of {row['requests']} requests went to the canary, which "
                       "is not ready for users; select only the stable pods")
    if _counted(row):
        why = ""
        port = seen["spec"]["ports"][0]
        target = port.get("targetPort", port.get("port"))
        closed = _closed_port(web_deployment(REFERENCE_PROBE), target)
        if row["error_kinds"].get("no endpoints"):
            why = f": the selector {selector} matches no ready pod, so the Service has no endpoints"
        elif closed and row["error_kinds"].get("refused"):
            why = (f": spec.ports[0].targetPort: {target!r} — {closed}, so kube-proxy sends "
                   "every request to a closed port and it is refused")
        return False, _failures(row) + why
    return True, ""


Q1 = Check("ex08.q1", title="a Service for the stable pods", points=2, answer="service",
           probe="value",
           cases=[Case("the notebook's cluster: 4 web pods and 1 canary",
                       expect={"seed": 0, "replicas": 4, "canary": 1}),
                  Case("another day: 3 web pods and 2 canaries",
                       expect={"seed": 3, "replicas": 3, "canary": 2}, hidden=True),
                  Case("a bigger shop: 6 web pods and 1 canary",
                       expect={"seed": 9, "replicas": 6, "canary": 1}, hidden=True),
                  Case("5 web pods and 2 canaries",
                       expect={"seed": 1, "replicas": 5, "canary": 2}, hidden=True)],
           judge=_judge_service,
           hint="compare the labels of the stable pods and of the canary pods; the selector must "
                "tell them apart, and targetPort must be the port the container listens on.")


# --- q2: the readiness probe -----------------------------------------------------------

def _judge_probe(case: Case, seen: Any) -> tuple[bool, str]:
    if seen is not None and not isinstance(seen, dict):
        return False, f"readiness_probe should be a dict (a readinessProbe), got {str(seen)[:80]}"
    if seen and not any(k in seen for k in ("httpGet", "tcpSocket", "grpc", "exec")):
        return False, ("a readinessProbe needs a handler: httpGet, tcpSocket, grpc or exec; "
                       f"got the keys {sorted(seen)}")
    row = run_scenario(REFERENCE_SERVICE, seen or None, **case.expect)
    if row["applied"]:
        return False, f"the API server refused the web Deployment with this probe: {row['applied']}"
    if not row["first_ready"] or not row["rolled_out"]:
        handler, port = _port_of(seen or {})
        closed = _closed_port(web_deployment(seen), port) if handler else None
        if closed:
            return False, (f"containers[0].readinessProbe.{handler}.port: {port!r} — {closed}, "
                           "so the pod never becomes Ready")
        said = f" (the kubelet reported {row['probe_event']!r})" if row["probe_event"] else ""
        return False, (f"the web pods never became Ready within {ROLLOUT_TIMEOUT:g} s{said}: "
                       f"the readiness probe never passed; nginx answers HTTP on port {APP_PORT}")
    if _counted(row):
        if not seen:
            return False, (f"{_failures(row)}: without a readiness probe a pod counts as ready "
                           "as soon as its container starts, so the Service sends it requests "
                           f"during the {case.expect['start']:g} s before the app answers")
        return False, (f"{_failures(row)} during the rollout and the crash: requests reached pods "
                       "that were not answering yet")
    return True, ""


Q2 = Check("ex08.q2", title="a readiness probe: no failed request", points=4,
           answer="readiness_probe", probe="value",
           cases=[Case("the notebook's rollout and crash (app starts in 8 s)",
                       expect={"seed": 0, "replicas": 4, "canary": 1, "start": 8.0}),
                  Case("a slower app (15 s to start), 3 replicas",
                       expect={"seed": 5, "replicas": 3, "canary": 1, "start": 15.0},
                       hidden=True),
                  Case("3 replicas and 2 canaries, another day",
                       expect={"seed": 3, "replicas": 3, "canary": 2, "start": 8.0},
                       hidden=True),
                  Case("6 replicas, another day",
                       expect={"seed": 9, "replicas": 6, "canary": 1, "start": 8.0},
                       hidden=True),
                  Case("5 replicas and a slower app (12 s to start)",
                       expect={"seed": 1, "replicas": 5, "canary": 1, "start": 12.0},
                       hidden=True),
                  Case("8 replicas, another day",
                       expect={"seed": 8, "replicas": 8, "canary": 2, "start": 8.0},
                       hidden=True),
                  Case("6 replicas, 2 canaries and a slow app (15 s to start)",
                       expect={"seed": 4, "replicas": 6, "canary": 2, "start": 15.0},
                       hidden=True),
                  Case("5 replicas, another day",
                       expect={"seed": 11, "replicas": 5, "canary": 1, "start": 8.0},
                       hidden=True)],
           judge=_judge_probe, many_answers=True,
           hint="the kubelet marks a pod ready when its readiness probe passes; probe the port "
                "the app listens on.")


def _prepare() -> None:
    """Run the reference scenarios before any submission (they are cached)."""
    for case in Q2.cases:
        run_scenario(REFERENCE_SERVICE, REFERENCE_PROBE, **case.expect)


EXERCISE = Exercise("ex08", "Services: traffic only to ready pods", (Q1, Q2), prepare=_prepare)
