"""Try an assignment policy on a cluster described in plain data, and report as plain data.

Exercise 01 asks for an assignment policy and grades it on clusters the
learner has not seen. :func:`policy_trial` runs the policy on one such
cluster with :func:`~labsupport.dc.run.run_job` and returns JSON data only:
whether the job finished, its makespan, which tasks never finished, which
ran more than once, and the first mistake the policy made, in words. It
also checks every answer the policy gives before the lead node acts on it,
so a mistake reads as "task 17 was handed out twice" rather than as a
traceback from inside the simulation.

A cluster is a dict: ``work``, ``parallel_fraction``, ``tasks``, ``spread``
(as in :class:`~labsupport.dc.job.Job`), ``speeds`` (one per worker),
optionally ``kill`` (``{worker: time}``, with a timeout failure detector on
heartbeats every second), ``latency`` (seconds per message) and ``seed``.

Example:
    >>> from labsupport.dc.leader import greedy
    >>> cluster = {"work": 600, "parallel_fraction": 0.9, "tasks": 12, "speeds": [1, 2]}
    >>> out = policy_trial(greedy, cluster)
    >>> out["finished"], out["makespan"], out["never_finished"], out["mistake"]
    (True, 240.11, [], None)
    >>> def lazy(pending, load):                 # gives out one task, ever
    ...     return [(pending[0], "worker-1")] if len(pending) == 12 else []
    >>> out = policy_trial(lazy, cluster)
    >>> out["finished"], out["never_finished"][:3]
    (False, [1, 2, 3])
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from labsupport.dc.job import Job, Task
from labsupport.dc.leader import Policy
from labsupport.dc.network import NetworkModel
from labsupport.dc.run import run_job
from labsupport.errors import Invalid

__all__ = ["policy_trial", "PolicyMistake", "replay", "replayed_trial"]

_JOB_FIELDS = ("work", "parallel_fraction", "tasks", "spread")


class PolicyMistake(Exception):
    """A policy answered something the lead node cannot do (kept apart from its own errors)."""


def _state(pending: Sequence[Task], load: Mapping[str, int]) -> str:
    """A short digest of what the lead showed the policy: pending task numbers and load."""
    text = json.dumps([[t.id for t in pending], sorted(load.items())])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _checked(policy: Policy, calls: list[int], log: list[dict[str, Any]] | None = None
             ) -> Policy:
    """``policy``, with every answer checked before the lead node acts on it (and logged)."""

    def checked(pending: Sequence[Task], load: Mapping[str, int]) -> list[tuple[Task, str]]:
        calls[0] += 1
        state = _state(pending, load)
        answer = policy(list(pending), dict(load))
        try:
            pairs = list(answer)
        except TypeError:
            raise PolicyMistake(f"the policy must return a list of (task, worker) pairs, "
                                f"got {answer!r:.80}") from None
        waiting = {t.id: t for t in pending}
        given: dict[int, str] = {}
        for item in pairs:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise PolicyMistake(f"the policy must return (task, worker) pairs, got "
                                    f"{item!r:.80} in its answer")
            task, worker = item
            tid = getattr(task, "id", None)
            if tid not in waiting:
                raise PolicyMistake(f"the policy handed out {task!r:.60}, which is not one of "
                                    f"the {len(waiting)} pending tasks it was given")
            if tid in given:
                raise PolicyMistake(f"task {tid} was handed out twice in one answer (to "
                                    f"{given[tid]} and to {worker}): every task must run "
                                    "exactly once")
            if worker not in load:
                raise PolicyMistake(f"task {tid} went to {worker!r}, which is not a live "
                                    f"worker; the live workers were {sorted(load)} (take "
                                    "worker names from load: a failed worker leaves it)")
            given[tid] = worker
        if log is not None:
            log.append({"state": state, "answer": [[tid, w] for tid, w in given.items()]})
        return pairs

    checked.steals = bool(getattr(policy, "steals", False))  # type: ignore[attr-defined]
    return checked


def _job(cluster: Mapping[str, Any]) -> Job:
    fields = {k: cluster[k] for k in _JOB_FIELDS if k in cluster}
    return Job(name="trial", **fields)


def policy_trial(policy: Policy, cluster: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``policy`` on ``cluster`` and say what happened, as JSON data.

    Args:
        policy: a function ``policy(pending, load) -> [(task, worker), ...]``.
        cluster: the job and the cluster (see the module's docstring).

    Returns:
        ``finished``, ``makespan`` (seconds, 2 decimals, or None),
        ``never_finished`` (task numbers), ``ran_twice`` (tasks computed
        more than once that the lead never moved), ``reassigned`` (tasks the
        lead moved off a failed worker), ``mistake`` (None or what the policy
        did wrong), ``calls`` (how often the lead asked the policy),
        ``course_policy`` (the name of the course's own policy when ``policy``
        is one of them, else None).

    Raises:
        Invalid: ``cluster`` is not a cluster.
        NotImplementedError: the policy is still the exercise's placeholder.
    """
    if not isinstance(cluster, Mapping) or "speeds" not in cluster:
        raise Invalid(f"a cluster is a dict with work, tasks and speeds, got {cluster!r:.80}")
    job = _job(cluster)
    speeds = [float(s) for s in cluster["speeds"]]
    kill = dict(cluster.get("kill") or {})
    latency = cluster.get("latency")
    network = NetworkModel(latency=latency, jitter=latency / 10) if latency else None
    slowest = max(t.work for t in job.split(cluster.get("seed", 0))) / min(speeds)
    until = job.serial_work + job.parallel_work / min(speeds) + 3 * slowest + 120
    calls = [0]
    log: list[dict[str, Any]] = []
    module = getattr(policy, "__module__", None) or ""
    out: dict[str, Any] = {"finished": False, "makespan": None, "never_finished": [],
                           "ran_twice": [], "reassigned": [], "mistake": None, "calls": 0,
                           "course_policy": getattr(policy, "__name__", "policy")
                           if module.startswith("labsupport.") else None}
    try:
        run = run_job(job, workers=len(speeds), speeds=speeds,
                      policy=_checked(policy, calls, log),
                      kill=kill, heartbeat=1.0 if kill else None, seed=cluster.get("seed", 0),
                      network=network, until=until)
    except PolicyMistake as exc:
        out.update(mistake=str(exc), calls=calls[0])
        return out
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's policy may raise anything
        out.update(mistake=f"the policy raised {type(exc).__name__}: {str(exc)[:200]}",
                   calls=calls[0])
        return out
    done = {m.payload for m in run.messages
            if m.kind == "result" and m.delivered is not None
            and (run.makespan is None or m.delivered <= run.makespan)}
    moved = {tid for _t, tid, _w in run.reassigned}
    counts = Counter(tid for _w, tid, _s, _e in run.history)
    out.update(finished=run.finished,
               makespan=None if run.makespan is None else round(run.makespan, 2),
               never_finished=sorted(set(range(job.tasks)) - done),
               ran_twice=sorted(t for t, n in counts.items() if n > 1 and t not in moved),
               reassigned=sorted(moved), calls=calls[0],
               steals=bool(getattr(policy, "steals", False)), decisions=log)
    return out


