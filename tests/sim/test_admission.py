"""Admission in the simulated API server: LimitRanger and ResourceQuota, with upstream's texts.

Texts: plugin/pkg/admission/limitranger/admission.go (minConstraint,
maxConstraint, limitRequestRatioConstraint, maxRequestConstraint),
staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go
and pkg/quota/v1/evaluator/core/pods.go (Constraints).
"""

from __future__ import annotations

import pytest
from simhelpers import deployment

import labsupport as ls
from labsupport.sim.admission import DEFAULT_PLUGINS


def limit_range(*items: dict, name: str = "limits") -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name},
            "spec": {"limits": list(items)}}


def quota(hard: dict, name: str = "compute", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
            "spec": {"hard": hard, **spec}}


def web(name: str = "web", requests: dict | None = None, limits: dict | None = None,
        **spec) -> dict:
    resources = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                     "resources": resources}], **spec}}


def test_plugin_order_is_kube_apiservers():
    assert DEFAULT_PLUGINS.index("LimitRanger") < DEFAULT_PLUGINS.index("Priority") \
        < DEFAULT_PLUGINS.index("DefaultTolerationSeconds")
    assert DEFAULT_PLUGINS[-1] == "ResourceQuota"


# --- LimitRanger -------------------------------------------------------------------------
def test_limit_range_fills_in_defaults_and_annotates_the_pod(sim):
    sim.apply(limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                           "defaultRequest": {"cpu": "250m", "memory": "128Mi"}}))
    sim.apply(web())
    pod = sim.get("pod/web")
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "250m", "memory": "128Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container web; "
        "cpu, memory limit for container web")
    assert pod["status"]["qosClass"] == "Burstable"


def test_limit_range_item_defaults_come_from_max_and_min(sim):
    # SetDefaults_LimitRangeItem: default = max, defaultRequest = default.
    sim.apply(limit_range({"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}}))
    item = sim.get("limitrange/limits")["spec"]["limits"][0]
    assert item["default"] == {"cpu": "1"}
    assert item["defaultRequest"] == {"cpu": "1", "memory": "64Mi"}


def test_a_limit_set_by_the_container_keeps_its_own_request(sim):
    # Decoding defaults requests to limits before admission, so defaultRequest is not used.
    sim.apply(limit_range({"type": "Container", "default": {"cpu": "500m"},
                           "defaultRequest": {"cpu": "100m"}}))
    sim.apply(web(limits={"cpu": "2"}))
    res = sim.get("pod/web")["spec"]["containers"][0]["resources"]
    assert res == {"limits": {"cpu": "2"}, "requests": {"cpu": "2"}}


def test_maximum_per_container(sim):
    sim.apply(limit_range({"type": "Container", "max": {"cpu": "1"}}))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(web(limits={"cpu": "2"}))
    assert str(err.value) == (
        'pods "web" is forbidden: maximum cpu usage per Container is 1, but limit is 2')
    with pytest.raises(ls.ObjectNotFound):
        sim.get("pod/web")


def test_minimum_per_container(sim):
    sim.apply(limit_range({"type": "Container", "min": {"memory": "64Mi"}}))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(web(requests={"memory": "32Mi"}))
    assert str(err.value) == (
        'pods "web" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi')


def test_several_violations_are_listed_in_brackets(sim):
    sim.apply(limit_range({"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}}))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(web(limits={"cpu": "2", "memory": "2Gi"}))
    assert str(err.value) == (
        'pods "web" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, '
        "maximum memory usage per Container is 1Gi, but limit is 2Gi]")


def test_max_limit_request_ratio(sim):
    sim.apply(limit_range({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(web(requests={"cpu": "100m"}, limits={"cpu": "1"}))
    assert str(err.value) == ('pods "web" is forbidden: cpu max limit to request ratio per '
                              "Container is 2, but provided ratio is 10.000000")


def test_pod_limits_add_up_the_containers(sim):
    sim.apply(limit_range({"type": "Pod", "max": {"cpu": "1"}}))
    two = web(requests={"cpu": "600m"}, limits={"cpu": "600m"})
    two["spec"]["containers"].append(dict(two["spec"]["containers"][0], name="sidecar"))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(two)
    assert "maximum cpu usage per Pod is 1, but limit is 1200m" in str(err.value)


def test_claim_storage_bounds(sim):
    sim.apply(limit_range({"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"},
                           "min": {"storage": "1Gi"}}))
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "5Gi"}}}}
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(claim)
    assert str(err.value) == ('persistentvolumeclaims "data" is forbidden: maximum storage usage '
                              "per PersistentVolumeClaim is 2Gi, but request is 5Gi")


def test_limit_range_steps_are_in_the_trace(sim):
    sim.apply(limit_range({"type": "Container", "default": {"cpu": "500m"}}))
    sim.apply(web())
    steps = [s for s in sim.trace("pod/web") if s.action == "admission"]
    assert [s.component for s in steps] == ["kube-apiserver"]
    assert steps[0].detail.startswith("LimitRanger: LimitRanger plugin set: cpu request")


# --- ResourceQuota -----------------------------------------------------------------------
def test_quota_status_is_kept_current(sim):
    sim.apply(quota({"pods": "10", "requests.cpu": "2", "requests.memory": "2Gi",
                     "limits.cpu": "4", "limits.memory": "4Gi"}))
    sim.apply(web("a", requests={"cpu": "500m", "memory": "256Mi"},
                  limits={"cpu": "1", "memory": "512Mi"}))
    status = sim.get("resourcequota/compute")["status"]
    assert status["hard"] == {"pods": "10", "requests.cpu": "2", "requests.memory": "2Gi",
                              "limits.cpu": "4", "limits.memory": "4Gi"}
    assert status["used"] == {"pods": "1", "requests.cpu": "500m", "requests.memory": "256Mi",
                              "limits.cpu": "1", "limits.memory": "512Mi"}
    sim.delete("pod/a")
    sim.advance(60)
    assert sim.get("resourcequota/compute")["status"]["used"]["requests.cpu"] == "0"


def test_quota_refusal_names_requested_used_and_limited(sim):
    sim.apply(quota({"requests.cpu": "2"}))
    for name in ("a", "b", "c"):
        sim.apply(web(name, requests={"cpu": "600m"}))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(web("d", requests={"cpu": "500m"}))
    assert err.value.reason == "ExceededQuota"
    assert str(err.value) == ('pods "d" is forbidden: exceeded quota: compute, requested: '
                              "requests.cpu=500m, used: requests.cpu=1800m, "
                              "limited: requests.cpu=2")
    steps = [s.detail for s in sim.trace("pod/a") if s.action == "admission"]
    assert steps == ["ResourceQuota: charged compute: requests.cpu=600m"]


def test_quota_must_specify_lists_each_resource_and_container(sim):
    sim.apply(quota({"limits.cpu": "2", "limits.memory": "2Gi"}))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(web())
    assert err.value.reason == "FailedQuota"
    assert str(err.value) == ('pods "web" is forbidden: failed quota: compute: '
                              "must specify limits.cpu for: web; limits.memory for: web")


def test_object_counts(sim):
    sim.apply(quota({"count/deployments.apps": "1", "services": "1",
                     "persistentvolumeclaims": "1", "requests.storage": "1Gi"}, name="objects"))
    sim.apply(deployment("one", replicas=1))
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(deployment("two", replicas=1))
    assert str(err.value) == ('deployments.apps "two" is forbidden: exceeded quota: objects, '
                              "requested: count/deployments.apps=1, used: "
                              "count/deployments.apps=1, limited: count/deployments.apps=1")
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "big"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "2Gi"}}}}
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(claim)
    assert "requested: requests.storage=2Gi, used: requests.storage=0, " \
           "limited: requests.storage=1Gi" in str(err.value)
    used = sim.get("resourcequota/objects")["status"]["used"]
    assert used == {"count/deployments.apps": "1", "services": "1",  # the kubernetes Service
                    "persistentvolumeclaims": "0", "requests.storage": "0"}


