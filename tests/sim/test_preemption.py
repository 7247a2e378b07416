"""Priority and preemption: PriorityClass admission, the queue order, DefaultPreemption."""

from __future__ import annotations

import pytest
import simpy

import labsupport as ls
from labsupport.sim.scheduler import NodeTable, Scheduler
from labsupport.sim.scheduler.queue import SchedulingQueue
from labsupport.sim.scheduler.reference import schedule_one


def pclass(name: str, value: int, **extra) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, **extra}


def pod(name: str, cpu: str = "100m", cls: str | None = None, labels: dict | None = None,
        image: str = "nginx:1.27", **spec) -> dict:
    container = {"name": "app", "image": image, "resources": {"requests": {"cpu": cpu}}}
    if image.startswith("busybox"):
        container["command"] = ["sleep", "3600"]  # PID 1 sleep ignores SIGTERM
    if cls:
        spec["priorityClassName"] = cls
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, **({"labels": labels} if labels else {})},
            "spec": {"containers": [container], **spec}}


def events(c, reason: str) -> list:
    return [e for e in c.events() if e.reason == reason]


# -- admission -----------------------------------------------------------------------------
def test_priority_class_name_sets_priority_and_policy():
    c = ls.connect(nodes=1, seed=0)
    c.apply(pclass("batch", 50, preemptionPolicy="Never"))
    c.apply(pod("p", cls="batch"))
    spec = c.get("pod/p")["spec"]
    assert (spec["priority"], spec["preemptionPolicy"]) == (50, "Never")
    c.apply(pod("q"))
    spec = c.get("pod/q")["spec"]
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in spec


def test_unknown_class_is_forbidden_with_the_api_servers_message():
    c = ls.connect(nodes=1, seed=0)
    with pytest.raises(ls.Forbidden) as err:
        c.apply(pod("x", cls="foo"))
    assert str(err.value) == 'pods "x" is forbidden: no PriorityClass with name foo was found'


def test_a_priority_set_by_hand_must_match_the_class():
    c = ls.connect(nodes=1, seed=0)
    with pytest.raises(ls.Forbidden, match=r"the integer value of priority \(7\) must not be "
                       r"provided in pod spec; priority admission controller computed 0 "
                       r"from the given PriorityClass name"):
        c.apply(pod("y", priority=7))
    c.apply(pod("z", priority=0))  # equal to what the plugin computes: accepted


def test_global_default_applies_and_only_one_may_exist():
    c = ls.connect(nodes=1, seed=0)
    c.apply(pclass("everyone", 300, globalDefault=True))
    c.apply(pod("p"))
    spec = c.get("pod/p")["spec"]
    assert (spec["priority"], spec["priorityClassName"]) == (300, "everyone")
    with pytest.raises(ls.Forbidden) as err:
        c.apply(pclass("another", 1, globalDefault=True))
    assert str(err.value) == ('priorityclasses.scheduling.k8s.io "another" is forbidden: '
                              "PriorityClass everyone is already marked as default. "
                              "Only one default can exist")


