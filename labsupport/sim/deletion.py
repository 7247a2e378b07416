"""How the API server deletes an object: grace periods, finalizers, propagation.

A ``DELETE`` does not always remove an object at once. The API server
(staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go,
``Store.Delete``) first works out three things:

1. **Graceful deletion** (``rest.BeforeDelete``): a pod bound to a node gets
   ``metadata.deletionTimestamp`` = now + its grace period and
   ``deletionGracePeriodSeconds``; the kubelet stops its containers and then
   deletes it for good with a grace period of 0. The period is the one given
   (``gracePeriodSeconds``), else the pod's ``terminationGracePeriodSeconds``;
   0 for a pod on no node or one that has finished
   (pkg/registry/core/pod/strategy.go, ``CheckGracefulDelete``). A second
   delete may only shorten it.
2. **The garbage collector's finalizers** (``deletionFinalizersForGarbageCollection``):
   ``propagationPolicy: Orphan`` adds the ``orphan`` finalizer, ``Foreground``
   adds ``foregroundDeletion``, ``Background`` neither. Without a policy the
   object's own finalizers decide, then the type's default: ``Orphan`` for a
   ReplicationController of ``v1`` (pkg/registry/core/replicationcontroller/strategy.go),
   ``Background`` for everything else. kubectl always sends a policy
   (``--cascade=background`` by default).
3. **Finalizers**: while ``metadata.finalizers`` is not empty the object stays,
   marked with a ``deletionTimestamp`` (``markAsDeleting``); an update that
   removes the last one deletes it (``shouldDeleteDuringUpdate``). No update
   may add a finalizer once the deletion started
   (apimachinery ``ValidateObjectMetaUpdate``).

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "ConfigMap",
    ...              "metadata": {"name": "cfg", "finalizers": ["example.com/keep"]}})
    >>> c.delete("configmap/cfg")
    >>> meta = c.get("configmap/cfg")["metadata"]
    >>> meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]
    ('2025-01-01T00:00:00Z', 0)
    >>> cm = c.get("configmap/cfg"); cm["metadata"]["finalizers"] = []
    >>> _ = c.api.update(cm)
    >>> c.list("configmaps", namespace="default")
    []
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from labsupport.errors import Invalid
from labsupport.sim.clock import EPOCH, stamp
from labsupport.sim.fielderrors import FieldError

if TYPE_CHECKING:
    from labsupport.kinds import ResourceType
    from labsupport.sim.apiserver import APIServer

__all__ = [
    "BACKGROUND",
    "FOREGROUND",
    "ORPHAN",
    "FINALIZER_ORPHAN",
    "FINALIZER_FOREGROUND",
    "POLICIES",
    "validate_policy",
    "gc_finalizers",
    "pod_grace_period",
    "delete_object",
    "finalizer_errors",
    "delete_during_update",
]

# metav1.DeletionPropagation values and the finalizers the garbage collector owns
# (apimachinery/pkg/apis/meta/v1/types.go).
BACKGROUND, FOREGROUND, ORPHAN = "Background", "Foreground", "Orphan"
POLICIES = (FOREGROUND, BACKGROUND, ORPHAN)
FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"


def validate_policy(policy: str | None) -> None:
    """Refuse a propagation policy the API server does not know (``ValidateDeleteOptions``).

    Example:
        >>> validate_policy("Cascade")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: \
Unsupported value: "Cascade": supported values: "Foreground", "Background", "Orphan", "nil"
    """
    if policy is None or policy in POLICIES:
        return
    raise Invalid(
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"'
    )


def _default_orphans(obj: dict) -> bool:
    """The type's DefaultGarbageCollectionPolicy: only core/v1 ReplicationControllers orphan."""
    return obj.get("kind") == "ReplicationController" and obj.get("apiVersion", "v1") == "v1"


