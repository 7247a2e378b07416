from __future__ import annotations

from pathlib import Path

import pytest

import labsupport as ls
from labsupport.sim.controllers.statefulset import claim_name, ordinal_of

DATA = Path(__file__).resolve().parent.parent / "data"


def statefulset(name="web", replicas=3, image="nginx:1.27", *, policy=None, claims=("www",),
                strategy=None, retention=None, readiness=None, namespace=None):
    container = {"name": "app", "image": image,
                 "volumeMounts": [{"name": c, "mountPath": f"/data/{c}"} for c in claims]}
    if readiness:
        container["readinessProbe"] = readiness
    spec = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container]}},
            "volumeClaimTemplates": [{"metadata": {"name": c}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
                for c in claims]}
    if policy:
        spec["podManagementPolicy"] = policy
    if strategy:
        spec["updateStrategy"] = strategy
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = retention
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec}


class PodTimeline:
    """Records when each pod name is created, becomes Ready, starts terminating, is removed."""

    def __init__(self, sim):
        self.created: dict[str, list[float]] = {}
        self.ready: dict[str, list[float]] = {}
        self.terminating: dict[str, list[float]] = {}
        self.removed: dict[str, list[float]] = {}

        def on(ev):
            pod = ev.object
            name = pod["metadata"]["name"]
            now = sim.now
            if ev.type == "ADDED":
                self.created.setdefault(name, []).append(now)
            elif ev.type == "DELETED":
                self.removed.setdefault(name, []).append(now)
            else:
                was_ready = _ready(ev.old) if ev.old else False
                if _ready(pod) and not was_ready:
                    self.ready.setdefault(name, []).append(now)
                if pod["metadata"].get("deletionTimestamp") and not (
                        ev.old and ev.old["metadata"].get("deletionTimestamp")):
                    self.terminating.setdefault(name, []).append(now)

        sim.store.watch("/registry/pods/", on)


def _ready(pod) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _image(sim, pod):
    return sim.get(f"pod/{pod}")["spec"]["containers"][0]["image"]


