"""Server-side apply on the served simulator: managedFields, conflicts, force, removals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import yaml

import labsupport as ls
from labsupport.errors import ClusterUnavailable
from labsupport.sim.httpapi import ssa

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web{extra}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx:1.27}}]
"""
PATH = "/apis/apps/v1/namespaces/default/deployments/web"


@pytest.fixture
def c(tmp_path):
    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    cluster = ls.connect(nodes=1, seed=0)
    cluster.serve(speed=0)
    cluster.tmp = tmp_path
    yield cluster
    cluster.close()


def _write(c, name: str, text: str) -> str:
    path = c.tmp / name
    path.write_text(text)
    return str(path)


def _request(c, method: str, path: str, body: str | None = None, query: str = "",
             content_type: str = "application/apply-patch+yaml"):
    server = c._server
    req = urllib.request.Request(server.url + path + query, method=method,
                                 data=None if body is None else body.encode())
    req.add_header("Authorization", f"Bearer {server.token}")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10, context=server.client_context()) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _managers(obj: dict) -> dict:
    return {(e["manager"], e["operation"]): ssa.from_fields_v1(e["fieldsV1"])
            for e in obj["metadata"].get("managedFields") or ()}


def test_a_field_set_by_client_side_apply_conflicts_until_forced(c):
    assert c.kubectl(f"apply -f {_write(c, 'two.yaml', DEPLOY.format(replicas=2, extra=''))}").ok
    three = _write(c, "three.yaml", DEPLOY.format(replicas=3, extra=""))
    run = c.kubectl(f"apply --server-side -f {three}")
    assert run.returncode == 1
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
            "apps/v1: .spec.replicas") in run.stderr
    assert c.get("deployment/web")["spec"]["replicas"] == 2   # nothing changed
    code, status = _request(c, "PATCH", PATH, DEPLOY.format(replicas=3, extra=""),
                            "?fieldManager=kubectl")
    assert code == 409 and status["reason"] == "Conflict"
    assert status["details"]["causes"] == [{
        "type": "FieldManagerConflict", "field": ".spec.replicas",
        "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]
    forced = c.kubectl(f"apply --server-side --force-conflicts -f {three}")
    assert forced.ok and "deployment.apps/web serverside-applied" in forced.stdout
    assert c.get("deployment/web")["spec"]["replicas"] == 3
    code, obj = _request(c, "GET", PATH)
    owners = _managers(obj)
    assert ("f:spec", "f:replicas") in owners[("kubectl", "Apply")]
    assert all(("f:spec", "f:replicas") not in fields for key, fields in owners.items()
               if key != ("kubectl", "Apply"))
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == "kubectl")
    assert (entry["apiVersion"], entry["fieldsType"]) == ("apps/v1", "FieldsV1")
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"web"}'] == {".": {}, "f:image": {}, "f:name": {}}


def test_the_same_value_is_no_conflict_and_a_dropped_field_is_removed(c):
    with_label = DEPLOY.format(replicas=2, extra=", tier: front")
    code, _ = _request(c, "PATCH", PATH, with_label, "?fieldManager=alice")
    assert code == 201
    # bob applies the same replicas: shared ownership, no conflict
    code, obj = _request(c, "PATCH", PATH, DEPLOY.format(replicas=2, extra=", tier: front"),
                         "?fieldManager=bob")
    assert code == 200
    owners = _managers(obj)
    assert ("f:spec", "f:replicas") in owners[("alice", "Apply")] & owners[("bob", "Apply")]
    # bob drops the label: alice still owns it, so it stays
    code, obj = _request(c, "PATCH", PATH, DEPLOY.format(replicas=2, extra=""),
                         "?fieldManager=bob")
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "front"}
    # alice drops it too: owned by no one now, it goes
    code, obj = _request(c, "PATCH", PATH, DEPLOY.format(replicas=2, extra=""),
                         "?fieldManager=alice")
    assert code == 200 and obj["metadata"]["labels"] == {"app": "web"}
    # a different value owned by bob (an Apply) names no apiVersion
    code, status = _request(c, "PATCH", PATH, DEPLOY.format(replicas=5, extra=""),
                            "?fieldManager=carol")
    assert code == 409 and status["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\n'
        'conflicts with "bob":\n- .spec.replicas')


def test_an_update_takes_the_fields_it_changes(c):
    _request(c, "PATCH", PATH, DEPLOY.format(replicas=2, extra=""), "?fieldManager=alice")
    assert c.kubectl("scale deployment web --replicas=4").ok
    code, obj = _request(c, "GET", PATH)
    owners = {(e["manager"], e["operation"], e.get("subresource", "")): e
              for e in obj["metadata"]["managedFields"]}
    scaler = owners[("kubectl", "Update", "scale")]
    assert scaler["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert ("f:spec", "f:replicas") not in ssa.from_fields_v1(
        owners[("alice", "Apply", "")]["fieldsV1"])
    # alice may now apply replicas 2 again only by force
    code, status = _request(c, "PATCH", PATH, DEPLOY.format(replicas=2, extra=""),
                            "?fieldManager=alice")
    assert code == 409 and status["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using '
        "apps/v1: .spec.replicas")


def test_a_service_made_by_client_side_apply_moves_to_server_side_apply_quietly(c):
    path = _write(c, "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                  "spec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")
    assert c.kubectl(f"apply -f {path}").ok
    run = c.kubectl(f"apply --server-side -f {path}")
    assert run.ok and run.stderr == "" and "service/web serverside-applied" in run.stdout
    shown = yaml.safe_load(c.kubectl("get svc web -o yaml --show-managed-fields").stdout)
    managers = {e["manager"]: e for e in shown["metadata"]["managedFields"]}
    assert "kubectl-client-side-apply" not in managers   # kubectl handed its fields over
    assert managers["kubectl"]["operation"] == "Apply"
    assert managers["kubectl"]["fieldsV1"]["f:spec"]["f:ports"] == {
        'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}}}
    assert shown["metadata"]["generation"] == 1
    assert c.kubectl(f"apply -f {path}").stdout == "service/web unchanged\n"


def test_kubecluster_applies_as_labsupport_with_force(c):
    k = ls.connect("kubeconfig", kubeconfig=c.kubeconfig, display=False)
    try:
        assert c.kubectl(
            f"apply -f {_write(c, 'two.yaml', DEPLOY.format(replicas=2, extra=''))}").ok
        k.apply(DEPLOY.format(replicas=3, extra=""))
        obj = k.get("deployment/web")
        assert obj["spec"]["replicas"] == 3
        assert ("f:spec", "f:replicas") in _managers(obj)[("labsupport", "Apply")]
    finally:
        k.close()


def test_apply_refuses_managed_fields_and_needs_a_manager(c):
    code, status = _request(c, "PATCH", PATH, DEPLOY.format(replicas=2, extra=""))
    assert code == 400 and status["message"] == \
        "PATCH request with apply-patch+yaml must have a fieldManager"
    body = yaml.safe_load(DEPLOY.format(replicas=2, extra=""))
    body["metadata"]["managedFields"] = [{"manager": "x"}]
    code, status = _request(c, "PATCH", PATH, json.dumps(body), "?fieldManager=a")
    assert code == 400 and status["message"] == "metadata.managedFields must be nil"
