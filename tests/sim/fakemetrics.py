"""A metrics source the HPA tests control: a known load spread over ready pods."""

from __future__ import annotations

from collections.abc import Callable

from labsupport.kinds import type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.podutil import is_ready, ready_since

_POD = type_for_kind("Pod")


class FakeMetrics:
    """PodMetrics and per-pod rates from load profiles.

    ``cpu(t)`` is the total CPU demand in millicores at virtual time ``t``
    (seconds since the cluster started), split evenly (integer division)
    over the ready pods that match ``selector``, as a Service would spread
    requests; ``rps(t)`` likewise for ``http_requests_per_second``. Pods
    that are not ready report nothing. ``window`` is the PodMetrics window.
    ``warmup=(seconds, millicores)``: a pod ready for less than ``seconds``
    reports ``millicores`` instead (a start-up burst, as a JVM warming up).
    """

    def __init__(self, cluster, cpu: Callable[[float], int] = lambda t: 0, *,
                 rps: Callable[[float], float] | None = None, selector: str = "app=web",
                 window: str = "15s", skip: frozenset[str] = frozenset(),
                 warmup: tuple[float, int] | None = None) -> None:
        self.cluster = cluster
        self.cpu = cpu
        self.rps = rps
        self.selector = Selector.parse(selector)
        self.window = window
        self.skip = set(skip)
        self.warmup = warmup
        self.calls = 0

    def serving(self, namespace: str = "default") -> list[dict]:
        pods = self.cluster.api.list(_POD, namespace, self.selector)
        return [p for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp")]

    def pod_metrics(self, namespace=None):
        self.calls += 1
        now = self.cluster.now
        pods = self.serving(namespace or "default")
        if not pods:
            return []
        share = self.cpu(now) // len(pods)

        def cpu(pod):
            if self.warmup and now - ready_since(pod) < self.warmup[0]:
                return self.warmup[1]
            return share
        return [{"metadata": {"name": p["metadata"]["name"],
                              "namespace": p["metadata"]["namespace"]},
                 "timestamp": stamp(now), "window": self.window,
                 "containers": [{"name": "app", "usage": {"cpu": f"{cpu(p)}m", "memory": "64Mi"}}]}
                for p in pods if p["metadata"]["name"] not in self.skip]

    def pod_rate(self, namespace, pod, metric_name):
        if self.rps is None or metric_name != "http_requests_per_second" or pod in self.skip:
            return None
        pods = self.serving(namespace)
        if pod not in {p["metadata"]["name"] for p in pods}:
            return None
        return self.rps(self.cluster.now) / len(pods)
