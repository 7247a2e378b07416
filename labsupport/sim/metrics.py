"""Metrics of the simulated cluster: time series, metrics-server, and Prometheus.

The data plane counts, per pod and per second, the requests that reached the
app, the CPU seconds they used, and the time they spent in the pod. From
those counts this module answers what a real cluster's monitoring answers:

* :meth:`Metrics.pod_metrics`: ``metrics.k8s.io/v1beta1`` PodMetrics, as
  metrics-server serves them to ``kubectl top`` and to the
  HorizontalPodAutoscaler: usage over the last complete 15 s window
  (``--metric-resolution``). A pod appears once it has run a full window, and
  not while its node cannot be reached.
* :meth:`Metrics.pod_rate`: a per-pod rate such as
  ``http_requests_per_second`` (what a Prometheus adapter serves to the HPA
  as a Pods metric).
* :meth:`Metrics.series`: any of :data:`SERIES` over time, summed over the
  pods that match some labels, for plotting.
* :meth:`Metrics.prometheus`: every metric in the Prometheus text format
  (cAdvisor, kube-state-metrics and the app's own metric names).

CPU is CPU seconds per second (cores): ``cpu-idle`` while the app runs, plus
``cpu-per-request`` for each request it starts. Memory is
``memory-baseline`` plus ``memory-per-request`` times the requests in the pod
on average (see :mod:`labsupport.sim.workloads`).

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {
    ...     "sim.labsupport.io/service-time": "constant:0.01",
    ...     "sim.labsupport.io/cpu-per-request": "0.01"}},
    ...     "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> r = c.send_traffic("pod/p", rps=50, duration=60)
    >>> m = c.metrics.pod_metrics()[0]
    >>> m["timestamp"], m["window"], m["containers"][0]["usage"]["cpu"]
    ('2025-01-01T00:01:00Z', '15s', '501m')
    >>> round(c.metrics.pod_rate("default", "p", "http_requests_per_second"), 3)
    50.0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid
from labsupport.sim.clock import stamp

if TYPE_CHECKING:
    from labsupport.sim.dataplane import DataPlane
    from labsupport.sim.podserver import PodServer

__all__ = ["Metrics", "SERIES", "RESOLUTION", "BUCKETS", "POD_RATES"]

# metrics-server --metric-resolution (and the kubelet's window): 15 s.
RESOLUTION = 15.0
#: Histogram buckets of http_request_duration_seconds (prometheus_client's defaults).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: Series names: per pod (summed over matching pods; latency is averaged) and per Deployment.
SERIES = {"cpu": "CPU used, in cores", "memory": "memory used, in bytes",
          "requests_per_second": "requests reaching the app per second",
          "latency": "mean seconds a request spends in the pod (queue + service)",
          "replicas": "a Deployment's status.replicas",
          "ready_replicas": "a Deployment's status.readyReplicas",
          "desired_replicas": "a Deployment's spec.replicas"}
#: Names :meth:`Metrics.pod_rate` answers.
POD_RATES = ("http_requests_per_second", "http_requests", "requests_per_second")
_SLOT_SHIFT = 32


def _grow(values: list[float], size: int) -> None:
    if len(values) < size:
        values.extend([0.0] * (size - len(values)))


class Metrics:
    """Time series and metrics APIs of one simulated cluster (``cluster.metrics``)."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self.sim = plane.sim
        #: Seconds per metrics-server window (15 s; a lesson that changes it must say so).
        self.resolution = RESOLUTION
        self._deployments: dict[tuple[str, str], list[tuple[float, int, int, int]]] = {}
        self._pending: list[tuple[Any, Any, Any, Any]] = []
        self._pending_n = 0

    # --- recording (the data plane calls these) ------------------------------------------
    def record(self, gid: Any, arrive: Any, start: Any, dep: Any) -> None:
        """Count requests that reached an app: arrays of server ids and times.

        Batches wait in a buffer and are added up when someone reads.
        """
        if len(gid):
            self._pending.append((gid, arrive, start, dep))
            self._pending_n += len(gid)
            if self._pending_n > 200_000:
                self.settle()

    def settle(self) -> None:
        """Add the buffered requests to the per-pod counts."""
        import numpy as np

        if not self._pending:
            return
        parts, self._pending, self._pending_n = self._pending, [], 0
        gid, arrive, start, dep = (np.concatenate([p[i] for p in parts]) for i in range(4))
        servers = self.plane.all_servers
        insys = dep - arrive
        for keys, weights, fields in (
                (gid * (1 << _SLOT_SHIFT) + arrive.astype(np.int64), (None, insys),
                 ("reqs", "insys")),
                (gid * (1 << _SLOT_SHIFT) + start.astype(np.int64), ("cpu",), ("cpu",))):
            uniq, inv = np.unique(keys, return_inverse=True)
            sums = []
            for w in weights:
                if w is None:
                    sums.append(np.bincount(inv).tolist())
                elif isinstance(w, str):
                    per_gid = np.array([servers[g].b.cpu_per_request for g in
                                        (uniq >> _SLOT_SHIFT).tolist()])
                    sums.append((np.bincount(inv) * per_gid).tolist())
                else:
                    sums.append(np.bincount(inv, weights=w).tolist())
            for pos, key in enumerate(uniq.tolist()):
                srv = servers[key >> _SLOT_SHIFT]
                slot = key & ((1 << _SLOT_SHIFT) - 1)
                for name, total in zip(fields, sums, strict=True):
                    values = getattr(srv, name)
                    _grow(values, slot + 1)
                    values[slot] += total[pos]
        bucket = np.searchsorted(np.array(BUCKETS), insys, side="left")
        keys = gid * (len(BUCKETS) + 1) + bucket
        uniq, inv = np.unique(keys, return_inverse=True)
        counts = np.bincount(inv).tolist()
        sums = np.bincount(inv, weights=insys).tolist()
        for key, count, total in zip(uniq.tolist(), counts, sums, strict=True):
            srv = servers[key // (len(BUCKETS) + 1)]
            if srv.hist is None:
                srv.hist = [0] * (len(BUCKETS) + 1)
            srv.hist[key % (len(BUCKETS) + 1)] += count
            srv.lat_sum += total
            srv.served += count

    def record_rejected(self, gid: Any, arrive: Any) -> None:
        """Count requests an app refused with 503 (its queue was full)."""
        servers = self.plane.all_servers
        for g, a in zip(gid.tolist(), arrive.tolist(), strict=True):
            values = servers[g].rejected
            _grow(values, int(a) + 1)
            values[int(a)] += 1

    def deployment_changed(self, ev: Any) -> None:
        """Remember a Deployment's replica counts when they change."""
        obj = ev.object
        key = (obj["metadata"].get("namespace", "default"), obj["metadata"]["name"])
        if ev.type == "DELETED":
            row = (0, 0, 0)
        else:
            st = obj.get("status") or {}
            row = (int((obj.get("spec") or {}).get("replicas", 1)), int(st.get("replicas", 0)),
                   int(st.get("readyReplicas", 0)))
        history = self._deployments.setdefault(key, [])
        if not history or history[-1][1:] != row:
            history.append((self.sim.env.now, *row))

    # --- per pod ---------------------------------------------------------------------------
    def _slots(self, srv: PodServer, name: str, n: int) -> Any:
        """Per-second values of one pod over [0, n) (CPU seconds, bytes, or requests)."""
        import numpy as np

        def arr(values: list[float]) -> Any:
            out = np.zeros(n)
            m = min(n, len(values))
            out[:m] = values[:m]
            return out

        if name in ("requests_per_second", "latency"):
            return arr(srv.reqs), arr(srv.insys)
        edges = np.arange(n, dtype=float)
        hi = min(srv.alive_to, self.sim.env.now)
        alive = np.clip(np.minimum(edges + 1, hi) - np.maximum(edges, srv.alive_from), 0, 1)
        idle = sum(b.cpu_idle for _, b in srv.behaviours)
        base = sum(b.memory_baseline for _, b in srv.behaviours)
        if name == "cpu":
            return arr(srv.cpu) + idle * alive
        return base * alive + srv.b.memory_per_request * arr(srv.insys)

    def _select(self, labels: dict[str, str]) -> list[PodServer]:
        self.plane.flush()
        self.settle()
        self.plane.sync_servers()
        out = []
        for srv in self.plane.all_servers:
            ok = True
            for k, v in labels.items():
                have = {"namespace": srv.namespace, "pod": srv.name, "node": srv.node,
                        "deployment": srv.deployment}.get(k, srv.labels.get(k))
                if have != v:
                    ok = False
                    break
            if ok:
                out.append(srv)
        return out

    def matching(self, name: str, **labels: str) -> bool:
        """Whether any pod (or, for the replica series, any Deployment) ever matched ``labels``.

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(seed=0)
            >>> c.metrics.matching("cpu", deployment="nope")
            False
        """
        if name in ("replicas", "ready_replicas", "desired_replicas"):
            return any(labels.get("namespace", ns) == ns and labels.get("deployment", dep) == dep
                       for ns, dep in self._deployments)
        return bool(self._select(labels))

    def label_values(self, key: str) -> list[str]:
        """The values a label has taken on the pods seen so far (``deployment``, ``node``...)."""
        self.plane.flush()
        self.settle()
        self.plane.sync_servers()
        values = set()
        for srv in self.plane.all_servers:
            value = {"namespace": srv.namespace, "pod": srv.name, "node": srv.node,
                     "deployment": srv.deployment}.get(key, srv.labels.get(key))
            if value:
                values.add(str(value))
        values |= {dep for _, dep in self._deployments} if key == "deployment" else set()
        return sorted(values)

    def series(self, name: str, *, step: float | None = None, **labels: str) -> tuple[Any, Any]:
        """One metric over time, for plotting: ``(times, values)`` as numpy arrays.

        Args:
            name: one of :data:`SERIES`.
            step: seconds per point (default: :attr:`resolution`, 15 s).
            **labels: which pods: ``namespace``, ``pod``, ``node``,
                ``deployment``, or any pod label such as ``app="web"``;
                ``deployment`` (and ``namespace``) for the replica series.

        Each value covers the ``step`` seconds that end at its time.

        Raises:
            Invalid: an unknown name or step.

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(seed=0)
            >>> c.advance(60)
            >>> t, v = c.metrics.series("cpu")
            >>> t.tolist(), v.tolist()
            ([15.0, 30.0, 45.0, 60.0], [0.0, 0.0, 0.0, 0.0])
        """
        import numpy as np

        if name not in SERIES:
            raise Invalid(f'unknown series "{name}"; choose one of: {", ".join(SERIES)}')
        step = float(step or self.resolution)
        if not step > 0 or step != int(step):
            raise Invalid(f"step must be a whole number of seconds, 1 or more; got {step!r}")
        k = int(self.sim.env.now // step)
        times = step * np.arange(1, k + 1)
        n = int(k * step)
        if name in ("replicas", "ready_replicas", "desired_replicas"):
            col = {"desired_replicas": 1, "replicas": 2, "ready_replicas": 3}[name]
            values = np.zeros(k)
            for (ns, dep), history in self._deployments.items():
                if labels.get("namespace", ns) != ns or labels.get("deployment", dep) != dep:
                    continue
                at = np.array([h[0] for h in history])
                idx = np.searchsorted(at, times, side="right") - 1
                vals = np.array([h[col] for h in history])
                values += np.where(idx >= 0, vals[np.maximum(idx, 0)], 0)
            return times, values
        totals = np.zeros(n)
        weights = np.zeros(n)
        for srv in self._select(labels):
            got = self._slots(srv, name, n)
            if name in ("requests_per_second", "latency"):
                totals += got[1] if name == "latency" else got[0]
                weights += got[0]
            else:
                totals += got
        per = totals.reshape(k, int(step)).sum(axis=1) if k else np.zeros(0)
        if name == "latency":
            w = weights.reshape(k, int(step)).sum(axis=1) if k else np.zeros(0)
            with np.errstate(invalid="ignore", divide="ignore"):
                return times, np.where(w > 0, per / np.maximum(w, 1), np.nan)
        return times, per / step

    def _window(self) -> tuple[float, float] | None:
        end = math.floor(self.sim.env.now / self.resolution) * self.resolution
        return (end - self.resolution, end) if end >= self.resolution else None

    def _scrapeable(self, srv: PodServer, lo: float) -> bool:
        net = self.plane.network
        return (not srv.gone and srv.up_from < math.inf and srv.alive_from <= lo
                and srv.node not in net.down and net.reachable("control-plane", srv.node))

    def _usage(self, srv: PodServer, lo: float, hi: float) -> list[tuple[str, float, float]]:
        """(container, cores, bytes) of each container of one pod over [lo, hi)."""
        a, b = int(lo), int(hi)
        res = hi - lo
        cpu = sum(srv.cpu[a:b]) / res + srv.b.cpu_idle
        mem = srv.b.memory_baseline + srv.b.memory_per_request * sum(srv.insys[a:b]) / res
        return [(name, cpu, mem) if i == srv.serving else (name, beh.cpu_idle, beh.memory_baseline)
                for i, (name, beh) in enumerate(srv.behaviours)]

    def pod_metrics(self, namespace: str | None = None) -> list[dict]:
        """PodMetrics (``metrics.k8s.io/v1beta1``) of running pods, as metrics-server serves them.

        CPU is in millicores (``"250m"``), memory in KiB (``"65536Ki"``); both
        are averages over the last complete window (``window: 15s``).
        """
        win = self._window()
        if win is None:
            return []
        lo, hi = win
        out = []
        for srv in sorted(self._select({} if namespace is None else {"namespace": namespace}),
                          key=lambda s: (s.namespace, s.name)):
            if not self._scrapeable(srv, lo):
                continue
            out.append({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                        "metadata": {"name": srv.name, "namespace": srv.namespace,
                                     "creationTimestamp": stamp(self.sim.env.now),
                                     "labels": dict(srv.labels)},
                        "timestamp": stamp(hi), "window": f"{self.resolution:g}s",
                        "containers": [{"name": name, "usage": {
                            "cpu": f"{round(cpu * 1000)}m", "memory": f"{round(mem / 1024)}Ki"}}
                            for name, cpu, mem in self._usage(srv, lo, hi)]})
        return out

    def node_metrics(self) -> list[dict]:
        """NodeMetrics (``metrics.k8s.io/v1beta1``): the sum over each node's pods."""
        win = self._window()
        if win is None:
            return []
        lo, hi = win
        used: dict[str, list[float]] = {n: [0.0, 0.0] for n in self.sim.kubelets}
        for srv in self._select({}):
            if self._scrapeable(srv, lo) and srv.node in used:
                for _, cpu, mem in self._usage(srv, lo, hi):
                    used[srv.node][0] += cpu
                    used[srv.node][1] += mem
        net = self.plane.network
        return [{"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
                 "metadata": {"name": node}, "timestamp": stamp(hi),
                 "window": f"{self.resolution:g}s",
                 "usage": {"cpu": f"{round(cpu * 1000)}m", "memory": f"{round(mem / 1024)}Ki"}}
                for node, (cpu, mem) in used.items()
                if node not in net.down and net.reachable("control-plane", node)]

    def pod_rate(self, namespace: str, pod: str,
                 metric_name: str = "http_requests_per_second") -> float | None:
        """Requests per second that reached one pod over the last window (a Pods metric).

        Returns:
            The rate, or None when the pod has no value (unknown metric, not
            running for a full window, or on a node that cannot be reached).
        """
        if metric_name not in POD_RATES:
            return None
        win = self._window()
        if win is None:
            return None
        lo, hi = win
        self.plane.flush()
        self.settle()
        srv = self.plane.server_for(namespace, pod)
        if srv is None or not self._scrapeable(srv, lo):
            return None
        return sum(srv.reqs[int(lo):int(hi)]) / (hi - lo)

    # --- Prometheus ------------------------------------------------------------------------
    def prometheus(self) -> str:
        """Every metric in the Prometheus text exposition format (a fresh registry).

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(seed=0)
            >>> c.advance(30)
            >>> for line in [x for x in c.prometheus().splitlines() if 'node="node-1"' in x][:2]:
            ...     print(line)
            kube_node_status_condition{condition="MemoryPressure",node="node-1",status="true"} 0.0
            kube_node_status_condition{condition="MemoryPressure",node="node-1",status="false"} 1.0
        """
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry).decode()


class _Collector:
    """A prometheus_client collector that reads the simulated cluster at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        m, sim = self.m, self.m.sim
        now = sim.env.now
        c_labels = ["namespace", "pod", "container", "node"]
        cpu = CounterMetricFamily("container_cpu_usage_seconds_total",
                                  "Cumulative CPU time consumed by the container in core-seconds",
                                  labels=c_labels)
        mem = GaugeMetricFamily("container_memory_working_set_bytes",
                                "Current working set of the container in bytes", labels=c_labels)
        reqs = CounterMetricFamily("http_requests_total",
                                   "Requests the app handled, by status code",
                                   labels=["namespace", "pod", "code"])
        dur = HistogramMetricFamily("http_request_duration_seconds",
                                    "Seconds requests spent in the app (queueing and service)",
                                    labels=["namespace", "pod"])
        last = max(0, int(now) - 1)
        for srv in sorted(m._select({}), key=lambda s: (s.namespace, s.name)):
            if srv.gone:
                continue
            alive = max(0.0, min(srv.alive_to, now) - srv.alive_from) \
                if srv.alive_from < now else 0.0
            inflight = srv.insys[last] if last < len(srv.insys) else 0.0
            for i, (name, b) in enumerate(srv.behaviours):
                labels = [srv.namespace, srv.name, name, srv.node]
                used = b.cpu_idle * alive + (sum(srv.cpu) if i == srv.serving else 0.0)
                cpu.add_metric(labels, used)
                working = b.memory_baseline + (b.memory_per_request * inflight
                                               if i == srv.serving else 0.0)
                mem.add_metric(labels, working if srv.up_from < math.inf else 0.0)
            reqs.add_metric([srv.namespace, srv.name, "200"], float(srv.served))
            if srv.rejected:
                reqs.add_metric([srv.namespace, srv.name, "503"], float(sum(srv.rejected)))
            hist = srv.hist or [0] * (len(BUCKETS) + 1)
            cumulative, buckets = 0, []
            for bound, count in zip([*map(str, BUCKETS), "+Inf"], hist, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            dur.add_metric([srv.namespace, srv.name], buckets, srv.lat_sum)
        yield from (cpu, mem, reqs, dur)
        yield from _state_metrics(sim)


def _state_metrics(sim: Any) -> Any:
    """kube-state-metrics' view of Deployments, HPAs, pods and nodes (from the store)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    store = sim.store
    d_labels = ["namespace", "deployment"]
    fams = {k: GaugeMetricFamily(f"kube_deployment_{k}", doc, labels=d_labels) for k, doc in (
        ("spec_replicas", "Number of desired pods for a deployment."),
        ("status_replicas", "The number of replicas per deployment."),
        ("status_replicas_ready", "The number of ready replicas per deployment."),
        ("status_replicas_available", "The number of available replicas per deployment."))}
    for _, d in sorted(store.table("deployments").items()):
        labels = [d["metadata"].get("namespace", "default"), d["metadata"]["name"]]
        st = d.get("status") or {}
        fams["spec_replicas"].add_metric(labels, float((d.get("spec") or {}).get("replicas", 1)))
        fams["status_replicas"].add_metric(labels, float(st.get("replicas", 0)))
        fams["status_replicas_ready"].add_metric(labels, float(st.get("readyReplicas", 0)))
        fams["status_replicas_available"].add_metric(labels, float(st.get("availableReplicas", 0)))
    yield from fams.values()
    h_labels = ["namespace", "horizontalpodautoscaler"]
    current = GaugeMetricFamily("kube_horizontalpodautoscaler_status_current_replicas",
                                "Current number of replicas of pods managed by this autoscaler.",
                                labels=h_labels)
    desired = GaugeMetricFamily("kube_horizontalpodautoscaler_status_desired_replicas",
                                "Desired number of replicas of pods managed by this autoscaler.",
                                labels=h_labels)
    for _, h in sorted(store.table("horizontalpodautoscalers").items()):
        labels = [h["metadata"].get("namespace", "default"), h["metadata"]["name"]]
        st = h.get("status") or {}
        current.add_metric(labels, float(st.get("currentReplicas", 0)))
        desired.add_metric(labels, float(st.get("desiredReplicas", 0)))
    yield from (current, desired)
    p_labels = ["namespace", "pod", "uid"]
    ready = GaugeMetricFamily("kube_pod_status_ready", "Describes whether the pod is ready to "
                              "serve requests.", labels=[*p_labels, "condition"])
    phase = GaugeMetricFamily("kube_pod_status_phase", "The pods current phase.",
                              labels=[*p_labels, "phase"])
    restarts = CounterMetricFamily("kube_pod_container_status_restarts_total",
                                   "The number of container restarts per container.",
                                   labels=[*p_labels, "container"])
    for _, p in sorted(store.table("pods").items()):
        meta, st = p["metadata"], p.get("status") or {}
        labels = [meta.get("namespace", "default"), meta["name"], meta.get("uid", "")]
        cond = next((c.get("status", "Unknown") for c in st.get("conditions") or ()
                     if c.get("type") == "Ready"), None)
        if cond is not None:
            for v in ("true", "false", "unknown"):
                ready.add_metric([*labels, v], 1.0 if cond.lower() == v else 0.0)
        for v in ("Pending", "Succeeded", "Failed", "Unknown", "Running"):
            phase.add_metric([*labels, v], 1.0 if st.get("phase") == v else 0.0)
        for cs in st.get("containerStatuses") or ():
            restarts.add_metric([*labels, cs["name"]], float(cs.get("restartCount", 0)))
    yield from (ready, phase, restarts)
    node = GaugeMetricFamily("kube_node_status_condition", "The condition of a cluster node.",
                             labels=["node", "condition", "status"])
    for _, n in sorted(store.table("minions").items()):
        for c in (n.get("status") or {}).get("conditions") or ():
            for v in ("true", "false", "unknown"):
                node.add_metric([n["metadata"]["name"], c["type"], v],
                                1.0 if str(c.get("status", "")).lower() == v else 0.0)
    yield node
