"""kube-scheduler in the simulated cluster: watches, the loop, binding, failures.

Upstream: pkg/scheduler/eventhandlers.go (what the watches do),
pkg/scheduler/schedule_one.go ``ScheduleOne`` (take a pod, run the scheduling
cycle, bind) and ``handleSchedulingFailure``. A SimCluster's ``c.scheduler``
is a :class:`KubeScheduler`: the :class:`~labsupport.sim.scheduler.scheduler.Scheduler`
(profile, node table, round-robin start) plus its queue and its decisions.
A pod that fits nowhere gets the ``FailedScheduling`` event and a
``PodScheduled=False`` condition, then waits in the queue.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, node_cpu="1", seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"},
    ...     "spec": {"containers": [{"name": "a", "image": "nginx:1.27",
    ...                              "resources": {"requests": {"cpu": "2"}}}]}})
    >>> c.advance(1)
    >>> message = c.events()[0].message
    >>> message.split(" no new claims to deallocate, ")[0]
    '0/1 nodes are available: 1 Insufficient cpu.'
    >>> message.endswith("preemption: 0/1 nodes are available: "
    ...                  "1 No preemption victims found for incoming pod..")
    True
    >>> c.scheduler
    <KubeScheduler <Profile LeastAllocated> over 1 nodes, 0 pods queued, 1 unschedulable>
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.kinds import type_for_kind
from labsupport.sim.clock import stamp
from labsupport.sim.podstatus import pod_condition
from labsupport.sim.scheduler.decision import SCHEDULER_ERROR, Decision
from labsupport.sim.scheduler.listers import StoreListers
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.plugins.defaultbinder import DefaultBinder
from labsupport.sim.scheduler.profile import Profile
from labsupport.sim.scheduler.queue import SchedulingQueue
from labsupport.sim.scheduler.scheduler import Scheduler

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["KubeScheduler", "COMPONENT", "EXPLAIN_UP_TO_NODES"]

COMPONENT = "default-scheduler"
#: Clusters up to this size keep every decision's table (the reference cycle).
EXPLAIN_UP_TO_NODES = 100

_POD = type_for_kind("Pod")

# The PodTopologyLabels admission plugin (KEP-4742, beta and on by default
# since 1.35, kubernetes PR 135158) copies these labels from the Node to the
# Pod when the pod is bound (the pods/binding subresource), so the Downward API
# can show a container its zone and region.
_TOPOLOGY_LABELS = ("topology.kubernetes.io/zone", "topology.kubernetes.io/region")


class KubeScheduler(Scheduler):
    """The scheduler of a SimCluster: a :class:`Scheduler` with a queue, on simpy.

    Args:
        sim: the cluster.
        profile: the scheduling profile (default: the default profile).
        **shorthands: ``percentage_of_nodes_to_score``, ``scoring_strategy``.
    """

    def __init__(self, sim: SimCluster, profile: Profile | None = None,
                 **shorthands: Any) -> None:
        super().__init__(NodeTable(), profile=profile, seed=sim.seed, **shorthands)
        self.table.listers = StoreListers(sim.store)
        self.sim = sim
        self.env = sim.env
        self.api = sim.api
        self.queue = SchedulingQueue(sim.env)
        #: The last decision about each pod (with its table on small clusters).
        self.decisions: dict[str, Decision] = {}
        #: Pods nominated to a node by their preemption: key -> node.
        self.nominated: dict[str, str] = {}
        self._accounted: dict[str, str] = {}  # pod key -> node its requests count on
        #: Pods assumed on a node (Reserve) while PreBind waits for their volumes.
        self._assumed: set[str] = set()
        self.env.process(self._loop())

    def __repr__(self) -> str:
        return (f"<KubeScheduler {self.profile!r} over {len(self.table)} nodes, "
                f"{len(self.queue.active)} pods queued, "
                f"{len(self.queue.unschedulable)} unschedulable>")

    # --- watches (eventhandlers.go) -----------------------------------------------------
    def on_pod(self, event: WatchEvent) -> None:
        """Queue new unscheduled pods; keep node accounting as pods bind and finish."""
        pod = event.object
        key = event.key
        node = pod["spec"].get("nodeName")
        done = event.type == "DELETED" or pod["status"].get("phase") in ("Succeeded", "Failed")
        counted = self._accounted.get(key)
        if key in self._assumed and not node and not done:
            return  # assumed on its node until PreBind ends (a status update meanwhile)
        self._assumed.discard(key)
        if counted is not None and (done or counted != node):
            self.table.remove_pod(event.old or pod, counted)
            del self._accounted[key]
            self.queue.cluster_changed()
        if done or node:
            self.nominated.pop(key, None)
        if done:
            self.queue.forget(key)
            if event.type == "DELETED":
                self.decisions.pop(key, None)
            return
        if node:
            if key not in self._accounted and node in self.table:
                self.table.add_pod(pod, node)
                self._accounted[key] = node
            elif counted == node:  # labels or deletionTimestamp may have changed
                self.table.update_pod(pod, node)
            return
        if pod["metadata"].get("deletionTimestamp"):
            return
        if pod["spec"].get("schedulerName", COMPONENT) != COMPONENT:
            return
        if event.type == "ADDED":
            self.queue.add(key, pod["spec"].get("priority") or 0)

    def on_node(self, event: WatchEvent) -> None:
        """Keep the node table current; a change may let waiting pods fit."""
        node = event.object
        if event.type == "DELETED":
            self.table.remove_node(node["metadata"]["name"])
        else:
            self.table.upsert_node(node)
        self.queue.cluster_changed()

    # --- the loop (ScheduleOne) ---------------------------------------------------------
    def _loop(self):
        while True:
            if not self.queue.active:
                yield self.queue.wait()
            while self.queue.active:
                self._schedule_next(self.queue.pop())
            # One scheduling cycle per instant: later pods see earlier bindings.
            yield self.env.timeout(0)

    def _schedule_next(self, key: str) -> None:
        pod = self.sim.store.peek(key)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        explain = len(self.table) <= EXPLAIN_UP_TO_NODES
        decision = self.schedule(pod, explain=explain)
        if explain or decision.table is not None:
            self.decisions[key] = decision
        if decision.node is not None:
            self.bind(pod, decision.node)
        else:
            if decision.nominated_node:
                self._prepare_candidate(pod, decision)
            self._failed(pod, key, decision)

    def _failed(self, pod: dict, key: str, decision: Decision) -> None:
        """handleSchedulingFailure: condition, event, back to the queue."""
        self.queue.failed(key)
        cond = {
            "type": "PodScheduled",
            **({"observedGeneration": pod["metadata"]["generation"]}
               if "generation" in pod["metadata"] else {}),
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": stamp(self.env.now),
            "reason": decision.reason,
            "message": decision.message,
        }
        old = [c for c in pod["status"].get("conditions") or () if c.get("type") == "PodScheduled"]
        nominated = pod["status"].get("nominatedNodeName")
        if decision.nominated_node is not None:  # updatePod: the PostFilter's nomination
            nominated = decision.nominated_node or None
        if (not old or old[0].get("message") != decision.message
                or nominated != pod["status"].get("nominatedNodeName")):
            status = dict(pod["status"], phase="Pending", conditions=[cond])
            if nominated:
                status["nominatedNodeName"] = nominated
                self.nominated[key] = nominated
            else:
                status.pop("nominatedNodeName", None)
                self.nominated.pop(key, None)
            pod = self.api.update_status(pod, status, COMPONENT)
        self.api.event(pod, "Warning", "FailedScheduling", decision.message, COMPONENT)

    # --- preemption (preemption.go prepareCandidate) -------------------------------------
    def _prepare_candidate(self, preemptor: dict, decision: Decision) -> None:
        """Evict the victims DefaultPreemption chose; clear lower nominations there."""
        node = decision.nominated_node
        scheduler_name = preemptor["spec"].get("schedulerName", COMPONENT)
        for victim in decision.victims:
            meta = victim["metadata"]
            current = self.sim.store.peek(self.api.key_of(victim))
            if current is None or current["metadata"].get("deletionTimestamp"):
                continue  # already going: no second API call
            # Evaluator.PreemptPod: the DisruptionTarget condition, then a graceful delete.
            status = dict(current.get("status") or {})
            conditions = [c for c in status.get("conditions") or ()
                          if c.get("type") != "DisruptionTarget"]
            conditions.append({
                "type": "DisruptionTarget", "status": "True",
                **({"observedGeneration": meta["generation"]} if "generation" in meta else {}),
                "lastProbeTime": None, "lastTransitionTime": stamp(self.env.now),
                "reason": "PreemptionByScheduler",
                "message": f"{scheduler_name}: preempting to accommodate a higher priority pod"})
            status["conditions"] = conditions
            current = self.api.update_status(current, status, COMPONENT)
            self.api.delete(_POD, meta.get("namespace", "default"), meta["name"],
                            component=COMPONENT)
            self.api.event(current, "Normal", "Preempted",
                           f"Preempted by pod {preemptor['metadata'].get('uid', '')} "
                           f"on node {node}", COMPONENT)
        # getLowerPriorityNominatedPods + clearNominatedNodeName.
        priority = preemptor["spec"].get("priority") or 0
        for key, where in list(self.nominated.items()):
            other = self.sim.store.peek(key)
            if (where != node or other is None or other is preemptor
                    or (other["spec"].get("priority") or 0) >= priority):
                continue
            status = {k: v for k, v in other["status"].items() if k != "nominatedNodeName"}
            self.api.update_status(other, status, COMPONENT)
            del self.nominated[key]

    # --- Reserve and Bind ---------------------------------------------------------------
    def bind(self, pod: dict, node: str) -> None:
        """PreBind (the pod's claims), Reserve (assume the pod in the node table), then Bind."""
        key = self.api.key_of(pod)
        self.queue.scheduled(key)
        if not pod["spec"].get("volumes"):
            self._bind(pod, node, key)
            return
        # Reserve (schedule_one.go: assume, then RunReservePluginsReserve) comes
        # before PreBind, so the scheduler cache counts the pod's requests on the
        # node while VolumeBinding PreBind waits for its claims
        # (labsupport.sim.controllers.volumes.VolumeBinder.pre_bind): other pods
        # scheduled meanwhile see the room it takes.
        if node in self.table and key not in self._accounted:
            self.table.add_pod(pod, node)
            self._accounted[key] = node
            self._assumed.add(key)
        self.sim.volumes.pre_bind(pod, node, lambda: self._bind_latest(key, node),
                                  lambda message: self._pre_bind_failed(key, message))

    def _unreserve(self, key: str, pod: dict | None) -> None:
        """Forget an assumed pod (``Unreserve`` and ``ForgetPod`` after a failed PreBind)."""
        self._assumed.discard(key)
        node = self._accounted.pop(key, None)
        if node is not None and pod is not None:
            self.table.remove_pod(pod, node)
            self.queue.cluster_changed()

    def _bind_latest(self, key: str, node: str) -> None:
        pod = self.sim.store.peek(key)
        if pod is None or pod["spec"].get("nodeName"):
            return
        if pod["metadata"].get("deletionTimestamp"):
            self._unreserve(key, pod)
            return
        self._bind(pod, node, key)

    def _pre_bind_failed(self, key: str, message: str) -> None:
        pod = self.sim.store.peek(key)
        if pod is None or pod["spec"].get("nodeName"):
            return
        self._unreserve(key, pod)
        label = f"{pod['metadata'].get('namespace', 'default')}/{pod['metadata']['name']}"
        self._failed(pod, key, Decision(None, message, 0, 0, None, label,
                                        self.profile.score_weights, SCHEDULER_ERROR))

    def _bind(self, pod: dict, node: str, key: str) -> None:
        binding = DefaultBinder().binding(pod, node)
        target = binding["target"]["name"]
        spec = dict(pod["spec"], nodeName=target)
        generation = pod["metadata"].get("generation")
        status = dict(pod["status"], phase="Pending", conditions=[
            pod_condition("PodScheduled", "True", None, stamp(self.env.now), generation)])
        # The API server clears nominatedNodeName on binding
        # (ClearingNominatedNodeNameAfterBinding, KEP-5278, stable in 1.37).
        status.pop("nominatedNodeName", None)
        new = dict(pod, spec=spec, status=status)
        new["metadata"] = dict(pod["metadata"])
        if self.api.feature_gates["PodTopologyLabelsAdmission"]:
            topology = _topology_labels(self.sim.store.peek(f"/registry/minions/{target}"))
            if topology:
                new["metadata"]["labels"] = {**(pod["metadata"].get("labels") or {}),
                                             **topology}
        self._assumed.discard(key)
        if target in self.table and self._accounted.get(key) != target:
            # Reserve: account the pod now, with the very dict just scheduled: the
            # node table reuses the profile it computed instead of reading the pod again.
            self.table.add_pod(pod, target)
            self._accounted[key] = target
        self.api.bind(new, COMPONENT)
        ns = pod["metadata"].get("namespace", "default")
        self.api.event(new, "Normal", "Scheduled",
                       f"Successfully assigned {ns}/{pod['metadata']['name']} to {target}",
                       COMPONENT)


def _topology_labels(node: dict | None) -> dict[str, str]:
    """The node's zone and region labels that a pod bound to it gets."""
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    return {k: labels[k] for k in _TOPOLOGY_LABELS if k in labels}
