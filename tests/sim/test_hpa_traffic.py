"""The HPA end to end: real traffic, the data plane's metrics, scale up and (300 s later) down."""

from __future__ import annotations

import pytest

import labsupport as ls

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: php-apache}
spec:
  replicas: 1
  selector: {matchLabels: {run: php-apache}}
  template:
    metadata: {labels: {run: php-apache}}
    spec:
      containers:
      - name: php-apache
        image: registry.k8s.io/hpa-example
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 200m}, limits: {cpu: 500m}}
---
apiVersion: v1
kind: Service
metadata: {name: php-apache}
spec: {selector: {run: php-apache}, ports: [{port: 80}]}
"""


def _hpa(metric):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "php-apache"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "php-apache"},
                     "minReplicas": 1, "maxReplicas": 10, "metrics": [metric]}}


CPU_50 = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 50}}}
RPS_4 = {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                  "target": {"type": "AverageValue", "averageValue": "4"}}}


def _run(metric, rps=40, duration=300, after=500):
    c = ls.connect(seed=0)
    c.apply(APP)
    c.apply(_hpa(metric))
    c.wait_for_rollout("deployment/php-apache")
    c.advance(30)
    start = c.now
    traffic = c.send_traffic("service/php-apache", rps=rps, duration=duration, background=True)
    samples = []
    while c.now < traffic.end + after:
        c.advance(5)
        samples.append((c.now, c.get("deployment/php-apache")["spec"]["replicas"]))
    rescales = [(e.time, e.message) for e in c.events() if e.reason == "SuccessfulRescale"]
    return c, start, traffic.end, samples, rescales


def _replicas_at(samples, t):
    return [n for when, n in samples if when <= t][-1]


@pytest.mark.parametrize("metric, reason", [
    (CPU_50, "cpu resource utilization (percentage of request) above target"),
    (RPS_4, "pods metric http_requests_per_second above target")])
def test_spike_scales_up_and_down_only_after_300_s(metric, reason):
    c, start, end, samples, rescales = _run(metric)
    # 40 requests/s of 25 ms of CPU each = 1 core = 10 pods at 100m (50% of 200m), or
    # 10 pods at 4 requests/s: the HPA gets there within two minutes, at most doubling
    # (or adding 4) per 15 s sync.
    assert rescales[0][1] == f"New size: 4; reason: {reason}"
    assert _replicas_at(samples, start + 120) == 10
    ups = [n for _, n in samples if _ < end]
    assert all(b <= max(2 * a, 4) for a, b in zip(ups, ups[1:], strict=False))
    # The load stops at `end`; every recommendation since is 1, but the highest of
    # the last 300 s still wins: no scale-down before end + 300.
    downs = [t for t, msg in rescales if "All metrics below target" in msg]
    assert downs and min(downs) > end + 300
    assert min(downs) <= end + 330
    assert _replicas_at(samples, end + 299) == 10
    assert samples[-1][1] == 1
    hpa = c.get("hpa/php-apache")["status"]
    assert hpa["currentReplicas"] == hpa["desiredReplicas"] == 1


def test_cpu_status_during_steady_load():
    c = ls.connect(seed=0)
    c.apply(APP)
    c.apply(_hpa(CPU_50))
    c.wait_for_rollout("deployment/php-apache")
    c.send_traffic("service/php-apache", rps=40, duration=240)
    current = c.get("hpa/php-apache")["status"]["currentMetrics"][0]["resource"]["current"]
    # Held near the 50% target, within the 10% tolerance band.
    assert 45 <= current["averageUtilization"] <= 55
    conditions = {x["type"]: x["reason"] for x in c.get("hpa/php-apache")["status"]["conditions"]}
    assert conditions["ScalingActive"] == "ValidMetricFound"
