"""Checks of exercise 02: speed-up (Amdahl, measured) and a timeout failure detector.

The notebook is ``solutions/ex02_speedup.ipynb``. Five checks, 10 points:

- ``ex02.q1`` ``amdahl_speedup(parallel_fraction, workers)``: Amdahl's law;
- ``ex02.q2`` ``predicted_hours``: the 10-hour job on 10 machines, predicted;
- ``ex02.q3`` ``measure_speedup(job, workers, seed=0)``: speed-up measured
  on the simulator;
- ``ex02.q4`` ``TimeoutDetector``: a class with ``heartbeat`` and ``suspects``;
- ``ex02.q5`` ``chosen_timeout``: a timeout with no false alarms on a busy
  network that still notices crashes quickly.

Expected values are computed here, by the grader, from the course's own
simulator and reference code; the probes only ever see the inputs.

Example:
    >>> EXERCISE
    <Exercise ex02 'Speed-up and failure detection': 5 checks, 10 points>
    >>> [c.name for c in EXERCISE.checks if c.public]
    ['ex02.q1', 'ex02.q2', 'ex02.q3', 'ex02.q4', 'ex02.q5']
"""

from __future__ import annotations

import math
import random
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise
from labsupport.grading.probes import describe_call

__all__ = ["EXERCISE", "TRAINING_JOB", "DETECTION_TARGET", "detector_network_trace"]

#: The job of the notebook: 10 hours of training, 99% parallel, 200 tasks,
#: 10 s of the lead's network time to ship each task's data.
TRAINING_JOB = {"work": 36000.0, "parallel_fraction": 0.99, "tasks": 200, "transfer": 10.0,
                "spread": 0.0, "name": "training"}

#: ex02.q5: the mean detection time a timeout must stay within, in seconds.
DETECTION_TARGET = 4.5


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def _reference_amdahl(p: float, n: float) -> float:
    return 1.0 / ((1.0 - p) + p / n)


# --- q1: Amdahl's law ---------------------------------------------------------

def _judge_amdahl(case: Case, seen: Any) -> tuple[bool, str]:
    p, n = case.input["args"]
    want = _reference_amdahl(p, n)
    call = describe_call("amdahl_speedup", [p, n])
    got = _number(seen)
    if got is None:
        return False, f"{call} should return a number, got {seen!r}"
    if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
        return True, ""
    why = f"{call} should be {want:.4g} = 1 / ((1 - {p:g}) + {p:g} / {n:g}), got {got:.4g}"
    if math.isclose(got, n, rel_tol=1e-6) and p < 1:
        why += ": that is the ideal speed-up; the serial part does not get faster"
    elif math.isclose(got, (1 - p) + p * n, rel_tol=1e-6):
        why += ": that is Gustafson's scaled speed-up, not Amdahl's"
    return False, why


def _amdahl_cases() -> list[Case]:
    public = [((0.99, 10), "the training job: 99% parallel on 10 machines"),
              ((0.5, 2), "half the work parallel, 2 workers"),
              ((1.0, 8), "everything parallel, 8 workers")]
    hidden = [((0.0, 16), "nothing parallel: 16 workers cannot help"),
              ((0.95, 1), "a single worker"),
              ((0.9, 1000), "90% parallel on 1000 workers (near the limit)"),
              ((0.8, 4), "80% parallel on 4 workers")]
    return ([Case(label, {"args": list(args)}) for args, label in public]
            + [Case(label, {"args": list(args)}, hidden=True) for args, label in hidden])


Q1 = Check("ex02.q1", title="Amdahl's law", points=2, answer="amdahl_speedup", probe="call",
           cases=_amdahl_cases(), judge=_judge_amdahl, library=("labsupport.dc.amdahl",),
           hint="only the parallel share p is divided by the number of workers; "
                "the serial share 1 - p takes as long as ever.")


# --- q2: the 10-hour job on 10 machines ----------------------------------------

