"""Checks of exercise 04: balancing policies, judged on the course's own simulator.

A policy cannot travel to the grader as JSON, so the exercise hands in
``dc.scenario_runner(policy)``: called with a scenario (a dict), it runs the
learner's policy in the learner's notebook and returns the server it chose
for every request. The judge *replays* those choices on its own copy of the
simulator (the traffic depends only on the scenario's seed), so the latency
and errors it grades are measured here, not reported by the notebook.

- q1: join the shortest queue (lowest index on a tie): every choice is
  compared with the queues the lead saw at that moment.
- q2: a policy of your own: p99 at most 1.3 times what a good speed-aware
  policy achieves in the same scenario, and at most 0.5% errors, on steady,
  rising and spiky traffic, equal and mixed servers, with a stale view.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

#: The q2 p99 target, as a multiple of the reference policy's p99.
P99_FACTOR = 1.3
#: The q2 error-rate target.
MAX_ERRORS = 0.005


def _speed_aware_two_choices(view: Any, rng: random.Random) -> int:
    """The grader's reference: two candidates drawn by speed, the shorter expected wait wins."""
    n = len(view.queues)
    a, b = rng.choices(range(n), weights=view.speeds, k=2)

    def wait(i: int) -> float:
        return (view.queues[i] + 1) / view.speeds[i]
    return a if wait(a) <= wait(b) else b


def _scenario(**fields: Any) -> dict[str, Any]:
    from labsupport.dc import Scenario

    return Scenario(**fields).to_dict()


def _describe(sc: dict[str, Any]) -> str:
    speeds = sc.get("speeds")
    servers = (f"{len(speeds)} servers of speeds {', '.join(f'{s:g}' for s in speeds)}"
               if speeds else f"{sc['servers']} servers")
    load = f"{sc['load']:.0%} load"
    if sc.get("rising_to"):
        load = f"load rising from {sc['load']:.0%} to {sc['rising_to']:.0%}"
    if sc.get("spike"):
        start, end, peak = sc["spike"]
        load += f" with a spike to {peak:.0%} from {start:g} to {end:g} s"
    view = (f"queues reported every {sc['refresh']:g} s" if sc.get("refresh")
            else "live queues")
    return f"{servers}, {load}, {view}, seed {sc['seed']}"


def _decisions(seen: Any, scenario: dict[str, Any], name: str) -> tuple[list[int] | None, str]:
    """The choices out of what the runner returned, or why they cannot be used."""
    if not isinstance(seen, dict) or not isinstance(seen.get("decisions"), list):
        return None, (f"{name}(scenario) should return what dc.scenario_runner returns "
                      f"(a dict with 'decisions'), got {str(seen)[:80]}")
    policy = str(seen.get("policy", ""))
    if policy.startswith("labsupport."):
        return None, (f"your policy is the course's own {policy}; the exercise asks you to "
                      "write the policy yourself")
    rows = seen["decisions"]
    if rows and all(isinstance(row, list) for row in rows):
        return [d for row in rows for d in row], ""
    return rows, ""


# --- q1: join the shortest queue ---------------------------------------------------

def _judge_shortest(case: Case, seen: Any) -> tuple[bool, str]:
    from labsupport.dc import least_loaded, simulate

    scenario = case.input["args"][0]
    decisions, why = _decisions(seen, scenario, "run_shortest_queue")
    if decisions is None:
        return False, why
    wrong: list[str] = []

    def check(view: Any, rng: random.Random) -> int:
        got = decisions[view.request] if view.request < len(decisions) else None
        want = least_loaded(view, rng)
        if got != want and not wrong:
            queues = list(view.queues)
            if isinstance(got, int) and not isinstance(got, bool) and 0 <= got < len(queues):
                what = f"you chose server {got} (queue {queues[got]})"
                if got == want + 1:
                    what += "; servers are numbered from 0, like list indexes (did you add 1?)"
                elif queues[got] == queues[want]:
                    what += ("; on a tie take the lowest index")
                elif queues[got] == max(queues) and queues[got] > queues[want]:
                    what += "; that is the longest queue"
            else:
                what = f"you returned {got!r}"
                if isinstance(got, int) and got == len(queues):
                    what += "; servers are numbered from 0, like list indexes"
            wrong.append(f"request {view.request} at t={view.now:.2f} s: the lead saw queues "
                         f"{queues}; the shortest is server {want} (queue {queues[want]}), "
                         f"{what}")
        return want
    run = simulate(scenario, check)
    if len(decisions) != run.requests and not wrong:
        return False, (f"the scenario has {run.requests} requests, your runner returned "
                       f"{len(decisions)} choices")
    if wrong:
        return False, wrong[0]
    return True, ""


