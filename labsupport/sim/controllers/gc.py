"""The garbage collector: cascading deletion through ``ownerReferences``.

Objects name their owners in ``metadata.ownerReferences`` (a Deployment owns
its ReplicaSets, a ReplicaSet its pods). How an owner was deleted decides
what happens to what it owns (pkg/controller/garbagecollector/garbagecollector.go):

* **Background** (kubectl's default): the owner is gone at once; each
  dependent whose owners are now all gone is deleted (``attemptToDeleteItem``).
  A dependent that still has a live owner keeps living, and loses the
  references to owners that are gone.
* **Foreground**: the owner stays, with ``deletionTimestamp`` and the
  ``foregroundDeletion`` finalizer, while the collector deletes its
  dependents; once no dependent with ``blockOwnerDeletion: true`` is left it
  removes the finalizer and the owner goes (``processDeletingDependentsItem``).
* **Orphan**: the owner stays with the ``orphan`` finalizer while the
  collector removes its ``ownerReference`` from every dependent, then removes
  the finalizer (``attemptToOrphanWorker``): the dependents stay, ownerless.

An ownerReference to an object that does not exist (another uid, another
namespace, never created) is dangling: a dependent whose references all
dangle is deleted too.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
    ...     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
    ...              "template": {"metadata": {"labels": {"app": "a"}},
    ...                           "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}})
    >>> c.advance(5); c.delete("rs/rs", propagation_policy="Orphan"); c.advance(5)
    >>> [p["metadata"].get("ownerReferences") for p in c.list("pods")]
    [None, None]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import LabSupportError, ObjectNotFound
from labsupport.sim.controllers.base import SimController
from labsupport.sim.deletion import (
    BACKGROUND,
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    FOREGROUND,
    ORPHAN,
)
from labsupport.sim.jsoncopy import json_copy

if TYPE_CHECKING:
    from labsupport.sim.store import WatchEvent

__all__ = ["GarbageCollector", "COMPONENT"]

COMPONENT = "garbage-collector-controller"


class GarbageCollector(SimController):
    """Cascading deletion; ``sync`` takes the uid of an owner (present, deleting, or gone)."""

    name = COMPONENT

    # --- what it hears (the graph builder's events) -------------------------------
    def observe(self, ev: WatchEvent) -> None:
        """Queue the owners whose dependents may need work after this store event."""
        meta = ev.object["metadata"]
        uid = meta.get("uid")
        if ev.type == "DELETED":
            if self.sim._by_owner.get(uid):
                self.enqueue(uid)  # its dependents lost an owner
            for ref in meta.get("ownerReferences") or ():
                if self._deleting_dependents(ref.get("uid")):
                    self.enqueue(ref.get("uid"))  # a foreground owner waits for this one
            return
        finalizers = meta.get("finalizers")
        if finalizers and meta.get("deletionTimestamp") and (
                FINALIZER_ORPHAN in finalizers or FINALIZER_FOREGROUND in finalizers):
            self.enqueue(uid)
        refs = meta.get("ownerReferences")
        old_refs = ev.old["metadata"].get("ownerReferences") if ev.old is not None else None
        if refs and old_refs is not refs:
            for ref in refs:
                if ref.get("uid") not in self.sim.uids:
                    self.enqueue(ref.get("uid"))  # a dangling reference (a "virtual" owner)
                elif self._deleting_dependents(ref.get("uid")):
                    self.enqueue(ref.get("uid"))
        if old_refs and old_refs is not refs:
            # addUnblockedOwnersToDeleteQueue: an owner waiting in the foreground may
            # have lost a blocking dependent when a reference went or was unblocked.
            blocking_now = {r.get("uid") for r in refs or () if r.get("blockOwnerDeletion")}
            for ref in old_refs:
                if (ref.get("blockOwnerDeletion") and ref.get("uid") not in blocking_now
                        and self._deleting_dependents(ref.get("uid"))):
                    self.enqueue(ref.get("uid"))

    def _live(self, uid: str | None) -> dict | None:
        key = self.sim.uids.get(uid) if uid else None
        obj = self.sim.store.peek(key) if key else None
        return obj if obj is not None and obj["metadata"].get("uid") == uid else None

    def _deleting_dependents(self, uid: str | None) -> bool:
        owner = self._live(uid)
        return owner is not None and _is_deleting_dependents(owner)

    # --- the work -------------------------------------------------------------------
    def sync(self, uid: str) -> None:
        """Act on the dependents of owner ``uid`` as its state says."""
        owner = self._live(uid)
        if owner is not None and owner["metadata"].get("deletionTimestamp"):
            finalizers = owner["metadata"].get("finalizers") or ()
            if FINALIZER_ORPHAN in finalizers:
                self._orphan_dependents(owner)
                return
            if FINALIZER_FOREGROUND in finalizers:
                self._delete_dependents_first(owner)
                return
        if owner is not None:
            return  # a live owner: its dependents keep it as a solid owner
        for dep in self._dependents(uid):
            self._attempt_to_delete(dep)

    def _dependents(self, uid: str) -> list[dict]:
        return [d for d in self.sim._owned(uid, controller_only=False)
                if any(r.get("uid") == uid for r in d["metadata"].get("ownerReferences") or ())]

    def _owner_of(self, ref: dict, dependent: dict) -> dict | None:
        """The live owner a reference names, or None when it dangles (``isDangling``).

        The owner is looked up by kind and name in the dependent's namespace
        and must have the reference's uid.
        """
        try:
            rt = self.api.type_of(ref.get("kind", ""), ref.get("apiVersion"))
        except LabSupportError:
            return dependent  # an unknown kind: the collector cannot tell, it leaves it be
        namespace = dependent["metadata"].get("namespace") if rt.namespaced else None
        if rt.namespaced and not namespace:
            return None  # a cluster-scoped object cannot have a namespaced owner
        owner = self.api.get(rt, namespace, ref.get("name", ""))
        return owner if owner is not None and owner["metadata"].get("uid") == ref.get("uid") \
            else None

    def _attempt_to_delete(self, item: dict) -> None:
        """``attemptToDeleteItem``: delete ``item`` when none of its owners is solid."""
        meta = item["metadata"]
        if meta.get("deletionTimestamp"):
            if _is_deleting_dependents(item):
                self.enqueue(meta["uid"])  # processDeletingDependentsItem
            return  # being deleted: wait for the end
        refs = meta.get("ownerReferences") or ()
        solid, gone = [], []
        for ref in refs:
            owner = self._owner_of(ref, item)
            if owner is None:
                gone.append(ref)  # dangling
            elif _is_deleting_dependents(owner) and owner is not item:
                gone.append(ref)  # waitingForDependentsDeletion
            else:
                solid.append(ref)
        if not refs:
            return
        if solid:
            if gone:
                # Keep it, without the references to owners that are gone or
                # waiting for it to go (else they would wait forever).
                drop = {r.get("uid") for r in gone}
                self._set_owner_references(
                    item, [r for r in refs if r.get("uid") not in drop])
            return
        waiting = any(self._live(r.get("uid")) is not None for r in gone)
        if waiting and self._dependents(meta["uid"]):
            policy = FOREGROUND  # its owner waits for it, and it has dependents of its own
        elif FINALIZER_ORPHAN in (meta.get("finalizers") or ()):
            policy = ORPHAN
        elif FINALIZER_FOREGROUND in (meta.get("finalizers") or ()):
            policy = FOREGROUND
        else:
            policy = BACKGROUND
        rt = self.api.type_of(item["kind"], item.get("apiVersion"))
        try:
            self.api.delete(rt, meta.get("namespace"), meta["name"],
                            propagation_policy=policy, component=COMPONENT)
        except ObjectNotFound:
            pass

    def _delete_dependents_first(self, owner: dict) -> None:
        """Foreground: delete the dependents; drop the finalizer once none blocks."""
        uid = owner["metadata"]["uid"]
        dependents = self._dependents(uid)
        blocking = [d for d in dependents if any(
            r.get("uid") == uid and r.get("blockOwnerDeletion")
            for r in d["metadata"].get("ownerReferences") or ())]
        for dep in dependents:
            self._attempt_to_delete(dep)
        if not blocking:
            self._remove_finalizer(owner, FINALIZER_FOREGROUND)

    def _orphan_dependents(self, owner: dict) -> None:
        """Orphan: remove the owner's reference from each dependent, then the finalizer."""
        uid = owner["metadata"]["uid"]
        for dep in self._dependents(uid):
            refs = dep["metadata"].get("ownerReferences") or ()
            self._set_owner_references(dep, [r for r in refs if r.get("uid") != uid])
        self._remove_finalizer(owner, FINALIZER_ORPHAN)

    # --- writes (the collector's patches) ---------------------------------------------
    def _set_owner_references(self, obj: dict, refs: list[dict]) -> None:
        new = json_copy(obj)
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        try:
            self.api.update(new, component=COMPONENT)
        except ObjectNotFound:
            pass

    def _remove_finalizer(self, obj: dict, finalizer: str) -> None:
        current = self._live(obj["metadata"]["uid"])
        if current is None or finalizer not in (current["metadata"].get("finalizers") or ()):
            return
        new = json_copy(current)
        new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"]
                                         if f != finalizer]
        self.api.update(new, component=COMPONENT)


def _is_deleting_dependents(obj: dict) -> bool:
    """Being deleted in the foreground: a deletionTimestamp and the foregroundDeletion finalizer."""
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and FINALIZER_FOREGROUND in (
        meta.get("finalizers") or ())
