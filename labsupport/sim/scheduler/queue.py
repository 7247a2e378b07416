"""The scheduling queue: which pod is tried when.

Upstream: pkg/scheduler/backend/queue/scheduling_queue.go. Pods wait in the
*active queue* until the scheduler takes them one at a time, highest
``spec.priority`` first and, among equals, the one that entered the queue
first (PrioritySort, :mod:`.plugins.queuesort`; the active queue is a heap).
A pod that fit nowhere waits among the *unschedulable pods* until something
in the cluster changes that could make it fit (a node is added or changes, a
pod goes away), and at least its back-off (1 s, doubling up to 10 s), or at
most 5 minutes. Its queue timestamp is then the time it failed.

Example:
    >>> import simpy
    >>> env = simpy.Environment()
    >>> q = SchedulingQueue(env)
    >>> q.add("default/low"); q.add("default/high", priority=1000); q.add("default/low")
    >>> len(q.active), q.pop(), q.pop()
    (2, 'default/high', 'default/low')
    >>> q.failed("default/low"), q.failed("default/low")
    (1.0, 2.0)
"""

from __future__ import annotations

import heapq
import itertools

import simpy

from labsupport.sim.scheduler.plugins.queuesort import PrioritySort, QueuedPod

__all__ = ["SchedulingQueue", "INITIAL_BACKOFF", "MAX_BACKOFF", "MAX_UNSCHEDULABLE_SECONDS"]

# scheduling_queue.go: podInitialBackoffDuration 1 s, podMaxBackoffDuration 10 s,
# podMaxInUnschedulablePodsDuration 5 min.
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE_SECONDS = 300.0


class SchedulingQueue:
    """The active queue, the unschedulable pods and their back-offs, by pod key."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        #: The active queue: a heap of (PrioritySort key, arrival number, key).
        self.active: list[tuple[tuple[int, float], int, str]] = []
        self._queued: set[str] = set()
        self._arrivals = itertools.count()
        #: key -> spec.priority of every pod the queue has seen.
        self.priority: dict[str, int] = {}
        #: key -> when the pod entered the queue or last failed (QueuedPodInfo.Timestamp).
        self.timestamp: dict[str, float] = {}
        #: key -> (failed at, back-off) of pods waiting for a cluster change.
        self.unschedulable: dict[str, tuple[float, float]] = {}
        #: key -> failed attempts in a row (the back-off doubles with each).
        self.attempts: dict[str, int] = {}
        self.wake = env.event()

    def add(self, key: str, priority: int | None = None) -> None:
        """Put a pod in the active queue (once); ``priority`` is its ``spec.priority``."""
        if priority is not None:
            self.priority[key] = priority
        if key in self._queued:
            return
        self._queued.add(key)
        stamp = self.timestamp.setdefault(key, self.env.now)
        pod = QueuedPod(key, self.priority.get(key, 0), stamp)
        heapq.heappush(self.active, (PrioritySort.sort_key(pod), next(self._arrivals), key))
        if not self.wake.triggered:
            self.wake.succeed()

    def pop(self) -> str:
        """Take the next pod from the active queue (PrioritySort order)."""
        key = heapq.heappop(self.active)[2]
        self._queued.discard(key)
        return key

    def wait(self) -> simpy.Event:
        """An event that fires when a pod is added to an empty queue."""
        self.wake = self.env.event()
        return self.wake

    def failed(self, key: str) -> float:
        """A pod fit nowhere: park it among the unschedulable pods; its back-off."""
        attempts = self.attempts[key] = self.attempts.get(key, 0) + 1
        backoff = min(INITIAL_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
        now = self.env.now
        self.timestamp[key] = now
        self.unschedulable[key] = (now, backoff)
        self.env.process(self._flush_later(key, now))
        return backoff

    def scheduled(self, key: str) -> None:
        """A pod was bound: forget its failed attempts."""
        self.attempts.pop(key, None)
        self.timestamp.pop(key, None)
        self.priority.pop(key, None)

    def forget(self, key: str) -> None:
        """A pod is gone or finished: drop it from the unschedulable pods."""
        self.unschedulable.pop(key, None)
        self.attempts.pop(key, None)
        self.timestamp.pop(key, None)
        self.priority.pop(key, None)

    def cluster_changed(self) -> None:
        """Move every unschedulable pod back, each after the rest of its back-off."""
        if not self.unschedulable:
            return
        now = self.env.now
        for key, (failed, backoff) in list(self.unschedulable.items()):
            del self.unschedulable[key]
            wait = failed + backoff - now
            if wait > 0:
                self.env.process(self._add_later(key, wait))
            else:
                self.add(key)

    def _add_later(self, key: str, wait: float):
        yield self.env.timeout(wait)
        self.add(key)

    def _flush_later(self, key: str, failed: float):
        # flushUnschedulablePodsLeftover: at most 5 minutes among the unschedulable.
        yield self.env.timeout(MAX_UNSCHEDULABLE_SECONDS)
        entry = self.unschedulable.get(key)
        if entry is not None and entry[0] == failed:
            del self.unschedulable[key]
            self.add(key)
