"""The noderesources plugins: NodeResourcesFit and NodeResourcesBalancedAllocation.

Upstream keeps both in pkg/scheduler/framework/plugins/noderesources, with the
scoring strategies they share (:mod:`.resource_allocation`).

Example:
    >>> resource_score_one("LeastAllocated", 2000, 3 * 2**30, 2000, 3 * 2**30,
    ...                    4000, 8 * 2**30, 1000, 2 * 2**30)   # 56 + 71
    127
"""

from __future__ import annotations

from labsupport.sim.scheduler.plugins.noderesources.balanced_allocation import (
    NodeResourcesBalancedAllocation,
    balanced_allocation,
    balanced_allocation_one,
)
from labsupport.sim.scheduler.plugins.noderesources.fit import NodeResourcesFit
from labsupport.sim.scheduler.plugins.noderesources.resource_allocation import (
    DEFAULT_SHAPE,
    STRATEGIES,
    least_allocated,
    most_allocated,
    requested_to_capacity_ratio,
)

__all__ = [
    "NodeResourcesFit", "NodeResourcesBalancedAllocation", "STRATEGIES", "DEFAULT_SHAPE",
    "least_allocated", "most_allocated", "requested_to_capacity_ratio", "balanced_allocation",
    "balanced_allocation_one", "resource_score_one",
]


def resource_score_one(strategy: str, nz_cpu: int, nz_mem: int, req_cpu: int, req_mem: int,
                       alloc_cpu: int, alloc_mem: int, node_cpu: int, node_mem: int) -> int:
    """NodeResourcesFit + NodeResourcesBalancedAllocation (weight 1 each) for one node.

    ``nz_*`` and ``req_*`` include the pod (non-zero and actual requests),
    ``node_*`` are the node's actual requests without it.
    """
    fit = NodeResourcesFit(strategy)._one(nz_cpu, alloc_cpu, nz_mem, alloc_mem)
    return fit + balanced_allocation_one(req_cpu, alloc_cpu, req_mem, alloc_mem,
                                         node_cpu, node_mem)
