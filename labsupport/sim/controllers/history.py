"""ControllerRevisions: the saved pod templates of StatefulSets and DaemonSets.

A Deployment keeps old versions of its pod template in old ReplicaSets. A
StatefulSet or a DaemonSet has no ReplicaSets: it saves each version of its
template in a *ControllerRevision* object (``kubectl get controllerrevisions``)
named ``<owner>-<hash>`` and numbered by ``revision``, and labels every pod
with the revision it was made from (``controller-revision-hash``). A rolling
update replaces the pods whose label is not the newest revision's; a
rollback makes an old revision the newest again by giving it the next number
(pkg/controller/history/controller_history.go).

The hash is FNV-1a over the template's JSON (:func:`template_hash`), so its
value differs from a real cluster's but keeps the property that matters:
the same template always gives the same hash.

Example:
    >>> from labsupport.sim.controllers.history import revision_data, next_revision
    >>> data = revision_data({"metadata": {"labels": {"app": "db"}}, "spec": {}})
    >>> data["spec"]["template"]["$patch"]
    'replace'
    >>> next_revision([{"revision": 1}, {"revision": 3}])
    4
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.controllers.podutil import owner_reference
from labsupport.sim.jsoncopy import json_copy
from labsupport.sim.naming import template_hash

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["revision_data", "revision_template", "revisions_of", "next_revision",
           "find_equal", "create_revision", "renumber", "delete_revision",
           "REVISION_LABEL", "HASH_LABEL"]

# k8s.io/api/apps/v1: ControllerRevisionHashLabelKey, the label on the pods
# (StatefulSetRevisionLabel and DefaultDaemonSetUniqueLabelKey are the same key).
REVISION_LABEL = "controller-revision-hash"
# pkg/controller/history: ControllerRevisionHashLabel, on StatefulSet revisions.
HASH_LABEL = "controller.kubernetes.io/hash"
# pkg/controller/history: ControllerRevisionName truncates the prefix to 223 characters.
MAX_PREFIX = 223
_CR = type_for_kind("ControllerRevision")


def revision_data(template: dict) -> dict:
    """The ``data`` of a revision: a patch that puts ``template`` back (getPatch upstream)."""
    tmpl = json_copy(template)
    tmpl["$patch"] = "replace"
    return {"spec": {"template": tmpl}}


def revision_template(revision: dict) -> dict:
    """The pod template saved in a revision (ApplyRevision, for the template)."""
    tmpl = json_copy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    tmpl.pop("$patch", None)
    return tmpl


def revisions_of(sim: SimCluster, owner: dict) -> list[dict]:
    """The owner's ControllerRevisions, oldest revision first (SortControllerRevisions)."""
    revs = [o for o in sim._owned(owner["metadata"]["uid"]) if o["kind"] == "ControllerRevision"]
    return sorted(revs, key=lambda r: (r.get("revision", 0), r["metadata"]["name"]))


def next_revision(revisions: list[dict]) -> int:
    """One more than the highest revision number (nextRevision upstream)."""
    return max((r.get("revision", 0) for r in revisions), default=0) + 1


def find_equal(revisions: list[dict], data: dict) -> list[dict]:
    """The revisions whose data equals ``data`` (FindEqualRevisions)."""
    return [r for r in revisions if r.get("data") == data]


def create_revision(sim: SimCluster, owner: dict, data: dict, revision: int, labels: dict,
                    collisions: int, component: str,
                    hash_label: str = HASH_LABEL) -> tuple[dict, int]:
    """Store a new revision named ``<owner>-<hash>``; return it and the collision count.

    The revision carries the template's labels plus ``hash_label`` (StatefulSets
    use ``controller.kubernetes.io/hash``, DaemonSets ``controller-revision-hash``).
    A name taken by a revision with other data is a hash collision: the
    collision count goes up and the hash is computed again, as
    CreateControllerRevision does.
    """
    api = sim.api
    ns = owner["metadata"]["namespace"]
    prefix = owner["metadata"]["name"][:MAX_PREFIX]
    while True:
        h = template_hash(data, collisions)
        name = f"{prefix}-{h}"
        existing = api.get(_CR, ns, name)
        if existing is None:
            break
        if existing.get("data") == data and \
                any(r.get("uid") == owner["metadata"]["uid"]
                    for r in existing["metadata"].get("ownerReferences") or ()):
            return existing, collisions
        collisions += 1
    meta: dict = {"name": name, "namespace": ns, "labels": dict(labels, **{hash_label: h}),
                  "ownerReferences": [owner_reference(owner)]}
    if owner["metadata"].get("annotations"):
        meta["annotations"] = dict(owner["metadata"]["annotations"])
    cr = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
          "data": json_copy(data), "revision": revision}
    return api.create(cr, component=component), collisions


def renumber(sim: SimCluster, revision: dict, number: int, component: str) -> dict:
    """Give an existing revision a new number (a rollback to it)."""
    new = dict(revision, revision=number)
    new["metadata"] = dict(revision["metadata"])
    return sim.api.update(new, component=component)


def delete_revision(sim: SimCluster, revision: dict, component: str) -> None:
    """Delete a revision that is no longer kept."""
    meta = revision["metadata"]
    if sim.api.get(_CR, meta["namespace"], meta["name"]) is not None:
        sim.api.delete(_CR, meta["namespace"], meta["name"], component=component)
