"""Served verbs of everyday kubectl: logs -f, get events -w, --dry-run=server, deletecollection."""

from __future__ import annotations

import json
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


@pytest.fixture
def c():
    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    cluster = ls.connect(nodes=1, seed=0)
    yield cluster
    cluster.close()


def _request(c, method: str, path: str):
    server = c._server
    req = urllib.request.Request(server.url + path, method=method)
    req.add_header("Authorization", f"Bearer {server.token}")
    try:
        with urllib.request.urlopen(req, timeout=10, context=server.client_context()) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_logs_follow_streams_until_the_container_ends(c):
    c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"},
             "spec": {"restartPolicy": "Never", "containers": [
                 {"name": "job", "image": "busybox:1.36",
                  "command": ["sh", "-c", "echo hello; sleep 20"]}]}})
    c.advance(3)
    c.serve(speed=10)
    run = c.kubectl("logs -f job", timeout=30)
    # A follow that did not end with the container would be stopped at the timeout and
    # not be ok; when it returns, the container has ended.
    assert run.ok and run.stdout == "hello\n"
    assert c.get("pod/job")["status"]["phase"] == "Succeeded"
    run = c.kubectl("logs -f nope")
    assert run.returncode == 1 and 'pods "nope" not found' in run.stderr


def test_get_events_watch_shows_new_events(c):
    c.serve(speed=10)

    def later():
        time.sleep(1.0)
        c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}})

    threading.Thread(target=later, daemon=True).start()
    run = c.kubectl("get events -w --request-timeout=3s", timeout=30)
    rows = [line.split() for line in run.stdout.splitlines()[1:]]
    reasons = [r[2] for r in rows]
    assert {"Scheduled", "Pulling", "Started"} <= set(reasons)
    assert rows[reasons.index("Scheduled")][3] == "pod/p"


def test_server_dry_runs_change_nothing(c, tmp_path):
    c.apply(WEB)
    c.advance(30)
    c.serve(speed=0)
    second = dict(WEB, metadata={"name": "api"})
    path = tmp_path / "api.json"
    path.write_text(json.dumps(second))
    run = c.kubectl(f"apply --dry-run=server -f {path}")
    assert run.ok and run.stdout == "deployment.apps/api created (server dry run)\n"
    run = c.kubectl(f"create --dry-run=server -f {path} -o jsonpath={{.spec.strategy.type}}")
    assert run.ok and run.stdout == "RollingUpdate"
    assert [d["metadata"]["name"] for d in c.list("deployments")] == ["web"]
    run = c.kubectl(["patch", "deployment", "web", "--dry-run=server", "-p",
                     '{"spec":{"replicas":5}}', "-o", "jsonpath={.spec.replicas}"])
    assert run.ok and run.stdout == "5"
    assert c.get("deployment/web")["spec"]["replicas"] == 2
    pod = c.pods()[0].name
    run = c.kubectl(f"delete pod {pod} --dry-run=server")
    assert run.ok and run.stdout == f'pod "{pod}" deleted from default namespace (server dry run)\n'
    assert pod in {p.name for p in c.pods()}
    run = c.kubectl(f"create --dry-run=server -f {tmp_path / 'api.json'}")
    assert run.ok
    code, status = _request(c, "DELETE", "/api/v1/namespaces/default/pods/x?dryRun=Some")
    assert code == 400 and "Invalid dry run value" in status["message"]


def test_deletecollection_deletes_what_the_selector_picks(c):
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        c.apply({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": name, "labels": {"team": team}}})
    c.serve(speed=0)
    code, answer = _request(c, "DELETE", "/api/v1/namespaces/default/configmaps"
                                         "?labelSelector=team%3Dx")
    assert code == 200 and answer["kind"] == "ConfigMapList"
    assert [i["metadata"]["name"] for i in answer["items"]] == ["a", "b"]
    assert [m["metadata"]["name"] for m in c.list("configmaps")
            if m["metadata"]["name"] in "abc"] == ["c"]
    code, answer = _request(c, "DELETE", "/api/v1/namespaces")
    assert code == 405
