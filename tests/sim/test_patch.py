"""c.patch and the kubectl-style verbs on the simulator."""

from __future__ import annotations

import pytest
from simhelpers import deployment

import labsupport as ls
from labsupport.errors import Conflict, Invalid, InvalidManifest


@pytest.fixture
def c():
    c = ls.connect(nodes=2, seed=0)
    c.apply(deployment("web", replicas=2))
    c.wait_for_rollout("deployment/web")
    return c


def test_strategic_patch_changes_one_container_and_rolls_out(c):
    before = c.get("deployment/web")
    after = c.patch("deployment/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.28"}]}}}})
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    c.wait_for_rollout("deployment/web")
    assert len(c.list("replicasets")) == 2


def test_merge_patch_replaces_lists_and_null_deletes(c):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"},
             "data": {"a": "1", "b": "2"}})
    out = c.patch("configmap/s", {"data": {"a": None}}, type="merge")
    assert out["data"] == {"b": "2"}


def test_json_patch_and_its_errors(c):
    out = c.patch("deployment/web", [{"op": "replace", "path": "/spec/replicas", "value": 3}],
                  type="json")
    assert out["spec"]["replicas"] == 3
    with pytest.raises(Invalid, match="testing value /spec/replicas failed: test failed"):
        c.patch("deployment/web", [{"op": "test", "path": "/spec/replicas", "value": 1}],
                type="json")


def test_stale_resource_version_is_a_conflict(c):
    old = c.get("deployment/web")["metadata"]["resourceVersion"]
    c.scale("deployment/web", 3)
    with pytest.raises(Conflict, match='deployments.apps "web": the object has been modified'):
        c.patch("deployment/web", {"metadata": {"resourceVersion": old},
                                   "spec": {"replicas": 4}})


def test_patched_object_is_validated(c):
    with pytest.raises(InvalidManifest):
        c.patch("deployment/web", {"spec": {"replicas": "three"}})


def test_custom_resources_refuse_strategic_patches(c):
    c.apply({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "dbs.x.io"},
             "spec": {"group": "x.io", "scope": "Namespaced",
                      "names": {"kind": "Db", "plural": "dbs", "singular": "db"},
                      "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                          "openAPIV3Schema": {"type": "object",
                                              "x-kubernetes-preserve-unknown-fields": True}}}]}})
    c.advance(1)
    c.apply({"apiVersion": "x.io/v1", "kind": "Db", "metadata": {"name": "d"},
             "spec": {"size": 1}})
    with pytest.raises(Invalid, match="the body of the request was in an unknown format"):
        c.patch("db/d", {"spec": {"size": 2}})
    assert c.patch("db/d", {"spec": {"size": 2}}, type="merge")["spec"] == {"size": 2}


def test_label_annotate_as_kubectl(c):
    pod = c.pods()[0].name
    assert c.label(f"pod/{pod}", tier="front") == f"pod/{pod} labeled"
    with pytest.raises(Invalid, match=r"^'app' already has a value \(web\), and --overwrite "
                                      r"is false$"):
        c.label(f"pod/{pod}", app="api")
    # label.go validateNoOverwrites refuses a key that is there, even with the same value.
    with pytest.raises(Invalid, match=r"^'tier' already has a value \(front\), and "):
        c.label(f"pod/{pod}", tier="front")
    assert c.label(f"pod/{pod}", tier="front", overwrite=True) == f"pod/{pod} not labeled"
    assert c.label(f"pod/{pod}", {"tier": None}) == f"pod/{pod} unlabeled"
    assert "tier" not in c.get(f"pod/{pod}")["metadata"]["labels"]
    with pytest.raises(Invalid) as err:
        c.label(f"pod/{pod}", app="api", **{"pod-template-hash": "x"})
    assert str(err.value).startswith("['app' already has a value (web), and --overwrite is "
                                     "false, 'pod-template-hash' already has a value (")
    assert c.annotate("deployment/web", note="x") == "deployment.apps/web annotated"
    with pytest.raises(Invalid, match="--overwrite is false but found the following declared "
                                      r"annotation\(s\): 'note' already has a value \(x\)"):
        c.annotate("deployment/web", note="y")
    assert c.annotate("deployment/web", note="y", overwrite=True) == \
        "deployment.apps/web annotated"
    # annotate.go prints "annotated" even when nothing changed, and always lets the
    # change-cause annotation be overwritten.
    assert c.annotate("deployment/web", note="y", overwrite=True) == \
        "deployment.apps/web annotated"
    c.annotate("deployment/web", **{"kubernetes.io/change-cause": "a"})
    assert c.annotate("deployment/web", **{"kubernetes.io/change-cause": "b"}) == \
        "deployment.apps/web annotated"


def test_cordon_taint_uncordon(c):
    assert c.cordon("node-1") == "node/node-1 cordoned"
    assert c.cordon("node-1") == "node/node-1 already cordoned"
    assert c.get("node/node-1")["spec"]["unschedulable"] is True
    assert c.taint("node-1", "dedicated=gpu:NoSchedule") == "node/node-1 tainted"
    assert {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"} in \
        c.get("node/node-1")["spec"]["taints"]
    with pytest.raises(Invalid, match="^node node-1 already has dedicated taint\\(s\\) with same "
                                      "effect\\(s\\) and --overwrite is false$"):
        c.taint("node-1", "dedicated=cpu:NoSchedule")
    with pytest.raises(Invalid, match='^can not both modify and remove the following taint\\(s\\) '
                                      'in the same command: {"dedicated":""}$'):
        c.taint("node-1", "dedicated=cpu:NoSchedule", "dedicated-")
    assert c.taint("node-1", "dedicated:NoSchedule-") == "node/node-1 untainted"
    with pytest.raises(Invalid, match='taint "dedicated:NoSchedule" not found'):
        c.taint("node-1", "dedicated:NoSchedule-")
    assert c.uncordon("node-1") == "node/node-1 uncordoned"
    assert "unschedulable" not in c.get("node/node-1")["spec"]
