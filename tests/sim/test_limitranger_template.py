"""LimitRanger fills in a controller's pods without touching the stored pod template."""

from __future__ import annotations

import labsupport as ls


def test_a_limitrange_does_not_make_the_deployment_roll_out_again_and_again():
    c = ls.connect(nodes=2, seed=0)
    c.apply({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"},
             "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "100m"}}]}})
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "app",
                                                            "image": "nginx:1.27"}]}}}})
    c.advance(10)
    assert len(c.list("replicasets")) == 1
    rs = c.list("replicasets")[0]
    assert not rs["spec"]["template"]["spec"]["containers"][0].get("resources")
    pods = [c.get(f"pod/{p.name}") for p in c.pods()]
    assert len(pods) == 2
    assert {p["spec"]["containers"][0]["resources"]["requests"]["cpu"] for p in pods} == {"100m"}
    assert all(p["metadata"]["annotations"]["kubernetes.io/limit-ranger"].startswith(
        "LimitRanger plugin set: cpu request for container app") for p in pods)