def test_system_classes_exist_and_user_values_are_capped():
    c = ls.connect(nodes=1, seed=0)
    values = {pc["metadata"]["name"]: pc["value"] for pc in c.list("priorityclasses")}
    assert values == {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
    c.apply(pod("s", cls="system-node-critical"))
    assert c.get("pod/s")["spec"]["priority"] == 2000001000
    with pytest.raises(ls.InvalidManifest, match="value: Forbidden: maximum allowed value of "
                       "a user defined priority is 1000000000"):
        c.apply(pclass("too-high", 1000000001))
    with pytest.raises(ls.InvalidManifest, match="priority class names with 'system-' prefix "
                       "are reserved for system use only. error: system-mine is not a known "
                       "system priority class"):
        c.apply(pclass("system-mine", 5))


def test_system_classes_do_not_change_seeded_names():
    # The system classes get uids of their own: the names of later objects stay the same.
    a, b = ls.connect(nodes=1, seed=3), ls.connect(nodes=1, seed=3)
    assert a.get("priorityclass/system-node-critical")["metadata"]["uid"] == \
        b.get("priorityclass/system-node-critical")["metadata"]["uid"]
    a.apply(pod("p"))
    assert a.get("pod/p")["metadata"]["uid"] != \
        a.get("priorityclass/system-node-critical")["metadata"]["uid"]


def test_priority_is_kept_on_update():
    c = ls.connect(nodes=1, seed=0)
    c.apply(pclass("high", 1000))
    c.apply(pod("p", cls="high"))
    obj = c.get("pod/p")
    obj["metadata"]["labels"] = {"x": "y"}
    del obj["spec"]["priority"]
    c.apply(obj)
    assert c.get("pod/p")["spec"]["priority"] == 1000


# -- the queue -----------------------------------------------------------------------------
def test_queue_takes_higher_priority_first_then_the_oldest():
    env = simpy.Environment()
    q = SchedulingQueue(env)
    q.add("default/old-low", 0)
    env.run(until=1)
    q.add("default/new-low", 0)
    q.add("default/high", 100)
    q.add("default/mid", 50)
    assert [q.pop() for _ in range(4)] == ["default/high", "default/mid", "default/old-low",
                                           "default/new-low"]


def test_cluster_schedules_the_high_priority_pod_first():
    c = ls.connect(nodes=1, node_cpu="1", seed=0)
    c.apply(pclass("high", 1000))
    c.apply([pod("low", "800m"), pod("high", "800m", cls="high")])  # one instant
    c.advance(2)
    assert c.get("pod/high")["spec"].get("nodeName") == "node-1"
    assert not c.get("pod/low")["spec"].get("nodeName")


# -- preemption ----------------------------------------------------------------------------
@pytest.fixture
def busy():
    """Two 2-CPU nodes: pod a (priority 0) on one, pod b (priority 10) on the other."""
    c = ls.connect(nodes=2, node_cpu="2", seed=0)
    c.apply([pclass("high", 1000), pclass("low", 10)])
    c.apply(pod("a", "1500m", image="busybox:1.36", terminationGracePeriodSeconds=20))
    c.advance(1)
    c.apply(pod("b", "1500m", cls="low", image="busybox:1.36"))
    c.advance(5)
    return c


def test_high_priority_pod_evicts_the_lowest_victim_and_binds_after_its_grace(busy):
    c = busy
    node_a = c.get("pod/a")["spec"]["nodeName"]
    c.apply(pod("big", "1500m", cls="high"))
    c.advance(1)
    big = c.get("pod/big")
    assert big["status"]["nominatedNodeName"] == node_a
    assert not big["spec"].get("nodeName")
    explained = c.explain_scheduling("pod/big")
    assert explained.nominated_node == node_a
    assert [v["metadata"]["name"] for v in explained.victims] == ["a"]
    victim = c.get("pod/a")
    assert victim["metadata"].get("deletionTimestamp")
    cond = [x for x in victim["status"]["conditions"] if x["type"] == "DisruptionTarget"][0]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod")
    [preempted] = events(c, "Preempted")
    assert preempted.object == "pod/a"
    assert preempted.message == f"Preempted by pod {big['metadata']['uid']} on node {node_a}"
    failed = [e for e in events(c, "FailedScheduling") if e.object == "pod/big"]
    assert failed[0].message == "0/2 nodes are available: 2 Insufficient cpu."
    assert c.get("pod/b")["metadata"].get("deletionTimestamp") is None  # priority 10 kept
    # The victim takes its 20 s grace period (sleep ignores SIGTERM), then big binds there.
    c.advance(15)
    assert not c.get("pod/big")["spec"].get("nodeName")
    c.advance(10)
    assert c.get("pod/big")["spec"].get("nodeName") == node_a
    assert "nominatedNodeName" not in c.get("pod/big")["status"]  # cleared on binding
    with pytest.raises(ls.ObjectNotFound):
        c.get("pod/a")
    [scheduled] = [e for e in events(c, "Scheduled") if e.object == "pod/big"]
    assert scheduled.time >= 20


def test_waiting_preemptor_is_not_eligible_while_its_victim_terminates(busy):
    c = busy
    c.apply(pod("big", "1500m", cls="high"))
    c.advance(1)
    decision = c.scheduler.schedule(c.get("pod/big"), explain=True)
    assert decision.message.endswith(
        "preemption: not eligible due to a terminating pod on the nominated node..")
    assert len(events(c, "Preempted")) == 1


def test_preemption_policy_never_does_not_preempt(busy):
    c = busy
    c.apply(pclass("polite", 1000, preemptionPolicy="Never"))
    c.apply(pod("big", "1500m", cls="polite"))
    c.advance(3)
    assert events(c, "Preempted") == []
    msg = [e for e in events(c, "FailedScheduling") if e.object == "pod/big"][0].message
    assert msg == ("0/2 nodes are available: 2 Insufficient cpu. no new claims to deallocate, "
                   "preemption: not eligible due to preemptionPolicy=Never..")
    assert "nominatedNodeName" not in c.get("pod/big")["status"]


def test_a_pdb_steers_the_victim_choice():
    # Same priority, same size: without a budget the node whose victim started
    # last is chosen; a budget protecting that victim turns the choice around.
    def run(with_pdb: bool) -> str:
        c = ls.connect(nodes=2, node_cpu="2", seed=0)
        c.apply(pclass("high", 1000))
        c.apply(pod("old", "1500m", labels={"app": "old"}))
        c.advance(3)
        c.apply(pod("new", "1500m", labels={"app": "new"}))
        if with_pdb:
            c.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                     "metadata": {"name": "new"},
                     "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "new"}}}})
        c.advance(5)
        if with_pdb:  # kept current by the disruption controller
            assert c.get("pdb/new")["status"]["disruptionsAllowed"] == 0
        c.apply(pod("big", "1500m", cls="high"))
        c.advance(1)
        return [e.object for e in events(c, "Preempted")][0]
    assert run(False) == "pod/new"
    assert run(True) == "pod/old"


def test_failed_scheduling_texts_when_preemption_cannot_help():
    c = ls.connect(nodes=3, node_cpu="1", seed=0)
    c.apply(pclass("high", 1000))
    c.apply(pod("small", "200m"))
    c.advance(2)
    # Too big for any node even when empty: the node with a victim keeps its Filter
    # reason (after removing it), the others have no victims at all.
    c.apply(pod("huge", "2", cls="high"))
    c.advance(1)
    msg = [e for e in events(c, "FailedScheduling") if e.object == "pod/huge"][0].message
    assert msg == ("0/3 nodes are available: 3 Insufficient cpu. no new claims to deallocate, "
                   "preemption: 0/3 nodes are available: 1 Insufficient cpu, "
                   "2 No preemption victims found for incoming pod..")
    # Priority 0 like everyone: no victims anywhere.
    c.apply(pod("same", "2"))
    c.advance(1)
    msg = [e for e in events(c, "FailedScheduling") if e.object == "pod/same"][0].message
    assert msg.endswith("preemption: 0/3 nodes are available: "
                        "3 No preemption victims found for incoming pod..")
    # A node selector nobody matches: UnschedulableAndUnresolvable everywhere.
    c.apply(pod("nowhere", "100m", cls="high", nodeSelector={"disk": "ssd"}))
    c.advance(1)
    msg = [e for e in events(c, "FailedScheduling") if e.object == "pod/nowhere"][0].message
    assert msg.endswith("preemption: 0/3 nodes are available: "
                        "3 Preemption is not helpful for scheduling..")


def test_explain_shows_the_post_filter_result_and_fast_path_agrees():
    tables = [NodeTable(), NodeTable()]
    low = {"metadata": {"name": "low", "namespace": "default"},
           "spec": {"priority": 0, "containers": [{"resources": {"requests": {"cpu": "1500m"}}}]}}
    mid = {"metadata": {"name": "mid", "namespace": "default"},
           "spec": {"priority": 5, "containers": [{"resources": {"requests": {"cpu": "1500m"}}}]}}
    for t in tables:
        for i in (1, 2):
            t.upsert_node({"metadata": {"name": f"node-{i}"},
                           "status": {"allocatable": {"cpu": "2", "memory": "8Gi", "pods": "9"}}})
        t.add_pod(low, "node-1")
        t.add_pod(mid, "node-2")
    big = {"metadata": {"name": "big", "namespace": "default"},
           "spec": {"priority": 100, "containers": [{"resources": {"requests": {"cpu": "1"}}}]}}
    fast, ref = Scheduler(tables[0], seed=1), Scheduler(tables[1], seed=1)
    got, want = fast.schedule(big), schedule_one(ref, big)
    assert (got.node, got.message, got.nominated_node) == (want.node, want.message,
                                                           want.nominated_node)
    assert want.nominated_node == "node-1"
    assert [v["metadata"]["name"] for v in want.victims] == ["low"]
    assert want.preemption["node-1"] == "evict default/low (chosen)"
    assert "nominated to node-1, preempting default/low" in repr(want)
    assert "Preemption dry run" in want._repr_html_()


def test_fast_path_and_reference_make_the_same_preemption_choices():
    import random

    rng = random.Random(7)
    for _ in range(30):
        tables = [NodeTable(), NodeTable()]
        n = rng.randint(1, 6)
        bound = []
        for i in range(n):
            for k in range(rng.randint(0, 3)):
                bound.append(({"metadata": {"name": f"p{i}-{k}", "namespace": "default",
                                            "labels": {"app": rng.choice("ab")}},
                               "spec": {"priority": rng.choice([0, 5, 10]),
                                        "containers": [{"resources": {"requests": {
                                            "cpu": f"{rng.choice([300, 700, 1200])}m"}}}]},
                               "status": {"startTime": f"2025-01-01T00:00:{rng.randint(10, 59)}Z"}},
                              f"node-{i}"))
        for t in tables:
            t.listers.add({"kind": "PodDisruptionBudget",
                           "metadata": {"name": "a", "namespace": "default"},
                           "spec": {"selector": {"matchLabels": {"app": "a"}}},
                           "status": {"disruptionsAllowed": rng.randint(0, 1)}})
            for i in range(n):
                t.upsert_node({"metadata": {"name": f"node-{i}"}, "status": {"allocatable": {
                    "cpu": "2", "memory": "8Gi", "pods": "9"}}})
            for p, node in bound:
                t.add_pod(p, node)
        fast, ref = Scheduler(tables[0], seed=3), Scheduler(tables[1], seed=3)
        for j in range(4):
            p = {"metadata": {"name": f"new-{j}", "namespace": "default"},
                 "spec": {"priority": rng.choice([0, 7, 20]),
                          **({"preemptionPolicy": "Never"} if rng.random() < 0.2 else {}),
                          "containers": [{"resources": {"requests": {
                              "cpu": f"{rng.choice([500, 1500, 2500])}m"}}}]}}
            got, want = fast.schedule(p), schedule_one(ref, p)
            assert (got.node, got.message, got.nominated_node,
                    [v["metadata"]["name"] for v in got.victims]) == (
                want.node, want.message, want.nominated_node,
                [v["metadata"]["name"] for v in want.victims])


def test_a_nominated_node_that_can_no_longer_take_the_pod_frees_it_to_preempt_again(busy):
    c = busy
    node_a = c.get("pod/a")["spec"]["nodeName"]
    node_b = c.get("pod/b")["spec"]["nodeName"]
    c.apply(pod("big", "1500m", cls="high"))
    c.advance(1)
    assert c.get("pod/big")["status"]["nominatedNodeName"] == node_a
    node = c.get(f"node/{node_a}")
    node["spec"]["taints"] = [{"key": "maintenance", "effect": "NoSchedule"}]
    c.apply(node)
    c.advance(3)
    assert [e.object for e in events(c, "Preempted")] == ["pod/a", "pod/b"]
    assert c.get("pod/big")["status"]["nominatedNodeName"] == node_b
