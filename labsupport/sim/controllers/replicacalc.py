"""How many replicas one metric asks for: the HPA's replica calculator.

The HorizontalPodAutoscaler controller asks this module, metric by metric,
how many pods would bring the metric to its target. The rule is
``desired = ceil(ready pods * current / target)``, with the details of
upstream ``pkg/controller/podautoscaler/replica_calculator.go``:

* values are compared in milli-units and utilization is a whole percentage
  of the pods' requests (``sum(usage) * 100 // sum(requests)``);
* nothing changes while the ratio ``current / target`` is within the
  tolerances: at least ``1 - scaleDown`` and at most ``1 + scaleUp``
  (:class:`Tolerances`; 0.1 each unless the HPA's ``spec.behavior`` sets
  them, KEP-4951);
* pods being deleted or Failed are ignored; Pending pods, and (for CPU)
  pods not ready or ready for less than one metric window, count as unready;
* pods without a metric are *missing*: on a scale-down they count as using
  100% of their request (the target, for averageValue and Pods metrics), on
  a scale-up as using 0%; unready pods count as 0% on a scale-up and are
  left out otherwise; if these guesses would reverse the direction, or
  bring the ratio within the tolerance, nothing changes.

Example:
    >>> from labsupport.sim.controllers.replicacalc import PodMetric, resource_replicas
    >>> ready = {"phase": "Running", "startTime": "2025-01-01T00:00:00Z", "conditions": [
    ...     {"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:05Z"}]}
    >>> pods = [{"metadata": {"name": f"web-{i}"}, "status": ready,
    ...          "spec": {"containers": [{"name": "app",
    ...                   "resources": {"requests": {"cpu": "200m"}}}]}} for i in range(3)]
    >>> usage = {f"web-{i}": PodMetric(180, timestamp=60) for i in range(3)}   # 90% each
    >>> resource_replicas(3, 50, "cpu", pods, usage, now=60)     # ceil(3 * 90 / 50)
    (6, 90, 180)
    >>> usage = {f"web-{i}": PodMetric(105, timestamp=60) for i in range(3)}   # 52%
    >>> resource_replicas(3, 50, "cpu", pods, usage, now=60)[0]  # within the tolerance
    3
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from labsupport.errors import LabSupportError
from labsupport.quantity import parse_quantity
from labsupport.sim.clock import EPOCH
from labsupport.views import parse_time

__all__ = ["MetricsSource", "PodMetric", "MetricsError", "TOLERANCE", "Tolerances",
           "CPU_INITIALIZATION_PERIOD", "INITIAL_READINESS_DELAY", "group_pods",
           "resource_replicas", "plain_replicas", "resource_metrics", "pods_metric",
           "milli", "format_milli"]

# kube-controller-manager flags (cmd/kube-controller-manager/app/options/hpacontroller.go),
# used by pkg/controller/podautoscaler/replica_calculator.go:
# --horizontal-pod-autoscaler-tolerance
TOLERANCE = 0.1
# --horizontal-pod-autoscaler-cpu-initialization-period (5 minutes)
CPU_INITIALIZATION_PERIOD = 300.0
# --horizontal-pod-autoscaler-initial-readiness-delay
INITIAL_READINESS_DELAY = 30.0


@dataclass(frozen=True)
class Tolerances:
    """The no-change band around a ratio of 1: ``scale_down`` below it, ``scale_up`` above.

    Upstream ``Tolerances`` and ``isWithin`` (pkg/controller/podautoscaler/
    replica_calculator.go, since Kubernetes 1.33, KEP-4951 configurable
    tolerance): a ratio ``r`` changes nothing when
    ``1 - scale_down <= r <= 1 + scale_up``. Each bound is compared as a
    float64 sum, so a ratio of exactly 1.1 with the default 0.1 is *within*
    the band (``1.0 + 0.1 == 1.1``); the 1.32 test ``|1 - r| <= 0.1`` put it
    outside, because ``|1 - 1.1|`` is 0.10000000000000009 in float64.

    Example:
        >>> t = Tolerances(scale_down=0.1, scale_up=0.05)
        >>> t.is_within(1.06), t.is_within(0.95), t.is_within(1.0)
        (False, True, True)
        >>> Tolerances(0.1, 0.1).is_within(55 / 50)     # 1.1: within since 1.33
        True
    """

    scale_down: float = TOLERANCE
    scale_up: float = TOLERANCE

    def is_within(self, ratio: float) -> bool:
        """True when ``ratio`` is too close to 1 for the HPA to change replicas."""
        return (1.0 - self.scale_down) <= ratio <= (1.0 + self.scale_up)

    @classmethod
    def of(cls, tolerance: float | Tolerances) -> Tolerances:
        """``tolerance`` as :class:`Tolerances` (one number applies in both directions)."""
        if isinstance(tolerance, Tolerances):
            return tolerance
        return cls(float(tolerance), float(tolerance))


class MetricsError(LabSupportError):
    """A metric could not be read or used (the HPA reports it in a condition)."""


class MetricsSource(Protocol):
    """What the HPA reads: metrics.k8s.io PodMetrics and per-pod rates.

    ``pod_metrics`` returns PodMetrics dicts
    (``{"metadata": {"name", "namespace"}, "timestamp", "window",
    "containers": [{"name", "usage": {"cpu", "memory"}}]}``); ``pod_rate``
    returns the current value of a Pods metric such as
    ``http_requests_per_second`` for one pod, or None when it has none.
    """

    def pod_metrics(self, namespace: str | None = None) -> list[dict]:
        """PodMetrics of the pods in ``namespace`` (None: all)."""

    def pod_rate(self, namespace: str, pod: str, metric_name: str) -> float | None:
        """The value of ``metric_name`` for one pod, or None."""


@dataclass(frozen=True)
class PodMetric:
    """One pod's sample: ``value`` in milli-units, taken at ``timestamp`` over ``window`` s."""

    value: int
    timestamp: float = 0.0
    window: float = 15.0


