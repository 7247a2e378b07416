"""Watches over HTTP: a long response of JSON lines, one per change.

``GET ...?watch=1&resourceVersion=N`` keeps the response open and writes one
``{"type": ..., "object": ...}`` line for every change after revision ``N``
(``ADDED``, ``MODIFIED``, ``DELETED``), in the order of the store's
revisions. Without a resourceVersion (or with ``0``) it first sends every
current object as ``ADDED``. With ``allowWatchBookmarks=true`` it also sends
``BOOKMARK`` events that carry only a newer resourceVersion, so a client can
resume from there. A revision older than the kept history gets one
``ERROR`` event carrying a 410 ``Expired`` Status, as a real API server's
watch cache answers (``storage/cacher``): the client must list again.

An object that stops matching the watch's selectors is sent as ``DELETED``,
and one that starts matching as ``ADDED`` (the cacher's filtering).

A :class:`Watch` is fed inside the simulation (under the cluster's lock) and
read by the HTTP thread that serves the request.

Example:
    >>> import labsupport as ls
    >>> from labsupport.kinds import type_for_kind
    >>> c = ls.connect(nodes=0)
    >>> since = {"resourceVersion": str(c.store.revision)}
    >>> w = Watch(c, type_for_kind("ConfigMap"), "default", since)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    >>> w.stop()
    >>> [line.split(b'"')[3] for line in w.drain()]
    [b'ADDED']
"""

from __future__ import annotations

import json
import queue
from typing import Any

from labsupport.errors import ResourceExpired
from labsupport.kinds import ResourceType
from labsupport.selectors import Selector
from labsupport.sim.httpapi.selection import FieldSelector
from labsupport.sim.httpapi.status import status, status_for
from labsupport.sim.httpapi.tables import table
from labsupport.sim.store import WatchEvent

__all__ = ["Watch"]

_END = b""


def _line(event_type: str, obj: dict) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


class Watch:
    """One watch: selects, encodes and queues the changes of one resource.

    Args:
        sim: the simulated cluster (the caller holds its lock).
        rt: the type watched.
        namespace: the namespace watched, None for all.
        query: the request's query (resourceVersion, selectors, bookmarks).
        as_table: send each object as a one-row Table (``kubectl get -w``).
    """

    def __init__(self, sim: Any, rt: ResourceType, namespace: str | None, query: dict,
                 as_table: bool = False) -> None:
        self.sim = sim
        self.rt = rt
        self.as_table = as_table
        self.include = query.get("includeObject", "Metadata")
        self.bookmarks = str(query.get("allowWatchBookmarks", "")).lower() in ("true", "1")
        self.lines: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._first_table = True
        try:
            self.labels = Selector.parse(query.get("labelSelector"))
        except Exception as err:  # noqa: BLE001 - the selector's own message is kept
            raise status(400, "BadRequest", f"unable to parse requirement: {err}") from None
        self.fields = FieldSelector.parse(query.get("fieldSelector"), rt.kind)
        self.prefix = f"/registry/{rt.registry}/"
        if namespace is not None and rt.namespaced:
            self.prefix += f"{namespace}/"
        self.revision = sim.store.revision
        self._stop = None
        version = query.get("resourceVersion") or ""
        initial = str(query.get("sendInitialEvents", "")).lower() == "true"
        try:
            since = int(version) if version not in ("", "0") else None
        except ValueError:
            raise status(400, "BadRequest", f'invalid resourceVersion "{version}"') from None
        if rt.kind == "Event":
            self._watch_events(namespace, since is None or initial)
            return
        if since is None or initial:
            for obj in sim.api.list(rt, namespace):
                if self._matches(obj):
                    self._put("ADDED", obj, obj["metadata"].get("resourceVersion"))
            if initial and self.bookmarks:
                self.bookmark(initial_end=True)
            since = self.revision
        try:
            self._stop = sim.store.watch(self.prefix, self._on_event, since=since)
        except ResourceExpired as err:
            gone = status_for(err)
            self.lines.put(_line("ERROR", gone.body))
            self.lines.put(_END)

    def _watch_events(self, namespace: str | None, initial: bool) -> None:
        """Events are not in the simulated etcd: follow the event log instead.

        A new event is ``ADDED``, a repeat of one (its ``count`` grows) ``MODIFIED``.
        """
        log = self.sim.event_log
        if initial:
            for obj in log.objects(namespace):
                if self._matches(obj):
                    self._put("ADDED", obj, None)

        def on_row(row: list) -> None:
            if namespace is not None and row[5] != namespace:
                return
            obj = log.object_of(row)
            if self._matches(obj):
                self._put("ADDED" if row[9] == 1 else "MODIFIED", obj,
                          str(self.sim.store.revision))

        log.listen(on_row)
        self._stop = lambda: log.unlisten(on_row)

    def _matches(self, obj: dict | None) -> bool:
        return (obj is not None and self.labels.matches(obj["metadata"].get("labels"))
                and self.fields.matches(obj))

    def _put(self, event_type: str, obj: dict, revision: str | None) -> None:
        if revision is not None and obj["metadata"].get("resourceVersion") != revision:
            obj = dict(obj, metadata=dict(obj["metadata"], resourceVersion=revision))
        if self.as_table:
            from labsupport.sim.httpapi.resources import unix_now

            obj = table([obj], self.rt.kind, unix_now(self.sim), include_object=self.include,
                        with_columns=self._first_table, resource_version=revision or "")
            self._first_table = False
        self.lines.put(_line(event_type, obj))

    def _on_event(self, ev: WatchEvent) -> None:
        self.revision = ev.revision
        now, before = self._matches(ev.object), ev.old is not None and self._matches(ev.old)
        if ev.type == "DELETED":
            kind = "DELETED" if now else None
        elif now:
            kind = "ADDED" if ev.type == "ADDED" or (ev.old is not None and not before) \
                else "MODIFIED"
        else:
            kind = "DELETED" if before else None
        if kind is not None:
            self._put(kind, ev.object, str(ev.revision))

    def bookmark(self, initial_end: bool = False) -> None:
        """Queue a BOOKMARK at the latest revision (when the client allows them)."""
        if not self.bookmarks:
            return
        meta: dict = {"resourceVersion": str(self.sim.store.revision)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        self.lines.put(_line("BOOKMARK", {"kind": self.rt.kind,
                                          "apiVersion": self.rt.api_version, "metadata": meta}))

    def stop(self) -> None:
        """Stop following the store (the caller holds the cluster's lock)."""
        if self._stop is not None:
            self._stop()
            self._stop = None
        self.lines.put(_END)

    def drain(self) -> list[bytes]:
        """The lines queued so far, up to the end of the watch (for tests)."""
        out = []
        while not self.lines.empty():
            line = self.lines.get()
            if line == _END:
                break
            out.append(line)
        return out
