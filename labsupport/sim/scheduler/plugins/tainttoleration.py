"""TaintToleration: a pod goes only where it tolerates every NoSchedule/NoExecute taint.

Upstream: pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go.
Filter rejects a node with a NoSchedule or NoExecute taint the pod does not
tolerate. Score counts the PreferNoSchedule taints it does not tolerate;
NormalizeScore reverses it (fewer is better): 100 on a node without any.

Example:
    >>> from labsupport.sim.scheduler.plugins.tainttoleration import TaintToleration
    >>> TaintToleration().normalize_score([0, 1, 2])
    [100, 50, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_SCORE,
    SCORE,
    Plugin,
    Status,
    normalize_array,
    normalize_scores,
)
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.podinfo import PodProfile
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle

__all__ = ["TaintToleration", "NAME", "ERR_REASON_NOT_MATCH"]

NAME = "TaintToleration"
# taint_toleration.go Filter. Since kubernetes PR #134740 (CHANGELOG-1.35, "Pod
# statuses no longer include specific taint keys or values when scheduling fails
# because of untolerated taints"; also cherry-picked to v1.34 as #135023) the
# reason is generic; the taint goes to the scheduler log only. Until v1.34 it was
# "node(s) had untolerated taint {<key>: <value>}".
ERR_REASON_NOT_MATCH = "node(s) had untolerated taint(s)"
# Taint effects (k8s.io/api/core/v1 TaintEffect*); the Filter checks the hard
# ones (helper.DoNotScheduleTaintsFilterFunc), the Score the soft one.
HARD_EFFECTS = ("NoSchedule", "NoExecute")
SOFT_EFFECT = "PreferNoSchedule"


def _tolerated(tolerations: Sequence, taint: tuple[str, str, str]) -> bool:
    return any(t.tolerates(*taint) for t in tolerations)


class TaintToleration(Plugin):
    """Filter on hard taints; Score on PreferNoSchedule taints (weight 3)."""

    name = NAME
    extension_points = (FILTER, PRE_SCORE, SCORE)
    reasons = (ERR_REASON_NOT_MATCH,)
    weight = 3
    static = True
    upstream = "pkg/scheduler/framework/plugins/tainttoleration"

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a node with a NoSchedule / NoExecute taint the pod does not tolerate."""
        for taint in node.taints:
            if taint[2] in HARD_EFFECTS and not _tolerated(pod.profile.tolerations, taint):
                return Status(self.filter_code, self.reasons, self.name)
        return Status.success()

    def score(self, pod: PodView, node: NodeView) -> int:
        """How many PreferNoSchedule taints of the node the pod does not tolerate."""
        return sum(1 for taint in node.taints
                   if taint[2] == SOFT_EFFECT and not _tolerated(pod.profile.tolerations, taint))

    def normalize_score(self, scores: list[int]) -> list[int]:
        """Fewer intolerable taints is better: reversed DefaultNormalizeScore."""
        return normalize_scores(scores, reverse=True)

    # -- fast path -----------------------------------------------------------------------
    def _by_taint(self, table: NodeTable, prof: PodProfile, effects: tuple[str, ...]):
        """Per taint id (plus a trailing entry for the -1 padding): not tolerated."""
        out = np.zeros(len(table.taint_list) + 1, np.int64)
        for tid, taint in enumerate(table.taint_list):
            if taint[2] in effects:
                out[tid] = not _tolerated(prof.tolerations, taint)
        return out

    def fast_static_fail(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """Rows with an intolerable hard taint."""
        ids = table.taints
        if not ids.shape[1]:
            return None
        return self._by_taint(table, prof, HARD_EFFECTS).astype(bool)[ids].any(axis=1)

    def fast_static_score_input(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """Per row, the count :meth:`score` gives (None: no node has a taint)."""
        ids = table.taints
        if not ids.shape[1]:
            return None
        return self._by_taint(table, prof, (SOFT_EFFECT,))[ids].sum(axis=1)

    def fast_score(self, cycle: FastCycle, feasible: np.ndarray, *,
                   for_total: bool) -> np.ndarray | None:
        """Normalized scores; None for the total when no feasible node has such a taint."""
        soft = cycle.static.score_input.get(NAME)
        if soft is not None and (not for_total or cycle.static.varies.get(NAME, True)):
            mine = soft[feasible]
            if not for_total or mine.any():
                return normalize_array(mine, reverse=True)
        # No intolerable PreferNoSchedule taint: 100 on every node.
        return None if for_total else np.full(len(feasible), 100, np.int64)
