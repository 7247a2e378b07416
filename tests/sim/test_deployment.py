from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.rollout import RolloutFailed
from labsupport.sim.controllers.deployment import resolve_fenceposts
from simhelpers import deployment


def _image(sim, d="web"):
    return sim.get(f"deployment/{d}")["spec"]["template"]["spec"]["containers"][0]["image"]


class Watcher:
    """Checks the rolling update bounds after every change in the store."""

    def __init__(self, sim, replicas, surge, unavailable):
        self.sim = sim
        self.max_total = 0
        self.min_available = replicas
        self.max_rs_sum = 0

        def on(ev):
            pods = [p for p in sim.api.list(_pod_type()) if not p["metadata"].get("deletionTimestamp")
                    and p["status"].get("phase") not in ("Succeeded", "Failed")]
            ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                            for c in p["status"].get("conditions") or ())]
            self.max_total = max(self.max_total, len(pods))
            self.min_available = min(self.min_available, len(ready))
            rs_sum = sum(r["spec"]["replicas"] for r in sim.api.list(_rs_type()))
            self.max_rs_sum = max(self.max_rs_sum, rs_sum)

        sim.store.watch("/registry/", on)


def _pod_type():
    from labsupport.kinds import type_for_kind
    return type_for_kind("Pod")


def _rs_type():
    from labsupport.kinds import type_for_kind
    return type_for_kind("ReplicaSet")


@pytest.mark.parametrize("replicas,surge,unavailable", [
    (10, "25%", "25%"), (4, 1, 0), (4, 0, 1), (6, "50%", "0%"), (3, 2, 2)])
def test_rolling_update_stays_within_max_surge_and_max_unavailable(replicas, surge, unavailable):
    sim = ls.connect("sim", nodes=4, node_cpu="16", seed=3)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    sim.apply(deployment(replicas=replicas, image="nginx:1.26", strategy=strategy))
    sim.wait_for_rollout("deployment/web")
    s, u = resolve_fenceposts(surge, unavailable, replicas)
    w = Watcher(sim, replicas, s, u)
    sim.apply(deployment(replicas=replicas, image="nginx:1.27", strategy=strategy,
                         container_extra={"readinessProbe": {"httpGet": {"port": 80}, "periodSeconds": 2}}))
    sim.wait_for_rollout("deployment/web", timeout=600)
    assert w.max_rs_sum <= replicas + s
    assert w.max_total <= replicas + s
    assert w.min_available >= replicas - u
    assert w.max_total > replicas or s == 0  # the surge was used
    assert all(p.ready for p in sim.pods()) and len(sim.pods()) == replicas


def test_fenceposts_round_as_kubernetes_does():
    assert resolve_fenceposts("25%", "25%", 4) == (1, 1)
    assert resolve_fenceposts("25%", "25%", 3) == (1, 0)
    assert resolve_fenceposts("10%", "10%", 5) == (1, 0)
    assert resolve_fenceposts(0, "0%", 5) == (0, 1)


def test_recreate_never_overlaps_old_and_new_pods(sim):
    strategy = {"type": "Recreate"}
    sim.apply(deployment(replicas=3, image="nginx:1.26", strategy=strategy))
    sim.wait_for_rollout("deployment/web")
    mixed = []

    def on(ev):
        images = {p["spec"]["containers"][0]["image"] for p in sim.api.list(_pod_type())}
        if len(images) > 1:
            mixed.append(images)

    sim.store.watch("/registry/pods/", on)
    sim.apply(deployment(replicas=3, image="nginx:1.27", strategy=strategy))
    sim.wait_for_rollout("deployment/web")
    assert not mixed
    assert {p["spec"]["containers"][0]["image"] for p in sim.list("pods")} == {"nginx:1.27"}


def test_revision_history_and_rollback(sim):
    for tag in ("1.25", "1.26", "1.27"):
        sim.apply(deployment(replicas=2, image=f"nginx:{tag}"))
        sim.wait_for_rollout("deployment/web")
    history = sim.rollout_history("deployment/web")
    assert [h["revision"] for h in history] == [1, 2, 3]
    assert history[-1]["images"] == ["nginx:1.27"]
    assert sim.get("deployment/web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    sim.rollout_undo("deployment/web")
    sim.wait_for_rollout("deployment/web")
    assert _image(sim) == "nginx:1.26"
    assert {p["spec"]["containers"][0]["image"] for p in sim.list("pods")} == {"nginx:1.26"}
    # the reused ReplicaSet takes the next revision number, as in kubectl rollout history
    assert [h["revision"] for h in sim.rollout_history("deployment/web")] == [1, 3, 4]
    sim.rollout_undo("deployment/web", to_revision=1)
    sim.wait_for_rollout("deployment/web")
    assert _image(sim) == "nginx:1.25"


def test_revision_history_limit_deletes_old_replicasets(sim):
    for i in range(6):
        d = deployment(replicas=1, image=f"nginx:1.2{i}")
        d["spec"]["revisionHistoryLimit"] = 2
        sim.apply(d)
        sim.wait_for_rollout("deployment/web")
    assert len(sim.list("rs")) == 3  # the current one and two old ones


def test_progress_deadline_exceeded_fails_the_rollout(sim):
    d = deployment(replicas=2, annotations={"sim.labsupport.io/never-ready": "true"},
                   container_extra={"readinessProbe": {"httpGet": {"port": 80}}})
    d["spec"]["progressDeadlineSeconds"] = 60
    sim.apply(d)
    with pytest.raises(RolloutFailed) as err:
        sim.wait_for_rollout("deployment/web", timeout=300)
    assert "progress deadline" in str(err.value)
    cond = [c for c in sim.get("deployment/web")["status"]["conditions"] if c["type"] == "Progressing"][0]
    assert cond["reason"] == "ProgressDeadlineExceeded" and cond["status"] == "False"


def test_wait_for_rollout_timeout_says_what_it_waited_for(sim):
    d = deployment(replicas=2, annotations={"sim.labsupport.io/never-ready": "true"},
                   container_extra={"readinessProbe": {"httpGet": {"port": 80}}})
    sim.apply(d)
    with pytest.raises(ls.WaitTimeout) as err:
        sim.wait_for_rollout("deployment/web", timeout=30)
    assert "0 of 2 updated replicas are available" in str(err.value)


def test_scaling_keeps_one_replicaset(sim):
    sim.apply(deployment(replicas=2))
    sim.wait_for_rollout("deployment/web")
    sim.scale("deployment/web", 5)
    sim.wait_for_rollout("deployment/web")
    assert len(sim.list("rs")) == 1 and len(sim.pods()) == 5
    with pytest.raises(ls.Invalid):
        sim.scale("deployment/web", -1)
    with pytest.raises(ls.Invalid):
        sim.scale("service/kubernetes", 2)


def test_replicaset_deletes_unready_and_newest_pods_first(sim):
    sim.apply(deployment(replicas=3))
    sim.wait_for_rollout("deployment/web")
    old = {p.name for p in sim.pods()}
    sim.scale("deployment/web", 5)
    sim.advance(0.5)  # the two new pods exist but are not ready
    sim.scale("deployment/web", 3)
    sim.advance(60)
    assert {p.name for p in sim.pods()} == old


def test_replicaset_slow_start_batches(sim):
    sim.apply(deployment(replicas=20, cpu="10m"))
    sim.advance(0.5)
    created = [e for e in sim.events() if e.reason == "SuccessfulCreate"]
    assert sum(e.count for e in created) == 20