def milli(quantity: str | int | float) -> int:
    """A quantity in milli-units, as ``Quantity.MilliValue()`` (rounded up).

    Example:
        >>> milli("250m"), milli("1.5"), milli(2), milli("1Ki")
        (250, 1500, 2000, 1024000)
    """
    return math.ceil(round(parse_quantity(quantity) * 1000, 6))


def format_milli(value: int) -> str:
    """A milli-value as ``resource.NewMilliQuantity(v, DecimalSI)`` prints it.

    Example:
        >>> format_milli(250), format_milli(3000), format_milli(12500)
        ('250m', '3', '12500m')
    """
    return str(value // 1000) if value % 1000 == 0 else f"{value}m"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _seconds(duration: str | float | int | None, default: float) -> float:
    if duration is None:
        return default
    if isinstance(duration, (int, float)):
        return float(duration)
    parts = _DURATION.findall(duration)
    return sum(float(n) * _UNIT[u] for n, u in parts) if parts else default


def _sim_time(stamp: str | float | None) -> float | None:
    if isinstance(stamp, (int, float)):
        return float(stamp)
    t = parse_time(stamp)
    return None if t is None else t - EPOCH


def resource_metrics(source: MetricsSource, namespace: str, pods: Iterable[dict],
                     resource: str, container: str | None = None) -> dict[str, PodMetric]:
    """Per-pod usage of ``resource`` from PodMetrics (the metrics client's ``getPodMetrics``).

    A pod counts only when every container (or the named one) reports the
    resource; usage is summed over its containers.

    Raises:
        MetricsError: no PodMetrics for any of ``pods``.
    """
    names = {p["metadata"]["name"] for p in pods}
    raw = [m for m in source.pod_metrics(namespace) if m["metadata"]["name"] in names]
    if not raw:
        raise MetricsError("no metrics returned from resource metrics API")
    out = {}
    for m in raw:
        containers = m.get("containers") or []
        if container is not None:
            containers = [c for c in containers if c.get("name") == container]
        usages = [(c.get("usage") or {}).get(resource) for c in containers]
        if not usages or any(u is None for u in usages):
            continue
        out[m["metadata"]["name"]] = PodMetric(
            sum(milli(u) for u in usages), _sim_time(m.get("timestamp")) or 0.0,
            _seconds(m.get("window"), 15.0))
    return out


def pods_metric(source: MetricsSource, namespace: str, pods: Iterable[dict],
                metric_name: str, now: float) -> dict[str, PodMetric]:
    """Per-pod values of a Pods metric (what the custom metrics API would answer).

    Raises:
        MetricsError: no pod has a value.
    """
    out = {}
    for p in pods:
        name = p["metadata"]["name"]
        value = source.pod_rate(namespace, name, metric_name)
        if value is not None:
            out[name] = PodMetric(math.ceil(round(value * 1000, 6)), now)
    if not out:
        raise MetricsError("no metrics returned from custom metrics API")
    return out


def _ready_condition(pod: dict) -> dict | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond
    return None


def group_pods(pods: Iterable[dict], metrics: dict[str, PodMetric], resource: str, now: float,
               cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
               initial_readiness_delay: float = INITIAL_READINESS_DELAY,
               ) -> tuple[int, set[str], set[str], set[str]]:
    """Sort pods as upstream's ``groupPods``: (ready count, unready, missing, ignored).

    Example:
        >>> pending = {"metadata": {"name": "a"}, "status": {"phase": "Pending"}}
        >>> gone = {"metadata": {"name": "b", "deletionTimestamp": "x"}, "status": {}}
        >>> running = {"metadata": {"name": "c"}, "status": {"phase": "Running"}}
        >>> group_pods([pending, gone, running], {}, "memory", now=0)
        (0, {'a'}, {'c'}, {'b'})
    """
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        phase = status.get("phase")
        if pod["metadata"].get("deletionTimestamp") or phase == "Failed":
            ignored.add(name)
            continue
        if phase == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu":
            cond = _ready_condition(pod)
            start = _sim_time(status.get("startTime"))
            if cond is None or start is None:
                is_unready = True
            else:
                changed = _sim_time(cond.get("lastTransitionTime")) or 0.0
                if start + cpu_initialization_period > now:
                    # Still starting: ignore the sample if the pod is not ready, or if
                    # one whole metric window has not passed since it became ready.
                    is_unready = (cond.get("status") == "False"
                                  or metric.timestamp < changed + metric.window)
                else:
                    # Later: ignore it only if the pod has never been ready.
                    is_unready = (cond.get("status") == "False"
                                  and start + initial_readiness_delay > changed)
            if is_unready:
                unready.add(name)
                continue
        ready += 1
    return ready, unready, missing, ignored


def pod_requests(pods: Iterable[dict], resource: str,
                 container: str | None = None) -> dict[str, int]:
    """Requests of ``resource`` per pod in milli-units (``calculatePodRequests``).

    Raises:
        MetricsError: a container has no request for ``resource``; utilization
            is a percentage of the request, so every container needs one.
    """
    out = {}
    for pod in pods:
        total = 0
        for c in (pod.get("spec") or {}).get("containers") or ():
            if container is not None and c.get("name") != container:
                continue
            req = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if req is None:
                raise MetricsError(f"missing request for {resource} in container "
                                   f"{c.get('name')} of Pod {pod['metadata']['name']}")
            total += milli(req)
        out[pod["metadata"]["name"]] = total
    return out


def _utilization(metrics: dict[str, PodMetric], requests: dict[str, int],
                 target: int) -> tuple[float, int, int]:
    # metricsclient.GetResourceUtilizationRatio: whole percent, truncated.
    used = requested = entries = 0
    for name, m in metrics.items():
        if name not in requests:
            continue
        used += m.value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = used * 100 // requested
    return utilization / target, utilization, used // entries


def _usage(metrics: dict[str, PodMetric], target: int) -> tuple[float, int]:
    # metricsclient.GetMetricUsageRatio: the average, truncated.
    average = sum(m.value for m in metrics.values()) // len(metrics)
    return average / target, average


def resource_replicas(current: int, target_utilization: int, resource: str, pods: list[dict],
                      metrics: dict[str, PodMetric], now: float, *, container: str | None = None,
                      tolerance: float | Tolerances = TOLERANCE,
                      cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
                      initial_readiness_delay: float = INITIAL_READINESS_DELAY,
                      ) -> tuple[int, int, int]:
    """Replicas for a utilization target: (replicas, utilization %, average usage in milli).

    ``tolerance`` is one number for both directions or a :class:`Tolerances`
    (the HPA's per-direction ``spec.behavior.*.tolerance``).

    Raises:
        MetricsError: no pods, no usable metrics, or a container without a request.
    """
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    metrics = dict(metrics)
    ready, unready, missing, ignored = group_pods(
        pods, metrics, resource, now, cpu_initialization_period, initial_readiness_delay)
    for name in ignored | unready:
        metrics.pop(name, None)
    if not metrics:
        # The wording of kubernetes/kubernetes#114740 (1.27), as replica_calculator.go has it;
        # upstream checks this before it reads the pods' requests.
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    requests = pod_requests(pods, resource, container)
    ratio, utilization, raw = _utilization(metrics, requests, target_utilization)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if Tolerances.of(tolerance).is_within(ratio):
            return current, utilization, raw
        return math.ceil(ratio * ready), utilization, raw
    if missing:
        if ratio < 1.0:
            fallback = max(100, target_utilization)
            for name in missing:
                metrics[name] = PodMetric(requests[name] * fallback // 100)
        elif ratio > 1.0:
            for name in missing:
                metrics[name] = PodMetric(0)
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = PodMetric(0)
    new_ratio = _utilization(metrics, requests, target_utilization)[0]
    return _guarded(current, ratio, new_ratio, len(metrics), tolerance), utilization, raw


def plain_replicas(current: int, target: int, pods: list[dict], metrics: dict[str, PodMetric],
                   now: float, *, resource: str = "",
                   tolerance: float | Tolerances = TOLERANCE,
                   cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
                   initial_readiness_delay: float = INITIAL_READINESS_DELAY,
                   ) -> tuple[int, int]:
    """Replicas for an average-value target (averageValue, Pods metrics): (replicas, average).

    ``target`` and the metric values are milli-units; ``tolerance`` is as for
    :func:`resource_replicas`.

    Example:
        >>> pods = [{"metadata": {"name": n}, "status": {"phase": "Running"}} for n in "ab"]
        >>> rps = {"a": PodMetric(30_000), "b": PodMetric(20_000)}   # 30 and 20 requests/s
        >>> plain_replicas(2, 10_000, pods, rps, now=0)              # target 10/s per pod
        (5, 25000)

    Raises:
        MetricsError: no pods or no usable metrics.
    """
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    metrics = dict(metrics)
    ready, unready, missing, ignored = group_pods(
        pods, metrics, resource, now, cpu_initialization_period, initial_readiness_delay)
    for name in ignored | unready:
        metrics.pop(name, None)
    if not metrics:
        # The wording of kubernetes/kubernetes#114740 (1.27), as replica_calculator.go has it.
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    ratio, usage = _usage(metrics, target)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if Tolerances.of(tolerance).is_within(ratio):
            return current, usage
        return math.ceil(ratio * ready), usage
    if missing:
        # Scale-down: missing pods are taken to be exactly at the target; scale-up: at 0.
        # At a ratio of exactly 1 they stay left out, as in calcPlainMetricReplicas
        # (replica_calculator.go tests ``usageRatio > 1.0``, not just "else").
        if ratio != 1.0:
            fill = target if ratio < 1.0 else 0
            for name in missing:
                metrics[name] = PodMetric(fill)
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = PodMetric(0)
    new_ratio = _usage(metrics, target)[0]
    return _guarded(current, ratio, new_ratio, len(metrics), tolerance), usage


def _guarded(current: int, ratio: float, new_ratio: float, counted: int,
             tolerance: float | Tolerances) -> int:
    """The recount's answer, unless it is too small a change or reverses direction."""
    if (Tolerances.of(tolerance).is_within(new_ratio) or (ratio < 1.0 < new_ratio)
            or (ratio > 1.0 > new_ratio)):
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas
