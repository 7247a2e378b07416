"""How fast the served simulator answers: lists, watches, and kubectl end to end.

Run: ``.venv/bin/python benchmarks/bench_httpapi.py``. Prints three figures:
requests per second of ``list pods`` (1,000 pods) through the official
client, watch events delivered per second, and the wall time of
``kubectl get pods`` (1,000 rows) from start to exit.
"""

from __future__ import annotations

import threading
import time

import labsupport as ls

PODS = 1000


def _cluster() -> ls.SimCluster:
    c = ls.connect(nodes=10, seed=0)
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                          "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    c.advance(60)
    return c


def bench_list(c, seconds: float = 5.0) -> float:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(c.kubeconfig))
    core = client.CoreV1Api(api)
    try:
        assert len(core.list_namespaced_pod("default", _preload_content=False).data) > 0
        n, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            core.list_namespaced_pod("default", _preload_content=False).data  # noqa: B018
            n += 1
        return n / seconds
    finally:
        api.close()


def bench_watch(c, events: int = 2000) -> float:
    from kubernetes import client, config, watch

    api = config.new_client_from_config(config_file=str(c.kubeconfig))
    core = client.CoreV1Api(api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    got = []
    w = watch.Watch()

    def read() -> None:
        for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv,
                           timeout_seconds=60):
            got.append(ev)
            if len(got) >= events:
                w.stop()

    t = threading.Thread(target=read)
    t.start()
    start = time.monotonic()
    for i in range(events):
        c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}})
    t.join(120)
    took = time.monotonic() - start
    api.close()
    return len(got) / took


def bench_kubectl(c, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.monotonic()
        run = c.kubectl("get pods")
        assert run.ok and run.stdout.count("\n") == PODS + 1, run.stderr
        best = min(best, time.monotonic() - start)
    return best


def main() -> None:
    c = _cluster()
    c.serve(speed=0)
    try:
        print(f"list {PODS} pods (official client): {bench_list(c):.1f} requests/s")
        print(f"watch (official client):          {bench_watch(c):.0f} events/s "
              "(each a c.apply of a ConfigMap)")
        print(f"kubectl get pods ({PODS} rows):     {bench_kubectl(c):.2f} s end to end "
              "(best of 3)")
    finally:
        c.close()


if __name__ == "__main__":
    main()
