"""The node lifecycle controller: notice silent nodes and evict their pods.

Every kubelet renews a Lease every 10 s. The controller looks every 5 s
(node-monitor-period); a node whose lease is older than the grace period
(50 s, as in Kubernetes v1.37; 40 s before v1.32) gets ``Ready=Unknown`` and the
taint ``node.kubernetes.io/unreachable`` (NoSchedule at once, NoExecute at
the eviction rate). The taint eviction controller (:mod:`.tainteviction`)
then evicts the node's pods: they tolerate the taint for 300 s by default
(DefaultTolerationSeconds), so they are deleted about 350 s after the node
went silent, and their controllers recreate them elsewhere.

A cordoned node (``spec.unschedulable: true``) gets the taint
``node.kubernetes.io/unschedulable:NoSchedule`` from the same controller
(TaintNodesByCondition), which removes it on uncordon; the scheduler's
TaintToleration plugin then keeps new pods off the node, and a DaemonSet's
pods tolerate it.

Leases are modelled lazily: a healthy node costs nothing; a silent node is
a timer (K8S_FACTS: at 5,000 nodes, lease traffic is what limits KWOK).

Example:
    >>> from labsupport.sim.controllers.nodelifecycle import zone_state
    >>> zone_state(ready=2, not_ready=1), zone_state(ready=1, not_ready=4), zone_state(0, 3)
    ('Normal', 'PartialDisruption', 'FullDisruption')
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.tainteviction import matching_tolerations, min_toleration_seconds

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["NodeLifecycleController", "zone_state"]

COMPONENT = "node-controller"
# kubelet: the node Lease is renewed every 10 s (nodeLeaseDurationSeconds 40 / 4).
LEASE_RENEW_SECONDS = 10.0
LEASE_DURATION_SECONDS = 40
# kube-controller-manager: --node-monitor-period 5 s; --node-monitor-grace-period
# 50 s since v1.32 (40 s before), unchanged through v1.37. Since v1.34 the
# NoExecute unreachable taint follows Ready=Unknown without the extra 5 s the
# controller used to wait (kubernetes PR 120816): the queue below adds none.
NODE_MONITOR_PERIOD = 5.0
NODE_MONITOR_GRACE_PERIOD = 50.0
# --node-eviction-rate 0.1 nodes/s; --secondary-node-eviction-rate 0.01;
# --unhealthy-zone-threshold 0.55; --large-cluster-size-threshold 50.
EVICTION_RATE = 0.1
SECONDARY_EVICTION_RATE = 0.01
UNHEALTHY_ZONE_THRESHOLD = 0.55
LARGE_CLUSTER_THRESHOLD = 50
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# A node update reaches the controller's worker through its informer and queue.
NODE_UPDATE_LATENCY = 0.01
_POD = type_for_kind("Pod")
_NODE = type_for_kind("Node")


def zone_state(ready: int, not_ready: int) -> str:
    """Normal, PartialDisruption or FullDisruption (ComputeZoneStateFunc upstream)."""
    if ready == 0 and not_ready > 0:
        return "FullDisruption"
    if not_ready > 2 and not_ready / (ready + not_ready) >= UNHEALTHY_ZONE_THRESHOLD:
        return "PartialDisruption"
    return "Normal"


class NodeLifecycleController:
    """Watches lease ages (lazily), marks nodes Unknown, taints them, evicts pods."""

    def __init__(self, sim: SimCluster, grace_period: float = NODE_MONITOR_GRACE_PERIOD) -> None:
        self.sim = sim
        self.env = sim.env
        self.api = sim.api
        self.grace_period = grace_period
        self.silent_since: dict[str, float] = {}  # node -> time of its last lease renewal
        self.unknown: set[str] = set()
        self._taint_queue: list[str] = []
        self._next_taint_at = 0.0
        self._generation: dict[str, int] = {}
        self._phase: dict[str, float] = {}
        self._tainting: set[str] = set()  # nodes with a NoSchedule tainting pass queued
        sim.store.watch(f"/registry/{_NODE.registry}/", self._node_changed)

    # --- cordon -----------------------------------------------------------------
    def _node_changed(self, ev) -> None:
        """A Node was added or updated: queue a NoSchedule tainting pass if needed."""
        if ev.type == "DELETED":
            return
        name = ev.object["metadata"]["name"]
        if name in self._tainting or _unschedulable_taint_ok(ev.object):
            return
        self._tainting.add(name)
        self.env.process(self._no_schedule_tainting_pass(name))

    def _no_schedule_tainting_pass(self, node: str):
        # node_lifecycle_controller.go doNoScheduleTaintingPass: spec.unschedulable
        # wants the taint node.kubernetes.io/unschedulable:NoSchedule; it is added or
        # removed with SwapNodeControllerTaint (which stamps timeAdded).
        yield self.env.timeout(NODE_UPDATE_LATENCY)
        self._tainting.discard(node)
        obj = self.api.get(_NODE, None, node)
        if obj is None or _unschedulable_taint_ok(obj):
            return
        self._set_taint(node, "NoSchedule", bool(obj["spec"].get("unschedulable")),
                        key=UNSCHEDULABLE)

    # --- leases ---------------------------------------------------------------
    def lease_phase(self, node: str) -> float:
        """The offset of a node's renewals within the 10 s period (set at registration)."""
        return self._phase.setdefault(node, self.sim.rng.random() * LEASE_RENEW_SECONDS)

    def last_renewal(self, node: str, now: float | None = None) -> float:
        """When the node last renewed its Lease (computed, not simulated)."""
        now = self.env.now if now is None else now
        if node in self.silent_since:
            return self.silent_since[node]
        phase = self.lease_phase(node)
        if now < phase:
            return 0.0
        return phase + math.floor((now - phase) / LEASE_RENEW_SECONDS) * LEASE_RENEW_SECONDS

    def node_silent(self, node: str) -> None:
        """The node's kubelet stopped: schedule the check that will notice it."""
        last = self.last_renewal(node)
        self.silent_since[node] = last
        gen = self._generation[node] = self._generation.get(node, 0) + 1
        # The first monitor tick (every 5 s) at which the lease is older than the grace period.
        due = last + self.grace_period
        tick = math.floor(due / NODE_MONITOR_PERIOD + 1e-9) * NODE_MONITOR_PERIOD
        if tick <= due - 1e-9:
            tick += NODE_MONITOR_PERIOD
        self.env.process(self._notice(node, max(tick, self.env.now), gen))

    def node_back(self, node: str) -> None:
        """The kubelet renews again: the next monitor tick marks the node Ready."""
        self.silent_since.pop(node, None)
        gen = self._generation[node] = self._generation.get(node, 0) + 1
        if node in self.unknown or node in self._taint_queue:
            now = self.env.now
            tick = math.ceil(now / NODE_MONITOR_PERIOD + 1e-9) * NODE_MONITOR_PERIOD
            self.env.process(self._recover(node, tick, gen))

    # --- going Unknown ----------------------------------------------------------
    def _notice(self, node: str, at: float, gen: int):
        yield self.env.timeout(at - self.env.now)
        if self._generation.get(node) != gen or node not in self.silent_since:
            return
        obj = self.api.get(_NODE, None, node)
        if obj is None:
            return
        self.unknown.add(node)
        now = stamp(self.env.now)
        conds = []
        for c in obj["status"].get("conditions") or ():
            c = dict(
                c,
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=now,
            )
            conds.append(c)
        obj = self.api.update_status(obj, dict(obj["status"], conditions=conds), COMPONENT)
        self._set_taint(node, "NoSchedule", True)
        self.api.event(
            obj, "Normal", "NodeNotReady", f"Node {node} status is now: NodeNotReady", COMPONENT
        )
        for pod in self.sim._pods_on(node):
            if not pod["metadata"].get("deletionTimestamp"):
                self._mark_not_ready(pod)
        self._taint_queue.append(node)
        self.env.process(self._drain_taint_queue())

    def _mark_not_ready(self, pod: dict) -> None:
        now = stamp(self.env.now)
        conds = []
        for c in pod["status"].get("conditions") or ():
            if c["type"] == "Ready" and c.get("status") != "False":
                c = dict(c, status="False", lastTransitionTime=now)
            conds.append(c)
        self.api.update_status(pod, dict(pod["status"], conditions=conds), COMPONENT)
        self.api.event(pod, "Warning", "NodeNotReady", "Node is not ready", COMPONENT)

    def _rate(self) -> float:
        nodes = self.api.list(_NODE)
        not_ready = sum(1 for n in nodes if n["metadata"]["name"] in self.unknown)
        state = zone_state(len(nodes) - not_ready, not_ready)
        if state == "FullDisruption":
            return 0.0  # every node looks down: assume the control plane lost the network
        if state == "PartialDisruption":
            return SECONDARY_EVICTION_RATE if len(nodes) > LARGE_CLUSTER_THRESHOLD else 0.0
        return EVICTION_RATE

    def _drain_taint_queue(self):
        while self._taint_queue:
            rate = self._rate()
            if rate == 0:
                yield self.env.timeout(NODE_MONITOR_PERIOD)
                continue
            if self.env.now < self._next_taint_at:
                yield self.env.timeout(self._next_taint_at - self.env.now)
                continue
            node = self._taint_queue.pop(0)
            if node not in self.unknown:
                continue
            self._next_taint_at = self.env.now + 1.0 / rate
            # The taint is all this controller does: the taint eviction controller
            # (tainteviction.py) evicts the pods that do not tolerate it.
            self._set_taint(node, "NoExecute", True)

    def _set_taint(self, node: str, effect: str, present: bool, key: str = UNREACHABLE) -> None:
        obj = self.api.get(_NODE, None, node)
        if obj is None:
            return
        old = obj["spec"].get("taints") or ()
        taints = [t for t in old if not (t.get("key") == key and t.get("effect") == effect)]
        if present == (len(taints) < len(old)):
            return  # already as wanted: SwapNodeControllerTaint adds only missing taints
        if present:
            # controller_utils.go SwapNodeControllerTaint stamps every taint it adds.
            taints.append({"key": key, "effect": effect, "timeAdded": stamp(self.env.now)})
        spec = dict(obj["spec"])
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        self.api.patch(obj, COMPONENT, spec=spec)

    # --- coming back ----------------------------------------------------------------
    def _recover(self, node: str, at: float, gen: int):
        yield self.env.timeout(max(0.0, at - self.env.now))
        if self._generation.get(node) != gen:
            return
        self.unknown.discard(node)
        if node in self._taint_queue:
            self._taint_queue.remove(node)
        obj = self.api.get(_NODE, None, node)
        if obj is None:
            return
        now = stamp(self.env.now)
        conds = [
            self.sim._node_condition(c["type"], now) for c in obj["status"].get("conditions") or ()
        ]
        obj = self.api.update_status(obj, dict(obj["status"], conditions=conds), COMPONENT)
        self._set_taint(node, "NoExecute", False)
        self._set_taint(node, "NoSchedule", False)
        self.api.event(
            obj, "Normal", "NodeReady", f"Node {node} status is now: NodeReady", COMPONENT
        )


def _unschedulable_taint_ok(node: dict) -> bool:
    """The node has the unschedulable NoSchedule taint exactly when it is cordoned."""
    has = any(t.get("key") == UNSCHEDULABLE and t.get("effect") == "NoSchedule"
              for t in node["spec"].get("taints") or ())
    return has == bool(node["spec"].get("unschedulable"))


def _toleration_seconds(pod: dict, key: str) -> float:
    """How long the pod tolerates a NoExecute taint ``key`` (0 if not at all; inf: forever).

    The taint eviction controller's rule (:mod:`.tainteviction`) for one taint.
    """
    used = matching_tolerations([{"key": key, "effect": "NoExecute"}],
                                pod["spec"].get("tolerations") or [])
    return 0.0 if used is None else min_toleration_seconds(used)
