"""What kube-scheduler does differently in v1.37 than in v1.32, hand-computed.

Each test states a case whose v1.32 answer differs, so it fails against the
v1.32 behaviour:

- NodeResourcesBalancedAllocation scores the change of balance the pod brings
  (kubernetes PR #135573, CHANGELOG-1.36), not the balance with the pod alone.
- It is skipped for best-effort pods (kubernetes PR #130260, v1.33).
- The TaintToleration reason no longer names the taint (PR #134740, CHANGELOG-1.35).
- The DynamicResources PostFilter (default since DRA is on by default, v1.34)
  adds "no new claims to deallocate, " before the preemption part.
"""

from __future__ import annotations

import numpy as np

from labsupport.sim.scheduler import NodeTable, Scheduler
from labsupport.sim.scheduler.plugins import noderesources as pl

GI = 2**30
TOLERATIONS = [  # what DefaultTolerationSeconds admission adds to every pod
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
]


def node(name: str, cpu: str = "4", memory: str = "8Gi", taints: list | None = None) -> dict:
    return {"metadata": {"name": name}, "spec": {"taints": taints or []},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}}


def pod(name: str = "p", cpu: str | None = None, memory: str | None = None) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "resources": {"requests": requests}}],
                     "tolerations": list(TOLERATIONS)}}


def two_nodes() -> NodeTable:
    """node-a: 0 / 4Gi requested (lopsided); node-b: 1 CPU / 3Gi (nearly balanced)."""
    table = NodeTable()
    for name in ("node-a", "node-b"):
        table.upsert_node(node(name))
    table.add_pod(pod("mem-heavy", cpu="0", memory="4Gi"), "node-a")
    table.add_pod(pod("mixed", cpu="1", memory="3Gi"), "node-b")
    return table


def test_balanced_allocation_scores_the_change_of_balance():
    # The pod asks 1 CPU / 1Gi; both nodes have 4 CPU / 8Gi.
    # node-a: fractions with the pod 0.25 / 0.625 -> std 0.1875 -> 81;
    #         without it 0 / 0.5 -> std 0.25 -> 75; 50 + (50 + 81 - 75) // 2 = 78.
    #         (v1.32: 81.) LeastAllocated: cpu 75, memory 37 -> 56.
    # node-b: with the pod 0.5 / 0.5 -> 100; without 0.25 / 0.375 -> 93;
    #         50 + (50 + 100 - 93) // 2 = 78. (v1.32: 100.) LeastAllocated: 50.
    d = Scheduler(two_nodes()).schedule(pod(cpu="1", memory="1Gi"), explain=True)
    r = {row["node"]: row for row in d.table}
    assert [r[n]["NodeResourcesBalancedAllocation"] for n in ("node-a", "node-b")] == [78, 78]
    assert [r[n]["NodeResourcesFit"] for n in ("node-a", "node-b")] == [56, 50]
    # TaintToleration 100 x 3 on both: totals 434 and 428 (v1.32: 437 and 450, node-b).
    assert [r[n]["total"] for n in ("node-a", "node-b")] == [434, 428]
    assert d.node == "node-a"


def test_the_quick_path_makes_the_same_choice():
    # Without explain the cached / per-row scores are used; same node as above.
    table = two_nodes()
    sched = Scheduler(table)
    assert sched.schedule(pod(cpu="1", memory="1Gi")).node == "node-a"
    # A few rows change (the per-row Python path scores them): still consistent.
    table.add_pod(pod("more", cpu="500m", memory="0"), "node-b")
    explained = Scheduler(table).schedule(pod(cpu="1", memory="1Gi"), explain=True)
    assert sched.schedule(pod(cpu="1", memory="1Gi")).node == explained.node


def test_balanced_allocation_formula_by_hand():
    a = np.array
    # Keeping the balance scores 75; from perfectly balanced to all-one-side 50;
    # from all-one-side to perfectly balanced 100 (PR #135573 description).
    keep = pl.balanced_allocation(a([2000]), a([4000]), a([4 * GI]), a([8 * GI]),
                                  a([1000]), a([2 * GI]))
    unbalance = pl.balanced_allocation(a([4000]), a([4000]), a([0]), a([8 * GI]),
                                       a([0]), a([0]))
    rebalance = pl.balanced_allocation(a([4000]), a([4000]), a([8 * GI]), a([8 * GI]),
                                       a([4000]), a([0]))
    assert (keep.tolist(), unbalance.tolist(), rebalance.tolist()) == ([75], [50], [100])


def test_best_effort_pods_skip_balanced_allocation():
    # A pod without requests: BalancedAllocation's PreScore returns Skip, so it adds
    # 0 on every node (v1.32 scored it: 75 and 93 here). NodeResourcesFit still
    # scores the 100m / 200Mi defaults.
    d = Scheduler(two_nodes()).schedule(pod("besteffort"), explain=True)
    assert {row["NodeResourcesBalancedAllocation"] for row in d.table} == {0}
    assert all(row["NodeResourcesFit"] > 0 for row in d.table)
    # The per-row path agrees: requests with the pod equal those without it, so
    # only NodeResourcesFit counts: cpu (4000 - 1100) * 100 // 4000 = 72, memory
    # (8 - 4) * 100 // 8 = 50 -> 61 (v1.32 added 93 for the balance).
    assert pl.resource_score_one("LeastAllocated", 1100, 4 * GI, 1000, 3 * GI, 4000, 8 * GI,
                                 1000, 3 * GI) == 61


def test_untolerated_taint_reason_is_generic():
    table = NodeTable()
    table.upsert_node(node("gpu-1", taints=[{"key": "dedicated", "value": "gpu",
                                              "effect": "NoSchedule"}]))
    table.upsert_node(node("maint-1", taints=[{"key": "maintenance", "effect": "NoExecute"}]))
    d = Scheduler(table).schedule(pod(cpu="100m"), explain=True)
    # v1.32: "1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had
    # untolerated taint {maintenance: }".
    assert d.message == (
        "0/2 nodes are available: 2 node(s) had untolerated taint(s). no new claims to "
        "deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
        "scheduling..")
    assert "dedicated" not in d.message and "gpu" not in d.message
    assert {row["filter"] for row in d.table} == {"node(s) had untolerated taint(s)"}


def test_dynamic_resources_post_filter_message():
    table = NodeTable()
    table.upsert_node(node("node-1", cpu="1"))
    d = Scheduler(table).schedule(pod(cpu="2"))
    # v1.32 (no DynamicResources plugin by default): "... 1 Insufficient cpu.
    # preemption: ...".
    assert d.message == (
        "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for "
        "incoming pod..")
