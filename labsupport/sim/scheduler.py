"""kube-scheduler for the simulator: filters, scores and sampling as upstream v1.37.

No simpy here: the simulator calls :meth:`Scheduler.schedule` for a pending
pod and, when it binds the pod, :meth:`NodeTable.add_pod`. Defaults and
formulas follow pkg/scheduler (see /work/shared/K8S_FACTS.md); the code in
:mod:`labsupport.sim.scheduling` cites the upstream file next to each rule.

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

from labsupport.sim.scheduling.cycle import Scheduler
from labsupport.sim.scheduling.decision import Decision
from labsupport.sim.scheduling.nodetable import NodeTable

__all__ = ["NodeTable", "Decision", "Scheduler"]
