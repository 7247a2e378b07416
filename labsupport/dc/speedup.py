"""Speed-up: how much faster does a job get with more workers?

*Speed-up* on ``n`` workers is the time on one worker divided by the time on
``n``. Two laws predict it from the job's parallel fraction ``p``:

- **Amdahl** (the same job, more workers): ``1 / ((1 - p) + p / n)``. The
  serial part never shrinks, so the speed-up can never pass ``1 / (1 - p)``.
- **Gustafson** (a bigger job, more workers, the same time):
  ``(1 - p) + p * n``. The serial part stays the same while the parallel part
  grows with the cluster.

:func:`speedup_curve` measures the real thing on the simulator, where tasks
also pay for communication, and puts it beside both predictions.

Example:
    >>> round(amdahl(0.99, 10), 2), round(amdahl(0.99, 1_000_000), 1)
    (9.17, 100.0)
    >>> gustafson(0.99, 10)
    9.91
    >>> round(karp_flatt(9.0, 10), 4)     # the serial fraction a measurement implies
    0.0123
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from labsupport.dc.job import Job
from labsupport.dc.run import run_job
from labsupport.errors import Invalid

__all__ = ["amdahl", "gustafson", "karp_flatt", "SpeedupPoint", "SpeedupCurve", "speedup_curve"]


def _check(parallel_fraction: float, workers: float) -> None:
    if not isinstance(parallel_fraction, (int, float)) or not 0 <= parallel_fraction <= 1:
        raise Invalid(f"parallel_fraction must be between 0 and 1, got {parallel_fraction!r}")
    if not isinstance(workers, (int, float)) or not workers >= 1:
        raise Invalid(f"workers must be 1 or more, got {workers!r}")


def amdahl(parallel_fraction: float, workers: float) -> float:
    """Amdahl's law: the speed-up of a fixed job on ``workers`` workers.

    Example:
        >>> amdahl(0.5, 2)      # half the work halves, the other half stays
        1.3333333333333333
    """
    _check(parallel_fraction, workers)
    return 1.0 / ((1.0 - parallel_fraction) + parallel_fraction / workers)


def gustafson(parallel_fraction: float, workers: float) -> float:
    """Gustafson's law: the scaled speed-up when the job grows with the cluster.

    Here ``parallel_fraction`` is the parallel share of the time on the
    ``workers``-worker cluster.

    Example:
        >>> gustafson(0.5, 2)
        1.5
    """
    _check(parallel_fraction, workers)
    return (1.0 - parallel_fraction) + parallel_fraction * workers


def karp_flatt(speedup: float, workers: float) -> float:
    """The serial fraction a measured speed-up implies (the Karp-Flatt metric).

    If Amdahl's law held exactly this would equal ``1 - p``. When it comes out
    larger and grows with ``workers``, something else (communication, waiting)
    acts like extra serial work.

    Example:
        >>> round(karp_flatt(amdahl(0.9, 8), 8), 6)
        0.1
    """
    if not isinstance(workers, (int, float)) or not workers > 1:
        raise Invalid(f"karp_flatt needs more than 1 worker, got {workers!r}")
    if not isinstance(speedup, (int, float)) or not speedup > 0:
        raise Invalid(f"speedup must be positive, got {speedup!r}")
    return (1.0 / speedup - 1.0 / workers) / (1.0 - 1.0 / workers)


@dataclass(frozen=True)
class SpeedupPoint:
    """One row of a speed-up curve.

    Attributes:
        workers: number of workers.
        makespan: measured seconds on that many workers.
        speedup: measured time on 1 worker / time on ``workers``.
        amdahl: Amdahl's prediction.
        gustafson: Gustafson's prediction (for the scaled job).
    """

    workers: int
    makespan: float
    speedup: float
    amdahl: float
    gustafson: float

    @property
    def efficiency(self) -> float:
        """Speed-up per worker: 1.0 means no worker ever waits."""
        return self.speedup / self.workers


@dataclass(frozen=True)
class SpeedupCurve:
    """Measured speed-up against Amdahl's and Gustafson's predictions.

    Attributes:
        job: the job measured (the 1-worker version when ``scaled``).
        points: one :class:`SpeedupPoint` per number of workers.
        scaled: True when the job grew with the number of workers.
    """

    job: Job
    points: tuple[SpeedupPoint, ...]
    scaled: bool = False

    def __repr__(self) -> str:
        kind = "scaled (Gustafson)" if self.scaled else "fixed job (Amdahl)"
        lines = [f"speed-up of {self.job!r}, {kind}",
                 "workers  makespan (s)  measured  Amdahl  Gustafson  efficiency"]
        for p in self.points:
            lines.append(f"{p.workers:>7d}  {p.makespan:>12,.1f}  {p.speedup:>8.2f}  "
                         f"{p.amdahl:>6.2f}  {p.gustafson:>9.2f}  {p.efficiency:>10.0%}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("workers", "makespan", "measured speed-up",
                                                 "Amdahl", "Gustafson", "efficiency"))
        body = "".join(
            f"<tr><td>{p.workers}</td><td>{p.makespan:,.1f} s</td><td>{p.speedup:.2f}</td>"
            f"<td>{p.amdahl:.2f}</td><td>{p.gustafson:.2f}</td><td>{p.efficiency:.0%}</td></tr>"
            for p in self.points)
        return (f"<p>{html.escape(repr(self.job))}</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def plot(self) -> Any:
        """Draw the measured speed-up against the ideal, Amdahl's and Gustafson's.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe, style_axes

        fig = new_figure(7.0, 4.4)
        ax = fig.add_subplot()
        n = [p.workers for p in self.points]
        ax.plot(n, n, ":", color="grey", label="ideal (n)")
        ax.plot(n, [p.amdahl for p in self.points], "--", color="#2b6cb0", label="Amdahl")
        ax.plot(n, [p.gustafson for p in self.points], "-.", color="#b7791f",
                label="Gustafson")
        ax.plot(n, [p.speedup for p in self.points], "o-", color="black", label="measured")
        style_axes(ax, xlabel="workers", ylabel="speed-up",
                   title="speed-up, scaled job" if self.scaled else "speed-up, fixed job")
        ax.legend(fontsize=FONT["legend"])
        alt = (f"Speed-up of the {'scaled' if self.scaled else 'fixed'} job against the number "
               "of workers, "
               + ", ".join(f"{p.workers} workers: measured {p.speedup:.2f}, Amdahl "
                           f"{p.amdahl:.2f}" for p in self.points))
        return describe(fig, alt + ".")


