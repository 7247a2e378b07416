"""VolumeBinding: a pod's PersistentVolumeClaims must be bound, or bindable on the node.

Upstream: pkg/scheduler/framework/plugins/volumebinding (volume_binding.go,
binder.go). PreFilter (``podHasPVCs``, ``GetPodVolumeClaims``) skips pods
without claims and rejects, as UnschedulableAndUnresolvable, a pod whose
claim is missing, Lost, being deleted, or unbound in ``Immediate`` mode (the
PV controller binds those; a claim that names its volume counts as one).
Filter (``FindPodVolumes``) checks each node: a bound claim's volume must
exist and allow the node (local volumes have node affinity); a claim of a
``WaitForFirstConsumer`` class needs an Available volume that fits on the
node, or a class that can provision there (a provisioner other than
``kubernetes.io/no-provisioner`` whose ``allowedTopologies`` match).

PreBind (:meth:`labsupport.sim.controllers.volumes.VolumeBinder.pre_bind`)
then binds the chosen volumes or writes ``volume.kubernetes.io/selected-node``
on the claims to provision, and the pod waits for the PV controller.

Score is not modelled: upstream it scores only static bindings with the
StorageCapacityScoring feature, which is off by default.

Example:
    >>> from labsupport.sim.scheduler.plugins.volumebinding import VolumeBinding
    >>> from labsupport.sim.scheduler.views import PodView
    >>> VolumeBinding().pre_filter(PodView.of({"spec": {"containers": [{}]}})).code
    'Skip'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labsupport.sim.controllers.pvbinding import (
    ANN_BIND_COMPLETED,
    ANN_SELECTED_NODE,
    NO_PROVISIONER,
    claim_class,
    claim_names,
    find_best_match,
    node_affinity_matches,
)
from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_BIND,
    PRE_FILTER,
    PRE_SCORE,
    RESERVE,
    SCORE,
    SKIP,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["VolumeBinding", "NAME", "ERR_REASON_BIND_CONFLICT", "ERR_REASON_NODE_CONFLICT",
           "ERR_REASON_PV_NOT_EXIST", "ERR_REASON_UNBOUND_IMMEDIATE", "PodClaims",
           "pod_claims", "find_pod_volumes"]

NAME = "VolumeBinding"
# binder.go: ConflictReason constants.
ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
ERR_REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_REASON_NOT_ENOUGH_SPACE = "node(s) did not have enough free storage"
ERR_REASON_PV_NOT_EXIST = (
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)")
# volume_binding.go PreFilter.
ERR_REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


@dataclass
class PodClaims:
    """``PodVolumeClaims``: the pod's claims, sorted as ``GetPodVolumeClaims`` sorts them.

    Attributes:
        bound: claims bound to a volume (``bind-completed``).
        delayed: unbound claims of a ``WaitForFirstConsumer`` class.
        immediate: the other unbound claims.
        rejected: why PreFilter rejects the pod ("" when it does not).
    """

    bound: list[dict] = field(default_factory=list)
    delayed: list[dict] = field(default_factory=list)
    immediate: list[dict] = field(default_factory=list)
    rejected: str = ""


def _listers(pod: PodView) -> Any:
    return getattr(pod.snapshot, "listers", None)


def pod_claims(pod: Mapping, namespace: str, listers: Any) -> PodClaims:
    """``podHasPVCs`` and ``GetPodVolumeClaims`` for one pod."""
    out = PodClaims()
    for name in claim_names(pod):
        pvc = listers.persistent_volume_claim(namespace, name)
        if pvc is None:
            out.rejected = f'persistentvolumeclaim "{name}" not found'
            return out
        if (pvc.get("status") or {}).get("phase") == "Lost":
            out.rejected = (f'persistentvolumeclaim "{name}" bound to non-existent '
                            f'persistentvolume "{pvc["spec"].get("volumeName", "")}"')
            return out
        if pvc["metadata"].get("deletionTimestamp"):
            out.rejected = f'persistentvolumeclaim "{name}" is being deleted'
            return out
    for name in claim_names(pod):
        pvc = listers.persistent_volume_claim(namespace, name)
        annotations = pvc["metadata"].get("annotations") or {}
        if pvc["spec"].get("volumeName") and ANN_BIND_COMPLETED in annotations:
            out.bound.append(pvc)
            continue
        cls = listers.storage_class(claim_class(pvc)) if claim_class(pvc) else None
        delay = cls is not None and cls.get("volumeBindingMode") == "WaitForFirstConsumer"
        if delay and not pvc["spec"].get("volumeName"):
            out.delayed.append(pvc)
        else:
            out.immediate.append(pvc)
    if out.immediate:
        out.rejected = ERR_REASON_UNBOUND_IMMEDIATE
    return out


def _topology_matches(cls: Mapping, labels: Mapping[str, str]) -> bool:
    """``MatchTopologySelectorTerms`` of a class's ``allowedTopologies`` (none: any node)."""
    terms = cls.get("allowedTopologies") or ()
    if not terms:
        return True
    for term in terms:
        exprs = term.get("matchLabelExpressions") or ()
        if all(labels.get(e.get("key", "")) in (e.get("values") or ()) for e in exprs):
            return True
    return False