def _judge_hours(case: Case, seen: Any) -> tuple[bool, str]:
    want = 10.0 / _reference_amdahl(0.99, 10)
    got = _number(seen)
    if got is None:
        return False, f"predicted_hours should be a number of hours, got {seen!r}"
    if abs(got - want) <= 0.01:
        return True, ""
    why = f"expected about {want:.2f} hours, got {got:.4g}"
    if abs(got - 1.0) <= 0.01:
        why += (": exactly 1 hour would need a job with no serial part; the 1% serial part "
                "(6 minutes) runs on one machine however many there are")
    elif abs(got - _reference_amdahl(0.99, 10)) <= 0.01:
        why += ": that is the speed-up; the question asks for hours (10 hours / speed-up)"
    elif abs(got - want * 60) <= 1:
        why += ": that looks like minutes; give hours"
    return False, why


Q2 = Check("ex02.q2", title="the 10-hour job on 10 machines", points=1,
           answer="predicted_hours", probe="value",
           cases=[Case("10 hours of work, 99% parallel, on 10 machines")], judge=_judge_hours)


# --- q3: measured speed-up -----------------------------------------------------

def _job_arg(**fields: Any) -> dict[str, Any]:
    return {"$job": dict(fields)}


def _speedup_cases() -> list[Case]:
    small = {"work": 2000.0, "parallel_fraction": 0.8, "tasks": 40, "transfer": 1.0,
             "spread": 0.3, "name": "uneven"}
    chatty = {"work": 600.0, "parallel_fraction": 0.95, "tasks": 60, "transfer": 2.0,
              "spread": 0.0, "name": "chatty"}
    rows = [
        (TRAINING_JOB, 10, 0, "the training job on 10 workers", False),
        (TRAINING_JOB, 32, 0, "the training job on 32 workers", False),
        (TRAINING_JOB, 1, 0, "one worker (speed-up 1)", True),
        (small, 4, 3, "uneven tasks on 4 workers, seed 3", True),
        (small, 4, 8, "the same job with seed 8 (the seed must be used)", True),
        (chatty, 16, 0, "a job whose tasks cost more to send than to compute", True),
    ]
    return [Case(label, {"args": [_job_arg(**job), n], "kwargs": {"seed": seed}}, hidden=hidden)
            for job, n, seed, label, hidden in rows]


@cache
def _measured(job_items: tuple[tuple[str, Any], ...], workers: int, seed: int) -> float:
    from labsupport.dc import Job, run_job

    job = Job(**dict(job_items))
    one = run_job(job, 1, seed=seed).makespan
    many = run_job(job, workers, seed=seed).makespan
    return one / many


def _expected_speedup(case: Case) -> float:
    job = case.input["args"][0]["$job"]
    return _measured(tuple(sorted(job.items())), case.input["args"][1],
                     case.input["kwargs"]["seed"])


def _judge_speedup(case: Case, seen: Any) -> tuple[bool, str]:
    want = _expected_speedup(case)
    job = case.input["args"][0]["$job"]
    n = case.input["args"][1]
    call = describe_call("measure_speedup", case.input["args"], case.input["kwargs"])
    got = _number(seen)
    if got is None:
        return False, f"{call} should return a number, got {seen!r}"
    if math.isclose(got, want, rel_tol=1e-3):
        return True, ""
    why = f"{call}: the simulator measures {want:.3f}, you returned {got:.4g}"
    if n > 1 and math.isclose(got, _reference_amdahl(job["parallel_fraction"], n), rel_tol=1e-3):
        why += (": that is Amdahl's prediction; measure it: run the job with run_job on 1 "
                "worker and on n workers and divide the times")
    elif got > 0 and math.isclose(got, 1 / want, rel_tol=1e-3):
        why += ": upside down; speed-up is time on 1 worker / time on n workers"
    return False, why


Q3 = Check("ex02.q3", title="speed-up measured on the simulator", points=2,
           answer="measure_speedup", probe="call", cases=_speedup_cases(),
           judge=_judge_speedup,
           hint="compare the makespan of the same job, with the same seed, on one worker "
                "and on the given number of workers.")


# --- q4: the timeout failure detector ------------------------------------------

