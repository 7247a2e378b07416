"""The simulator's Kubernetes API over HTTP, driven by the real kubectl and clients."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import labsupport as ls
from labsupport.errors import ClusterUnavailable

WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}


def _kubectl_or_skip() -> str:
    from labsupport.kube.kubectl import find_kubectl

    try:
        return find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")


@pytest.fixture(scope="module")
def served():
    c = ls.connect(nodes=2, seed=0)
    c.apply(WEB)
    c.advance(30)
    c.serve(speed=1)
    yield c
    c.close()


def _request(c, method: str, path: str, body: bytes | None = None, *, token: bool = True,
             headers: dict | None = None) -> tuple[int, dict | str, dict]:
    server = c._server
    req = urllib.request.Request(server.url + path, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {server.token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10, context=server.client_context()) as resp:
            code, raw, hdrs = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        code, raw, hdrs = err.code, err.read(), dict(err.headers)
    try:
        return code, json.loads(raw), hdrs
    except ValueError:
        return code, raw.decode(), hdrs


# --- kubectl -------------------------------------------------------------------------

def test_kubectl_version_and_get_pods_wide(served):
    _kubectl_or_skip()
    out = served.kubectl("version")
    assert out.ok and "Server Version: v1.37.0" in out.stdout
    wide = served.kubectl("get pods -o wide")
    lines = wide.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                "NOMINATED", "NODE", "READINESS", "GATES"]
    rows = [line.split() for line in lines[1:]]
    assert sorted(r[6] for r in rows) == ["node-1", "node-2"]
    assert all(r[1:4] == ["1/1", "Running", "0"] for r in rows)


def test_kubectl_get_deploy_nodes_and_yaml(served):
    _kubectl_or_skip()
    deploy = served.kubectl("get deploy").stdout.splitlines()
    assert deploy[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deploy[1].split()[:4] == ["web", "2/2", "2", "2"]
    nodes = served.kubectl("get nodes").stdout.splitlines()
    assert nodes[1].split()[:3] == ["node-1", "Ready", "<none>"]
    pod = served.pods()[0].name
    yaml_out = served.kubectl(f"get pod {pod} -o yaml").stdout
    assert "kind: Pod" in yaml_out and f"name: {pod}" in yaml_out
    missing = served.kubectl("get pod nope")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): pods "nope" not found' in missing.stderr


def test_kubectl_apply_scale_logs_delete(served, tmp_path):
    _kubectl_or_skip()
    manifest = tmp_path / "api.yaml"
    manifest.write_text(json.dumps({**WEB, "metadata": {"name": "api"}}))
    assert served.kubectl(f"apply -f {manifest}").stdout == "deployment.apps/api created\n"
    assert served.get("deployment/api")["spec"]["replicas"] == 2
    assert served.kubectl("scale deployment/api --replicas=3").stdout == \
        "deployment.apps/api scaled\n"
    assert served.get("deployment/api")["spec"]["replicas"] == 3
    pod = next(p.name for p in served.pods() if p.name.startswith("web-"))
    log = served.kubectl(f"logs {pod} --tail=1").stdout
    assert log.endswith("start worker process 29\n")
    assert served.kubectl("delete deployment api").stdout == \
        'deployment.apps "api" deleted from default namespace\n'
    with pytest.raises(ls.ObjectNotFound):
        served.get("deployment/api")


def test_kubectl_watch_sees_a_change(served):
    _kubectl_or_skip()
    out: list = []
    t = threading.Thread(target=lambda: out.append(
        served.kubectl("get configmaps -w --request-timeout=3s")))
    t.start()
    time.sleep(1.0)
    served.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seen"}})
    t.join(20)
    assert out and out[0].ok, out
    assert "seen" in out[0].stdout
    served.delete("configmap/seen")


def test_kubectl_exec_has_no_process(served):
    _kubectl_or_skip()
    pod = served.pods()[0].name
    run = served.kubectl(f"exec {pod} -- ls")
    assert run.returncode == 1
    assert "the simulator has no processes" in run.stderr


# --- HTTP, safety ---------------------------------------------------------------------

def test_unauthenticated_is_401_and_version_is_open(served):
    code, body, _ = _request(served, "GET", "/api/v1/pods", token=False)
    assert code == 401 and body["reason"] == "Unauthorized" and body["kind"] == "Status"
    code, body, _ = _request(served, "GET", "/version", token=False)
    assert code == 200 and body["gitVersion"] == "v1.37.0"


def test_malformed_oversized_and_unknown_requests(served):
    path = "/api/v1/namespaces/default/configmaps"
    code, body, _ = _request(served, "POST", path, b"{not json")
    assert (code, body["reason"]) == (400, "BadRequest")
    big = b'{"x": "' + b"a" * (3 * 1024 * 1024 + 10) + b'"}'
    code, body, _ = _request(served, "POST", path, big)
    assert (code, body["reason"]) == (413, "RequestEntityTooLarge")
    assert body["message"] == "Request entity too large: limit is 3145728"
    code, body, _ = _request(served, "GET", "/api/v1/widgets")
    assert (code, body["reason"]) == (404, "NotFound")
    code, body, _ = _request(served, "GET", "/api/v1/pods?fieldSelector=spec.color%3Dred")
    assert (code, body["message"]) == (400, "field label not supported: spec.color")
    assert not served._server.errors
    assert served.kubectl("version").ok if _has_kubectl() else True  # still serving


def _has_kubectl() -> bool:
    try:
        _kubectl_or_skip()
        return True
    except pytest.skip.Exception:
        return False


def test_conflict_invalid_and_already_exists(served):
    path = "/api/v1/namespaces/default/configmaps"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "1"}}
    code, made, _ = _request(served, "POST", path, json.dumps(cm).encode())
    assert code == 201
    code, body, _ = _request(served, "POST", path, json.dumps(cm).encode())
    assert (code, body["reason"], body["message"]) == \
        (409, "AlreadyExists", 'configmaps "c1" already exists')
    stale = dict(made, data={"a": "2"})
    _request(served, "PUT", f"{path}/c1", json.dumps(stale).encode())
    code, body, _ = _request(served, "PUT", f"{path}/c1", json.dumps(stale).encode())
    assert (code, body["reason"]) == (409, "Conflict")
    assert body["message"].startswith('Operation cannot be fulfilled on configmaps "c1"')
    bad = {**WEB, "metadata": {"name": "bad"}, "spec": {**WEB["spec"], "replicas": -1}}
    code, body, _ = _request(served, "POST", "/apis/apps/v1/namespaces/default/deployments",
                             json.dumps(bad).encode())
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["details"]["kind"] == "Deployment"
    assert body["details"]["causes"][0]["field"] == "spec.replicas"
    code, _, _ = _request(served, "DELETE", f"{path}/c1")
    assert code == 200 and served.list("configmaps", selector=None) == [
        o for o in served.list("configmaps") if o["metadata"]["name"] != "c1"]


def test_list_pages_selectors_and_table(served):
    code, page, _ = _request(served, "GET", "/api/v1/namespaces/default/pods?limit=1")
    assert code == 200 and len(page["items"]) == 1 and page["metadata"]["remainingItemCount"] == 1
    token = page["metadata"]["continue"]
    code, rest, _ = _request(served, "GET", f"/api/v1/namespaces/default/pods?limit=1&continue"
                                            f"={token}")
    names = [page["items"][0]["metadata"]["name"], rest["items"][0]["metadata"]["name"]]
    assert names == sorted(p.name for p in served.pods())
    node = served.pods()[0].node
    code, sel, _ = _request(served, "GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{node}"
                                           "&labelSelector=app%3Dweb")
    assert [p["spec"]["nodeName"] for p in sel["items"]] == [node]
    code, tab, _ = _request(served, "GET", "/api/v1/namespaces",
                            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert tab["kind"] == "Table"
    assert [c["name"] for c in tab["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert tab["rows"][0]["cells"][:2] == ["default", "Active"]


def test_aggregated_discovery(served):
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    code, body, hdrs = _request(served, "GET", "/apis", headers={"Accept": accept})
    assert code == 200 and hdrs["Content-Type"] == accept
    apps = next(g for g in body["items"] if g["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"]
    assert {s["subresource"] for s in deploy["subresources"]} == {"status", "scale"}


def test_watch_from_a_compacted_revision_is_410():
    c = ls.connect(nodes=0)
    c.serve(speed=0)
    try:
        c.store.compact()
        code, body, _ = _request(c, "GET", "/api/v1/namespaces/default/configmaps?watch=1"
                                           "&resourceVersion=1")
        event = json.loads(body.splitlines()[0]) if isinstance(body, str) else body
        assert event["type"] == "ERROR"
        assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
    finally:
        c.close()


# --- clients ---------------------------------------------------------------------------

def test_official_client_lists_pods(served):
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(served.kubeconfig))
    try:
        pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector="app=web")
        assert sorted(p.metadata.name for p in pods.items) == sorted(
            p.name for p in served.pods() if p.name.startswith("web-"))
        assert {p.status.phase for p in pods.items} == {"Running"}
    finally:
        api.close()


def test_kubecluster_on_the_simulator(served):
    k = ls.connect("kubeconfig", kubeconfig=served.kubeconfig, allow_destructive=True)
    try:
        assert k.server_version()["gitVersion"] == "v1.37.0"
        assert k.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kc"},
                        "data": {"x": "1"}}) == ["configmap/kc"]
        assert k.get("configmap/kc")["data"] == {"x": "1"}
        assert "kc" in [o["metadata"]["name"] for o in k.list("configmaps")]
        assert sorted(p.name for p in k.pods()) == sorted(p.name for p in served.pods())
        k.delete("configmap/kc")
        with pytest.raises(ls.ObjectNotFound):
            served.get("configmap/kc")
    finally:
        k.close()


# --- serving: time, locks, stopping ----------------------------------------------------

def test_time_follows_the_wall_clock_at_speed():
    c = ls.connect(nodes=0)
    c.serve(speed=20)
    try:
        start = c.now
        time.sleep(0.5)
        assert 5 <= c.now - start <= 40
        assert getattr(c.advance, "__wrapped__", None) is not None  # locked while served
    finally:
        c.close()
    assert not hasattr(c.__dict__.get("advance"), "__wrapped__")


def test_stop_serving_frees_the_port_and_the_kubeconfig():
    c = ls.connect(nodes=0)
    server = c.serve(speed=0)
    path = c.kubeconfig
    assert path.stat().st_mode & 0o777 == 0o600
    c.stop_serving()
    assert c.kubeconfig is None and not path.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    with pytest.raises(ls.Invalid, match="call c.serve"):
        c.kubectl("get pods")


def test_python_m_labsupport_sim_serve_prints_the_kubeconfig():
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "labsupport", "sim", "serve", "--nodes", "1",
                             "--for", "1"], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "export KUBECONFIG=" in out and "127.0.0.1" in out


def test_kubectl_label_cordon_drain_and_explain():
    _kubectl_or_skip()
    c = ls.connect(nodes=2, seed=1)
    c.apply(WEB)
    c.advance(30)
    c.serve(speed=5)
    try:
        assert c.kubectl("label deploy web tier=front").stdout == "deployment.apps/web labeled\n"
        assert c.get("deployment/web")["metadata"]["labels"] == {"tier": "front"}
        assert c.kubectl("cordon node-1").stdout == "node/node-1 cordoned\n"
        assert c.kubectl("get nodes").stdout.splitlines()[1].split()[:2] == \
            ["node-1", "Ready,SchedulingDisabled"]
        drained = c.kubectl("drain node-2 --ignore-daemonsets --timeout=20s", timeout=40)
        assert drained.ok, drained
        assert drained.stdout.splitlines()[-1] == "node/node-2 drained"
        assert not [p for p in c.pods() if p.node == "node-2"]
        explain = c.kubectl("explain deployment.spec.replicas").stdout
        assert "FIELD: replicas <integer>" in explain
        orphan = c.kubectl("delete deployment web --cascade=orphan")
        assert orphan.ok
        assert c.list("replicasets"), "--cascade=orphan keeps the ReplicaSet"
    finally:
        c.close()
