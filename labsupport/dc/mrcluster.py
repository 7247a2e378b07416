"""MapReduce on the simulated cluster: map tasks, a barrier, the shuffle, reduce tasks.

The same job as :func:`~labsupport.dc.mapreduce.run_local` (the output is
computed for real, by your functions), with the time it would take on
``workers`` machines simulated on simpy with the course's
:class:`~labsupport.dc.worker.Worker`, :class:`~labsupport.dc.network.Network`
and :class:`~labsupport.dc.detector.TimeoutDetector`:

1. **map**: a master hands map tasks to idle workers; a task takes
   ``map_cost`` seconds per record (divided by the worker's speed). Its
   output stays on the worker's own disk, bucketed by partition.
2. **barrier**: no reduce task starts before every map task is done, since
   any map task may still produce a value for any key.
3. **shuffle**: each reduce task first fetches its partition's bytes from
   every map task's worker over the network at ``bandwidth`` bytes/s (a
   bucket on its own worker is read locally, for free).
4. **reduce**: ``reduce_cost`` seconds per pair it received.

Failures: a killed worker stops sending heartbeats; once the master's
timeout detector suspects it, its running task goes back in the queue, and
so do the map tasks it had *finished*, because their output lived on its
disk, which nobody can read now. Stragglers: a slow worker (``speeds``)
holds up the barrier; with ``speculate=True`` the master starts a backup
copy of a task that is still running when nothing else is left to hand out,
and takes whichever copy finishes first (as Google's MapReduce and Hadoop do).

Example:
    >>> lines = ["a b a", "b c", "a c c"] * 40
    >>> def mapper(line):
    ...     return [(w, 1) for w in line.split()]
    >>> def reducer(word, counts):
    ...     return sum(counts)
    >>> run = run_cluster(mapper, reducer, lines, workers=3, maps=6, partitions=3)
    >>> run.output
    {'a': 120, 'b': 80, 'c': 120}
    >>> run  # doctest: +NORMALIZE_WHITESPACE
    <ClusterRun 3 workers, 6 map + 3 reduce tasks: done in 1.1 s (map 0.4 s,
     shuffle 0.5 s); 320 pairs, 1,280 bytes shuffled>
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import simpy

from labsupport.dc.detector import TimeoutDetector
from labsupport.dc.job import Task
from labsupport.dc.mapreduce import (
    Mapper,
    MapReduceResult,
    Reducer,
    _check_counts,
    run_local,
    split_records,
)
from labsupport.dc.network import LAN, Message, Network, NetworkModel
from labsupport.dc.run import _names, _speeds
from labsupport.dc.worker import Worker
from labsupport.errors import Invalid

__all__ = ["run_cluster", "ClusterRun", "Segment"]

#: Colours of the phases in the timeline.
PHASE_COLOURS = {"map": "#2b6cb0", "shuffle": "#dd8452", "reduce": "#2e9e4f",
                 "lost": "#b0b0b0"}


@dataclass(frozen=True)
class Segment:
    """One stretch of work on one worker.

    Attributes:
        worker: the worker's name.
        phase: ``"map"``, ``"shuffle"``, ``"reduce"``, or ``"lost"`` (work
            cut short by a crash).
        task: ``"map 3"``, ``"reduce 1"``.
        start: simulated seconds.
        end: simulated seconds.
        note: ``""``, ``"re-run"`` (a map task run again after a failure),
            ``"backup"`` (a speculative copy) or ``"wasted"`` (a copy that
            finished second).
    """

    worker: str
    phase: str
    task: str
    start: float
    end: float
    note: str = ""


@dataclass(frozen=True)
class ClusterRun:
    """What happened when a MapReduce job ran on the simulated cluster.

    Attributes:
        result: output and shuffle sizes (as :func:`run_local` computes them).
        workers: the workers' names.
        makespan: seconds until the last reduce task finished.
        map_end: when the last map task finished (the barrier).
        shuffle_seconds: seconds reduce tasks spent fetching, summed.
        network_bytes: shuffle bytes that crossed the network (not local).
        segments: who did what when (:class:`Segment`).
        kills: ``{worker: time}`` of the workers killed.
        suspicions: ``(time, worker)`` when the master suspected a worker.
        reruns: ``(time, map task, worker)``: map tasks run again because
            ``worker`` failed.
        events: ``(time, component, message)`` lines, in order.
        seed: the seed of the run.
    """

    result: MapReduceResult
    workers: tuple[str, ...]
    makespan: float
    map_end: float
    shuffle_seconds: float
    network_bytes: int
    segments: tuple[Segment, ...]
    kills: Mapping[str, float] = field(default_factory=dict)
    suspicions: tuple[tuple[float, str], ...] = ()
    reruns: tuple[tuple[float, int, str], ...] = ()
    events: tuple[tuple[float, str, str], ...] = ()
    seed: int = 0

    @property
    def output(self) -> dict[Hashable, Any]:
        """The job's output (the same as :func:`run_local`'s)."""
        return self.result.output

    @property
    def shuffle_bytes(self) -> int:
        """Bytes of all pairs in the shuffle."""
        return self.result.shuffle_bytes

    @property
    def phases(self) -> dict[str, float]:
        """Seconds in each phase.

        ``map``: until the barrier; ``reduce``: after it, shuffle included;
        ``shuffle``: seconds spent fetching, summed over reduce tasks.
        """
        return {"map": self.map_end, "reduce": self.makespan - self.map_end,
                "shuffle": self.shuffle_seconds}

    def log(self, limit: int | None = 20) -> str:
        """The event log as text, at most ``limit`` lines (None: all)."""
        lines = [f"{t:8.2f} s  {c:<9} {m}" for t, c, m in self.events]
        if limit is not None and len(lines) > limit:
            lines = lines[:limit] + [f"... {len(self.events) - limit} more"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        r = self.result
        extra = ""
        if self.kills:
            extra = f", {len(self.kills)} killed, {len(self.reruns)} map tasks re-run"
        return (f"<ClusterRun {len(self.workers)} workers, {r.maps} map + {r.partitions} reduce "
                f"tasks: done in {self.makespan:.1f} s (map {self.map_end:.1f} s, shuffle "
                f"{self.shuffle_seconds:.1f} s){extra}; {r.shuffle_pairs:,} pairs, "
                f"{r.shuffle_bytes:,} bytes shuffled>")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(w)}</td>"
            + "".join(f"<td>{sum(1 for s in self.segments if s.worker == w and s.phase == p)}"
                      "</td>" for p in ("map", "reduce", "lost"))
            + f"<td>{_state(self.kills.get(w))}</td></tr>"
            for w in self.workers)
        return (f"<p>{html.escape(repr(self))}</p><table><thead><tr><th>worker</th>"
                "<th>map tasks</th><th>reduce tasks</th><th>cut short</th><th>state</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>")

    def plot(self, title: str | None = None) -> Any:
        """Draw the phases on a timeline per worker, and the bytes each reduce task fetched.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from matplotlib.patches import Patch

        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe, mark_moments, style_axes

        fig = new_figure(9.0, 0.45 * len(self.workers) + 2.2)
        grid = fig.add_gridspec(1, 2, width_ratios=(3.2, 1))
        ax, bx = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        rows = {w: i for i, w in enumerate(self.workers)}
        shown: list[str] = []
        for s in self.segments:
            hatch = {"re-run": "////", "backup": "....", "wasted": "xxxx"}.get(s.note)
            ax.broken_barh([(s.start, max(s.end - s.start, 1e-3))], (rows[s.worker] - 0.38, 0.76),
                           facecolors=PHASE_COLOURS[s.phase], edgecolor="white", hatch=hatch,
                           linewidth=0.6)
            for key in (s.phase, s.note):
                if key and key not in shown:
                    shown.append(key)
        for worker, t in self.kills.items():
            ax.plot([t], [rows[worker]], "x", color="#c0392b", markersize=10, mew=2)
        ax.set_yticks(range(len(self.workers)), self.workers)
        ax.invert_yaxis()
        style_axes(ax, xlabel="simulated time (s)")
        marks = {"barrier": self.map_end}
        for worker, t in self.kills.items():
            marks[f"{worker} dies"] = t
        mark_moments(ax, marks)
        handles = [Patch(facecolor=PHASE_COLOURS[p], label=p)
                   for p in ("map", "shuffle", "reduce", "lost") if p in shown]
        handles += [Patch(facecolor="white", edgecolor="#555555", hatch=h, label=n)
                    for n, h in (("re-run", "////"), ("backup", "...."), ("wasted", "xxxx"))
                    if n in shown]
        if self.kills:
            handles.append(ax.plot([], [], "x", color="#c0392b", mew=2, label="crash")[0])
        ax.legend(handles=handles, fontsize=FONT["legend"], loc="upper center",
                  bbox_to_anchor=(0.5, -0.22), ncol=len(handles), frameon=False)
        parts = self.result.bytes_by_partition
        bx.bar(range(len(parts)), parts, color=PHASE_COLOURS["shuffle"])
        bx.set_xticks(range(len(parts)), [f"r{p}" for p in range(len(parts))])
        style_axes(bx, xlabel="reduce task", ylabel="bytes fetched")
        bx.set_title(f"shuffle: {self.shuffle_bytes:,} bytes", fontsize=FONT["label"])
        if title:
            fig.suptitle(title, fontsize=FONT["title"])
        alt = (f"Timeline of {len(self.workers)} workers: map tasks until the barrier at "
               f"{self.map_end:.1f} s, then shuffle and reduce until {self.makespan:.1f} s. "
               f"Bytes fetched per reduce task: {', '.join(f'{b:,}' for b in parts)}.")
        if self.kills:
            alt += " Crashed: " + ", ".join(f"{w} at {t:g} s" for w, t in self.kills.items())
            alt += f"; {len(self.reruns)} map tasks re-run."
        return describe(fig, alt)


