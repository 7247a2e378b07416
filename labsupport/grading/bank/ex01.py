"""Checks of exercise 01: what a barrier costs, and an assignment policy for the lead node.

The notebook is ``solutions/ex01_clusters.md``. Two checks, 6 points:

- ``ex01.q1`` ``barrier_time(rounds)``: the time of a job run in rounds with a
  barrier after each round (every worker waits for the slowest);
- ``ex01.q2`` ``run_my_policy(cluster)``: the learner's assignment policy,
  run by :func:`labsupport.dc.policy_trial` (the notebook's ``run_my_policy``
  calls it, so the policy runs inside the learner's process) on clusters with
  mixed speeds, a straggler and a crash. Every task must finish exactly once,
  and the makespan must be within :data:`SLACK` of the course's greedy
  policy on the same cluster, which the grader runs itself.

Example:
    >>> EXERCISE
    <Exercise ex01 'Clusters and the lead node': 2 checks, 6 points>
    >>> [c.name for c in EXERCISE.checks if c.public]
    ['ex01.q1', 'ex01.q2']
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise
from labsupport.grading.probes import describe_call

__all__ = ["EXERCISE", "CLUSTERS", "SLACK", "greedy_makespan"]

#: ex01.q2: a policy may take at most this much longer than greedy (0.15 = 15%).
SLACK = 0.15


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return float(x)


# --- q1: the time of a job with a barrier after each round ----------------------

def _barrier(rounds: list[list[float]]) -> float:
    return float(sum(max(r) for r in rounds))


def _judge_barrier(case: Case, seen: Any) -> tuple[bool, str]:
    rounds = case.input["args"][0]
    want = _barrier(rounds)
    call = describe_call("barrier_time", [rounds])
    got = _number(seen)
    if got is None:
        return False, f"{call} should return a number of seconds, got {seen!r}"
    if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9):
        return True, ""
    why = f"{call} should be {want:g} s (the slowest task of each round, added up), got {got:g}"
    columns = [sum(r[i] for r in rounds) for i in range(len(rounds[0]))]
    if math.isclose(got, max(columns)):
        why += (": that is the busiest worker's total, the time WITHOUT a barrier; with one, "
                "every round lasts as long as its slowest task")
    elif math.isclose(got, sum(sum(r) for r in rounds)):
        why += ": that is every task one after another, as on a single machine"
    elif math.isclose(got, sum(min(r) for r in rounds)):
        why += ": that waits for the fastest worker of each round, not the slowest"
    elif math.isclose(got, sum(sum(r) / len(r) for r in rounds)):
        why += ": that is the average task of each round; the barrier waits for the slowest"
    return False, why


_BARRIER_CASES = [
    ([[3, 5, 4], [6, 2, 2]], "2 rounds on 3 workers", False),
    ([[10, 10, 10, 10]], "1 round of equal tasks", False),
    ([[1, 9], [9, 1], [1, 9]], "the slow task moves between workers", True),
    ([[2.5, 2.0, 7.25, 1.0], [3.0, 3.5, 3.25, 2.0], [4.0, 0.5, 1.0, 1.5]],
     "3 rounds, times with decimals", True),
    ([[4.0]], "a single worker, a single round", True),
    ([[5, 1, 1, 1, 1, 1]] * 5, "one worker is always the slowest (a straggler)", True),
]

Q1 = Check("ex01.q1", title="the time of a job with barriers", points=2,
           answer="barrier_time", probe="call",
           cases=[Case(label, {"args": [rounds]}, hidden=hidden)
                  for rounds, label, hidden in _BARRIER_CASES],
           judge=_judge_barrier,
           hint="a round ends when its slowest task ends (max); the rounds follow one "
                "another (sum).")


# --- q2: an assignment policy ---------------------------------------------------

#: The clusters of q2: ``(label, cluster, hidden)``; see :mod:`labsupport.dc.trial`.
CLUSTERS: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("6 workers of mixed speeds (2, 1.5, 1, 1, 0.5, 1)",
     {"work": 1800.0, "parallel_fraction": 0.98, "tasks": 40, "spread": 0.5,
      "speeds": [2, 1.5, 1, 1, 0.5, 1], "seed": 0}, False),
    ("5 equal workers; worker-2 crashes at 200 s",
     {"work": 1800.0, "parallel_fraction": 0.98, "tasks": 40, "spread": 0.3,
      "speeds": [1, 1, 1, 1, 1], "kill": {"worker-2": 200.0}, "seed": 1}, False),
    ("a straggler at a tenth of the others' speed",
     {"work": 3600.0, "parallel_fraction": 0.98, "tasks": 60, "spread": 0.5,
      "speeds": [1, 1, 1, 1, 1, 0.1], "seed": 2}, True),
    ("a straggler, and the fastest worker crashes at 150 s",
     {"work": 2400.0, "parallel_fraction": 0.97, "tasks": 48, "spread": 0.4,
      "speeds": [3, 1, 1, 1, 0.2], "kill": {"worker-1": 150.0}, "seed": 3}, True),
    ("12 workers, 200 small tasks",
     {"work": 2000.0, "parallel_fraction": 0.99, "tasks": 200, "spread": 0.6,
      "speeds": [1, 2, 1, 1, 0.5, 1, 1, 1.5, 1, 1, 0.75, 1], "seed": 4}, True),
    ("two workers, one four times faster, the other crashes at 100 s",
     {"work": 900.0, "parallel_fraction": 0.95, "tasks": 20, "spread": 0.2,
      "speeds": [4, 1], "kill": {"worker-2": 100.0}, "seed": 5}, True),
)


@cache
def _reference(index: int, policy: str) -> dict[str, Any]:
    from labsupport.dc import POLICIES, policy_trial

    return policy_trial(POLICIES[policy], CLUSTERS[index][1])


def greedy_makespan(index: int) -> float:
    """Seconds the course's greedy policy takes on cluster ``index`` of :data:`CLUSTERS`."""
    return float(_reference(index, "greedy")["makespan"])


