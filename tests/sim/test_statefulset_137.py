"""StatefulSet ``rollingUpdate.maxUnavailable`` as Kubernetes 1.37 runs it (KEP-961).

MaxUnavailableStatefulSet: beta and on in 1.35, off in 1.36
(kubernetes/kubernetes#137904), on by default again in 1.37 (#139466) once
#137666 fixed the Parallel regression. Everything is measured on the virtual
clock: a watch counts, after every change of a pod, how many of the set's
ordinals have no available pod.
"""

from __future__ import annotations

import pytest
from test_statefulset import PodTimeline, _image, statefulset

from labsupport.sim.controllers.statefulset import max_unavailable

PROBE = {"tcpSocket": {"port": 80}, "initialDelaySeconds": 3, "periodSeconds": 1}


class Unavailability:
    """The most ordinals without an available pod seen at once, after every pod change."""

    def __init__(self, sim, replicas: int, name: str = "web"):
        self.max_down = 0
        self.samples: list[tuple[float, int]] = []

        def on(ev):
            up = set()
            for pod in sim.list("pods"):
                meta = pod["metadata"]
                if meta.get("deletionTimestamp") or not meta["name"].startswith(f"{name}-"):
                    continue
                if any(c["type"] == "Ready" and c["status"] == "True"
                       for c in (pod.get("status") or {}).get("conditions") or ()):
                    up.add(meta["name"])
            down = replicas - len(up)
            self.samples.append((sim.now, down))
            self.max_down = max(self.max_down, down)

        sim.store.watch("/registry/pods/", on)


def _roll(sim, replicas, *, policy=None, max_unavailable_value=None, partition=None):
    ru = {}
    if max_unavailable_value is not None:
        ru["maxUnavailable"] = max_unavailable_value
    if partition is not None:
        ru["partition"] = partition
    strategy = {"type": "RollingUpdate", **({"rollingUpdate": ru} if ru else {})}
    sim.apply(statefulset(replicas=replicas, image="nginx:1.26", readiness=PROBE, policy=policy,
                          strategy=strategy))
    sim.wait_for_rollout("statefulset/web", timeout=300)
    t = PodTimeline(sim)
    watch = Unavailability(sim, replicas)
    sim.apply(statefulset(replicas=replicas, image="nginx:1.27", readiness=PROBE, policy=policy,
                          strategy=strategy))
    sim.wait_for_rollout("statefulset/web", timeout=900)
    return t, watch


def test_max_unavailable_rounds_percentages_down_and_is_at_least_one():
    assert max_unavailable(None, 6) == 1
    assert max_unavailable(3, 6) == 3
    assert max_unavailable("50%", 6) == 3
    assert max_unavailable("50%", 5) == 2      # 2.5 rounds down
    assert max_unavailable("1%", 6) == 1       # 0 becomes 1
    assert max_unavailable("100%", 4) == 4


def test_default_updates_one_pod_at_a_time(sim):
    t, watch = _roll(sim, 6)
    assert watch.max_down == 1
    order = sorted(t.terminating, key=lambda n: t.terminating[n][0])
    assert order == [f"web-{i}" for i in range(5, -1, -1)]
    assert len({round(v[0], 6) for v in t.terminating.values()}) == 6  # six separate steps


