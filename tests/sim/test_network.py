"""The network: latency, jitter, loss, partitions and heal."""

from __future__ import annotations

import numpy as np
import pytest
from simhelpers import deployment, pod

import labsupport as ls
from labsupport.errors import Invalid

READINESS = {"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}}
CONSTANT_10MS = {"sim.labsupport.io/service-time": "constant:0.01"}


def service(name: str = "web") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}


def one_pod(c, name: str = "p", node: str = "node-2") -> None:
    c.apply(pod(name, annotations=CONSTANT_10MS, nodeName=node))
    c.advance(5)


def test_latency_adds_twice_per_round_trip():
    c = ls.connect(seed=0)
    one_pod(c)
    base = c.send_traffic("pod/p", rps=5, duration=20)
    assert base.latencies == pytest.approx(np.full(100, 0.01 + 2 * 0.0005))
    c.network.set("control-plane", "node-2", latency=0.05)
    slow = c.send_traffic("pod/p", rps=5, duration=20)
    assert slow.latencies == pytest.approx(np.full(100, 0.11))
    assert c.network.link("node-2", "control-plane").latency == 0.05
    assert c.network.link("node-1", "node-3").latency == 0.0005  # others unchanged
    c.network.set(latency=0.002)  # every link between two hosts
    assert c.network.link("node-1", "node-3").latency == 0.002
    assert c.network.link("node-2", "control-plane").latency == 0.002


def test_jitter_spreads_latency():
    c = ls.connect(seed=0)
    one_pod(c)
    c.network.set(latency=0.05, jitter=0.005)
    r = c.send_traffic("pod/p", rps=20, duration=200)
    assert r.mean == pytest.approx(0.11, rel=0.01)
    # two legs, each Normal(50 ms, 5 ms): the round trip's deviation is 5 ms x sqrt(2)
    assert r.latencies.std() == pytest.approx(0.005 * np.sqrt(2), rel=0.05)


def test_lost_packets_are_sent_again_or_the_request_fails():
    c = ls.connect(seed=0)
    one_pod(c)
    c.network.set(loss=0.2)
    r = c.send_traffic("pod/p", rps=50, duration=400)
    delayed = (r.latencies > 0.5).mean() * (1 - r.error_rate)
    # a round trip sees no loss with probability 0.8^2
    assert delayed == pytest.approx(1 - 0.8**2 - r.error_rate, abs=0.01)
    # a request fails when one leg loses 3 packets in a row: about 2 x 0.2^3
    assert r.error_rate == pytest.approx(2 * 0.2**3, rel=0.15)
    assert r.error_kinds == {"timeout": r.errors}
    # one loss costs one retransmission timeout (1 s), plus maybe a wait behind another request
    retried = r.latencies[(r.latencies > 0.5) & (r.latencies < 1.5)]
    assert (retried >= 1.011 - 1e-9).all() and np.median(retried) == pytest.approx(1.011)
    twice = r.latencies[(r.latencies > 2.5) & (r.latencies < 3.5)]  # 1 s, then 2 s
    assert len(twice) and np.median(twice) == pytest.approx(3.011)


def test_bad_links_and_partitions_are_refused():
    c = ls.connect(seed=0)
    with pytest.raises(Invalid, match="loss must be a number from 0 to 1; got 2"):
        c.network.set(loss=2)
    with pytest.raises(Invalid, match='no host named "node-7"'):
        c.network.set("node-1", "node-7", latency=0.1)
    with pytest.raises(Invalid, match='no host named "node-9"'):
        c.partition(["node-9"])
    with pytest.raises(Invalid, match='"node-1" is in two groups'):
        c.partition(["node-1"], ["node-1", "node-2"])


def test_partition_groups_and_control_plane_side():
    c = ls.connect(nodes=4, seed=0)
    c.partition(["node-1", "node-2"], ["node-3"])
    # the control plane goes with the largest group; node-4, named nowhere, joins it
    assert c.network.groups() == [["control-plane", "node-1", "node-2", "node-4"], ["node-3"]]
    assert c.network.cut_off == ["node-3"]
    c.partition(["control-plane", "node-4"], ["node-1", "node-2", "node-3"])
    assert c.network.cut_off == ["node-1", "node-2", "node-3"]
    assert c.kubelets["node-3"].alive is False and c.kubelets["node-4"].alive is True
    c.heal()
    assert c.network.cut_off == [] and all(k.alive for k in c.kubelets.values())


def test_a_partitioned_node_leaves_the_service_and_comes_back_after_heal():
    c = ls.connect(seed=0)
    c.apply([deployment(replicas=3, annotations=CONSTANT_10MS, container_extra=READINESS),
             service()])
    c.wait_for_rollout("deployment/web")
    c.advance(5)
    on = {p.name: p.node for p in c.pods()}
    assert sorted(on.values()) == ["node-1", "node-2", "node-3"]
    cut = next(n for n, node in on.items() if node == "node-1")
    h = c.send_traffic("service/web", rps=30, duration=500, background=True)
    c.advance(20)
    t_split = c.now
    c.partition(["node-1"], ["node-2", "node-3"])
    not_ready_at = None
    while c.now < t_split + 120:
        c.advance(1)
        if not_ready_at is None and not next(p for p in c.pods() if p.name == cut).ready:
            not_ready_at = c.now
    assert not_ready_at is not None and 40 <= not_ready_at - t_split <= 62
    node = next(n for n in c.nodes() if n.name == "node-1")
    assert node.ready is None  # Unknown: its kubelet cannot reach the API server
    c.advance(100)
    t_heal = c.now
    c.heal()
    c.advance(500 - (c.now - h.end + 500))
    r = h.result()
    to_cut = np.array(r.pod_names)[r.pod] == cut
    # before the split it served; until the control plane noticed, its requests
    # timed out; then it got none; after heal it serves again
    before = to_cut & (r.times < t_split)
    assert before.any() and (r.status[before] == 0).all()
    during = to_cut & (r.times >= t_split) & (r.times < not_ready_at - 1)
    assert during.any() and (r.status[during] == 3).all()
    assert not (to_cut & (r.times >= not_ready_at) & (r.times < t_heal)).any()
    after = to_cut & (r.times > t_heal + 15)
    assert after.any() and (r.status[after] == 0).all()
    assert (r.status[~to_cut] == 0).all()


def test_a_client_on_the_cut_off_side_keeps_stale_rules():
    c = ls.connect(seed=0)
    c.apply([deployment(replicas=3, annotations=CONSTANT_10MS, container_extra=READINESS),
             service()])
    c.wait_for_rollout("deployment/web")
    c.advance(5)
    local = next(p.name for p in c.pods() if p.node == "node-1")
    c.partition(["node-1"], ["node-2", "node-3"])
    c.advance(120)  # the control plane marked node-1's pod NotReady long ago...
    r = c.send_traffic("service/web", rps=30, duration=60, client_node="node-1")
    # ...but kube-proxy on node-1 cannot hear it: it still sends to all three pods,
    # and only the pod on its own side answers.
    assert len(r.per_pod) == 3
    ok = np.array(r.pod_names)[r.pod[r.status == 0]]
    assert set(ok) == {local} and r.error_kinds == {"timeout": r.requests - len(ok)}


def test_restore_node_waits_for_heal_while_partitioned():
    c = ls.connect(seed=0)
    c.partition(["node-1"])
    c.fail_node("node-1")
    c.restore_node("node-1")
    assert not c.kubelets["node-1"].alive  # still cut off
    c.heal()
    assert c.kubelets["node-1"].alive
