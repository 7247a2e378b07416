"""The kubelet: one per node, it runs the pods bound to its node.

It admits each pod bound to its node (:mod:`labsupport.sim.kubeletadmit`)
and gives it a pod worker (:mod:`labsupport.sim.podworker`), which pulls
images, waits for volumes, runs the init and app containers and their
probes, restarts crashed containers with the CrashLoopBackOff schedule, and
reports everything in the pod's ``status``. When a pod is deleted its worker
stops the containers gracefully and then removes the pod. A failed node's
kubelet goes silent: it keeps its state but writes nothing until the node is
restored.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> c.pods()[0]
    <Pod p Running ready on node-1>
    >>> [e.reason for e in c.events()]
    ['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import ObjectNotFound
from labsupport.kinds import type_for_kind
from labsupport.sim.admission.resourcequota import qos_class

# The container restart back-off (0, 10, 20 ... 300 s; reset after 10 minutes of
# running) is labsupport.sim.backoff's; the names stay importable from here.
from labsupport.sim.backoff import (  # noqa: F401 - re-exported names
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    BACKOFF_RESET_AFTER,
    RestartBackOff,
)
from labsupport.sim.clock import stamp
from labsupport.sim.kubeletadmit import REJECTED_PREFIX, AdmittedPods, NodeResources
from labsupport.sim.podworker import COMPONENT, PodWorker

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["Kubelet", "PodWorker"]

_POD_TYPE = type_for_kind("Pod")


class Kubelet:
    """The node agent of one simulated node."""

    def __init__(self, sim: SimCluster, node: str, index: int) -> None:
        self.sim = sim
        self.env = sim.env
        self.node = node
        self.index = index
        self.host_ip = f"172.18.0.{index + 2}"
        self.host_ips = [{"ip": self.host_ip}]  # shared by its pods' statuses (read-only)
        self.alive = True
        self.revived = self.env.event()
        self.images: set[str] = set()
        self.workers: dict[str, PodWorker] = {}
        self.container_seq = index * 1_000_000
        self._next_ip = 1
        self._deferred: list[str] = []
        #: What the admitted pods request (resource admission: kubeletadmit.py).
        self.admitted = AdmittedPods()
        self._node_resources: tuple[object, NodeResources] | None = None

    def allocate_ip(self) -> str:
        """The next pod IP of this node's pod CIDR (10.244.<index>.0/24, then beyond)."""
        self._next_ip += 1
        n = self._next_ip
        return (
            f"10.{244 + n // 65536}.{(self.index + n // 256 * 16) % 256}.{n % 256}"
            if n >= 255
            else f"10.244.{self.index}.{n}"
        )

    def handle(self, pod: dict, deleted: bool, key: str | None = None) -> None:
        """React to a change of a pod bound to this node (``key``: its etcd key, if known)."""
        if key is None:
            key = self.sim.api.key_of(pod)
        worker = self.workers.get(key)
        if deleted:
            if worker is not None and worker.uid == pod["metadata"]["uid"]:
                worker.kill()
            return
        if not self.alive:
            if key not in self._deferred:
                self._deferred.append(key)
            return
        if worker is None:
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                if pod["metadata"].get("deletionTimestamp"):
                    self._delete_now(pod)
                return
            if pod["metadata"].get("deletionTimestamp"):
                self._delete_now(pod)
                return
            rejected = self.admitted.admit(key, pod, self.node_resources(), self._active_pods)
            if rejected is not None:
                self._reject(pod, key, *rejected)
                return
            self.workers[key] = PodWorker(self, pod, key)
            return
        worker.pod = pod
        if pod["spec"] is not worker.spec and not pod["metadata"].get("deletionTimestamp"):
            worker.update_spec(pod)
        if (pod["metadata"].get("generation") != pod["status"].get("observedGeneration")
                and not pod["metadata"].get("deletionTimestamp")):
            # A new generation of the spec: the pod sync loop reports it has seen
            # it (KEP-5067), even before it acts on the change.
            worker.sync()
        if pod["metadata"].get("deletionTimestamp") and not worker.stopping:
            if worker.phase in ("Succeeded", "Failed"):
                worker.done = True
                self._delete_now(pod)
                self.forget(worker)
            else:
                worker.terminate(float(pod["metadata"].get("deletionGracePeriodSeconds", 30)))

    def _delete_now(self, pod: dict) -> None:
        """Delete a stopped pod for good (grace period 0); its finalizers may still keep it."""
        meta = pod["metadata"]
        if meta.get("deletionGracePeriodSeconds") == 0:
            return  # already deleted with 0: only its finalizers keep it now
        try:
            self.sim.api.delete(_POD_TYPE, meta.get("namespace"), meta["name"], grace=0,
                                component=COMPONENT)
        except ObjectNotFound:
            pass

    def forget(self, worker: PodWorker) -> None:
        """Stop tracking a worker whose pod is gone."""
        if self.workers.get(worker.key) is worker:
            del self.workers[worker.key]
            self.admitted.remove(worker.key)

    def node_resources(self) -> NodeResources:
        """The node's ``status.allocatable``, parsed (cached while the dict is the same)."""
        node = self.sim.store.peek(f"/registry/minions/{self.node}") or {}
        alloc = (node.get("status") or {}).get("allocatable") or {}
        cached = self._node_resources
        if cached is None or cached[0] is not alloc:
            cached = self._node_resources = (alloc, NodeResources(alloc))
        return cached[1]

    def _active_pods(self) -> list[dict]:
        return [w.pod for w in self.workers.values() if w.phase not in ("Succeeded", "Failed")]

    def _reject(self, pod: dict, key: str, reason: str, message: str) -> None:
        """kubelet.go rejectPod: a Warning event, then phase Failed with the reason."""
        self.sim.api.event(pod, "Warning", reason, message, COMPONENT, self.node, key=key)
        status = dict(pod.get("status") or {})
        status.update({"phase": "Failed", "reason": reason, "message": REJECTED_PREFIX + message,
                       "qosClass": status.get("qosClass") or qos_class(pod["spec"])})
        status.setdefault("startTime", stamp(self.env.now))
        self.sim.api.update_status(pod, status, COMPONENT, key=key)

    def fail(self) -> None:
        """Go silent: no status, no events, no lease renewals."""
        self.alive = False

    def restore(self) -> None:
        """Come back: report the current state of every pod, handle what was missed."""
        self.alive = True
        revived, self.revived = self.revived, self.env.event()
        revived.succeed()
        for worker in list(self.workers.values()):
            worker.sync()
        deferred, self._deferred = self._deferred, []
        for key in deferred:
            pod = self.sim.store.peek(key)
            if pod is not None:
                self.handle(pod, False, key)
        for key in list(self.workers):
            pod = self.sim.store.peek(key)
            if pod is not None and pod["metadata"].get("deletionTimestamp"):
                self.handle(pod, False, key)