_SHORTEST = [
    (dict(servers=4, load=0.8, duration=20, seed=0), "4 servers, live queues", False),
    (dict(servers=6, load=0.9, duration=20, refresh=0.5, seed=1),
     "6 servers, queues reported every 0.5 s", True),
    (dict(speeds=(2, 2, 1, 1, 1, 1, 0.5, 0.5, 1, 1, 1, 1), load=0.85, duration=15, seed=2),
     "12 servers of mixed speeds (the rule looks at queues only)", True),
    (dict(servers=1, load=0.5, duration=10, seed=3), "a single server", True),
]

Q1 = Check("ex04.q1", title="join the shortest queue", points=2, answer="run_shortest_queue",
           probe="call",
           cases=[Case(label, {"args": [_scenario(**fields)]}, hidden=hidden)
                  for fields, label, hidden in _SHORTEST],
           judge=_judge_shortest,
           hint="pick the server whose queue in the view is shortest; among equal queues, "
                "take the one that comes first.")


# --- q2: a policy of your own ------------------------------------------------------

_OWN = [
    (dict(servers=8, load=0.85, refresh=0.1, seed=0), "8 equal servers at 85% load", False),
    (dict(speeds=(3, 3, 1, 1, 1, 1, 0.5, 0.5), load=0.8, refresh=0.1, seed=0),
     "8 servers of three speeds at 80% load", False),
    (dict(servers=8, load=0.85, refresh=0.1, seed=9), "8 equal servers, another day", True),
    (dict(servers=10, load=0.6, spike=(40, 60, 0.97), refresh=0.2, duration=100, seed=3),
     "a traffic spike", True),
    (dict(servers=8, load=0.5, rising_to=0.95, refresh=0.1, seed=5), "rising load", True),
    (dict(speeds=(1, 1, 1, 1, 2, 2, 4, 0.5, 0.5, 0.5), load=0.8, refresh=0.1, seed=7),
     "10 servers of four speeds", True),
    (dict(servers=16, load=0.9, refresh=0.2, duration=60, seed=11),
     "16 servers at 90%, stale view", True),
]


@cache
def _reference_p99(key: str) -> float:
    from labsupport.dc import simulate

    fields = next(f for f, label, _h in _OWN if label == key)
    return simulate(_scenario(**fields), _speed_aware_two_choices).p99


def _judge_own(case: Case, seen: Any) -> tuple[bool, str]:
    from labsupport.dc import replay

    scenario = case.input["args"][0]
    decisions, why = _decisions(seen, scenario, "run_my_policy")
    if decisions is None:
        return False, why
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in decisions):
        return False, "every choice must be a server index (a whole number)"
    run = replay(scenario, decisions)
    target = P99_FACTOR * _reference_p99(case.expect)
    problems = []
    if not run.p99 <= target:
        problems.append(f"p99 {run.p99:.2f} s, needs under {target:.2f} s")
    if run.error_rate > MAX_ERRORS:
        problems.append(f"{run.error_rate:.1%} of requests failed, needs at most "
                        f"{MAX_ERRORS:.1%}")
    if not problems:
        return True, ""
    busiest = max(run.per_server(), key=lambda r: r["busy"])
    note = ""
    if busiest["busy"] >= 0.99:
        note = (f"; {busiest['server']} (speed {busiest['speed']:g}) was busy all the time "
                f"with {busiest['share']:.0%} of the requests")
    return False, f"{'; '.join(problems)} ({_describe(scenario)}){note}"


Q2 = Check("ex04.q2", title="a policy of your own", points=4, answer="run_my_policy",
           probe="call",
           cases=[Case(label, {"args": [_scenario(**fields)]}, expect=label, hidden=hidden)
                  for fields, label, hidden in _OWN],
           judge=_judge_own, many_answers=True,
           hint="look at two random servers rather than all (a stale view makes everyone pick "
                "the same 'shortest' queue), and compare expected waits, (queue + 1) / speed, "
                "so fast servers get more")


def _prepare() -> None:
    """Compute the reference p99 of every q2 scenario before any submission runs."""
    for _fields, label, _hidden in _OWN:
        _reference_p99(label)


EXERCISE = Exercise("ex04", "Balancing policies", (Q1, Q2), prepare=_prepare)
