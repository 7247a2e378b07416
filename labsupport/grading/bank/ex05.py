"""Checks of exercise 05: replicas for the recommender's services under a traffic spike.

The notebook is ``solutions/ex05_microservices.md``. Two checks, 6 points:

- ``ex05.q1`` ``plan_cost(replicas, pods, hours, price)``: what a plan costs,
  from the CPU each pod requests (``pods``, read from the course's manifests);
- ``ex05.q2`` ``plan_replicas(peak, pods)``: replicas per service that keep every
  service's p99 latency under :data:`TARGET_P99` through a spike whose peak
  is ``peak`` (requests per second per service), at the least cost.

``pods`` gives, per service, one pod's CPU request, workers and mean service
time (:func:`pod_facts`). The grader runs ``plan_replicas`` on the inputs,
then applies the plan to a fresh seeded simulated cluster with the course's
manifests
(``clusters/recommender``), sends each service its spike and measures. The
cheapest plan that meets the target is found here too, service by service
(the services are independent, which is the point of the lesson).

Example:
    >>> EXERCISE
    <Exercise ex05 'Microservices: replicas for a traffic spike': 2 checks, 6 points>
    >>> sorted(SERVICES)
    ['features', 'ingestion', 'serving', 'ui']
"""

from __future__ import annotations

import copy
import math
from functools import cache
from pathlib import Path
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise
from labsupport.grading.probes import describe_call

__all__ = ["EXERCISE", "SERVICES", "TARGET_P99", "SPAN", "manifests", "cpu_requests", "pod_facts",
           "capacity", "run_plan", "cheapest_plan"]

#: Where the course keeps the recommender's manifests.
RECOMMENDER = Path(__file__).resolve().parents[3] / "clusters" / "recommender"
#: The long-running services a plan gives replicas to (training is a Job).
SERVICES = ("ingestion", "features", "serving", "ui")
#: Every service's p99 latency must stay under this, in seconds.
TARGET_P99 = 0.05
#: Seconds of traffic per case: the spike is the middle fifth.
SPAN = 60.0
#: A plan may cost this share more than the cheapest plan and still pass.
SLACK = 0.35
MAX_REPLICAS = 20

#: The notebook's peak (requests per second per service) and the hidden ones.
NOTEBOOK_PEAK = {"ingestion": 300, "features": 20, "serving": 1500, "ui": 600}
BIGGER_PEAK = {"ingestion": 500, "features": 40, "serving": 2400, "ui": 900}
OTHER_MIX = {"ingestion": 1200, "features": 60, "serving": 500, "ui": 200}


# --- the cluster side ----------------------------------------------------------------

@cache
def _objects() -> tuple[dict, ...]:
    import labsupport as ls

    return tuple(ls.load(str(RECOMMENDER)))


def manifests(replicas: dict[str, int] | None = None) -> list[dict]:
    """The microservices' objects (no monolith, no autoscaler, no training Job).

    Args:
        replicas: replicas per service, written into the Deployments.
    """
    out = []
    for obj in _objects():
        kind, name = obj["kind"], obj["metadata"]["name"]
        if name == "monolith" or kind in ("HorizontalPodAutoscaler", "CronJob", "Job"):
            continue
        obj = copy.deepcopy(obj)
        if kind == "Deployment" and replicas and name in replicas:
            obj["spec"]["replicas"] = int(replicas[name])
        out.append(obj)
    return out


