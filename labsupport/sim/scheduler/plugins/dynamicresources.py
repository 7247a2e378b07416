"""DynamicResources: ResourceClaims (dynamic resource allocation, DRA).

Upstream: pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go
(read at kubernetes commit 04f5fdea, v1.37 development). It is in the default
profile since DRA is on by default (v1.34): default_plugins.go
applyFeatureGates puts it right before DefaultPreemption. The simulator has no
ResourceClaims, so what it models is what a Pod without claims meets:
PreFilter returns Skip, and PostFilter returns Unschedulable "no new claims to
deallocate". RunPostFilterPlugins joins the reasons of every rejecting
PostFilter with ", ", so a FailedScheduling message reads "... no new claims
to deallocate, preemption: ...". When an earlier PreFilter rejected the pod,
this one's PreFilter never ran and its PostFilter has no state; what v1.37
prints then was not checked, and the simulator leaves the text out. (kubernetes
PR #140222 drops this text; it is not in the v1.37 code read here.)

Example:
    >>> from labsupport.sim.scheduler.framework import Diagnosis
    >>> from labsupport.sim.scheduler.plugins.dynamicresources import DynamicResources
    >>> from labsupport.sim.scheduler.views import PodView
    >>> ran = Diagnosis(3, 3, frozenset({"DynamicResources"}))
    >>> DynamicResources().post_filter(PodView.of({"spec": {}}), ran).reasons
    ('no new claims to deallocate',)
"""

from __future__ import annotations

from labsupport.sim.scheduler.framework import (
    FILTER,
    POST_FILTER,
    PRE_BIND,
    PRE_ENQUEUE,
    PRE_FILTER,
    RESERVE,
    SKIP,
    UNSCHEDULABLE,
    Diagnosis,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.views import PodView

__all__ = ["DynamicResources", "NAME", "NO_NEW_CLAIMS"]

NAME = "DynamicResources"
# dynamicresources.go PostFilter, for a Pod without ResourceClaims.
NO_NEW_CLAIMS = "no new claims to deallocate"


class DynamicResources(Plugin):
    """ResourceClaims: only the Pod-without-claims behaviour is modelled."""

    name = NAME
    extension_points = (PRE_ENQUEUE, PRE_FILTER, FILTER, POST_FILTER, RESERVE, PRE_BIND)
    upstream = "pkg/scheduler/framework/plugins/dynamicresources"

    def pre_filter(self, pod: PodView) -> Status:
        """Skip: no pod has ResourceClaims in the simulator."""
        return Status(SKIP, plugin=self.name)

    def post_filter(self, pod: PodView, diagnosis: Diagnosis) -> Status:
        """No claim to deallocate (only when its PreFilter ran)."""
        if self.name not in diagnosis.pre_filter_ran:
            return Status(UNSCHEDULABLE, plugin=self.name)
        return Status(UNSCHEDULABLE, (NO_NEW_CLAIMS,), self.name)
