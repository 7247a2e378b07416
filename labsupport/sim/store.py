"""An etcd-like key-value store: revisions, keys under /registry, and watches.

Kubernetes keeps every object in etcd under a key such as
``/registry/pods/default/web-7f9c-x2``. Every write gets the next number of
one cluster-wide counter, the *revision*; an object's ``resourceVersion`` is
the revision of its last write. A client can *watch* a key prefix from a
revision and receive every change after it, until old history is compacted,
after which etcd answers "410 Gone" and the client must list again.

Example:
    >>> from labsupport.sim.store import Store
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


# WatchEvent(...) runs a Python-level __new__; the hot paths build the tuple directly.
_new_event = tuple.__new__


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
        self._history: deque[tuple[str, str, int, dict]] = deque(maxlen=history)
        self._compacted = 0
        self._watchers: list[tuple[str, Watcher]] = []

    # --- writes -------------------------------------------------------------
    def put(self, key: str, obj: dict) -> int:
        """Create or replace ``key``; return the new revision.

        Sets ``metadata.resourceVersion`` of ``obj`` to the revision.
        """
        self.revision = rev = self.revision + 1
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        meta["resourceVersion"] = str(rev)
        data = self._data
        old = data.get(key)
        data[key] = obj
        if old is None:
            tables = self._tables
            table = _table(key)
            if table not in tables:
                tables[table] = {}
            tables[table][key] = obj
            self._emit(_new_event(WatchEvent, ("ADDED", key, rev, obj, None)),
                       ("ADDED", key, rev, obj))
        else:
            self._tables[_table(key)][key] = obj
            self._emit(_new_event(WatchEvent, ("MODIFIED", key, rev, obj, old)),
                       ("MODIFIED", key, rev, obj))
        return rev

    def delete(self, key: str) -> int | None:
        """Remove ``key``; return the revision, or None when it did not exist."""
        old = self._data.pop(key, None)
        if old is None:
            return None
        self._tables.get(_table(key), {}).pop(key, None)
        self.revision += 1
        rev = self.revision
        self._emit(_new_event(WatchEvent, ("DELETED", key, rev, old, None)),
                   ("DELETED", key, rev, old))
        return rev

    def _emit(self, event: WatchEvent, kept: tuple) -> None:
        history = self._history
        if len(history) == history.maxlen:
            self._compacted = history[0][2]
        # The history keeps plain (type, key, revision, object) tuples: the new
        # state only (the old one would double what it holds), and no class to build.
        history.append(kept)
        key = event.key
        for prefix, fn in self._watchers:
            if key.startswith(prefix):
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
        for kept in self._history:
            if kept[2] > since and kept[1].startswith(prefix):
                yield _new_event(WatchEvent, (*kept, None))

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
        while self._history and self._history[0][2] <= revision:
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
