"""labsupport.kinds: one place that resolves every name of a resource type."""

from __future__ import annotations

import pytest

from labsupport.errors import Invalid
from labsupport.kinds import (
    ResourceType,
    known_types,
    parse_ref,
    ref_of,
    resource_type,
    type_for_kind,
)
from labsupport.schema import schema_for


@pytest.mark.parametrize("name", ["Deployment", "deployment", "deployments", "deploy",
                                  "DEPLOY", " deploy ", "deployments.apps"])
def test_every_name_of_a_deployment(name):
    rt = resource_type(name)
    assert (rt.kind, rt.plural, rt.api_version, rt.namespaced) == (
        "Deployment", "deployments", "apps/v1", True)


@pytest.mark.parametrize("short, kind", [
    ("po", "Pod"), ("svc", "Service"), ("ep", "Endpoints"), ("ns", "Namespace"),
    ("no", "Node"), ("cm", "ConfigMap"), ("sa", "ServiceAccount"),
    ("pvc", "PersistentVolumeClaim"), ("pv", "PersistentVolume"), ("quota", "ResourceQuota"),
    ("limits", "LimitRange"), ("ev", "Event"), ("rc", "ReplicationController"),
    ("rs", "ReplicaSet"), ("sts", "StatefulSet"), ("ds", "DaemonSet"), ("cj", "CronJob"),
    ("hpa", "HorizontalPodAutoscaler"), ("ing", "Ingress"), ("netpol", "NetworkPolicy"),
    ("pdb", "PodDisruptionBudget"), ("sc", "StorageClass"), ("pc", "PriorityClass"),
    ("crd", "CustomResourceDefinition"), ("crds", "CustomResourceDefinition"),
])
def test_kubectl_short_names(short, kind):
    assert resource_type(short).kind == kind


def test_unknown_names_suggest_close_ones():
    with pytest.raises(Invalid, match='unknown resource type "deploymnet"; did you mean'):
        resource_type("deploymnet")
    with pytest.raises(Invalid, match="use a kind such as Deployment"):
        resource_type("xyzzy")


def test_scope():
    cluster_scoped = {rt.kind for rt in known_types() if not rt.namespaced}
    assert cluster_scoped >= {"Namespace", "Node", "PersistentVolume", "IngressClass",
                              "ClusterRole", "ClusterRoleBinding", "StorageClass",
                              "PriorityClass", "CustomResourceDefinition"}
    for name in ("pod", "deploy", "svc", "cm", "secret", "sa", "pvc", "role", "rolebinding",
                 "hpa", "ing", "lease", "endpointslice", "job", "cj"):
        assert resource_type(name).namespaced, name


def test_known_types_are_unique_and_served_by_kubernetes():
    kinds = [rt.kind for rt in known_types()]
    assert len(kinds) == len(set(kinds))
    schema = schema_for("1.32")
    for rt in known_types():
        assert schema.serves(rt.api_version, rt.kind), rt


def test_group_singular_and_registry():
    dep = resource_type("deploy")
    assert (dep.group, dep.singular, dep.registry) == ("apps", "deployment", "deployments")
    assert resource_type("svc").group == ""
    assert resource_type("svc").registry == "services/specs"
    assert resource_type("node").registry == "minions"
    assert resource_type("hpa").group == "autoscaling"


def test_repr_is_short():
    assert repr(resource_type("po")) == "ResourceType(kind='Pod', plural='pods')"


@pytest.mark.parametrize("kind, plural", [
    ("Widget", "widgets"), ("Policy", "policies"), ("Gateway", "gateways"),
    ("Box", "boxes"), ("Match", "matches"), ("Mesh", "meshes"), ("Class", "classes"),
])
def test_type_for_unknown_kinds(kind, plural):
    rt = type_for_kind(kind, "example.com/v1")
    assert (rt.kind, rt.plural, rt.api_version, rt.namespaced) == (
        kind, plural, "example.com/v1", True)


def test_type_for_known_kind_is_the_table_entry():
    assert type_for_kind("Deployment") is resource_type("deployment")
    # Case matters for kinds: "deployment" is not a kind.
    assert type_for_kind("deployment") is not resource_type("deployment")


@pytest.mark.parametrize("ref, kind, name", [
    ("deployment/web", "Deployment", "web"), ("svc/web", "Service", "web"),
    ("Pod/web-7f9c-x2", "Pod", "web-7f9c-x2"), ("ns/kube-system", "Namespace", "kube-system"),
])
def test_parse_ref(ref, kind, name):
    rt, got = parse_ref(ref)
    assert (rt.kind, got) == (kind, name)


@pytest.mark.parametrize("ref", ["web", "deployment/", "deployment/a/b", 42])
def test_parse_ref_refuses_malformed(ref):
    with pytest.raises(Invalid, match="type/name"):
        parse_ref(ref)


def test_parse_ref_unknown_type():
    with pytest.raises(Invalid, match="unknown resource type"):
        parse_ref("gizmo/web")


def test_ref_of():
    assert ref_of({"kind": "Deployment", "metadata": {"name": "web"}}) == "deployment/web"
    assert ref_of({}) == "?/?"


def test_resource_type_is_frozen():
    rt = ResourceType("Thing", "things")
    with pytest.raises(AttributeError):
        rt.kind = "Other"  # type: ignore[misc]
