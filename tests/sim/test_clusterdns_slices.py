"""Cluster DNS reads EndpointSlices, as CoreDNS's kubernetes plugin does."""

from __future__ import annotations

import labsupport as ls
from labsupport.sim.clusterdns import ready


def _pod(name, app, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {**spec, "terminationGracePeriodSeconds": 30, "containers": [
                {"name": "app", "image": "busybox:1.36",
                 "command": ["sh", "-c", "trap '' TERM; sleep 3600"]}]}}


def _svc(name, **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def test_headless_names_resolve_to_ready_endpoints_by_hostname_or_dashed_ip():
    c = ls.connect(nodes=1, seed=0)
    assert not ready(c.store, "db", "default", "dns")
    c.apply([_pod("db-0", "db", hostname="db-0", subdomain="db"), _pod("other", "db"),
             _svc("db", clusterIP="None")])
    c.advance(20)
    ip = c.get("pod/other")["status"]["podIP"]
    assert ready(c.store, "db", "default", "dns")
    assert ready(c.store, "db-0.db.default.svc.cluster.local", "default", "dns")
    assert ready(c.store, f"{ip.replace('.', '-')}.db.default.svc", "default", "dns")
    # Without endpoint_pod_names (kind's Corefile), a pod name is no DNS label.
    assert not ready(c.store, "other.db.default.svc", "default", "dns")


def test_a_hand_written_slice_is_what_dns_reads():
    c = ls.connect(nodes=1, seed=0)
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
             "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}})
    c.advance(1)
    assert not ready(c.store, "ext", "default", "dns")
    c.apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "ext-1", "labels": {"kubernetes.io/service-name": "ext"}},
             "addressType": "IPv4", "ports": [{"port": 5432}],
             "endpoints": [{"addresses": ["192.168.10.5"]}]})
    c.advance(1)
    # An endpoint without conditions counts as ready (nil ready: unknown, use it).
    assert ready(c.store, "ext", "default", "dns")
    assert ready(c.store, "192-168-10-5.ext", "default", "dns")


def test_connect_falls_back_to_serving_terminating_endpoints():
    c = ls.connect(nodes=1, seed=0)
    c.apply([_pod("p", "web"), _svc("web")])
    c.advance(20)
    assert ready(c.store, "web", "default", "connect")
    c.delete("pod/p")
    c.advance(1)
    [s] = c.list("endpointslices", selector="kubernetes.io/service-name=web")
    conditions = s["endpoints"][0]["conditions"]
    assert conditions["ready"] is False and conditions["terminating"] is True
    # kube-proxy sends to a serving terminating endpoint when none is ready.
    assert ready(c.store, "web", "default", "connect") is conditions["serving"]
