"""Feature gates: the 1.37 defaults, overrides, and what each gate switches."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.featuregates import DEFAULTS, resolve


def test_the_defaults_are_those_of_the_course_release():
    gates = resolve()
    assert gates == {name: g.enabled for name, g in DEFAULTS.items()}
    for g in DEFAULTS.values():
        assert g.stage in ("alpha", "beta", "GA") and g.source
        assert g.enabled == (g.stage != "alpha")  # as these gates ship in 1.37
        assert not g.locked or g.stage == "GA"


def test_bad_overrides_say_what_is_allowed():
    with pytest.raises(Invalid, match="unknown feature gate 'HPAGenration'.*did you mean "
                                      "HPAGeneration"):
        resolve({"HPAGenration": True})
    with pytest.raises(Invalid, match="must be True or False, got 'yes'"):
        resolve({"HPAGeneration": "yes"})
    with pytest.raises(Invalid, match="locked to true in Kubernetes 1.37"):
        resolve({"PodObservedGenerationTracking": False})
    with pytest.raises(Invalid, match="must be a dict"):
        resolve(["HPAGeneration"])
    with pytest.raises(Invalid, match="unknown feature gate"):
        ls.connect("sim", feature_gates={"Nope": True})


def _sts(c, max_unavailable):
    c.apply({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
             "spec": {"replicas": 4, "serviceName": "db",
                      "selector": {"matchLabels": {"app": "db"}},
                      "updateStrategy": {"rollingUpdate": {"maxUnavailable": max_unavailable}},
                      "template": {"metadata": {"labels": {"app": "db"}},
                                   "spec": {"containers": [{"name": "db",
                                                            "image": "nginx:1.27"}]}}}})


def _most_down_during_an_update(c):
    c.advance(120)
    sts = c.get("statefulset/db")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    c.apply(sts)
    worst = 0
    for _ in range(240):
        c.advance(0.5)
        ready = sum(1 for p in c.pods() if p.ready)
        worst = max(worst, 4 - ready)
    return worst


@pytest.mark.parametrize("gate, expected", [(True, 2), (False, 1)])
def test_max_unavailable_statefulset_gate(gate, expected):
    c = ls.connect("sim", feature_gates={"MaxUnavailableStatefulSet": gate})
    _sts(c, 2)
    assert _most_down_during_an_update(c) == expected


@pytest.mark.parametrize("gate", [True, False])
def test_terminating_replicas_gate(gate):
    c = ls.connect("sim", feature_gates={"DeploymentReplicaSetTerminatingReplicas": gate})
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web",
                                                            "image": "nginx:1.27"}]}}}})
    c.wait_for_rollout("deployment/web")
    assert ("terminatingReplicas" in c.get("deployment/web")["status"]) is gate


@pytest.mark.parametrize("gate", [True, False])
def test_hpa_generation_gate(gate):
    c = ls.connect("sim", feature_gates={"HPAGeneration": gate})
    c.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
             "metadata": {"name": "web"},
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": "web"}, "maxReplicas": 5}})
    c.advance(1)
    hpa = c.get("hpa/web")
    assert ("generation" in hpa["metadata"]) is gate
    assert ("observedGeneration" in hpa["status"]) is gate


@pytest.mark.parametrize("gate", [True, False])
def test_pods_get_their_nodes_zone_and_region_when_bound(gate):
    c = ls.connect("sim", nodes=0, feature_gates={"PodTopologyLabelsAdmission": gate})
    c.add_node("eu-1", labels={"topology.kubernetes.io/zone": "eu-west-1a",
                               "topology.kubernetes.io/region": "eu-west-1",
                               "disk": "ssd"})
    c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
             "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    c.advance(5)
    pod = c.get("pod/p")
    assert pod["spec"]["nodeName"] == "eu-1"
    expected = {"a": "b"}
    if gate:
        expected |= {"topology.kubernetes.io/zone": "eu-west-1a",
                     "topology.kubernetes.io/region": "eu-west-1"}
    assert pod["metadata"]["labels"] == expected        # never the other node labels
    scheduled = [x for x in pod["status"]["conditions"] if x["type"] == "PodScheduled"]
    assert scheduled[0]["observedGeneration"] == pod["metadata"]["generation"] == 1