def test_best_effort_scope_counts_only_best_effort_pods(sim):
    sim.apply(quota({"pods": "1"}, name="besteffort", scopes=["BestEffort"]))
    sim.apply(web("guaranteed", requests={"cpu": "100m", "memory": "64Mi"},
                  limits={"cpu": "100m", "memory": "64Mi"}))
    sim.apply(web("first"))
    with pytest.raises(ls.Forbidden, match="exceeded quota: besteffort"):
        sim.apply(web("second"))
    assert sim.get("resourcequota/besteffort")["status"]["used"] == {"pods": "1"}


def test_terminating_and_priority_class_scopes(sim):
    sim.apply(quota({"pods": "0"}, name="short", scopes=["Terminating"]))
    sim.apply(web("long-running"))
    with pytest.raises(ls.Forbidden, match="exceeded quota: short"):
        sim.apply(web("batch", activeDeadlineSeconds=60))
    sim.apply(quota({"pods": "0"}, name="no-high", scopeSelector={"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}))
    sim.apply({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
               "metadata": {"name": "high"}, "value": 1000})
    with pytest.raises(ls.Forbidden, match="exceeded quota: no-high"):
        sim.apply(web("vip", priorityClassName="high"))


def test_replicaset_reports_the_quota_refusal(sim):
    sim.apply(quota({"pods": "2"}))
    sim.apply(deployment("web", replicas=3))
    sim.advance(30)
    assert len(sim.list("pods")) == 2
    failed = [e for e in sim.events() if e.reason == "FailedCreate"]
    assert failed and "exceeded quota: compute, requested: pods=1, used: pods=2, " \
                      "limited: pods=2" in failed[0].message
    refusals = [s for s in sim.trace("deployment/web")
                if s.action == "admission" and "exceeded quota" in s.detail]
    assert refusals and refusals[0].detail.startswith("ResourceQuota: pods \"web-")
