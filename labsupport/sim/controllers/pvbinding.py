"""Which PersistentVolume a PersistentVolumeClaim may bind to: the PV controller's rules.

Pure functions over plain object dicts, shared by the PV controller
(:mod:`labsupport.sim.controllers.volumes`) and the scheduler's VolumeBinding
plugin. Upstream:

- ``checkVolumeSatisfyClaim`` (pkg/controller/volume/persistentvolume/pv_controller.go):
  when a claim names its volume (``spec.volumeName``), the volume must be big
  enough, of the same class, volumeMode and access modes, else the claim
  stays Pending with a ``VolumeMismatch`` event;
- ``findBestMatchForClaim`` / ``FindMatchingVolume`` (index.go and
  k8s.io/component-helpers/storage/volume/pv_helpers.go): among the volumes
  whose access modes include the claim's (the groups with the fewest modes
  first), a volume pre-bound to the claim wins; otherwise the *smallest*
  Available, unclaimed volume of the same class, volumeMode and label
  selector that is big enough. The class ``""`` is a class of its own: a
  claim with ``storageClassName: ""`` binds only volumes without a class.

Example:
    >>> pv = lambda name, size: {"metadata": {"name": name}, "spec": {
    ...     "capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
    ...     "storageClassName": ""}, "status": {"phase": "Available"}}
    >>> claim = {"metadata": {"name": "data", "namespace": "default", "uid": "u1"},
    ...          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
    ...                   "resources": {"requests": {"storage": "1Gi"}}}}
    >>> volumes = [pv("big", "10Gi"), pv("small", "2Gi"), pv("tiny", "500Mi")]
    >>> find_best_match(claim, volumes)["metadata"]["name"]
    'small'
    >>> check_volume_satisfies_claim(pv("tiny", "500Mi"), claim)
    'requested PV is too small'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from labsupport.quantity import memory_bytes

__all__ = [
    "ANN_STORAGE_CLASS", "ANN_SELECTED_NODE", "ANN_BOUND_BY_CONTROLLER", "ANN_BIND_COMPLETED",
    "ANN_PROVISIONED_BY", "ANN_STORAGE_PROVISIONER", "ANN_BETA_STORAGE_PROVISIONER",
    "NO_PROVISIONER", "claim_class", "volume_class", "storage_request", "storage_capacity",
    "has_access_modes", "check_volume_satisfies_claim", "find_best_match",
    "is_bound_to_claim", "node_affinity_matches", "claim_names",
]

# k8s.io/component-helpers/storage/volume/pv_helpers.go and helpers.go.
ANN_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
#: A class with this provisioner never provisions (local volumes are made by hand).
NO_PROVISIONER = "kubernetes.io/no-provisioner"


def _spec(obj: Mapping) -> Mapping:
    return obj.get("spec") or {}


def _annotations(obj: Mapping) -> Mapping:
    return (obj.get("metadata") or {}).get("annotations") or {}


def claim_class(claim: Mapping) -> str:
    """``GetPersistentVolumeClaimClass``: the beta annotation, else storageClassName, else ""."""
    ann = _annotations(claim)
    if ANN_STORAGE_CLASS in ann:
        return str(ann[ANN_STORAGE_CLASS])
    return str(_spec(claim).get("storageClassName") or "")


def volume_class(pv: Mapping) -> str:
    """``GetPersistentVolumeClass``: the beta annotation, else ``storageClassName``, else ""."""
    ann = _annotations(pv)
    if ANN_STORAGE_CLASS in ann:
        return str(ann[ANN_STORAGE_CLASS])
    return str(_spec(pv).get("storageClassName") or "")


def storage_request(claim: Mapping) -> int:
    """Bytes the claim requests (``resources.requests.storage``; 0 when unset)."""
    size = ((_spec(claim).get("resources") or {}).get("requests") or {}).get("storage")
    return memory_bytes(size) if size is not None else 0


def storage_capacity(pv: Mapping) -> int:
    """Bytes the volume holds (``spec.capacity.storage``; 0 when unset)."""
    size = (_spec(pv).get("capacity") or {}).get("storage")
    return memory_bytes(size) if size is not None else 0


def has_access_modes(claim: Mapping, pv: Mapping) -> bool:
    """``CheckAccessModes``: every mode the claim asks for is one the volume offers."""
    offered = set(_spec(pv).get("accessModes") or ())
    return all(mode in offered for mode in _spec(claim).get("accessModes") or ())


def _volume_mode(obj: Mapping) -> str:
    return str(_spec(obj).get("volumeMode") or "Filesystem")


def is_bound_to_claim(pv: Mapping, claim: Mapping) -> bool:
    """``IsVolumeBoundToClaim``: claimRef names the claim (and its uid, when set)."""
    ref = _spec(pv).get("claimRef")
    if not ref:
        return False
    meta = claim.get("metadata") or {}
    if ref.get("name") != meta.get("name") or ref.get("namespace") != meta.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def check_volume_satisfies_claim(pv: Mapping, claim: Mapping) -> str | None:
    """``checkVolumeSatisfyClaim``: why ``pv`` cannot serve ``claim``, or None.

    The texts are upstream's, word for word; the PV controller puts them in
    the ``VolumeMismatch`` event ``Cannot bind to requested volume "NAME": TEXT``.
    """
    if (pv.get("metadata") or {}).get("deletionTimestamp"):
        return f'the volume is marked for deletion "{pv["metadata"]["name"]}"'
    if storage_capacity(pv) < storage_request(claim):
        return "requested PV is too small"
    if volume_class(pv) != claim_class(claim):
        return "storageClassName does not match"
    if (_spec(pv).get("volumeAttributesClassName") or "") != (
            _spec(claim).get("volumeAttributesClassName") or ""):
        return "volumeAttributesClassName does not match"
    if _volume_mode(pv) != _volume_mode(claim):
        return "incompatible volumeMode"
    if not has_access_modes(claim, pv):
        return "incompatible accessMode"
    return None


def _requirement_matches(expr: Mapping, labels: Mapping[str, str]) -> bool:
    key, op = expr.get("key", ""), expr.get("operator")
    values = [str(v) for v in expr.get("values") or ()]
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and len(values) == 1:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_affinity_matches(pv: Mapping, node_name: str, labels: Mapping[str, str]) -> bool:
    """``CheckNodeAffinity``: the node satisfies ``spec.nodeAffinity.required`` (terms ORed).

    Example:
        >>> pv = {"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{
        ...     "matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
        ...                           "values": ["node-2"]}]}]}}}}
        >>> node_affinity_matches(pv, "node-1", {"kubernetes.io/hostname": "node-1"})
        False
    """
    required = (_spec(pv).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    fields = {"metadata.name": node_name}
    for term in required.get("nodeSelectorTerms") or ():
        exprs = term.get("matchExpressions") or ()
        field_exprs = term.get("matchFields") or ()
        if not exprs and not field_exprs:
            continue  # an empty term matches nothing
        if (all(_requirement_matches(e, labels) for e in exprs)
                and all(_requirement_matches(e, fields) for e in field_exprs)):
            return True
    return False


def _selector_matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return True
    if any(labels.get(k) != str(v) for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_requirement_matches(e, labels) for e in selector.get("matchExpressions") or ())


def find_best_match(claim: Mapping, volumes: Iterable[Mapping], *, delay_binding: bool = False,
                    node: tuple[str, Mapping[str, str]] | None = None) -> Mapping | None:
    """``findBestMatchForClaim``: the volume ``claim`` should bind to, or None.

    Args:
        claim: the PersistentVolumeClaim.
        volumes: every PersistentVolume.
        delay_binding: the claim's class binds on first consumer: the PV
            controller leaves it to the scheduler (only pre-bound volumes match).
        node: ``(name, labels)`` when the scheduler asks for one node: the
            volume's node affinity must allow it.
    """
    wanted = set(_spec(claim).get("accessModes") or ())
    groups: dict[frozenset[str], list[Mapping]] = {}
    for pv in volumes:  # the access-mode index: volumes offering every mode asked for
        modes = frozenset(_spec(pv).get("accessModes") or ())
        if wanted <= modes:
            groups.setdefault(modes, []).append(pv)
    requested = storage_request(claim)
    cls = claim_class(claim)
    selector = _spec(claim).get("selector")
    for modes in sorted(groups, key=lambda m: (len(m), sorted(m))):
        best: Mapping | None = None
        for pv in groups[modes]:
            if (pv.get("metadata") or {}).get("deletionTimestamp"):
                continue
            if _volume_mode(pv) != _volume_mode(claim):
                continue
            size = storage_capacity(pv)
            if is_bound_to_claim(pv, claim):
                if size < requested:
                    continue
                if node is not None and not node_affinity_matches(pv, *node):
                    return None
                return pv
            if node is None and delay_binding:
                continue  # the scheduler binds it, for the node it picks
            if ((pv.get("status") or {}).get("phase") != "Available"
                    or _spec(pv).get("claimRef")
                    or not _selector_matches(selector, (pv.get("metadata") or {}).get("labels")
                                             or {})
                    or volume_class(pv) != cls):
                continue
            if node is not None and not node_affinity_matches(pv, *node):
                continue
            if size >= requested and (best is None or storage_capacity(best) > size):
                best = pv
        if best is not None:
            return best
    return None


def claim_names(pod: Mapping) -> list[str]:
    """The claims named by a pod's ``persistentVolumeClaim`` volumes, in order.

    Generic ``ephemeral`` volumes (whose claims the ephemeral volume
    controller creates) are not modelled: they are left out.
    """
    return [str(vol["persistentVolumeClaim"].get("claimName", ""))
            for vol in (pod.get("spec") or {}).get("volumes") or ()
            if vol.get("persistentVolumeClaim")]
