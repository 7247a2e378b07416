"""The simulated kube-scheduler against the numbers of K8S_FACTS.md and upstream v1.37."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport.errors import Invalid, LabSupportError
from labsupport.sim.scheduler import Decision, NodeTable, Scheduler
from labsupport.sim.scheduler.plugins import noderesources as pl
from labsupport.sim.scheduler.plugins.nodeaffinity import ERR_REASON_POD
from labsupport.sim.scheduler.sampling import num_feasible_nodes_to_find

GI = 2**30
MI = 2**20
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
# What DefaultTolerationSeconds admission adds to every pod.
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
]


def node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None,
         unschedulable=False):
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


def pod(name="p", cpu=None, memory=None, ports=(), init=None, **spec):
    requests = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    container = {"name": "app", "image": "nginx:1.27", "resources": {"requests": requests}}
    if ports:
        container["ports"] = [dict(p) for p in ports]
    body = {"containers": [container], "tolerations": list(DEFAULT_TOLERATIONS), **spec}
    if init:
        body["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}


def cluster(*nodes):
    table = NodeTable()
    for n in nodes:
        table.upsert_node(n)
    return table


def many(n, **kw):
    return cluster(*(node(f"node-{i:04d}", **kw) for i in range(n)))


def bind(table, sched, p):
    d = sched.schedule(p)
    assert d.node is not None, d.message
    table.add_pod(p, d.node)
    return d


def rows(decision):
    return {r["node"]: r for r in decision.table}


# What the DynamicResources PostFilter adds to every FailedScheduling message since
# v1.34 for a Pod without ResourceClaims (dynamicresources.go PostFilter); changed
# from the v1.32 expectations below because v1.37 really prints it.
DRA = "no new claims to deallocate, "


# -- scores: a worked example -----------------------------------------------------------
def test_worked_example_least_allocated_and_balanced_allocation():
    # Three 4-CPU / 8Gi nodes, each already running one pod; the new pod asks 1 CPU, 1Gi.
    table = cluster(node("node-a"), node("node-b"), node("node-c"))
    table.add_pod(pod("old-a", cpu="1", memory="2Gi"), "node-a")
    table.add_pod(pod("old-b", cpu="500m", memory="6Gi"), "node-b")
    table.add_pod(pod("old-c"), "node-c")  # no requests: scored as 100m / 200Mi
    d = Scheduler(table).schedule(pod("new", cpu="1", memory="1Gi"), explain=True)
    r = rows(d)
    # BalancedAllocation changed in v1.36 (kubernetes PR #135573): it is now
    # 50 + (50 + balance_with_pod - balance_without_pod) // 2, each balance being
    # int((1 - |f_cpu - f_mem| / 2) * 100). The v1.32 numbers (balance with the pod
    # alone: 93, 75, 93; totals 449, 412, 471) were updated to these.
    # node-a: requested with the pod 2000m / 3Gi.
    #   LeastAllocated: cpu (4000-2000)*100/4000 = 50, memory (8-3)*100/8 = 62 -> (50+62)/2 = 56
    #   BalancedAllocation: with the pod |0.5 - 0.375| / 2 -> 93; without it
    #   |0.25 - 0.25| / 2 -> 100; 50 + (50 + 93 - 100) // 2 = 71 (v1.32: 93)
    assert r["node-a"]["NodeResourcesFit"] == 56
    assert r["node-a"]["NodeResourcesBalancedAllocation"] == 71
    # node-b: 1500m / 7Gi. cpu 62 (62.5), memory 12 (12.5) -> 37; with the pod
    # |0.375-0.875|/2 -> 75, without |0.125-0.75|/2 -> 68; 50 + 57 // 2 = 78 (v1.32: 75)
    assert r["node-b"]["NodeResourcesFit"] == 37
    assert r["node-b"]["NodeResourcesBalancedAllocation"] == 78
    # node-c: the old pod counts 100m / 200Mi for scoring only:
    #   cpu (4000-1100)*100/4000 = 72, memory (8192-1224)*100/8192 = 85 -> 78
    #   BalancedAllocation uses real requests: with |0.25 - 0.125| / 2 -> 93,
    #   without (nothing requested) 100 -> 71 (v1.32: 93)
    assert r["node-c"]["NodeResourcesFit"] == 78
    assert r["node-c"]["NodeResourcesBalancedAllocation"] == 71
    for name in r:
        # No PreferNoSchedule taints anywhere: every node scores 100 (x3); no preferred
        # affinity: 0; no image cache: 0.
        assert r[name]["TaintToleration"] == 100
        assert r[name]["NodeAffinity"] == 0
        assert r[name]["ImageLocality"] == 0
        assert r[name]["filter"] == "passed"
    assert [r[n]["total"] for n in ("node-a", "node-b", "node-c")] == [427, 415, 449]
    assert d.node == "node-c" and d.message == "" and d.feasible == 3 and d.nodes_checked == 3


def test_explain_does_not_change_the_decision():
    def run(explain):
        table = many(20, cpu="8", memory="16Gi")
        sched = Scheduler(table, seed=7)
        out = []
        for i in range(300):
            p = pod(f"p{i}", cpu=["100m", "700m", "1500m"][i % 3], memory=["128Mi", "1Gi"][i % 2])
            d = sched.schedule(p, explain=explain)
            if d.node:
                table.add_pod(p, d.node)
            out.append(d.node)
        return out

    assert run(False) == run(True)


def test_scalar_and_vector_resource_scores_agree():
    rng = np.random.default_rng(1)
    n = 500
    alloc_cpu = rng.integers(0, 64_000, n)  # 0 allocatable: that resource is left out
    alloc_mem = rng.integers(0, 256 * GI, n)
    node_cpu = rng.integers(0, 80_000, n)  # requested on the node without the pod
    node_mem = rng.integers(0, 300 * GI, n)
    # The pod's requests; every fifth row a best-effort pod (BalancedAllocation skipped).
    pod_cpu = np.where(np.arange(n) % 5 == 0, 0, rng.integers(0, 4_000, n))
    pod_mem = np.where(np.arange(n) % 5 == 0, 0, rng.integers(0, 8 * GI, n))
    req_cpu, req_mem = node_cpu + pod_cpu, node_mem + pod_mem
    nz_cpu = req_cpu + rng.integers(0, 500, n)
    nz_mem = req_mem + rng.integers(0, GI, n)
    for strategy, fn in (("LeastAllocated", pl.least_allocated),
                         ("MostAllocated", pl.most_allocated)):
        vector = fn(nz_cpu, alloc_cpu, nz_mem, alloc_mem) + pl.balanced_allocation(
            req_cpu, alloc_cpu, req_mem, alloc_mem, node_cpu, node_mem)
        scalar = [pl.resource_score_one(strategy, *map(int, row))
                  for row in zip(nz_cpu, nz_mem, req_cpu, req_mem, alloc_cpu, alloc_mem,
                                 node_cpu, node_mem, strict=True)]
        assert vector.tolist() == scalar


def test_most_allocated_packs_and_least_allocated_spreads():
    def place(strategy):
        table = cluster(node("node-1"), node("node-2"))
        table.add_pod(pod("old", cpu="2", memory="4Gi"), "node-1")
        return Scheduler(table, scoring_strategy=strategy).schedule(pod(cpu="1", memory="1Gi"))

    assert place("LeastAllocated").node == "node-2"
    assert place("MostAllocated").node == "node-1"
    assert place("RequestedToCapacityRatio").node == "node-1"  # bin packing shape


def test_requested_to_capacity_ratio_shape():
    # Utilization 50% on both resources through 0->0, 100->10 (x10): 50.
    score = pl.requested_to_capacity_ratio(np.array([2000]), np.array([4000]),
                                           np.array([4 * GI]), np.array([8 * GI]))
    assert score.tolist() == [50]
    # A decreasing shape scores the empty node higher.
    table = cluster(node("node-1"), node("node-2"))
    table.add_pod(pod("old", cpu="2", memory="4Gi"), "node-1")
    s = Scheduler(table, scoring_strategy="RequestedToCapacityRatio", shape=[(0, 10), (100, 0)])
    assert s.schedule(pod(cpu="1", memory="1Gi")).node == "node-2"


def test_pods_without_requests_fit_on_a_full_node():
    # The 100m / 200Mi defaults are for scoring only: Filter counts 0.
    table = cluster(node("node-1", cpu="1", memory="1Gi"))
    table.add_pod(pod("full", cpu="1", memory="1Gi"), "node-1")
    assert Scheduler(table).schedule(pod("besteffort")).node == "node-1"
    assert table.requested("node-1") == {"cpu": 1000, "memory": GI, "pods": 1}


# -- FailedScheduling messages ----------------------------------------------------------
def test_exact_message_when_no_node_has_enough_cpu():
    table = many(3, cpu="1")
    d = Scheduler(table).schedule(pod(cpu="2"))
    assert d.node is None
    # Each part ends with "." (FitError SeparatorFormat " %v."), hence the two dots.
    assert d.message == (
        "0/3 nodes are available: 3 Insufficient cpu. " + DRA + "preemption: 0/3 nodes are "
        "available: 3 No preemption victims found for incoming pod..")
    assert (d.nodes_checked, d.feasible) == (3, 0)


def test_message_with_mixed_reasons_and_unresolvable_nodes():
    table = cluster(node("n1", memory="1Gi"), node("n2", memory="1Gi"),
                    node("n3", taints=[UNREACHABLE]), node("n4", taints=[UNREACHABLE]),
                    node("n5", taints=[UNREACHABLE]))
    d = Scheduler(table).schedule(pod(cpu="100m", memory="2Gi"))
    # The default tolerations cover unreachable:NoExecute, not unreachable:NoSchedule.
    # Taint failures are UnschedulableAndUnresolvable: preemption cannot help there.
    # Since v1.35 (PR #134740) the taint reason no longer names the taint.
    assert d.message == (
        "0/5 nodes are available: 2 Insufficient memory, 3 node(s) had untolerated "
        "taint(s). " + DRA + "preemption: 0/5 nodes are available: "
        "2 No preemption victims found for incoming pod, 3 Preemption is not helpful for "
        "scheduling..")


def test_reasons_are_sorted_as_strings_and_one_node_can_give_several():
    nodes = [node(f"u{i:02d}", unschedulable=True) for i in range(10)]
    nodes += [node("small-1", cpu="1", memory="1Gi"), node("small-2", cpu="1", memory="1Gi")]
    d = Scheduler(cluster(*nodes)).schedule(pod(cpu="2", memory="2Gi"))
    # sort.Strings puts "10 ..." before "2 ..."; NodeResourcesFit keeps every reason.
    assert d.message.startswith(
        "0/12 nodes are available: 10 node(s) were unschedulable, 2 Insufficient cpu, "
        "2 Insufficient memory. " + DRA + "preemption: 0/12 nodes are available: "
        "10 Preemption is not helpful for scheduling, 2 No preemption victims found")


def test_message_without_nodes_and_with_preemption_never():
    assert Scheduler(NodeTable()).schedule(pod()).message == "no nodes available to schedule pods"
    d = Scheduler(many(2, cpu="1")).schedule(pod(cpu="2", preemptionPolicy="Never"))
    assert d.message == ("0/2 nodes are available: 2 Insufficient cpu. " + DRA + "preemption: "
                         "not eligible due to preemptionPolicy=Never..")


# -- filters ----------------------------------------------------------------------------
def test_node_selector():
    table = cluster(node("hdd-1", labels={"disktype": "hdd"}),
                    node("ssd-1", labels={"disktype": "ssd"}))
    assert Scheduler(table).schedule(pod(nodeSelector={"disktype": "ssd"})).node == "ssd-1"
    d = Scheduler(table).schedule(pod(nodeSelector={"disktype": "nvme"}), explain=True)
    assert d.message == (
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
        + DRA + "preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
        "scheduling..")
    assert {r["plugin"] for r in d.table} == {"NodeAffinity"}


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def expr(key, operator, *values):
    e = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return e


AFFINITY_NODES = [
    node("a", labels={"zone": "z1", "gpu": "true", "cores": "8"}),
    node("b", labels={"zone": "z2", "cores": "32"}),
    node("c", labels={"zone": "z3", "cores": "many"}),
    node("d", labels={}),
]


@pytest.mark.parametrize(("term", "passing"), [
    ({"matchExpressions": [expr("zone", "In", "z1", "z2")]}, {"a", "b"}),
    ({"matchExpressions": [expr("zone", "NotIn", "z1")]}, {"b", "c", "d"}),  # absent matches
    ({"matchExpressions": [expr("gpu", "Exists")]}, {"a"}),
    ({"matchExpressions": [expr("gpu", "DoesNotExist")]}, {"b", "c", "d"}),
    ({"matchExpressions": [expr("cores", "Gt", "16")]}, {"b"}),  # "many" is not an integer
    ({"matchExpressions": [expr("cores", "Lt", "16")]}, {"a"}),
    ({"matchExpressions": [expr("zone", "In", "z2", "z3"), expr("cores", "Gt", "4")]}, {"b"}),
    ({"matchExpressions": [expr("cores", "Gt", "x")]}, set()),  # unparsable term: no match
    ({"matchExpressions": [expr("zone", "In")]}, set()),  # In needs values
])
def test_node_affinity_operators(term, passing):
    d = Scheduler(cluster(*AFFINITY_NODES)).schedule(pod(affinity=required(term)), explain=True)
    assert {r["node"] for r in d.table if r["filter"] == "passed"} == passing
    failing = {r["node"] for r in d.table if r["filter"] != "passed"}
    assert all(rows(d)[n]["filter"] == ERR_REASON_POD for n in failing)


def test_node_affinity_terms_are_ored_and_empty_terms_match_nothing():
    table = cluster(*AFFINITY_NODES)
    ored = required({"matchExpressions": [expr("zone", "In", "z1")]},
                    {"matchExpressions": [expr("zone", "In", "z3")]})
    d = Scheduler(table).schedule(pod(affinity=ored), explain=True)
    assert {r["node"] for r in d.table if r["filter"] == "passed"} == {"a", "c"}
    assert Scheduler(table).schedule(pod(affinity=required({}))).node is None
    assert Scheduler(table).schedule(pod(affinity=required())).node is None


def test_daemonset_style_affinity_checks_only_the_named_node():
    table = cluster(*(node(f"node-{i}", cpu="1") for i in range(5)))
    ds = required({"matchFields": [expr("metadata.name", "In", "node-3")]})
    sched = Scheduler(table)
    d = sched.schedule(pod(affinity=ds), explain=True)
    assert (d.node, d.nodes_checked) == ("node-3", 1)
    assert sched.next_start_node_index == 1  # advanced by the nodes processed
    d = sched.schedule(pod(cpu="2", affinity=ds))
    assert d.message == (
        "0/5 nodes are available: 1 Insufficient cpu, 4 node(s) didn't satisfy plugin(s) "
        "[NodeAffinity]. " + DRA + "preemption: 0/5 nodes are available: 1 No preemption "
        "victims found "
        "for incoming pod, 4 Preemption is not helpful for scheduling..")


def test_preferred_node_affinity_is_weighted_and_normalized():
    table = cluster(node("a", labels={"tier": "gold"}), node("b", labels={"tier": "silver"}),
                    node("c"))
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 80, "preference": {"matchExpressions": [expr("tier", "In", "gold")]}},
        {"weight": 20, "preference": {"matchExpressions": [expr("tier", "In", "silver")]}},
    ]}}
    d = Scheduler(table).schedule(pod(cpu="100m", affinity=aff), explain=True)
    r = rows(d)
    # Raw 80, 20, 0 -> DefaultNormalizeScore: 100, 25, 0 (then x2).
    assert [r[n]["NodeAffinity"] for n in "abc"] == [100, 25, 0]
    assert r["a"]["total"] - r["c"]["total"] == 200
    assert d.node == "a"


def test_taints_and_tolerations():
    gpu = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    evict = {"key": "maintenance", "value": "", "effect": "NoExecute"}
    table = cluster(node("gpu-1", taints=[gpu]), node("maint-1", taints=[evict]))
    d = Scheduler(table).schedule(pod(cpu="100m"))
    # v1.35+ (PR #134740): one generic reason for both taints (v1.32 named each:
    # "1 node(s) had untolerated taint {dedicated: gpu}, 1 ... {maintenance: }").
    assert d.message.startswith(
        "0/2 nodes are available: 2 node(s) had untolerated taint(s). " + DRA)
    assert {r["filter"] for r in Scheduler(table).schedule(pod(cpu="100m"), explain=True).table} \
        == {"node(s) had untolerated taint(s)"}
    tol = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    assert Scheduler(table).schedule(pod(tolerations=tol)).node == "gpu-1"
    wrong = [{"key": "dedicated", "operator": "Equal", "value": "tpu", "effect": "NoSchedule"}]
    assert Scheduler(table).schedule(pod(tolerations=wrong)).node is None
    everything = [{"operator": "Exists"}]  # empty key with Exists tolerates every taint
    d = Scheduler(table).schedule(pod(tolerations=everything), explain=True)
    assert d.feasible == 2


def test_prefer_no_schedule_taints_score():
    soft = [{"key": f"k{i}", "value": "v", "effect": "PreferNoSchedule"} for i in range(2)]
    table = cluster(node("clean"), node("one", taints=soft[:1]), node("two", taints=soft))
    d = Scheduler(table).schedule(pod(), explain=True)
    r = rows(d)
    # Raw counts 0, 1, 2 -> reversed DefaultNormalizeScore: 100, 50, 0 (then x3).
    assert [r[n]["TaintToleration"] for n in ("clean", "one", "two")] == [100, 50, 0]
    assert d.node == "clean" and d.feasible == 3
    tol = [{"key": "k1", "operator": "Exists", "effect": "PreferNoSchedule"}]
    r = rows(Scheduler(table).schedule(pod(tolerations=tol), explain=True))
    assert [r[n]["TaintToleration"] for n in ("clean", "one", "two")] == [100, 0, 0]


def test_unschedulable_nodes():
    table = cluster(node("cordoned", unschedulable=True), node("open"))
    assert Scheduler(table).schedule(pod()).node == "open"
    table = cluster(node("cordoned", unschedulable=True))
    d = Scheduler(table).schedule(pod(), explain=True)
    assert d.table[0]["plugin"] == "NodeUnschedulable"
    assert d.message.startswith("0/1 nodes are available: 1 node(s) were unschedulable.")
    tol = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
            "effect": "NoSchedule"}]
    assert Scheduler(table).schedule(pod(tolerations=tol)).node == "cordoned"


def test_node_name():
    table = cluster(node("node-1"), node("node-2"))
    d = Scheduler(table).schedule(pod(nodeName="node-2"), explain=True)
    assert d.node == "node-2"
    assert rows(d)["node-1"]["filter"] == "node(s) didn't match the requested node name"


def test_pods_count_limit_110():
    table = cluster(node("node-1"))
    sched = Scheduler(table)
    for i in range(110):
        bind(table, sched, pod(f"p{i}"))
    d = sched.schedule(pod("p110"))
    assert d.message == (
        "0/1 nodes are available: 1 Too many pods. " + DRA + "preemption: 0/1 nodes are "
        "available: 1 No preemption victims found for incoming pod..")
    table.remove_pod(pod("p0"), "node-1")
    assert sched.schedule(pod("p110")).node == "node-1"


def test_init_containers_effective_request():
    table = cluster(node("node-1", cpu="1500m"))
    init = [{"name": "migrate", "resources": {"requests": {"cpu": "2"}}}]
    d = Scheduler(table).schedule(pod(cpu="500m", init=init))
    assert d.message.startswith("0/1 nodes are available: 1 Insufficient cpu.")
    sidecar = [{"name": "proxy", "restartPolicy": "Always",
                "resources": {"requests": {"cpu": "500m"}}}]
    p = pod(cpu="500m", init=sidecar)
    bind(table, Scheduler(table), p)
    assert table.requested("node-1")["cpu"] == 1000  # a sidecar adds to the app containers


def test_host_port_conflicts():
    web = [{"containerPort": 80, "hostPort": 8080}]
    table = cluster(node("node-1"), node("node-2"))
    sched = Scheduler(table)
    first = bind(table, sched, pod("a", ports=web))
    second = bind(table, sched, pod("b", ports=web))
    assert {first.node, second.node} == {"node-1", "node-2"}
    d = sched.schedule(pod("c", ports=web))
    assert d.message == (
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod "
        "ports. " + DRA + "preemption: 0/2 nodes are available: 2 No preemption victims "
        "found for incoming pod..")
    udp = [{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]
    assert sched.schedule(pod("d", ports=udp)).node is not None
    table.remove_pod(pod("a", ports=web), first.node)
    assert sched.schedule(pod("c", ports=web)).node == first.node


def test_host_ip_specific_ports():
    table = cluster(node("node-1"))
    table.add_pod(pod("a", ports=[{"containerPort": 1, "hostPort": 9000, "hostIP": "10.0.0.1"}]),
                  "node-1")
    sched = Scheduler(table)
    other_ip = [{"containerPort": 1, "hostPort": 9000, "hostIP": "10.0.0.2"}]
    assert sched.schedule(pod(ports=other_ip)).node == "node-1"
    any_ip = [{"containerPort": 1, "hostPort": 9000}]
    assert sched.schedule(pod(ports=any_ip)).node is None


# -- sampling, round-robin, ties --------------------------------------------------------
def test_sampling_at_5000_nodes_checks_500():
    table = many(5000, cpu="32", memory="128Gi")
    sched = Scheduler(table)
    d = sched.schedule(pod(cpu="100m"))
    assert (d.nodes_checked, d.feasible) == (500, 500)
    assert num_feasible_nodes_to_find(5000, None) == 500  # max(5, 50 - 40) = 10%
    assert num_feasible_nodes_to_find(1000, None) == 420  # 42%
    assert Scheduler(table, percentage_of_nodes_to_score=100).schedule(pod()).nodes_checked == 5000


def test_below_100_nodes_every_node_is_checked():
    d = Scheduler(many(50)).schedule(pod())
    assert (d.nodes_checked, d.feasible) == (50, 50)


def test_round_robin_start_advances_by_nodes_processed():
    table = many(1000)
    sched = Scheduler(table)
    names = table.names()
    d = sched.schedule(pod(), explain=True)
    assert d.table[0]["node"] == names[0] and d.nodes_checked == 420
    assert sched.next_start_node_index == 420
    d = sched.schedule(pod(), explain=True)
    assert d.table[0]["node"] == names[420]
    d = sched.schedule(pod(), explain=True)  # starts at 840 and wraps around
    assert [r["node"] for r in d.table[:161]] == names[840:] + names[:1]
    assert sched.next_start_node_index == 260


def test_failed_nodes_extend_the_search():
    # 150 nodes, the first 30 cordoned: the walk must pass them to find 100 feasible ones.
    nodes = [node(f"n{i:03d}", unschedulable=i < 30) for i in range(150)]
    sched = Scheduler(cluster(*nodes))
    d = sched.schedule(pod())
    # 150 nodes -> max(100, 150*49/100=73) = 100 feasible: 30 failed + 100 passed.
    assert (d.nodes_checked, d.feasible) == (130, 100)
    assert sched.next_start_node_index == 130


def test_nodes_are_walked_zone_by_zone():
    table = cluster(*(node(f"{z}-{i}", labels={"topology.kubernetes.io/zone": z})
                      for z in ("a", "b") for i in range(3)))
    assert table.names() == ["a-0", "b-0", "a-1", "b-1", "a-2", "b-2"]
    table.remove_node("b-0")
    assert table.names() == ["a-0", "b-1", "a-1", "b-2", "a-2"]


def test_ties_are_broken_deterministically_per_seed():
    def placements(seed):
        table = many(40, cpu="64", memory="256Gi")
        sched = Scheduler(table, seed=seed)
        return [bind(table, sched, pod(f"p{i}", cpu="10m")).node for i in range(30)]

    assert placements(1) == placements(1)
    assert placements(1) != placements(2)
    assert len(set(placements(3))) > 1  # ties do not all go to the first node


# -- the property: every placement is legal ---------------------------------------------
def _tolerates(tol, key, value, effect):
    if tol.get("effect") and tol["effect"] != effect:
        return False
    if tol.get("key") and tol["key"] != key:
        return False
    op = tol.get("operator") or "Equal"
    return (op == "Exists") or (op == "Equal" and (tol.get("value") or "") == value)


def _reference_filter(n, p, used):
    """Every filter, written plainly and independently of the vectorised code."""
    spec = p["spec"]
    tols = spec.get("tolerations") or []
    if n["spec"].get("unschedulable") and not any(
            _tolerates(t, "node.kubernetes.io/unschedulable", "", "NoSchedule") for t in tols):
        return False
    for taint in n["spec"].get("taints") or []:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not any(
                _tolerates(t, taint["key"], taint.get("value") or "", taint["effect"])
                for t in tols):
            return False
    labels = n["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    want = used[n["metadata"]["name"]]
    ports = {pt["hostPort"] for c in spec["containers"] for pt in c.get("ports", [])}
    if ports & want["ports"]:
        return False
    alloc = n["status"]["allocatable"]
    req = spec["containers"][0]["resources"]["requests"]
    cpu = int(req.get("cpu", "0m")[:-1]) if "cpu" in req else 0
    mem = int(req.get("memory", "0Mi")[:-2]) * MI if "memory" in req else 0
    if want["pods"] + 1 > int(alloc["pods"]):
        return False
    if cpu and want["cpu"] + cpu > int(alloc["cpu"][:-1]):
        return False
    return not (mem and want["mem"] + mem > int(alloc["memory"][:-2]) * MI)


node_st = st.builds(
    lambda cpu, mem, pods, zone, taint, cordon: (cpu, mem, pods, zone, taint, cordon),
    st.integers(500, 4000), st.integers(256, 4096), st.integers(1, 6),
    st.sampled_from(["a", "b", "c"]), st.sampled_from([None, "NoSchedule", "PreferNoSchedule"]),
    st.booleans())
pod_st = st.builds(
    lambda cpu, mem, zone, tolerate, port: (cpu, mem, zone, tolerate, port),
    st.one_of(st.none(), st.integers(0, 1500)), st.one_of(st.none(), st.integers(0, 1500)),
    st.sampled_from([None, "a", "b"]), st.booleans(), st.sampled_from([None, 80, 443]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(node_st, min_size=1, max_size=8), st.lists(pod_st, min_size=1, max_size=40),
       st.integers(0, 3))
def test_property_placements_pass_every_filter_and_never_overcommit(nodes, pods, seed):
    objs = []
    for i, (cpu, mem, npods, zone, taint, cordon) in enumerate(nodes):
        taints = [{"key": "team", "value": "x", "effect": taint}] if taint else []
        objs.append(node(f"n{i}", cpu=f"{cpu}m", memory=f"{mem}Mi", pods=str(npods),
                         labels={"zone": zone}, taints=taints, unschedulable=cordon))
    table = cluster(*objs)
    sched = Scheduler(table, seed=seed)
    used = {o["metadata"]["name"]: {"cpu": 0, "mem": 0, "pods": 0, "ports": set()} for o in objs}
    for j, (cpu, mem, zone, tolerate, port) in enumerate(pods):
        extra = {}
        if zone:
            extra["nodeSelector"] = {"zone": zone}
        p = pod(f"p{j}", cpu=None if cpu is None else f"{cpu}m",
                memory=None if mem is None else f"{mem}Mi",
                ports=[{"containerPort": port, "hostPort": port}] if port else (), **extra)
        if tolerate:
            p["spec"]["tolerations"].append({"key": "team", "operator": "Exists"})
        d = sched.schedule(p)
        fits = [o["metadata"]["name"] for o in objs if _reference_filter(o, p, used)]
        assert d.nodes_checked == len(objs)  # fewer than 100 nodes: all checked
        assert d.feasible == len(fits)
        if d.node is None:
            assert not fits and d.message.startswith(f"0/{len(objs)} nodes are available: ")
            continue
        assert d.node in fits
        table.add_pod(p, d.node)
        u = used[d.node]
        u["cpu"] += cpu or 0
        u["mem"] += (mem or 0) * MI
        u["pods"] += 1
        if port:
            u["ports"].add(port)
    for o in objs:
        name = o["metadata"]["name"]
        req, alloc = table.requested(name), table.allocatable(name)
        assert req["cpu"] <= alloc["cpu"] and req["memory"] <= alloc["memory"]
        assert req["pods"] <= alloc["pods"]
        assert req == {"cpu": used[name]["cpu"], "memory": used[name]["mem"],
                       "pods": used[name]["pods"]}


# -- the table, the display, and misuse -------------------------------------------------
def test_node_updates_and_removal():
    table = cluster(node("node-1", cpu="1"))
    sched = Scheduler(table)
    assert sched.schedule(pod(cpu="2")).node is None
    table.upsert_node(node("node-1", cpu="4"))  # allocatable grew
    assert sched.schedule(pod(cpu="2")).node == "node-1"
    table.upsert_node(node("node-1", cpu="4", taints=[UNREACHABLE]))  # NotReady: tainted
    assert sched.schedule(pod(cpu="2")).node is None
    table.upsert_node(node("node-1", cpu="4"))
    assert sched.schedule(pod(cpu="2")).node == "node-1"
    table.remove_node("node-1")
    assert len(table) == 0 and "node-1" not in table
    table.remove_node("node-1")  # already gone: ignored
    assert sched.schedule(pod()).message == "no nodes available to schedule pods"


def test_decision_display():
    table = cluster(node("node-1"), node("node-2", cpu="1"))
    d = Scheduler(table).schedule(pod("web-1", cpu="2"), explain=True)
    assert isinstance(d, Decision) and d.scheduled
    assert repr(d) == "<Decision default/web-1 -> node-1 (checked 2 nodes, 1 feasible)>"
    html = d._repr_html_()
    assert "node-1" in html and "Insufficient cpu" in html and "TaintToleration &times;3" in html
    failed = Scheduler(table).schedule(pod("big", cpu="8"))
    assert repr(failed).startswith("<Decision default/big unschedulable: 0/2 nodes are available")
    assert "0/2 nodes are available" in failed._repr_html_()


def test_learner_friendly_errors():
    table = NodeTable()
    with pytest.raises(Invalid, match="scoring_strategy must be one of LeastAllocated"):
        Scheduler(table, scoring_strategy="Spread")
    with pytest.raises(Invalid, match="from 0 to 100"):
        Scheduler(table, percentage_of_nodes_to_score=150)
    with pytest.raises(Invalid, match="needs a NodeTable"):
        Scheduler({})
    with pytest.raises(Invalid, match="metadata.name"):
        table.upsert_node({"metadata": {}})
    table.upsert_node(node("node-1"))
    with pytest.raises(Invalid, match='node "node-9" is not in the NodeTable'):
        table.add_pod(pod(), "node-9")
    bad = r"spec.containers\[0\].resources.requests.cpu: .*'2 cores'"
    with pytest.raises(LabSupportError, match=bad):
        Scheduler(table).schedule(pod(cpu="2 cores"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["pod", "pod", "pod", "pod", "resize", "remove",
                                           "add", "unbind", "taint"]),
                          st.integers(0, 10_000)), min_size=20, max_size=120),
       st.sampled_from([12, 160]))
def test_the_quick_walk_agrees_with_the_per_node_table_as_nodes_and_pods_change(ops, size):
    # The quick Filter walk reads free amounts laid out in walk order and skips
    # checks that lower bounds prove useless; explain=True recomputes every
    # checked node's verdict from the table itself. After any sequence of node
    # additions, resizes, removals, taints, binds and unbinds both must agree,
    # and the decisions must be those of a twin scheduler that never explains.
    # With 160 nodes only 100 are checked per pod (sampling, windows of the walk).
    sizes = [("1", "2Gi", "4"), ("2", "4Gi", "110"), ("4", "8Gi", "6"), ("500m", "1Gi", "110")]
    tables = [many(size, cpu="2", memory="4Gi"), many(size, cpu="2", memory="4Gi")]
    scheds = [Scheduler(tables[0], seed=3), Scheduler(tables[1], seed=3)]
    bound: list[tuple[dict, str]] = []
    names = tables[0].names()
    extra = 0
    for op, n in ops:
        if op == "pod":
            p = pod(f"p{n}", cpu=["0", "100m", "300m", "900m"][n % 4],
                    memory=["0", "64Mi", "512Mi", "1Gi"][n // 4 % 4])
            quick = scheds[0].schedule(p)
            full = scheds[1].schedule(p, explain=True)
            assert (quick.node, quick.message, quick.nodes_checked, quick.feasible) == (
                full.node, full.message, full.nodes_checked, full.feasible)
            assert full.feasible == sum(r["filter"] == "passed" for r in full.table)
            assert scheds[0].next_start_node_index == scheds[1].next_start_node_index
            if quick.node:
                for t in tables:
                    t.add_pod(p, quick.node)
                bound.append((p, quick.node))
        elif op == "unbind" and bound:
            p, where = bound.pop(n % len(bound))
            if where in names:
                for t in tables:
                    t.remove_pod(p, where)
        elif op in ("resize", "taint") and names:
            name = names[n % len(names)]
            cpu, mem, pods_ = sizes[n % len(sizes)]
            taints = [UNREACHABLE] if op == "taint" else []
            for t in tables:
                t.upsert_node(node(name, cpu=cpu, memory=mem, pods=pods_, taints=taints))
        elif op == "remove" and len(names) > 1:
            name = names.pop(n % len(names))
            for t in tables:
                t.remove_node(name)
        elif op == "add":
            extra += 1
            names.append(f"extra-{extra}")
            cpu, mem, pods_ = sizes[n % len(sizes)]
            for t in tables:
                t.upsert_node(node(names[-1], cpu=cpu, memory=mem, pods=pods_))
