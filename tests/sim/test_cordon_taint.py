"""Cordon: the node lifecycle controller's node.kubernetes.io/unschedulable taint."""

from __future__ import annotations

import labsupport as ls

UNSCHEDULABLE = "node.kubernetes.io/unschedulable"


def _taints(c, node):
    return c.get(f"node/{node}")["spec"].get("taints") or []


def test_cordon_adds_the_unschedulable_taint_and_uncordon_removes_it():
    c = ls.connect(nodes=2, seed=0)
    c.advance(1)
    assert c.cordon("node-1") == "node/node-1 cordoned"
    c.advance(1)
    [taint] = [t for t in _taints(c, "node-1") if t["key"] == UNSCHEDULABLE]
    # SwapNodeControllerTaint stamps timeAdded on every taint it adds.
    assert taint["effect"] == "NoSchedule" and set(taint) == {"key", "effect", "timeAdded"}
    assert c.get("node/node-1")["spec"]["unschedulable"] is True
    assert not any(t["key"] == UNSCHEDULABLE for t in _taints(c, "node-2"))
    assert c.uncordon("node-1") == "node/node-1 uncordoned"
    c.advance(1)
    assert not any(t["key"] == UNSCHEDULABLE for t in _taints(c, "node-1"))


def test_the_taint_is_put_back_if_removed_while_cordoned():
    c = ls.connect(nodes=1, seed=0)
    c.cordon("node-1")
    c.advance(1)
    c.taint("node-1", f"{UNSCHEDULABLE}:NoSchedule-")
    c.advance(1)
    assert [t["key"] for t in _taints(c, "node-1")] == [UNSCHEDULABLE]


def test_a_cordoned_node_gets_no_new_pods():
    c = ls.connect(nodes=2, seed=0)
    c.cordon("node-1")
    c.advance(1)
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web"},
             "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web",
                                                            "image": "nginx:1.27"}]}}}})
    c.wait_for_rollout("deployment/web")
    assert {p.node for p in c.pods()} == {"node-2"}
