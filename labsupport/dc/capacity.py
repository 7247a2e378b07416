"""Capacity over time: what a cluster loses when workers fail, and how the rest take over.

A power grid keeps the lights on when a station trips: the other stations
raise their output until the lost one is back. A cluster does the same with
work: when a worker dies, the lead node notices (after a while), puts the
dead worker's task back in the queue, and the surviving workers pick it up.
:func:`capacity` reads a :class:`~labsupport.dc.run.JobRun` and says, at each
moment, how many workers were alive, how many the lead still counted on, and
how many were computing; :func:`capacity_plot` draws the three.

Example:
    >>> from labsupport.dc import Job, run_job
    >>> run = run_job(Job(work=1200, parallel_fraction=0.95, tasks=24), workers=4,
    ...               kill={"worker-2": 200.0}, seed=0)
    >>> cap = capacity(run)
    >>> cap.alive_at(100.0), cap.alive_at(300.0)
    (4, 3)
    >>> cap.counted_at(201.0), cap.counted_at(300.0)     # the lead has not noticed yet
    (4, 3)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid

if TYPE_CHECKING:
    from labsupport.dc.run import JobRun

__all__ = ["Capacity", "capacity", "capacity_plot"]


def _steps(changes: list[tuple[float, int]], start: int) -> tuple[list[float], list[int]]:
    """Times and values of a step function that starts at ``start`` and adds each change."""
    times, values, level = [0.0], [start], start
    for t, delta in sorted(changes):
        level += delta
        if times[-1] == t:
            values[-1] = level
        else:
            times.append(t)
            values.append(level)
    return times, values


@dataclass(frozen=True)
class Capacity:
    """Three step functions of time over one run (``times`` with the value from then on).

    Attributes:
        alive: workers that were really alive.
        counted: workers the lead still counted on (it drops a dead one only
            when its failure detector suspects it).
        computing: workers computing a task at that moment.
        busy: ``(bin starts, average workers computing in each bin)``: the
            same, smoothed over bins of about 1/100 of the run.
        end: when the job finished (or the simulation stopped).
        moments: ``(time, label)`` of crashes, suspicions and reassignments.
    """

    alive: tuple[tuple[float, ...], tuple[int, ...]]
    counted: tuple[tuple[float, ...], tuple[int, ...]]
    computing: tuple[tuple[float, ...], tuple[int, ...]]
    busy: tuple[tuple[float, ...], tuple[float, ...]]
    end: float
    moments: tuple[tuple[float, str], ...]

    @staticmethod
    def _at(series: tuple[tuple[float, ...], tuple[int, ...]], t: float) -> int:
        times, values = series
        return values[max(0, bisect.bisect_right(times, t) - 1)]

    def alive_at(self, t: float) -> int:
        """Workers alive at time ``t``."""
        return self._at(self.alive, t)

    def counted_at(self, t: float) -> int:
        """Workers the lead counted on at time ``t``."""
        return self._at(self.counted, t)

    def computing_at(self, t: float) -> int:
        """Workers computing at time ``t``."""
        return self._at(self.computing, t)

    def lost_work(self) -> float:
        """Worker-seconds of capacity lost to failures, from each crash to the end."""
        times, values = self.alive
        full = values[0]
        lost = 0.0
        for i, t in enumerate(times):
            stop = min(times[i + 1] if i + 1 < len(times) else self.end, self.end)
            lost += (full - values[i]) * max(0.0, stop - t)
        return lost


def capacity(run: JobRun) -> Capacity:
    """The capacity of a run over time: alive, counted on, computing (see :class:`Capacity`).

    Raises:
        Invalid: ``run`` is not a :class:`~labsupport.dc.run.JobRun`.
    """
    if not hasattr(run, "history") or not hasattr(run, "kills"):
        raise Invalid(f"capacity reads a run of dc.run_job(...), got {type(run).__name__}")
    n = len(run.workers)
    end = run.makespan if run.makespan is not None else max(
        [e for *_, e in run.history] + [0.0])
    alive = _steps([(t, -1) for t in run.kills.values()], n)
    first_suspicion: dict[str, float] = {}
    for t, w in run.suspicions:
        first_suspicion.setdefault(w, t)
    counted = _steps([(t, -1) for t in first_suspicion.values()], n)
    busy = [(s, +1) for _, _, s, _ in run.history] + [(e, -1) for _, _, _, e in run.history]
    # A worker killed mid-task stops computing at its death, not at the task's planned end.
    for worker, killed in run.kills.items():
        for w, _task, s, e in run.history:
            if w == worker and s < killed < e:
                busy.remove((e, -1))
                busy.append((killed, -1))
    computing = _steps(busy, 0)
    width = max(1.0, end / 100)
    bins = int(end // width) + 1
    totals = [0.0] * bins
    intervals = [(w, s, e) for w, _task, s, e in run.history]
    intervals += _cut_short(run)
    for w, s, e in intervals:
        e = min(e, run.kills.get(w, e))
        t, k = s, int(s // width)
        while t < e:
            stop = min(e, (k + 1) * width)
            totals[min(k, bins - 1)] += max(0.0, stop - t)
            t, k = max(t, stop), k + 1
    smooth = (tuple(k * width for k in range(bins)), tuple(x / width for x in totals))
    moments = [(t, f"{w} crashes") for w, t in run.kills.items()]
    moments += [(t, f"lead suspects {w}") for w, t in first_suspicion.items()]
    moments += [(t, f"task {task} moved") for t, task, _w in run.reassigned]
    return Capacity(tuple(map(tuple, alive)), tuple(map(tuple, counted)),
                    tuple(map(tuple, computing)), smooth, float(end), tuple(sorted(moments)))


def _cut_short(run: JobRun) -> list[tuple[str, float, float]]:
    """The task each killed worker was computing when it died.

    The history keeps only finished tasks; the one under way at the crash ran
    from its previous task's end, or from the task's arrival, to the crash.
    """
    out = []
    for worker, killed in run.kills.items():
        done = sorted(e for w, _t, _s, e in run.history if w == worker and e <= killed)
        arrived = sorted(m.delivered for m in run.messages if m.dst == worker
                         and m.kind == "task" and m.delivered is not None
                         and m.delivered <= killed)
        if len(arrived) > len(done):          # one task was under way (one at a time)
            start = max(arrived[len(done)], done[-1] if done else 0.0)
            out.append((worker, start, killed))
    return out


def capacity_plot(run: JobRun, *, window: tuple[float, float] | None = None) -> Any:
    """Draw workers alive, counted on by the lead, and computing, over the run.

    Args:
        run: a run of :func:`~labsupport.dc.run.run_job`, usually with ``kill=``.
        window: ``(start, end)`` seconds to show; the whole run by default.

    Returns:
        A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
    """
    from labsupport.viz.figures import new_figure
    from labsupport.viz.style import FONT, Moment, describe, mark_moments, style_axes

    cap = capacity(run)
    fig = new_figure(8.5, 4.0)
    ax = fig.add_subplot()
    series = (("workers alive", cap.alive, "#2e9e4f", "-", 2.4),
              ("workers the lead counts on", cap.counted, "#2b6cb0", "--", 1.8))
    for label, (times, values), colour, style, width in series:
        ax.step(list(times) + [cap.end], list(values) + [values[-1]], where="post",
                color=colour, linestyle=style, linewidth=width, label=label, gid=label)
    starts, average = cap.busy
    ax.fill_between(list(starts) + [cap.end], list(average) + [average[-1]], step="post",
                    color="#f2b134", alpha=0.45, linewidth=0, label="workers computing (average)",
                    gid="workers computing")
    lo, hi = window or (0.0, cap.end)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, len(run.workers) + 0.8)
    moments = [Moment(t, label) for t, label in cap.moments if "moved" not in label]
    style_axes(ax, xlabel="time (s)", ylabel="workers")
    ax.set_title("capacity over the run", fontsize=FONT["title"],
                 pad=8 + 12 * min(3, len(moments)))
    ax.legend(fontsize=FONT["legend"], loc="lower left")
    mark_moments(ax, moments)
    alt = (f"Workers alive, counted on by the lead, and computing, from {lo:.0f} to {hi:.0f} s "
           f"on {len(run.workers)} workers")
    if cap.moments:
        alt += "; " + ", ".join(f"{label} at {t:.0f} s" for t, label in cap.moments[:8])
    alt += f"; capacity lost: {cap.lost_work():.0f} worker-seconds"
    return describe(fig, alt + ".")
