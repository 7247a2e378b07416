"""What every simulated controller shares: a work queue and a sync loop.

A Kubernetes controller watches objects, puts the keys of changed ones in a
work queue, and *reconciles* each key: it compares the desired state with
the actual state and acts to close the gap. Keys are de-duplicated while
they wait, so a burst of changes to one object costs one sync.

Example:
    >>> import simpy
    >>> from labsupport.sim.controllers.base import Controller
    >>> class Echo(Controller):
    ...     name = "echo"
    ...     def sync(self, key):
    ...         seen.append((self.env.now, key))
    >>> seen = []
    >>> env = simpy.Environment()
    >>> ctl = Echo(env)
    >>> ctl.enqueue("a"); ctl.enqueue("a"); ctl.enqueue("b", delay=5)
    >>> env.run(until=10)
    >>> seen
    [(0.01, 'a'), (5.01, 'b')]
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import simpy

from labsupport.errors import LabSupportError

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["Controller", "SimController"]


class Controller:
    """Base of the simulated controllers.

    Subclasses set :attr:`name` (the component name shown in events) and
    implement :meth:`sync`.

    Args:
        env: the simulation environment.
        latency: virtual seconds between a change and the sync it causes
            (watch delivery and queueing in a real controller manager).
    """

    name = "controller"
    #: Seconds before a failed sync is tried again.
    retry_delay = 5.0

    def __init__(self, env: simpy.Environment, latency: float = 0.01) -> None:
        self.env = env
        self.latency = latency
        self._queue: dict[Hashable, None] = {}
        #: (time, key, message) of syncs that failed and were retried.
        self.errors: list[tuple[float, Hashable, str]] = []
        self._wake = env.event()
        self._proc = env.process(self._loop())

    def enqueue(self, key: Hashable, delay: float = 0.0) -> None:
        """Ask for ``key`` to be synced (after ``delay`` seconds)."""
        if delay > 0:
            self.env.process(self._later(key, delay))
            return
        if key in self._queue:
            return
        self._queue[key] = None
        if not self._wake.triggered:
            self._wake.succeed()

    def _later(self, key: Hashable, delay: float):
        yield self.env.timeout(delay)
        self.enqueue(key)

    def _loop(self):
        while True:
            if not self._queue:
                self._wake = self.env.event()
                yield self._wake
            yield self.env.timeout(self.latency)
            batch, self._queue = self._queue, {}
            for key in self.order(list(batch)):
                try:
                    self.sync(key)
                except LabSupportError as err:
                    # A real controller logs the error and retries with back-off.
                    self.errors.append((self.env.now, key, str(err)))
                    self.enqueue(key, delay=self.retry_delay)

    def order(self, keys: list[Hashable]) -> list[Hashable]:
        """The order in which one batch of keys is synced (default: as queued)."""
        return keys

    def sync(self, key: Hashable) -> None:  # pragma: no cover - abstract
        """Reconcile one object."""
        raise NotImplementedError


class SimController(Controller):
    """A controller of a :class:`SimCluster`: it reads ``self.sim`` and writes via ``self.api``."""

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim.env)
        self.sim = sim
        self.api = sim.api
