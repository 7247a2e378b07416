"""The garbage collector: delete what lost its owner.

Objects name their owners in ``metadata.ownerReferences`` (a Deployment owns
its ReplicaSets, a ReplicaSet its pods). When an owner is deleted, the
garbage collector deletes the dependents whose owners are all gone
("background" cascading deletion, the default of ``kubectl delete``).

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
    ...     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
    ...              "template": {"metadata": {"labels": {"app": "a"}},
    ...                           "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}})
    >>> c.advance(5); c.delete("rs/rs"); c.advance(5)
    >>> c.list("pods")
    []
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import ObjectNotFound
from labsupport.kinds import type_for_kind
from labsupport.sim.controllers.base import SimController

if TYPE_CHECKING:
    pass

__all__ = ["GarbageCollector"]

COMPONENT = "garbage-collector-controller"


class GarbageCollector(SimController):
    """Deletes dependents of deleted owners; ``sync`` takes the owner's uid."""

    name = COMPONENT


    def sync(self, uid: str) -> None:
        """Delete the dependents of a deleted owner whose owners are all gone."""
        if uid in self.sim.uids:
            return  # the owner is back (or never left)
        for obj in list(self.sim._owned(uid, controller_only=False)):
            owners = [r.get("uid") for r in obj["metadata"].get("ownerReferences") or ()]
            if any(o in self.sim.uids for o in owners):
                continue
            if obj["metadata"].get("deletionTimestamp"):
                continue
            rt = type_for_kind(obj["kind"], obj.get("apiVersion"))
            try:
                self.api.delete(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                component=COMPONENT)
            except ObjectNotFound:  # already gone
                continue