def gc_finalizers(obj: dict, policy: str | None) -> list[str]:
    """The finalizers ``obj`` has once deleted with ``policy`` (store.go, shouldOrphanDependents).

    Example:
        >>> gc_finalizers({"kind": "ReplicaSet", "metadata": {"finalizers": ["a/b"]}}, "Orphan")
        ['a/b', 'orphan']
        >>> gc_finalizers({"kind": "ReplicaSet", "metadata": {"finalizers": ["orphan"]}}, None)
        ['orphan']
        >>> gc_finalizers({"kind": "ReplicationController", "apiVersion": "v1",
        ...                "metadata": {}}, None)
        ['orphan']
    """
    current = list(obj["metadata"].get("finalizers") or ())
    if policy is not None:
        orphan, foreground = policy == ORPHAN, policy == FOREGROUND
    elif FINALIZER_ORPHAN in current or FINALIZER_FOREGROUND in current:
        # The first of the two in the list wins (validation keeps them exclusive).
        first = next(f for f in current if f in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND))
        orphan, foreground = first == FINALIZER_ORPHAN, first == FINALIZER_FOREGROUND
    else:
        orphan, foreground = _default_orphans(obj), False
    new = [f for f in current if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
    if orphan:
        new.append(FINALIZER_ORPHAN)
    if foreground:
        new.append(FINALIZER_FOREGROUND)
    return current if set(new) == set(current) else new


def pod_grace_period(pod: dict, grace: int | None) -> int:
    """The grace period of a pod's deletion (pod strategy ``CheckGracefulDelete``).

    Example:
        >>> pod = {"spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 30},
        ...        "status": {"phase": "Running"}}
        >>> pod_grace_period(pod, None), pod_grace_period(pod, 5), pod_grace_period(pod, -3)
        (30, 5, 1)
        >>> pod_grace_period({"spec": {}, "status": {"phase": "Pending"}}, None)
        0
    """
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    period = grace if grace is not None else spec.get("terminationGracePeriodSeconds", 0)
    if not spec.get("nodeName"):
        period = 0  # never scheduled: nothing runs, delete at once
    if status.get("phase") in ("Failed", "Succeeded"):
        period = 0  # already finished
    return 1 if period < 0 else int(period)


def delete_object(api: APIServer, rt: ResourceType, obj: dict, *, grace: int | None,
                  policy: str | None, component: str) -> dict:
    """``Store.Delete`` for one stored object; return what is stored (or was removed).

    Args:
        api: the API server.
        rt: the object's type.
        obj: the stored object.
        grace: ``gracePeriodSeconds`` of the DeleteOptions (None: the default).
        policy: ``propagationPolicy`` (None: the object's finalizers, then the type's default).
        component: who deletes, for the audit log.
    """
    validate_policy(policy)
    if grace is not None and grace < 0:
        grace = 1  # BeforeDelete: a negative period is treated as 1 s
    meta = obj["metadata"]
    graceful = False
    new_meta = dict(meta)
    if meta.get("deletionTimestamp"):
        current = meta.get("deletionGracePeriodSeconds")
        if current:  # a graceful deletion is pending: it may only be shortened
            if grace is None or grace >= current:
                return obj  # finalizers cannot change through DeleteOptions now
            started = _seconds(meta["deletionTimestamp"]) - current
            new_meta["deletionTimestamp"] = stamp(started + grace)
            new_meta["deletionGracePeriodSeconds"] = grace
            graceful = True
    elif rt.kind == "Pod":
        period = pod_grace_period(obj, grace)
        new_meta["deletionTimestamp"] = stamp(api.now + period)
        new_meta["deletionGracePeriodSeconds"] = period
        if new_meta.get("generation"):  # the first graceful deletion is a new generation
            new_meta["generation"] += 1
        graceful = True
    finalizers = gc_finalizers(obj, policy)
    if finalizers != list(meta.get("finalizers") or ()):
        new_meta["finalizers"] = finalizers
    if not graceful:
        if not finalizers:
            api.remove(obj, component)
            return obj
        # markAsDeleting: deletionTimestamp now (or kept if earlier), grace period 0.
        if not meta.get("deletionTimestamp") and meta.get("generation"):
            new_meta["generation"] = meta["generation"] + 1
        if not meta.get("deletionTimestamp") or _seconds(meta["deletionTimestamp"]) > api.now:
            new_meta["deletionTimestamp"] = stamp(api.now)
        new_meta["deletionGracePeriodSeconds"] = 0
    elif not finalizers and new_meta["deletionGracePeriodSeconds"] == 0:
        api.remove(obj, component)  # graceful with period 0 and nothing pending: gone now
        return obj
    if new_meta == meta:
        return obj  # nothing changes: no write (etcd's GuaranteedUpdate skips a no-op)
    new = dict(obj)
    new["metadata"] = new_meta
    api.store.put(api.key_of(new), new)
    api.audit.append((api.now, component, "delete", api.key_of(new),
                      f"deletionTimestamp {new_meta['deletionTimestamp']}"))
    return new


def _seconds(timestamp: str) -> float:
    """Virtual seconds of an RFC 3339 timestamp written by :func:`stamp`."""
    parsed = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return parsed.timestamp() - EPOCH


def finalizer_errors(old: dict, new: dict) -> list[FieldError]:
    """An update may not add finalizers to an object being deleted (``ValidateObjectMetaUpdate``).

    Example:
        >>> old = {"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z", "finalizers": ["a/x"]}}
        >>> new = {"metadata": {"finalizers": ["a/x", "b/y"]}}
        >>> print(finalizer_errors(old, new)[0])
        metadata.finalizers: Forbidden: no new finalizers can be added if the object is being \
deleted, found new finalizers []string{"b/y"}
    """
    if not old["metadata"].get("deletionTimestamp"):
        return []
    extra = sorted(set(new["metadata"].get("finalizers") or ())
                   - set(old["metadata"].get("finalizers") or ()))
    if not extra:
        return []
    listed = ", ".join(f'"{f}"' for f in extra)
    return [FieldError.forbidden(
        "metadata.finalizers",
        f"no new finalizers can be added if the object is being deleted, "
        f"found new finalizers []string{{{listed}}}")]


def delete_during_update(old: dict, new: dict) -> bool:
    """Whether an update ends a deletion: the last finalizer went (``shouldDeleteDuringUpdate``).

    Only an object that had finalizers, is being deleted and has no grace
    period left (0) goes; a terminating pod waits for its kubelet.
    """
    old_meta = old["metadata"]
    return (not new["metadata"].get("finalizers") and bool(old_meta.get("finalizers"))
            and bool(old_meta.get("deletionTimestamp"))
            and not old_meta.get("deletionGracePeriodSeconds"))
