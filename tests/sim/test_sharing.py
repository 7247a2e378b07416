"""Pods share read-only parts with their template: nothing may leak through the sharing."""

from __future__ import annotations

from simhelpers import deployment

import labsupport as ls
from labsupport.sim.jsoncopy import json_copy


def _probe_web(replicas: int = 4) -> dict:
    return deployment("web", replicas=replicas, cpu="100m", container_extra={
        "readinessProbe": {"httpGet": {"port": 80}, "successThreshold": 1},
        "livenessProbe": {"tcpSocket": {"port": 80}}})


def test_making_pods_leaves_the_stored_template_as_it_was():
    c = ls.connect(nodes=2, seed=0)
    c.apply(_probe_web())
    c.advance(1)
    rs_key = next(iter(c.store.table("replicasets")))
    before = json_copy(c.store.peek(rs_key))
    c.advance(60)
    c.scale("deployment/web", 9)
    c.advance(30)
    after = c.store.peek(rs_key)
    assert after["spec"]["template"] == before["spec"]["template"]
    pods = c.list("pods")
    assert len(pods) == 9
    for p in pods:  # each pod has the DefaultTolerationSeconds pair once, not the template
        keys = [t["key"] for t in p["spec"]["tolerations"]]
        assert keys == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert "tolerations" not in after["spec"]["template"]["spec"]


def test_changing_what_get_returns_changes_nothing_in_the_cluster():
    c = ls.connect(nodes=2, seed=0)
    c.apply(_probe_web(2))
    c.advance(30)
    a, b = c.list("pods")
    a["spec"]["containers"][0]["image"] = "changed"
    a["spec"]["tolerations"][0]["tolerationSeconds"] = 1
    fresh = c.get(f"pod/{b['metadata']['name']}")
    assert fresh["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert fresh["spec"]["tolerations"][0]["tolerationSeconds"] == 300
    again = c.get(f"pod/{a['metadata']['name']}")
    assert again["spec"]["containers"][0]["image"] == "nginx:1.27"
