"""Default plugins the simulator does not model yet.

VolumeBinding and VolumeRestrictions are modelled (their own modules); the
ones below still wait.

Each is declared as upstream declares it (name, extension points, weight) so
the default profile reads like default_plugins.go; ``modelled = False`` makes
the cycle skip it. Their reason texts are added when they are modelled and
checked against the v1.37 source.

Example:
    >>> from labsupport.sim.scheduler.plugins.notmodelled import VolumeZone
    >>> VolumeZone()
    <VolumeZone plugin VolumeZone: PreFilter, Filter, not modelled yet>
"""

from __future__ import annotations

from labsupport.sim.scheduler.framework import FILTER, PRE_ENQUEUE, PRE_FILTER, Plugin

__all__ = ["SchedulingGates", "NodeVolumeLimits", "VolumeZone"]


class SchedulingGates(Plugin):
    """PreEnqueue: a pod with ``spec.schedulingGates`` waits until they are removed."""

    name = "SchedulingGates"
    extension_points = (PRE_ENQUEUE,)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/schedulinggates"


class NodeVolumeLimits(Plugin):
    """How many CSI volumes a node can attach (CSINode allocatable count)."""

    name = "NodeVolumeLimits"
    extension_points = (PRE_FILTER, FILTER)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/nodevolumelimits"


class VolumeZone(Plugin):
    """A volume's zone labels must match the node's."""

    name = "VolumeZone"
    extension_points = (PRE_FILTER, FILTER)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/volumezone"
