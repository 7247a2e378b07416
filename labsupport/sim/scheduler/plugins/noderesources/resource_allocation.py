"""NodeResourcesFit's scoring strategies, for many nodes (numpy) and for one (ints).

Upstream: pkg/scheduler/framework/plugins/noderesources/least_allocated.go,
most_allocated.go, requested_to_capacity_ratio.go and resource_allocation.go.
Each resource (cpu and memory, weight 1 each: NodeResourcesFitArgs defaults)
is scored 0..100, and the node's score is the weighted average in int64
arithmetic; a resource with 0 allocatable is left out. ``req`` is what the
node's pods request *with* the incoming pod, counted with the 100m / 200Mi
defaults (``NonZeroRequested``).

Example:
    >>> import numpy as np
    >>> least_allocated(np.array([1000]), np.array([4000]), np.array([2 * 2**30]),
    ...                 np.array([8 * 2**30]))
    array([75])
    >>> least_allocated_one(1000, 4000, 2 * 2**30, 8 * 2**30)
    75
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from labsupport.sim.scheduler.framework import MAX_NODE_SCORE

__all__ = [
    "STRATEGIES", "DEFAULT_SHAPE", "least_allocated", "most_allocated",
    "requested_to_capacity_ratio", "least_allocated_one", "most_allocated_one",
    "requested_to_capacity_ratio_one",
]

#: NodeResourcesFitArgs ``scoringStrategy.type`` values.
STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")

# RequestedToCapacityRatio needs a shape; with none given the simulator uses the
# bin-packing shape of the scheduling docs (config/v1 UtilizationShapePoint):
# utilization 0 -> score 0, utilization 100 -> score 10 (MaxCustomPriorityScore).
DEFAULT_SHAPE = ((0, 0), (100, 10))
_MAX_CUSTOM_PRIORITY_SCORE = 10  # pkg/scheduler/apis/config/types.go


# -- many nodes ---------------------------------------------------------------------------
def _per_resource(score: np.ndarray, alloc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # resource_allocation.go score(): a resource with 0 allocatable is left out.
    used = alloc > 0
    return np.where(used, score, 0), used.astype(np.int64)


def _weighted(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    # nodeScore / weightSum in int64 arithmetic.
    total = sum(s for s, _ in parts)
    weights = sum(w for _, w in parts)
    return np.where(weights > 0, total // np.maximum(weights, 1), 0)


def least_allocated(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                    req_mem: np.ndarray, alloc_mem: np.ndarray) -> np.ndarray:
    """LeastAllocated: per resource ``(allocatable - requested) * 100 / allocatable``.

    0 when requested exceeds allocatable; averaged with weight 1 each, integers.
    """
    parts = []
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        raw = (alloc - req) * MAX_NODE_SCORE // np.maximum(alloc, 1)
        parts.append(_per_resource(np.where(req > alloc, 0, raw), alloc))
    return _weighted(parts)


def most_allocated(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                   req_mem: np.ndarray, alloc_mem: np.ndarray) -> np.ndarray:
    """MostAllocated: per resource ``requested * 100 / allocatable``, requested capped.

    Pods without requests can push requested over allocatable: it is capped.
    """
    parts = []
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        raw = np.minimum(req, alloc) * MAX_NODE_SCORE // np.maximum(alloc, 1)
        parts.append(_per_resource(raw, alloc))
    return _weighted(parts)


def _shape_points(shape: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    xs = [int(u) for u, _ in shape]
    ys = [int(s) * (MAX_NODE_SCORE // _MAX_CUSTOM_PRIORITY_SCORE) for _, s in shape]
    return xs, ys


def _go_div(a: np.ndarray, b: int) -> np.ndarray:
    """Go's integer division truncates toward zero (numpy's // floors)."""
    q = np.abs(a) // abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def requested_to_capacity_ratio(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                                req_mem: np.ndarray, alloc_mem: np.ndarray,
                                shape: Sequence[tuple[int, int]] = DEFAULT_SHAPE) -> np.ndarray:
    """RequestedToCapacityRatio: utilization through the shape's broken line.

    Utilization ``requested * 100 / allocatable`` mapped through the broken
    linear function of ``shape`` (scores scaled from 0..10 to 0..100); resources
    scoring 0 do not count in the average, which is rounded (math.Round).
    """
    xs, ys = _shape_points(shape)

    def broken_linear(p: np.ndarray) -> np.ndarray:
        # helper.BuildBrokenLinearFunction, integer arithmetic.
        out = np.full(p.shape, ys[-1], np.int64)
        done = np.zeros(p.shape, bool)
        for i in range(len(xs)):
            here = ~done & (p <= xs[i])
            if i == 0:
                out[here] = ys[0]
            else:
                dy = (ys[i] - ys[i - 1]) * (p[here] - xs[i - 1])
                out[here] = ys[i - 1] + _go_div(dy, xs[i] - xs[i - 1])
            done |= here
        return out

    total = np.zeros(req_cpu.shape, np.int64)
    weights = np.zeros(req_cpu.shape, np.int64)
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        util = np.where(req > alloc, 100, req * 100 // np.maximum(alloc, 1))
        score = broken_linear(util)
        counted = (alloc > 0) & (score > 0)
        total += np.where(counted, score, 0)
        weights += counted
    mean = total / np.maximum(weights, 1)
    return np.where(weights > 0, np.floor(mean + 0.5), 0).astype(np.int64)


# -- one node -------------------------------------------------------------------------------
def least_allocated_one(req_cpu: int, alloc_cpu: int, req_mem: int, alloc_mem: int) -> int:
    """:func:`least_allocated` for one node, in plain ints."""
    total = weights = 0
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        if alloc > 0:
            total += 0 if req > alloc else (alloc - req) * MAX_NODE_SCORE // alloc
            weights += 1
    return total // weights if weights else 0


def most_allocated_one(req_cpu: int, alloc_cpu: int, req_mem: int, alloc_mem: int) -> int:
    """:func:`most_allocated` for one node, in plain ints."""
    total = weights = 0
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        if alloc > 0:
            total += min(req, alloc) * MAX_NODE_SCORE // alloc
            weights += 1
    return total // weights if weights else 0


def requested_to_capacity_ratio_one(req_cpu: int, alloc_cpu: int, req_mem: int,
                                    alloc_mem: int,
                                    shape: Sequence[tuple[int, int]] = DEFAULT_SHAPE) -> int:
    """:func:`requested_to_capacity_ratio` for one node (same float64 rounding).

    Example:
        >>> requested_to_capacity_ratio_one(2000, 4000, 4 * 2**30, 8 * 2**30)
        50
    """
    xs, ys = _shape_points(shape)

    def broken_linear(p: int) -> int:
        for i in range(len(xs)):
            if p <= xs[i]:
                if i == 0:
                    return ys[0]
                dy, dx = (ys[i] - ys[i - 1]) * (p - xs[i - 1]), xs[i] - xs[i - 1]
                q = abs(dy) // abs(dx)
                return ys[i - 1] + (-q if (dy < 0) != (dx < 0) else q)
        return ys[-1]

    total = weights = 0
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        util = 100 if req > alloc else req * 100 // max(alloc, 1)
        score = broken_linear(util)
        if alloc > 0 and score > 0:
            total += score
            weights += 1
    return int(math.floor(total / weights + 0.5)) if weights else 0
