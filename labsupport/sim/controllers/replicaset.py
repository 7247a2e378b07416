"""The ReplicaSet controller: keep ``spec.replicas`` pods running.

It counts the active pods the ReplicaSet owns, creates the missing ones from
the pod template (in slow-start batches 1, 2, 4, ... and at most 500 per
sync, as upstream's ``BurstReplicas``) and deletes the surplus, choosing
first the pods that matter least: unscheduled, then pending, then not ready,
then the newest. Then it reports counts in ``status``; since Kubernetes 1.35
(KEP-3973) that includes ``terminatingReplicas``, its pods that are being
deleted but have not finished (not counted in ``replicas``).

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
    ...     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
    ...              "template": {"metadata": {"labels": {"app": "a"}},
    ...                           "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}}})
    >>> c.advance(10)
    >>> c.get("rs/rs")["status"]["readyReplicas"]
    2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import Forbidden, LabSupportError
from labsupport.kinds import type_for_kind
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import (
    compact_status,
    is_active,
    is_available,
    is_ready,
    owner_reference,
    ready_since,
)

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["ReplicaSetController", "pod_from_template", "is_terminating",
           "same_counted_state"]

# pkg/controller/replicaset/replica_set.go: BurstReplicas and SlowStartInitialBatchSize
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
COMPONENT = "replicaset-controller"
_RS = type_for_kind("ReplicaSet")
_POD = type_for_kind("Pod")
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def is_terminating(pod: dict) -> bool:
    """Being deleted and not yet finished (controller.FilterTerminatingPods).

    A pod with a ``deletionTimestamp`` that has not reached the Succeeded or
    Failed phase: what ``status.terminatingReplicas`` of a ReplicaSet and a
    Deployment counts (KEP-3973) and ``status.terminating`` of a Job (KEP-3939).

    Example:
        >>> pod = {"metadata": {"deletionTimestamp": "2025-01-01T00:00:30Z"},
        ...        "status": {"phase": "Running"}}
        >>> is_terminating(pod)
        True
        >>> is_terminating({"metadata": pod["metadata"], "status": {"phase": "Failed"}})
        False
    """
    return bool(pod["metadata"].get("deletionTimestamp")) and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def pod_from_template(owner: dict, template: dict, name_prefix: str) -> dict:
    """A new Pod for ``owner`` from its pod template."""
    tmeta = template.get("metadata") or {}
    meta = {
        "generateName": f"{name_prefix}-",
        "namespace": owner["metadata"].get("namespace", "default"),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [owner_reference(owner)],
    }
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    # The template's spec is already defaulted, so defaulting the pod changes only
    # top-level fields and appends to the tolerations list: copy those, share the
    # rest, containers included (stored objects are read-only; pods of one
    # template then also share the scheduler's and kubelet's parsed views).
    spec = dict(template.get("spec") or {})
    if "tolerations" in spec:
        spec["tolerations"] = list(spec["tolerations"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {"phase": "Pending"},
    }


class ReplicaSetController(SimController):
    """Reconciles ReplicaSets (and, through :mod:`.replication`, ReplicationControllers)."""

    name = COMPONENT
    kind = "ReplicaSet"
    watches = ("ReplicaSet", "Pod")
    owns = ("Pod",)
    #: Whether status has ``terminatingReplicas`` (ReplicaSetStatus has, RC's has not).
    terminating_replicas = True

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        #: Active pods of each ReplicaSet at its last sync.
        self.active: dict[str, int] = {}

    def owned_changed(self, ev: WatchEvent, owner: dict) -> None:
        """One of its pods changed: sync only when the change alters what it counts."""
        if ev.old is None or not same_counted_state(ev.old, ev.object):
            super().owned_changed(ev, owner)

    def order(self, keys: list) -> list:
        """Scale-downs first, so pods of a rolling update never exceed maxSurge.

        A ReplicaSet has pods to delete when it now wants fewer than it had
        active at its last sync (kept in :attr:`active`, so ordering costs no scan).
        """

        def surplus(key: str) -> int:
            rs = self.sim.store.peek(key)
            if rs is None:
                return 0
            return 0 if self.active.get(key, 0) > rs["spec"].get("replicas", 1) else 1

        return sorted(keys, key=surplus) if len(keys) > 1 else keys

    def sync(self, key: str) -> None:
        """Reconcile one ReplicaSet: create or delete pods, then report its status."""
        rs = self.sim.store.peek(key)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        uid = rs["metadata"]["uid"]
        owned = self.sim._owned(uid)
        pods = [p for p in owned if is_active(p)]
        want = rs["spec"].get("replicas", 1)
        diff = len(pods) - want
        if diff == 0:
            self._update_status(key, pods, sum(1 for p in owned if is_terminating(p)))
            return
        if diff < 0:
            self._create(rs, min(-diff, BURST_REPLICAS))
            if -diff > BURST_REPLICAS:
                self.enqueue(key)
        elif diff > 0:
            for pod in self._rank_for_deletion(pods)[:diff]:
                self.api.delete(
                    _POD, pod["metadata"]["namespace"], pod["metadata"]["name"], component=self.name
                )
                self.api.event(
                    rs,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    self.name,
                )
        self._update_status(key)

    def _create(self, rs: dict, count: int) -> None:
        batch = SLOW_START_INITIAL_BATCH
        made = 0
        while made < count:
            size = min(batch, count - made)
            for _ in range(size):
                pod = pod_from_template(rs, rs["spec"]["template"], rs["metadata"]["name"])
                try:
                    created = self.api.create(pod, component=self.name)
                except (Forbidden, LabSupportError) as err:
                    self.api.event(
                        rs, "Warning", "FailedCreate", f"Error creating: {err}", self.name
                    )
                    # Retry later, as the work queue's rate limiter would.
                    self.enqueue(self.api.key_of(rs), delay=10)
                    return
                self.api.event(
                    rs,
                    "Normal",
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    self.name,
                )
                made += 1
            batch *= 2

    @staticmethod
    def _rank_for_deletion(pods: list[dict]) -> list[dict]:
        def rank(p: dict) -> tuple:
            assigned = 1 if p["spec"].get("nodeName") else 0
            phase = _PHASE_RANK.get(p["status"].get("phase", "Pending"), 2)
            ready = 1 if is_ready(p) else 0
            since = ready_since(p) or 0.0
            restarts = sum(
                cs.get("restartCount", 0) for cs in p["status"].get("containerStatuses") or ()
            )
            created = p["metadata"].get("creationTimestamp", "")
            # Newer pods (later creationTimestamp, later ready) go first.
            return (
                assigned,
                phase,
                ready,
                -since,
                -restarts,
                _neg(created),
                _neg(p["metadata"]["name"]),
            )

        return sorted(pods, key=rank)

    def _update_status(self, key: str, pods: list[dict] | None = None,
                       terminating: int | None = None) -> None:
        rs = self.sim.store.peek(key)
        if rs is None:
            return
        now = self.env.now
        min_ready = rs["spec"].get("minReadySeconds", 0) or 0
        if pods is None or terminating is None:
            owned = self.sim._owned(rs["metadata"]["uid"])
            pods = [p for p in owned if is_active(p)]
            terminating = sum(1 for p in owned if is_terminating(p))
        self.active[key] = len(pods)
        ready = [p for p in pods if is_ready(p)]
        available = [p for p in ready if is_available(p, min_ready, now)]
        if min_ready and len(available) < len(ready):
            waits = [
                min_ready - (now - (ready_since(p) or now)) for p in ready if p not in available
            ]
            self.enqueue(key, delay=max(0.01, min(waits) + 0.01))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": len(ready),
            "availableReplicas": len(available),
            # KEP-3973 DeploymentReplicaSetTerminatingReplicas (alpha 1.33, beta and on
            # by default since 1.35): calculateStatus in
            # pkg/controller/replicaset/replica_set_utils.go counts the owned pods
            # that are terminating. The field is a pointer (*int32, omitempty): with
            # the feature on it is always written, 0 included.
            "terminatingReplicas": terminating,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if not (self.terminating_replicas
                and self.sim.feature_gates["DeploymentReplicaSetTerminatingReplicas"]):
            del status["terminatingReplicas"]
        status = compact_status(status, keep=("replicas", "terminatingReplicas",
                                              "observedGeneration"))
        if (rs.get("status") or {}) != status:
            self.api.update_status(rs, status, self.name)


def _neg(text: str) -> tuple:
    return tuple(-ord(ch) for ch in text)


def same_counted_state(old: dict, new: dict) -> bool:
    """True when a ReplicaSet would count the pod the same before and after a write.

    What it counts: the Ready condition's status and transition time, whether
    the pod is being deleted, its phase, and whether it is bound.
    """
    before, after = old["status"], new["status"]
    if before.get("phase") != after.get("phase"):
        return False
    if bool(old["metadata"].get("deletionTimestamp")) != bool(
            new["metadata"].get("deletionTimestamp")):
        return False
    if (old["spec"].get("nodeName") is None) != (new["spec"].get("nodeName") is None):
        return False
    conditions = before.get("conditions")
    if conditions is after.get("conditions"):  # kubelets reuse an unchanged list
        return True
    return _ready_state(conditions) == _ready_state(after.get("conditions"))


def _ready_state(conditions: list | None) -> tuple | None:
    for cond in conditions or ():
        if cond.get("type") == "Ready":
            return (cond.get("status"), cond.get("lastTransitionTime"))
    return None
