"""VolumeRestrictions: volumes that cannot be shared.

Upstream: pkg/scheduler/framework/plugins/volumerestrictions/volume_restrictions.go.

- PreFilter reads each ``persistentVolumeClaim`` volume's claim: a missing
  claim rejects the pod (UnschedulableAndUnresolvable, the lister's
  ``persistentvolumeclaim "NAME" not found``); claims with the
  ``ReadWriteOncePod`` access mode already used by a pod on a node make
  every node fail (Unschedulable: preempting that pod would help). Pods
  without such claims and without disks to compare are skipped.
- Filter: the pod's ``ReadWriteOncePod`` conflict, and in-tree disks
  mounted by another pod of the node (the same ``gcePersistentDisk`` unless
  both are read-only, the same ``awsElasticBlockStore`` volume ID, the same
  ``rbd`` image or ``iscsi`` IQN unless both are read-only):
  ``node(s) had no available disk``.

Example:
    >>> from labsupport.sim.scheduler.plugins.volumerestrictions import VolumeRestrictions
    >>> from labsupport.sim.scheduler.views import PodView
    >>> VolumeRestrictions().pre_filter(PodView.of({"spec": {"containers": [{}]}})).code
    'Skip'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_FILTER,
    SKIP,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["VolumeRestrictions", "NAME", "ERR_REASON_DISK_CONFLICT",
           "ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT", "volume_conflict", "volumes_to_check"]

NAME = "VolumeRestrictions"
ERR_REASON_DISK_CONFLICT = "node(s) had no available disk"
ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT = (
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode")
_DISKS = ("gcePersistentDisk", "awsElasticBlockStore", "rbd", "iscsi")


def volumes_to_check(pod: Mapping) -> bool:
    """Whether the volume plugins have anything to read: a claim or an in-tree disk.

    Example:
        >>> volumes_to_check({"spec": {"volumes": [{"name": "c", "configMap": {"name": "x"}}]}})
        False
    """
    return any(v.get("persistentVolumeClaim") or any(v.get(d) for d in _DISKS)
               for v in (pod.get("spec") or {}).get("volumes") or ())


def volume_conflict(volume: Mapping, other_pod: Mapping) -> bool:
    """``isVolumeConflict``: ``volume`` cannot be mounted beside ``other_pod``'s volumes."""
    for other in (other_pod.get("spec") or {}).get("volumes") or ():
        disk, theirs = volume.get("gcePersistentDisk"), other.get("gcePersistentDisk")
        if disk and theirs and disk.get("pdName") == theirs.get("pdName") and not (
                disk.get("readOnly") and theirs.get("readOnly")):
            return True
        disk, theirs = volume.get("awsElasticBlockStore"), other.get("awsElasticBlockStore")
        if disk and theirs and disk.get("volumeID") == theirs.get("volumeID"):
            return True
        disk, theirs = volume.get("iscsi"), other.get("iscsi")
        if disk and theirs and disk.get("iqn") == theirs.get("iqn") and not (
                disk.get("readOnly") and theirs.get("readOnly")):
            return True
        disk, theirs = volume.get("rbd"), other.get("rbd")
        if disk and theirs and set(disk.get("monitors") or ()) & set(
                theirs.get("monitors") or ()) and disk.get("pool", "rbd") == theirs.get(
                "pool", "rbd") and disk.get("image") == theirs.get("image") and not (
                disk.get("readOnly") and theirs.get("readOnly")):
            return True
    return False


class VolumeRestrictions(Plugin):
    """PreFilter and Filter: ReadWriteOncePod claims and in-tree disks used once."""

    name = NAME
    extension_points = (PRE_FILTER, FILTER)
    reasons = (ERR_REASON_DISK_CONFLICT, ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT)
    filter_code = UNSCHEDULABLE  # preemption may free the disk or the claim
    upstream = "pkg/scheduler/framework/plugins/volumerestrictions"

    def pre_filter(self, pod: PodView) -> Status:
        """Read the claims; Skip when there is nothing to compare."""
        volumes = (pod.obj.get("spec") or {}).get("volumes") or ()
        if not volumes:
            return Status(SKIP, plugin=self.name)
        needs_check = any(v.get(d) for v in volumes for d in _DISKS)
        listers: Any = getattr(pod.snapshot, "listers", None)
        conflicts = 0
        for vol in volumes:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is None or listers is None:
                continue
            pvc = listers.persistent_volume_claim(pod.namespace, claim)
            if pvc is None:
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE,
                              (f'persistentvolumeclaim "{claim}" not found',), self.name)
            if "ReadWriteOncePod" in ((pvc.get("spec") or {}).get("accessModes") or ()) \
                    and listers.pvc_used_by_pods(pod.namespace, claim):
                conflicts += 1
        if not needs_check and not conflicts:
            return Status(SKIP, plugin=self.name)
        pod.state[NAME] = conflicts
        return Status.success()

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a node with a conflicting disk; every node for a ReadWriteOncePod claim in use."""
        volumes = [v for v in (pod.obj.get("spec") or {}).get("volumes") or ()
                   if any(v.get(d) for d in _DISKS)]
        if volumes:
            table = pod.snapshot
            for other in _pods_on(table, node.name):
                if any(volume_conflict(v, other) for v in volumes):
                    return Status(self.filter_code, (ERR_REASON_DISK_CONFLICT,), self.name)
        conflicts = pod.state.get(NAME)
        if conflicts is None:  # the fast path's view: PreFilter ran on another one
            self.pre_filter(pod)
            conflicts = pod.state.get(NAME, 0)
        if conflicts:
            return Status(self.filter_code, (ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT,), self.name)
        return Status.success()


def _pods_on(table: Any, node: str) -> list[Mapping]:
    """The pods on ``node``, from the store the listers read (none without one)."""
    store = getattr(getattr(table, "listers", None), "store", None)
    if store is None:
        return []
    return [p for p in store.table("pods").values()
            if (p.get("spec") or {}).get("nodeName") == node]
