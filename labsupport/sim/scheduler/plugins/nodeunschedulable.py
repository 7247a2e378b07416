"""NodeUnschedulable: a cordoned node takes no new pods, unless the pod tolerates it.

Upstream: pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go.

Example:
    >>> from labsupport.sim.scheduler.plugins.nodeunschedulable import NodeUnschedulable
    >>> from labsupport.sim.scheduler.views import NodeView, PodView
    >>> cordoned = NodeView("node-1", {}, (), True, {"cpu": 1, "memory": 1, "pods": 1},
    ...                     {"cpu": 0, "memory": 0, "pods": 0}, {"cpu": 0, "memory": 0})
    >>> NodeUnschedulable().filter(PodView.of({"spec": {}}), cordoned).reasons
    ('node(s) were unschedulable',)
"""

from __future__ import annotations

import numpy as np

from labsupport.sim.scheduler.framework import FILTER, Plugin, Status
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.podinfo import PodProfile
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["NodeUnschedulable", "NAME", "ERR_REASON_UNSCHEDULABLE"]

NAME = "NodeUnschedulable"
# node_unschedulable.go: ErrReasonUnschedulable.
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
# v1.TaintNodeUnschedulable: the taint a pod tolerates to go to a cordoned node.
UNSCHEDULABLE_TAINT = ("node.kubernetes.io/unschedulable", "", "NoSchedule")


def _tolerates_cordon(prof: PodProfile) -> bool:
    return any(t.tolerates(*UNSCHEDULABLE_TAINT) for t in prof.tolerations)


class NodeUnschedulable(Plugin):
    """Filter out nodes with ``spec.unschedulable: true`` (``kubectl cordon``)."""

    name = NAME
    extension_points = (FILTER,)
    reasons = (ERR_REASON_UNSCHEDULABLE,)
    static = True
    upstream = "pkg/scheduler/framework/plugins/nodeunschedulable"

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a cordoned node unless the pod tolerates the unschedulable taint."""
        if node.unschedulable and not _tolerates_cordon(pod.profile):
            return Status(self.filter_code, self.reasons, self.name)
        return Status.success()

    def fast_static_fail(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """Rows whose node is cordoned, when the pod does not tolerate that."""
        return None if _tolerates_cordon(prof) else table.unschedulable.copy()
