"""Benchmark: Kubernetes' largest supported cluster, simulated.

5,000 nodes and 150,000 pods created through Deployments, from apply until
every pod is Running and ready. Targets (issue 3): at most 60 s of wall time
and at most 2 GiB of peak memory on the course's 2-core machine.

Run: python benchmarks/bench_control_plane.py [--nodes N] [--pods P] [--deployments D]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import labsupport as ls  # noqa: E402

# K8S_FACTS.md: scheduler_perf thresholds 680-810 pods/s at 5,000 nodes; KWOK ~20 pods/s.
SCHEDULER_PERF = 810
KWOK = 20


def manifests(deployments: int, pods: int) -> list[dict]:
    per = pods // deployments
    out = []
    for i in range(deployments):
        name = f"app-{i:03d}"
        out.append({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": per + (1 if i < pods % deployments else 0),
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": "app", "image": f"registry.example/app:{i % 10}",
                                      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                                      "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                         "periodSeconds": 10}}]}}}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--deployments", type=int, default=500)
    args = ap.parse_args()

    gc.collect()
    t0 = time.perf_counter()
    c = ls.connect("sim", nodes=args.nodes, node_cpu="8", node_memory="32Gi", seed=0)
    t_build = time.perf_counter() - t0
    objs = manifests(args.deployments, args.pods)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    c.apply(objs)
    t_apply = time.perf_counter() - t1
    t2 = time.perf_counter()
    ready = 0
    step = 5.0
    while True:
        c.advance(step)
        pods = c.store.table("pods").values()
        ready = sum(1 for p in pods if p["status"].get("phase") == "Running" and any(
            x.get("type") == "Ready" and x.get("status") == "True"
            for x in p["status"].get("conditions") or ()))
        if ready >= args.pods or c.now > 3600:
            break
    t_run = time.perf_counter() - t2
    wall = time.perf_counter() - t1
    cpu = time.process_time() - cpu1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(f"nodes {args.nodes}, deployments {args.deployments}, pods {args.pods}")
    print(f"  build cluster         {t_build:8.2f} s")
    print(f"  apply manifests       {t_apply:8.2f} s")
    print(f"  run to all ready      {t_run:8.2f} s   ({c.now:g} s of cluster time)")
    print(f"  apply -> all ready    {wall:8.2f} s wall   (target <= 60 s)")
    print(f"  pods Running+ready    {ready}")
    print(f"  CPU time (this process) {cpu:6.2f} s   (steadier than wall time on a shared host)")
    print(f"  peak memory           {peak:8.0f} MiB  (target <= 2048 MiB)")
    print(f"  pods/s end to end     {args.pods / wall:8.0f}   "
          f"(scheduler_perf {SCHEDULER_PERF} pods/s; KWOK about {KWOK} pods/s)")
    print(f"  store revision        {c.store.revision}, events {len(c.event_log)}")


if __name__ == "__main__":
    main()
