"""Update validation: the fields the API server does not let an update change.

Some fields are fixed once an object exists, because controllers rely on
them: a Deployment finds its ReplicaSets by its selector, a Service's
clusterIP is remembered by every client, a pod's containers are already
running. An update that changes one is refused with the API server's own
words (pkg/apis/*/validation: ``ValidateDeploymentUpdate``,
``ValidatePodUpdate``, ``ValidateServiceUpdate``, ``ValidateJobSpecUpdate``,
``ValidatePersistentVolumeClaimUpdate``, ``ValidateConfigMapUpdate``,
``ValidateSecretUpdate``, ``ValidateStatefulSetUpdate``).

Example:
    >>> old = {"kind": "Deployment", "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    >>> new = {"kind": "Deployment", "spec": {"selector": {"matchLabels": {"app": "web2"}}}}
    >>> [str(e) for e in validate_update(old, new)]
    ['spec.selector: Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable']
"""

from __future__ import annotations

from collections.abc import Callable

from labsupport.quantity import parse_quantity
from labsupport.sim.fielderrors import IMMUTABLE, FieldError, selector_value

__all__ = ["validate_update", "POD_UPDATABLE_FIELDS"]

#: ValidatePodUpdate: what an update of a pod's spec may change.
POD_UPDATABLE_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)",
)
_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _selector(old: dict, new: dict) -> list[FieldError]:
    # ValidateImmutableField(newSpec.Selector, oldSpec.Selector, spec.selector)
    a = (old.get("spec") or {}).get("selector")
    b = (new.get("spec") or {}).get("selector")
    if selector_value(a) != selector_value(b):
        return [FieldError.invalid("spec.selector", selector_value(b), IMMUTABLE)]
    return []


def _statefulset(old: dict, new: dict) -> list[FieldError]:
    a = {k: v for k, v in (old.get("spec") or {}).items() if k not in _STATEFULSET_MUTABLE}
    b = {k: v for k, v in (new.get("spec") or {}).items() if k not in _STATEFULSET_MUTABLE}
    if a != b:
        return [FieldError.forbidden(
            "spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
            "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
            "'minReadySeconds' are forbidden")]
    return []


def _pod(old: dict, new: dict) -> list[FieldError]:
    a, b = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    # What may change is copied from the new spec into the old one; anything else
    # that differs is refused (ValidatePodUpdate's mungedPodSpec).
    munged = dict(b)
    for field in ("containers", "initContainers"):
        if field not in b:
            continue
        olds = {c.get("name"): c for c in a.get(field) or ()}
        munged[field] = [dict(c, image=olds.get(c.get("name"), c).get("image"))
                         for c in b.get(field) or ()]
    munged["activeDeadlineSeconds"] = a.get("activeDeadlineSeconds")
    if b.get("activeDeadlineSeconds") is None and a.get("activeDeadlineSeconds") is None:
        munged.pop("activeDeadlineSeconds")
    errors: list[FieldError] = []
    old_tol = a.get("tolerations") or []
    new_tol = b.get("tolerations") or []
    if all(t in new_tol for t in old_tol):
        munged["tolerations"] = a.get("tolerations")
        if "tolerations" not in a:
            munged.pop("tolerations")
    grace_old, grace_new = a.get("terminationGracePeriodSeconds"), b.get(
        "terminationGracePeriodSeconds")
    if grace_old is not None and grace_old < 0 and grace_new == 1:
        munged["terminationGracePeriodSeconds"] = grace_old
    if a.get("nodeName") and not b.get("nodeName"):
        munged["nodeName"] = a["nodeName"]
    if munged != a:
        changed = sorted(k for k in set(a) | set(munged) if a.get(k) != munged.get(k))
        errors.append(FieldError.forbidden(
            "spec", "pod updates may not change fields other than "
            + ",".join(POD_UPDATABLE_FIELDS) + "\n" + _diff(a, munged, changed)))
    return errors


def _diff(old: dict, new: dict, fields: list[str]) -> str:
    # Upstream appends cmp.Diff(old, new) of the whole core.PodSpec; the simulator
    # shows only the fields that differ, in the same -/+ form.
    from labsupport.sim.fielderrors import render_value

    lines = ["  core.PodSpec{"]
    for f in fields:
        if f in old:
            lines.append(f"- \t{f}: {render_value(old.get(f))},")
        if f in new:
            lines.append(f"+ \t{f}: {render_value(new.get(f))},")
    lines.append("  }")
    return "\n".join(lines)


