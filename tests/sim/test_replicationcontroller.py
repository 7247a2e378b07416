"""ReplicationController: the ReplicaSet logic for the core/v1 kind (pkg/controller/replication)."""

from __future__ import annotations

import pytest

import labsupport as ls


def rc(name="web", replicas=3, selector=None, labels=None):
    spec = {"replicas": replicas, "template": {"metadata": {"labels": {"app": name, "tier": "fe"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
    if selector is not None:
        spec["selector"] = selector
    meta = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta, "spec": spec}


@pytest.fixture
def sim():
    return ls.connect(seed=0)


def test_selector_and_labels_default_from_the_template(sim):
    sim.apply(rc())
    obj = sim.get("rc/web")
    # SetDefaults_ReplicationController: a plain map, not a LabelSelector.
    assert obj["spec"]["selector"] == {"app": "web", "tier": "fe"}
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    sim.apply(rc(name="own", selector={"app": "own"}, labels={"team": "a"}))
    own = sim.get("rc/own")
    assert own["spec"]["selector"] == {"app": "own"}
    assert own["metadata"]["labels"] == {"team": "a"}


def test_replicas_default_to_one(sim):
    manifest = rc()
    del manifest["spec"]["replicas"]
    sim.apply(manifest)
    assert sim.get("rc/web")["spec"]["replicas"] == 1
    sim.advance(10)
    assert len(sim.pods()) == 1


def test_creates_owned_pods_and_reports_status(sim):
    sim.apply(rc())
    sim.advance(20)
    pods = sim.list("pods")
    assert len(pods) == 3
    uid = sim.get("rc/web")["metadata"]["uid"]
    for p in pods:
        assert p["metadata"]["name"].startswith("web-")
        assert p["metadata"]["ownerReferences"] == [
            {"apiVersion": "v1", "kind": "ReplicationController", "name": "web", "uid": uid,
             "controller": True, "blockOwnerDeletion": True}]
    assert {p.owner for p in sim.pods()} == {"replicationcontroller/web"}
    # ReplicationControllerStatus has no terminatingReplicas.
    assert sim.get("rc/web")["status"] == {
        "replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "observedGeneration": 1}


def test_events_come_from_the_replication_controller(sim):
    sim.apply(rc())
    sim.advance(20)
    sim.scale("rc/web", 1)
    sim.advance(40)
    events = [e for e in sim.events() if e.object == "replicationcontroller/web"]
    created = [e for e in events if e.reason == "SuccessfulCreate"]
    deleted = [e for e in events if e.reason == "SuccessfulDelete"]
    assert len(created) == 3 and len(deleted) == 2
    assert {e.component for e in events} == {"replication-controller"}
    assert all(e.message.startswith("Created pod: web-") for e in created)
    assert all(e.message.startswith("Deleted pod: web-") for e in deleted)
    assert sim.get("rc/web")["status"]["replicas"] == 1
    assert sim.get("rc/web")["status"]["observedGeneration"] == 2


def test_replaces_a_killed_pod(sim):
    sim.apply(rc(replicas=2))
    sim.advance(20)
    victim = sim.pods()[0].name
    sim.kill_pod(victim)
    sim.advance(20)
    names = [p.name for p in sim.pods()]
    assert len(names) == 2 and victim not in names


def test_a_replicaset_and_a_replication_controller_keep_apart(sim):
    sim.apply(rc(replicas=2))
    sim.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "rs"}},
                        "template": {"metadata": {"labels": {"app": "rs"}}, "spec": {
                            "containers": [{"name": "a", "image": "nginx:1.27"}]}}}})
    sim.advance(20)
    owners = sorted(p.owner for p in sim.pods())
    assert owners == ["replicaset/rs", "replicationcontroller/web", "replicationcontroller/web"]
    assert sim.get("rs/rs")["status"]["replicas"] == 1
