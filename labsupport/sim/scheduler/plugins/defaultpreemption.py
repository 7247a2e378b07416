"""DefaultPreemption: the PostFilter that evicts lower-priority pods to make room.

Upstream: pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go
and pkg/scheduler/framework/preemption/preemption.go; the algorithm is in
:mod:`labsupport.sim.scheduler.preemption`. When no node passed Filter, the
plugin looks for nodes where removing pods of lower ``spec.priority`` would
let the pod fit. When it finds one it answers Success and leaves the chosen
:class:`~labsupport.sim.scheduler.preemption.Candidate` (node and victims) in
the cycle state under :data:`NAME` (upstream returns it as the
``PostFilterResult``); the scheduler then evicts the victims and sets the
pod's ``status.nominatedNodeName``. Otherwise it answers Unschedulable with
upstream's text, prefixed "preemption: ": nodes rejected with
UnschedulableAndUnresolvable (or left out by a PreFilter) "Preemption is not
helpful for scheduling"; the others "No preemption victims found for
incoming pod", or the Filter reason that remains once every lower-priority
pod is gone. A pod with ``preemptionPolicy: Never`` is not eligible.

The plugin reads the scheduler (profile, node table, random generator)
through the cycle state's :data:`HANDLE` (upstream's ``fwk.Handle``); without
one (a plugin called on its own) it only counts, as below.

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
from labsupport.sim.scheduler.preemption import (
    NO_VICTIMS,
    NOT_HELPFUL,
    PREEMPT_NEVER,
    TERMINATING_ON_NOMINATED,
    preempt,
)
from labsupport.sim.scheduler.views import PodView

__all__ = ["DefaultPreemption", "NAME", "HANDLE", "NOTES", "CLEAR", "NO_VICTIMS", "NOT_HELPFUL",
           "PREEMPT_NEVER"]

NAME = "DefaultPreemption"
#: The cycle-state key of the scheduler running the cycle (the framework handle).
HANDLE = "FrameworkHandle"
#: The cycle-state key of what the dry run found on each node (for explain).
NOTES = "DefaultPreemption/notes"
#: The cycle-state key set when the pod's nomination must be cleared (no candidate).
CLEAR = "DefaultPreemption/clear"


class DefaultPreemption(Plugin):
    """PostFilter: preemption of lower-priority pods."""

    name = NAME
    extension_points = (POST_FILTER,)
    upstream = "pkg/scheduler/framework/plugins/defaultpreemption"

    def post_filter(self, pod: PodView, diagnosis: Diagnosis) -> Status:
        """Find victims and a node (Success), or say why preemption cannot help."""
        handle = pod.state.get(HANDLE)
        if handle is None:
            if pod.spec.get("preemptionPolicy") == "Never":
                text = PREEMPT_NEVER
            else:
                n, helpful = diagnosis.num_all_nodes, diagnosis.candidates
                text = fit_error_message(n, {NO_VICTIMS: helpful, NOT_HELPFUL: n - helpful})
            return Status(UNSCHEDULABLE, ("preemption: " + text,), self.name)
        status, candidate, notes = preempt(pod, diagnosis, handle.profile, handle.preemption_rng)
        pod.state[NOTES] = notes
        if candidate is not None:
            pod.state[NAME] = candidate
            return Status(status.code, (), self.name)
        if status.reasons[0] not in (PREEMPT_NEVER, TERMINATING_ON_NOMINATED):
            # preemption.go Preempt: a FitError comes with an empty nominated node,
            # which clears the pod's status.nominatedNodeName.
            pod.state[CLEAR] = True
        # default_preemption.go PostFilter: "preemption: " + the evaluator's message.
        return Status(status.code, tuple("preemption: " + r for r in status.reasons), self.name)
