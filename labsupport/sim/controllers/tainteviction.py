"""The taint eviction controller (the "taint manager"): NoExecute taints evict pods.

Whoever puts a taint with ``effect: NoExecute`` on a node (the node
lifecycle controller when a node goes silent, or a person with ``kubectl
taint``), this controller decides what happens to the pods already there
(pkg/controller/tainteviction/taint_eviction.go, ``processPodOnNode``):

- a pod that does not tolerate every NoExecute taint of its node is deleted
  at once;
- a pod that tolerates them all, with ``tolerationSeconds`` on a toleration
  it uses, is deleted after the smallest of those seconds, counted from when
  the controller saw the taint; a later change keeps the earlier start;
- a pod whose tolerations have no ``tolerationSeconds`` stays forever.

Removing the taints before the time is up cancels the deletion (event
``TaintManagerEviction`` "Cancelling deletion of Pod ns/name"). A deletion
that happens emits ``TaintManagerEviction`` "Marking for deletion Pod
ns/name", gives the pod the condition ``DisruptionTarget`` (reason
``DeletionByTaintManager``) and deletes it gracefully.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> node = c.get("node/node-1")
    >>> node["spec"]["taints"] = [{"key": "maintenance", "effect": "NoExecute"}]
    >>> _ = c.apply(node)
    >>> c.advance(1)
    >>> [e.message for e in c.events() if e.reason == "TaintManagerEviction"]
    ['Marking for deletion Pod default/p']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsupport.errors import ObjectNotFound
from labsupport.kinds import type_for_kind
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.base import SimController

if TYPE_CHECKING:
    import simpy

    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["TaintEvictionController", "tolerates", "matching_tolerations",
           "min_toleration_seconds", "COMPONENT"]

COMPONENT = "taint-eviction-controller"
REASON = "TaintManagerEviction"
_POD = type_for_kind("Pod")
_NODE = type_for_kind("Node")


def tolerates(toleration: dict, taint: dict) -> bool:
    """Whether one toleration tolerates one taint (core/v1 ``Toleration.ToleratesTaint``).

    Example:
        >>> tolerates({"operator": "Exists"}, {"key": "x", "effect": "NoExecute"})
        True
        >>> tolerates({"key": "x", "value": "a", "effect": "NoSchedule"},
        ...           {"key": "x", "value": "a", "effect": "NoExecute"})
        False
    """
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def matching_tolerations(taints: list[dict], tolerations: list[dict]) -> list[dict] | None:
    """The first toleration that tolerates each taint; None if one taint is not tolerated.

    v1helper ``GetMatchingTolerations``.
    """
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return None
        used.append(match)
    return used


def min_toleration_seconds(used: list[dict]) -> float:
    """The smallest ``tolerationSeconds`` (``getMinTolerationTime``); inf: forever.

    Zero or less counts as zero; no toleration at all as zero.

    Example:
        >>> min_toleration_seconds([{"tolerationSeconds": 300}, {"tolerationSeconds": 60}])
        60.0
        >>> min_toleration_seconds([{"operator": "Exists"}])
        inf
    """
    if not used:
        return 0.0
    best = math.inf
    for t in used:
        seconds = t.get("tolerationSeconds")
        if seconds is None:
            continue
        if seconds <= 0:
            return 0.0
        best = min(best, float(seconds))
    return best


def no_execute_taints(node: dict | None) -> list[dict]:
    """The node's taints with effect NoExecute (``getNoExecuteTaints``)."""
    if node is None:
        return []
    return [t for t in (node.get("spec") or {}).get("taints") or ()
            if t.get("effect") == "NoExecute"]


