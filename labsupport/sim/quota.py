"""ResourceQuota admission: a namespace's budget of pods, CPU and memory.

When a namespace has a ResourceQuota, the API server refuses a pod that would
take the namespace over its ``spec.hard`` limits, with the message a real
cluster gives. A quota on ``requests.cpu`` also makes CPU requests mandatory
for new pods in that namespace.

Example:
    >>> from labsupport.sim.quota import pod_usage
    >>> pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "250m"},
    ...                                               "limits": {"cpu": "1"}}}]}}
    >>> pod_usage(pod)["requests.cpu"], pod_usage(pod)["limits.cpu"], pod_usage(pod)["pods"]
    (0.25, 1.0, 1.0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import Forbidden
from labsupport.kinds import type_for_kind
from labsupport.quantity import format_cpu, format_memory, parse_quantity

if TYPE_CHECKING:
    from labsupport.sim.apiserver import APIServer

__all__ = ["check_quota", "pod_usage", "namespace_usage", "qos_class"]

_ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
_TRACKED = ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def pod_usage(pod: dict) -> dict[str, float]:
    """What one pod counts against a quota (cores and bytes)."""
    use = {"pods": 1.0, "requests.cpu": 0.0, "requests.memory": 0.0,
           "limits.cpu": 0.0, "limits.memory": 0.0}
    spec = pod.get("spec") or {}
    for c in spec.get("containers") or ():
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                value = (res.get(kind) or {}).get(resource)
                if value is not None:
                    use[f"{kind}.{resource}"] += parse_quantity(value)
    return use


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


def _missing(pod: dict, name: str) -> bool:
    kind, resource = name.split(".")
    return any(((c.get("resources") or {}).get(kind) or {}).get(resource) is None
               for c in (pod.get("spec") or {}).get("containers") or ())


def namespace_usage(api: APIServer, namespace: str) -> dict[str, float]:
    """Current use of the quota-tracked resources by the pods of a namespace."""
    total = dict.fromkeys(_TRACKED, 0.0)
    for pod in api.list(_POD, namespace):
        if pod["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        for k, v in pod_usage(pod).items():
            total[k] += v
    return total


def _fmt(name: str, value: float) -> str:
    if name.endswith("cpu"):
        return format_cpu(value)
    if name.endswith("memory"):
        return format_memory(value)
    return str(int(value))


def check_quota(api: APIServer, pod: dict) -> None:
    """Refuse ``pod`` if a ResourceQuota of its namespace would be exceeded.

    Raises:
        Forbidden: with the real message, e.g. ``pods "web-x" is forbidden:
            exceeded quota: compute, requested: requests.cpu=500m, used:
            requests.cpu=1500m, limited: requests.cpu=2``.
    """
    ns = pod["metadata"].get("namespace", "default")
    quotas = api.list(_QUOTA, ns)
    if not quotas:
        return
    name = pod["metadata"].get("name") or pod["metadata"].get("generateName", "")
    want = pod_usage(pod)
    used = None
    for quota in quotas:
        hard = {_ALIASES.get(k, k): parse_quantity(v)
                for k, v in (quota.get("spec") or {}).get("hard", {}).items()}
        tracked = [k for k in hard if k in _TRACKED]
        missing = [k for k in tracked if k != "pods" and _missing(pod, k)]
        if missing:
            raise Forbidden(
                f'pods "{name}" is forbidden: failed quota: {quota["metadata"]["name"]}: '
                f"must specify {','.join(sorted(missing))}. Set resources."
                f"{missing[0].split('.')[0]} in every container of the pod template.",
                reason="FailedQuota")
        if used is None:
            used = namespace_usage(api, ns)
        over = [k for k in tracked if used[k] + want[k] > hard[k] + 1e-9]
        if over:
            req = ",".join(f"{k}={_fmt(k, want[k])}" for k in sorted(over))
            use = ",".join(f"{k}={_fmt(k, used[k])}" for k in sorted(over))
            lim = ",".join(f"{k}={_fmt(k, hard[k])}" for k in sorted(over))
            raise Forbidden(
                f'pods "{name}" is forbidden: exceeded quota: {quota["metadata"]["name"]}, '
                f"requested: {req}, used: {use}, limited: {lim}", reason="ExceededQuota")


_POD = type_for_kind("Pod")
_QUOTA = type_for_kind("ResourceQuota")
