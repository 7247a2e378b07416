"""The collector pauses inside advance(); that is only safe if the simulator makes no cycles."""

from __future__ import annotations

import gc

import pytest
from simhelpers import deployment

import labsupport as ls


def _ours(obj: object) -> bool:
    # Other threads of the test session (a fake API server...) may leave garbage meanwhile.
    module = getattr(type(obj), "__module__", "") or ""
    code = getattr(obj, "gi_code", None)
    return (module.startswith(("labsupport", "simpy"))
            or (code is not None and "labsupport" in code.co_filename))


def _cyclic_garbage_of(run) -> list:
    """Objects of the simulator that only the cyclic collector could free, left by ``run()``."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        run()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = [o for o in gc.garbage if _ours(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    return found


def _busy_day(seed: int) -> ls.Cluster:
    """Crashes, traffic, scaling, a rolling update, a node failure and deletions."""
    c = ls.connect(nodes=3, seed=seed)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    crashing = deployment("crashy", replicas=2,
                          annotations={"sim.labsupport.io/exit-after": "3"})
    flaky = deployment("web", replicas=4, cpu="100m", annotations={
        "sim.labsupport.io/crash-probability": "0.01",
        "sim.labsupport.io/service-time": "exponential:0.02"})
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "j", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 5"]}]}}}}
    c.apply([flaky, service, crashing, job])
    c.advance(30)
    c.send_traffic("service/web", rps=50, duration=20)
    c.scale("deployment/web", 8)
    c.advance(20)
    c.apply(deployment("web", replicas=8, image="nginx:1.28", cpu="100m"))  # new pods for all
    c.advance(60)
    c.scale("deployment/web", 1)
    c.kill_pod(c.pods(selector="app=crashy")[0].name)
    node = c.nodes()[0].name
    c.fail_node(node)
    c.advance(400)  # Unknown, NoExecute taints, eviction and recreation elsewhere
    c.restore_node(node)
    c.delete("deployment/crashy")
    c.delete("job/once")
    c.advance(120)
    assert len(c.pods(selector="app=web")) == 1
    return c


def test_a_busy_simulation_leaves_no_cyclic_garbage():
    _busy_day(seed=1)  # first uses of the libraries (inspect, ast...) make cycles once
    alive: list[ls.Cluster] = []  # the cluster itself stays in use
    garbage = _cyclic_garbage_of(lambda: alive.append(_busy_day(seed=2)))
    kinds = sorted({type(o).__name__ for o in garbage})
    assert garbage == [], f"{len(garbage)} objects in reference cycles: {kinds[:10]}"


def test_the_collector_pauses_only_inside_advance():
    c = ls.connect(nodes=1, seed=0)
    seen = []
    c.store.watch("/registry/", lambda ev: seen.append(gc.isenabled()))
    c.apply(deployment(replicas=1))
    assert seen and all(seen)  # apply runs with the collector on
    seen.clear()
    c.advance(5)
    assert seen and not any(seen)
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error_and_stays_off_if_turned_off():
    c = ls.connect(nodes=1, seed=0)

    def boom(ev):
        raise RuntimeError("a watcher failed")

    c.apply(deployment(replicas=1))
    stop = c.store.watch("/registry/pods/", boom)
    with pytest.raises(RuntimeError):
        c.advance(5)
    assert gc.isenabled()
    stop()
    fresh = ls.connect(nodes=1, seed=0)
    gc.disable()
    try:
        fresh.advance(1)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_clusters_of_a_seed_sweep_are_freed_without_help():
    # A lesson's typical loop: a new cluster per seed, the old one dropped. The
    # collector's own full collections must reclaim the dropped clusters (they
    # are reference cycles); nothing here calls gc.collect().
    gc.collect()

    def sweep(seeds) -> int:
        for seed in seeds:
            c = ls.connect(nodes=5, seed=seed)
            c.apply(deployment(replicas=60, cpu="50m"))
            c.advance(20)
            del c
        return len(gc.get_objects())

    after_few = sweep(range(3))
    after_many = sweep(range(3, 25))
    # One dropped cluster holds ~5,000 tracked objects: were they kept, the 22
    # more clusters would add about 115,000; collected as they go, ~25,000 at most.
    assert after_many < after_few + 60_000, (after_few, after_many)
