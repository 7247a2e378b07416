"""One pod's app as the data plane sees it: workers, a queue, and per-second numbers.

The kubelet decides when the app runs (:mod:`labsupport.sim.kubelet`); the
data plane (:mod:`labsupport.sim.dataplane`) sends it requests. A
:class:`PodServer` holds what both need at run time: how many workers serve
at once, when each is free, what is in flight, and what happened in each
second (requests, CPU, time in the pod, 503s).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from labsupport.quantity import memory_bytes
from labsupport.sim.workloads import Behaviour, behaviour

__all__ = ["PodServer"]

INF = math.inf


class PodServer:
    """One pod's app at run time, for the data plane: its workers, its queue, its numbers.

    A request that reaches the pod at ``a`` starts when a worker is free,
    ``max(a, earliest free worker)``, and ends a service time later.

    Example:
        >>> s = PodServer(0, {"metadata": {"name": "p", "uid": "u", "annotations": {
        ...     "sim.labsupport.io/concurrency": "2"}}, "spec": {"containers": [{"name": "a"}]}})
        >>> s.free, s.limit, s.up_from
        ([0.0, 0.0], 1002, inf)
    """

    def __init__(self, gid: int, pod: dict, deployment: str | None = None) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        self.gid = gid
        self.name, self.uid = meta["name"], meta["uid"]
        self.namespace = meta.get("namespace", "default")
        self.key = f"/registry/pods/{self.namespace}/{self.name}"
        self.node = spec.get("nodeName") or ""
        self.labels = dict(meta.get("labels") or {})
        self.deployment = deployment
        containers = spec.get("containers") or [{"name": ""}]
        self.behaviours: list[tuple[str, Behaviour]] = [(c.get("name", ""), behaviour(pod, c))
                                                       for c in containers]
        self.serving = next((i for i, c in enumerate(containers) if c.get("ports")), 0)
        self.container, self.b = self.behaviours[self.serving]
        b = self.b
        limits = (containers[self.serving].get("resources") or {}).get("limits") or {}
        self.mem_limit = memory_bytes(limits["memory"]) if limits.get("memory") else 0
        self.crash_p = b.crash_probability
        self.risky = self.crash_p > 0 or (self.mem_limit > 0 and b.memory_per_request > 0)
        self.limit = b.concurrency + b.queue_limit
        self.free: list[float] = [0.0] * b.concurrency
        self.inflight: deque[float] = deque()
        self.up_from = INF        # the app answers from then on (INF: not running)
        self.down_at = INF        # traffic crashed it then
        self.container_id: str | None = None
        self.alive_from = INF     # first start of the app
        self.alive_to = INF       # the pod went away
        self.gone = False
        # Per 1-s slot: requests that reached the app, CPU seconds, seconds spent
        # in the pod (sum over requests), requests refused with 503.
        self.reqs: list[float] = []
        self.cpu: list[float] = []
        self.insys: list[float] = []
        self.rejected: list[float] = []
        self.hist: Any = None     # latency histogram counts (metrics.BUCKETS + +Inf)
        self.lat_sum = 0.0
        self.served = 0

    def refresh(self, pod: dict | None, worker: Any, now: float) -> bool:
        """Read the pod and its kubelet worker; return True if the app just stopped."""
        if pod is None or pod["metadata"]["uid"] != self.uid:
            stopped = self.up_from < INF
            self.gone, self.up_from = True, INF
            if self.alive_to == INF:
                self.alive_to = now
            return stopped
        c = None
        if worker is not None and not worker.done and len(worker.apps) > self.serving:
            c = worker.apps[self.serving]
        if c is not None and "running" in c.state and c.started_at is not None:
            if c.id != self.container_id:
                self.container_id = c.id
                self.up_from, self.down_at = c.started_at + self.b.start_seconds, INF
                self.free = [0.0] * self.b.concurrency
                self.inflight.clear()
                self.alive_from = min(self.alive_from, c.started_at)
            return False
        stopped = self.up_from < INF
        self.up_from, self.container_id = INF, None
        return stopped

    def risk(self, a: float, start: float, u: float, inflight: int, crashes: list) -> None:
        """Maybe this request crashes the app, or pushes its memory over the limit (OOMKilled).

        It crashes it when ``u`` (a uniform draw) is below crash-probability.
        """
        b = self.b
        if self.crash_p and u < self.crash_p:
            self.down_at = start
            crashes.append((self, start, 1, "Error"))
        elif self.mem_limit and \
                b.memory_baseline + b.memory_per_request * inflight > self.mem_limit:
            self.down_at = a
            crashes.append((self, a, 137, "OOMKilled"))

    def __repr__(self) -> str:
        return f"<PodServer {self.namespace}/{self.name} on {self.node}>"
