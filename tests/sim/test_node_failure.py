from __future__ import annotations

import pytest

import labsupport as ls
from simhelpers import deployment


def _node(sim, name):
    return next(n for n in sim.nodes() if n.name == name)


def _first_time(sim, name, predicate, step=0.5, limit=1000):
    t0 = sim.now
    while sim.now - t0 < limit:
        if predicate(sim):
            return sim.now
        sim.advance(step)
    raise AssertionError(f"{name} never happened")


def test_node_goes_unknown_after_the_grace_period(sim):
    lc = sim.node_lifecycle
    last = lc.last_renewal("node-1")
    sim.fail_node("node-1")
    t = _first_time(sim, "Unknown", lambda c: _node(c, "node-1").ready is None)
    # noticed at the first 5 s monitor tick after the lease is 50 s old
    assert last + 50 <= t <= last + 50 + 5 + 0.5
    node = sim.get("node/node-1")
    taints = {(x["key"], x["effect"]) for x in node["spec"]["taints"]}
    assert ("node.kubernetes.io/unreachable", "NoSchedule") in taints
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"


def test_lease_renew_time_stops_when_the_node_fails(sim):
    sim.advance(100)
    before = sim.get("lease/node-2", namespace="kube-node-lease")["spec"]["renewTime"]
    assert before >= "2025-01-01T00:01:30Z"
    sim.fail_node("node-2")
    sim.advance(100)
    after = sim.get("lease/node-2", namespace="kube-node-lease")["spec"]["renewTime"]
    assert after == before


def test_pods_of_a_silent_node_are_recreated_about_350_s_later(sim):
    sim.apply(deployment(replicas=3))
    sim.wait_for_rollout("deployment/web")
    victims = {p.name for p in sim.pods() if p.node == "node-1"}
    assert victims
    failed_at = sim.now
    sim.fail_node("node-1")
    # pods there stop being ready when the node goes Unknown (endpoints drop them)
    t_unready = _first_time(sim, "not ready", lambda c: all(
        not p.ready for p in c.pods() if p.name in victims))
    assert 40 <= t_unready - failed_at <= 56

    def replaced(c):
        live = [p for p in c.pods() if p.name not in victims and p.ready]
        return len(live) == 3

    t = _first_time(sim, "replaced", replaced, step=1)
    assert 345 <= t - failed_at <= 370
    assert all(p.node != "node-1" for p in sim.pods() if p.name not in victims)
    # the old pods wait in Terminating: their kubelet cannot confirm
    old = [p for p in sim.pods() if p.name in victims]
    assert old and all(p.status == "Terminating" for p in old)
    eviction = [e for e in sim.events() if e.reason == "TaintManagerEviction"]
    assert eviction and eviction[0].component == "taint-eviction-controller"
    # when the node returns, its kubelet finishes the deletions
    sim.restore_node("node-1")
    sim.advance(60)
    assert not [p for p in sim.pods() if p.name in victims]
    assert _node(sim, "node-1").ready is True and not _node(sim, "node-1").taints


def test_restore_before_eviction_keeps_the_pods(sim):
    sim.apply(deployment(replicas=3))
    sim.wait_for_rollout("deployment/web")
    before = {p.name for p in sim.pods()}
    sim.fail_node("node-2")
    sim.advance(120)
    sim.restore_node("node-2")
    sim.advance(400)
    assert {p.name for p in sim.pods()} == before
    assert all(p.ready for p in sim.pods())


def test_tolerating_unreachable_forever_keeps_pods_on_the_node(sim):
    tol = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]
    sim.apply(deployment(replicas=3, pod_extra={"tolerations": tol}))
    sim.wait_for_rollout("deployment/web")
    sim.fail_node("node-3")
    sim.advance(900)
    assert len(sim.pods()) == 3


def test_no_eviction_when_most_of_a_small_cluster_is_down():
    c = ls.connect("sim", nodes=5, seed=2)
    c.apply(deployment(replicas=5))
    c.wait_for_rollout("deployment/web")
    for n in ("node-1", "node-2", "node-3"):
        c.fail_node(n)
    c.advance(900)
    # The first silent node is noticed while the zone is still Normal and is tainted.
    # Once 3 of 5 are not ready (>= 55 %, more than 2) the zone is in PartialDisruption,
    # and with 50 nodes or fewer the secondary eviction rate is 0: no more NoExecute taints.
    no_execute = [n.name for n in c.nodes() if any(t.endswith(":NoExecute") for t in n.taints)]
    assert len(no_execute) == 1
    evicted_nodes = {c.get(f"pod/{e.object.split('/')[1]}")["spec"]["nodeName"]
                     for e in c.events() if e.reason == "TaintManagerEviction"}
    assert evicted_nodes == set(no_execute)


def test_failed_node_gets_no_new_pods(sim):
    sim.fail_node("node-3")
    sim.advance(60)
    sim.apply(deployment(replicas=6))
    sim.wait_for_rollout("deployment/web")
    assert all(p.node != "node-3" for p in sim.pods())


def test_fail_unknown_node_is_a_clear_error(sim):
    with pytest.raises(ls.ObjectNotFound) as err:
        sim.fail_node("node-9")
    assert "node-9" in str(err.value)