@pytest.mark.parametrize("value", [2, "34%"])  # 34% of 6 = 2.04, rounded down to 2
def test_ordered_ready_updates_in_batches_of_max_unavailable(sim, value):
    t, watch = _roll(sim, 6, max_unavailable_value=value)
    # Two pods are down at once during the update, never three.
    assert watch.max_down == 2
    assert sum(1 for _, down in watch.samples if down == 2) > 0
    starts = sorted(round(v[0], 6) for v in t.terminating.values())
    # Three batches: {5, 4}, {3, 2}, {1, 0}, each deleted in one sync.
    batches = [starts[0:2], starts[2:4], starts[4:6]]
    assert all(len(set(b)) == 1 for b in batches) and len(set(starts)) == 3
    for hi, lo in ((5, 3), (3, 1)):
        first_of_next = t.terminating[f"web-{lo}"][0]
        # OrderedReady: the next batch starts only once the whole batch is Ready again.
        assert first_of_next >= max(t.ready[f"web-{hi}"][-1], t.ready[f"web-{hi - 1}"][-1])
    assert t.terminating["web-5"][0] == t.terminating["web-4"][0]
    assert [_image(sim, f"web-{i}") for i in range(6)] == ["nginx:1.27"] * 6


def test_max_unavailable_makes_the_update_faster(sim):
    import labsupport as ls

    _roll(sim, 6)
    one_at_a_time = sim.now
    other = ls.connect("sim", nodes=3, seed=0)
    try:
        _roll(other, 6, max_unavailable_value=3)
        assert other.now < one_at_a_time
    finally:
        other.close()


def test_parallel_keeps_a_sliding_window_of_max_unavailable(sim):
    t, watch = _roll(sim, 6, policy="Parallel", max_unavailable_value=2)
    assert watch.max_down == 2
    assert sum(1 for _, down in watch.samples if down == 2) > 0
    # stateful_set_control.go updateStatefulSetAfterInvariantEstablished: each sync
    # deletes up to maxUnavailable minus the unhealthy pods, highest ordinal first.
    # So no pod goes before a higher ordinal; pods freed in the same sync (web-2 and
    # web-3 become Ready at the same instant here) go together.
    starts = [t.terminating[f"web-{i}"][0] for i in range(5, -1, -1)]
    assert starts == sorted(starts)
    assert starts[0] == starts[1] < starts[2] == starts[3] < starts[4] == starts[5]
    assert [_image(sim, f"web-{i}") for i in range(6)] == ["nginx:1.27"] * 6


def test_partition_limits_the_update_with_max_unavailable(sim):
    sim.apply(statefulset(replicas=5, image="nginx:1.26", readiness=PROBE,
                           strategy={"type": "RollingUpdate",
                                     "rollingUpdate": {"partition": 2, "maxUnavailable": 2}}))
    sim.wait_for_rollout("statefulset/web", timeout=300)
    t = PodTimeline(sim)
    sim.apply(statefulset(replicas=5, image="nginx:1.27", readiness=PROBE,
                           strategy={"type": "RollingUpdate",
                                     "rollingUpdate": {"partition": 2, "maxUnavailable": 2}}))
    sim.advance(120)
    assert sorted(t.terminating) == ["web-2", "web-3", "web-4"]
    assert t.terminating["web-4"][0] == t.terminating["web-3"][0] < t.terminating["web-2"][0]
    assert [_image(sim, f"web-{i}") for i in range(5)] == ["nginx:1.26"] * 2 + ["nginx:1.27"] * 3


def test_parallel_replaces_a_broken_old_revision_without_stalling(sim):
    """kubernetes/kubernetes#137409, fixed by #137666 before 1.37 turned the feature on.

    A first revision that never becomes Ready must not eat the maxUnavailable
    budget: the fixed template still reaches every pod.
    """
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    broken = statefulset(replicas=3, image="nginx:1.26", policy="Parallel", strategy=strategy)
    # The first revision crashes at start: CrashLoopBackOff, never Ready.
    broken["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", "exit 1"]
    sim.apply(broken)
    sim.advance(30)
    assert not any(p.ready for p in sim.pods())
    sim.apply(statefulset(replicas=3, image="nginx:1.27", readiness=PROBE, policy="Parallel",
                          strategy=strategy))
    sim.wait_for_rollout("statefulset/web", timeout=300)
    assert [_image(sim, f"web-{i}") for i in range(3)] == ["nginx:1.27"] * 3
    assert all(p.ready for p in sim.pods())
