from __future__ import annotations

import math

import pytest
from simhelpers import deployment

import labsupport as ls
from labsupport.sim.controllers.daemonset import (
    DAEMON_TOLERATIONS,
    daemon_pod_tolerations,
    node_should_run,
)
from labsupport.sim.controllers.nodelifecycle import _toleration_seconds


def daemonset(name="agent", image="fluentd:v1.16", *, tolerations=None, node_selector=None,
              affinity=None, strategy=None, readiness=None, namespace="kube-system"):
    container = {"name": "agent", "image": image}
    if readiness:
        container["readinessProbe"] = readiness
    spec: dict = {"containers": [container]}
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": name, "namespace": namespace},
          "spec": {"selector": {"matchLabels": {"app": name}},
                   "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy:
        ds["spec"]["updateStrategy"] = strategy
    return ds


def nodes_of(sim, namespace="kube-system"):
    return sorted(p.node for p in sim.pods(namespace))


def status(sim, name="agent"):
    return sim.get(f"daemonset/{name}", namespace="kube-system")["status"]


def test_one_pod_on_every_node_placed_by_the_scheduler():
    sim = ls.connect(nodes=4, seed=0)
    sim.apply(daemonset())
    assert sim.wait_for_rollout("daemonset/agent", namespace="kube-system") == \
        'daemon set "agent" successfully rolled out'
    assert nodes_of(sim) == ["node-1", "node-2", "node-3", "node-4"]
    for pod in sim.list("pods", "kube-system"):
        terms = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                           "values": [pod["spec"]["nodeName"]]}]}]
        labels = pod["metadata"]["labels"]
        assert labels["pod-template-generation"] == "1" and labels["controller-revision-hash"]
    scheduled = [e for e in sim.events("kube-system") if e.reason == "Scheduled"]
    assert len(scheduled) == 4 and {e.component for e in scheduled} == {"default-scheduler"}
    assert status(sim) == {"currentNumberScheduled": 4, "numberMisscheduled": 0,
                           "desiredNumberScheduled": 4, "numberReady": 4,
                           "observedGeneration": 1, "updatedNumberScheduled": 4,
                           "numberAvailable": 4}


def test_daemon_pods_get_the_extra_tolerations_without_seconds(sim):
    sim.apply(daemonset())
    sim.advance(5)
    tolerations = sim.list("pods", "kube-system")[0]["spec"]["tolerations"]
    assert [(t["key"], t["effect"]) for t in tolerations] == list(DAEMON_TOLERATIONS)
    assert all(t["operator"] == "Exists" and "tolerationSeconds" not in t for t in tolerations)
    # hostNetwork pods also tolerate network-unavailable; a 300 s toleration is replaced.
    tols = daemon_pod_tolerations({"hostNetwork": True, "tolerations": [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]})
    assert tols[0] == {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                       "effect": "NoExecute"}
    assert ("node.kubernetes.io/network-unavailable", "NoSchedule") in [
        (t["key"], t["effect"]) for t in tols]


def test_a_tainted_node_runs_the_pod_only_with_a_toleration(sim):
    sim.add_node("gpu-1", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}])
    sim.apply(daemonset())
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    assert nodes_of(sim) == ["node-1", "node-2", "node-3"]
    assert status(sim)["desiredNumberScheduled"] == 3
    sim.apply(daemonset(tolerations=[{"key": "gpu", "operator": "Equal", "value": "true",
                                      "effect": "NoSchedule"}]))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    assert nodes_of(sim) == ["gpu-1", "node-1", "node-2", "node-3"]
    assert status(sim)["desiredNumberScheduled"] == 4


def test_node_should_run_follows_taint_effects():
    node = {"metadata": {"name": "n", "labels": {}},
            "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}}
    assert node_should_run(node, {}) == (False, False)  # NoExecute: even running pods go
    node["spec"]["taints"][0]["effect"] = "PreferNoSchedule"
    assert node_should_run(node, {}) == (True, True)  # only a preference
    assert node_should_run(node, {"nodeName": "other"}) == (False, False)


def test_node_selector_and_node_affinity_choose_the_nodes():
    sim = ls.connect(nodes=0, seed=0)
    sim.add_node("ssd-1", labels={"disktype": "ssd", "zone": "a"})
    sim.add_node("ssd-2", labels={"disktype": "ssd", "zone": "b"})
    sim.add_node("hdd-1", labels={"disktype": "hdd", "zone": "a"})
    sim.apply(daemonset(node_selector={"disktype": "ssd"}))
    sim.apply(daemonset(name="zonal", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}))
    sim.advance(10)
    by_ds = {}
    for pod in sim.pods("kube-system"):
        by_ds.setdefault(pod.labels["app"], []).append(pod.node)
    assert sorted(by_ds["agent"]) == ["ssd-1", "ssd-2"]
    assert sorted(by_ds["zonal"]) == ["hdd-1", "ssd-1"]
    # The zone's affinity survives in the pod next to the node name term.
    pod = next(p for p in sim.list("pods", "kube-system")
               if p["metadata"]["labels"]["app"] == "zonal")
    assert len(pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]) == 1


def test_a_new_node_gets_a_pod_and_a_relabelled_node_loses_it(sim):
    sim.apply(daemonset(node_selector={"kubernetes.io/os": "linux"}))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    added_at = sim.now
    sim.add_node("node-9")
    sim.wait_until(lambda c: "node-9" in nodes_of(c), timeout=30)
    pod = next(p for p in sim.pods("kube-system") if p.node == "node-9")
    created = sim.get(f"pod/{pod.name}", namespace="kube-system")["metadata"]["creationTimestamp"]
    assert created == sim.get("node/node-9")["metadata"]["creationTimestamp"]
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    assert sim.now - added_at < 5
    assert status(sim)["desiredNumberScheduled"] == 4
    node = sim.api.get(sim._resource_type("nodes"), None, "node-2")
    meta = dict(node["metadata"], labels={k: v for k, v in node["metadata"]["labels"].items()
                                          if k != "kubernetes.io/os"})
    sim.api.patch(node, "kubectl", metadata=meta)
    sim.advance(30)
    assert nodes_of(sim) == ["node-1", "node-3", "node-9"]
    assert status(sim)["desiredNumberScheduled"] == 3


