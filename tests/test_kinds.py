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
from labsupport.version import KUBERNETES_VERSION


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
    ("cs", "ComponentStatus"), ("csr", "CertificateSigningRequest"), ("ip", "IPAddress"),
    ("vac", "VolumeAttributesClass"),
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


@pytest.mark.parametrize("name, kind, api_version", [
    ("runtimeclass", "RuntimeClass", "node.k8s.io/v1"),
    ("csidrivers", "CSIDriver", "storage.k8s.io/v1"),
    ("CSINode", "CSINode", "storage.k8s.io/v1"),
    ("volumeattachment", "VolumeAttachment", "storage.k8s.io/v1"),
    ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
     "admissionregistration.k8s.io/v1"),
    ("mutatingwebhookconfiguration", "MutatingWebhookConfiguration",
     "admissionregistration.k8s.io/v1"),
    ("validatingadmissionpolicy", "ValidatingAdmissionPolicy",
     "admissionregistration.k8s.io/v1"),
    ("apiservices.apiregistration.k8s.io", "APIService", "apiregistration.k8s.io/v1"),
    ("csr", "CertificateSigningRequest", "certificates.k8s.io/v1"),
    ("flowschemas", "FlowSchema", "flowcontrol.apiserver.k8s.io/v1"),
    ("prioritylevelconfiguration", "PriorityLevelConfiguration",
     "flowcontrol.apiserver.k8s.io/v1"),
    ("ingressclass", "IngressClass", "networking.k8s.io/v1"),
    ("cs", "ComponentStatus", "v1"),
    ("tokenreviews", "TokenReview", "authentication.k8s.io/v1"),
])
def test_cluster_scoped_built_ins(name, kind, api_version):
    rt = resource_type(name)
    assert (rt.kind, rt.api_version, rt.namespaced) == (kind, api_version, False)
    assert type_for_kind(kind) is rt
    assert not type_for_kind(kind, api_version).namespaced


@pytest.mark.parametrize("name, plural", [
    ("podtemplate", "podtemplates"), ("CSIStorageCapacity", "csistoragecapacities"),
    ("localsubjectaccessreview", "localsubjectaccessreviews"),
    ("resourceclaim", "resourceclaims"), ("resourceclaimtemplates", "resourceclaimtemplates"),
])
def test_namespaced_built_ins(name, plural):
    rt = resource_type(name)
    assert (rt.plural, rt.namespaced) == (plural, True)


def test_every_built_in_kind_is_listed():
    listed = {rt.kind for rt in known_types()}
    not_objects = {"Eviction", "Scale", "Status", "TokenRequest"}  # subresources, replies
    served = {k for k in schema_for(KUBERNETES_VERSION).kinds() if not k.endswith("List")}
    assert served - not_objects <= listed


def test_every_name_resolves_to_one_type():
    owner: dict[str, ResourceType] = {}
    for rt in known_types():
        for name in {rt.kind.lower(), rt.singular, rt.plural, *rt.short_names}:
            assert owner.setdefault(name, rt) is rt, (name, rt, owner[name])
        assert type_for_kind(rt.kind) is rt


def test_preferred_version_is_the_most_stable_one_served():
    schema = schema_for(KUBERNETES_VERSION)
    # The table prefers autoscaling/v2 and core Events; elsewhere the most stable version.
    for rt in known_types():
        if rt.kind not in ("HorizontalPodAutoscaler", "Event"):
            assert rt.api_version == schema.api_versions(rt.kind)[0], rt


def test_known_types_are_unique_and_served_by_kubernetes():
    kinds = [rt.kind for rt in known_types()]
    assert len(kinds) == len(set(kinds))
    schema = schema_for(KUBERNETES_VERSION)
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
