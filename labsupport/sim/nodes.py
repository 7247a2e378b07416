"""Node objects as a kubelet registers them: labels, capacity, conditions, addresses.

Example:
    >>> from labsupport.sim.nodes import node_object
    >>> n = node_object("node-1", 1, cpu="4", memory="8Gi", max_pods=110,
    ...                 now="2025-01-01T00:00:00Z")
    >>> n["status"]["allocatable"]["pods"], n["metadata"]["labels"]["kubernetes.io/hostname"]
    ('110', 'node-1')
    >>> [c["type"] for c in n["status"]["conditions"]]
    ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']
"""

from __future__ import annotations

from labsupport.errors import Invalid
from labsupport.version import KUBERNETES_RELEASE

__all__ = ["node_object", "healthy_condition", "KUBELET_VERSION", "extended_resources"]

#: The Kubernetes version the simulated kubelets report (kind's node image).
KUBELET_VERSION = KUBERNETES_RELEASE

# What the kubelets of kind v0.33.0's node image report: the image is built
# FROM debian:trixie-slim with containerd v2.3.4 (kind images/base/Dockerfile,
# base image v20260820). Since 1.33 the kubelet leaves
# nodeInfo.kubeProxyVersion empty (DisableNodeKubeProxyVersion on by default,
# KEP-4004). NodeSystemInfo's string fields have no omitempty (core/v1
# types.go), so the API shows it as "" (the official client requires it, and
# machineID, systemUUID and bootID, which are made from the node's name here).
_RUNTIME = "containerd://2.3.4"
_OS_IMAGE = "Debian GNU/Linux 13 (trixie)"

_HEALTHY = {
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
    "MemoryPressure": ("False", "KubeletHasSufficientMemory",
                       "kubelet has sufficient memory available"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
}


def healthy_condition(type_: str, now: str) -> dict:
    """A node condition of a healthy kubelet (Ready True, no pressure)."""
    status, reason, message = _HEALTHY[type_]
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": now}


def _hex(name: str, what: str) -> str:
    """Hex digits that depend on the node's name only (the same run gives the same)."""
    import hashlib

    return hashlib.sha256(f"{what}:{name}".encode()).hexdigest()


def _uuid(digits: str) -> str:
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:32]}"


def extended_resources(extended: object) -> dict[str, str]:
    """Check the ``extended=`` argument of ``add_node``; return it as capacity strings.

    Extended resources are advertised by a device plugin (or a PATCH of the
    node's status) in ``status.capacity`` and ``status.allocatable``: whole
    numbers under a fully qualified name outside ``kubernetes.io/``.

    Example:
        >>> extended_resources({"nvidia.com/gpu": 2})
        {'nvidia.com/gpu': '2'}
    """
    from labsupport.sim.scheduler.podinfo import is_extended_resource_name, milli_value

    if not isinstance(extended, dict):
        raise Invalid('extended must map resource names to counts, e.g. '
                      f'extended={{"nvidia.com/gpu": 2}}; got {extended!r}')
    out = {}
    for name, count in extended.items():
        if not isinstance(name, str) or not is_extended_resource_name(name):
            raise Invalid(f"{name!r} is not an extended resource name: use a fully qualified "
                          'name outside kubernetes.io, e.g. "nvidia.com/gpu" or '
                          '"example.com/foo"')
        try:
            milli = milli_value(count)
        except Invalid:
            milli = -1
        if isinstance(count, bool) or milli < 0 or milli % 1000:
            raise Invalid(f"extended[{name!r}] must be a whole number of at least 0 (extended "
                          f"resources are counted in units, e.g. 2); got {count!r}")
        out[name] = str(milli // 1000)
    return out


def node_object(name: str, index: int, *, cpu: str | int | float, memory: str | int,
                max_pods: int, now: str, labels: dict | None = None,
                taints: list[dict] | None = None, extended: dict | None = None) -> dict:
    """The Node a simulated kubelet registers: node ``index`` gets 10.244.<index>.0/24.

    ``extended`` adds extended resources (``{"nvidia.com/gpu": 2}``) to its
    capacity and allocatable, as a device plugin would.
    """
    # What a kind node on an x86-64 host lists: hugepages of both sizes, none
    # pre-allocated; ephemeral-storage is the host's disk (here 100Gi).
    alloc = {"cpu": str(cpu), "memory": str(memory), "pods": str(max_pods),
             "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
             **extended_resources(extended or {})}
    spec: dict = {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"],
                  "providerID": f"kind://docker/sim/{name}"}
    if taints:
        spec["taints"] = list(taints)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                       "kubernetes.io/os": "linux", **(labels or {})},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": spec,
        "status": {
            "capacity": dict(alloc),
            "allocatable": dict(alloc),
            "conditions": [healthy_condition(t, now) for t in
                           ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")],
            "addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 2}"},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": _hex(name, "machine")[:32],
                         "systemUUID": _uuid(_hex(name, "system")),
                         "bootID": _uuid(_hex(name, "boot")),
                         "architecture": "amd64", "operatingSystem": "linux",
                         "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
                         "containerRuntimeVersion": _RUNTIME,
                         "osImage": _OS_IMAGE, "kernelVersion": "6.8.0"},
        },
    }
