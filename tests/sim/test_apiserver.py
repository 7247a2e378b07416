from __future__ import annotations

import pytest

import labsupport as ls
from simhelpers import deployment, pod


def test_api_server_fills_metadata_and_defaults(sim):
    sim.apply(pod("p", containers=[{"name": "app", "image": "nginx",
                                    "readinessProbe": {"httpGet": {"port": 80}}}]))
    p = sim.get("pod/p")
    assert len(p["metadata"]["uid"]) == 36
    assert p["metadata"]["creationTimestamp"] == "2025-01-01T00:00:00Z"
    c = p["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Always"  # no tag means :latest
    assert c["readinessProbe"]["periodSeconds"] == 10
    assert c["readinessProbe"]["timeoutSeconds"] == 1
    assert c["readinessProbe"]["failureThreshold"] == 3
    assert c["readinessProbe"]["successThreshold"] == 1
    assert p["spec"]["terminationGracePeriodSeconds"] == 30
    assert p["spec"]["restartPolicy"] == "Always"
    tolerations = {(t["key"], t["effect"], t["tolerationSeconds"]) for t in p["spec"]["tolerations"]}
    assert tolerations == {("node.kubernetes.io/not-ready", "NoExecute", 300),
                           ("node.kubernetes.io/unreachable", "NoExecute", 300)}
    assert p["status"]["qosClass"] == "BestEffort"


def test_generation_counts_spec_changes_only(sim):
    sim.apply(deployment(replicas=1))
    assert sim.get("deploy/web")["metadata"]["generation"] == 1
    d = deployment(replicas=1)
    d["metadata"]["labels"] = {"team": "a"}
    sim.apply(d)
    assert sim.get("deploy/web")["metadata"]["generation"] == 1
    sim.apply(deployment(replicas=2))
    got = sim.get("deploy/web")
    assert got["metadata"]["generation"] == 2
    assert got["metadata"]["labels"] == {"team": "a"}  # apply keeps what it does not mention


def test_status_is_not_written_by_apply(sim):
    sim.apply(deployment(replicas=2))
    sim.wait_for_rollout("deployment/web")
    d = deployment(replicas=2)
    d["status"] = {"availableReplicas": 99}
    sim.apply(d)
    assert sim.get("deploy/web")["status"]["availableReplicas"] == 2


def test_resource_version_is_the_store_revision(sim):
    sim.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    rv1 = int(sim.get("cm/c")["metadata"]["resourceVersion"])
    sim.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}})
    rv2 = int(sim.get("cm/c")["metadata"]["resourceVersion"])
    assert rv2 > rv1 and rv2 <= sim.store.revision


def test_namespace_must_exist(sim):
    with pytest.raises(ls.ObjectNotFound) as err:
        sim.apply(deployment(), namespace="shop")
    assert 'namespace "shop" not found' in str(err.value)
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    assert sim.apply(deployment(), namespace="shop") == ["deployment/web"]
    # a namespace gets its default ServiceAccount
    assert sim.get("sa/default", namespace="shop")["metadata"]["namespace"] == "shop"


def test_namespace_and_objects_in_one_file_applies_namespace_first(sim):
    objs = [deployment(namespace="shop"),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}]
    assert sim.apply(objs) == ["namespace/shop", "deployment/web"]


def test_deleting_a_namespace_deletes_its_objects(sim):
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    sim.apply(deployment(replicas=2), namespace="shop")
    sim.wait_for_rollout("deployment/web", namespace="shop")
    sim.delete("namespace/shop")
    assert sim.get("namespace/shop")["status"]["phase"] == "Terminating"
    sim.advance(60)
    assert sim.list("pods", namespace="shop") == []
    with pytest.raises(ls.ObjectNotFound):
        sim.get("namespace/shop")


def test_resource_quota_refuses_pods_with_the_real_message(sim):
    sim.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
               "spec": {"hard": {"requests.cpu": "1", "pods": "10"}}})
    sim.apply(deployment(replicas=3, cpu="400m"))
    sim.advance(30)
    assert len(sim.list("pods")) == 2
    failed = [e for e in sim.events() if e.reason == "FailedCreate"]
    assert failed, "the ReplicaSet should report FailedCreate"
    assert ("exceeded quota: compute, requested: requests.cpu=400m, used: requests.cpu=800m, "
            "limited: requests.cpu=1") in failed[0].message


def test_resource_quota_requires_requests(sim):
    sim.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
               "spec": {"hard": {"requests.memory": "1Gi"}}})
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(pod("p"))
    assert "must specify requests.memory" in str(err.value)


def test_services_get_addresses_and_node_ports(sim):
    sim.apply([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
         "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"},
         "spec": {"type": "NodePort", "selector": {"app": "b"}, "ports": [{"port": 80, "nodePort": 30080}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"},
         "spec": {"type": "LoadBalancer", "selector": {"app": "c"}, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "d"},
         "spec": {"clusterIP": "None", "selector": {"app": "d"}, "ports": [{"port": 80}]}},
    ])
    a, b, c, d = (sim.get(f"svc/{n}") for n in "abcd")
    assert a["spec"]["clusterIP"].startswith("10.96.") and a["spec"]["ports"][0]["targetPort"] == 80
    assert b["spec"]["ports"][0]["nodePort"] == 30080
    assert 30000 <= c["spec"]["ports"][0]["nodePort"] <= 32767
    assert c["status"] == {"loadBalancer": {}}  # no cloud provider: EXTERNAL-IP <pending>
    assert d["spec"]["clusterIP"] == "None"
    with pytest.raises(ls.Invalid) as err:
        sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "e"},
                   "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}})
    assert "already allocated" in str(err.value)
    # re-applying keeps the allocated address
    sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
               "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}})
    assert sim.get("svc/a")["spec"]["clusterIP"] == a["spec"]["clusterIP"]


def test_other_kinds_are_stored_inert_with_all_fields(sim):
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"},
          "automountServiceAccountToken": False}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "type": "Opaque", "stringData": {"password": "x"}}
    sim.apply([sa, secret])
    assert sim.get("sa/robot")["automountServiceAccountToken"] is False
    assert sim.get("secret/s")["stringData"] == {"password": "x"}


def test_short_names_resolve_everywhere(sim):
    sim.apply(deployment(replicas=1))
    for ref in ("deploy/web", "deployment/web", "deployments/web", "Deployment/web"):
        assert sim.get(ref)["metadata"]["name"] == "web"
    assert sim.list("ns") and sim.list("no") and sim.list("svc", namespace="default")
    with pytest.raises(ls.Invalid) as err:
        sim.get("deploymnt/web")
    assert "did you mean deployment" in str(err.value)


def test_advance_zero_does_nothing_and_negative_is_refused(sim):
    sim.advance(0)
    assert sim.now == 0
    with pytest.raises(ls.Invalid) as err:
        sim.advance(-1)
    assert "cannot go back in time" in str(err.value)