def find_pod_volumes(claims: PodClaims, node: str, labels: Mapping[str, str],
                     listers: Any) -> tuple[list[str], list[tuple[dict, dict]], list[dict]]:
    """``FindPodVolumes``: reasons the node fails, static bindings, claims to provision."""
    bound_ok = found = unbound_ok = True
    for pvc in claims.bound:
        pv = listers.persistent_volume(pvc["spec"]["volumeName"])
        if pv is None:
            found = False
        elif not node_affinity_matches(pv, node, labels):
            bound_ok = False
    static: list[tuple[dict, dict]] = []
    provision: list[dict] = []
    if claims.delayed:
        to_match = []
        for pvc in claims.delayed:
            selected = (pvc["metadata"].get("annotations") or {}).get(ANN_SELECTED_NODE)
            if selected is None:
                to_match.append(pvc)
            elif selected != node:
                unbound_ok = False
                to_match = []
                break
            else:
                provision.append(pvc)
        if unbound_ok and to_match:
            # findMatchingVolumes: the smallest volume that fits, each used once.
            taken: set[str] = set()
            volumes = listers.persistent_volumes()
            for pvc in to_match:
                pv = find_best_match(pvc, [v for v in volumes
                                           if v["metadata"]["name"] not in taken],
                                     delay_binding=True, node=(node, labels))
                if pv is None:
                    provision.append(pvc)
                else:
                    taken.add(pv["metadata"]["name"])
                    static.append((pv, pvc))
        if unbound_ok:
            for pvc in provision:  # checkVolumeProvisions
                cls = listers.storage_class(claim_class(pvc)) if claim_class(pvc) else None
                provisioner = str((cls or {}).get("provisioner") or "")
                if (cls is None or provisioner in ("", NO_PROVISIONER)
                        or not _topology_matches(cls, labels)):
                    unbound_ok = False
                    break
    reasons = []
    if not bound_ok:
        reasons.append(ERR_REASON_NODE_CONFLICT)
    if not unbound_ok:
        reasons.append(ERR_REASON_BIND_CONFLICT)
    if not found:
        reasons.append(ERR_REASON_PV_NOT_EXIST)
    return reasons, static, provision


class VolumeBinding(Plugin):
    """PreFilter and Filter on the pod's PersistentVolumeClaims (PreBind: the PV controller)."""

    name = NAME
    extension_points = (PRE_FILTER, FILTER, PRE_SCORE, SCORE, RESERVE, PRE_BIND)
    reasons = (ERR_REASON_NODE_CONFLICT, ERR_REASON_BIND_CONFLICT, ERR_REASON_NOT_ENOUGH_SPACE,
               ERR_REASON_PV_NOT_EXIST)
    filter_code = UNSCHEDULABLE_AND_UNRESOLVABLE
    upstream = "pkg/scheduler/framework/plugins/volumebinding"

    def implements(self, point: str) -> bool:
        """Every declared point but PreScore and Score (StorageCapacityScoring is off)."""
        return point not in (PRE_SCORE, SCORE) and super().implements(point)

    def _claims(self, pod: PodView) -> PodClaims | None:
        claims = pod.state.get(NAME)
        if claims is None:
            listers = _listers(pod)
            if listers is None or not claim_names(pod.obj):
                return None
            claims = pod.state[NAME] = pod_claims(pod.obj, pod.namespace, listers)
        return claims

    def pre_filter(self, pod: PodView) -> Status:
        """Skip pods without claims; reject missing, lost or unbound immediate ones."""
        claims = self._claims(pod)
        if claims is None:
            return Status(SKIP, plugin=self.name)
        if claims.rejected:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (claims.rejected,), self.name)
        return Status.success()

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a node where a bound volume cannot be reached or an unbound claim cannot bind."""
        claims = self._claims(pod)
        if claims is None or claims.rejected:
            return Status.success()
        reasons, _, _ = find_pod_volumes(claims, node.name, node.labels, _listers(pod))
        if reasons:
            return Status(self.filter_code, tuple(reasons), self.name)
        return Status.success()
