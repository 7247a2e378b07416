"""Run one job on a simulated cluster and look at what happened.

:func:`run_job` wires a lead node, ``workers`` worker nodes and a network on
one simpy environment, optionally kills some workers part way, runs until the
job is done, and returns a :class:`JobRun`: the makespan (the time from start
to the last result), who did what, every message, and, when workers were
killed, how long the lead took to notice and which tasks it moved.

The same seed gives the same run, message for message.

Example:
    >>> from labsupport.dc import Job, run_job
    >>> job = Job.training(hours=10, parallel_fraction=0.99, tasks=200)
    >>> one, ten = run_job(job, workers=1), run_job(job, workers=10)
    >>> round(one.hours, 2), round(ten.hours, 2), round(one.makespan / ten.makespan, 2)
    (10.0, 1.09, 9.17)
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from labsupport.dc.detector import Detector, TimeoutDetector
from labsupport.dc.job import Job
from labsupport.dc.leader import LeadNode, Policy
from labsupport.dc.network import LAN, Message, Network, NetworkModel
from labsupport.dc.worker import Worker
from labsupport.errors import Invalid

__all__ = ["run_job", "JobRun"]


@dataclass(frozen=True)
class JobRun:
    """What happened when a job ran on a simulated cluster.

    Attributes:
        job: the job.
        workers: the workers' names.
        makespan: seconds from start until the last task's result reached the
            lead, or None when the job did not finish.
        events: ``(time, component, message)`` lines, in order.
        messages: the network log (:class:`~labsupport.dc.network.Message`).
        busy: seconds each worker spent computing.
        completed: how many tasks each worker finished (duplicates included).
        history: ``(worker, task, start, end)`` for every task computed.
        kills: ``{worker: time}`` of the workers that were killed.
        suspicions: ``(time, worker)`` each time the lead suspected a worker.
        reassigned: ``(time, task, from_worker)`` for each task moved.
        duplicates: results that arrived for tasks already done (wasted work).
        seed: the seed of the run.
        stolen: ``(time, task, from_worker, to_worker)`` for each task stolen
            (policies that steal, such as ``"stealing"``).
    """

    job: Job
    workers: tuple[str, ...]
    makespan: float | None
    events: tuple[tuple[float, str, str], ...]
    messages: tuple[Message, ...]
    busy: Mapping[str, float]
    completed: Mapping[str, int]
    history: tuple[tuple[str, int, float, float], ...]
    kills: Mapping[str, float] = field(default_factory=dict)
    suspicions: tuple[tuple[float, str], ...] = ()
    reassigned: tuple[tuple[float, int, str], ...] = ()
    duplicates: int = 0
    seed: int = 0
    stolen: tuple[tuple[float, int, str, str], ...] = ()

    @property
    def finished(self) -> bool:
        """Whether every task's result reached the lead."""
        return self.makespan is not None

    @property
    def hours(self) -> float | None:
        """The makespan in hours."""
        return None if self.makespan is None else self.makespan / 3600.0

    @property
    def detections(self) -> dict[str, float | None]:
        """For each killed worker, seconds until the lead first suspected it (None: never)."""
        out: dict[str, float | None] = {}
        for worker, killed in self.kills.items():
            after = [t for t, w in self.suspicions if w == worker and t >= killed]
            out[worker] = min(after) - killed if after else None
        return out

    @property
    def false_alarms(self) -> list[tuple[float, str]]:
        """``(time, worker)`` when the lead suspected a worker that was still alive."""
        return [(t, w) for t, w in self.suspicions if t < self.kills.get(w, float("inf"))]

    @property
    def utilisation(self) -> float:
        """Share of the workers' time spent computing (1.0 = always busy)."""
        if not self.makespan:
            return 0.0
        return sum(self.busy.values()) / (self.makespan * len(self.workers))

    def log(self, limit: int | None = 20) -> str:
        """The event log as text, at most ``limit`` lines (None: all)."""
        lines = [f"{t:10.3f} s  {c:<10} {m}" for t, c, m in self.events]
        if limit is not None and len(lines) > limit:
            lines = lines[:limit] + [f"... {len(self.events) - limit} more"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.makespan is None:
            head = f"<JobRun {len(self.workers)} workers: did NOT finish"
        else:
            head = (f"<JobRun {len(self.workers)} workers: done in {self.makespan:,.1f} s "
                    f"({self.makespan / 3600:.2f} h)")
        extra = ""
        if self.kills:
            extra = (f", {len(self.kills)} killed, {len(self.reassigned)} tasks reassigned, "
                     f"{len(self.false_alarms)} false alarm(s)")
        return head + extra + ">"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(w)}</td><td>{self.completed.get(w, 0)}</td>"
            f"<td>{self.busy.get(w, 0.0):,.1f} s</td>"
            f"<td>{_state(self.kills.get(w))}</td></tr>"
            for w in self.workers)
        return (f"<p>{html.escape(repr(self))}</p><table><thead><tr><th>worker</th>"
                f"<th>tasks done</th><th>busy</th><th>state</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")

    def plot(self) -> Any:
        """Draw who computed which task when (a Gantt chart); crashes are crosses.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe, style_axes

        fig = new_figure(8.0, 0.4 * len(self.workers) + 1.6)
        ax = fig.add_subplot()
        rows = {w: i for i, w in enumerate(self.workers)}
        for worker, _task, start, end in self.history:
            ax.broken_barh([(start, end - start)], (rows[worker] - 0.4, 0.8),
                           facecolors="#2b6cb0", edgecolor="white")
        for worker, t in self.kills.items():
            ax.plot([t], [rows[worker]], "x", color="#c0392b", markersize=10, mew=2,
                    label="crash" if worker == next(iter(self.kills)) else None)
        ax.set_yticks(range(len(self.workers)), self.workers)
        style_axes(ax, xlabel="time (s)", title=repr(self).strip("<>"))
        ax.invert_yaxis()
        if self.kills:
            ax.legend(fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.0, 1.0),
                      frameon=False)
        per = {w: sum(1 for h in self.history if h[0] == w) for w in self.workers}
        alt = (f"Gantt chart of {len(self.history)} tasks on {len(self.workers)} workers, "
               f"makespan {self.makespan:.0f} s; tasks per worker: "
               + ", ".join(f"{w} {n}" for w, n in per.items()))
        if self.kills:
            alt += "; crashed: " + ", ".join(f"{w} at {t:.0f} s" for w, t in self.kills.items())
        return describe(fig, alt + ".")


def run_job(job: Job, workers: int | Sequence[str] = 4, *, seed: int = 0,
            network: NetworkModel | None = None,
            speeds: Sequence[float] | Mapping[str, float] | None = None,
            policy: str | Policy = "greedy", kill: Mapping[str, float] | None = None,
            heartbeat: float | None = None, timeout: float | None = None,
            detector: Detector | None = None, check_every: float | None = None,
            until: float | None = None, log_heartbeats: bool = False) -> JobRun:
    """Run ``job`` on a simulated cluster of ``workers`` and return what happened.

    Args:
        job: the :class:`~labsupport.dc.job.Job`.
        workers: how many workers (named ``worker-1``...) or their names.
        seed: the same seed gives the same run.
        network: message delays; a quiet LAN by default.
        speeds: each worker's speed (a list in worker order or a dict).
        policy: ``"greedy"``, ``"static"`` or a function (see
            :mod:`labsupport.dc.leader`).
        kill: ``{worker: time}``: crash these workers at these times.
        heartbeat: seconds between heartbeats. When workers are killed (or a
            detector or timeout is given) it defaults to 1 s.
        timeout: the timeout of the default detector (3 heartbeats by default).
        detector: your own failure detector instead of a timeout detector.
        check_every: seconds between two questions to the detector
            (half a heartbeat by default).
        until: stop the simulation at this time even if the job is not done.
        log_heartbeats: keep heartbeats in the message log (there are many).

    Returns:
        a :class:`JobRun`.

    Example:
        >>> from labsupport.dc import Job
        >>> job = Job(work=1000, parallel_fraction=0.9, tasks=20)
        >>> run = run_job(job, workers=4, kill={"worker-2": 300.0}, seed=1)
        >>> run.finished, run.detections["worker-2"] > 0, len(run.reassigned)
        (True, True, 1)
    """
    names = _names(workers)
    kill = dict(kill or {})
    unknown = sorted(set(kill) - set(names))
    if unknown:
        raise Invalid(f"kill names unknown workers {unknown}; workers are {list(names)}")
    speed_of = _speeds(speeds, names)
    if heartbeat is None and (kill or detector is not None or timeout is not None):
        heartbeat = 1.0
    if heartbeat is not None and detector is None:
        detector = TimeoutDetector(timeout if timeout is not None else 3 * heartbeat)
    env = simpy.Environment()
    kinds = ("task", "result", "steal", "return") + (("heartbeat",) if log_heartbeats else ())
    net = Network(env, network or LAN, seed=seed, log_kinds=kinds)
    lead = LeadNode(env, net, job, names, policy=policy, detector=detector,
                    check_every=check_every or (heartbeat or 1.0) / 2, seed=seed)
    nodes = [Worker(env, n, net, speed=speed_of[n], heartbeat=heartbeat) for n in names]
    by_name = {w.name: w for w in nodes}
    for name, time in kill.items():
        by_name[name].kill_at(time)

        def _note(name: str = name, time: float = time) -> Any:
            yield env.timeout(time)
            lead.log(name, "crashed (killed)")
        env.process(_note())
    if until is None:
        slowest = min(speed_of.values())
        until = 3 * job.work / slowest + 2 * job.tasks * job.transfer + 600.0
    env.run(until=simpy.AnyOf(env, [lead.finished, env.timeout(until)]))
    return JobRun(
        job=job, workers=names, makespan=lead.finished_at, events=tuple(lead.events),
        messages=tuple(net.log), busy={w.name: w.busy_time for w in nodes},
        completed={w.name: len(w.completed) for w in nodes},
        history=tuple(sorted((w.name, tid, s, e) for w in nodes for tid, s, e in w.history)),
        kills=kill, suspicions=tuple(lead.suspicions), reassigned=tuple(lead.reassigned),
        duplicates=lead.duplicates, seed=seed, stolen=tuple(lead.stolen))


def _state(killed: float | None) -> str:
    return "alive" if killed is None else f"killed at {killed:g} s"


def _names(workers: int | Sequence[str]) -> tuple[str, ...]:
    if isinstance(workers, int) and not isinstance(workers, bool):
        if workers < 1:
            raise Invalid(f"need at least 1 worker, got {workers!r}")
        return tuple(f"worker-{i}" for i in range(1, workers + 1))
    if isinstance(workers, str):
        raise Invalid(f"workers must be a number or a list of names, got {workers!r}")
    names = tuple(workers)
    if not names or len(set(names)) != len(names) or "lead" in names:
        raise Invalid("worker names must be a non-empty list without repeats "
                      f"and without 'lead', got {list(names)}")
    return names


def _speeds(speeds: Sequence[float] | Mapping[str, float] | None,
            names: tuple[str, ...]) -> dict[str, float]:
    if speeds is None:
        return {n: 1.0 for n in names}
    if isinstance(speeds, Mapping):
        unknown = sorted(set(speeds) - set(names))
        if unknown:
            raise Invalid(f"speeds names unknown workers {unknown}; workers are {list(names)}")
        return {n: float(speeds.get(n, 1.0)) for n in names}
    values = list(speeds)
    if len(values) != len(names):
        raise Invalid(f"speeds has {len(values)} values for {len(names)} workers")
    return dict(zip(names, (float(v) for v in values), strict=True))
