"""``status.terminatingReplicas`` of ReplicaSets and Deployments (Kubernetes 1.35+, KEP-3973).

DeploymentReplicaSetTerminatingReplicas: alpha in 1.33, beta and on by
default since 1.35. The ReplicaSet controller counts its pods that have a
``deletionTimestamp`` and have not finished; the Deployment controller adds
up its ReplicaSets. Status only: rollouts and scaling do not wait for
terminating pods (the Deployment ``podReplacementPolicy`` of KEP-5882 is alpha
and off in 1.37). All times are virtual.
"""

from __future__ import annotations

import pytest
from simhelpers import deployment

# The app ignores SIGTERM, so each deleted pod stays terminating for the whole
# 20 s grace period.
SLOW_STOP = {"annotations": {"sim.labsupport.io/ignore-sigterm": "true"},
             "pod_extra": {"terminationGracePeriodSeconds": 20}}


class Terminating:
    """(virtual time, terminatingReplicas) of every status change of one object."""

    def __init__(self, sim, prefix: str):
        self.changes: list[tuple[float, int | None]] = []

        def on(ev):
            if ev.type == "DELETED":
                return
            value = (ev.object.get("status") or {}).get("terminatingReplicas")
            if not self.changes or self.changes[-1][1] != value:
                self.changes.append((sim.now, value))

        sim.store.watch(prefix, on)


def _rs(sim):
    [rs] = [r for r in sim.list("replicasets") if r["spec"]["replicas"] > 0]
    return rs


def test_zero_is_written_not_omitted(sim):
    sim.apply(deployment(replicas=2))
    sim.wait_for_rollout("deployment/web")
    # A pointer field (*int32, omitempty): with the feature on, 0 is in the status.
    assert sim.get("deployment/web")["status"]["terminatingReplicas"] == 0
    assert _rs(sim)["status"]["terminatingReplicas"] == 0


def test_a_scale_down_counts_pods_during_their_graceful_termination(sim):
    sim.apply(deployment(replicas=3, **SLOW_STOP))
    sim.wait_for_rollout("deployment/web")
    rs_name = _rs(sim)["metadata"]["name"]
    rs_changes = Terminating(sim, f"/registry/replicasets/default/{rs_name}")
    d_changes = Terminating(sim, "/registry/deployments/default/web")
    start = sim.now
    sim.scale("deployment/web", 1)
    sim.advance(5)
    rs = sim.get(f"rs/{rs_name}")
    # replicas counts the one non-terminating pod; the two being deleted are apart.
    assert (rs["status"]["replicas"], rs["status"]["terminatingReplicas"]) == (1, 2)
    d = sim.get("deployment/web")["status"]
    assert (d["replicas"], d["terminatingReplicas"]) == (1, 2)
    sim.advance(30)
    assert sim.get(f"rs/{rs_name}")["status"]["terminatingReplicas"] == 0
    assert sim.get("deployment/web")["status"]["terminatingReplicas"] == 0
    # (The first write seen is the scale itself, terminatingReplicas still 0.)
    assert [v for _, v in rs_changes.changes] == [0, 2, 0]
    assert [v for _, v in d_changes.changes] == [0, 2, 0]
    # Counted from the deletion until the grace period ends 20 s later.
    (_, _), (up, _), (down, _) = rs_changes.changes
    assert up - start < 0.1
    assert down - up == pytest.approx(20, abs=0.1)
    assert d_changes.changes[1][0] >= up and d_changes.changes[2][0] >= down


def test_a_deleted_pod_is_replaced_at_once_and_counted_while_it_terminates(sim):
    sim.apply(deployment(replicas=3, **SLOW_STOP))
    sim.wait_for_rollout("deployment/web")
    victim = sim.pods()[0].name
    sim.delete(f"pod/{victim}")
    sim.advance(5)
    st = _rs(sim)["status"]
    # The ReplicaSet does not wait for the old pod: 3 replicas plus 1 terminating.
    assert (st["replicas"], st["readyReplicas"], st["terminatingReplicas"]) == (3, 3, 1)
    assert sim.get("deployment/web")["status"]["terminatingReplicas"] == 1
    sim.advance(20)
    assert _rs(sim)["status"]["terminatingReplicas"] == 0


def test_the_rollout_does_not_wait_for_terminating_pods(sim):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    sim.apply(deployment(replicas=2, image="nginx:1.26", strategy=strategy, **SLOW_STOP))
    sim.wait_for_rollout("deployment/web")
    changes = Terminating(sim, "/registry/deployments/default/web")
    sim.apply(deployment(replicas=2, image="nginx:1.27", strategy=strategy, **SLOW_STOP))
    sim.wait_for_rollout("deployment/web", timeout=120)
    status = sim.get("deployment/web")["status"]
    # Complete while both old pods are still in their 20 s grace period: 1.37 has no
    # Deployment podReplacementPolicy, terminatingReplicas is only reported.
    assert status["updatedReplicas"] == status["availableReplicas"] == 2
    assert status["terminatingReplicas"] == 2
    old = [r for r in sim.list("replicasets") if r["spec"]["replicas"] == 0]
    assert [r["status"]["terminatingReplicas"] for r in old] == [2]
    sim.advance(30)
    assert sim.get("deployment/web")["status"]["terminatingReplicas"] == 0
    assert max(v for _, v in changes.changes) == 2 and changes.changes[-1][1] == 0
