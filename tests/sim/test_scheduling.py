"""The scheduler inside the simulated cluster: queue, back-off, binding, events."""

from __future__ import annotations

from simhelpers import deployment, pod

import labsupport as ls


def test_pending_pod_gets_the_real_failed_scheduling_message():
    c = ls.connect("sim", nodes=3, node_cpu="2", seed=0)
    c.apply(pod("big", containers=[{"name": "app", "image": "nginx:1.27",
                                    "resources": {"requests": {"cpu": "3"}}}]))
    c.advance(5)
    p = c.get("pod/big")
    cond = p["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "PodScheduled", "False", "Unschedulable")
    assert cond["message"].startswith("0/3 nodes are available: 3 Insufficient cpu.")
    ev = [e for e in c.events() if e.reason == "FailedScheduling"]
    assert ev[0].type == "Warning" and ev[0].component == "default-scheduler"
    assert c.pods()[0].node is None and c.pods()[0].phase == "Pending"


def test_pending_pod_is_placed_when_a_node_is_added():
    c = ls.connect("sim", nodes=1, node_cpu="1", seed=0)
    c.apply(pod("big", containers=[{"name": "app", "image": "nginx:1.27",
                                    "resources": {"requests": {"cpu": "2"}}}]))
    c.advance(30)
    assert c.pods()[0].node is None
    c.add_node(cpu="4", memory="8Gi")
    c.advance(15)  # waits at most its back-off (10 s cap) after the cluster changed
    assert c.pods()[0].node == "node-2"


def test_pending_pod_is_placed_when_room_is_freed():
    c = ls.connect("sim", nodes=1, node_cpu="1", seed=0)
    c.apply(deployment("hog", replicas=1, cpu="800m"))
    c.wait_for_rollout("deployment/hog")
    c.apply(deployment("web", replicas=1, cpu="500m"))
    c.advance(20)
    assert [p.node for p in c.pods() if p.name.startswith("web")] == [None]
    c.delete("deployment/hog")
    c.wait_for_rollout("deployment/web", timeout=120)




def test_spreads_pods_by_least_allocated(sim):
    sim.apply(deployment(replicas=6, cpu="500m", memory="256Mi"))
    sim.wait_for_rollout("deployment/web")
    per_node = {n.name: n.pods for n in sim.nodes()}
    assert sorted(per_node.values()) == [2, 2, 2]


def test_node_selector_and_taints(sim):
    sim.add_node("gpu-1", cpu="8", memory="16Gi", labels={"accelerator": "gpu"},
                 taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    sim.apply(deployment("plain", replicas=4))
    tol = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    sim.apply(deployment("train", replicas=2, pod_extra={"nodeSelector": {"accelerator": "gpu"},
                                                          "tolerations": tol}))
    sim.wait_for_rollout("deployment/plain")
    sim.wait_for_rollout("deployment/train")
    assert all(p.node != "gpu-1" for p in sim.pods(selector="app=plain"))
    assert all(p.node == "gpu-1" for p in sim.pods(selector="app=train"))


def test_explain_shows_the_filter_and_score_table(sim):
    sim.apply(pod("p"))
    sim.advance(1)
    d = sim.explain_scheduling("p")
    assert d.node == sim.pods()[0].node
    assert d.table and len(d.table) == 3
    assert "<table" in d._repr_html_()


def test_pods_are_never_over_allocatable(sim):
    sim.apply(deployment(replicas=30, cpu="900m", memory="1Gi"))
    sim.advance(60)
    for n in sim.nodes():
        assert n.cpu_requested <= n.cpu + 1e-9
        assert n.memory_requested <= n.memory
    placed = [p for p in sim.pods() if p.node]
    assert len(placed) == 12  # 4 per 4-CPU node
    pending = [p for p in sim.pods() if not p.node]
    assert len(pending) == 18


def test_unschedulable_pod_backoff_doubles_to_ten_seconds():
    c = ls.connect("sim", nodes=1, node_cpu="1", seed=0)
    c.apply(pod("big", containers=[{"name": "app", "image": "nginx:1.27",
                                    "resources": {"requests": {"cpu": "2"}}}]))
    from labsupport.kinds import type_for_kind

    node_t = type_for_kind("Node")
    for i in range(180):
        # the cluster changes every 0.25 s, so only the back-off delays retries
        node = c.api.get(node_t, None, "node-1")
        c.api.patch(node, "test", metadata=dict(node["metadata"], labels={
            **node["metadata"]["labels"], "tick": str(i)}))
        c.advance(0.25)
    times = [t for t, comp, action, key, _ in c.api.audit
             if action == "FailedScheduling" and key.endswith("/big")]
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:4] == [1.0, 2.0, 4.0, 8.0]
    assert all(g == 10.0 for g in gaps[4:]) and len(gaps) >= 6