def speedup_curve(job: Job, workers: Iterable[int] = (1, 2, 4, 8, 16), *, seed: int = 0,
                  scaled: bool = False, **run_options: Any) -> SpeedupCurve:
    """Measure the speed-up of ``job`` on the simulator for each number of workers.

    Args:
        job: the job.
        workers: the cluster sizes to try.
        seed: passed to every run.
        scaled: False keeps the job fixed (Amdahl's question); True grows its
            parallel part with the cluster (Gustafson's question).
        **run_options: passed to :func:`~labsupport.dc.run.run_job`
            (``network``, ``policy``...).

    Example:
        >>> curve = speedup_curve(Job(work=1000, parallel_fraction=0.9, tasks=40), [1, 4])
        >>> [(p.workers, round(p.speedup, 2), round(p.amdahl, 2)) for p in curve.points]
        [(1, 1.0, 1.0), (4, 3.08, 3.08)]
    """
    sizes = sorted(set(int(n) for n in workers))
    if not sizes or sizes[0] < 1:
        raise Invalid(f"workers must be positive whole numbers, got {sizes}")
    base = run_job(job, 1, seed=seed, **run_options).makespan
    points = []
    for n in sizes:
        this = job.scaled(n) if scaled else job
        one = base if not scaled else run_job(this, 1, seed=seed, **run_options).makespan
        span = base if (n == 1 and not scaled) else run_job(this, n, seed=seed,
                                                            **run_options).makespan
        if one is None or span is None:
            raise Invalid(f"the job did not finish on {n} worker(s); give it more time")
        # The scaled job keeps each worker's share, so on n workers its
        # parallel share of the time is the original job's p (Gustafson's p).
        points.append(SpeedupPoint(n, span, one / span, amdahl(job.parallel_fraction, n),
                                   gustafson(job.parallel_fraction, n)))
    return SpeedupCurve(job, tuple(points), scaled)