def _deployment(name: str) -> dict:
    return next(o for o in _objects()
                if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


@cache
def cpu_requests() -> dict[str, float]:
    """Cores one pod of each service requests (all its containers)."""
    from labsupport.quantity import cpu_cores

    out = {}
    for name in SERVICES:
        containers = _deployment(name)["spec"]["template"]["spec"]["containers"]
        out[name] = sum(cpu_cores(str(((c.get("resources") or {}).get("requests") or {})
                                      .get("cpu", "0"))) for c in containers)
    return out


@cache
def capacity(name: str) -> float:
    """Requests per second one pod of a service serves at most (workers / mean service time)."""
    from labsupport.sim.workloads import behaviour

    template = _deployment(name)["spec"]["template"]
    return behaviour(template, template["spec"]["containers"][0]).capacity


@cache
def pod_facts() -> dict[str, dict[str, float]]:
    """Per service, one pod's CPU request (cores), workers and mean service time (s).

    Read from the manifests; empty where they are absent (the grader's sandbox,
    which gets the cases' inputs from the grader itself).
    """
    if not RECOMMENDER.is_dir():
        return {}
    from labsupport.sim.workloads import behaviour

    out = {}
    for name in SERVICES:
        template = _deployment(name)["spec"]["template"]
        b = behaviour(template, template["spec"]["containers"][0])
        out[name] = {"cpu": cpu_requests()[name], "workers": b.concurrency,
                     "service_time": round(b.service_time.mean, 9)}
    return out


def _spike(peak: float, factor: float) -> Any:
    base = peak / factor

    def rate(t: float) -> float:
        return peak if 0.4 * SPAN <= t < 0.6 * SPAN else base
    return rate


@cache
def _run(plan_items: tuple[tuple[str, int], ...], peak_items: tuple[tuple[str, float], ...],
         seed: int, factor: float) -> dict[str, dict[str, float]]:
    """p99 (s), errors and requests per service for one plan under one spike."""
    import labsupport as ls

    plan, peak = dict(plan_items), dict(peak_items)
    c = ls.connect(seed=seed)
    c.apply(manifests(plan))
    for name in plan:
        c.wait_for_rollout(f"deployment/{name}", timeout=600)
    handles = {name: c.send_traffic(f"service/{name}", rps=max(peak[name], 1e-3), duration=SPAN,
                                    pattern=_spike(peak[name], factor), background=True,
                                    seed=f"{seed}:{name}")
               for name in plan if peak.get(name)}
    c.advance(SPAN + 30)
    out = {}
    for name, h in handles.items():
        r = h.result()
        out[name] = {"p99": r.p99 if r.latencies.size else math.inf, "errors": r.errors,
                     "requests": r.requests}
    return out


def run_plan(plan: dict[str, int], peak: dict[str, float], seed: int = 0,
             factor: float = 5.0) -> dict[str, dict[str, float]]:
    """Apply a plan to a fresh seeded cluster, send each service its spike, measure."""
    return _run(tuple(sorted((k, int(v)) for k, v in plan.items())),
                tuple(sorted(peak.items())), seed, factor)


def _meets(row: dict[str, float]) -> bool:
    return row["errors"] == 0 and row["p99"] < TARGET_P99


@cache
def _cheapest(peak_items: tuple[tuple[str, float], ...], seed: int,
              factor: float) -> tuple[tuple[str, int], ...]:
    peak = dict(peak_items)
    plan = {}
    for name in SERVICES:
        n = max(1, math.ceil(peak[name] / capacity(name)) - 1)
        while n < MAX_REPLICAS and not _meets(run_plan({name: n}, {name: peak[name]},
                                                       seed, factor)[name]):
            n += 1
        plan[name] = n
    return tuple(sorted(plan.items()))


def cheapest_plan(peak: dict[str, float], seed: int = 0, factor: float = 5.0) -> dict[str, int]:
    """The fewest replicas per service that hold the target (each service tried on its own)."""
    return dict(_cheapest(tuple(sorted(peak.items())), seed, factor))


def cores(plan: dict[str, int]) -> float:
    """Cores a plan requests: replicas times each pod's CPU request."""
    req = cpu_requests()
    return sum(int(n) * req[name] for name, n in plan.items())


# --- q1: what a plan costs -------------------------------------------------------------

def _reference_cost(replicas: dict[str, int], pods: dict, hours: float, price: float) -> float:
    return _cores(replicas, pods) * hours * price


def _cores(replicas: dict[str, int], pods: dict) -> float:
    return sum(int(n) * pods[name]["cpu"] for name, n in replicas.items())


def _judge_cost(case: Case, seen: Any) -> tuple[bool, str]:
    replicas, pods, hours, price = case.input["args"]
    want = _reference_cost(replicas, pods, hours, price)
    call = describe_call("plan_cost", [replicas, "pods", hours, price])
    if isinstance(seen, bool) or not isinstance(seen, (int, float)):
        return False, f"{call} should return a number (money), got {seen!r}"
    got = float(seen)
    if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
        return True, ""
    have = _cores(replicas, pods)
    why = (f"{call} should be {want:.4g} ({have:.3g} cores x {hours:g} h x {price:g}), "
           f"got {got:.4g}")
    count = sum(int(n) for n in replicas.values())
    if math.isclose(got, count * hours * price, rel_tol=1e-6) and count:
        why += (": that counts every pod as one core; multiply each service's replicas by "
                "its pod's CPU request")
    elif math.isclose(got, have * price, rel_tol=1e-6) and hours != 1:
        why += ": the hours are missing; cost is cores x hours x price per core-hour"
    elif math.isclose(got, sum(pods[k]["cpu"] for k in replicas) * hours * price,
                      rel_tol=1e-6):
        why += ": that is one pod per service; multiply by the replicas"
    elif math.isclose(got, want * 1000, rel_tol=1e-6):
        why += ": that looks like millicores; 250m is 0.25 cores"
    return False, why


_BIG_PODS = {"ingestion": {"cpu": 0.5, "workers": 4, "service_time": 0.004},
             "features": {"cpu": 2.0, "workers": 2, "service_time": 0.01},
             "serving": {"cpu": 1.5, "workers": 8, "service_time": 0.02},
             "ui": {"cpu": 0.25, "workers": 2, "service_time": 0.002}}


def _cost_cases() -> list[Case]:
    course = pod_facts()
    rows = [
        ({"ingestion": 1, "features": 1, "serving": 2, "ui": 1}, course, 2, 0.04,
         "the starting plan, two hours", False),
        ({"ingestion": 2, "features": 1, "serving": 5, "ui": 1}, course, 24, 0.04,
         "a bigger plan for a day", False),
        ({"serving": 3}, course, 730, 0.05, "serving alone for a month", True),
        ({"ingestion": 1, "features": 3, "serving": 1, "ui": 2}, _BIG_PODS, 0.5, 0.1,
         "bigger pods, half an hour, a dearer cloud", True),
        ({"ingestion": 0, "features": 0, "serving": 0, "ui": 0}, course, 10, 0.04,
         "everything scaled to zero", True),
    ]
    return [Case(label, {"args": [plan, pods, hours, price]}, hidden=hidden)
            for plan, pods, hours, price, label, hidden in rows]


Q1 = Check("ex05.q1", title="what a plan costs", points=2, answer="plan_cost", probe="call",
           cases=_cost_cases(), judge=_judge_cost,
           hint="for each service: replicas x the CPU one pod requests (in cores); add them up, "
                "then multiply by the hours and the price per core-hour.")


# --- q2: the cheapest plan that holds the target -----------------------------------------

def _plan_problem(seen: Any) -> str | None:
    if not isinstance(seen, dict):
        return (f"plan_replicas should return a dict of replicas per service, like "
                f"{{'ingestion': 1, 'features': 1, 'serving': 3, 'ui': 1}}; got {str(seen)[:80]}")
    missing = [s for s in SERVICES if s not in seen]
    extra = [s for s in seen if s not in SERVICES]
    if missing:
        return f"the plan gives no replicas to {', '.join(missing)}; every service needs a number"
    if extra:
        return (f"the plan names {', '.join(map(repr, extra))}, which is not one of the services "
                f"{', '.join(SERVICES)}")
    for name in SERVICES:
        n = seen[name]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPLICAS:
            return (f"replicas of {name} should be a whole number from 1 to {MAX_REPLICAS}, "
                    f"got {n!r}")
    return None


def _judge_plan(case: Case, seen: Any) -> tuple[bool, str]:
    problem = _plan_problem(seen)
    if problem:
        return False, problem
    peak, seed, factor = case.input["args"][0], case.expect["seed"], case.expect["factor"]
    got = run_plan(seen, peak, seed, factor)
    failing = [name for name in SERVICES if not _meets(got[name])]
    if failing:
        parts = []
        for name in failing:
            row, n = got[name], seen[name]
            p99 = "no answer" if math.isinf(row["p99"]) else f"p99 {row['p99'] * 1000:.0f} ms"
            errs = (f", {row['errors']} of {row['requests']} requests failed"
                    if row["errors"] else "")
            load = peak[name] / (n * capacity(name))
            parts.append(f"{name}: {p99}{errs}, needs under {TARGET_P99 * 1000:.0f} ms: at the "
                         f"peak of {peak[name]:g} requests/s, {n} replica{'s' if n > 1 else ''} "
                         f"{'are' if n > 1 else 'is'} {'saturated' if load >= 1 else 'too busy'} "
                         f"({load:.0%} of what they can serve, {capacity(name):.0f} "
                         "requests/s each)")
        return False, "; ".join(parts)
    best = cheapest_plan(peak, seed, factor)
    have, need = cores(seen), cores(best)
    if have <= need * (1 + SLACK) + 1e-9:
        return True, ""
    over = [f"{name} {seen[name]} (enough: {best[name]})" for name in SERVICES
            if seen[name] > best[name]]
    return False, (f"meets the target but requests {have:.2f} cores, {have - need:.2f} more than "
                   f"needed ({need:.2f}): fewer replicas of {', '.join(over)} still hold it")


def _plan_cases() -> list[Case]:
    rows = [
        (NOTEBOOK_PEAK, 0, 5.0, "the notebook's spike (seed 0)", False),
        (NOTEBOOK_PEAK, 3, 5.0, "the same spike on another day (seed 3)", True),
        (BIGGER_PEAK, 0, 5.0, "a bigger spike", True),
        (BIGGER_PEAK, 7, 8.0, "a bigger, sharper spike (8 x the base rate), seed 7", True),
        (OTHER_MIX, 5, 5.0, "a burst of ratings: ingestion busy, serving quiet", True),
    ]
    pods = pod_facts()
    return [Case(label, {"args": [dict(peak), pods]}, expect={"seed": seed, "factor": factor},
                 hidden=hidden) for peak, seed, factor, label, hidden in rows]


Q2 = Check("ex05.q2", title="replicas that hold the target at least cost", points=4,
           answer="plan_replicas", probe="call", cases=_plan_cases(), judge=_judge_plan,
           many_answers=True,
           hint="one pod serves at most workers / mean service time requests per second; give "
                "each service enough pods that the peak keeps them well below that, and no more.")


def _prepare() -> None:
    """Find the cheapest plan of every case before any submission runs."""
    for case in Q2.cases:
        cheapest_plan(case.input["args"][0], case.expect["seed"], case.expect["factor"])


EXERCISE = Exercise("ex05", "Microservices: replicas for a traffic spike", (Q1, Q2),
                    prepare=_prepare)
