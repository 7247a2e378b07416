"""Failure detection with heartbeats and a timeout.

A worker that crashes says nothing; the lead node only notices silence. Each
worker sends a heartbeat every ``interval`` seconds and the lead suspects a
worker that has been silent for longer than a ``timeout``. A short timeout
notices crashes quickly but also suspects healthy workers whose heartbeats
were merely delayed (false alarms); a long timeout is calm but slow. This
module makes the trade-off measurable:

- :class:`TimeoutDetector`: the detector itself (``heartbeat`` and ``suspects``);
- :func:`heartbeat_trace`: when heartbeats arrive at the lead, with the
  crashes that really happened (the ground truth the lead does not see);
- :func:`evaluate`: run any detector over a trace and count detection delays
  and false alarms; :func:`sweep` does it for many timeouts.

Example:
    >>> from labsupport.dc import TimeoutDetector, heartbeat_trace, evaluate
    >>> trace = heartbeat_trace(4, duration=60, crashes={"worker-2": 30.0}, seed=0)
    >>> score = evaluate(TimeoutDetector(timeout=3.0), trace)
    >>> round(score.detections["worker-2"], 1), len(score.false_alarms)
    (2.6, 0)
"""

from __future__ import annotations

import html
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from labsupport.dc.network import BUSY_LAN, NetworkModel
from labsupport.errors import Invalid

__all__ = ["Detector", "TimeoutDetector", "HeartbeatTrace", "heartbeat_trace",
           "DetectorScore", "evaluate", "timeout_score", "DetectorSweep", "sweep"]


class Detector(Protocol):
    """What the lead node needs from a failure detector."""

    def heartbeat(self, node: str, time: float) -> None:
        """Record that a heartbeat from ``node`` arrived at ``time``."""

    def suspects(self, now: float) -> Iterable[str]:
        """The nodes believed to have failed at time ``now``."""


