"""The scheduler's queue and binding: which pod is tried when, and what happens after.

kube-scheduler takes unscheduled pods one at a time from its *active queue*,
runs the Filter and Score plugins (:mod:`labsupport.sim.scheduling`) and
*binds* the pod to the best node. A pod that fits nowhere gets the
``FailedScheduling`` event and a ``PodScheduled=False`` condition, then waits:
at least its back-off (1 s, doubling up to 10 s), and until something in the
cluster changes that could make it fit (a node is added or changes, a pod
goes away), or at most 5 minutes.

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
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.clock import stamp
from labsupport.sim.podstatus import pod_condition
from labsupport.sim.scheduling import NodeTable, Scheduler

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["SchedulingQueue"]

COMPONENT = "default-scheduler"
# pkg/scheduler/internal/queue: podInitialBackoffDuration 1 s, podMaxBackoffDuration 10 s,
# podMaxInUnschedulablePodsDuration 5 min.
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE_SECONDS = 300.0
# How many past decisions keep their filter/score table (for lessons).
EXPLAIN_UP_TO_NODES = 100
_POD = type_for_kind("Pod")


class SchedulingQueue:
    """Feeds unscheduled pods to the scheduler and binds them."""

    def __init__(self, sim: SimCluster, **scheduler_options) -> None:
        self.sim = sim
        self.env = sim.env
        self.api = sim.api
        self.table = NodeTable()
        self.scheduler = Scheduler(self.table, seed=sim.seed, **scheduler_options)
        self.active: deque[str] = deque()
        self._queued: set[str] = set()
        self.unschedulable: dict[str, tuple[float, float]] = {}  # key -> (failed at, back-off)
        self.attempts: dict[str, int] = {}
        self.decisions: dict[str, object] = {}
        self._accounted: dict[str, str] = {}  # pod key -> node its requests count on
        self._wake = self.env.event()
        self.env.process(self._loop())

    # --- watches ------------------------------------------------------------------
    def on_pod(self, event: WatchEvent) -> None:
        """Queue new unscheduled pods; keep node accounting as pods bind and finish."""
        pod = event.object
        key = event.key
        node = pod["spec"].get("nodeName")
        done = event.type == "DELETED" or pod["status"].get("phase") in ("Succeeded", "Failed")
        counted = self._accounted.get(key)
        if counted is not None and (done or counted != node):
            self.table.remove_pod(event.old or pod, counted)
            del self._accounted[key]
            self._cluster_changed()
        if done:
            self.unschedulable.pop(key, None)
            self.attempts.pop(key, None)
            self.decisions.pop(key, None) if event.type == "DELETED" else None
            return
        if node:
            if key not in self._accounted and node in self.table:
                self.table.add_pod(pod, node)
                self._accounted[key] = node
            return
        if pod["metadata"].get("deletionTimestamp"):
            return
        if pod["spec"].get("schedulerName", COMPONENT) != COMPONENT:
            return
        if event.type == "ADDED":
            self._push(key)

    def on_node(self, event: WatchEvent) -> None:
        """Keep the node table current; a change may let waiting pods fit."""
        node = event.object
        if event.type == "DELETED":
            self.table.remove_node(node["metadata"]["name"])
        else:
            self.table.upsert_node(node)
        self._cluster_changed()

    # --- queue ----------------------------------------------------------------------
    def _push(self, key: str) -> None:
        if key in self._queued:
            return
        self._queued.add(key)
        self.active.append(key)
        if not self._wake.triggered:
            self._wake.succeed()

    def _cluster_changed(self) -> None:
        if not self.unschedulable:
            return
        now = self.env.now
        for key, (failed, backoff) in list(self.unschedulable.items()):
            del self.unschedulable[key]
            wait = failed + backoff - now
            if wait > 0:
                self.env.process(self._push_later(key, wait))
            else:
                self._push(key)

    def _push_later(self, key: str, wait: float):
        yield self.env.timeout(wait)
        self._push(key)

    def _flush_later(self, key: str, failed: float):
        yield self.env.timeout(MAX_UNSCHEDULABLE_SECONDS)
        entry = self.unschedulable.get(key)
        if entry is not None and entry[0] == failed:
            del self.unschedulable[key]
            self._push(key)

    def _loop(self):
        while True:
            if not self.active:
                self._wake = self.env.event()
                yield self._wake
            while self.active:
                key = self.active.popleft()
                self._queued.discard(key)
                self._schedule_one(key)
            # One scheduling cycle per instant: later pods see earlier bindings.
            yield self.env.timeout(0)

    # --- one pod --------------------------------------------------------------------
    def _schedule_one(self, key: str) -> None:
        pod = self.sim.store.peek(key)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        explain = len(self.table) <= EXPLAIN_UP_TO_NODES
        decision = self.scheduler.schedule(pod, explain=explain)
        if explain:
            self.decisions[key] = decision
        if decision.node is not None:
            self._bind(pod, decision.node)
            return
        attempts = self.attempts[key] = self.attempts.get(key, 0) + 1
        backoff = min(INITIAL_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
        now = self.env.now
        self.unschedulable[key] = (now, backoff)
        self.env.process(self._flush_later(key, now))
        cond = {
            "type": "PodScheduled",
            **({"observedGeneration": pod["metadata"]["generation"]}
               if "generation" in pod["metadata"] else {}),
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": stamp(now),
            "reason": "Unschedulable",
            "message": decision.message,
        }
        old = [c for c in pod["status"].get("conditions") or () if c.get("type") == "PodScheduled"]
        if not old or old[0].get("message") != decision.message:
            status = dict(pod["status"], phase="Pending", conditions=[cond])
            pod = self.api.update_status(pod, status, COMPONENT)
        self.api.event(pod, "Warning", "FailedScheduling", decision.message, COMPONENT)

    def _bind(self, pod: dict, node: str) -> None:
        key = self.api.key_of(pod)
        self.attempts.pop(key, None)
        spec = dict(pod["spec"], nodeName=node)
        now = stamp(self.env.now)
        generation = pod["metadata"].get("generation")
        status = dict(pod["status"], phase="Pending",
                      conditions=[pod_condition("PodScheduled", "True", None, now, generation)])
        new = dict(pod, spec=spec, status=status)
        new["metadata"] = dict(pod["metadata"])
        if self.api.feature_gates["PodTopologyLabelsAdmission"]:
            topology = _topology_labels(self.sim.store.peek(f"/registry/minions/{node}"))
            if topology:
                new["metadata"]["labels"] = {**(pod["metadata"].get("labels") or {}),
                                             **topology}
        if node in self.table:
            # Account the pod now, with the very dict just scheduled: the node table
            # reuses the profile it computed instead of reading the pod again.
            self.table.add_pod(pod, node)
            self._accounted[key] = node
        self.sim.store.put(key, new)
        self.api._record(COMPONENT, "bind", key)
        ns = pod["metadata"].get("namespace", "default")
        self.api.event(
            new,
            "Normal",
            "Scheduled",
            f"Successfully assigned {ns}/{pod['metadata']['name']} to {node}",
            COMPONENT,
        )
        self.sim.volumes.pod_scheduled(new, node)


# The PodTopologyLabels admission plugin (KEP-4742, beta and on by default
# since 1.35, kubernetes PR 135158) copies these labels from the Node to the
# Pod when the pod is bound (the pods/binding subresource), so the Downward API
# can show a container its zone and region.
_TOPOLOGY_LABELS = ("topology.kubernetes.io/zone", "topology.kubernetes.io/region")


def _topology_labels(node: dict | None) -> dict[str, str]:
    """The node's zone and region labels that a pod bound to it gets."""
    labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    return {k: labels[k] for k in _TOPOLOGY_LABELS if k in labels}
