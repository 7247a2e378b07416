"""Checks of exercise 09: an HPA that holds a latency target at the least replica-minutes.

The notebook is ``solutions/ex09_self-healing.md``. The answer is one dict,
``autoscaling``: ``resources`` (the web container's ``resources``) and
``hpa`` (an ``autoscaling/v2`` HorizontalPodAutoscaler for
``deployment/web``). Two checks, 5 points, both graded on the simulator: the
grader applies the web Deployment with those resources, the HPA, and sends a
traffic pattern (a quiet base, a ramp up to a peak, a hold, a ramp down;
seeded, the hidden ones unknown to the learner) for :data:`SPAN` seconds.

- ``ex09.q1`` ``autoscaling`` (3 points): the p95 latency over the whole run
  is at most :data:`P95_TARGET` seconds and at most 0.1% of requests fail.
- ``ex09.q2`` ``autoscaling`` (2 points): the same, and the replica-minutes
  (``spec.replicas`` integrated over the run) are at most :data:`BUDGET`
  times the reference answer's on the same pattern.

The web app runs 2 workers per pod whatever its CPU request
(``sim.labsupport.io/concurrency``); a request takes 50 ms on average and 25
ms of CPU, so a pod serves at most 40 requests per second and uses 1 CPU
doing so. The cluster has 3 nodes of 4 CPUs.

A failure names the mistake from what the simulation showed: the HPA's
``ScalingActive`` condition (no CPU request: it cannot compute utilization),
``ScalingLimited`` with ``TooManyReplicas`` (maxReplicas too small), pods
left Pending (requests too large for the nodes), or a utilization target
that keeps pods idle (too many replica-minutes).

Example:
    >>> EXERCISE.title
    'Self-healing and scaling: an HPA that holds its latency target'
    >>> len(EXERCISE.checks), EXERCISE.points
    (2, 5.0)
    >>> rate = traffic_pattern({"base": 30, "peak": 200, "at": 150, "ramp": 60, "hold": 240})
    >>> rate(0.0), rate(180.0), rate(300.0), rate(900.0)
    (30.0, 115.0, 200.0, 30.0)
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

__all__ = ["EXERCISE", "REFERENCE", "P95_TARGET", "BUDGET", "SPAN", "web_deployment",
           "traffic_pattern", "run_scenario"]

#: The latency target: p95 over the run, in seconds.
P95_TARGET = 0.25
#: At most this share of requests may fail.
MAX_ERROR_RATE = 0.001
#: Seconds of traffic per run.
SPAN = 900.0
#: An answer may use at most this many times the reference's replica-minutes.
BUDGET = 1.3
#: How often the grader samples the Deployment and the HPA (seconds).
SAMPLE = 5.0
#: The app: 2 workers, 50 ms a request, 25 ms of CPU each.
APP = {"sim.labsupport.io/service-time": "exponential:0.05",
       "sim.labsupport.io/cpu-per-request": "0.025",
       "sim.labsupport.io/concurrency": "2",
       "sim.labsupport.io/start-seconds": "5"}

#: The CPU a pod uses at full load, in millicores (2 workers x 25 ms of CPU per 50 ms).
POD_MAX_CPU = 1000

#: The reference answer: 250m of CPU, scaled at 70% of it (175m: 7 requests/s of 40).
REFERENCE = {
    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}},
    "hpa": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "web"},
                     "minReplicas": 1, "maxReplicas": 40,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}}}


def web_deployment(resources: dict | None, replicas: int = 2) -> dict:
    """The web Deployment with ``resources`` on its container (None: none).

    Example:
        >>> c = web_deployment(None)["spec"]["template"]["spec"]["containers"][0]
        >>> c["resources"], c["ports"]
        ({}, [{'containerPort': 8080}])
    """
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {
                         "metadata": {"labels": {"app": "web"}, "annotations": dict(APP)},
                         "spec": {"containers": [{
                             "name": "web", "image": "example/shop:1.0",
                             "ports": [{"containerPort": 8080}],
                             "resources": copy.deepcopy(resources or {}),
                             "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                "periodSeconds": 2}}]}}}}


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def traffic_pattern(p: dict) -> Callable[[float], float]:
    """Requests per second at ``t``: ``base``, a ramp at ``at`` to ``peak``, a hold, a ramp down."""
    base, peak, at, ramp, hold = (float(p[k]) for k in ("base", "peak", "at", "ramp", "hold"))

    def rate(t: float) -> float:
        if t < at or t >= at + 2 * ramp + hold:
            return base
        if t < at + ramp:
            return base + (peak - base) * (t - at) / ramp
        if t < at + ramp + hold:
            return peak
        return peak - (peak - base) * (t - at - ramp - hold) / ramp

    return rate


@cache
def _run(answer_json: str, pattern_json: str, seed: int) -> dict[str, Any]:
    import labsupport as ls
    from labsupport.errors import LabSupportError

    answer, pattern = json.loads(answer_json), json.loads(pattern_json)
    out: dict[str, Any] = {"applied": "", "p95": math.inf, "error_rate": 1.0, "requests": 0,
                           "replica_minutes": 0.0, "max_replicas": 0, "max_desired": 0,
                           "limited": "", "inactive": "", "pending": 0, "series": []}
    c = ls.connect(seed=seed)
    try:
        c.apply([web_deployment(answer["resources"]), SERVICE])
        c.apply(answer["hpa"])
    except LabSupportError as e:
        out["applied"] = str(e).splitlines()[0]
        return out
    c.wait_for_rollout("deployment/web", timeout=120)
    handle = c.send_traffic("service/web", rps=pattern["base"], duration=SPAN,
                            pattern=traffic_pattern(pattern), background=True,
                            seed=f"ex09:{seed}")
    start, area = c.now, 0.0
    while c.now < handle.end:
        n = int(c.get("deployment/web")["spec"]["replicas"])
        status = c.get(f"hpa/{answer['hpa']['metadata']['name']}").get("status") or {}
        for cond in status.get("conditions") or ():
            if (cond["type"] == "ScalingLimited" and cond["status"] == "True"
                    and cond["reason"] == "TooManyReplicas"):
                out["limited"] = cond["message"]
            # A new pod has no metrics for a while (FailedGetResourceMetric: "no metrics
            # returned"): that passes. A missing request never does.
            if (cond["type"] == "ScalingActive" and cond["status"] == "False"
                    and "missing request" in cond["message"]):
                out["inactive"] = cond["message"]
        pending = sum(p.phase == "Pending" for p in c.pods(selector="app=web"))
        out["pending"] = max(out["pending"], pending)
        out["max_desired"] = max(out["max_desired"], int(status.get("desiredReplicas") or 0))
        out["max_replicas"] = max(out["max_replicas"], n)
        out["series"].append((round(c.now - start, 3), n))
        c.advance(SAMPLE)
        area += SAMPLE * n
    r = handle.result()
    out.update(p95=float(r.p95), error_rate=float(r.error_rate), requests=int(r.requests),
               replica_minutes=area / 60.0)
    return out


def run_scenario(answer: dict, pattern: dict, *, seed: int = 0) -> dict[str, Any]:
    """Apply the answer, send the pattern's traffic, and measure latency and replica-minutes.

    Returns:
        ``applied`` (the API server's refusal, or ``""``), ``p95`` (seconds),
        ``error_rate``, ``requests``, ``replica_minutes``, ``max_replicas``
        (the most ``spec.replicas``), ``max_desired`` (the HPA's largest
        ``desiredReplicas``), ``limited`` (the HPA's TooManyReplicas message,
        if it said so), ``inactive`` (its ScalingActive=False message),
        ``pending`` (most web pods Pending at once) and ``series``
        (seconds since the traffic started, ``spec.replicas``).
    """
    return _run(json.dumps(answer, sort_keys=True), json.dumps(pattern, sort_keys=True), seed)


def _shape(seen: Any) -> str | None:
    if not isinstance(seen, dict) or not {"resources", "hpa"} <= set(seen):
        return ('autoscaling should be a dict with two keys, "resources" (the container\'s '
                f'resources) and "hpa" (the HPA manifest), got {str(seen)[:80]}')
    if not isinstance(seen["resources"], dict):
        return ('autoscaling["resources"] should be a dict such as {"requests": {"cpu": "250m"}}'
                f", got {seen['resources']!r}")
    hpa = seen["hpa"]
    if not isinstance(hpa, dict) or hpa.get("kind") != "HorizontalPodAutoscaler":
        return ('autoscaling["hpa"] should be a HorizontalPodAutoscaler manifest (kind: '
                f"HorizontalPodAutoscaler), got {str(hpa)[:80]}")
    if hpa.get("apiVersion") != "autoscaling/v2":
        return f"use apiVersion: autoscaling/v2 for the HPA, got {hpa.get('apiVersion')!r}"
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if ref.get("kind") != "Deployment" or ref.get("name") != "web":
        return ("spec.scaleTargetRef must name the Deployment: {apiVersion: apps/v1, kind: "
                f"Deployment, name: web}}, got {ref!r}")
    if not isinstance((hpa.get("metadata") or {}).get("name"), str):
        return "the HPA needs metadata.name"
    return None


def _cpu_target(hpa: dict) -> int | None:
    for m in (hpa.get("spec") or {}).get("metrics") or ():
        target = ((m.get("resource") or {}).get("target") or {})
        if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu":
            return target.get("averageUtilization")
    return None


def _millicores(quantity: Any) -> int:
    from labsupport.sim.controllers.replicacalc import milli

    try:
        return milli(quantity)
    except Exception:  # noqa: BLE001 - the API server already refused a bad quantity
        return 0


def _held(row: dict) -> bool:
    return row["p95"] <= P95_TARGET and row["error_rate"] <= MAX_ERROR_RATE


def _latency(row: dict) -> str:
    p95 = "no answer" if math.isinf(row["p95"]) else f"{row['p95'] * 1000:.0f} ms"
    return (f"p95 latency {p95} (target {P95_TARGET * 1000:.0f} ms), "
            f"{row['error_rate']:.1%} of {row['requests']} requests failed")


def _why_slow(seen: dict, row: dict) -> str:
    spec = seen["hpa"].get("spec") or {}
    if row["inactive"]:
        return (f": the HPA could not compute CPU utilization ({row['inactive']}); utilization "
                "is a percentage of the container's CPU request, so set "
                "resources.requests.cpu")
    if row["pending"]:
        cpu = ((seen["resources"].get("requests") or {}).get("cpu"))
        return (f": up to {row['pending']} web pods stayed Pending, their CPU request "
                f"({cpu}) does not fit on the 3 nodes of 4 CPUs; request less CPU per pod")
    if row["limited"] or row["max_replicas"] >= (spec.get("maxReplicas") or 0):
        return (f": maxReplicas {spec.get('maxReplicas')} is too small, the HPA stopped at "
                f"{row['max_desired']} replicas at the peak"
                + (f" (ScalingLimited: {row['limited']})" if row["limited"] else ""))
    target = _cpu_target(seen["hpa"])
    cpu = (seen["resources"].get("requests") or {}).get("cpu")
    if target and cpu is not None and _millicores(cpu) * target / 100 >= POD_MAX_CPU:
        return (f": averageUtilization {target}% of {cpu} is "
                f"{_millicores(cpu) * target // 100}m per pod, at least as much CPU as a pod "
                f"can use ({POD_MAX_CPU}m at 40 requests/s), so the HPA never sees it and "
                "never scales out; request about what a busy pod uses")
    return (f": the pods ran too hot before the HPA added more (averageUtilization {target}% "
            "leaves too little headroom while new pods start); aim lower")


def _judge_latency(case: Case, seen: Any) -> tuple[bool, str]:
    problem = _shape(seen)
    if problem:
        return False, problem
    row = run_scenario(seen, case.expect["pattern"], seed=case.expect["seed"])
    if row["applied"]:
        return False, f"the API server refused it: {row['applied']}"
    if _held(row):
        return True, ""
    return False, _latency(row) + _why_slow(seen, row)


def _judge_cost(case: Case, seen: Any) -> tuple[bool, str]:
    passed, message = _judge_latency(case, seen)
    if not passed:
        return False, "the latency target must hold first: " + message
    row = run_scenario(seen, case.expect["pattern"], seed=case.expect["seed"])
    ref = run_scenario(REFERENCE, case.expect["pattern"], seed=case.expect["seed"])
    ratio = row["replica_minutes"] / ref["replica_minutes"]
    if ratio <= BUDGET:
        return True, ""
    spec = seen["hpa"].get("spec") or {}
    low = spec.get("minReplicas", 1)
    why = (f"minReplicas {low} keeps {low} pods even when the traffic is quiet"
           if low > ref["series"][0][1] + 1 else
           f"averageUtilization {_cpu_target(seen['hpa'])}% of "
           f"{(seen['resources'].get('requests') or {}).get('cpu')} scales out while each "
           "pod is mostly idle (a pod can serve 40 requests/s); aim higher")
    return False, (f"{row['replica_minutes']:.0f} replica-minutes, {ratio:.2f} x the "
                   f"reference's {ref['replica_minutes']:.0f} (at most {BUDGET} x): {why}")


_PATTERNS = [
    ("the notebook's spike: 30 to 200 requests/s", 0,
     {"base": 30, "peak": 200, "at": 150, "ramp": 60, "hold": 240}, False),
    ("a bigger, slower spike: 20 to 240 requests/s", 3,
     {"base": 20, "peak": 240, "at": 120, "ramp": 90, "hold": 180}, True),
    ("a quick rise: 40 to 160 requests/s in 30 s", 5,
     {"base": 40, "peak": 160, "at": 200, "ramp": 30, "hold": 200}, True),
    ("a short rush: 25 to 220 requests/s for 2 minutes", 7,
     {"base": 25, "peak": 220, "at": 100, "ramp": 60, "hold": 120}, True),
]
_CASES = [Case(label, expect={"seed": seed, "pattern": pattern}, hidden=hidden)
          for label, seed, pattern, hidden in _PATTERNS]

Q1 = Check("ex09.q1", title="the latency target holds through the spike", points=3,
           answer="autoscaling", probe="value", cases=_CASES, judge=_judge_latency,
           many_answers=True,
           hint="utilization is a share of the CPU request; the HPA needs room (maxReplicas) "
                "and headroom (a target below 100%) while new pods start.")
Q2 = Check("ex09.q2", title="at most 1.3 x the reference's replica-minutes", points=2,
           answer="autoscaling", probe="value", cases=list(_CASES), judge=_judge_cost,
           many_answers=True,
           hint="a pod serves 40 requests/s at 1 CPU; a low target or a high minReplicas "
                "pays for idle pods.")


def _prepare() -> None:
    """Run the reference on every pattern before any submission (cached)."""
    for case in _CASES:
        run_scenario(REFERENCE, case.expect["pattern"], seed=case.expect["seed"])


EXERCISE = Exercise("ex09", "Self-healing and scaling: an HPA that holds its latency target",
                    (Q1, Q2), prepare=_prepare)