def test_names_identity_and_claims(sim):
    sim.apply(statefulset())
    assert sim.wait_for_rollout("statefulset/web").startswith(
        "statefulset rolling update complete 3 pods at revision web-")
    pods = sim.list("pods")
    assert [p["metadata"]["name"] for p in pods] == ["web-0", "web-1", "web-2"]
    for i, pod in enumerate(pods):
        labels = pod["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == f"web-{i}"
        assert labels["apps.kubernetes.io/pod-index"] == str(i)
        assert labels["controller-revision-hash"] == sim.get("sts/web")["status"]["updateRevision"]
        assert pod["spec"]["hostname"] == f"web-{i}" and pod["spec"]["subdomain"] == "web"
        assert pod["spec"]["volumes"] == [{"name": "www",
                                           "persistentVolumeClaim": {"claimName": f"www-web-{i}"}}]
    pvcs = sim.list("pvc")
    assert [p["metadata"]["name"] for p in pvcs] == ["www-web-0", "www-web-1", "www-web-2"]
    assert all(p["status"]["phase"] == "Bound" and p["metadata"]["labels"] == {"app": "web"}
               for p in pvcs)
    assert not any(p["metadata"].get("ownerReferences") for p in pvcs)  # Retain by default
    status = sim.get("statefulset/web")["status"]
    assert status == {"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
                      "currentReplicas": 3, "updatedReplicas": 3,
                      "currentRevision": status["updateRevision"],
                      "updateRevision": status["updateRevision"], "collisionCount": 0,
                      "availableReplicas": 3}
    assert [r["metadata"]["name"] for r in sim.list("controllerrevisions")] == [
        status["updateRevision"]]


def test_helpers():
    assert ordinal_of("web-0") == ("web", 0)
    assert ordinal_of("web-x") == ("", -1)
    assert ordinal_of("web-99999999999") == ("web", -1)
    assert claim_name("data", "db", 2) == "data-db-2"


def test_ordered_ready_creates_each_pod_after_the_previous_one_is_ready(sim):
    t = PodTimeline(sim)
    # A readiness probe makes each pod wait: first success 5 s after start, then every 2 s.
    sim.apply(statefulset(replicas=4, readiness={"tcpSocket": {"port": 80},
                                                 "initialDelaySeconds": 5, "periodSeconds": 2}))
    sim.wait_for_rollout("statefulset/web", timeout=120)
    names = [f"web-{i}" for i in range(4)]
    assert sorted(t.created, key=lambda n: t.created[n][0]) == names
    for prev, pod in zip(names, names[1:], strict=False):
        # Created 0.01 s (the controller's latency) after its predecessor became Ready.
        assert t.created[pod][0] == pytest.approx(t.ready[prev][0] + 0.01)
        assert t.created[pod][0] - t.created[prev][0] >= 5
    # 1 s in VolumeBinding's PreBind (it polls each second until the new claim is
    # provisioned and bound), 2 s image pull on a node without the image, Ready at the
    # probe's first tick 5 s after start; web-3 lands on a node that has the image already.
    assert [t.created[n][0] for n in names] == pytest.approx([0.01, 8.02, 16.03, 24.04])
    assert t.ready["web-3"][0] == pytest.approx(30.04)


def test_parallel_creates_all_pods_at_once(sim):
    t = PodTimeline(sim)
    sim.apply(statefulset(replicas=4, policy="Parallel",
                          readiness={"tcpSocket": {"port": 80}, "initialDelaySeconds": 5,
                                     "periodSeconds": 2}))
    sim.wait_for_rollout("statefulset/web", timeout=120)
    assert {n: v[0] for n, v in t.created.items()} == pytest.approx(
        {f"web-{i}": 0.01 for i in range(4)})
    # All four are Ready together, when the first one alone is Ready under OrderedReady
    # (1 s PreBind wait for the claims, 2 s image pull, 5 s to the first probe).
    assert {n: v[0] for n, v in t.ready.items()} == pytest.approx(
        {f"web-{i}": 8.01 for i in range(4)})


def test_ordered_scale_down_removes_the_highest_ordinal_first_one_at_a_time(sim):
    sim.apply(statefulset(replicas=4))
    sim.wait_for_rollout("statefulset/web")
    t = PodTimeline(sim)
    sim.scale("statefulset/web", 1)
    sim.advance(60)
    assert [p.name for p in sim.pods()] == ["web-0"]
    order = sorted(t.terminating, key=lambda n: t.terminating[n][0])
    assert order == ["web-3", "web-2", "web-1"]
    for gone, nxt in zip(order, order[1:], strict=False):
        assert t.terminating[nxt][0] >= t.removed[gone][0]  # the next waits for the last one
    # Claims are kept: scaling back gives the same pods their volumes again.
    assert len(sim.list("pvc")) == 4


def test_parallel_scale_down_deletes_together(sim):
    sim.apply(statefulset(replicas=4, policy="Parallel"))
    sim.wait_for_rollout("statefulset/web")
    t = PodTimeline(sim)
    sim.scale("statefulset/web", 1)
    sim.advance(30)
    assert sorted(t.terminating) == ["web-1", "web-2", "web-3"]
    assert len({round(v[0], 6) for v in t.terminating.values()}) == 1


def test_data_of_a_pod_survives_its_deletion(sim):
    sim.apply(statefulset())
    sim.wait_for_rollout("statefulset/web")
    old_uid = sim.get("pod/web-0")["metadata"]["uid"]
    sim.files("web-0", "www")["index.html"] = "written by web-0"
    sim.files("web-1", "www")["index.html"] = "written by web-1"
    sim.delete("pod/web-0")
    sim.advance(1)
    sim.wait_for_rollout("statefulset/web")
    new = sim.get("pod/web-0")
    assert new["metadata"]["uid"] != old_uid
    assert sim.files("web-0", "www") == {"index.html": "written by web-0"}
    assert sim.files("web-1", "www") == {"index.html": "written by web-1"}


def test_claims_outlive_scale_down_and_come_back_with_the_pod(sim):
    sim.apply(statefulset())
    sim.wait_for_rollout("statefulset/web")
    sim.files("web-2", "www")["state"] = "ordinal 2"
    sim.scale("statefulset/web", 1)
    sim.advance(60)
    assert [p.name for p in sim.pods()] == ["web-0"]
    assert [p["metadata"]["name"] for p in sim.list("pvc")] == ["www-web-0", "www-web-1",
                                                                 "www-web-2"]
    sim.scale("statefulset/web", 3)
    sim.wait_for_rollout("statefulset/web")
    assert sim.files("web-2", "www") == {"state": "ordinal 2"}


def test_retention_policy_delete_when_scaled(sim):
    sim.apply(statefulset(retention={"whenScaled": "Delete", "whenDeleted": "Retain"}))
    sim.wait_for_rollout("statefulset/web")
    sim.scale("statefulset/web", 1)
    sim.advance(60)
    assert [p["metadata"]["name"] for p in sim.list("pvc")] == ["www-web-0"]


def test_retention_policy_delete_when_deleted(sim):
    sim.apply(statefulset(retention={"whenScaled": "Retain", "whenDeleted": "Delete"}))
    sim.wait_for_rollout("statefulset/web")
    pvc = sim.get("pvc/www-web-1")
    assert pvc["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    sim.delete("statefulset/web")
    sim.advance(60)
    assert sim.list("pvc") == [] and sim.list("pods") == []


def test_rolling_update_goes_from_the_highest_ordinal_one_pod_at_a_time(sim):
    probe = {"tcpSocket": {"port": 80}, "initialDelaySeconds": 3, "periodSeconds": 1}
    sim.apply(statefulset(image="nginx:1.26", readiness=probe))
    sim.wait_for_rollout("statefulset/web", timeout=120)
    old_rev = sim.get("sts/web")["status"]["currentRevision"]
    t = PodTimeline(sim)
    ready_counts = []
    sim.store.watch("/registry/pods/", lambda ev: ready_counts.append(
        sum(1 for p in sim.list("pods") if _ready(p))))
    sim.apply(statefulset(image="nginx:1.27", readiness=probe))
    msg = sim.wait_for_rollout("statefulset/web", timeout=300)
    status = sim.get("sts/web")["status"]
    assert status["currentRevision"] == status["updateRevision"] != old_rev
    revision = status["updateRevision"]
    assert msg == f"statefulset rolling update complete 3 pods at revision {revision}..."
    order = sorted(t.terminating, key=lambda n: t.terminating[n][0])
    assert order == ["web-2", "web-1", "web-0"]
    # Each replacement is Ready before the next old pod is deleted: never two down.
    for done, nxt in zip(order, order[1:], strict=False):
        assert t.terminating[nxt][0] >= t.ready[done][-1]
    assert min(ready_counts) == 2
    assert [_image(sim, f"web-{i}") for i in range(3)] == ["nginx:1.27"] * 3
    assert len(sim.list("controllerrevisions")) == 2


def test_partition_updates_only_the_ordinals_at_or_above_it(sim):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    sim.apply(statefulset(image="nginx:1.26", strategy=strategy))
    sim.wait_for_rollout("statefulset/web")
    sim.apply(statefulset(image="nginx:1.27", strategy=strategy))
    sim.advance(60)
    assert [_image(sim, f"web-{i}") for i in range(3)] == ["nginx:1.26", "nginx:1.26", "nginx:1.27"]
    status = sim.get("sts/web")["status"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (2, 1)
    # A deleted pod below the partition comes back at the current revision.
    sim.delete("pod/web-0")
    sim.advance(30)
    assert _image(sim, "web-0") == "nginx:1.26"


def test_on_delete_waits_for_you_to_delete_pods(sim):
    strategy = {"type": "OnDelete"}
    sim.apply(statefulset(image="nginx:1.26", strategy=strategy))
    sim.wait_for_rollout("statefulset/web")
    sim.apply(statefulset(image="nginx:1.27", strategy=strategy))
    sim.advance(60)
    assert [_image(sim, f"web-{i}") for i in range(3)] == ["nginx:1.26"] * 3
    sim.delete("pod/web-1")
    sim.advance(30)
    assert [_image(sim, f"web-{i}") for i in range(3)] == ["nginx:1.26", "nginx:1.27", "nginx:1.26"]
    status = sim.get("sts/web")["status"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (2, 1)


def test_rollback_reuses_the_old_revision(sim):
    sim.apply(statefulset(image="nginx:1.26"))
    sim.wait_for_rollout("statefulset/web")
    first = sim.get("sts/web")["status"]["updateRevision"]
    sim.apply(statefulset(image="nginx:1.27"))
    sim.wait_for_rollout("statefulset/web")
    sim.apply(statefulset(image="nginx:1.26"))
    sim.wait_for_rollout("statefulset/web")
    revs = {r["metadata"]["name"]: r["revision"] for r in sim.list("controllerrevisions")}
    assert sim.get("sts/web")["status"]["updateRevision"] == first
    assert revs[first] == 3 and len(revs) == 2


def test_deleting_the_statefulset_keeps_claims_and_data(sim):
    sim.apply(statefulset(replicas=2))
    sim.wait_for_rollout("statefulset/web")
    sim.files("web-1", "www")["k"] = "v"
    sim.delete("statefulset/web")
    sim.advance(60)
    assert sim.list("pods") == []
    assert len(sim.list("pvc")) == 2
    sim.apply(statefulset(replicas=2))
    sim.wait_for_rollout("statefulset/web")
    assert sim.files("web-1", "www") == {"k": "v"}


def test_same_seed_same_run():
    def run():
        c = ls.connect(seed=7)
        c.apply(statefulset())
        c.wait_for_rollout("statefulset/web")
        return [(e.time, e.reason, e.object, e.message) for e in c.events()]

    assert run() == run()


def test_published_style_databases_and_log_agent_apply_and_become_ready():
    c = ls.connect("sim", nodes=3, seed=0)
    c.add_node("control-plane", labels={"node-role.kubernetes.io/control-plane": ""},
               taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    refs = c.apply(DATA / "stateful-and-daemons.yaml")
    assert refs == ["service/redis", "statefulset/redis", "secret/postgres", "service/postgres",
                    "statefulset/postgres", "serviceaccount/fluentd", "daemonset/fluentd"]
    assert c.wait_for_rollout("statefulset/redis", timeout=300).startswith(
        "statefulset rolling update complete 3 pods")
    assert c.wait_for_rollout("statefulset/postgres", timeout=300).startswith(
        "statefulset rolling update complete 2 pods")
    assert c.wait_for_rollout("daemonset/fluentd", namespace="kube-system") == \
        'daemon set "fluentd" successfully rolled out'
    assert [p.name for p in c.pods("default")] == ["postgres-0", "postgres-1", "redis-0",
                                                   "redis-1", "redis-2"]
    # The log agent runs on every node, the control-plane node included (it tolerates it).
    assert sorted(p.node for p in c.pods("kube-system")) == ["control-plane", "node-1",
                                                            "node-2", "node-3"]
    assert sorted(p["metadata"]["name"] for p in c.list("pvc")) == [
        "data-redis-0", "data-redis-1", "data-redis-2", "pgdata-postgres-0", "pgdata-postgres-1"]
    ep = c.get("endpoints/redis")
    assert sorted(a["targetRef"]["name"] for a in ep["subsets"][0]["addresses"]) == [
        "redis-0", "redis-1", "redis-2"]
