"""The real backend on a real kind cluster (``pytest -m kind``; CI: .github/workflows/kind.yml).

These run only under ``-m kind`` and skip with a one-line reason when docker
or kind is missing. They cover what only the real backend does; the
behaviour both backends share is tested by tests/contract.
"""

from __future__ import annotations

import os
import uuid

import pytest

from labsupport.errors import ClusterUnavailable, ObjectNotFound
from labsupport.kube import Kind, KubeCluster
from labsupport.kube.safety import why_not_ours

pytestmark = pytest.mark.kind

CLUSTER = os.environ.get("LABSUPPORT_TEST_CLUSTER", "labsupport-test")
# A tiny image that every kind node can pull; it only sleeps.
PAUSE = "registry.k8s.io/pause:3.10"


@pytest.fixture(scope="module")
def kind_cluster():
    try:
        Kind().require()
    except ClusterUnavailable as err:
        pytest.skip(f"needs docker and kind: {err.what}")
    c = KubeCluster.from_kind(CLUSTER, display=False)
    yield c
    c.close()


@pytest.fixture
def namespace(kind_cluster):
    ns = f"kube-test-{uuid.uuid4().hex[:6]}"
    kind_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    yield ns
    kind_cluster.delete(f"namespace/{ns}")


def _deployment(replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": PAUSE}]}}}}


def test_our_kind_cluster_passes_the_safety_checks(kind_cluster):
    assert why_not_ours(kind_cluster.kind_name, kind_cluster.host, kind_cluster.kind) is None


def test_apply_rollout_scale_kill_delete(kind_cluster, namespace):
    c = kind_cluster
    assert c.apply(_deployment(), namespace=namespace) == ["deployment/web"]
    assert "successfully rolled out" in c.wait_for_rollout("deployment/web", timeout=180,
                                                           namespace=namespace)
    c.scale("deployment/web", 3, namespace=namespace)
    c.wait_for_rollout("deployment/web", timeout=180, namespace=namespace)
    pods = c.pods(namespace, selector="app=web")
    assert len(pods) == 3 and all(p.node for p in pods)
    victim = pods[0].name
    c.kill_pod(victim, namespace=namespace)
    c.wait_until(lambda c: victim not in {p.name for p in c.pods(namespace)}
                 and len(c.pods(namespace, selector="app=web")) == 3, timeout=120,
                 what="the ReplicaSet to replace the killed pod")
    assert any(e.reason == "ScalingReplicaSet" for e in c.events(namespace))
    c.delete("deployment/web", namespace=namespace)
    c.wait_until(lambda c: not c.list("deployments", namespace), timeout=60)
    with pytest.raises(ObjectNotFound):
        c.get("deployment/web", namespace=namespace)


@pytest.mark.slow
def test_fail_node_makes_it_unknown_and_restore_brings_it_back(kind_cluster):
    c = kind_cluster
    workers = [n.name for n in c.nodes() if "control-plane" not in n.name]
    if not workers:
        pytest.skip("the cluster has no worker node to fail")
    node = workers[-1]
    c.fail_node(node)
    try:
        # node-monitor-grace-period is 50 s since v1.32.
        c.wait_until(lambda c: {n.name: n.ready for n in c.nodes()}[node] is None,
                     timeout=180, what=f"{node} to turn Ready=Unknown")
    finally:
        c.restore_node(node)
    c.wait_until(lambda c: {n.name: n.ready for n in c.nodes()}[node] is True, timeout=180,
                 what=f"{node} to be Ready again")


@pytest.mark.slow
def test_metrics_server_serves_node_metrics(kind_cluster):
    kind_cluster.install_metrics_server(timeout=300)
    metrics = kind_cluster.wait_until(
        lambda c: c.api.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes").get("items"),
        timeout=120, what="node metrics")
    assert {m["metadata"]["name"] for m in metrics} == {n.name for n in kind_cluster.nodes()}
