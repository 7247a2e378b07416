"""The scheduling queue: which pod is tried when.

Upstream: pkg/scheduler/backend/queue/scheduling_queue.go. Pods wait in the
*active queue* until the scheduler takes them one at a time. A pod that fit
nowhere waits among the *unschedulable pods* until something in the cluster
changes that could make it fit (a node is added or changes, a pod goes away),
and at least its back-off (1 s, doubling up to 10 s), or at most 5 minutes.
Every pod has priority 0 in the simulator, so PrioritySort orders by arrival:
the active queue is first in, first out.

Example:
    >>> import simpy
    >>> env = simpy.Environment()
    >>> q = SchedulingQueue(env)
    >>> q.add("/registry/pods/default/a"); q.add("/registry/pods/default/a")
    >>> len(q.active), q.pop()
    (1, '/registry/pods/default/a')
    >>> q.failed("/registry/pods/default/a"), q.failed("/registry/pods/default/a")
    (1.0, 2.0)
"""

from __future__ import annotations

from collections import deque

import simpy

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
        self.active: deque[str] = deque()
        self._queued: set[str] = set()
        #: key -> (failed at, back-off) of pods waiting for a cluster change.
        self.unschedulable: dict[str, tuple[float, float]] = {}
        #: key -> failed attempts in a row (the back-off doubles with each).
        self.attempts: dict[str, int] = {}
        self.wake = env.event()

    def add(self, key: str) -> None:
        """Put a pod in the active queue (once)."""
        if key in self._queued:
            return
        self._queued.add(key)
        self.active.append(key)
        if not self.wake.triggered:
            self.wake.succeed()

    def pop(self) -> str:
        """Take the next pod from the active queue."""
        key = self.active.popleft()
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
        self.unschedulable[key] = (now, backoff)
        self.env.process(self._flush_later(key, now))
        return backoff

    def scheduled(self, key: str) -> None:
        """A pod was bound: forget its failed attempts."""
        self.attempts.pop(key, None)

    def forget(self, key: str) -> None:
        """A pod is gone or finished: drop it from the unschedulable pods."""
        self.unschedulable.pop(key, None)
        self.attempts.pop(key, None)

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
