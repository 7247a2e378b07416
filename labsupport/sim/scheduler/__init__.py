"""kube-scheduler for the simulator: the framework, its plugins, two cycles, the queue.

- :mod:`.framework`: extension points, :class:`Status`, what a plugin is.
- :mod:`.plugins`: one module per default plugin, and the registry (the
  default profile's order, as default_plugins.go).
- :mod:`.profile`: :class:`Profile`, the plugins a scheduler runs.
- :mod:`.student`: :class:`SchedulerPlugin`, a plugin you write (lesson 06).
- :mod:`.views`: :class:`PodView` and :class:`NodeView`, what plugins read.
- :mod:`.reference`: ``schedule_one``, the cycle to read, and the oracle.
- :mod:`.fastpath`: the same cycle, vectorised for large clusters.
- :mod:`.scheduler`: :class:`Scheduler`, a profile over a node table.
- :mod:`.nodetable`, :mod:`.podinfo`: the node cache and what a pod asks for.
- :mod:`.decision`: the result and the FailedScheduling text.
- :mod:`.queue`, :mod:`.kubescheduler`: the queue, and the component a
  SimCluster runs (``c.scheduler``).

No simpy outside the last two. ``labsupport/sim/README.md`` maps every
Kubernetes concept to its file and function.

Example:
    >>> from labsupport.sim.scheduler import NodeTable, Scheduler
    >>> table = NodeTable()
    >>> for i in range(1, 4):
    ...     table.upsert_node({"metadata": {"name": f"node-{i}"}, "status": {
    ...         "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}})
    >>> sched = Scheduler(table, seed=0)
    >>> pod = {"metadata": {"name": "api-1"}, "spec": {"containers": [
    ...     {"name": "api", "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}]}}
    >>> d = sched.schedule(pod)
    >>> d.node is not None, d.nodes_checked
    (True, 3)
    >>> table.add_pod(pod, d.node)
    >>> sched.schedule(pod).node != d.node      # that node has only 500m left
    True
"""

from __future__ import annotations

from labsupport.sim.scheduler.decision import Decision
from labsupport.sim.scheduler.framework import Plugin, Status
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.profile import Profile
from labsupport.sim.scheduler.scheduler import Scheduler
from labsupport.sim.scheduler.student import PluginError, SchedulerPlugin
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["NodeTable", "Decision", "Scheduler", "Profile", "SchedulerProfile", "Plugin",
           "Status", "SchedulerPlugin", "PluginError", "PodView", "NodeView"]

#: The public name of :class:`Profile` (``ls.SchedulerProfile``).
SchedulerProfile = Profile
