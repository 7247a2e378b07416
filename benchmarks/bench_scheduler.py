"""Scheduler throughput at the Kubernetes scale limits: 5,000 nodes, 150,000 pods.

Each pod goes through a full scheduling cycle (Filter over the sampled window,
Score, selection) and is then bound with ``NodeTable.add_pod``. Pods come from
10 templates, like the Deployments of a real cluster.

Reference points (K8S_FACTS.md): kube-scheduler's scheduler_perf thresholds
are 680-810 pods/s at 5,000 nodes; real clusters schedule about 90-100 pods/s;
KWOK creates about 20 pods/s.

Run: ``.venv/bin/python benchmarks/bench_scheduler.py [--nodes N] [--pods P]``.
"""

from __future__ import annotations

import argparse
import time

from labsupport.sim.scheduler import NodeTable, Scheduler

# 10 templates: (cpu request, memory request). Their mean, about 0.6 CPU and
# 1.1Gi, times 30 pods a node fits nodes of 32 cores / 128Gi / 110 pods.
TEMPLATES = [
    ("100m", "128Mi"), ("250m", "256Mi"), ("500m", "512Mi"), ("1", "1Gi"), ("2", "4Gi"),
    ("250m", "1Gi"), ("500m", "2Gi"), ("100m", "64Mi"), ("750m", "768Mi"), ("200m", "512Mi"),
]


def build(nodes: int) -> NodeTable:
    table = NodeTable()
    for i in range(nodes):
        table.upsert_node({
            "metadata": {"name": f"node-{i:04d}",
                         "labels": {"kubernetes.io/hostname": f"node-{i:04d}",
                                    "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
            "spec": {},
            "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]},
        })
    return table


def pods(count: int) -> list[dict]:
    specs = [{"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                              "resources": {"requests": {"cpu": cpu, "memory": mem}}}],
              "tolerations": [
                  {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                   "effect": "NoExecute", "tolerationSeconds": 300},
                  {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                   "effect": "NoExecute", "tolerationSeconds": 300}]}
             for cpu, mem in TEMPLATES]
    return [{"metadata": {"name": f"app{i % 10}-{i}", "namespace": "default"},
             "spec": specs[i % 10]} for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=150_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    table = build(args.nodes)
    todo = pods(args.pods)
    sched = Scheduler(table, seed=0)
    setup = time.perf_counter() - t0

    unscheduled = 0
    checked = 0
    in_schedule = 0.0
    start = time.perf_counter()
    for pod in todo:
        t1 = time.perf_counter()
        d = sched.schedule(pod)
        in_schedule += time.perf_counter() - t1
        checked += d.nodes_checked
        if d.node is None:
            unscheduled += 1
        else:
            table.add_pod(pod, d.node)
    total = time.perf_counter() - start

    n = len(todo)
    print(f"nodes {args.nodes}, pods {n} from {len(TEMPLATES)} templates "
          f"(setup {setup:.1f} s)")
    print(f"scheduled {n - unscheduled}, unschedulable {unscheduled}, "
          f"nodes checked per pod {checked / n:.0f}")
    print(f"total {total:.1f} s for schedule + bind: {n / total:,.0f} pods/s "
          f"(schedule() alone {n / in_schedule:,.0f} pods/s)")
    print("reference: scheduler_perf 680-810 pods/s at 5,000 nodes; real clusters "
          "about 90-100 pods/s; KWOK about 20 pods/s")
    per_node = table.pod_count[table.order()]
    print(f"pods per node: min {per_node.min()}, max {per_node.max()}, "
          f"mean {per_node.mean():.1f}")


if __name__ == "__main__":
    main()