def _tasks(ids: list[int], what: str) -> str:
    shown = ", ".join(str(t) for t in ids[:5])
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    word = "task" if len(ids) == 1 else "tasks"
    return f"{word} {shown}{more} {what}"


def _judge_policy(case: Case, seen: Any) -> tuple[bool, str]:
    index = case.expect
    cluster = CLUSTERS[index][1]
    if not isinstance(seen, dict) or "finished" not in seen:
        return False, ("run_my_policy(cluster) should return what dc.policy_trial(my_policy, "
                       f"cluster) returns, got {str(seen)[:80]}; leave run_my_policy as given")
    if seen.get("course_policy"):
        return False, (f"my_policy is the course's own dc.{seen['course_policy']}; the "
                       "exercise asks you to write a policy yourself")
    if seen.get("mistake"):
        return False, str(seen["mistake"])
    # Judge what the grader's own simulator does with the recorded decisions, not the
    # numbers the student's process reported (see labsupport.dc.trial.replay).
    from labsupport.dc.trial import replayed_trial

    seen = replayed_trial(seen, cluster)
    if seen.get("mistake"):
        return False, str(seen["mistake"])
    if seen.get("ran_twice"):
        return False, _tasks(seen["ran_twice"], "ran twice although no worker had failed: "
                                                "every task must run exactly once")
    if not seen.get("finished"):
        missing = list(seen.get("never_finished") or [])
        return False, (_tasks(missing, "never finished") + ": the policy left them waiting "
                       "(it must keep handing out tasks while any are pending and a worker "
                       "is free; when a worker fails, its tasks come back in pending)")
    got = _number(seen.get("makespan"))
    want = greedy_makespan(index)
    static = _number(_reference(index, "static")["makespan"]) or math.inf
    if got is None:
        return False, f"the makespan should be a number of seconds, got {seen.get('makespan')!r}"
    limit = want * (1 + SLACK)
    if got <= limit:
        return True, ""
    why = (f"the job took {got:,.0f} s; it needs at most {limit:,.0f} s here ({SLACK:.0%} more "
           f"than greedy's {want:,.0f} s)")
    if got >= 0.9 * static:
        why += (f"; dealing tasks out evenly at the start (static) takes {static:,.0f} s: "
                "slow workers get as many tasks as fast ones")
    elif "kill" in cluster:
        why += "; after the crash, are the failed worker's tasks handed out quickly?"
    else:
        why += ("; tasks queued at a slow worker wait there while fast workers are idle: "
                "give a worker a new task when it has (almost) nothing left")
    return False, why


Q2 = Check("ex01.q2", title="an assignment policy for the lead node", points=4,
           answer="run_my_policy", probe="call",
           cases=[Case(label, {"args": [cluster]}, expect=i, hidden=hidden)
                  for i, (label, cluster, hidden) in enumerate(CLUSTERS)],
           judge=_judge_policy, many_answers=True,
           hint="load tells you which workers are idle (0 unfinished tasks); hand the next "
                "pending tasks to those, and only to workers that appear in load.")


def _prepare() -> None:
    """Run the course's own policies on every cluster once, before any submission."""
    for i in range(len(CLUSTERS)):
        _reference(i, "greedy")
        _reference(i, "static")


EXERCISE = Exercise("ex01", "Clusters and the lead node", (Q1, Q2), prepare=_prepare)
