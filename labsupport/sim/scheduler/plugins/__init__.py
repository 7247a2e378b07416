"""The registry of scheduler plugins, in the order of the default profile.

:data:`REGISTRY` maps each plugin's name to its class, in the order of
``getDefaultPlugins`` in pkg/scheduler/apis/config/v1/default_plugins.go as of
v1.37 (the MultiPoint list, with DynamicResources placed before
DefaultPreemption by ``applyFeatureGates`` since DRA is on by default, v1.34).
The default profile (:mod:`labsupport.sim.scheduler.profile`) is this list
with each class's declared weight, so the list below reads like upstream's:

================================  ======  =============================================
plugin                            weight  in the simulator
================================  ======  =============================================
SchedulingGates                           not modelled yet
PrioritySort                              queue order: priority, then queue time
NodeUnschedulable                         Filter
NodeName                                  Filter
TaintToleration                   3       Filter, Score
NodeAffinity                      2       PreFilter, Filter, Score
NodePorts                                 PreFilter, Filter
NodeResourcesFit                  1       Filter (pods, cpu, memory, ephemeral-storage,
                                          extended resources, hugepages), Score (cpu, memory)
VolumeRestrictions                        PreFilter, Filter (ReadWriteOncePod, in-tree disks)
NodeVolumeLimits                          not modelled yet
VolumeBinding                             PreFilter, Filter, PreBind (Score: feature off)
VolumeZone                                not modelled yet
PodTopologySpread                 2       PreFilter, Filter, PreScore, Score (system defaults)
InterPodAffinity                  2       PreFilter, Filter, PreScore, Score
DynamicResources                          PostFilter text for pods without claims
DefaultPreemption                         PostFilter: victims, node, nomination
NodeResourcesBalancedAllocation   1       Score
ImageLocality                     1       Score (0: node images not modelled)
DefaultBinder                             Bind
================================  ======  =============================================

The in-tree volume-limit plugins of old releases (EBSLimits, GCEPDLimits,
AzureDiskLimits) are gone upstream; NodeVolumeLimits covers CSI volumes.
Plugins added by feature gates in v1.36 that act on objects the simulator has
no notion of (NodeDeclaredFeatures, KEP-5328, on node.status.declaredFeatures;
GangScheduling and PodGroupPodsCount, CHANGELOG-1.36 #137488, on Pods of a
PodGroup) are not listed: where applyFeatureGates puts them was not checked.

Adding a plugin: write its class (a :class:`~labsupport.sim.scheduler.framework.Plugin`
in a module of its own) and list it here; the cycle, the FailedScheduling
message, ``explain_scheduling``'s table and the default profile follow.

Example:
    >>> list(REGISTRY)[:4]
    ['SchedulingGates', 'PrioritySort', 'NodeUnschedulable', 'NodeName']
    >>> REGISTRY["TaintToleration"].weight
    3
"""

from __future__ import annotations

from labsupport.sim.scheduler.framework import Plugin
from labsupport.sim.scheduler.plugins.defaultbinder import DefaultBinder
from labsupport.sim.scheduler.plugins.defaultpreemption import DefaultPreemption
from labsupport.sim.scheduler.plugins.dynamicresources import DynamicResources
from labsupport.sim.scheduler.plugins.imagelocality import ImageLocality
from labsupport.sim.scheduler.plugins.interpodaffinity import InterPodAffinity
from labsupport.sim.scheduler.plugins.nodeaffinity import NodeAffinity
from labsupport.sim.scheduler.plugins.nodename import NodeName
from labsupport.sim.scheduler.plugins.nodeports import NodePorts
from labsupport.sim.scheduler.plugins.noderesources import (
    NodeResourcesBalancedAllocation,
    NodeResourcesFit,
)
from labsupport.sim.scheduler.plugins.nodeunschedulable import NodeUnschedulable
from labsupport.sim.scheduler.plugins.notmodelled import (
    NodeVolumeLimits,
    SchedulingGates,
    VolumeZone,
)
from labsupport.sim.scheduler.plugins.podtopologyspread import PodTopologySpread
from labsupport.sim.scheduler.plugins.queuesort import PrioritySort
from labsupport.sim.scheduler.plugins.tainttoleration import TaintToleration
from labsupport.sim.scheduler.plugins.volumebinding import VolumeBinding
from labsupport.sim.scheduler.plugins.volumerestrictions import VolumeRestrictions

__all__ = ["REGISTRY"]

#: Plugin name -> class, in default_plugins.go order.
REGISTRY: dict[str, type[Plugin]] = {cls.name: cls for cls in (
    SchedulingGates,
    PrioritySort,
    NodeUnschedulable,
    NodeName,
    TaintToleration,
    NodeAffinity,
    NodePorts,
    NodeResourcesFit,
    VolumeRestrictions,
    NodeVolumeLimits,
    VolumeBinding,
    VolumeZone,
    PodTopologySpread,
    InterPodAffinity,
    DynamicResources,
    DefaultPreemption,
    NodeResourcesBalancedAllocation,
    ImageLocality,
    DefaultBinder,
)}
