"""labsupport.errors: one hierarchy, facts kept as attributes, messages for a learner."""

from __future__ import annotations

import pytest

import labsupport.errors as errors
from labsupport.errors import (
    AlreadyExists,
    ClusterUnavailable,
    Forbidden,
    GradingError,
    Invalid,
    InvalidManifest,
    LabSupportError,
    ObjectNotFound,
    ResourceExpired,
    UnsafeCluster,
    WaitTimeout,
)


def test_every_public_error_is_a_labsupport_error():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), LabSupportError), name


@pytest.mark.parametrize("cls, builtin", [
    (Invalid, ValueError), (InvalidManifest, ValueError), (ObjectNotFound, KeyError),
    (WaitTimeout, TimeoutError),
])
def test_errors_are_also_the_matching_builtin(cls, builtin):
    assert issubclass(cls, builtin)


def test_invalid_manifest_full_message():
    e = InvalidManifest("must be an integer", source="web.yaml", document=2,
                        obj="Deployment/web", field="spec.replicas", value="three",
                        hint="Write a number such as 3")
    assert str(e) == ('web.yaml, document 2 (Deployment/web): spec.replicas: Invalid value: '
                      '"three": must be an integer. Write a number such as 3')
    assert (e.problem, e.source, e.document, e.obj, e.field, e.value, e.hint) == (
        "must be an integer", "web.yaml", 2, "Deployment/web", "spec.replicas", "three",
        "Write a number such as 3")


def test_invalid_manifest_parts_are_optional():
    assert str(InvalidManifest("contains no Kubernetes objects", source="<text>")) == \
        "<text>: contains no Kubernetes objects"
    assert str(InvalidManifest("Required value", field="kind")) == "kind: Required value"
    assert str(InvalidManifest("bad", obj="Pod/p")) == "Pod/p: bad"
    assert str(InvalidManifest("bad")) == "bad"


def test_invalid_manifest_value_none_is_shown_when_given():
    assert "Invalid value: None" in str(InvalidManifest("x", field="f", value=None))
    e = InvalidManifest("x", field="f")
    assert e.value is None and "Invalid value" not in str(e)


def test_invalid_manifest_long_values_are_cut():
    e = InvalidManifest("bad", field="spec", value={"k": "v" * 200})
    shown = str(e).split("Invalid value: ")[1].split(": bad")[0]
    assert len(shown) == 60 and shown.endswith("...")


def test_located_adds_where_and_keeps_the_rest():
    e = InvalidManifest("must be an integer", field="spec.replicas", value=0, hint="h")
    moved = e.located(source="a.yaml", document=3, obj="Deployment/web")
    assert str(moved) == ("a.yaml, document 3 (Deployment/web): spec.replicas: "
                          "Invalid value: 0: must be an integer. h")
    assert moved is not e and e.source is None
    kept = InvalidManifest("x", source="b.yaml", document=1).located(obj="Pod/p")
    assert (kept.source, kept.document, kept.obj) == ("b.yaml", 1, "Pod/p")
    no_value = InvalidManifest("x", field="f").located(source="c.yaml")
    assert "Invalid value" not in str(no_value)


def test_object_not_found_says_how_to_list():
    e = ObjectNotFound("deployment", "web", "shop")
    assert str(e) == ('deployment "web" not found in namespace "shop". List what exists '
                      'with cluster.list("deployments", namespace="shop").')
    assert (e.kind, e.name, e.namespace) == ("deployment", "web", "shop")
    assert str(ObjectNotFound("node", "n1")) == (
        'node "n1" not found. List what exists with cluster.list("nodes").')
    assert 'cluster.list("endpoints")' in str(ObjectNotFound("endpoints", "x"))


def test_forbidden_keeps_its_reason():
    e = Forbidden("exceeded quota", reason="ExceededQuota")
    assert (str(e), e.reason) == ("exceeded quota", "ExceededQuota")
    assert Forbidden("no").reason == "Forbidden"


def test_cluster_unavailable_names_the_fix():
    e = ClusterUnavailable("docker is not running", "start Docker Desktop")
    assert str(e) == "docker is not running. Fix: start Docker Desktop"
    assert str(ClusterUnavailable("no cluster")) == "no cluster"


def test_unsafe_cluster():
    e = UnsafeCluster("kill_pod", "the context is not a kind cluster",
                      "pass force=True")
    assert str(e) == ("refusing kill_pod: the context is not a kind cluster. "
                      "If you are sure, pass force=True")


def test_wait_timeout():
    e = WaitTimeout("deployment/web to roll out", 30, last="1 of 3 updated")
    assert str(e) == ("timed out after 30 s waiting for deployment/web to roll out; "
                      "last seen: 1 of 3 updated")
    assert str(WaitTimeout("x", 2.5)) == "timed out after 2.5 s waiting for x"


def test_resource_expired():
    e = ResourceExpired(5, 12)
    assert (e.revision, e.oldest) == (5, 12)
    assert str(e).startswith("410 Gone: too old resource version: 5 (12).")


def test_simple_errors():
    assert str(AlreadyExists("x")) == "x"
    assert isinstance(GradingError("y"), LabSupportError)
