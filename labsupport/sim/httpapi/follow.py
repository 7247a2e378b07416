"""``kubectl logs -f``: a container's log, streamed until the container ends.

``GET pods/<name>/log?follow=true`` answers at once with the log so far (or
its last ``tailLines`` lines), keeps the response open and writes each new
piece of the log as the simulation produces it. It ends, as the kubelet's
stream does, when the container ends (its status says ``terminated``, or the
pod is gone), when the container restarts (a new instance has a new log),
when the request's time runs out, or when serving stops.

The handler polls the log every :data:`POLL` seconds of wall time, holding
the cluster's lock only while it reads.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"},
    ...              "spec": {"restartPolicy": "Never", "containers": [
    ...                  {"name": "job", "image": "busybox:1.36",
    ...                   "command": ["sh", "-c", "echo done"]}]}})
    >>> container_ended(c, "default", "job", None)
    False
    >>> c.advance(30)
    >>> container_ended(c, "default", "job", None)
    True
"""

from __future__ import annotations

from typing import Any

from labsupport.kinds import type_for_kind

__all__ = ["container_ended", "POLL"]

#: Seconds of wall time between two looks at the log.
POLL = 0.2


def container_ended(sim: Any, namespace: str, pod: str, container: str | None) -> bool:
    """Whether the followed container has ended (or its pod is gone)."""
    obj = sim.api.get(type_for_kind("Pod"), namespace, pod)
    if obj is None:
        return True
    status = obj.get("status") or {}
    names = [c["name"] for c in (obj.get("spec") or {}).get("containers") or ()]
    wanted = container or (names[0] if len(names) == 1 else None)
    for cs in (status.get("containerStatuses") or []) + (
            status.get("initContainerStatuses") or []):
        if cs.get("name") == wanted:
            return "terminated" in (cs.get("state") or {})
    return status.get("phase") in ("Succeeded", "Failed")
