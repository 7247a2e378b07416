"""Benchmark: the data plane under a node failure.

3 nodes, 30 pods behind a Service, 10 simulated minutes of Poisson traffic at
100 requests/s; node-1 fails at 2 min and comes back at 7 min. Target (issue
4): at most 1 s of wall time. Prints the wall time, simulated seconds per
wall second, and what the traffic saw.

Run: python benchmarks/bench_dataplane.py [--rps R] [--minutes M] [--repeat N] [--mode MODE]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import labsupport as ls  # noqa: E402

TARGET_SECONDS = 1.0


def manifests() -> list[dict]:
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"replicas": 30, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}, "annotations": {
                      "sim.labsupport.io/service-time": "exponential:0.02"}},
                      "spec": {"containers": [{
                          "name": "web", "image": "registry.example/web:1",
                          "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                          "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                             "periodSeconds": 5}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
    ]


def run(rps: float, minutes: float, mode: str) -> tuple[float, float, object, object]:
    """One run; returns (total wall s, traffic wall s, result, cluster)."""
    gc.collect()
    t0 = time.perf_counter()
    c = ls.connect("sim", nodes=3, seed=0, proxy_mode=mode)
    c.apply(manifests())
    c.wait_for_rollout("deployment/web")
    t1 = time.perf_counter()
    duration = minutes * 60
    h = c.send_traffic("service/web", rps=rps, duration=duration, pattern="poisson",
                       background=True)
    c.advance(duration * 0.2)
    c.fail_node("node-1")
    c.advance(duration * 0.5)
    c.restore_node("node-1")
    c.advance(duration * 0.3)
    r = h.result()
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1, r, c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rps", type=float, default=100)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mode", default="iptables")
    args = ap.parse_args()

    run(args.rps, 0.5, args.mode)  # warm up imports (numpy, manifests)
    runs = [run(args.rps, args.minutes, args.mode) for _ in range(args.repeat)]
    total = statistics.median(r[0] for r in runs)
    traffic = statistics.median(r[1] for r in runs)
    _, _, result, c = runs[0]
    sim_seconds = args.minutes * 60
    print(f"3 nodes, 30 pods, {args.minutes:g} min at {args.rps:g} requests/s ({args.mode}), "
          "node-1 fails at 2 min, back at 7 min")
    print(f"  wall time (median of {args.repeat}): {total:.3f} s "
          f"(target <= {TARGET_SECONDS:g} s) {'OK' if total <= TARGET_SECONDS else 'SLOW'}")
    print(f"  of which traffic and failure: {traffic:.3f} s")
    print(f"  simulated seconds per wall second: {sim_seconds / total:,.0f}")
    print(f"  requests {result.requests:,}, errors {result.errors:,} {result.error_kinds}, "
          f"p50 {result.p50 * 1000:.1f} ms, p99 {result.p99 * 1000:.1f} ms")
    print(f"  pods ready at the end: {sum(p.ready for p in c.pods())}")


if __name__ == "__main__":
    main()