@cache
def _detector_case(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The probe input and the grader's notes for one detector scenario."""
    from labsupport.dc import BUSY_LAN, LAN, heartbeat_trace

    step = 0.5
    if kind == "crash":
        trace = heartbeat_trace(4, duration=60, crashes={"worker-2": 30.0}, seed=0)
        timeout = 3.0
    elif kind == "two-crashes":
        trace = heartbeat_trace(5, duration=60, crashes={"worker-1": 20.0, "worker-4": 41.3},
                                seed=5)
        timeout = 1.5
    elif kind == "pause":
        trace = heartbeat_trace(3, duration=50, silences={"worker-1": (20.0, 26.0)},
                                network=LAN, seed=2)
        timeout = 3.0
    elif kind == "late":
        trace = heartbeat_trace(4, duration=60, joins={"worker-3": 20.0},
                                crashes={"worker-1": 40.0}, network=LAN, seed=4)
        timeout = 2.5
    elif kind == "long":
        trace = heartbeat_trace(3, duration=80, crashes={"worker-3": 50.0}, seed=6)
        timeout = 10
    elif kind == "eager":
        trace = heartbeat_trace(5, duration=40, network=BUSY_LAN, seed=7)
        timeout = 0.8
        step = 0.25
    else:  # "uneven": questions at irregular moments
        trace = heartbeat_trace(4, duration=45, crashes={"worker-4": 22.2}, seed=9)
        timeout = 2
        step = 0.0
    if step:
        asks = [round(k * step, 6) for k in range(int(trace.duration / step) + 1)]
    else:
        rng = random.Random("ex02.q4 uneven asks")
        asks = sorted(round(rng.uniform(0, trace.duration), 3) for _ in range(120))
    events: list[list[Any]] = []
    arrivals = list(trace.arrivals)
    i = 0
    for now in asks:
        while i < len(arrivals) and arrivals[i][0] <= now:
            events.append(["hb", arrivals[i][1], round(arrivals[i][0], 6)])
            i += 1
        events.append(["ask", now])
    notes = {"crashes": dict(trace.crashes), "timeout": timeout}
    return {"timeout": timeout, "events": events}, notes


def _reference_answers(spec: dict[str, Any]) -> tuple[list[set[str]], list[dict[str, float]]]:
    from labsupport.dc import TimeoutDetector

    det = TimeoutDetector(spec["timeout"])
    answers: list[set[str]] = []
    heard: list[dict[str, float]] = []
    for event in spec["events"]:
        if event[0] == "hb":
            det.heartbeat(event[1], event[2])
        else:
            answers.append(det.suspects(event[1]))
            heard.append(dict(det.last_heard))
    return answers, heard


@cache
def _reference_for(kind: str) -> tuple[list[set[str]], list[dict[str, float]]]:
    return _reference_answers(_detector_case(kind)[0])


def _judge_detector(case: Case, seen: Any) -> tuple[bool, str]:
    spec, notes = _detector_case(case.expect)
    want, heard = _reference_for(case.expect)
    timeout = spec["timeout"]
    asks = [e[1] for e in spec["events"] if e[0] == "ask"]
    if not isinstance(seen, list) or len(seen) != len(want):
        return False, (f"suspects() should have answered {len(want)} questions, "
                       f"got {str(seen)[:80]}")
    wrong = 0
    first = ""
    for now, got, ref, last in zip(asks, seen, want, heard, strict=True):
        if not isinstance(got, list) or not all(isinstance(x, str) for x in got):
            return False, (f"suspects({now:g}) should return a set of node names like "
                           f"{{'worker-2'}}, got {str(got)[:80]}")
        got_set = set(got)
        if got_set == ref:
            continue
        wrong += 1
        if first:
            continue
        extra = sorted(got_set - ref)
        if extra:
            node = extra[0]
            if node not in last:
                first = (f"at t={now:g} s you suspected {node!r}, which has not sent any "
                         "heartbeat yet (a node is known from its first heartbeat)")
            else:
                first = (f"at t={now:g} s you suspected {node}, but its last heartbeat arrived "
                         f"at t={last[node]:.2f} s, only {now - last[node]:.2f} s earlier: within "
                         f"the {timeout:g} s timeout, so this is a false alarm")
        else:
            node = sorted(ref - got_set)[0]
            first = (f"at t={now:g} s {node} had been silent for {now - last[node]:.2f} s "
                     f"(last heartbeat at t={last[node]:.2f} s), longer than the {timeout:g} s "
                     "timeout, but you did not suspect it")
            crash = notes["crashes"].get(node)
            if crash is not None and now >= crash:
                first += f"; it crashed at t={crash:g} s"
    if not wrong:
        return True, ""
    return False, f"{first} ({wrong} of {len(want)} answers differ from a timeout detector)"


_DETECTOR_CASES = [
    ("crash", "a worker crashes at t=30 s (timeout 3 s)", False),
    ("two-crashes", "two workers crash on a busy network (timeout 1.5 s)", False),
    ("pause", "a worker goes quiet for 6 s and comes back: it must be cleared", True),
    ("late", "a worker joins late, at t=20 s", True),
    ("long", "a long timeout (10 s) and a late crash", True),
    ("eager", "a very short timeout (0.8 s) on a busy network", True),
    ("uneven", "questions at irregular moments (timeout 2 s)", True),
]


def _detector_cases() -> list[Case]:
    return [Case(label, _detector_case(kind)[0], expect=kind, hidden=hidden)
            for kind, label, hidden in _DETECTOR_CASES]


Q4 = Check("ex02.q4", title="a timeout failure detector", points=3, answer="TimeoutDetector",
           probe="detector", cases=_detector_cases(), judge=_judge_detector,
           library=("labsupport.dc.TimeoutDetector",),
           hint="remember the arrival time of each node's latest heartbeat; a node is suspect "
                "when now minus that time is more than the timeout.")


# --- q5: choosing the timeout ----------------------------------------------------

def _crashes(seed: int) -> dict[str, float]:
    rng = random.Random(f"{seed}:crashes")
    workers = rng.sample(range(1, 11), 4)
    return {f"worker-{w}": round(rng.uniform(60 + 130 * i, 170 + 130 * i), 1)
            for i, w in enumerate(workers)}


@cache
def detector_network_trace(seed: int) -> Any:
    """The q5 scenario: 10 workers, heartbeats every second, the busy network, 10 minutes.

    Four workers crash at seeded times. The notebook shows the same setting.
    """
    from labsupport.dc import BUSY_LAN, heartbeat_trace

    return heartbeat_trace(10, duration=600, interval=1.0, network=BUSY_LAN,
                           crashes=_crashes(seed), seed=seed)


@cache
def _timeout_verdict(timeout: float, seed: int) -> tuple[bool, str]:
    from labsupport.dc import timeout_score

    trace = detector_network_trace(seed)
    score = timeout_score(timeout, trace)
    if score.false_alarms:
        t, node = score.false_alarms[0]
        times = trace.arrivals_of(node)
        before = max((a for a in times if a <= t), default=0.0)
        return False, (f"with a {timeout:g} s timeout the lead raised {len(score.false_alarms)} "
                       f"false alarm(s) in 10 minutes, the first at t={t:g} s for {node}, whose "
                       f"heartbeats were {t - before:.2f} s apart there; on this network a "
                       "healthy worker can stay silent that long (a lost heartbeat plus a "
                       "delayed one)")
    if score.missed:
        return False, f"with a {timeout:g} s timeout crashes of {score.missed} were never noticed"
    mean = score.mean_detection or 0.0
    if mean > DETECTION_TARGET:
        return False, (f"with a {timeout:g} s timeout crashes were noticed after {mean:.2f} s on "
                       f"average; the target is at most {DETECTION_TARGET:g} s (every second "
                       "the lead waits, the crashed worker's task waits too)")
    return True, ""


def _judge_timeout(case: Case, seen: Any) -> tuple[bool, str]:
    got = _number(seen)
    if got is None or not math.isfinite(got) or got <= 0:
        return False, f"chosen_timeout should be a positive number of seconds, got {seen!r}"
    return _timeout_verdict(got, case.expect)


Q5 = Check("ex02.q5", title="a timeout for the busy network", points=2,
           answer="chosen_timeout", probe="value",
           cases=[Case("10 workers, 10 minutes, the notebook's seed 0", expect=0)]
           + [Case(f"10 workers, 10 minutes, another day (trace {i})", expect=seed, hidden=True)
              for i, seed in enumerate((6, 8, 15, 17), start=1)],
           judge=_judge_timeout, many_answers=True,
           hint="look for the longest silence of a healthy worker over several seeds, then "
                "leave a margin above it, but not so much that detection gets slow.")


def _prepare() -> None:
    """Compute every expected value before any submission runs."""
    for case in Q3.cases:
        _expected_speedup(case)
    for kind, _label, _hidden in _DETECTOR_CASES:
        _reference_for(kind)
    for case in Q5.cases:
        detector_network_trace(case.expect)


EXERCISE = Exercise("ex02", "Speed-up and failure detection", (Q1, Q2, Q3, Q4, Q5),
                    prepare=_prepare)