def _state(killed: float | None) -> str:
    return "alive" if killed is None else f"killed at {killed:g} s"


class _Master:
    """Hands out map and reduce tasks, tracks map outputs, reacts to suspected workers."""

    def __init__(self, env: simpy.Environment, net: Network, names: Sequence[str],
                 local: MapReduceResult, splits: list[list[Any]], *, map_cost: float,
                 reduce_cost: float, bandwidth: float, fetch_latency: float,
                 detector: TimeoutDetector, check_every: float, speculate: bool,
                 speed: Mapping[str, float], killed_at: Mapping[str, float]) -> None:
        self.env, self.net, self.local = env, net, local
        self.workers = list(names)
        self.maps, self.parts = local.maps, local.partitions
        self.map_work = [len(s) * map_cost for s in splits]
        self.bytes = local.bytes_matrix
        self.reduce_cost, self.bandwidth, self.fetch_latency = reduce_cost, bandwidth, fetch_latency
        self.speed, self.killed_at = speed, killed_at
        self.detector, self.check_every, self.speculate = detector, check_every, speculate
        self.holder: list[str | None] = [None] * self.maps      # who has map m's output
        self.reduced: set[int] = set()
        self.pending: list[int] = list(range(self.maps + self.parts))  # task ids waiting
        self.running: dict[str, tuple[int, float, str]] = {}    # worker -> (task, since, note)
        self.backed_up: set[int] = set()
        self.took: dict[str, list[float]] = {"map": [], "reduce": []}  # finished tasks' times
        self.suspected: set[str] = set()
        self.suspicions: list[tuple[float, str]] = []
        self.reruns: list[tuple[float, int, str]] = []
        self.segments: list[Segment] = []
        self.events: list[tuple[float, str, str]] = []
        self.shuffle_seconds = 0.0
        self.network_bytes = 0
        self.map_end: float | None = None
        self.done = env.event()
        net.attach("lead", self._receive)

    def name(self, tid: int) -> str:
        return f"map {tid}" if tid < self.maps else f"reduce {tid - self.maps}"

    def log(self, component: str, message: str) -> None:
        self.events.append((self.env.now, component, message))

    def idle(self) -> list[str]:
        return [w for w in self.workers if w not in self.running and w not in self.suspected]

    def dispatch(self) -> None:
        for worker in self.idle():
            tid = self._next()
            if tid is None:
                break
            self._start(worker, tid)

    def _next(self) -> int | None:
        ready = all(h is not None for h in self.holder)
        for tid in self.pending:
            if tid < self.maps or ready:
                self.pending.remove(tid)
                return tid
        if not self.speculate:
            return None
        # Back up a task only when it has run 1.5 times as long as finished
        # tasks of its kind took on average: it is a straggler, not just late.
        now = self.env.now
        copies = [(since, tid) for tid, since, _n in self.running.values()
                  if tid not in self.backed_up and not self._finished(tid)
                  and self._overdue(tid, now - since)]
        if not copies:
            return None
        _since, tid = min(copies)
        self.backed_up.add(tid)
        return tid

    def _overdue(self, tid: int, running_for: float) -> bool:
        took = self.took["map" if tid < self.maps else "reduce"]
        return bool(took) and running_for > 1.5 * sum(took) / len(took)

    def _finished(self, tid: int) -> bool:
        if tid < self.maps:
            return self.holder[tid] is not None
        return tid - self.maps in self.reduced

    def _start(self, worker: str, tid: int) -> None:
        note = "backup" if any(t == tid for t, _s, _n in self.running.values()) else ""
        if tid < self.maps and any(t == tid for _tm, t, _w in self.reruns) and not note:
            note = "re-run"
        self.running[worker] = (tid, self.env.now, note)
        self.log("master", f"{self.name(tid)} -> {worker}" + (f" ({note})" if note else ""))
        if tid < self.maps:
            self.net.send("lead", worker, "task", Task(tid, self.map_work[tid]))
        else:
            self.env.process(self._fetch_then_reduce(worker, tid))

    def _fetch_then_reduce(self, worker: str, tid: int) -> Any:
        p = tid - self.maps
        remote = [self.bytes[m][p] for m in range(self.maps) if self.holder[m] != worker]
        took = sum(remote) / self.bandwidth + len(remote) * self.fetch_latency
        start = self.env.now
        yield self.env.timeout(took)
        if self.running.get(worker, (None,))[0] != tid:
            return                                   # the worker was suspected meanwhile
        self.shuffle_seconds += took
        self.network_bytes += sum(remote)
        self.segments.append(Segment(worker, "shuffle", self.name(tid), start, self.env.now,
                                     self.running[worker][2]))
        self.net.send("lead", worker, "task",
                      Task(tid, self.reduce_cost * self.local.pairs_by_partition[p]))

    def _receive(self, msg: Message) -> None:
        if msg.kind == "heartbeat":
            self.detector.heartbeat(msg.src, self.env.now)
            return
        if msg.kind != "result" or msg.src not in self.running:
            return
        tid, since, note = self.running.pop(msg.src)
        phase = "map" if tid < self.maps else "reduce"
        first = not self._finished(tid)
        self.took[phase].append(self.env.now - since)
        start = since if phase == "map" else self.env.now - self._compute_time(tid, msg.src)
        self.segments.append(Segment(msg.src, phase, self.name(tid), start, self.env.now,
                                     note if first else "wasted"))
        if first:
            if phase == "map":
                self.holder[tid] = msg.src
                if all(h is not None for h in self.holder) and self.map_end is None:
                    self.map_end = self.env.now
                    self.log("master", "barrier: every map task is done; reduce tasks start")
            else:
                self.reduced.add(tid - self.maps)
                if len(self.reduced) == self.parts:
                    self.log("master", "every reduce task is done")
                    self.done.succeed(self.env.now)
                    return
        else:
            self.log("master", f"{self.name(tid)} from {msg.src} came second; ignored")
        self.dispatch()

    def _compute_time(self, tid: int, worker: str) -> float:
        pairs = self.local.pairs_by_partition[tid - self.maps]
        return self.reduce_cost * pairs / self.speed[worker]

    def watch(self) -> Any:
        while not self.done.triggered:
            yield self.env.timeout(self.check_every)
            for worker in sorted(set(self.detector.suspects(self.env.now)) - self.suspected):
                self._suspect(worker)
            self.dispatch()

    def _suspect(self, worker: str) -> None:
        now = self.env.now
        self.suspected.add(worker)
        self.suspicions.append((now, worker))
        again: list[int] = []
        if worker in self.running:
            tid, since, _note = self.running.pop(worker)
            self.segments.append(Segment(worker, "lost", self.name(tid), since,
                                         self.killed_at.get(worker, now)))
            elsewhere = any(t == tid for t, _s, _n in self.running.values())
            if not self._finished(tid) and not elsewhere:
                again.append(tid)
        if any(t >= self.maps for t in [*self.pending, *again]):
            # Reduce tasks still to start need every map output, and this
            # worker's finished map outputs were on its own disk.
            for m, holder in enumerate(self.holder):
                if holder == worker:
                    self.holder[m] = None
                    again.append(m)
        self.reruns += [(now, tid, worker) for tid in sorted(again) if tid < self.maps]
        self.pending = sorted(set(self.pending) | set(again), key=lambda t: (t >= self.maps, t))
        what = ", ".join(self.name(t) for t in sorted(again)) or "nothing"
        self.log("detector", f"suspects {worker}; to run again: {what}")


