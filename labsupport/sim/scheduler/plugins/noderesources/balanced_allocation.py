"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory stay balanced.

Upstream: pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go.
The balance of a node's requests is ``int64((1 - std) * 100)``, std being the
standard deviation of the fractions ``requested / allocatable`` (float64,
capped at 1); with cpu and memory ``std = |f_cpu - f_mem| / 2``. A resource
with 0 allocatable is left out, and with fewer than two left std is 0.

Since v1.36 (kubernetes PR #135573, CHANGELOG-1.36: "The score will now take
into consideration both balance with and without the requested pod") the
score rewards the *change* the pod brings: ``50 + (50 + with_pod -
without_pod) // 2``. A pod that keeps the balance scores 75, one that turns a
perfectly balanced node lopsided 50, the reverse 100 (up to v1.35 the score
was ``with_pod`` alone). It uses the *actual* requests, not the 100m / 200Mi
defaults. A pod that requests neither cpu nor memory is best-effort: PreScore
returns Skip and the plugin adds 0 (kubernetes PR #130260, v1.33).

Example:
    >>> import numpy as np
    >>> a = np.array
    >>> # 4 CPU / 8Gi, 1 CPU / 2Gi used, the pod asks 1 CPU / 1Gi: balance
    >>> # 100 -> 93 (|0.5 - 0.375| / 2), so 50 + (50 + 93 - 100) // 2 = 71.
    >>> balanced_allocation(a([2000]), a([4000]), a([3 * 2**30]), a([8 * 2**30]),
    ...                     a([1000]), a([2 * 2**30]))
    array([71])
    >>> balanced_allocation_one(2000, 4000, 3 * 2**30, 8 * 2**30, 1000, 2 * 2**30)
    71
"""

from __future__ import annotations

import numpy as np

from labsupport.sim.scheduler.framework import (
    MAX_NODE_SCORE,
    PRE_SCORE,
    SCORE,
    SKIP,
    Amounts,
    AmountScorePlugin,
    Status,
)
from labsupport.sim.scheduler.podinfo import PodProfile
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["NodeResourcesBalancedAllocation", "NAME", "balanced_allocation",
           "balanced_allocation_one"]

NAME = "NodeResourcesBalancedAllocation"


def _balance(req_cpu: np.ndarray, alloc_cpu: np.ndarray, req_mem: np.ndarray,
             alloc_mem: np.ndarray) -> np.ndarray:
    """How balanced many nodes' requests are: ``int64((1 - std) * 100)``, 50..100."""
    has_cpu, has_mem = alloc_cpu > 0, alloc_mem > 0
    f_cpu = np.minimum(req_cpu / np.maximum(alloc_cpu, 1), 1.0)
    f_mem = np.minimum(req_mem / np.maximum(alloc_mem, 1), 1.0)
    std = np.where(has_cpu & has_mem, np.abs((f_cpu - f_mem) / 2), 0.0)
    return ((1 - std) * float(MAX_NODE_SCORE)).astype(np.int64)


def _balance_one(req_cpu: int, alloc_cpu: int, req_mem: int, alloc_mem: int) -> int:
    """:func:`_balance` for one node, in plain Python numbers (same float64 steps)."""
    if alloc_cpu > 0 and alloc_mem > 0:
        std = abs((min(req_cpu / alloc_cpu, 1.0) - min(req_mem / alloc_mem, 1.0)) / 2)
    else:
        std = 0.0
    return int((1 - std) * float(MAX_NODE_SCORE))


def balanced_allocation(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                        req_mem: np.ndarray, alloc_mem: np.ndarray,
                        node_cpu: np.ndarray, node_mem: np.ndarray) -> np.ndarray:
    """The score of many nodes (0 for a best-effort pod).

    Args:
        req_cpu: milli-CPU requested on each node, the incoming pod included.
        alloc_cpu: allocatable milli-CPU of each node.
        req_mem: bytes requested on each node, the incoming pod included.
        alloc_mem: allocatable bytes of each node.
        node_cpu: milli-CPU requested on each node without the pod.
        node_mem: bytes requested on each node without the pod.
    """
    with_pod = _balance(req_cpu, alloc_cpu, req_mem, alloc_mem)
    without_pod = _balance(node_cpu, alloc_cpu, node_mem, alloc_mem)
    half = MAX_NODE_SCORE // 2
    # Both balances are in 50..100, so the dividend is never negative and
    # Python's floor division equals Go's truncating one.
    score = half + (half + with_pod - without_pod) // 2
    best_effort = (req_cpu == node_cpu) & (req_mem == node_mem)
    return np.where(best_effort, 0, score)


def balanced_allocation_one(req_cpu: int, alloc_cpu: int, req_mem: int, alloc_mem: int,
                            node_cpu: int, node_mem: int) -> int:
    """:func:`balanced_allocation` for one node, in plain ints."""
    if req_cpu == node_cpu and req_mem == node_mem:  # best-effort pod: Skip (PR #130260)
        return 0
    half = MAX_NODE_SCORE // 2
    with_pod = _balance_one(req_cpu, alloc_cpu, req_mem, alloc_mem)
    without_pod = _balance_one(node_cpu, alloc_cpu, node_mem, alloc_mem)
    return half + (half + with_pod - without_pod) // 2


class NodeResourcesBalancedAllocation(AmountScorePlugin):
    """Score: how the pod changes the balance of cpu and memory (weight 1)."""

    name = NAME
    extension_points = (PRE_SCORE, SCORE)
    weight = 1
    upstream = "pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go"

    def pre_score(self, pod: PodView) -> Status:
        """Skip best-effort pods (they request neither cpu nor memory)."""
        if pod.profile.cpu == 0 and pod.profile.memory == 0:
            return Status(SKIP, plugin=self.name)
        return Status.success()

    def score(self, pod: PodView, node: NodeView) -> int:
        """The change of balance the pod brings to the node."""
        alloc, req = node.allocatable, node.requested
        return balanced_allocation_one(req["cpu"] + pod.profile.cpu, alloc["cpu"],
                                       req["memory"] + pod.profile.memory, alloc["memory"],
                                       req["cpu"], req["memory"])

    def score_amounts(self, prof: PodProfile, amounts: Amounts) -> np.ndarray:
        """The score of many nodes."""
        a = amounts
        return balanced_allocation(a.req_cpu + prof.cpu, a.alloc_cpu, a.req_mem + prof.memory,
                                   a.alloc_mem, a.req_cpu, a.req_mem)

    def score_amounts_one(self, prof: PodProfile, a_cpu: int, a_mem: int, r_cpu: int,
                          r_mem: int, nz_cpu: int, nz_mem: int) -> int:
        """:meth:`score_amounts` for one node."""
        return balanced_allocation_one(r_cpu + prof.cpu, a_cpu, r_mem + prof.memory, a_mem,
                                       r_cpu, r_mem)
