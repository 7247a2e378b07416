"""Metrics: metrics-server PodMetrics, per-pod rates, series, Prometheus exposition."""

from __future__ import annotations

import numpy as np
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families
from simhelpers import deployment, pod

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.quantity import cpu_cores, memory_bytes

PROFILE = {"sim.labsupport.io/service-time": "constant:0.01",
           "sim.labsupport.io/cpu-per-request": "0.004",
           "sim.labsupport.io/cpu-idle": "2m",
           "sim.labsupport.io/memory-baseline": "64Mi",
           "sim.labsupport.io/memory-per-request": "1Mi"}


def service(name: str = "web") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}


@pytest.fixture
def loaded():
    """3 pods (round robin), 60 requests/s for 120 s: 20 requests/s per pod."""
    c = ls.connect(seed=0, proxy_mode="ipvs")
    c.network.set(latency=0)
    c.apply([deployment(replicas=3, annotations=PROFILE), service()])
    c.wait_for_rollout("deployment/web")
    c.advance(30 - c.now)
    c.send_traffic("service/web", rps=60, duration=120)
    return c


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_pod_metrics_have_the_metrics_server_shape(loaded):
    ms = loaded.metrics.pod_metrics("default")
    assert len(ms) == 3 and loaded.now == 150
    for m in ms:
        assert m["apiVersion"] == "metrics.k8s.io/v1beta1" and m["kind"] == "PodMetrics"
        assert m["metadata"]["namespace"] == "default" and m["metadata"]["labels"]["app"] == "web"
        assert m["timestamp"] == "2025-01-01T00:02:30Z" and m["window"] == "15s"
        (container,) = m["containers"]
        assert container["name"] == "app"
        # 20 requests/s x 4 ms of CPU + 2m idle = 82m
        assert container["usage"]["cpu"] == "82m" and cpu_cores(container["usage"]["cpu"]) == 0.082
        # 64 MiB + 1 MiB x (20/s x 10 ms in the pod = 0.2 requests on average)
        assert memory_bytes(container["usage"]["memory"]) == pytest.approx(64.2 * 2**20, abs=1024)
    assert loaded.metrics.pod_metrics("other") == []


def test_pod_rate_is_the_last_window_of_requests(loaded):
    name = loaded.pods()[0].name
    assert loaded.metrics.pod_rate("default", name, "http_requests_per_second") == pytest.approx(20)
    assert loaded.metrics.pod_rate("default", name, "no_such_metric") is None
    assert loaded.metrics.pod_rate("default", "no-such-pod", "http_requests_per_second") is None
    loaded.advance(30)  # no traffic since: the last window is quiet
    assert loaded.metrics.pod_rate("default", name, "http_requests_per_second") == 0


def test_new_pods_and_silent_nodes_have_no_metrics():
    c = ls.connect(seed=0)
    c.apply(deployment(replicas=3))
    c.advance(14)
    assert c.metrics.pod_metrics() == []  # no complete window yet
    c.advance(31)  # started at about 3 s: one full window [15, 30) and then [30, 45)
    assert len(c.metrics.pod_metrics()) == 3
    c.fail_node("node-1")
    lost = {p.name for p in c.pods() if p.node == "node-1"}
    names = {m["metadata"]["name"] for m in c.metrics.pod_metrics()}
    assert lost and not names & lost and len(names) == 3 - len(lost)
    assert {m["metadata"]["name"] for m in c.metrics.node_metrics()} == {"node-2", "node-3"}
    name = next(iter(lost))
    assert c.metrics.pod_rate("default", name, "http_requests_per_second") is None