def _service(old: dict, new: dict) -> list[FieldError]:
    a, b = old.get("spec") or {}, new.get("spec") or {}
    errors = []
    # validateUpgradeDowngradeClusterIPs: the primary cluster IP may not change.
    if (a.get("type") != "ExternalName" and b.get("type") != "ExternalName"
            and a.get("clusterIPs") and b.get("clusterIPs")
            and a["clusterIPs"][0] != b["clusterIPs"][0]):
        errors.append(FieldError.invalid("spec.clusterIPs[0]", b["clusterIPs"],
                                         "may not change once set"))
    if b.get("type") == "ExternalName" and not b.get("externalName"):
        errors.append(FieldError.required("spec.externalName"))
    return errors


def _job(old: dict, new: dict) -> list[FieldError]:
    errors = _selector(old, new)
    a, b = old.get("spec") or {}, new.get("spec") or {}
    if a.get("template") != b.get("template"):
        errors.append(FieldError.invalid("spec.template", b.get("template"), IMMUTABLE))
    for field in ("completions", "completionMode", "podFailurePolicy", "backoffLimitPerIndex",
                  "managedBy"):
        if field == "completions" and b.get("completionMode") == "Indexed":
            continue  # elastic indexed Jobs: completions may follow parallelism
        if a.get(field) != b.get(field):
            errors.append(FieldError.invalid(f"spec.{field}", b.get(field), IMMUTABLE))
    return errors


def _claim(old: dict, new: dict) -> list[FieldError]:
    a, b = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    bound = (old.get("status") or {}).get("phase") == "Bound"
    size_a = (a.get("resources") or {}).get("requests", {}).get("storage")
    size_b = (b.get("resources") or {}).get("requests", {}).get("storage")
    same = dict(b)
    if bound:
        # Bound claims may change resources.requests and volumeAttributesClassName.
        same["resources"] = dict(b.get("resources") or {},
                                 requests=(a.get("resources") or {}).get("requests"))
        if "volumeAttributesClassName" in a or "volumeAttributesClassName" in b:
            same["volumeAttributesClassName"] = a.get("volumeAttributesClassName")
    if (a.get("volumeName") in (None, "") and b.get("volumeName")):
        same["volumeName"] = a.get("volumeName")  # binding fills it in
        if "volumeName" not in a:
            same.pop("volumeName")
    if {k: v for k, v in same.items() if v is not None} != \
            {k: v for k, v in a.items() if v is not None}:
        return [FieldError.forbidden(
            "spec", "spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims")]
    if bound and size_a is not None and size_b is not None:
        capacity = ((old.get("status") or {}).get("capacity") or {}).get("storage", size_a)
        if parse_quantity(size_b) < parse_quantity(size_a) and \
                parse_quantity(size_b) <= parse_quantity(capacity):
            return [FieldError.forbidden("spec.resources.requests.storage",
                                         "field can not be less than status.capacity")]
    return []


def _immutable_data(old: dict, new: dict) -> list[FieldError]:
    errors = []
    if new.get("kind") == "Secret" and (old.get("type") or "Opaque") != (
            new.get("type") or "Opaque"):
        errors.append(FieldError.invalid("type", new.get("type"), IMMUTABLE))
    if not old.get("immutable"):
        return errors
    detail = "field is immutable when `immutable` is set"
    if not new.get("immutable"):
        errors.append(FieldError.forbidden("immutable", detail))
    for field in ("data", "binaryData", "stringData"):
        if (old.get(field) or None) != (new.get(field) or None):
            errors.append(FieldError.forbidden(field, detail))
    return errors


_BY_KIND: dict[str, Callable[[dict, dict], list[FieldError]]] = {
    "Deployment": _selector,
    "ReplicaSet": _selector,
    "DaemonSet": _selector,
    "StatefulSet": _statefulset,
    "Pod": _pod,
    "Service": _service,
    "Job": _job,
    "PersistentVolumeClaim": _claim,
    "ConfigMap": _immutable_data,
    "Secret": _immutable_data,
}


def validate_update(old: dict, new: dict) -> list[FieldError]:
    """What ``new`` changes that an update may not change ([] when nothing)."""
    check = _BY_KIND.get(new.get("kind", ""))
    return check(old, new) if check is not None else []
