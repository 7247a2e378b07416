"""A job: a serial part the lead node runs alone, and a parallel part split into tasks.

Every distributed job has some work that only one machine can do (read the
configuration, prepare the data, merge the results) and some work that can be
cut into independent pieces. :class:`Job` keeps the two apart, because their
ratio decides how much faster more machines can make the job (Amdahl's law).

Times are seconds of work on a machine of speed 1.

Example:
    >>> from labsupport.dc import Job
    >>> job = Job.training(hours=10, parallel_fraction=0.99, tasks=100)
    >>> job
    <Job training: 10.0 h of work, 99% parallel in 100 tasks, transfer 0 s per task>
    >>> job.serial_work, round(job.task_work, 1)
    (360.0, 356.4)
    >>> import math
    >>> math.isclose(sum(t.work for t in job.split(seed=0)), job.parallel_work)
    True
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from labsupport.errors import Invalid

__all__ = ["Job", "Task"]


@dataclass(frozen=True)
class Task:
    """One piece of the parallel part.

    Attributes:
        id: the task number, 0 to ``tasks - 1``.
        work: seconds it takes on a worker of speed 1.
    """

    id: int
    work: float

    def __repr__(self) -> str:
        return f"<Task {self.id}: {self.work:g} s>"


@dataclass(frozen=True)
class Job:
    """A job for the lead node to run on a cluster of workers.

    Attributes:
        work: total seconds the job takes on one machine (serial + parallel).
        parallel_fraction: the share of ``work`` that can run in parallel,
            between 0 and 1 (Amdahl's *p*).
        tasks: how many tasks the parallel part is cut into.
        transfer: seconds the lead node's network link is busy sending one
            task (its input data). The link sends one task at a time, so this
            cost adds up as the number of tasks grows.
        spread: how unequal tasks are: each task's size is scaled by a random
            factor between ``1 - spread`` and ``1 + spread`` (then all are
            rescaled so the parallel work stays the same). 0 means equal tasks.
        name: a label for tables and pictures.
    """

    work: float = 3600.0
    parallel_fraction: float = 0.95
    tasks: int = 100
    transfer: float = 0.0
    spread: float = 0.0
    name: str = "job"

    def __post_init__(self) -> None:
        if not _finite(self.work) or self.work <= 0:
            raise Invalid(f"Job work must be a positive number of seconds, got {self.work!r}")
        if not _finite(self.parallel_fraction) or not 0 <= self.parallel_fraction <= 1:
            raise Invalid("Job parallel_fraction must be between 0 and 1 "
                          f"(0.95 means 95% of the work can run in parallel), "
                          f"got {self.parallel_fraction!r}")
        if isinstance(self.tasks, bool) or not isinstance(self.tasks, int) or self.tasks < 1:
            raise Invalid(f"Job tasks must be a whole number of at least 1, got {self.tasks!r}")
        if not _finite(self.transfer) or self.transfer < 0:
            raise Invalid(f"Job transfer must be 0 or more seconds per task, got {self.transfer!r}")
        if not _finite(self.spread) or not 0 <= self.spread < 1:
            raise Invalid(f"Job spread must be at least 0 and below 1, got {self.spread!r}")

    @classmethod
    def training(cls, hours: float = 10.0, *, parallel_fraction: float = 0.99,
                 tasks: int = 200, transfer: float = 0.0, spread: float = 0.0) -> Job:
        """The course's running example: training a model that takes ``hours`` on one machine.

        Example:
            >>> Job.training(hours=1, parallel_fraction=0.9, tasks=10).serial_work
            360.0
        """
        return cls(work=hours * 3600.0, parallel_fraction=parallel_fraction, tasks=tasks,
                   transfer=transfer, spread=spread, name="training")

    @property
    def serial_work(self) -> float:
        """Seconds of work only the lead node can do."""
        return round(self.work - self.parallel_work, 9)

    @property
    def parallel_work(self) -> float:
        """Seconds of work that can be spread over workers."""
        return round(self.work * self.parallel_fraction, 9)

    @property
    def task_work(self) -> float:
        """Average seconds of work per task."""
        return self.parallel_work / self.tasks

    @property
    def hours(self) -> float:
        """The job's single-machine time in hours."""
        return self.work / 3600.0

    def scaled(self, factor: float) -> Job:
        """The same job with its parallel part ``factor`` times bigger (Gustafson's view).

        With more machines people usually solve a bigger problem in the same
        time rather than the same problem faster; the serial part stays.

        Example:
            >>> j = Job(work=100, parallel_fraction=0.9, tasks=10).scaled(4)
            >>> j.serial_work, j.parallel_work, j.tasks
            (10.0, 360.0, 40)
        """
        if not _finite(factor) or factor <= 0:
            raise Invalid(f"scale factor must be positive, got {factor!r}")
        parallel = self.parallel_work * factor
        work = self.serial_work + parallel
        return replace(self, work=work, parallel_fraction=parallel / work if work else 0.0,
                       tasks=max(1, round(self.tasks * factor)))

    def split(self, seed: int = 0) -> list[Task]:
        """Cut the parallel part into tasks (the same tasks for the same seed).

        Example:
            >>> [t.work for t in Job(work=100, parallel_fraction=0.5, tasks=2).split()]
            [25.0, 25.0]
        """
        if self.spread == 0:
            return [Task(i, self.task_work) for i in range(self.tasks)]
        rng = random.Random(f"{seed}:tasks")
        factors = [1.0 + rng.uniform(-self.spread, self.spread) for _ in range(self.tasks)]
        scale = self.parallel_work / sum(factors)
        return [Task(i, f * scale) for i, f in enumerate(factors)]

    def __repr__(self) -> str:
        return (f"<Job {self.name}: {self.hours:.1f} h of work, "
                f"{self.parallel_fraction:.0%} parallel in {self.tasks} tasks, "
                f"transfer {self.transfer:g} s per task>")


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