class TimeoutDetector:
    """Suspect a node when no heartbeat arrived from it for more than ``timeout`` seconds.

    A node is known from its first heartbeat on; a heartbeat from a suspected
    node clears the suspicion.

    Args:
        timeout: seconds of silence after which a node is suspected.

    Example:
        >>> d = TimeoutDetector(timeout=3)
        >>> d.heartbeat("worker-1", 0.5); d.heartbeat("worker-2", 1.0)
        >>> sorted(d.suspects(now=2.0)), sorted(d.suspects(now=3.8))
        ([], ['worker-1'])
        >>> d.heartbeat("worker-1", 4.0); sorted(d.suspects(now=4.1))
        ['worker-2']
    """

    def __init__(self, timeout: float) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not math.isfinite(timeout) or timeout <= 0:
            raise Invalid(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self.last_heard: dict[str, float] = {}

    def heartbeat(self, node: str, time: float) -> None:
        """Record that a heartbeat from ``node`` arrived at ``time``."""
        previous = self.last_heard.get(node)
        if previous is None or time > previous:
            self.last_heard[node] = time

    def suspects(self, now: float) -> set[str]:
        """The nodes silent for longer than the timeout at time ``now``."""
        return {n for n, t in self.last_heard.items() if now - t > self.timeout}

    def __repr__(self) -> str:
        return f"<TimeoutDetector timeout={self.timeout:g} s, {len(self.last_heard)} nodes known>"


@dataclass(frozen=True)
class HeartbeatTrace:
    """When heartbeats reached the lead node, and what really happened.

    Attributes:
        nodes: the workers' names.
        duration: seconds observed.
        interval: seconds between two heartbeats of one worker.
        arrivals: ``(time, node)`` pairs in the order they arrived.
        crashes: ``{node: time}`` of the workers that really crashed.
        sent: how many heartbeats were sent (some may be lost).
    """

    nodes: tuple[str, ...]
    duration: float
    interval: float
    arrivals: tuple[tuple[float, str], ...]
    crashes: Mapping[str, float] = field(default_factory=dict)
    sent: int = 0

    def arrivals_of(self, node: str) -> list[float]:
        """Arrival times of ``node``'s heartbeats."""
        return [t for t, n in self.arrivals if n == node]

    def longest_silence(self) -> tuple[float, str, float]:
        """The longest gap between two heartbeats of a live worker: ``(gap, node, start)``.

        A timeout shorter than this gap would have raised a false alarm.
        """
        best = (0.0, "", 0.0)
        last: dict[str, float] = {}
        for t, node in self.arrivals:
            before = last.get(node)
            last[node] = t
            if before is not None and before < self.crashes.get(node, math.inf) \
                    and t - before > best[0]:
                best = (t - before, node, before)
        return best

    def __repr__(self) -> str:
        crashes = ", ".join(f"{n} at {t:g} s" for n, t in sorted(self.crashes.items()))
        return (f"<HeartbeatTrace {len(self.nodes)} nodes, {self.duration:g} s, "
                f"{len(self.arrivals)} of {self.sent} heartbeats arrived, "
                f"crashes: {crashes or 'none'}>")


def heartbeat_trace(nodes: int | Sequence[str] = 5, *, duration: float = 120.0,
                    interval: float = 1.0, network: NetworkModel | None = None,
                    crashes: Mapping[str, float] | None = None,
                    silences: Mapping[str, tuple[float, float]] | None = None,
                    joins: Mapping[str, float] | None = None, seed: int = 0) -> HeartbeatTrace:
    """Simulate the heartbeats of a group of workers as the lead node receives them.

    Each worker starts at a random moment within the first interval and then
    sends a heartbeat every ``interval`` seconds until it crashes. Each
    heartbeat is delayed (or lost) by the network.

    Args:
        nodes: how many workers (named ``worker-1``...) or their names.
        duration: seconds to observe.
        interval: seconds between heartbeats.
        network: delays and losses; :data:`~labsupport.dc.network.BUSY_LAN` by default.
        crashes: ``{node: time}``: the worker sends nothing from ``time`` on.
        silences: ``{node: (start, end)}``: the worker is alive but sends
            nothing in that window (a long garbage-collection pause).
        joins: ``{node: time}``: the worker starts later than the others.
        seed: the same seed gives the same trace.

    Example:
        >>> t = heartbeat_trace(2, duration=10, seed=1)
        >>> t.nodes, t.sent
        (('worker-1', 'worker-2'), 20)
    """
    names = _node_names(nodes)
    if not isinstance(interval, (int, float)) or not interval > 0:
        raise Invalid(f"interval must be a positive number of seconds, got {interval!r}")
    if not isinstance(duration, (int, float)) or not duration > 0:
        raise Invalid(f"duration must be a positive number of seconds, got {duration!r}")
    crashes = dict(crashes or {})
    silences = dict(silences or {})
    joins = dict(joins or {})
    for label, mapping in (("crashes", crashes), ("silences", silences), ("joins", joins)):
        unknown = sorted(set(mapping) - set(names))
        if unknown:
            raise Invalid(f"{label} names unknown nodes {unknown}; nodes are {list(names)}")
    model = network or BUSY_LAN
    rng = random.Random(f"{seed}:heartbeats")
    arrivals: list[tuple[float, str]] = []
    sent = 0
    for node in names:
        start = joins.get(node, 0.0) + rng.uniform(0, interval)
        stop = min(crashes.get(node, math.inf), duration)
        quiet = silences.get(node)
        k = 0
        while (t := start + k * interval) < stop:
            k += 1
            if quiet and quiet[0] <= t < quiet[1]:
                continue
            sent += 1
            delay = model.sample(rng)
            if delay is not None and t + delay <= duration:
                arrivals.append((t + delay, node))
    arrivals.sort()
    return HeartbeatTrace(names, float(duration), float(interval), tuple(arrivals),
                          crashes, sent)


@dataclass(frozen=True)
class DetectorScore:
    """How well a detector did on one trace.

    Attributes:
        detections: for each crashed node, seconds from the crash until the
            detector first suspected it, or None if it never did.
        false_alarms: ``(time, node)`` each time a live node became suspected.
        check_every: seconds between two questions to the detector.
    """

    detections: Mapping[str, float | None]
    false_alarms: tuple[tuple[float, str], ...]
    check_every: float = 0.1

    @property
    def missed(self) -> list[str]:
        """Crashed nodes that were never suspected."""
        return sorted(n for n, d in self.detections.items() if d is None)

    @property
    def mean_detection(self) -> float | None:
        """Average seconds from crash to suspicion over the detected crashes."""
        found = [d for d in self.detections.values() if d is not None]
        return sum(found) / len(found) if found else None

    @property
    def max_detection(self) -> float | None:
        """The slowest detection in seconds."""
        found = [d for d in self.detections.values() if d is not None]
        return max(found) if found else None

    def __repr__(self) -> str:
        mean = self.mean_detection
        found = "no crash detected" if mean is None else (
            f"{len(self.detections) - len(self.missed)} crash(es) detected after "
            f"{mean:.2f} s on average")
        missed = f", {len(self.missed)} missed" if self.missed else ""
        return f"<DetectorScore: {found}{missed}, {len(self.false_alarms)} false alarm(s)>"


def _ask_times(duration: float, check_every: float) -> int:
    if not isinstance(check_every, (int, float)) or not check_every > 0:
        raise Invalid(f"check_every must be a positive number of seconds, got {check_every!r}")
    return int(math.floor(duration / check_every + 1e-9))


def evaluate(detector: Detector, trace: HeartbeatTrace, *,
             check_every: float = 0.1) -> DetectorScore:
    """Replay a trace into a detector and score it against what really happened.

    Heartbeats are handed to ``detector.heartbeat`` in the order they arrived;
    every ``check_every`` seconds the lead asks ``detector.suspects(now)``.

    Example:
        >>> trace = heartbeat_trace(3, duration=30, crashes={"worker-1": 10.0}, seed=2)
        >>> evaluate(TimeoutDetector(0.5), trace)     # far too eager
        <DetectorScore: 1 crash(es) detected after 0.40 s on average, 66 false alarm(s)>
    """
    last_k = _ask_times(trace.duration, check_every)
    crashes = trace.crashes
    detections: dict[str, float | None] = {n: None for n in crashes}
    alarms: list[tuple[float, str]] = []
    before: set[str] = set()
    arrivals = trace.arrivals
    i = 0
    for k in range(last_k + 1):
        now = k * check_every
        while i < len(arrivals) and arrivals[i][0] <= now:
            detector.heartbeat(arrivals[i][1], arrivals[i][0])
            i += 1
        suspected = set(detector.suspects(now))
        for node in suspected:
            crash = crashes.get(node, math.inf)
            if now < crash:
                if node not in before:
                    alarms.append((now, node))
            elif detections.get(node) is None:
                detections[node] = now - crash
        before = suspected
    alarms.sort()
    return DetectorScore(detections, tuple(alarms), check_every)


def timeout_score(timeout: float, trace: HeartbeatTrace, *,
                  check_every: float = 0.1) -> DetectorScore:
    """The same score as ``evaluate(TimeoutDetector(timeout), trace)``, computed directly.

    Instead of asking the detector at every check, it looks at the gaps
    between heartbeats, which is much faster for long traces and sweeps.

    Example:
        >>> trace = heartbeat_trace(3, duration=30, crashes={"worker-1": 10.0}, seed=2)
        >>> timeout_score(0.5, trace)
        <DetectorScore: 1 crash(es) detected after 0.40 s on average, 66 false alarm(s)>
    """
    TimeoutDetector(timeout)  # validates
    last_k = _ask_times(trace.duration, check_every)
    per_node: dict[str, list[float]] = {n: [] for n in trace.nodes}
    for t, n in trace.arrivals:
        per_node.setdefault(n, []).append(t)
    detections: dict[str, float | None] = {n: None for n in trace.crashes}
    alarms: list[tuple[float, str]] = []
    for node, times in per_node.items():
        crash = trace.crashes.get(node, math.inf)
        prev_end = -2
        for j, a in enumerate(times):
            nxt = times[j + 1] if j + 1 < len(times) else math.inf
            if nxt - a <= timeout:
                continue  # the next heartbeat came in time: no suspicion in this gap
            k = int(math.floor((a + timeout) / check_every))
            while k * check_every - a <= timeout:
                k += 1
            while k > 0 and (k - 1) * check_every - a > timeout:
                k -= 1
            if k > last_k or k * check_every >= nxt:
                continue
            end = last_k
            if nxt != math.inf:
                end = min(last_k, int(math.ceil(nxt / check_every)))
                while end * check_every >= nxt:
                    end -= 1
                while (end + 1) * check_every < nxt and end + 1 <= last_k:
                    end += 1
            start_time = k * check_every
            if k != prev_end + 1 and start_time < crash:
                alarms.append((start_time, node))
            prev_end = end
            if node in detections and detections[node] is None and end * check_every >= crash:
                first = max(k, int(math.ceil(crash / check_every)))
                while first > k and (first - 1) * check_every >= crash:
                    first -= 1
                while first * check_every < crash:
                    first += 1
                if first <= end:
                    detections[node] = first * check_every - crash
    alarms.sort()
    return DetectorScore(detections, tuple(alarms), check_every)


@dataclass(frozen=True)
class DetectorSweep:
    """False alarms and detection times of a timeout detector for several timeouts.

    Attributes:
        rows: one dict per timeout with ``timeout``, ``false_alarms``,
            ``mean_detection``, ``max_detection`` and ``missed`` (summed or
            averaged over the seeds).
        seeds: the traces' seeds.
    """

    rows: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]

    def __repr__(self) -> str:
        lines = ["timeout  false alarms  mean detection  max detection  "
                 f"(seeds {list(self.seeds)})"]
        for r in self.rows:
            lines.append(f"{r['timeout']:>6.2f} s  {r['false_alarms']:>12d}  "
                         f"{_fmt(r['mean_detection']):>14}  {_fmt(r['max_detection']):>13}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("timeout", "false alarms", "mean detection",
                                                 "max detection", "missed crashes"))
        body = "".join(
            f"<tr><td>{r['timeout']:g} s</td><td>{r['false_alarms']}</td>"
            f"<td>{html.escape(_fmt(r['mean_detection']))}</td>"
            f"<td>{html.escape(_fmt(r['max_detection']))}</td><td>{r['missed']}</td></tr>"
            for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def plot(self, target: float | None = None) -> Any:
        """Draw false alarms and detection time against the timeout, one panel each.

        False alarms span orders of magnitude (thousands for a tight timeout,
        none for a loose one), so their axis is logarithmic (0 still shows).

        Args:
            target: a detection time to stay within, in seconds: drawn as a line.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import count_axis, describe, style_axes, target_line

        x = [r["timeout"] for r in self.rows]
        alarms = [r["false_alarms"] for r in self.rows]
        detect = [r["mean_detection"] for r in self.rows]
        fig = new_figure(8.0, 5.2)
        top, bottom = fig.subplots(2, 1, sharex=True)
        top.plot(x, alarms, "o-", color="#c0392b", gid="false alarms")
        for t, n in zip(x, alarms, strict=True):
            top.annotate(f"{n}", (t, n), xytext=(0, 6), textcoords="offset points",
                         ha="center", fontsize=8)
        scale = count_axis(top, alarms)
        style_axes(top, ylabel="false alarms" + (" (log)" if scale != "linear" else ""),
                   title=f"A timeout trades false alarms for slow detection "
                         f"({len(self.seeds)} traces)")
        top.set_ylim(0, max(alarms + [1]) * (8 if scale != "linear" else 1.2))
        bottom.plot(x, detect, "s-", color="#2b6cb0", gid="mean detection")
        style_axes(bottom, xlabel="timeout (s)", ylabel="mean detection (s)")
        if target is not None:
            target_line(bottom, target, f"target {target:g} s")
        alt = ("False alarms and mean detection time for timeouts "
               + ", ".join(f"{r['timeout']:g} s: {r['false_alarms']} alarms, "
                           f"{_fmt(r['mean_detection'])}" for r in self.rows))
        if target is not None:
            alt += f". A dashed line marks the target: detection within {target:g} s"
        return describe(fig, alt + ".")


def sweep(timeouts: Iterable[float], *, seeds: Iterable[int] = range(5),
          check_every: float = 0.1, **trace_options: Any) -> DetectorSweep:
    """Score a timeout detector for each timeout over several seeded traces.

    Args:
        timeouts: the timeouts to try, in seconds.
        seeds: one trace per seed; results are summed (false alarms, missed)
            or averaged (detection times) over them.
        check_every: seconds between two questions to the detector.
        **trace_options: passed to :func:`heartbeat_trace` (``nodes``,
            ``duration``, ``crashes``, ``network``...). Without ``crashes``
            the first worker crashes half way through.

    Example:
        >>> s = sweep([0.5, 3.0], seeds=[0, 1], nodes=4, duration=60)
        >>> [(r["timeout"], r["false_alarms"] > 0) for r in s.rows]
        [(0.5, True), (3.0, False)]
    """
    seeds = tuple(seeds)
    traces = []
    for seed in seeds:
        options = dict(trace_options)
        if "crashes" not in options:
            names = _node_names(options.get("nodes", 5))
            options["crashes"] = {names[0]: options.get("duration", 120.0) / 2}
        traces.append(heartbeat_trace(seed=seed, **options))
    rows = []
    for timeout in timeouts:
        scores = [timeout_score(timeout, t, check_every=check_every) for t in traces]
        means = [s.mean_detection for s in scores if s.mean_detection is not None]
        maxes = [s.max_detection for s in scores if s.max_detection is not None]
        rows.append({
            "timeout": float(timeout),
            "false_alarms": sum(len(s.false_alarms) for s in scores),
            "mean_detection": sum(means) / len(means) if means else None,
            "max_detection": max(maxes) if maxes else None,
            "missed": sum(len(s.missed) for s in scores),
        })
    return DetectorSweep(tuple(rows), seeds)


def _node_names(nodes: int | Sequence[str]) -> tuple[str, ...]:
    if isinstance(nodes, int) and not isinstance(nodes, bool):
        if nodes < 1:
            raise Invalid(f"need at least 1 node, got {nodes!r}")
        return tuple(f"worker-{i}" for i in range(1, nodes + 1))
    names = tuple(nodes)
    if not names or len(set(names)) != len(names):
        raise Invalid(f"node names must be a non-empty list without repeats, got {list(names)}")
    return names


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
