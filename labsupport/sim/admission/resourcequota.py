"""ResourceQuota: what an object costs a namespace, and the admission check.

Each ResourceQuota lists ``spec.hard`` limits; the quota controller keeps
``status.hard`` and ``status.used`` current, and the ResourceQuota admission
plugin (the last one to run) refuses a create that would take ``used`` over
``hard``. The texts are upstream's
(staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go,
pkg/quota/v1/evaluator/core/pods.go ``Constraints``).

Example:
    >>> pod = {"spec": {"containers": [{"name": "web", "resources": {
    ...     "requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}}]}}
    >>> u = usage(pod, "Pod")
    >>> u["pods"], u["requests.cpu"], u["limits.cpu"]
    (1.0, 0.25, 1.0)
    >>> missing_message(pod, ["limits.memory", "requests.cpu"])
    'must specify limits.memory for: web'
"""

from __future__ import annotations

from collections.abc import Iterable

from labsupport.kinds import ResourceType
from labsupport.quantity import canonical, parse_quantity

__all__ = ["usage", "qos_class", "matches", "tracked", "missing_message", "format_list",
           "pod_counts", "POD_COMPUTE"]

#: ``validationSet`` in pods.go: quota on these makes every container state them.
POD_COMPUTE = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
               "limits.memory")
_STORAGE_CLASS = ".storageclass.storage.k8s.io/"
_COUNTED = {"Service": "services", "ConfigMap": "configmaps", "Secret": "secrets",
            "PersistentVolumeClaim": "persistentvolumeclaims",
            "ReplicationController": "replicationcontrollers",
            "ResourceQuota": "resourcequotas", "Pod": "pods"}


def qos_class(spec: dict) -> str:
    """The pod's QoS class: Guaranteed, Burstable or BestEffort.

    Example:
        >>> qos_class({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]})
        'Guaranteed'
        >>> qos_class({"containers": [{"resources": {}}]})
        'BestEffort'
    """
    containers = list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and parse_quantity(req[r]) != parse_quantity(lim[r])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_counts(pod: dict) -> bool:
    """``QuotaV1Pod``: a pod counts unless it has finished (Succeeded or Failed)."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _pod_amounts(pod: dict, field: str) -> dict[str, float]:
    # resourcehelper.PodRequests / PodLimits: containers summed, init containers as
    # a max (sidecars, restartPolicy Always, add to the sum), plus overhead.
    spec = pod.get("spec") or {}
    total: dict[str, float] = {}
    for c in spec.get("containers") or ():
        for k, v in ((c.get("resources") or {}).get(field) or {}).items():
            total[k] = total.get(k, 0.0) + parse_quantity(v)
    for c in spec.get("initContainers") or ():
        for k, v in ((c.get("resources") or {}).get(field) or {}).items():
            if c.get("restartPolicy") == "Always":
                total[k] = total.get(k, 0.0) + parse_quantity(v)
            else:
                total[k] = max(total.get(k, 0.0), parse_quantity(v))
    for k, v in (spec.get("overhead") or {}).items():
        if k in total:
            total[k] += parse_quantity(v)
    return total


def usage(obj: dict, kind: str, rt: ResourceType | None = None) -> dict[str, float]:
    """What ``obj`` counts against a quota, by resource name (cores, bytes, counts)."""
    out: dict[str, float] = {}
    if rt is not None:
        out[f"count/{rt.plural}" + (f".{rt.group}" if rt.group else "")] = 1.0
    if kind == "Pod":
        if not pod_counts(obj):
            return {}
        out["pods"] = out["count/pods"] = 1.0
        for k, v in _pod_amounts(obj, "requests").items():
            out[f"requests.{k}"] = v
            if k in ("cpu", "memory", "ephemeral-storage"):
                out[k] = v
        for k, v in _pod_amounts(obj, "limits").items():
            if k in ("cpu", "memory", "ephemeral-storage"):
                out[f"limits.{k}"] = v
        return out
    name = _COUNTED.get(kind)
    if name:
        out[name] = 1.0
    if kind == "Service":
        spec = obj.get("spec") or {}
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            out["services.nodeports"] = float(len(spec.get("ports") or ()))
        if spec.get("type") == "LoadBalancer":
            out["services.loadbalancers"] = 1.0
    elif kind == "PersistentVolumeClaim":
        spec = obj.get("spec") or {}
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        value = parse_quantity(size) if size is not None else 0.0
        out["requests.storage"] = value
        cls = spec.get("storageClassName")
        if cls:
            out[f"{cls}{_STORAGE_CLASS}requests.storage"] = value
            out[f"{cls}{_STORAGE_CLASS}persistentvolumeclaims"] = 1.0
    return out


def _scope_matches(pod: dict, scope: str, operator: str = "Exists",
                   values: Iterable[str] = ()) -> bool:
    spec = pod.get("spec") or {}
    if scope == "Terminating":
        return spec.get("activeDeadlineSeconds") is not None
    if scope == "NotTerminating":
        return spec.get("activeDeadlineSeconds") is None
    if scope == "BestEffort":
        return qos_class(spec) == "BestEffort"
    if scope == "NotBestEffort":
        return qos_class(spec) != "BestEffort"
    if scope == "PriorityClass":
        name = spec.get("priorityClassName") or ""
        if operator == "In":
            return name in values
        if operator == "NotIn":
            return name not in values
        if operator == "Exists":
            return name != ""
        return name == ""  # DoesNotExist
    if scope == "CrossNamespacePodAffinity":
        affinity = spec.get("affinity") or {}
        terms = []
        for key in ("podAffinity", "podAntiAffinity"):
            a = affinity.get(key) or {}
            terms += a.get("requiredDuringSchedulingIgnoredDuringExecution") or []
            terms += [t.get("podAffinityTerm") or {}
                      for t in a.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        return any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms)
    return False


def matches(quota: dict, obj: dict, kind: str) -> bool:
    """Whether ``quota``'s scopes select ``obj`` (a scoped quota only ever selects pods)."""
    spec = quota.get("spec") or {}
    scopes = [(s, "Exists", ()) for s in spec.get("scopes") or ()]
    for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or ():
        scopes.append((e.get("scopeName"), e.get("operator", "In"), e.get("values") or ()))
    if not scopes:
        return True
    return kind == "Pod" and all(_scope_matches(obj, *s) for s in scopes)


