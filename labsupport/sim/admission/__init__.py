"""Admission: the plugins every write passes after defaulting, in kube-apiserver's order.

A create or update is decoded and defaulted, then *mutating* admission runs
(plugins may change the object), then validation, then *validating*
admission (plugins may only refuse). The default plugins of 1.37 run in the
order of ``AllOrderedPlugins`` (pkg/kubeapiserver/options/plugins.go); the
simulator models the ones a lesson can see:

- NamespaceLifecycle: no new objects in a missing or terminating namespace
  (in :meth:`APIServer.create`);
- LimitRanger: defaults from a LimitRange, then its min / max / ratio checks
  (:mod:`.limitranger`);
- Priority: ``spec.priority`` and ``spec.preemptionPolicy`` from the
  PriorityClass on create, one globalDefault class at most (:mod:`.priority`);
- DefaultTolerationSeconds: the 300 s not-ready / unreachable tolerations
  (:func:`labsupport.sim.defaults.add_default_tolerations`);
- DefaultStorageClass: a new claim that names no class gets the default
  StorageClass (:mod:`.defaultstorageclass`);
- PersistentVolumeClaimResize: a claim grows only when its StorageClass
  allows volume expansion;
- ResourceQuota, always last: refuses what would exceed a quota and charges
  the quota's ``status.used`` (:mod:`.resourcequota`).

Each plugin that changes or refuses an object leaves an ``admission`` step
in the audit log, so ``c.trace(...)`` shows it.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
    ...              "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}})
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.get("pod/p")["spec"]["containers"][0]["resources"]
    {'limits': {'cpu': '500m'}, 'requests': {'cpu': '500m'}}
    >>> for step in c.trace("pod/p"):
    ...     if step.action == "admission":
    ...         print(step.detail)  # doctest: +NORMALIZE_WHITESPACE
    LimitRanger: LimitRanger plugin set: cpu request for container app;
    cpu limit for container app
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import Forbidden
from labsupport.kinds import type_for_kind
from labsupport.sim.admission import limitranger
from labsupport.sim.admission import priority as prio
from labsupport.sim.admission import resourcequota as rq
from labsupport.sim.admission.defaultstorageclass import NAME as DEFAULT_STORAGE_CLASS
from labsupport.sim.admission.defaultstorageclass import set_default_class
from labsupport.sim.fielderrors import refused
from labsupport.sim.jsoncopy import json_copy

if TYPE_CHECKING:
    from labsupport.sim.apiserver import APIServer

__all__ = ["Admission", "DEFAULT_PLUGINS", "quota_used", "live_usage"]

#: The plugins a 1.37 kube-apiserver enables by default, in the order they run
#: (DefaultOffAdmissionPlugins subtracted from AllOrderedPlugins).
DEFAULT_PLUGINS = (
    "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "TaintNodesByCondition",
    "PodSecurity", "Priority", "DefaultTolerationSeconds", "DefaultStorageClass",
    "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "RuntimeClass",
    "CertificateApproval", "CertificateSigning", "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction", "DefaultIngressClass", "PodTopologyLabels",
    "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook", "ResourceQuota",
)


class Admission:
    """The simulated admission chain of one API server.

    :meth:`mutate` and :meth:`validate` return ``(plugin, note)`` pairs for
    the audit log; :meth:`validate` raises :class:`Forbidden` (with a
    ``plugin`` attribute) for a refusal. Quota charges are kept until
    :meth:`commit`, called once the object is stored.
    """

    def __init__(self, api: APIServer) -> None:
        self.api = api
        self._pending: list[tuple[str, dict]] = []

    # --- mutating -----------------------------------------------------------------
    def mutate(self, obj: dict, old: dict | None) -> list[tuple[str, str]]:
        """Mutating admission of ``obj`` (``old`` is None for a create)."""
        notes = []
        if obj["kind"] == "Pod" and old is None:
            # LimitRanger's SupportsAttributes: pods on create only (containers'
            # resources change through the resize subresource).
            for lr in self.api.list(_LIMIT_RANGE, obj["metadata"].get("namespace")):
                note = limitranger.mutate_pod(lr, obj)
                if note:
                    notes.append(("LimitRanger", note))
            # Priority (after LimitRanger in AllOrderedPlugins): admitPod on create;
            # on update APIServer.update keeps the priority set here.
            refusal, note = prio.admit_pod(self.api, obj)
            if refusal:
                raise self._forbidden(prio.PLUGIN, obj, refusal)
            if note:
                notes.append((prio.PLUGIN, note))
        if obj["kind"] == "PersistentVolumeClaim" and old is None:
            # DefaultStorageClass (after DefaultTolerationSeconds): a claim naming no class.
            note = set_default_class(obj, self.api.list(_STORAGE_CLASS))
            if note:
                notes.append((DEFAULT_STORAGE_CLASS, note))
        return notes

    # --- validating ---------------------------------------------------------------
    def validate(self, obj: dict, old: dict | None) -> list[tuple[str, str]]:
        """Validating admission: LimitRanger, PersistentVolumeClaimResize, ResourceQuota."""
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace")
        if kind == "PriorityClass":
            self._priority_class(obj, old)
        if kind == "Pod" and old is None or kind == "PersistentVolumeClaim":
            errs: list[str] = []
            for lr in self.api.list(_LIMIT_RANGE, ns):
                errs += (limitranger.validate_pod(lr, obj) if kind == "Pod"
                         else limitranger.validate_claim(lr, obj))
            if errs:
                raise self._forbidden("LimitRanger", obj, limitranger.aggregate(errs))
        if kind == "PersistentVolumeClaim" and old is not None:
            self._claim_resize(obj, old)
        if ns and self.api.type_of(kind, obj.get("apiVersion")).namespaced:
            return self._quota(obj, old)
        return []

    def _priority_class(self, pc: dict, old: dict | None) -> None:
        # API validation (ValidatePriorityClass), then the Priority plugin's Validate.
        errors = prio.validate_priority_class(pc, old)
        if errors:
            raise refused("PriorityClass", pc["metadata"]["name"], errors)
        refusal = prio.check_global_default(self.api, pc, old)
        if refusal:
            raise self._forbidden(prio.PLUGIN, pc, refusal)

    def _claim_resize(self, claim: dict, old: dict) -> None:
        # plugin/pkg/admission/storage/persistentvolume/resize: allowResize.
        def size(c: dict) -> float:
            value = ((c.get("spec") or {}).get("resources") or {}).get("requests", {}).get(
                "storage")
            return rq.usage({"spec": {"resources": {"requests": {"storage": value}}}},
                            "PersistentVolumeClaim").get("requests.storage", 0.0)
        if size(claim) <= size(old):
            return
        cls_name = (claim.get("spec") or {}).get("storageClassName")
        cls = self.api.get(_STORAGE_CLASS, None, cls_name) if cls_name else None
        if not cls or not cls.get("allowVolumeExpansion"):
            raise self._forbidden(
                "PersistentVolumeClaimResize", claim,
                "only dynamically provisioned pvc can be resized and the storageclass that "
                "provisions the pvc must support resize")

    def _quota(self, obj: dict, old: dict | None) -> list[tuple[str, str]]:
        ns = obj["metadata"]["namespace"]
        quotas = self.api.list(_QUOTA, ns)
        if not quotas:
            return []
        kind = obj["kind"]
        rt = self.api.type_of(kind, obj.get("apiVersion"))
        new_use = rq.usage(obj, kind, rt)
        old_use = rq.usage(old, kind, rt) if old is not None else {}
        delta = {k: v - old_use.get(k, 0.0) for k, v in new_use.items()
                 if v - old_use.get(k, 0.0) > 1e-12}
        notes = []
        for quota in quotas:
            hard = _amounts((quota.get("status") or {}).get("hard")
                            or (quota.get("spec") or {}).get("hard") or {})
            if not rq.matches(quota, obj, kind):
                continue
            names = rq.tracked(hard, new_use, kind)
            if not names:
                continue
            if kind == "Pod" and old is None:
                missing = rq.missing_message(obj, names)
                if missing:
                    raise self._forbidden("ResourceQuota", obj,
                                          f"failed quota: {quota['metadata']['name']}: {missing}",
                                          reason="FailedQuota")
            requested = {k: delta[k] for k in names if k in delta}
            if not requested:
                continue
            used = quota_used(self.api, quota)
            over = [k for k, v in requested.items() if used.get(k, 0.0) + v > hard[k] + 1e-9]
            if over:
                raise self._forbidden(
                    "ResourceQuota", obj,
                    f"exceeded quota: {quota['metadata']['name']}, "
                    f"requested: {rq.format_list({k: requested[k] for k in over})}, "
                    f"used: {rq.format_list({k: used.get(k, 0.0) for k in over})}, "
                    f"limited: {rq.format_list({k: hard[k] for k in over})}",
                    reason="ExceededQuota")
            new_used = dict(used)
            for k, v in requested.items():
                new_used[k] = new_used.get(k, 0.0) + v
            self._pending.append((self.api.key_of(quota), new_used))
            notes.append(("ResourceQuota", f"charged {quota['metadata']['name']}: "
                          f"{rq.format_list(requested)}"))
        return notes

    def commit(self, component: str = "kube-apiserver") -> None:
        """Write the quota charges of the object just stored into ``status.used``."""
        pending, self._pending = self._pending, []
        for key, used in pending:
            quota = self.api.store.peek(key)
            if quota is None:
                continue
            status = json_copy(quota.get("status") or {})
            hard = status.get("hard") or (quota.get("spec") or {}).get("hard") or {}
            status["hard"] = dict(hard)
            status["used"] = {k: rq.format_amount(k, used.get(k, 0.0)) for k in hard}
            self.api.update_status(quota, status, component, key=key)

    def discard(self) -> None:
        """Forget the charges of a write that failed after admission."""
        self._pending = []

    def _forbidden(self, plugin: str, obj: dict, message: str,
                   reason: str = "Forbidden") -> Forbidden:
        self._pending = []
        meta = obj["metadata"]
        rt = self.api.type_of(obj["kind"], obj.get("apiVersion"))
        resource = rt.plural + (f".{rt.group}" if rt.group else "")
        name = meta.get("name") or meta.get("generateName", "")
        err = Forbidden(f'{resource} "{name}" is forbidden: {message}', reason=reason)
        err.plugin = plugin  # type: ignore[attr-defined]
        return err


def quota_used(api: APIServer, quota: dict) -> dict[str, float]:
    """What the quota's ``status.used`` says; counted from the store while it is unknown.

    The real admission refuses with ``status unknown for quota`` until the
    quota controller has written ``status.used``; the simulated controller
    would write the same numbers, so admission counts them itself.
    """
    hard = (quota.get("spec") or {}).get("hard") or {}
    used = (quota.get("status") or {}).get("used") or {}
    if used and all(k in used for k in hard):
        return _amounts(used)
    return live_usage(api, quota)


def live_usage(api: APIServer, quota: dict) -> dict[str, float]:
    """``status.used`` of ``quota`` counted from the objects of its namespace."""
    from labsupport.kinds import resource_type

    ns = quota["metadata"]["namespace"]
    hard = list((quota.get("spec") or {}).get("hard") or {})
    kinds: dict[str, None] = {}
    for name in hard:
        if name.startswith("count/"):
            try:
                kinds[resource_type(name[len("count/"):]).kind] = None
            except (LookupError, ValueError):
                continue
        elif name in ("services", "services.nodeports", "services.loadbalancers"):
            kinds["Service"] = None
        elif name in ("persistentvolumeclaims", "requests.storage") or ".storageclass." in name:
            kinds["PersistentVolumeClaim"] = None
        elif name in ("configmaps", "secrets", "replicationcontrollers", "resourcequotas"):
            kinds[{"configmaps": "ConfigMap", "secrets": "Secret",
                   "replicationcontrollers": "ReplicationController",
                   "resourcequotas": "ResourceQuota"}[name]] = None
        else:
            kinds["Pod"] = None
    total = dict.fromkeys(hard, 0.0)
    for kind in kinds:
        rt = api.type_of(kind)
        for obj in api.list(rt, ns):
            if not rq.matches(quota, obj, kind):
                continue
            for k, v in rq.usage(obj, kind, rt).items():
                if k in total:
                    total[k] += v
    return total


def _amounts(hard: dict) -> dict[str, float]:
    from labsupport.quantity import parse_quantity

    return {k: parse_quantity(v) for k, v in hard.items()}


_LIMIT_RANGE = type_for_kind("LimitRange")
_QUOTA = type_for_kind("ResourceQuota")
_STORAGE_CLASS = type_for_kind("StorageClass")