class TaintEvictionController(SimController):
    """Deletes pods from nodes with NoExecute taints they do not tolerate (for long)."""

    name = COMPONENT
    watches = ("Node", "Pod")

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        # Nodes with NoExecute taints (taintedNodes upstream).
        self.tainted: dict[str, list[dict]] = {}
        # "namespace/name" -> (created at, fire at, uid, process): the timed eviction queue.
        self._work: dict[str, tuple[float, float, str, simpy.Process]] = {}

    # --- watches -------------------------------------------------------------------
    def watched(self, ev: WatchEvent, owner: dict | None) -> None:
        """Nodes whose NoExecute taints changed, pods bound or with new tolerations."""
        if ev.object["kind"] == "Node":
            self._node_event(ev)
        else:
            self._pod_event(ev)

    def _node_event(self, ev: WatchEvent) -> None:
        # NodeUpdated: only a change of the NoExecute taints matters.
        node = ev.object
        name = node["metadata"]["name"]
        taints = [] if ev.type == "DELETED" else no_execute_taints(node)
        before = no_execute_taints(ev.old) if ev.old is not None else None
        if before is not None and before == taints:
            return
        if ev.type == "DELETED":
            self.tainted.pop(name, None)
            return
        if not taints:
            had = self.tainted.pop(name, None)
            if had is None and before is None:
                return
        else:
            self.tainted[name] = taints
        # handleNodeUpdate: every pod of the node, now.
        for pod in self.sim._pods_on(name):
            ref = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            if not taints:
                self._cancel(ref, pod)  # all taints removed: cancel, with an event
            else:
                self._process(pod, taints)

    def _pod_event(self, ev: WatchEvent) -> None:
        pod = ev.object
        meta = pod["metadata"]
        ref = f"{meta['namespace']}/{meta['name']}"
        if ev.type == "DELETED":
            self._cancel(ref, None)  # handlePodUpdate: a pod that is gone, no event
            return
        old = ev.old
        node = pod["spec"].get("nodeName")
        if old is not None and old["spec"].get("nodeName") == node and \
                old["spec"].get("tolerations") == pod["spec"].get("tolerations"):
            return  # PodUpdated: only the node and the tolerations matter
        if not node or node not in self.tainted:
            return
        self._process(pod, self.tainted[node])

    # --- deciding --------------------------------------------------------------------
    def _process(self, pod: dict, taints: list[dict]) -> None:
        """processPodOnNode: delete now, later, or never."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return  # already going
        ref = f"{meta['namespace']}/{meta['name']}"
        now = self.env.now
        used = matching_tolerations(taints, pod["spec"].get("tolerations") or [])
        if used is None:
            self._cancel(ref, pod)
            self._schedule(ref, meta["uid"], now, now)
            return
        seconds = min_toleration_seconds(used)
        if seconds == math.inf:
            self._cancel(ref, pod)  # tolerated forever
            return
        start = now
        scheduled = self._work.get(ref)
        if scheduled is not None:
            start = scheduled[0]
            if start + seconds < now + seconds:
                return  # the earlier deadline stands
            self._cancel(ref, pod)
        self._schedule(ref, meta["uid"], start, start + seconds)

    def _schedule(self, ref: str, uid: str, created: float, fire: float) -> None:
        proc = self.env.process(self._fire(ref, uid, max(0.0, fire - self.env.now)))
        self._work[ref] = (created, fire, uid, proc)

    def _cancel(self, ref: str, pod: dict | None) -> None:
        work = self._work.pop(ref, None)
        if work is None:
            return
        proc = work[3]
        if proc.is_alive:
            proc.interrupt()
        if pod is not None:
            # cancelWorkWithEvent
            self.api.event(pod, "Normal", REASON, f"Cancelling deletion of Pod {ref}", COMPONENT)

    def scheduled(self, namespace: str, name: str) -> float | None:
        """When the pod is due to be deleted (virtual seconds), or None."""
        work = self._work.get(f"{namespace}/{name}")
        return None if work is None else work[1]

    # --- deleting --------------------------------------------------------------------
    def _fire(self, ref: str, uid: str, after: float):
        import simpy

        try:
            yield self.env.timeout(after)
        except simpy.Interrupt:
            return
        work = self._work.get(ref)
        if work is not None and work[2] == uid:
            del self._work[ref]
        namespace, _, name = ref.partition("/")
        pod = self.api.get(_POD, namespace, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        # deletePodHandler: the event first, then addConditionAndDeletePod.
        self.api.event(pod, "Normal", REASON, f"Marking for deletion Pod {ref}", COMPONENT)
        if not pod["metadata"].get("deletionTimestamp"):
            status = dict(pod.get("status") or {})
            conditions = [c for c in status.get("conditions") or ()
                          if c.get("type") != "DisruptionTarget"]
            conditions.append({"type": "DisruptionTarget",
                               "observedGeneration": pod["metadata"].get("generation", 1),
                               "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": stamp(self.env.now),
                               "reason": "DeletionByTaintManager",
                               "message": "Taint manager: deleting due to NoExecute taint"})
            status["conditions"] = conditions
            pod = self.api.update_status(pod, status, COMPONENT)
        try:
            self.api.delete(_POD, namespace, name, component=COMPONENT)
        except ObjectNotFound:
            return

    def sync(self, key: object) -> None:  # pragma: no cover - evictions are timed processes
        """Nothing is queued: evictions run as timed processes."""