def run_cluster(mapper: Mapper, reducer: Reducer, records: Sequence[Any], *, workers: int = 4,
                maps: int = 8, partitions: int = 4, combiner: Reducer | None = None,
                speeds: Sequence[float] | Mapping[str, float] | None = None,
                kill: Mapping[str, float] | None = None, speculate: bool = False,
                map_cost: float = 0.01, reduce_cost: float = 0.002,
                bandwidth: float = 2000.0, network: NetworkModel | None = None,
                heartbeat: float = 1.0, timeout: float = 3.0, seed: int = 0) -> ClusterRun:
    """Run a MapReduce job on a simulated cluster and return what happened.

    Args:
        mapper: ``mapper(record)`` returns or yields ``(key, value)`` pairs.
        reducer: ``reducer(key, values)`` returns the output for ``key``.
        records: the input.
        workers: how many workers (``worker-1``...).
        maps: how many map tasks (splits).
        partitions: how many reduce tasks.
        combiner: optional, as in :func:`~labsupport.dc.mapreduce.run_local`.
        speeds: each worker's speed (0.25: a straggler, four times slower).
        kill: ``{worker: time}``: crash these workers at these times.
        speculate: start backup copies of tasks still running at the end.
        map_cost: seconds per record of a map task (at speed 1).
        reduce_cost: seconds per pair a reduce task receives (at speed 1).
        bandwidth: bytes per second a reduce task fetches over the network
            (tiny, so that this small example's shuffle shows).
        network: message delays; a quiet LAN by default.
        heartbeat: seconds between heartbeats.
        timeout: the master's failure-detector timeout.
        seed: the same seed gives the same run.

    Returns:
        a :class:`ClusterRun`.
    """
    _check_counts(partitions, maps)
    names = _names(workers)
    kill = dict(kill or {})
    unknown = sorted(set(kill) - set(names))
    if unknown:
        raise Invalid(f"kill names unknown workers {unknown}; workers are {list(names)}")
    if len(kill) >= len(names):
        raise Invalid("kill leaves no worker alive; the job could never finish")
    for label, value in (("map_cost", map_cost), ("reduce_cost", reduce_cost)):
        if not isinstance(value, (int, float)) or value < 0:
            raise Invalid(f"{label} must be 0 or more seconds, got {value!r}")
    if not isinstance(bandwidth, (int, float)) or bandwidth <= 0:
        raise Invalid(f"bandwidth must be positive bytes per second, got {bandwidth!r}")
    speed_of = _speeds(speeds, names)
    records = list(records)
    local = run_local(mapper, reducer, records, partitions=partitions, combiner=combiner,
                      maps=maps)
    env = simpy.Environment()
    net = Network(env, network or LAN, seed=seed, log_kinds=("task", "result"))
    master = _Master(env, net, names, local, split_records(records, maps), map_cost=map_cost,
                     reduce_cost=reduce_cost, bandwidth=bandwidth,
                     fetch_latency=(network or LAN).latency, detector=TimeoutDetector(timeout),
                     check_every=heartbeat / 2, speculate=speculate, speed=speed_of,
                     killed_at=kill)
    nodes = {n: Worker(env, n, net, speed=speed_of[n], heartbeat=heartbeat) for n in names}
    for name, t in kill.items():
        nodes[name].kill_at(t)

        def _note(name: str = name, t: float = t) -> Any:
            yield env.timeout(t)
            master.log(name, "crashed (killed)")
        env.process(_note())
    env.process(master.watch())
    master.dispatch()
    env.run(until=master.done)
    segments = tuple(sorted(master.segments, key=lambda s: (s.start, s.worker)))
    map_end = master.map_end or env.now
    local = replace(local, times={"map": map_end, "reduce": env.now - map_end,
                                  "total": env.now})
    return ClusterRun(result=local, workers=names, makespan=env.now,
                      map_end=map_end, shuffle_seconds=master.shuffle_seconds,
                      network_bytes=master.network_bytes, segments=segments, kills=kill,
                      suspicions=tuple(master.suspicions), reruns=tuple(master.reruns),
                      events=tuple(sorted(master.events, key=lambda e: e[0])), seed=seed)

