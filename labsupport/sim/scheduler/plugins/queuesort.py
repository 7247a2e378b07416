"""PrioritySort: the order of the scheduling queue (higher priority first, then older).

Upstream: pkg/scheduler/framework/plugins/queuesort/priority_sort.go ``Less``.
The simulator has no PriorityClasses yet, so every pod has priority 0 and
the order is by arrival: :class:`~labsupport.sim.scheduler.queue.SchedulingQueue`
is first in, first out.

Example:
    >>> from labsupport.sim.scheduler.plugins.queuesort import PrioritySort
    >>> a = {"spec": {"priority": 0}, "metadata": {"creationTimestamp": "2026-01-01T00:00:01Z"}}
    >>> b = {"spec": {"priority": 10}, "metadata": {"creationTimestamp": "2026-01-01T00:00:02Z"}}
    >>> PrioritySort().less(b, a), PrioritySort().less(a, b)
    (True, False)
"""

from __future__ import annotations

from labsupport.sim.scheduler.framework import QUEUE_SORT, Plugin

__all__ = ["PrioritySort", "NAME"]

NAME = "PrioritySort"


class PrioritySort(Plugin):
    """QueueSort: higher ``spec.priority`` first; equal ones by arrival."""

    name = NAME
    extension_points = (QUEUE_SORT,)
    upstream = "pkg/scheduler/framework/plugins/queuesort"

    def less(self, a: dict, b: dict) -> bool:
        """Whether pod ``a`` goes before pod ``b``."""
        pa = (a.get("spec") or {}).get("priority") or 0
        pb = (b.get("spec") or {}).get("priority") or 0
        if pa != pb:
            return pa > pb
        ta = (a.get("metadata") or {}).get("creationTimestamp") or ""
        tb = (b.get("metadata") or {}).get("creationTimestamp") or ""
        return ta < tb