def test_daemon_pods_are_not_evicted_from_a_failed_node(sim):
    sim.apply(daemonset())
    sim.apply(deployment(replicas=3))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    sim.wait_for_rollout("deployment/web")
    ds_pod = next(p for p in sim.pods("kube-system") if p.node == "node-1")
    dep_pods = [p.name for p in sim.pods("default") if p.node == "node-1"]
    assert dep_pods
    raw = sim.get(f"pod/{ds_pod.name}", namespace="kube-system")
    assert _toleration_seconds(raw, "node.kubernetes.io/unreachable") == math.inf
    sim.fail_node("node-1")
    sim.advance(600)  # well past 50 s + 300 s: the Deployment's pods were evicted
    # (they stay Terminating while the node is silent, and have replacements elsewhere)
    assert {p.status for p in sim.pods("default") if p.name in dep_pods} == {"Terminating"}
    assert sum(1 for p in sim.pods("default") if p.status == "Running") == 3
    still = [p for p in sim.pods("kube-system") if p.node == "node-1"]
    assert [(p.name, p.status) for p in still] == [(ds_pod.name, "Running")]
    assert not any(e.reason == "TaintManagerEviction" and e.namespace == "kube-system"
                   for e in sim.events())
    # The unreachable node no longer counts as desired (its NoSchedule taint is not
    # tolerated), and its pod shows as misscheduled, as on a real cluster.
    st = status(sim)
    assert (st["desiredNumberScheduled"], st["numberMisscheduled"]) == (2, 1)


@pytest.mark.parametrize("max_unavailable,at_most_down", [(1, 1), ("50%", 2)])
def test_rolling_update_respects_max_unavailable(max_unavailable, at_most_down):
    sim = ls.connect(nodes=4, seed=0)
    probe = {"tcpSocket": {"port": 24224}, "initialDelaySeconds": 5, "periodSeconds": 1}
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}}
    sim.apply(daemonset(image="fluentd:v1.15", readiness=probe, strategy=strategy))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system", timeout=120)
    worst = [0]

    def on(ev):
        ready_nodes = {p["spec"].get("nodeName") for p in sim.list("pods", "kube-system")
                       if not p["metadata"].get("deletionTimestamp")
                       and any(c["type"] == "Ready" and c["status"] == "True"
                               for c in p["status"].get("conditions") or ())}
        worst[0] = max(worst[0], 4 - len(ready_nodes))

    sim.store.watch("/registry/pods/", on)
    start = sim.now
    sim.apply(daemonset(image="fluentd:v1.16", readiness=probe, strategy=strategy))
    assert sim.wait_for_rollout("daemonset/agent", namespace="kube-system", timeout=300) == \
        'daemon set "agent" successfully rolled out'
    assert worst[0] == at_most_down
    images = {p["spec"]["containers"][0]["image"] for p in sim.list("pods", "kube-system")}
    assert images == {"fluentd:v1.16"}
    # Each batch takes a pull, the 5 s probe delay and the old pod's shutdown: 4 nodes
    # in batches of 1 take about twice as long as in batches of 2.
    took = sim.now - start
    assert took > 4 / at_most_down * 7
    assert len(sim.list("controllerrevisions", "kube-system")) == 2


def test_max_surge_starts_the_new_pod_before_the_old_one_stops():
    sim = ls.connect(nodes=2, seed=0)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    sim.apply(daemonset(image="fluentd:v1.15", strategy=strategy))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    most = [0]
    sim.store.watch("/registry/pods/", lambda ev: most.__setitem__(0, max(most[0], len([
        p for p in sim.list("pods", "kube-system") if p["spec"].get("nodeName") == "node-1"]))))
    sim.apply(daemonset(image="fluentd:v1.16", strategy=strategy))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system", timeout=120)
    assert most[0] == 2  # old and new side by side on the node for a while
    assert nodes_of(sim) == ["node-1", "node-2"]


def test_on_delete_keeps_old_pods(sim):
    strategy = {"type": "OnDelete"}
    sim.apply(daemonset(image="fluentd:v1.15", strategy=strategy))
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    sim.apply(daemonset(image="fluentd:v1.16", strategy=strategy))
    sim.advance(30)
    images = sorted(p["spec"]["containers"][0]["image"] for p in sim.list("pods", "kube-system"))
    assert images == ["fluentd:v1.15"] * 3
    assert "updatedNumberScheduled" not in status(sim)  # 0, omitted as the API does
    victim = sim.pods("kube-system")[0].name
    sim.delete(f"pod/{victim}", namespace="kube-system")
    sim.advance(30)
    images = sorted(p["spec"]["containers"][0]["image"] for p in sim.list("pods", "kube-system"))
    assert images == ["fluentd:v1.15", "fluentd:v1.15", "fluentd:v1.16"]
    assert status(sim)["updatedNumberScheduled"] == 1


def test_deleting_the_daemonset_removes_its_pods(sim):
    sim.apply(daemonset())
    sim.wait_for_rollout("daemonset/agent", namespace="kube-system")
    sim.delete("daemonset/agent", namespace="kube-system")
    sim.advance(60)
    assert sim.list("pods", "kube-system") == []
