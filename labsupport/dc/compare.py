"""Run one job under several assignment policies on the same cluster and compare them.

The same job, the same workers (with the same speeds, the same straggler,
the same crash) and the same seed; only the policy changes. The makespan of
each run is set against a bound no policy can beat: the serial part plus
the parallel work spread perfectly over the workers' total speed,

    makespan >= serial + parallel work / sum of speeds,

and the time workers spend idle shows where each policy loses.

Example:
    >>> from labsupport.dc import Job
    >>> job = Job(work=1200, parallel_fraction=0.95, tasks=24, spread=0.4)
    >>> cmp = compare_policies(job, speeds=[2, 1, 1, 0.25])
    >>> cmp
    <PolicyComparison static 1230 s, greedy 423 s, stealing 405 s, barrier 1230 s; bound 328 s>
    >>> round(cmp.bound, 1), cmp.best
    (328.2, 'stealing')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labsupport.dc.job import Job
from labsupport.dc.leader import Policy
from labsupport.dc.network import NetworkModel
from labsupport.dc.run import JobRun, run_job
from labsupport.errors import Invalid

__all__ = ["PolicyComparison", "compare_policies", "makespan_bound", "idle_gaps"]


def makespan_bound(job: Job, speeds: Sequence[float]) -> float:
    """The shortest makespan any policy could reach: serial + parallel / total speed.

    Example:
        >>> makespan_bound(Job(work=100, parallel_fraction=0.9, tasks=10), [1, 2])
        40.0
    """
    if not speeds or min(speeds) <= 0:
        raise Invalid(f"speeds must be positive numbers, one per worker, got {list(speeds)}")
    return job.serial_work + job.parallel_work / sum(speeds)


def idle_gaps(run: JobRun, min_gap: float = 0.0) -> list[tuple[float, float]]:
    """The moments when *no* worker computed, between the first task and the last.

    With a barrier these are the ends of rounds: every worker has finished and
    waits for the next round's tasks.

    Example:
        >>> from labsupport.dc import Job
        >>> run = run_job(Job(work=100, parallel_fraction=1.0, tasks=4), 2, policy="barrier")
        >>> [(round(a, 2), round(b, 2)) for a, b in idle_gaps(run)]
        [(25.01, 25.02)]
    """
    spans = sorted((s, e) for _w, _t, s, e in run.history)
    gaps = []
    if not spans:
        return gaps
    reach = spans[0][1]
    for s, e in spans[1:]:
        if s > reach + min_gap:
            gaps.append((reach, s))
        reach = max(reach, e)
    return gaps


@dataclass(frozen=True)
class PolicyComparison:
    """The runs of one job under several policies.

    Attributes:
        job: the job.
        speeds: each worker's speed.
        runs: ``{policy name: JobRun}`` in the order given.
        bound: the makespan no policy can beat (:func:`makespan_bound`).
    """

    job: Job
    speeds: tuple[float, ...]
    runs: dict[str, JobRun]
    bound: float

    @property
    def makespans(self) -> dict[str, float | None]:
        """Seconds each policy took (None: it did not finish)."""
        return {name: run.makespan for name, run in self.runs.items()}

    @property
    def best(self) -> str:
        """The policy with the shortest makespan."""
        done = {n: m for n, m in self.makespans.items() if m is not None}
        return min(done, key=done.__getitem__)

    def idle(self) -> dict[str, float]:
        """Worker-seconds spent idle (or lost to a crash) before each policy's makespan."""
        out = {}
        for name, run in self.runs.items():
            if run.makespan is None:
                continue
            useful = sum(e - s for _w, _t, s, e in run.history)
            out[name] = len(run.workers) * (run.makespan - self.job.serial_work) - useful
        return out

    def table(self) -> str:
        """One line per policy: makespan, against the bound, idle worker-seconds."""
        idle = self.idle()
        lines = [f"{'policy':<10} {'makespan':>10} {'x bound':>8} {'idle':>10}"]
        for name, m in self.makespans.items():
            if m is None:
                lines.append(f"{name:<10} {'unfinished':>10}")
                continue
            lines.append(f"{name:<10} {m:>8.1f} s {m / self.bound:>8.2f} "
                         f"{idle[name]:>8.0f} s")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n} {'unfinished' if m is None else f'{m:.0f} s'}"
                          for n, m in self.makespans.items())
        return f"<PolicyComparison {parts}; bound {self.bound:.0f} s>"

    def plot(self, *, rounds: bool = True) -> Any:
        """One Gantt chart per policy, on one time axis, the bound dashed.

        Args:
            rounds: mark the moments when every worker was idle at once
                (the barriers), as thin purple lines.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, MOMENT_COLOUR, TARGET_COLOUR, describe, style_axes

        names = list(self.runs)
        workers = next(iter(self.runs.values())).workers
        height = len(names) * (0.22 * len(workers) + 0.75) + 0.8
        fig = new_figure(8.5, height)
        axes = fig.subplots(len(names), 1, sharex=True)
        axes = [axes] if len(names) == 1 else list(axes)
        end = max((m for m in self.makespans.values() if m is not None), default=1.0)
        labels = [f"{w} ({s:g}x)" for w, s in zip(workers, self.speeds, strict=True)]
        for ax, name in zip(axes, names, strict=True):
            run = self.runs[name]
            rows = {w: i for i, w in enumerate(workers)}
            for worker, _task, start, stop in run.history:
                ax.broken_barh([(start, stop - start)], (rows[worker] - 0.4, 0.8),
                               facecolors="#2b6cb0", edgecolor="white", linewidth=0.5)
            for worker, t in run.kills.items():
                ax.plot([t], [rows[worker]], "x", color="#c0392b", markersize=8, mew=2)
            if rounds:
                for a, _b in idle_gaps(run):
                    ax.axvline(a, color=MOMENT_COLOUR, linewidth=0.6, alpha=0.7)
            ax.axvline(self.bound, color=TARGET_COLOUR, linestyle="--", linewidth=1.2)
            ax.set_yticks(range(len(workers)), labels)
            ax.set_ylim(len(workers) - 0.4, -0.6)
            m = run.makespan
            style_axes(ax, title=f"{name}: " + ("did not finish" if m is None else
                                                f"makespan {m:,.0f} s "
                                                f"({m / self.bound:.2f} x the bound)"))
            ax.title.set_fontsize(FONT["label"])
            ax.title.set_horizontalalignment("left")
            ax.title.set_position((0.0, 1.0))
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=TARGET_COLOUR, linestyle="--", lw=1.2,
                          label=f"bound {self.bound:,.0f} s")]
        if rounds and any(idle_gaps(r) for r in self.runs.values()):
            handles.append(Line2D([], [], color=MOMENT_COLOUR, lw=0.8,
                                  label="all workers idle"))
        if any(r.kills for r in self.runs.values()):
            handles.append(Line2D([], [], color="#c0392b", marker="x", lw=0, mew=2,
                                  label="crash"))
        axes[0].legend(handles=handles, fontsize=FONT["legend"], loc="upper left",
                       bbox_to_anchor=(1.0, 1.0), frameon=False)
        style_axes(axes[-1], xlabel="time (s)")
        axes[-1].set_xlim(0, end * 1.02)
        alt = (f"Gantt charts of the same {self.job.tasks}-task job on {len(workers)} workers "
               f"(speeds {', '.join(f'{s:g}' for s in self.speeds)}), one per policy: "
               + "; ".join(f"{n} {'did not finish' if m is None else f'{m:.0f} s'}"
                           for n, m in self.makespans.items())
               + f". A dashed line marks the bound, {self.bound:.0f} s")
        kills = next(iter(self.runs.values())).kills
        if kills:
            alt += "; crosses mark the crash of " + ", ".join(
                f"{w} at {t:g} s" for w, t in kills.items())
        return describe(fig, alt + ".")


def compare_policies(job: Job, policies: Sequence[str] | Mapping[str, str | Policy] = (
        "static", "greedy", "stealing", "barrier"), *,
        speeds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        kill: Mapping[str, float] | None = None, network: NetworkModel | None = None,
        seed: int = 0) -> PolicyComparison:
    """Run ``job`` once per policy on the same cluster and collect the runs.

    Args:
        job: the job.
        policies: policy names, or ``{label: name or function}``.
        speeds: one speed per worker (``worker-1``, ``worker-2``...).
        kill: ``{worker: time}``: the same crash in every run (heartbeats
            and a timeout detector are then on).
        network: the network; a quiet LAN by default.
        seed: the same seed for every run.

    Returns:
        a :class:`PolicyComparison`.
    """
    chosen = dict(policies) if isinstance(policies, Mapping) else {p: p for p in policies}
    if not chosen:
        raise Invalid("compare_policies needs at least one policy, e.g. ['greedy', 'static']")
    speeds = tuple(float(s) for s in speeds)
    bound = makespan_bound(job, speeds)
    runs = {label: run_job(job, workers=len(speeds), speeds=speeds, policy=policy,
                           kill=kill, network=network, seed=seed)
            for label, policy in chosen.items()}
    return PolicyComparison(job, speeds, runs, bound)
