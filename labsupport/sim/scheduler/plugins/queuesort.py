"""PrioritySort: the order of the scheduling queue (higher priority first, then older).

Upstream: pkg/scheduler/framework/plugins/queuesort/priority_sort.go ``Less``:
pod A goes before pod B when A's ``spec.priority`` is higher, or when they are
equal and A entered the queue first (``QueuedPodInfo.Timestamp``: when the pod
was added, or when its last attempt failed).
:class:`~labsupport.sim.scheduler.queue.SchedulingQueue` keeps its active
queue in this order, with :meth:`PrioritySort.sort_key`.

Example:
    >>> from labsupport.sim.scheduler.plugins.queuesort import PrioritySort, QueuedPod
    >>> low, high = QueuedPod("default/a", 0, 1.0), QueuedPod("default/b", 10, 2.0)
    >>> PrioritySort().less(high, low), PrioritySort().less(low, high)
    (True, False)
"""

from __future__ import annotations

from typing import NamedTuple

from labsupport.sim.scheduler.framework import QUEUE_SORT, Plugin

__all__ = ["PrioritySort", "QueuedPod", "NAME"]

NAME = "PrioritySort"


class QueuedPod(NamedTuple):
    """What the queue knows of a waiting pod (``QueuedPodInfo``)."""

    key: str
    priority: int
    timestamp: float


class PrioritySort(Plugin):
    """QueueSort: higher ``spec.priority`` first; equal ones by queue timestamp."""

    name = NAME
    extension_points = (QUEUE_SORT,)
    upstream = "pkg/scheduler/framework/plugins/queuesort"

    def less(self, a: QueuedPod, b: QueuedPod) -> bool:
        """Whether pod ``a`` goes before pod ``b``."""
        return self.sort_key(a) < self.sort_key(b)

    @staticmethod
    def sort_key(pod: QueuedPod) -> tuple[int, float]:
        """A key that sorts pods in ``less`` order (for a heap)."""
        return (-pod.priority, pod.timestamp)
