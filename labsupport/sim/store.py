"""An etcd-like key-value store: revisions, keys under /registry, and watches.

Kubernetes keeps every object in etcd under a key such as
``/registry/pods/default/web-7f9c-x2``. Every write gets the next number of
one cluster-wide counter, the *revision*; an object's ``resourceVersion`` is
the revision of its last write. A client can *watch* a key prefix from a
revision and receive every change after it, until old history is compacted,
after which etcd answers "410 Gone" and the client must list again.

Example:
from labsupport.sim.store import Store
    >>> s = Store()
    >>> s.put("/registry/pods/default/a", {"metadata": {"name": "a"}})
    1
    >>> s.put("/registry/pods/default/b", {"metadata": {"name": "b"}})
    2
    >>> s.keys("/registry/pods/")
    ['/registry/pods/default/a', '/registry/pods/default/b']
    >>> [(e.type, e.key) for e in s.history("/registry/pods/", since=1)]
    [('ADDED', '/registry/pods/default/b')]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import NamedTuple

from labsupport.errors import ResourceExpired
from labsupport.sim.jsoncopy import json_copy

__all__ = ["Store", "WatchEvent", "registry_key"]

Watcher = Callable[["WatchEvent"], None]


def registry_key(resource: str, namespace: str | None, name: str) -> str:
    """The etcd key of an object.

    Example:
        >>> registry_key("deployments", "default", "web")
        '/registry/deployments/default/web'
        >>> registry_key("minions", None, "node-1")
        '/registry/minions/node-1'
    """
    if namespace:
        return f"/registry/{resource}/{namespace}/{name}"
    return f"/registry/{resource}/{name}"


class WatchEvent(NamedTuple):
    """One change: ``type`` is ADDED, MODIFIED or DELETED.

    ``object`` is the object after the change (before it, for DELETED) and
    ``old`` the object before a MODIFIED change (only for live watchers; the
    kept history holds new states only).
    """

    type: str
    key: str
    revision: int
    object: dict
    old: dict | None = None

    def __repr__(self) -> str:
        return f"<WatchEvent {self.revision} {self.type} {self.key}>"


class Store:
    """The simulated etcd.

    Args:
        history: how many changes to keep for watches that resume from a
            revision; older ones are compacted.

    Objects are stored as given (not copied), so writers must hand over a
    new dict for every write and never change a stored one in place; readers
    inside the simulator may share them read-only. :meth:`get` copies for
    people.
    """

    def __init__(self, history: int = 20_000) -> None:
        self.revision = 0
        self._data: dict[str, dict] = {}
        self._tables: dict[str, dict[str, dict]] = {}
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._compacted = 0
        self._watchers: list[tuple[str, Watcher]] = []

    # --- writes -------------------------------------------------------------
    def put(self, key: str, obj: dict) -> int:
        """Create or replace ``key``; return the new revision.

        Sets ``metadata.resourceVersion`` of ``obj`` to the revision.
        """
        self.revision += 1
        rev = self.revision
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(rev)
        old = self._data.get(key)
        self._data[key] = obj
        if old is None:
            self._tables.setdefault(_table(key), {})[key] = obj
            self._emit(WatchEvent("ADDED", key, rev, obj))
        else:
            self._tables[_table(key)][key] = obj
            self._emit(WatchEvent("MODIFIED", key, rev, obj, old))
        return rev

    def delete(self, key: str) -> int | None:
        """Remove ``key``; return the revision, or None when it did not exist."""
        old = self._data.pop(key, None)
        if old is None:
            return None
        self._tables.get(_table(key), {}).pop(key, None)
        self.revision += 1
        self._emit(WatchEvent("DELETED", key, self.revision, old))
        return self.revision

    def _emit(self, event: WatchEvent) -> None:
        history = self._history
        if len(history) == history.maxlen:
            self._compacted = history[0].revision
        # The history keeps the new state only: the old one would double what it holds.
        history.append(
            event
            if event.old is None
            else WatchEvent(event.type, event.key, event.revision, event.object)
        )
        for prefix, fn in self._watchers:
            if event.key.startswith(prefix):
                fn(event)

    # --- reads --------------------------------------------------------------
    def get(self, key: str, *, copy_: bool = True) -> dict | None:
        """The object at ``key`` (a deep copy unless ``copy_=False``), or None."""
        obj = self._data.get(key)
        if obj is None or not copy_:
            return obj
        return json_copy(obj)

    def peek(self, key: str) -> dict | None:
        """The stored object itself, for the simulator's components (read-only)."""
        return self._data.get(key)

    def table(self, resource: str) -> dict[str, dict]:
        """All objects of one resource segment (``"pods"``), keyed by key (read-only)."""
        return self._tables.get(resource, {})

    def keys(self, prefix: str = "/registry/") -> list[str]:
        """Sorted keys under ``prefix``, like ``etcdctl get --prefix --keys-only``."""
        return sorted(k for k in self._data if k.startswith(prefix))

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    # --- watch --------------------------------------------------------------
    @property
    def oldest_revision(self) -> int:
        """The oldest revision a watch can still resume from."""
        return self._compacted

    def history(self, prefix: str = "/registry/", since: int = 0) -> Iterator[WatchEvent]:
        """Changes under ``prefix`` after revision ``since``, oldest first.

        Raises:
            ResourceExpired: ``since`` is older than the kept history (410 Gone).
        """
        if since < self._compacted:
            raise ResourceExpired(since, self._compacted)
        for event in self._history:
            if event.revision > since and event.key.startswith(prefix):
                yield event

    def watch(self, prefix: str, callback: Watcher, since: int | None = None) -> Callable[[], None]:
        """Call ``callback(event)`` for every change under ``prefix``.

        Args:
            prefix: a key prefix such as ``"/registry/pods/"``.
            callback: called synchronously at every matching write.
            since: replay the kept changes after this revision first.

        Returns:
            A function that stops the watch.

        Raises:
            ResourceExpired: ``since`` was compacted away.
        """
        if since is not None:
            for event in list(self.history(prefix, since)):
                callback(event)
        entry = (prefix, callback)
        self._watchers.append(entry)

        def stop() -> None:
            if entry in self._watchers:
                self._watchers.remove(entry)

        return stop

    def compact(self, revision: int | None = None) -> None:
        """Forget the history up to ``revision`` (default: all of it)."""
        revision = self.revision if revision is None else revision
        while self._history and self._history[0].revision <= revision:
            self._history.popleft()
        self._compacted = max(self._compacted, revision)

    def _repr_html_(self) -> str:
        counts: dict[str, int] = {}
        for table, objs in self._tables.items():
            if objs:
                counts[table] = len(objs)
        rows = "".join(
            f"<tr><td>/registry/{t}/</td><td>{n}</td></tr>" for t, n in sorted(counts.items())
        )
        return (
            f"<p>etcd at revision {self.revision}, {len(self._data)} keys</p>"
            f"<table><tr><th>prefix</th><th>keys</th></tr>{rows}</table>"
        )

    def __repr__(self) -> str:
        return f"<Store revision={self.revision} keys={len(self._data)}>"


def _table(key: str) -> str:
    # "/registry/services/specs/default/web" -> "services/specs"; "/registry/pods/ns/x" -> "pods"
    # custom resources: "/registry/<group>/<plural>/..." -> "<group>/<plural>"
    end = key.index("/", 10)
    table = key[10:end]
    if table == "services" or "." in table:
        return key[10 : key.index("/", end + 1)]
    return table