def replay(decisions: Sequence[Mapping[str, Any]], steals: bool = False) -> Policy:
    """A policy that gives, call after call, the answers a recorded trial gave.

    The grader runs the student's policy only in the student's own process;
    there :func:`policy_trial` records each answer with a digest of what the
    lead showed the policy. The grader then replays those answers in *its*
    simulator: each call must meet exactly the recorded situation, so the
    verdict rests on the grader's simulation, not on numbers the student's
    process reported.

    Raises:
        PolicyMistake: (when called) the situation differs from the recorded
            one, or the record ran out.
    """
    position = [0]

    def replayed(pending: Sequence[Task], load: Mapping[str, int]) -> list[tuple[Task, str]]:
        i = position[0]
        position[0] += 1
        if i >= len(decisions) or not isinstance(decisions[i], Mapping):
            raise PolicyMistake("the recorded decisions end before the job does: run_my_policy "
                                "must return dc.policy_trial(my_policy, cluster) unchanged")
        if decisions[i].get("state") != _state(pending, load):
            raise PolicyMistake(f"decision {i + 1} was recorded for another situation than the "
                                "one the lead is in: run_my_policy must return "
                                "dc.policy_trial(my_policy, cluster) unchanged")
        by_id = {t.id: t for t in pending}
        answer = []
        for pair in decisions[i].get("answer") or ():
            tid, worker = pair
            answer.append((by_id.get(tid, Task(-1, 0.0)), worker))
        return answer

    replayed.steals = bool(steals)  # type: ignore[attr-defined]
    return replayed


def replayed_trial(seen: Mapping[str, Any], cluster: Mapping[str, Any]) -> dict[str, Any]:
    """What really happens on ``cluster`` when the decisions of a reported trial are replayed.

    Args:
        seen: what :func:`policy_trial` returned in the student's process.
        cluster: the cluster it ran on.

    Returns:
        The grader's own :func:`policy_trial` output for the replayed decisions.

    Example:
        >>> from labsupport.dc.leader import greedy
        >>> cluster = {"work": 600, "parallel_fraction": 0.9, "tasks": 12, "speeds": [1, 2]}
        >>> seen = policy_trial(greedy, cluster)
        >>> replayed_trial(seen, cluster)["makespan"] == seen["makespan"]
        True
        >>> forged = dict(seen, decisions=seen["decisions"][:3])
        >>> replayed_trial(forged, cluster)["mistake"][:36]
        'the recorded decisions end before th'
    """
    decisions = seen.get("decisions")
    if not isinstance(decisions, list):
        decisions = []
    return policy_trial(replay(decisions, bool(seen.get("steals"))), cluster)