def test_series_follow_the_load_and_the_replicas():
    c = ls.connect(seed=0)
    c.network.set(latency=0)
    c.apply([deployment(replicas=2, annotations=PROFILE), service()])
    c.advance(30)
    c.send_traffic("service/web", rps=40, duration=60)
    c.scale("deployment/web", 4)
    c.advance(30)
    t, rps = c.metrics.series("requests_per_second", deployment="web")
    assert t.tolist() == [15, 30, 45, 60, 75, 90, 105, 120]
    assert rps.tolist() == [0, 0, 40, 40, 40, 40, 0, 0]
    _, cpu = c.metrics.series("cpu", app="web", step=30)
    # 2 pods idle at 2m from about 3 s; 40 requests/s x 4 ms; then 4 pods idle
    assert cpu[0] == pytest.approx(0.004, rel=0.15)
    assert cpu[1] == pytest.approx(0.164) and cpu[2] == pytest.approx(0.164)
    assert cpu[3] == pytest.approx(0.008, rel=0.15)
    _, lat = c.metrics.series("latency", deployment="web")
    assert np.isnan(lat[0]) and lat[3] == pytest.approx(0.01)
    _, mem = c.metrics.series("memory", pod=c.pods()[0].name)
    assert mem[3] > 64 * 2**20
    _, replicas = c.metrics.series("replicas", deployment="web")
    _, desired = c.metrics.series("desired_replicas", deployment="web")
    assert replicas[0] == 2 and replicas[-1] == 4 and desired[4] == 2 and desired[5] == 4
    with pytest.raises(Invalid, match='unknown series "rps"'):
        c.metrics.series("rps")


def test_prometheus_exposition_parses_and_adds_up(loaded):
    loaded.fail_node("node-1")
    loaded.advance(70)
    text = loaded.prometheus()
    fams = families(text)
    requests = fams["http_requests"]
    served = {s.labels["pod"]: s.value for s in requests.samples if s.labels["code"] == "200"}
    assert sum(served.values()) == 7200 and len(served) == 3
    duration = fams["http_request_duration_seconds"]
    for name in served:
        buckets = [s.value for s in duration.samples
                   if s.name.endswith("_bucket") and s.labels["pod"] == name]
        count = next(s.value for s in duration.samples
                     if s.name.endswith("_count") and s.labels["pod"] == name)
        assert buckets == sorted(buckets) and buckets[-1] == count == served[name]
    cpu = {s.labels["pod"]: s.value for s in fams["container_cpu_usage_seconds"].samples
           if s.name.endswith("_total")}
    # 2400 requests x 4 ms each, plus 2m while running
    assert all(v == pytest.approx(9.6 + 0.002 * (loaded.now - 3), abs=0.05) for v in cpu.values())
    replicas = fams["kube_deployment_status_replicas"].samples[0]
    assert replicas.labels == {"namespace": "default", "deployment": "web"} and replicas.value == 3
    ready = {(s.labels["node"], s.labels["condition"], s.labels["status"]): s.value
             for s in fams["kube_node_status_condition"].samples}
    assert ready[("node-1", "Ready", "unknown")] == 1 and ready[("node-2", "Ready", "true")] == 1
    pods_ready = [s for s in fams["kube_pod_status_ready"].samples if s.value == 1]
    assert sorted(s.labels["condition"] for s in pods_ready) in (
        ["false", "true", "true"], ["false", "false", "true"])
    assert "kube_pod_status_phase" in fams and "kube_pod_container_status_restarts" in fams


def test_prometheus_uses_no_global_registry(loaded):
    before = len(list(prometheus_client.REGISTRY.collect()))
    loaded.prometheus()
    loaded.prometheus()
    assert len(list(prometheus_client.REGISTRY.collect())) == before


def test_rejected_requests_count_as_503():
    c = ls.connect(seed=0)
    c.apply(pod("p", annotations={"sim.labsupport.io/service-time": "constant:1",
                                  "sim.labsupport.io/queue-limit": "0"}))
    c.advance(5)
    r = c.send_traffic("pod/p", rps=4, duration=10)
    fams = families(c.prometheus())
    codes = {s.labels["code"]: s.value for s in fams["http_requests"].samples}
    assert codes["503"] == r.error_kinds["503"] and codes["200"] == r.requests - r.errors
