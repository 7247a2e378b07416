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

from labsupport.version import KUBERNETES_RELEASE

__all__ = ["node_object", "healthy_condition", "KUBELET_VERSION"]

#: The Kubernetes version the simulated kubelets report (kind's node image).
KUBELET_VERSION = KUBERNETES_RELEASE

# What the kubelets of kind v0.33.0's node image report: the image is built
# FROM debian:trixie-slim with containerd v2.3.4 (kind images/base/Dockerfile,
# base image v20260820). Since 1.33 the kubelet leaves
# nodeInfo.kubeProxyVersion empty (DisableNodeKubeProxyVersion on by default,
# KEP-4004), so the field is not written.
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


def node_object(name: str, index: int, *, cpu: str | int | float, memory: str | int,
                max_pods: int, now: str, labels: dict | None = None,
                taints: list[dict] | None = None) -> dict:
    """The Node a simulated kubelet registers: node ``index`` gets 10.244.<index>.0/24."""
    alloc = {"cpu": str(cpu), "memory": str(memory), "pods": str(max_pods),
             "ephemeral-storage": "100Gi", "hugepages-2Mi": "0"}
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
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                         "kubeletVersion": KUBELET_VERSION,
                         "containerRuntimeVersion": _RUNTIME,
                         "osImage": _OS_IMAGE, "kernelVersion": "6.8.0"},
        },
    }