def tracked(hard: Iterable[str], use: dict[str, float], kind: str) -> list[str]:
    """The names of ``hard`` that an object of ``kind`` is counted in."""
    out = []
    for name in hard:
        if name in use:
            out.append(name)
        elif kind == "Pod" and (name in POD_COMPUTE or name.startswith("requests.")
                                or name in ("pods", "count/pods")):
            out.append(name)
        elif kind == "PersistentVolumeClaim" and (name == "requests.storage"
                                                  or _STORAGE_CLASS in name):
            out.append(name)
    return out


def missing_message(pod: dict, required: Iterable[str]) -> str | None:
    """``podEvaluator.Constraints``: ``must specify limits.cpu for: web; ...`` or None."""
    need = sorted(set(required) & set(POD_COMPUTE))
    if not need:
        return None
    missing: dict[str, list[str]] = {}
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or ()) + list(spec.get("initContainers") or ()):
        res = c.get("resources") or {}
        has = set()
        for r in ("cpu", "memory"):
            if r in (res.get("requests") or {}):
                has |= {r, f"requests.{r}"}
            if r in (res.get("limits") or {}):
                has.add(f"limits.{r}")
        for name in need:
            if name not in has:
                missing.setdefault(name, []).append(c.get("name", ""))
    if not missing:
        return None
    return "must specify " + "; ".join(
        f"{name} for: {','.join(sorted(set(who)))}" for name, who in sorted(missing.items()))


def format_list(amounts: dict[str, float], like: dict[str, str] | None = None) -> str:
    """``prettyPrint``: ``name=value`` pairs sorted by name, joined by commas."""
    return ",".join(f"{k}={format_amount(k, amounts[k])}" for k in sorted(amounts))


def format_amount(name: str, value: float) -> str:
    """A quantity as the API server prints it (``resource.Quantity.String()``)."""
    base = name.rsplit("/", 1)[-1].rsplit(".", 1)[-1] if "." in name else name
    if base in ("memory", "storage", "ephemeral-storage"):
        if value == int(value) and value >= 1024 and int(value) % 1024 == 0:
            return canonical(f"{int(value) // 1024}Ki")
        return canonical(repr(value) if value != int(value) else str(int(value)))
    if value == int(value):
        return canonical(str(int(value)))
    return canonical(f"{round(value * 1000)}m")
