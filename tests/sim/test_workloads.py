"""Workload annotations: the documented table, each annotation's effect, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from simhelpers import deployment, pod

import labsupport as ls
import labsupport.sim.workloads as workloads
from labsupport.errors import InvalidManifest
from labsupport.sim.workloads import (
    ANNOTATIONS,
    IMAGE_PROFILES,
    Distribution,
    annotation_table,
    behaviour,
    validate_annotations,
)

P = "sim.labsupport.io/"


def b(annotations: dict, container: dict | None = None):
    return behaviour({"metadata": {"annotations": annotations}},
                     container or {"name": "app", "image": "registry.example/app:1"})


def quiet(nodes: int = 1) -> ls.Cluster:
    c = ls.connect(nodes=nodes, seed=0)
    c.network.set(latency=0)
    return c


# --- the table ------------------------------------------------------------------------
def test_one_table_documents_every_annotation():
    rows = annotation_table()
    assert [r["annotation"] for r in rows] == [P + name for name, *_ in ANNOTATIONS]
    assert all(r["form"] and r["default"] and r["meaning"] for r in rows)
    for name, *_ in ANNOTATIONS:  # the module docstring's table names them all
        assert f"``{P}{name}``" in workloads.__doc__
    html = rows._repr_html_()
    assert html.count("<tr>") == len(ANNOTATIONS) + 1 and "crash-probability" in html


def test_defaults_by_image_and_by_cpu_request():
    nginx = b({}, {"name": "web", "image": "nginx:1.27"})
    assert nginx.service_time == Distribution.parse(IMAGE_PROFILES["nginx"]["service-time"])
    hpa = b({}, {"name": "php", "image": "registry.k8s.io/hpa-example"})
    assert hpa.service_time == Distribution("constant", (0.05,)) and hpa.cpu_per_request == 0.025
    other = b({})
    assert other.service_time.mean == 0.02 and other.cpu_per_request == pytest.approx(0.002)
    assert other.concurrency == 1 and other.capacity == pytest.approx(50)
    big = b({}, {"name": "app", "resources": {"requests": {"cpu": "450m"}}})
    assert big.concurrency == 4
    limited = b({}, {"name": "app", "resources": {"limits": {"cpu": "2"}}})
    assert limited.concurrency == 20


def test_per_container_keys_win():
    ann = {P + "service-time": "constant:1", P + "service-time.side": "constant:2"}
    assert b(ann, {"name": "app"}).service_time.mean == 1
    assert b(ann, {"name": "side"}).service_time.mean == 2


# --- each annotation does what the table says ---------------------------------------------
@pytest.mark.parametrize(("spec", "mean"), [("constant:0.05", 0.05), ("exponential:0.03", 0.03),
                                            ("lognormal:0.04,0.5", 0.04),
                                            ("uniform:0.01,0.05", 0.03)])
def test_service_time_distribution(spec, mean):
    c = quiet()
    c.apply(pod("p", annotations={P + "service-time": spec, P + "concurrency": "100"}))
    c.advance(5)
    r = c.send_traffic("pod/p", rps=20, duration=500, pattern="poisson")
    assert r.mean == pytest.approx(mean, rel=0.05)
    if spec.startswith("constant"):
        assert r.latencies == pytest.approx(np.full(r.requests, 0.05))
    if spec.startswith("uniform"):
        assert r.latencies.min() >= 0.01 and r.latencies.max() <= 0.05


def test_cpu_and_memory_annotations_show_in_metrics():
    c = quiet()
    c.apply(pod("p", annotations={P + "service-time": "constant:0.1", P + "concurrency": "10",
                                  P + "cpu-per-request": "0.05", P + "cpu-idle": "10m",
                                  P + "memory-baseline": "100Mi",
                                  P + "memory-per-request": "10Mi"}))
    c.advance(20)
    c.send_traffic("pod/p", rps=10, duration=40)
    usage = c.metrics.pod_metrics()[0]["containers"][0]["usage"]
    assert usage["cpu"] == "510m"  # 10/s x 0.05 + 0.01
    assert usage["memory"] == f"{100 * 1024 + 10 * 1024}Ki"  # one request in the pod on average


def test_crash_probability_crashes_the_container():
    c = quiet()
    c.apply(pod("sure", annotations={P + "crash-probability": "1"}))
    c.apply(pod("never", annotations={P + "crash-probability": "0"}))
    c.advance(5)
    sure = c.send_traffic("pod/sure", rps=1, duration=5)
    never = c.send_traffic("pod/never", rps=1, duration=5)
    assert never.errors == 0
    # The first request crashes the app. Updated for issue 14: the kubelet restarts
    # it at once after a first exit, so the next request (once the app is up again)
    # crashes it too; then the back-off (10 s) refuses the rest.
    assert sure.status[0] == 4 and sure.error_kinds == {"reset": 2, "refused": 3}
    st = c.get("pod/sure")["status"]["containerStatuses"][0]
    assert st["lastState"]["terminated"]["reason"] == "Error"
    assert st["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    c.advance(15)
    assert c.get("pod/sure")["status"]["containerStatuses"][0]["restartCount"] == 2


def test_a_crash_before_the_pod_is_ready_is_a_crash_too():
    c = quiet()
    c.apply(pod("p", annotations={P + "crash-probability": "1", P + "pull-seconds": "0"},
                containers=[{"name": "app", "image": "nginx:1.27", "readinessProbe": {
                    "httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 30}}]))
    c.advance(3)
    r = c.send_traffic("pod/p", rps=1, duration=10)  # straight to the pod, not yet Ready
    # Updated for issue 14: the first restart is at once, so a second request
    # crashes it again before the 10 s back-off refuses the rest.
    assert r.error_kinds == {"reset": 2, "refused": 8}
    assert c.pods()[0].status == "CrashLoopBackOff"


def test_memory_over_the_limit_is_oomkilled():
    c = quiet()
    c.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "p", "annotations": {
                 P + "service-time": "constant:1", P + "memory-baseline": "30Mi",
                 P + "memory-per-request": "1Mi"}},
             "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                      "resources": {"limits": {"memory": "40Mi"}}}]}})
    c.advance(5)
    r = c.send_traffic("pod/p", rps=5, duration=4)
    # 5 requests/s, 1 served per s: the 11th request in the pod exceeds 40Mi
    assert r.error_kinds["reset"] >= 10
    last = c.get("pod/p")["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["reason"] == "OOMKilled" and last["exitCode"] == 137


def test_concurrency_and_queue_limit():
    c = quiet()
    c.apply(pod("p", annotations={P + "service-time": "constant:1", P + "concurrency": "2",
                                  P + "queue-limit": "1"}))
    c.advance(5)
    r = c.send_traffic("pod/p", rps=3, duration=10)
    # 2 in service + 1 waiting; the rest are refused with 503
    assert r.error_kinds == {"503": r.errors} and r.errors > 0
    assert r.latencies.max() <= 2 + 1e-9


def test_start_seconds_and_fail_readiness_after():
    c = quiet()
    probe = {"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}}
    c.apply(deployment(replicas=1, annotations={P + "start-seconds": "10",
                                                P + "fail-readiness-after": "30",
                                                P + "pull-seconds": "0"},
                       container_extra=probe))
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    c.advance(1)
    r = c.send_traffic("service/web", rps=10, duration=60)
    ok = r.times[r.status == 0] - r.start
    # ready once the app answers (10 s), out of the Service when readiness fails (30 s + 3 probes)
    assert 9 <= ok.min() <= 11.5 and 30 <= ok.max() <= 34
    assert r.error_kinds == {"no endpoints": r.errors}
    assert c.pods()[0].restarts == 0 and not c.pods()[0].ready


# --- bad values -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "value", "form"), [
    ("service-time", "gaussian:0.1", "exponential:MEAN"),
    ("service-time", "uniform:0.5,0.1", "uniform:LOW,HIGH"),
    ("cpu-per-request", "lots", "CPU seconds"),
    ("cpu-idle", "2 cores", "CPU quantity"),
    ("memory-baseline", "-1Mi", "memory quantity"),
    ("memory-per-request", "1MB", "memory quantity"),
    ("crash-probability", "1.5", "number from 0 to 1"),
    ("concurrency", "0", "whole number, 1 or more"),
    ("queue-limit", "2.5", "whole number, 0 or more"),
    ("fail-readiness-after", "later", "seconds"),
])
def test_bad_values_name_the_annotation_and_the_form(name, value, form):
    with pytest.raises(InvalidManifest) as err:
        b({P + name: value})
    msg = str(err.value)
    assert f"metadata.annotations[{P}{name}]" in msg and f'"{value}"' in msg and form in msg
    assert "Write it like" in msg


def test_unknown_annotations_and_per_container_keys_are_named():
    with pytest.raises(InvalidManifest, match=r"annotations\[sim.labsupport.io/servce-time\]: "
                                              "is not an annotation the simulator knows"):
        b({P + "servce-time": "constant:1"})
    with pytest.raises(InvalidManifest, match=r"annotations\[sim.labsupport.io/concurrency.app\]"):
        b({P + "concurrency.app": "none"})


def test_validate_annotations_checks_pod_templates():
    good = deployment(annotations={P + "service-time": "exponential:0.01"})
    validate_annotations(good)
    bad = deployment(annotations={P + "concurrency": "-3"})
    with pytest.raises(InvalidManifest, match=r"^Deployment/web: metadata.annotations"):
        validate_annotations(bad)
    validate_annotations({"kind": "Service", "spec": {}})  # nothing to check


def test_bad_annotation_is_refused_at_apply_and_nothing_is_applied():
    import labsupport as ls

    c = ls.connect("sim", seed=0)
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"},
                                              "annotations": {"sim.labsupport.io/start-seconds": "soon"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    with pytest.raises(ls.InvalidManifest) as err:
        c.apply([good, bad])
    text = str(err.value)
    assert "sim.labsupport.io/start-seconds" in text and "soon" in text and "document 2" in text
    assert c.list("configmaps", namespace="default") == []
