"""Default plugins the simulator does not model yet (issue 15, a later step).

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

from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_BIND,
    PRE_ENQUEUE,
    PRE_FILTER,
    PRE_SCORE,
    RESERVE,
    SCORE,
    Plugin,
)

__all__ = ["SchedulingGates", "VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding",
           "VolumeZone"]


class SchedulingGates(Plugin):
    """PreEnqueue: a pod with ``spec.schedulingGates`` waits until they are removed."""

    name = "SchedulingGates"
    extension_points = (PRE_ENQUEUE,)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/schedulinggates"


class VolumeRestrictions(Plugin):
    """Volumes that cannot be shared: ReadWriteOncePod claims, some disk types."""

    name = "VolumeRestrictions"
    extension_points = (PRE_FILTER, FILTER)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/volumerestrictions"


class NodeVolumeLimits(Plugin):
    """How many CSI volumes a node can attach (CSINode allocatable count)."""

    name = "NodeVolumeLimits"
    extension_points = (PRE_FILTER, FILTER)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/nodevolumelimits"


class VolumeBinding(Plugin):
    """PersistentVolumeClaims: bound, bindable, WaitForFirstConsumer.

    default_plugins.go gives it no weight (its Score needs the
    StorageCapacityScoring feature); here 0.
    """

    name = "VolumeBinding"
    extension_points = (PRE_FILTER, FILTER, PRE_SCORE, SCORE, RESERVE, PRE_BIND)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/volumebinding"


class VolumeZone(Plugin):
    """A volume's zone labels must match the node's."""

    name = "VolumeZone"
    extension_points = (PRE_FILTER, FILTER)
    modelled = False
    upstream = "pkg/scheduler/framework/plugins/volumezone"
