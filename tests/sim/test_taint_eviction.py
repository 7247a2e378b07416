"""The taint eviction controller (pkg/controller/tainteviction): NoExecute taints evict pods."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.sim.controllers.tainteviction import (
    matching_tolerations,
    min_toleration_seconds,
    tolerates,
)

TAINT = {"key": "maintenance", "value": "disk", "effect": "NoExecute"}


def pod(name="p", tolerations=None):
    spec = {"nodeName": "node-1",
            "containers": [{"name": "a", "image": "nginx:1.27"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def set_taints(c, taints, node="node-1"):
    obj = c.get(f"node/{node}")
    obj["spec"]["taints"] = taints
    obj["metadata"].pop("resourceVersion", None)
    c.apply(obj)


def evictions(c):
    return [(e.time, e.object, e.message, e.component) for e in c.events()
            if e.reason == "TaintManagerEviction"]


@pytest.fixture
def sim():
    c = ls.connect(nodes=1, seed=0)
    return c


def test_a_pod_that_does_not_tolerate_the_taint_goes_at_once(sim):
    sim.apply(pod())
    sim.advance(10)
    set_taints(sim, [TAINT])
    sim.advance(0.5)
    assert evictions(sim) == [(10.0, "pod/p", "Marking for deletion Pod default/p",
                               "taint-eviction-controller")]
    p = sim.get("pod/p")  # terminating gracefully
    assert p["metadata"]["deletionTimestamp"]
    [cond] = [c for c in p["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    sim.advance(60)
    assert sim.pods() == []


def test_a_noschedule_toleration_does_not_help(sim):
    sim.apply(pod(tolerations=[{"key": "maintenance", "operator": "Exists",
                                "effect": "NoSchedule"}]))
    sim.advance(10)
    set_taints(sim, [TAINT])
    sim.advance(1)
    assert [m for _, _, m, _ in evictions(sim)] == ["Marking for deletion Pod default/p"]


def test_toleration_seconds_count_from_the_taint(sim):
    sim.apply(pod(tolerations=[{"key": "maintenance", "operator": "Equal", "value": "disk",
                                "effect": "NoExecute", "tolerationSeconds": 60}]))
    sim.advance(10)
    set_taints(sim, [TAINT])
    sim.advance(59)
    assert evictions(sim) == [] and not sim.get("pod/p")["metadata"].get("deletionTimestamp")
    sim.advance(2)
    assert evictions(sim) == [(70.0, "pod/p", "Marking for deletion Pod default/p",
                               "taint-eviction-controller")]


def test_removing_the_taint_in_time_cancels(sim):
    sim.apply(pod(tolerations=[{"key": "maintenance", "operator": "Exists",
                                "tolerationSeconds": 60}]))
    sim.advance(10)
    set_taints(sim, [TAINT])
    sim.advance(30)
    assert sim.taint_eviction.scheduled("default", "p") == pytest.approx(70.0)
    set_taints(sim, [])
    sim.advance(120)
    assert [m for _, _, m, _ in evictions(sim)] == ["Cancelling deletion of Pod default/p"]
    assert sim.get("pod/p")["status"]["phase"] == "Running"
    assert not sim.get("pod/p")["metadata"].get("deletionTimestamp")


def test_a_toleration_without_seconds_tolerates_forever(sim):
    sim.apply(pod(tolerations=[{"key": "maintenance", "operator": "Exists"}]))
    sim.advance(10)
    set_taints(sim, [TAINT])
    sim.advance(3600)
    assert evictions(sim) == [] and sim.get("pod/p")["status"]["phase"] == "Running"


def test_the_smallest_toleration_seconds_of_the_taints_wins(sim):
    other = {"key": "noisy", "effect": "NoExecute"}
    sim.apply(pod(tolerations=[
        {"key": "maintenance", "operator": "Exists", "tolerationSeconds": 300},
        {"key": "noisy", "operator": "Exists", "tolerationSeconds": 30}]))
    sim.advance(10)
    set_taints(sim, [TAINT, other])
    sim.advance(31)
    assert [m for _, _, m, _ in evictions(sim)] == ["Marking for deletion Pod default/p"]


def test_a_pod_bound_to_a_tainted_node_is_timed_from_its_binding(sim):
    set_taints(sim, [TAINT])
    sim.advance(100)
    sim.apply(pod(tolerations=[{"key": "maintenance", "operator": "Exists",
                                "tolerationSeconds": 20}]))
    sim.advance(19)
    assert evictions(sim) == []
    sim.advance(2)
    assert [(round(t), m) for t, _, m, _ in evictions(sim)] == [
        (120, "Marking for deletion Pod default/p")]


def test_a_silent_node_is_evicted_by_the_same_mechanism():
    c = ls.connect(nodes=2, seed=0)
    c.apply(pod())
    c.advance(10)
    c.fail_node("node-1")
    c.advance(400)
    [(t, obj, message, component)] = evictions(c)
    assert (obj, message, component) == ("pod/p", "Marking for deletion Pod default/p",
                                         "taint-eviction-controller")
    # 50 s after the last lease renewal (+ the monitor tick), then the default 300 s.
    assert 340 <= t - 10 <= 365
    taint = next(t for t in c.get("node/node-1")["spec"]["taints"] if t["effect"] == "NoExecute")
    assert taint["key"] == "node.kubernetes.io/unreachable"


def test_a_node_coming_back_cancels_with_an_event():
    c = ls.connect(nodes=2, seed=0)
    c.apply(pod())
    c.advance(10)
    c.fail_node("node-1")
    c.advance(120)
    c.restore_node("node-1")
    c.advance(600)
    assert [m for _, _, m, _ in evictions(c)] == ["Cancelling deletion of Pod default/p"]
    assert not c.get("pod/p")["metadata"].get("deletionTimestamp")


def test_toleration_rules():
    assert tolerates({"key": "k", "operator": "Exists"}, {"key": "k", "effect": "NoExecute"})
    assert not tolerates({"key": "k", "value": "a"}, {"key": "k", "value": "b",
                                                       "effect": "NoExecute"})
    assert tolerates({"key": "k", "value": "a"}, {"key": "k", "value": "a",
                                                   "effect": "NoExecute"})
    assert matching_tolerations([TAINT], [{"key": "other", "operator": "Exists"}]) is None
    assert min_toleration_seconds([{"tolerationSeconds": -5}, {"tolerationSeconds": 9}]) == 0
