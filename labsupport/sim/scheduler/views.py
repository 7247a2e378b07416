"""What a plugin sees: the pod being scheduled and one node, read-only.

Upstream plugins receive the ``*v1.Pod`` and a ``NodeInfo`` (the node and what
its pods request, pkg/scheduler/framework/types.go). Here they receive a
:class:`PodView` and a :class:`NodeView`, with amounts as the scheduler
counts them: milli-CPU and bytes, integers.

Example:
    >>> from labsupport.sim.scheduler.views import PodView
    >>> pod = PodView.of({"metadata": {"name": "web-1", "labels": {"app": "web"}},
    ...     "spec": {"containers": [{"resources": {"requests": {"cpu": "250m"}}}]}})
    >>> pod, pod.requests["cpu"], pod.labels["app"]
    (<PodView default/web-1 cpu 250m memory 0>, 250, 'web')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from labsupport.sim.scheduler.podinfo import PodProfile, profile_of

__all__ = ["PodView", "NodeView"]


class PodView:
    """The pod being scheduled, as plugins read it.

    Attributes:
        name: ``metadata.name`` ("" when the object has none).
        namespace: ``metadata.namespace`` ("default" when unset).
        labels: ``metadata.labels``.
        annotations: ``metadata.annotations``.
        spec: the pod's ``spec`` (read-only: do not change it).
        requests: ``{"cpu": milli-CPU, "memory": bytes}`` the pod requests
            (init containers and overhead included, as NodeResourcesFit counts).
        nonzero_requests: the same, with 100m / 200Mi for containers that
            request nothing (what the resource scores use).
        node_name: ``spec.nodeName`` ("" when unset).
        snapshot: the scheduler's cache this cycle reads (a
            :class:`~labsupport.sim.scheduler.nodetable.NodeTable`: every node,
            the pods on it, the listers), or None outside a cycle.
        state: what plugins keep for this pod during one cycle (upstream's
            ``CycleState``): a PreFilter writes, its Filter reads.
    """

    __slots__ = ("obj", "profile", "snapshot", "state")

    def __init__(self, obj: dict, profile: PodProfile, snapshot: Any = None) -> None:
        self.obj = obj
        self.profile = profile
        self.snapshot = snapshot
        self.state: dict[str, Any] = {}

    @classmethod
    def of(cls, pod: dict) -> PodView:
        """The view of a Pod object dict."""
        return cls(pod, profile_of(pod))

    @property
    def name(self) -> str:
        """``metadata.name``."""
        return str((self.obj.get("metadata") or {}).get("name") or "")

    @property
    def namespace(self) -> str:
        """``metadata.namespace``, "default" when unset."""
        return str((self.obj.get("metadata") or {}).get("namespace") or "default")

    @property
    def key(self) -> str:
        """``namespace/name``, as kube-scheduler names a pod in its messages."""
        return f"{self.namespace}/{self.name}" if self.name else ""

    @property
    def labels(self) -> Mapping[str, str]:
        """``metadata.labels``."""
        return MappingProxyType((self.obj.get("metadata") or {}).get("labels") or {})

    @property
    def annotations(self) -> Mapping[str, str]:
        """``metadata.annotations``."""
        return MappingProxyType((self.obj.get("metadata") or {}).get("annotations") or {})

    @property
    def spec(self) -> Mapping[str, Any]:
        """The pod's ``spec``."""
        return MappingProxyType(self.obj.get("spec") or {})

    @property
    def requests(self) -> Mapping[str, int]:
        """Milli-CPU and bytes requested, as NodeResourcesFit's Filter counts them."""
        return MappingProxyType({"cpu": self.profile.cpu, "memory": self.profile.memory})

    @property
    def nonzero_requests(self) -> Mapping[str, int]:
        """Requests with the 100m / 200Mi defaults, as the resource scores count them."""
        return MappingProxyType({"cpu": self.profile.nonzero_cpu,
                                 "memory": self.profile.nonzero_memory})

    @property
    def node_name(self) -> str:
        """``spec.nodeName``, "" when unset."""
        return str((self.obj.get("spec") or {}).get("nodeName") or "")

    def __repr__(self) -> str:
        return (f"<PodView {self.key or '(no name)'} cpu {self.profile.cpu}m "
                f"memory {self.profile.memory}>")


@dataclass(frozen=True)
class NodeView:
    """One node and what is bound to it, as plugins read it (``NodeInfo``).

    Attributes:
        name: the node's name.
        labels: its labels.
        taints: ``(key, value, effect)`` of each taint.
        unschedulable: ``spec.unschedulable`` (cordoned).
        allocatable: ``{"cpu": milli-CPU, "memory": bytes, "pods": count}``,
            plus every other resource the node lists (``"ephemeral-storage"``,
            ``"nvidia.com/gpu"``, ``"hugepages-2Mi"``...) as a whole number.
        requested: what its pods request, same keys (``NodeInfo.Requested``);
            a resource no pod requests may be absent.
        nonzero_requested: ``{"cpu", "memory"}`` with the 100m / 200Mi
            defaults (``NodeInfo.NonZeroRequested``).
        host_ports: ``(protocol, port) -> host IPs`` in use on the node.

    Example:
        >>> n = NodeView("node-1", {}, (), False, {"cpu": 4000, "memory": 8, "pods": 110},
        ...              {"cpu": 1500, "memory": 2, "pods": 3}, {"cpu": 1500, "memory": 2})
        >>> n.free["cpu"], n
        (2500, <NodeView node-1 cpu 1500m/4000m pods 3/110>)
    """

    name: str
    labels: Mapping[str, str]
    taints: tuple[tuple[str, str, str], ...]
    unschedulable: bool
    allocatable: Mapping[str, int]
    requested: Mapping[str, int]
    nonzero_requested: Mapping[str, int]
    host_ports: Mapping[tuple[str, int], frozenset[str]] = field(default_factory=dict)

    @property
    def free(self) -> dict[str, int]:
        """``allocatable - requested`` per resource."""
        return {k: self.allocatable[k] - self.requested.get(k, 0) for k in self.allocatable}

    def __repr__(self) -> str:
        return (f"<NodeView {self.name} cpu {self.requested['cpu']}m/"
                f"{self.allocatable['cpu']}m pods {self.requested['pods']}/"
                f"{self.allocatable['pods']}>")
