"""KubeCluster against a fake API server on loopback: the exact requests it sends."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labsupport.errors import (
    AlreadyExists,
    ClusterUnavailable,
    Conflict,
    Forbidden,
    Invalid,
    InvalidManifest,
    ObjectNotFound,
    WaitTimeout,
)
from labsupport.kube import Kind, KubeCluster

from .conftest import kind_machine, kubeconfig_text


def _dep(generation=1, observed=1, replicas=3, updated=3, available=3, total=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": generation},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "replicas": total or updated,
                       "updatedReplicas": updated, "availableReplicas": available}}


def _pod(name, ns="default", node="labs-worker", cpu="100m", labels=None):
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "web"}},
            "spec": {"nodeName": node,
                     "containers": [{"name": "app", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


# --- get / list / delete / scale / logs ----------------------------------------


def test_get_hits_the_object_url_with_the_token(connect, fake_api):
    fake_api.on("GET", "/apis/apps/v1/namespaces/shop/deployments/web", _dep())
    c = connect()
    obj = c.get("deploy/web", namespace="shop")
    assert obj["metadata"]["name"] == "web"
    (req,) = fake_api.requests
    assert (req.method, req.path) == ("GET", "/apis/apps/v1/namespaces/shop/deployments/web")
    assert req.headers["authorization"] == "Bearer test-token"


def test_get_cluster_scoped_ignores_the_namespace(connect, fake_api):
    fake_api.on("GET", "/api/v1/nodes/labs-worker", {"metadata": {"name": "labs-worker"}})
    obj = connect().get("node/labs-worker", namespace="shop")
    assert obj["kind"] == "Node" and obj["apiVersion"] == "v1"


def test_get_missing_is_object_not_found(connect):
    with pytest.raises(ObjectNotFound) as err:
        connect().get("deployment/nope", namespace="shop")
    assert (err.value.kind, err.value.name, err.value.namespace) == ("deployment", "nope", "shop")
    assert 'cluster.list("deployments", namespace="shop")' in str(err.value)


def test_list_with_a_selector_fills_kind_and_sorts(connect, fake_api):
    fake_api.on("GET", "/api/v1/namespaces/shop/pods",
                {"kind": "PodList", "metadata": {},
                 "items": [_pod("b", "shop"), _pod("a", "shop")]})
    pods = connect().list("po", namespace="shop", selector="app=web,tier!=db")
    assert [p["metadata"]["name"] for p in pods] == ["a", "b"]
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in pods)
    (req,) = fake_api.requests
    assert req.query == {"labelSelector": "app=web,tier!=db", "limit": "500"}


def test_list_all_namespaces_follows_continue_tokens(connect, fake_api):
    fake_api.on("GET", "/apis/apps/v1/deployments",
                {"metadata": {"continue": "next"}, "items": [_dep()]},
                {"metadata": {}, "items": [{**_dep(), "metadata": {"name": "api",
                                                                   "namespace": "a"}}]})
    deps = connect().list("deployments")
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deps] == [
        ("a", "api"), ("default", "web")]
    assert [r.query.get("continue") for r in fake_api.requests] == [None, "next"]


def test_delete_is_background_cascading(connect, fake_api):
    connect().delete("deployment/web", namespace="shop")
    (req,) = fake_api.seen("DELETE")
    assert req.path == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert req.body == {"kind": "DeleteOptions", "apiVersion": "v1",
                        "propagationPolicy": "Background"}


def test_delete_missing_is_object_not_found(connect, fake_api):
    fake_api.on("DELETE", "/api/v1/namespaces/default/services/web", (404, {
        "kind": "Status", "code": 404, "reason": "NotFound",
        "message": 'services "web" not found', "details": {"name": "web", "kind": "services"}}))
    with pytest.raises(ObjectNotFound, match='service "web" not found in namespace "default"'):
        connect().delete("svc/web")


def test_scale_patches_the_scale_subresource(connect, fake_api):
    connect().scale("deployment/web", 5, namespace="shop")
    (req,) = fake_api.requests
    assert (req.method, req.path) == ("PATCH",
                                      "/apis/apps/v1/namespaces/shop/deployments/web/scale")
    assert req.headers["content-type"] == "application/merge-patch+json"
    assert req.body == {"spec": {"replicas": 5}}


@pytest.mark.parametrize("ref, replicas", [("deployment/web", -1), ("deployment/web", 2.5),
                                           ("deployment/web", True), ("service/web", 3)])
def test_bad_scale_is_refused_before_any_request(connect, fake_api, ref, replicas):
    with pytest.raises(Invalid):
        connect().scale(ref, replicas)
    assert fake_api.requests == []


def test_logs(connect, fake_api):
    fake_api.on("GET", "/api/v1/namespaces/shop/pods/web-1/log", "line 1\nline 2\n")
    text = connect().logs("pod/web-1", namespace="shop", container="app", tail=2)
    assert text == "line 1\nline 2\n"
    assert fake_api.requests[0].query == {"container": "app", "tailLines": "2"}


def test_views_come_from_lists(connect, fake_api):
    fake_api.on("GET", "/api/v1/pods", {"items": [_pod("web-1"), _pod("web-2", cpu="250m")]})
    fake_api.on("GET", "/api/v1/nodes", {"items": [{
        "metadata": {"name": "labs-worker"},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}]})
    fake_api.on("GET", "/api/v1/namespaces/default/events", {"items": [{
        "metadata": {"name": "e1", "namespace": "default"}, "type": "Normal",
        "reason": "Scheduled", "message": "Successfully assigned default/web-1",
        "involvedObject": {"kind": "Pod", "name": "web-1"},
        "source": {"component": "default-scheduler"},
        "lastTimestamp": "2024-01-01T00:00:00Z"}]})
    c = connect()
    assert [p.name for p in c.pods()] == ["web-1", "web-2"]
    (node,) = c.nodes()
    assert (node.name, node.ready, node.pods, node.cpu_requested) == ("labs-worker", True, 2,
                                                                       0.35)
    (event,) = c.events("default")
    assert (event.reason, event.object, event.component) == ("Scheduled", "pod/web-1",
                                                             "default-scheduler")


# --- waiting: kubectl's rollout rule, wait_until, advance ---------------------


def test_wait_for_rollout_follows_kubectls_rule(connect, fake_api):
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    fake_api.on("GET", path,
                _dep(generation=2, observed=1),                 # spec not observed yet
                _dep(generation=2, observed=2, updated=1),      # 1 of 3 updated
                _dep(generation=2, observed=2, total=4),        # an old replica is left
                _dep(generation=2, observed=2, available=2),    # 2 of 3 available
                _dep(generation=2, observed=2))                 # done
    msg = connect().wait_for_rollout("deployment/web", timeout=30)
    assert msg == 'deployment "web" successfully rolled out'
    assert len(fake_api.seen("GET", path)) == 5


def test_wait_for_rollout_timeout_says_what_it_saw(connect, fake_api):
    fake_api.on("GET", "/apis/apps/v1/namespaces/default/deployments/web",
                _dep(updated=1))
    with pytest.raises(WaitTimeout) as err:
        connect().wait_for_rollout("deployment/web", timeout=0.05)
    assert "1 out of 3 new replicas have been updated" in str(err.value)


def test_wait_until_returns_the_value(connect, fake_api):
    fake_api.on("GET", "/api/v1/namespaces/default/pods",
                {"items": []}, {"items": [_pod("web-1")]})
    c = connect()
    pods = c.wait_until(lambda c: c.list("pods", "default"), timeout=30)
    assert [p["metadata"]["name"] for p in pods] == ["web-1"]


def test_advance_and_now(connect):
    c = connect()
    before = c.now
    c.advance(0.01)
    assert c.now >= before + 0.01
    with pytest.raises(Invalid):
        c.advance(-1)


# --- errors of the API server --------------------------------------------------


def test_forbidden_says_which_rbac_to_check(connect, fake_api):
    fake_api.on("GET", "/api/v1/namespaces/shop/secrets", (403, {
        "kind": "Status", "code": 403, "reason": "Forbidden",
        "message": 'secrets is forbidden: User "student" cannot list resource "secrets" in '
                   'API group "" in the namespace "shop"'}))
    with pytest.raises(Forbidden) as err:
        connect().list("secrets", namespace="shop")
    assert 'User "student" cannot list' in str(err.value)
    assert "kubectl auth can-i get secrets -n shop" in str(err.value)


def test_quota_refusal_is_forbidden_exceeded_quota(connect, fake_api):
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", (403, {
        "kind": "Status", "code": 403, "reason": "Forbidden",
        "message": 'pods "web-1" is forbidden: exceeded quota: small, requested: cpu=1'}))
    with pytest.raises(Forbidden) as err:
        connect().scale("deployment/web", 9)
    assert err.value.reason == "ExceededQuota"


def test_invalid_answer_names_the_field(connect, fake_api):
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", (422, {
        "kind": "Status", "code": 422, "reason": "Invalid",
        "message": 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: 100000',
        "details": {"causes": [{"field": "spec.replicas",
                                "message": "Invalid value: 100000: must be <= 1000"}]}}))
    with pytest.raises(InvalidManifest) as err:
        connect().scale("deployment/web", 100000)
    assert err.value.field == "spec.replicas"


def test_conflict_is_already_exists(connect, fake_api):
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale",
                (409, {"kind": "Status", "code": 409, "message": "conflict"}))
    with pytest.raises(AlreadyExists):
        connect().scale("deployment/web", 2)


def test_stale_resource_version_is_a_conflict(connect, fake_api):
    # What kube-apiserver answers to an update carrying an old metadata.resourceVersion.
    message = ('Operation cannot be fulfilled on deployments.apps "web": the object has been '
               "modified; please apply your changes to the latest version and try again")
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", (409, {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 409,
        "reason": "Conflict", "message": message,
        "details": {"name": "web", "group": "apps", "kind": "deployments"}}))
    with pytest.raises(Conflict) as err:
        connect().apply({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "web", "resourceVersion": "41"},
                         "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                             "metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "w", "image": "nginx:1.27"}]}}}})
    assert str(err.value).startswith(message)
    assert (err.value.resource, err.value.name) == ("deployments.apps", "web")


def test_invalid_update_reads_as_kubectl_prints_it(connect, fake_api):
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", (422, {
        "kind": "Status", "code": 422, "reason": "Invalid",
        "message": 'Deployment.apps "web" is invalid: spec.selector: Invalid value: '
                   '{"matchLabels":{"app":"web2"}}: field is immutable',
        "details": {"name": "web", "group": "apps", "kind": "Deployment", "causes": [
            {"reason": "FieldValueInvalid", "field": "spec.selector",
             "message": 'Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable'}]}}))
    with pytest.raises(InvalidManifest) as err:
        connect().scale("deployment/web", 2)
    assert str(err.value) == ('The Deployment "web" is invalid: spec.selector: Invalid value: '
                              '{"matchLabels":{"app":"web2"}}: field is immutable')


def test_unauthorized_and_server_errors_are_cluster_unavailable(connect, fake_api):
    fake_api.on("GET", "/api/v1/nodes", (401, {"kind": "Status", "code": 401}),
                (503, {"kind": "Status", "code": 503, "message": "etcd is down"}))
    c = connect()
    with pytest.raises(ClusterUnavailable, match="401 Unauthorized"):
        c.list("nodes")
    with pytest.raises(ClusterUnavailable, match="etcd is down"):
        c.list("nodes")


def test_connection_refused_is_cluster_unavailable(write_kubeconfig, free_port, runner):
    path = write_kubeconfig(f"http://127.0.0.1:{free_port}", "kind-labs")
    c = KubeCluster.from_kubeconfig(context="kind-labs", kubeconfig=path,
                                    kind=Kind(runner=runner))
    with pytest.raises(ClusterUnavailable) as err:
        c.list("pods")
    assert "cannot reach the Kubernetes API server" in err.value.what
    assert "connection refused" in err.value.what
    assert err.value.fix == "start the cluster: python -m labsupport cluster up --name labs"
    c.close()


def test_unreachable_other_cluster_points_at_kubectl(write_kubeconfig, free_port):
    path = write_kubeconfig(f"http://127.0.0.1:{free_port}", "work")
    c = KubeCluster.from_kubeconfig(context="work", kubeconfig=path)
    with pytest.raises(ClusterUnavailable) as err:
        c.get("node/x")
    assert err.value.fix == "check the cluster is running: kubectl --context work cluster-info"


# --- connecting --------------------------------------------------------------


def test_unknown_context_lists_the_others(write_kubeconfig, fake_api):
    path = write_kubeconfig(fake_api.url, "kind-labs")
    with pytest.raises(ClusterUnavailable, match=r'no context "prod" \(it has: kind-labs\)'):
        KubeCluster.from_kubeconfig(context="prod", kubeconfig=path)


def test_missing_kubeconfig(tmp_path):
    with pytest.raises(ClusterUnavailable, match="cannot use the kubeconfig"):
        KubeCluster.from_kubeconfig(kubeconfig=tmp_path / "nope")


def test_current_context_is_used_and_not_changed(write_kubeconfig, fake_api):
    path = write_kubeconfig(fake_api.url, "kind-labs")
    before = path.read_text()
    c = KubeCluster.from_kubeconfig(kubeconfig=path)
    assert (c.context, c.kind_name, c.backend) == ("kind-labs", "labs", "kubeconfig")
    assert path.read_text() == before
    c.close()


def test_from_kind_creates_a_missing_cluster(runner, fake_api, private_cache):
    kind_machine(runner, "labs", kubeconfig=kubeconfig_text(fake_api.url, "kind-labs"))
    runner.on("kind", "get", "clusters", err="No kind clusters found.")
    c = KubeCluster.from_kind("labs", kind=Kind(runner=runner), display=False)
    kubeconfig = private_cache / "kind-labs.kubeconfig"
    assert runner.calls[:3] == [["docker", "version", "--format", "{{.Server.Version}}"],
                                ["kind", "version"], ["kind", "get", "clusters"]]
    assert runner.calls[3][:7] == ["kind", "create", "cluster", "--name", "labs",
                                   "--kubeconfig", str(kubeconfig)]
    assert runner.calls[4] == ["kind", "get", "kubeconfig", "--name", "labs"]
    assert (c.backend, c.kind_name, c.kubeconfig) == ("kind", "labs", kubeconfig)
    assert repr(c) == f'<KubeCluster kind "labs" {fake_api.url}>'
    assert fake_api.requests == []           # connecting sends nothing
    c.close()


def test_from_kind_without_create_says_how_to_make_it(runner):
    kind_machine(runner, "labs")
    with pytest.raises(ClusterUnavailable, match="python -m labsupport cluster up --name other"):
        KubeCluster.from_kind("other", create=False, kind=Kind(runner=runner))
    assert not any(call[:2] == ["kind", "create"] for call in runner.calls)


def test_from_kind_without_docker(runner):
    runner.on("docker", rc=127)
    with pytest.raises(ClusterUnavailable, match="Docker is not installed"):
        KubeCluster.from_kind("labs", kind=Kind(runner=runner))


def test_connect_kind_goes_through_from_kind(monkeypatch):
    import labsupport as ls

    seen = {}
    monkeypatch.setattr(KubeCluster, "from_kind", classmethod(
        lambda cls, **options: seen.setdefault("kind", options)))
    monkeypatch.setattr(KubeCluster, "from_kubeconfig", classmethod(
        lambda cls, **options: seen.setdefault("kubeconfig", options)))
    ls.connect("kind", name="labsupport-test")
    ls.connect("kubeconfig", context="work")
    assert seen == {"kind": {"name": "labsupport-test"}, "kubeconfig": {"context": "work"}}


def test_import_labsupport_loads_no_kubernetes_client():
    code = ("import sys, labsupport, labsupport.kube; "
            "print('kubernetes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_server_version_reads_the_version_endpoint(connect, fake_api):
    fake_api.on("GET", "/version", {"major": "1", "minor": "37", "gitVersion": "v1.37.0",
                                    "platform": "linux/amd64"})
    assert connect().server_version()["gitVersion"] == "v1.37.0"
    assert fake_api.seen("GET", "/version")


def test_warning_headers_become_api_warnings(connect, fake_api):
    from labsupport.deprecations import APIWarning

    path = "/api/v1/namespaces/shop/endpoints/web"
    text = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
    fake_api.on("GET", path, {"kind": "Endpoints", "metadata": {"name": "web"}})
    fake_api.warnings[("GET", path)] = [text, "second warning"]
    with pytest.warns(APIWarning) as seen:
        connect().get("endpoints/web", namespace="shop")
    assert [str(w.message) for w in seen] == [text, "second warning"]


# --- patch, evict, and the kubectl verbs built on them ----------------------------


@pytest.mark.parametrize("type_, ctype, body", [
    ("strategic", "application/strategic-merge-patch+json",
     {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}}),
    ("merge", "application/merge-patch+json", {"metadata": {"labels": {"tier": None}}}),
    ("json", "application/json-patch+json",
     [{"op": "replace", "path": "/spec/replicas", "value": 4}]),
])
def test_patch_sends_the_content_type_of_its_type(connect, fake_api, type_, ctype, body):
    fake_api.on("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", _dep())
    out = connect().patch("deployment/web", body, namespace="shop", type=type_)
    assert out["kind"] == "Deployment"
    (req,) = fake_api.seen("PATCH")
    assert req.headers["content-type"] == ctype
    assert req.body == body


def test_a_json_patch_the_server_cannot_apply_is_patch_failed(connect, fake_api):
    from labsupport.patching import PatchFailed

    fake_api.on("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", (422, {
        "kind": "Status", "code": 422, "reason": "Invalid",
        "message": "the server rejected our request due to an error in our request",
        "details": {"causes": [{"message": "testing value /spec/replicas failed: test failed"}]}}))
    with pytest.raises(PatchFailed) as err:
        connect().patch("deployment/web", [{"op": "test", "path": "/spec/replicas",
                                            "value": 1}], type="json")
    assert err.value.cause == "testing value /spec/replicas failed: test failed"


def test_evict_posts_an_eviction_and_429_is_too_many_requests(connect, fake_api):
    from labsupport.errors import TooManyRequests

    path = "/api/v1/namespaces/shop/pods/web-1/eviction"
    fake_api.on("POST", path, (429, {
        "kind": "Status", "code": 429, "reason": "TooManyRequests",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "details": {"causes": [{"reason": "DisruptionBudget", "message":
                                "The disruption budget web needs 2 healthy pods and has 2 "
                                "currently"}]}}), {"kind": "Status", "status": "Success"})
    c = connect()
    with pytest.raises(TooManyRequests) as err:
        c.evict("web-1", namespace="shop")
    assert err.value.causes == ("The disruption budget web needs 2 healthy pods and has 2 "
                                "currently",)
    c.evict("pod/web-1", namespace="shop")
    first, _ = fake_api.seen("POST", path)
    assert first.body == {"apiVersion": "policy/v1", "kind": "Eviction",
                          "metadata": {"name": "web-1", "namespace": "shop"}}


def test_cordon_is_a_strategic_patch_of_unschedulable(connect, fake_api):
    fake_api.on("GET", "/api/v1/nodes/labs-worker", {"metadata": {"name": "labs-worker"},
                                                     "spec": {}})
    assert connect().cordon("labs-worker") == "node/labs-worker cordoned"
    (req,) = fake_api.seen("PATCH")
    assert req.path == "/api/v1/nodes/labs-worker"
    assert req.headers["content-type"] == "application/strategic-merge-patch+json"
    assert req.body == {"spec": {"unschedulable": True}}
