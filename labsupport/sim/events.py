"""Events, as ``kubectl get events`` lists them.

Components report what they do (Scheduled, Pulled, Started, BackOff ...).
Like the real event recorder, a repeat of the same event for the same object
increments ``count`` and moves ``lastTimestamp`` instead of adding a row.
Records are kept compact and turned into core/v1 Event dicts on demand, so
a cluster of 150,000 pods does not hold a million event dicts.

Example:
    >>> from labsupport.sim.events import EventLog
    >>> log = EventLog()
    >>> log.record(1.0, "Normal", "Scheduled", ("Pod", "default", "web-1"),
    ...            "Successfully assigned default/web-1 to node-1", "default-scheduler")
    >>> log.record(2.0, "Warning", "BackOff", ("Pod", "default", "web-1"), "Back-off", "kubelet")
    >>> log.record(5.0, "Warning", "BackOff", ("Pod", "default", "web-1"), "Back-off", "kubelet")
    >>> [(e["reason"], e["count"]) for e in log.objects()]
    [('Scheduled', 1), ('BackOff', 2)]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from labsupport.sim.clock import stamp

__all__ = ["EventLog", "ObjectRef"]

#: (kind, namespace, name) of the object an event is about.
ObjectRef = tuple[str, str, str]


class EventLog:
    """All events of a simulated cluster, in the order they first happened."""

    #: Distinct recent events remembered for counting repeats, like the
    #: EventCorrelator's LRU cache in client-go (maxLruCacheEntries = 4096).
    CACHE_SIZE = 4096

    def __init__(self) -> None:
        # [first, last, type, reason, kind, namespace, name, message, component, count, host,
        #  fieldPath, uid]
        self._rows: list[list] = []
        self._index: OrderedDict[tuple, int] = OrderedDict()
        self._texts: dict[str, str] = {}
        self._listeners: list = []

    def record(self, now: float, type_: str, reason: str, obj: ObjectRef, message: str,
               component: str, host: str = "", field_path: str = "", uid: str = "") -> None:
        """Record one event (or count a repeat of the last identical one).

        ``field_path`` names the part of the object concerned, as
        ``involvedObject.fieldPath`` does: ``spec.containers{web}`` for an
        event about one container. Events about two containers of one pod are
        two events even when their messages are the same. ``uid`` is the
        object's (``involvedObject.uid``, what ``kubectl describe`` selects on).
        """
        key = (obj, reason, message, component, field_path, uid)
        index = self._index
        at = index.get(key)
        if at is not None:
            index.move_to_end(key)
            row = self._rows[at]
            row[1] = now
            row[9] += 1
        else:
            index[key] = len(self._rows)
            if len(index) > self.CACHE_SIZE:
                index.popitem(last=False)
            # Many pods repeat the same text ('Pulling image "nginx:1.27"'): keep one copy.
            texts = self._texts
            if len(texts) > 10_000:
                texts.clear()  # unique texts (one pod's name) would only pile up
            message = texts.setdefault(message, message)
            row = [now, now, type_, reason, obj[0], obj[1], obj[2], message, component, 1, host,
                   field_path, uid]
            self._rows.append(row)
        for fn in self._listeners:
            fn(row)

    def listen(self, fn) -> None:
        """Call ``fn(row)`` at every event (used by traces and metrics)."""
        self._listeners.append(fn)

    def unlisten(self, fn) -> None:
        """Stop calling ``fn`` (a watch over HTTP that ended)."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def object_of(self, row: list) -> dict:
        """The core/v1 Event of one row (a row :meth:`listen` was given), as :meth:`objects`."""
        rows = self._rows
        for i in range(len(rows) - 1, -1, -1):  # repeats are recent: look from the end
            if rows[i] is row:
                return _event_object(i, row)
        raise ValueError("not a row of this event log")

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list[list]:
        """The compact rows (read-only)."""
        return self._rows

    def objects(self, namespace: str | None = None) -> Iterator[dict]:
        """Events as core/v1 Event dicts, oldest first."""
        for i, r in enumerate(self._rows):
            if namespace is not None and r[5] != namespace:
                continue
            yield _event_object(i, r)


def _event_object(i: int, r: list) -> dict:
    """The core/v1 Event of row ``i``."""
    first, last, type_, reason, kind, ns, name, message, component, count, host, path, uid = r
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{i:016x}", "namespace": ns or "default"},
        "involvedObject": {"kind": kind, "name": name,
                           **({"namespace": ns} if ns else {}),
                           **({"uid": uid} if uid else {}),
                           **({"fieldPath": path} if path else {})},
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component, **({"host": host} if host else {})},
        "firstTimestamp": stamp(first),
        "lastTimestamp": stamp(last),
        "count": count,
    }
