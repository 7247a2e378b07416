"""NodeResourcesFit: does the pod fit in what the node has left, and how well.

Upstream: pkg/scheduler/framework/plugins/noderesources/fit.go. Filter
(``fitsRequest``): one more pod must be allowed (``len(pods) + 1 >
allowedPodNumber`` fails), and each resource the pod requests must fit in
``allocatable - requested``: cpu, memory, ephemeral-storage, then the scalar
resources (extended resources such as ``nvidia.com/gpu``, hugepages); a
resource the node does not list has 0 allocatable. A resource not requested
is not checked, and every failing one gives a reason ("Insufficient
nvidia.com/gpu"), in this order (upstream visits the scalar resources in Go
map order; here by name: the FailedScheduling message sorts them anyway).
Extended resources named in ``ignored_resources`` (or whose prefix before "/"
is in ``ignored_resource_groups``) are not checked (NodeResourcesFitArgs
``ignoredResources`` / ``ignoredResourceGroups``). Score: the scoring strategy
(LeastAllocated by default), on requests counted with the 100m / 200Mi
defaults for containers that set none, over cpu and memory only (the
strategy's default ``resources``): other resources do not change the score.
Both use the pod's effective request
(init containers, sidecars, overhead: :func:`~labsupport.sim.scheduler.podinfo.pod_requests`).

Example:
    >>> from labsupport.sim.scheduler.plugins.noderesources.fit import NodeResourcesFit
    >>> from labsupport.sim.scheduler.views import NodeView, PodView
    >>> node = NodeView("node-1", {}, (), False, {"cpu": 1000, "memory": 2**30, "pods": 110},
    ...                 {"cpu": 800, "memory": 0, "pods": 1}, {"cpu": 800, "memory": 0})
    >>> pod = PodView.of({"spec": {"containers": [{"resources": {"requests": {"cpu": "500m"}}}]}})
    >>> NodeResourcesFit().filter(pod, node).reasons
    ('Insufficient cpu',)
    >>> NodeResourcesFit("MostAllocated").score(pod, node)     # cpu 100, memory 19
    59
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from labsupport.errors import Invalid
from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_FILTER,
    PRE_SCORE,
    SCORE,
    UNSCHEDULABLE,
    Amounts,
    AmountScorePlugin,
    Status,
)
from labsupport.sim.scheduler.plugins.noderesources import resource_allocation as ra
from labsupport.sim.scheduler.podinfo import PodProfile, is_extended_resource_name
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle

__all__ = ["NodeResourcesFit", "NAME", "TOO_MANY_PODS", "INSUFFICIENT_CPU",
           "INSUFFICIENT_MEMORY", "INSUFFICIENT_EPHEMERAL_STORAGE", "insufficient"]

NAME = "NodeResourcesFit"
# fit.go fitsRequest, in the order it appends them.
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
INSUFFICIENT_EPHEMERAL_STORAGE = "Insufficient ephemeral-storage"


def insufficient(resource: str) -> str:
    """The reason for a resource that does not fit: ``fmt.Sprintf("Insufficient %v", rName)``.

    Example:
        >>> insufficient("nvidia.com/gpu")
        'Insufficient nvidia.com/gpu'
    """
    return f"Insufficient {resource}"


class NodeResourcesFit(AmountScorePlugin):
    """Filter on free pods, cpu and memory; Score by a strategy (weight 1).

    Args:
        scoring_strategy: ``scoringStrategy.type``: ``"LeastAllocated"``
            (default), ``"MostAllocated"`` or ``"RequestedToCapacityRatio"``.
        shape: RequestedToCapacityRatio ``(utilization, score)`` points
            (utilization 0..100 increasing, score 0..10); default 0->0, 100->10.
        ignored_resources: extended resources Filter does not check
            (``ignoredResources``), e.g. ``["example.com/foo"]``.
        ignored_resource_groups: prefixes (the part before "/") of extended
            resources Filter does not check (``ignoredResourceGroups``), e.g.
            ``["example.com"]``.
    """

    name = NAME
    extension_points = (PRE_FILTER, FILTER, PRE_SCORE, SCORE)
    #: The fixed reasons; a scalar resource adds "Insufficient <name>" (:func:`insufficient`).
    reasons = (TOO_MANY_PODS, INSUFFICIENT_CPU, INSUFFICIENT_MEMORY,
               INSUFFICIENT_EPHEMERAL_STORAGE)
    weight = 1
    filter_code = UNSCHEDULABLE  # preemption may free room
    upstream = "pkg/scheduler/framework/plugins/noderesources/fit.go"

    def __init__(self, scoring_strategy: str = "LeastAllocated",
                 shape: Sequence[tuple[int, int]] | None = None, *,
                 ignored_resources: Sequence[str] = (),
                 ignored_resource_groups: Sequence[str] = ()) -> None:
        if scoring_strategy not in ra.STRATEGIES:
            raise Invalid(f"scoring_strategy must be one of {', '.join(ra.STRATEGIES)}; "
                          f"got {scoring_strategy!r}")
        if shape is not None:
            shape = tuple((int(u), int(s)) for u, s in shape)
            us = [u for u, _ in shape]
            if (not shape or us != sorted(set(us)) or not all(0 <= u <= 100 for u in us)
                    or not all(0 <= s <= 10 for _, s in shape)):
                raise Invalid("shape must list (utilization, score) points with utilization "
                              f"0..100 strictly increasing and score 0..10; got {shape!r}")
        if isinstance(ignored_resources, str) or isinstance(ignored_resource_groups, str):
            raise Invalid("ignored_resources and ignored_resource_groups are lists of names, "
                          'e.g. ignored_resources=["example.com/foo"]')
        self.scoring_strategy = scoring_strategy
        self.shape = shape or ra.DEFAULT_SHAPE
        self.ignored_resources = frozenset(map(str, ignored_resources))
        self.ignored_resource_groups = frozenset(map(str, ignored_resource_groups))
        self._checked: dict[tuple, tuple[tuple[str, int], ...]] = {}
        # The per-node formula has no plain-int twin worth using for this one.
        self.scalar = scoring_strategy != "RequestedToCapacityRatio"

    def __repr__(self) -> str:
        return f"<NodeResourcesFit plugin {self.scoring_strategy}>"

    def checked(self, extra: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        """The pod's other requests (``PodProfile.extra``) that Filter checks.

        fit.go fitsRequest: an extended resource in ``ignoredResources``, or
        whose group (the part before "/") is in ``ignoredResourceGroups``, is
        skipped; ephemeral-storage and hugepages are always checked.
        """
        if not extra or not (self.ignored_resources or self.ignored_resource_groups):
            return extra
        hit = self._checked.get(extra)
        if hit is None:
            hit = self._checked[extra] = tuple(
                (name, amount) for name, amount in extra
                if not (is_extended_resource_name(name)
                        and (name in self.ignored_resources
                             or name.split("/")[0] in self.ignored_resource_groups)))
        return hit

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a node without room for one more pod or for the pod's requests."""
        free, cpu, mem = node.free, pod.profile.cpu, pod.profile.memory
        reasons = []
        if free["pods"] < 1:
            reasons.append(TOO_MANY_PODS)
        if cpu > 0 and free["cpu"] < cpu:
            reasons.append(INSUFFICIENT_CPU)
        if mem > 0 and free["memory"] < mem:
            reasons.append(INSUFFICIENT_MEMORY)
        # ephemeral-storage, then the scalar resources (PodProfile.extra's order);
        # a resource the node does not list has 0 allocatable.
        alloc, used = node.allocatable, node.requested
        for name, amount in self.checked(pod.profile.extra):
            if amount > alloc.get(name, 0) - used.get(name, 0):
                reasons.append(insufficient(name))
        return Status(self.filter_code, tuple(reasons), self.name) if reasons else Status()

    def score(self, pod: PodView, node: NodeView) -> int:
        """The strategy's score for the node's requests with the pod's added."""
        nz = node.nonzero_requested
        return self._one(nz["cpu"] + pod.profile.nonzero_cpu, node.allocatable["cpu"],
                         nz["memory"] + pod.profile.nonzero_memory, node.allocatable["memory"])

    def _one(self, req_cpu: int, alloc_cpu: int, req_mem: int, alloc_mem: int) -> int:
        if self.scoring_strategy == "LeastAllocated":
            return ra.least_allocated_one(req_cpu, alloc_cpu, req_mem, alloc_mem)
        if self.scoring_strategy == "MostAllocated":
            return ra.most_allocated_one(req_cpu, alloc_cpu, req_mem, alloc_mem)
        return ra.requested_to_capacity_ratio_one(req_cpu, alloc_cpu, req_mem, alloc_mem,
                                                  self.shape)

    # -- fast path -----------------------------------------------------------------------
    def fast_filter(self, cycle: FastCycle, slots: np.ndarray,
                    at: slice | None) -> np.ndarray | None:
        """Rows with room; reads the walk-order copy of what is free when it can.

        A check is left out when the table's lower bound of what is free on
        any node already proves it passes (usually every check).
        """
        t, prof = cycle.table, cycle.prof
        ok: np.ndarray | None = None
        free = None if at is not None else t.free(slots)
        if t.min_free_pods < 1:
            ok = (t.walk_free_pods[at] if free is None else free[0]) >= 1
        if prof.cpu > 0 and prof.cpu > t.min_free_cpu:
            ok = _and(ok, (t.walk_free_cpu[at] if free is None else free[1]) >= prof.cpu)
        if prof.memory > 0 and prof.memory > t.min_free_mem:
            ok = _and(ok, (t.walk_free_mem[at] if free is None else free[2]) >= prof.memory)
        for name, amount in self.checked(prof.extra):  # empty for most pods
            ok = _and(ok, t.extra_free(name, slots) >= amount)
        return ok

    def fast_failures(self, cycle: FastCycle, slots: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Each reason where it applies (a node can give several)."""
        prof = cycle.prof
        pods, cpu, mem = cycle.table.free(slots)
        none = np.zeros(len(slots), bool)
        requested = prof.cpu > 0 or prof.memory > 0
        out = [(TOO_MANY_PODS, pods < 1),
               (INSUFFICIENT_CPU, cpu < prof.cpu if requested and prof.cpu > 0 else none),
               (INSUFFICIENT_MEMORY,
                mem < prof.memory if requested and prof.memory > 0 else none)]
        for name, amount in self.checked(prof.extra):
            out.append((insufficient(name), cycle.table.extra_free(name, slots) < amount))
        return out

    def score_amounts(self, prof: PodProfile, amounts: Amounts) -> np.ndarray:
        """The strategy's score of many nodes."""
        a = amounts
        nz_cpu = a.nonzero_cpu + prof.nonzero_cpu
        nz_mem = a.nonzero_mem + prof.nonzero_memory
        if self.scoring_strategy == "LeastAllocated":
            return ra.least_allocated(nz_cpu, a.alloc_cpu, nz_mem, a.alloc_mem)
        if self.scoring_strategy == "MostAllocated":
            return ra.most_allocated(nz_cpu, a.alloc_cpu, nz_mem, a.alloc_mem)
        return ra.requested_to_capacity_ratio(nz_cpu, a.alloc_cpu, nz_mem, a.alloc_mem,
                                              self.shape)

    def score_amounts_one(self, prof: PodProfile, a_cpu: int, a_mem: int, r_cpu: int,
                          r_mem: int, nz_cpu: int, nz_mem: int) -> int:
        """:meth:`score_amounts` for one node."""
        return self._one(nz_cpu + prof.nonzero_cpu, a_cpu, nz_mem + prof.nonzero_memory, a_mem)


def _and(mask: np.ndarray | None, more: np.ndarray) -> np.ndarray:
    """``mask & more``, reusing ``mask`` (a fresh array); None stands for all True."""
    return more if mask is None else np.logical_and(mask, more, out=mask)
