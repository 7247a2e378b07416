"""Two more assignment policies: rounds with a barrier, and dealing out with work stealing.

:mod:`labsupport.dc.leader` has the two simplest policies, ``greedy`` (a task
to whoever is idle) and ``static`` (deal everything out at the start). This
module adds two that show what coordination costs and what it buys:

- :func:`barrier`: the job runs in *rounds*. The lead hands one task to each
  worker and waits until **every** result is back before it starts the next
  round, as a training step waits for all gradients. Every worker waits for
  the slowest one, every round.
- :func:`stealing`: deal everything out at the start like ``static``, but a
  worker that runs out of work *steals*: the lead asks the busiest worker to
  give back a task it has not started, and hands it to the idle one. Work
  moves only when someone is idle, so it costs few messages.

A policy is a function ``policy(pending, load) -> [(task, worker), ...]``; the
stealing itself is done by the lead node, which steals for any policy
that has the attribute ``steals = True``.

Example:
    >>> from labsupport.dc.job import Task
    >>> tasks = [Task(i, 1.0) for i in range(5)]
    >>> [(t.id, w) for t, w in barrier(tasks, {"a": 0, "b": 0})]
    [(0, 'a'), (1, 'b')]
    >>> barrier(tasks, {"a": 0, "b": 1})          # b is still busy: everyone waits
    []
    >>> [(t.id, w) for t, w in stealing(tasks, {"a": 0, "b": 0})]
    [(0, 'a'), (1, 'b'), (2, 'a'), (3, 'b'), (4, 'a')]
    >>> stealing.steals
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labsupport.dc.job import Task

__all__ = ["barrier", "stealing"]


def barrier(pending: Sequence[Task], load: Mapping[str, int]) -> list[tuple[Task, str]]:
    """Start a round only when every worker is idle: one task each, then wait for all."""
    if not load or any(n for n in load.values()):
        return []
    return list(zip(pending, load, strict=False))


def _stealing(pending: Sequence[Task], load: Mapping[str, int]) -> list[tuple[Task, str]]:
    """Deal every pending task out round robin; idle workers later steal queued tasks."""
    workers = list(load)
    if not workers:
        return []
    return [(task, workers[i % len(workers)]) for i, task in enumerate(pending)]


_stealing.steals = True  # type: ignore[attr-defined]
_stealing.__name__ = "stealing"
_stealing.__qualname__ = "stealing"
stealing = _stealing
