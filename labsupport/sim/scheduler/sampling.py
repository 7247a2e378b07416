"""How many nodes the Filter walk looks for: ``percentageOfNodesToScore``.

Upstream: ``numFeasibleNodesToFind`` in pkg/scheduler/schedule_one.go. Below
100 nodes every node is checked; above, the walk stops once this many nodes
passed every filter, and the next pod's walk starts where this one stopped.

Example:
    >>> [num_feasible_nodes_to_find(n, None) for n in (50, 100, 1000, 5000)]
    [50, 100, 420, 500]
    >>> num_feasible_nodes_to_find(5000, 100)
    5000
"""

from __future__ import annotations

__all__ = ["num_feasible_nodes_to_find", "MIN_FEASIBLE_NODES_TO_FIND",
           "MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND"]

# schedule_one.go: minFeasibleNodesToFind, minFeasibleNodesPercentageToFind.
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int | None) -> int:
    """How many feasible nodes end the search; ``percentage`` None or 0 is adaptive."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    pct = percentage or 0
    if pct == 0:
        pct = max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - num_all_nodes // 125)
    return max(MIN_FEASIBLE_NODES_TO_FIND, num_all_nodes * pct // 100)
