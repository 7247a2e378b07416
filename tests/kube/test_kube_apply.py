"""apply is server-side apply: one PATCH per object, to its own path and namespace."""

from __future__ import annotations

import pytest
import yaml

from labsupport.errors import InvalidManifest
from labsupport.kube import FIELD_MANAGER

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"""


def test_apply_sends_one_server_side_apply_per_object_namespaces_first(connect, fake_api):
    refs = connect().apply(MANIFEST, namespace="team")
    assert refs == ["deployment/web", "configmap/settings", "namespace/shop", "clusterrole/reader"]
    assert [(r.method, r.path) for r in fake_api.requests] == [
        ("PATCH", "/api/v1/namespaces/shop"),
        ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web"),
        ("PATCH", "/api/v1/namespaces/team/configmaps/settings"),
        ("PATCH", "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader"),
    ]
    for req in fake_api.requests:
        assert req.query == {"fieldManager": FIELD_MANAGER, "force": "true"}
        assert req.headers["content-type"] == "application/apply-patch+yaml"


def test_apply_bodies_carry_the_namespace_of_their_url(connect, fake_api):
    connect().apply(MANIFEST, namespace="team")
    bodies = {r.path: r.body for r in fake_api.requests}
    assert bodies["/apis/apps/v1/namespaces/shop/deployments/web"]["metadata"]["namespace"] == \
        "shop"
    assert bodies["/api/v1/namespaces/team/configmaps/settings"]["metadata"] == {
        "name": "settings", "namespace": "team"}
    assert "namespace" not in bodies["/api/v1/namespaces/shop"]["metadata"]
    dep = bodies["/apis/apps/v1/namespaces/shop/deployments/web"]
    assert (dep["apiVersion"], dep["kind"], dep["spec"]["replicas"]) == ("apps/v1", "Deployment",
                                                                         2)


def test_apply_defaults_to_the_default_namespace(connect, fake_api):
    connect().apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    assert fake_api.requests[0].path == "/api/v1/namespaces/default/configmaps/a"


def test_apply_a_file(connect, fake_api, tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(MANIFEST)
    assert len(connect().apply(path)) == 4
    assert len(fake_api.seen("PATCH")) == 4


def test_an_invalid_manifest_sends_nothing(connect, fake_api):
    bad = MANIFEST.replace("replicas: 2", "replicas: three")
    with pytest.raises(InvalidManifest, match="spec.replicas"):
        connect().apply(bad)
    assert fake_api.requests == []


def test_the_servers_refusal_names_the_object_and_field(connect, fake_api):
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", (422, {
        "kind": "Status", "code": 422, "reason": "Invalid",
        "message": 'Deployment.apps "web" is invalid',
        "details": {"causes": [{"field": "spec.template.spec.containers[0].image",
                                "message": "Required value"}]}}))
    with pytest.raises(InvalidManifest) as err:
        connect().apply(MANIFEST)
    assert err.value.obj == "Deployment/web"
    assert err.value.field == "spec.template.spec.containers[0].image"


def test_kinds_labsupport_does_not_list_are_found_by_discovery(connect, fake_api):
    fake_api.on("GET", CRDS, {"items": [{"spec": {"group": "example.com",
                                                  "names": {"kind": "Gadget"}}}]})
    fake_api.on("GET", "/apis/example.com/v1", {
        "kind": "APIResourceList", "groupVersion": "example.com/v1",
        "resources": [{"name": "gadgets", "kind": "Gadget", "namespaced": False},
                      {"name": "gadgets/status", "kind": "Gadget", "namespaced": False}]})
    c = connect()
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"}}
    c.apply(gadget, namespace="kube-system")
    c.apply(gadget)                       # the answer of discovery is remembered
    assert [(r.method, r.path) for r in fake_api.requests if r.path != CRDS] == [
        ("GET", "/apis/example.com/v1"),
        ("PATCH", "/apis/example.com/v1/gadgets/g1"),
        ("PATCH", "/apis/example.com/v1/gadgets/g1"),
    ]
    assert "namespace" not in fake_api.seen("PATCH")[0].body["metadata"]


def test_listed_cluster_scoped_kinds_need_no_discovery(connect, fake_api):
    api_service = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                   "metadata": {"name": "v1beta1.metrics.k8s.io"},
                   "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                            "groupPriorityMinimum": 100, "versionPriority": 100,
                            "service": {"name": "metrics-server", "namespace": "kube-system"}}}
    connect().apply(api_service, namespace="kube-system")
    assert [(r.method, r.path) for r in fake_api.requests] == [
        ("PATCH", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")]
    assert "namespace" not in fake_api.requests[0].body["metadata"]


def test_the_metrics_server_manifest_applies(connect, fake_api):
    from labsupport.kube.metrics_server import MANIFEST as METRICS

    fake_api.on("GET", "/apis/apiregistration.k8s.io/v1", {"resources": [
        {"name": "apiservices", "kind": "APIService", "namespaced": False}]})
    refs = connect().apply(METRICS, namespace="kube-system")
    docs = [d for d in yaml.safe_load_all(METRICS.read_text()) if d]
    assert len(refs) == len(docs)
    paths = [r.path for r in fake_api.seen("PATCH")]
    assert "/apis/apps/v1/namespaces/kube-system/deployments/metrics-server" in paths
    assert "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregated-metrics-reader" \
        in paths


WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
          "spec": {"size": 3}}
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def test_custom_resources_of_installed_definitions_are_applied(connect, fake_api):
    fake_api.on("GET", CRDS, {"items": [{"spec": {"group": "example.com",
                                                  "names": {"kind": "Widget"}}}]})
    fake_api.on("GET", "/apis/example.com/v1", {"resources": [
        {"name": "widgets", "kind": "Widget", "namespaced": True}]})
    assert connect().apply(WIDGET, namespace="shop") == ["widget/w1"]
    assert [(r.method, r.path) for r in fake_api.requests] == [
        ("GET", CRDS), ("GET", "/apis/example.com/v1"),
        ("PATCH", "/apis/example.com/v1/namespaces/shop/widgets/w1")]


def test_custom_resources_without_their_definition_are_refused(connect, fake_api):
    fake_api.on("GET", CRDS, {"items": []})
    with pytest.raises(InvalidManifest, match="custom resource"):
        connect().apply(WIDGET)
    assert not fake_api.seen("PATCH")
