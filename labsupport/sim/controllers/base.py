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
from labsupport.kinds import type_for_kind

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["Controller", "SimController", "owner_key", "routes"]


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
    """A controller of a :class:`SimCluster`: it reads ``self.sim`` and writes via ``self.api``.

    Like a controller of kube-controller-manager, which sets up its informers
    in its constructor, each declares what it hears: :attr:`kind` (what it
    reconciles), :attr:`watches` (every kind whose changes reach it) and
    :attr:`owns` (the kinds it creates with a controller ``ownerReference``
    to its objects). :class:`SimCluster` routes store events from these
    declarations alone (:func:`routes`):

    - an object of :attr:`kind` changed: :meth:`changed` (queues its key);
    - an object of a kind in :attr:`owns`, controlled by a :attr:`kind`,
      changed: :meth:`owned_changed` (queues the owner's key);
    - an object of any other watched kind changed: :meth:`watched`.
    """

    #: The kind this controller reconciles (None: it reconciles no stored kind).
    kind: str | None = None
    #: The kinds whose changes reach this controller.
    watches: tuple[str, ...] = ()
    #: The kinds it creates with a controller ownerReference to its objects.
    owns: tuple[str, ...] = ()

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim.env)
        self.sim = sim
        self.api = sim.api

    def changed(self, ev: WatchEvent) -> None:
        """An object of :attr:`kind` changed: queue its key."""
        self.enqueue(ev.key)

    def owned_changed(self, ev: WatchEvent, owner: dict) -> None:
        """An object this controller's ``owner`` (a controller reference) owns changed."""
        self.enqueue(owner_key(owner, ev.object["metadata"].get("namespace")))

    def watched(self, ev: WatchEvent, owner: dict | None) -> None:  # pragma: no cover
        """An object of another watched kind changed (``owner``: its controller reference)."""
        raise NotImplementedError(f"{type(self).__name__} watches {ev.object['kind']} "
                                  "but does not say what to do with it")


def owner_key(owner: dict, namespace: str | None) -> str:
    """The store key of the object an ownerReference names (plural from :mod:`labsupport.kinds`).

    Example:
        >>> owner_key({"kind": "ReplicationController", "name": "web"}, "default")
        '/registry/controllers/default/web'
        >>> owner_key({"kind": "CronJob", "name": "tick"}, "default")
        '/registry/cronjobs/default/tick'
    """
    rt = type_for_kind(owner["kind"])
    if rt.namespaced and namespace:
        return f"/registry/{rt.registry}/{namespace}/{owner['name']}"
    return f"/registry/{rt.registry}/{owner['name']}"


Route = tuple[dict, dict, dict]


def routes(controllers: list[SimController] | tuple[SimController, ...]) -> Route:
    """Three routing tables built from the controllers' declarations.

    Returns:
        ``(own, owned, other)``: kind -> controllers reconciling it;
        (kind, owner kind) -> controllers owning it; kind -> controllers
        watching it otherwise. Each list keeps the controllers' order.

    Raises:
        LabSupportError: a controller owns a kind it does not watch.

    Example:
        >>> class Pods(SimController):
        ...     kind, watches, owns = "ReplicaSet", ("ReplicaSet", "Pod"), ("Pod",)
        >>> own, owned, other = routes([Pods.__new__(Pods)])
        >>> sorted(own), sorted(owned), other
        (['ReplicaSet'], [('Pod', 'ReplicaSet')], {})
    """
    own: dict[str, list] = {}
    owned: dict[tuple[str, str], list] = {}
    other: dict[str, list] = {}
    for ctl in controllers:
        for k in ctl.owns:
            if k not in ctl.watches:
                raise LabSupportError(f"{type(ctl).__name__} owns {k} but does not watch it")
        for k in ctl.watches:
            if k == ctl.kind:
                own.setdefault(k, []).append(ctl)
            elif k in ctl.owns and ctl.kind is not None:
                owned.setdefault((k, ctl.kind), []).append(ctl)
            else:
                other.setdefault(k, []).append(ctl)
    return own, owned, other
