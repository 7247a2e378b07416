"""Benchmark: Kubernetes' largest supported cluster, simulated, in two shapes.

- ``pods``: 5,000 nodes and 150,000 pods created through 500 Deployments,
  timed from apply until every pod is Running and ready.
- ``deployments``: 5,000 nodes and 1,500 Deployments of 100 nginx replicas
  each, timed from ``connect()`` until every pod is Running and ready,
  including listing every pod (``c.list("pods")``) at the end.

Targets for each shape: at most 60 s of wall time and at most 2 GiB of peak
memory on the course's 2-core machine. By default both shapes run, each in a
process of its own (so that each peak memory is its own).

Run: python benchmarks/bench_control_plane.py [--shape pods|deployments|both]
[--scale F] [--nodes N] [--pods P] [--deployments D]. ``--scale 0.01`` runs a
hundredth of the size (a quick check that the script works, not a benchmark).
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
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


def nginx_deployments(deployments: int, replicas: int) -> list[dict]:
    """The second shape: many Deployments of plain nginx, 100 replicas each."""
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"web-{i:04d}"},
             "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": f"web-{i:04d}"}},
                      "template": {"metadata": {"labels": {"app": f"web-{i:04d}"}},
                                   "spec": {"containers": [{
                                       "name": "nginx", "image": "nginx:1.27",
                                       "ports": [{"containerPort": 80}],
                                       "resources": {"requests": {"cpu": "100m",
                                                                  "memory": "128Mi"}}}]}}}}
            for i in range(deployments)]


def count_ready(c) -> int:
    """Pods Running with the Ready condition True, read from the store."""
    return sum(1 for p in c.store.table("pods").values()
               if p["status"].get("phase") == "Running" and any(
                   x.get("type") == "Ready" and x.get("status") == "True"
                   for x in p["status"].get("conditions") or ()))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux


def run_deployments(nodes: int, deployments: int, replicas: int) -> None:
    """Shape 2: connect, apply, wait until all ready, list every pod; all timed."""
    pods = deployments * replicas
    gc.collect()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    c = ls.connect("sim", nodes=nodes, node_cpu="8", node_memory="32Gi", seed=0)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    c.apply(nginx_deployments(deployments, replicas))
    t_apply = time.perf_counter() - t1
    t2 = time.perf_counter()
    ready = 0
    while ready < pods and c.now <= 3600:
        c.advance(5.0)
        ready = count_ready(c)
    t_run = time.perf_counter() - t2
    t3 = time.perf_counter()
    listed = c.list("pods")
    t_list = time.perf_counter() - t3
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    print(f"shape deployments: nodes {nodes}, deployments {deployments} x {replicas} "
          f"replicas = {pods} pods (nginx)")
    print(f"  connect (build cluster) {t_build:8.2f} s")
    print(f"  apply manifests       {t_apply:8.2f} s")
    print(f"  run to all ready      {t_run:8.2f} s   ({c.now:g} s of cluster time)")
    print(f"  list every pod        {t_list:8.2f} s   ({len(listed)} pods listed)")
    print(f"  connect -> all listed {wall:8.2f} s wall   (target <= 60 s)")
    print(f"  pods Running+ready    {ready}")
    print(f"  CPU time (this process) {cpu:6.2f} s   (steadier than wall time on a shared host)")
    print(f"  peak memory           {peak_mib():8.0f} MiB  (target <= 2048 MiB)")
    print(f"  store revision        {c.store.revision}, events {len(c.event_log)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=("pods", "deployments", "both"), default="both")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply nodes, pods and deployments (e.g. 0.01 for a quick check)")
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000, help="shape pods: pods in all")
    ap.add_argument("--deployments", type=int, default=None,
                    help="Deployments (default: 500 for shape pods, 1,500 for deployments)")
    ap.add_argument("--replicas", type=int, default=100, help="shape deployments: per Deployment")
    args = ap.parse_args()
    if args.shape == "both":
        # One process per shape: each reports its own peak memory.
        for shape in ("pods", "deployments"):
            argv = ["--shape", shape, "--scale", str(args.scale), "--nodes", str(args.nodes),
                    "--pods", str(args.pods), "--replicas", str(args.replicas)]
            if args.deployments is not None:
                argv += ["--deployments", str(args.deployments)]
            subprocess.run([sys.executable, __file__, *argv], check=True)
        return
    nodes = max(1, round(args.nodes * args.scale))
    if args.shape == "deployments":
        deployments = max(1, round((args.deployments or 1500) * args.scale))
        run_deployments(nodes, deployments, args.replicas)
        return
    args.nodes = nodes
    args.pods = max(1, round(args.pods * args.scale))
    args.deployments = max(1, round((args.deployments or 500) * args.scale))

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
    print(f"shape pods: nodes {args.nodes}, deployments {args.deployments}, pods {args.pods}")
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
