"""metrics.k8s.io served from the simulator's metrics: kubectl top and the official client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

import labsupport as ls
from labsupport.errors import ClusterUnavailable

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "busy", "labels": {"app": "busy"}, "annotations": {
           "sim.labsupport.io/service-time": "constant:0.01",
           "sim.labsupport.io/cpu-per-request": "0.01"}},
       "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


@pytest.fixture(scope="module")
def served():
    c = ls.connect(nodes=2, seed=0)
    c.apply(POD)
    c.advance(5)
    c.send_traffic("pod/busy", rps=50, duration=60)  # about 0.5 cores for a minute
    c.serve(speed=0)
    yield c
    c.close()


def _kubectl(c, args: str):
    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    run = c.kubectl(args)
    assert run.ok, run
    return run.stdout.splitlines()


def _get(c, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(c._server.url + path)
    req.add_header("Authorization", f"Bearer {c._server.token}")
    try:
        with urllib.request.urlopen(req, timeout=10, context=c._server.client_context()) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_kubectl_top_pods(served):
    usage = served.metrics.pod_metrics("default")[0]["containers"][0]["usage"]
    assert usage["cpu"] == "501m"
    lines = _kubectl(served, "top pods")
    assert lines[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert lines[1].split()[:2] == ["busy", "501m"]
    containers = _kubectl(served, "top pod busy --containers")
    assert containers[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert containers[1].split()[:3] == ["busy", "app", "501m"]
    assert _kubectl(served, "top pods -l app=other") == []


def test_kubectl_top_nodes(served):
    node = served.pods()[0].node
    lines = _kubectl(served, "top nodes")
    assert lines[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    rows = {r.split()[0]: r.split() for r in lines[1:]}
    assert sorted(rows) == ["node-1", "node-2"]
    # 501m of a 4-core node is 12 %.
    assert rows[node][1:3] == ["501m", "12%"]


def test_metrics_api_over_http(served):
    code, nodes = _get(served, "/apis/metrics.k8s.io/v1beta1/nodes")
    assert code == 200 and nodes["kind"] == "NodeMetricsList"
    assert nodes["items"][0]["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
    code, pod = _get(served, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy")
    assert code == 200 and pod["kind"] == "PodMetrics" and pod["window"] == "15s"
    code, body = _get(served, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope")
    assert (code, body["reason"], body["message"]) == \
        (404, "NotFound", 'pods.metrics.k8s.io "nope" not found')
    code, group = _get(served, "/apis/metrics.k8s.io")
    assert code == 200 and group["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"
    code, groups = _get(served, "/apis")
    assert "metrics.k8s.io" in [g["name"] for g in groups["groups"]]


def test_official_client_reads_metrics(served):
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(served.kubeconfig))
    try:
        custom = client.CustomObjectsApi(api)
        pods = custom.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default",
                                                    "pods", label_selector="app=busy")
        assert [p["metadata"]["name"] for p in pods["items"]] == ["busy"]
        node = custom.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "node-2")
        assert node["kind"] == "NodeMetrics"
    finally:
        api.close()
