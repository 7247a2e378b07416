"""NodeName: a pod that names its node (``spec.nodeName``) fits only there.

Upstream: pkg/scheduler/framework/plugins/nodename/node_name.go.

Example:
    >>> from labsupport.sim.scheduler.plugins.nodename import NodeName
    >>> from labsupport.sim.scheduler.views import NodeView, PodView
    >>> node = NodeView("node-1", {}, (), False, {"cpu": 1, "memory": 1, "pods": 1},
    ...                 {"cpu": 0, "memory": 0, "pods": 0}, {"cpu": 0, "memory": 0})
    >>> NodeName().filter(PodView.of({"spec": {"nodeName": "node-2"}}), node).reasons
    ("node(s) didn't match the requested node name",)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from labsupport.sim.scheduler.framework import FILTER, Plugin, Status
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle

__all__ = ["NodeName", "NAME", "ERR_REASON"]

NAME = "NodeName"
# node_name.go: ErrReason.
ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    """Filter: the node's name equals ``spec.nodeName``, when the pod sets it."""

    name = NAME
    extension_points = (FILTER,)
    reasons = (ERR_REASON,)
    upstream = "pkg/scheduler/framework/plugins/nodename"

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject every node but the one the pod names."""
        wanted = pod.node_name
        if wanted and wanted != node.name:
            return Status(self.filter_code, self.reasons, self.name)
        return Status.success()

    def fast_filter(self, cycle: FastCycle, slots: np.ndarray,
                    at: slice | None) -> np.ndarray | None:
        """Rows that are the named node (None: the pod names none)."""
        if not cycle.node_name:
            return None
        target = cycle.table.slot(cycle.node_name)
        return slots == (-1 if target is None else target)
