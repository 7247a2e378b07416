"""Probes and Services on a port the app does not open: connection refused, as on a cluster."""

from __future__ import annotations

import labsupport as ls


def _deploy(c, probe=None, image="nginx:1.27", ports=None, annotations=None, kind="readinessProbe",
            replicas=1):
    container = {"name": "web", "image": image}
    if ports is not None:
        container["ports"] = ports
    if probe is not None:
        container[kind] = probe
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"},
                                                "annotations": annotations or {}},
                                   "spec": {"containers": [container]}}}})
    c.advance(30)
    return c.pods(selector="app=web")[0]


def _unhealthy(c):
    return [e.message for e in c.events() if e.reason == "Unhealthy"]


def test_http_probe_on_a_closed_port_is_refused():
    c = ls.connect(seed=0)
    p = _deploy(c, {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5})
    ip = c.get(f"pod/{p.name}")["status"]["podIP"]
    assert not p.ready
    assert _unhealthy(c)[0] == (f'Readiness probe failed: Get "http://{ip}:8080/healthz": '
                                f"dial tcp {ip}:8080: connect: connection refused")


def test_tcp_probe_on_a_closed_port_is_refused():
    c = ls.connect(seed=0)
    p = _deploy(c, {"tcpSocket": {"port": 8080}, "periodSeconds": 5})
    ip = c.get(f"pod/{p.name}")["status"]["podIP"]
    assert not p.ready
    assert _unhealthy(c)[0] == (f"Readiness probe failed: dial tcp {ip}:8080: "
                                "connect: connection refused")


def test_probe_on_the_port_nginx_opens_passes():
    c = ls.connect(seed=0)
    assert _deploy(c, {"tcpSocket": {"port": 80}, "periodSeconds": 5}).ready


def test_named_port_is_resolved_in_the_probe_and_its_event():
    c = ls.connect(seed=0)
    assert _deploy(c, {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                   ports=[{"name": "http", "containerPort": 80}]).ready
    c = ls.connect(seed=0)
    p = _deploy(c, {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                ports=[{"name": "http", "containerPort": 8080}])
    ip = c.get(f"pod/{p.name}")["status"]["podIP"]
    assert not p.ready
    assert _unhealthy(c)[0] == (f'Readiness probe failed: Get "http://{ip}:8080/": '
                                f"dial tcp {ip}:8080: connect: connection refused")


def test_annotation_says_which_ports_the_app_opens():
    c = ls.connect(seed=0)
    assert _deploy(c, {"tcpSocket": {"port": 8080}, "periodSeconds": 5},
                   annotations={"sim.labsupport.io/listen-ports": "8080,9090"}).ready


def test_unknown_image_is_assumed_to_listen():
    c = ls.connect(seed=0)
    assert _deploy(c, {"tcpSocket": {"port": 8080}, "periodSeconds": 5},
                   image="example.com/team/app:1").ready


def test_liveness_probe_on_a_closed_port_restarts_the_container():
    c = ls.connect(seed=0)
    _deploy(c, {"tcpSocket": {"port": 8080}, "periodSeconds": 5, "failureThreshold": 3},
            kind="livenessProbe")
    c.advance(30)
    p = c.pods(selector="app=web")[0]
    assert p.restarts >= 1
    assert "Container web failed liveness probe, will be restarted" in [
        e.message for e in c.events() if e.reason == "Killing"]


def _service(c, target):
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": target}]}})
    c.advance(2)
    return c.send_traffic("service/web", rps=20, duration=10)


def test_service_target_port_nobody_listens_on_refuses_requests():
    c = ls.connect(seed=0)
    _deploy(c, replicas=2)
    r = _service(c, 8080)
    assert r.requests == 200 and r.error_kinds == {"refused": 200}


def test_service_target_port_the_app_opens_serves():
    c = ls.connect(seed=0)
    _deploy(c, replicas=2, ports=[{"name": "http", "containerPort": 80}])
    r = _service(c, "http")
    assert r.requests == 200 and r.errors == 0


def test_ipvs_lc_refuses_too():
    c = ls.connect(seed=0, proxy_mode="ipvs-lc")
    _deploy(c, replicas=2)
    r = _service(c, 8080)
    assert r.error_kinds == {"refused": 200}
