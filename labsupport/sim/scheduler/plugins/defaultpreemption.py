"""DefaultPreemption: the PostFilter that evicts lower-priority pods to make room.

Upstream: pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go
and pkg/scheduler/framework/preemption/preemption.go. The simulator has no
pod priorities yet (every pod has priority 0), so no node ever has a victim:
PostFilter only writes what upstream writes then, prefixed "preemption: ".
Nodes rejected with UnschedulableAndUnresolvable (or left out by a PreFilter)
are not candidates: "Preemption is not helpful for scheduling"; the others:
"No preemption victims found for incoming pod". A pod with
``preemptionPolicy: Never`` is not eligible (``PodEligibleToPreemptOthers``).

Example:
    >>> from labsupport.sim.scheduler.framework import Diagnosis
    >>> from labsupport.sim.scheduler.plugins.defaultpreemption import DefaultPreemption
    >>> from labsupport.sim.scheduler.views import PodView
    >>> status = DefaultPreemption().post_filter(PodView.of({"spec": {}}),
    ...                                          Diagnosis(3, 1, frozenset()))
    >>> print(status.reasons[0])
    preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.
"""  # noqa: E501

from __future__ import annotations

from labsupport.sim.scheduler.decision import fit_error_message
from labsupport.sim.scheduler.framework import (
    POST_FILTER,
    UNSCHEDULABLE,
    Diagnosis,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.views import PodView

__all__ = ["DefaultPreemption", "NAME", "NO_VICTIMS", "NOT_HELPFUL", "PREEMPT_NEVER"]

NAME = "DefaultPreemption"
# default_preemption.go SelectVictimsOnNode: a node where preemption might help
# but no pod has a lower priority than the incoming one.
NO_VICTIMS = "No preemption victims found for incoming pod"
# preemption.go Preempt: nodes that failed with UnschedulableAndUnresolvable.
NOT_HELPFUL = "Preemption is not helpful for scheduling"
# default_preemption.go PodEligibleToPreemptOthers.
PREEMPT_NEVER = "not eligible due to preemptionPolicy=Never."


class DefaultPreemption(Plugin):
    """PostFilter: preemption (pods of equal priority: never a victim yet)."""

    name = NAME
    extension_points = (POST_FILTER,)
    upstream = "pkg/scheduler/framework/plugins/defaultpreemption"

    def post_filter(self, pod: PodView, diagnosis: Diagnosis) -> Status:
        """Why preemption did not help, in upstream's words."""
        if pod.profile.preempt_never:
            text = PREEMPT_NEVER
        else:
            n, helpful = diagnosis.num_all_nodes, diagnosis.candidates
            text = fit_error_message(n, {NO_VICTIMS: helpful, NOT_HELPFUL: n - helpful})
        return Status(UNSCHEDULABLE, ("preemption: " + text,), self.name)
