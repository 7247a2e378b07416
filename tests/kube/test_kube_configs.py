"""The kind configs, the metrics-server manifest, the Dockerfile and the CI workflow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from labsupport.kube.images import COURSE_IMAGE, DOCKERFILE
from labsupport.kube.kind import CONFIGS_DIR, cluster_configs
from labsupport.kube.metrics_server import MANIFEST
from labsupport.version import KIND_NODE_IMAGE

ROOT = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$")
ROLES = {
    "single-node": ["control-plane"],
    "labs": ["control-plane", "worker", "worker", "worker"],
    "nodeport": ["control-plane", "worker", "worker"],
}


def _config(name: str) -> dict:
    return yaml.safe_load((CONFIGS_DIR / f"{name}.yaml").read_text())


def test_every_config_is_known():
    assert sorted(ROLES) == cluster_configs()


@pytest.mark.parametrize("name", sorted(ROLES))
def test_config_is_a_kind_cluster_with_the_expected_roles(name):
    cfg = _config(name)
    assert cfg["kind"] == "Cluster"
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in cfg["nodes"]] == ROLES[name]


@pytest.mark.parametrize("name", sorted(ROLES))
def test_node_image_is_pinned_by_digest_and_the_same_on_every_node(name):
    images = {n.get("image") for n in _config(name)["nodes"]}
    assert len(images) == 1
    (image,) = images
    assert PINNED.match(image), image
    assert image == KIND_NODE_IMAGE


def test_nodeport_maps_the_node_port_to_the_host():
    mappings = [m for n in _config("nodeport")["nodes"] for m in n.get("extraPortMappings", ())]
    assert mappings, "the nodeport config must map a port"
    for m in mappings:
        assert m["containerPort"] == m["hostPort"] == 30080
        assert 30000 <= m["containerPort"] <= 32767      # the NodePort range
        assert m.get("protocol", "TCP") == "TCP"


def test_metrics_server_manifest_is_complete_and_made_for_kind():
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    kinds = sorted({d["kind"] for d in docs})
    assert kinds == ["APIService", "ClusterRole", "ClusterRoleBinding", "Deployment",
                     "RoleBinding", "Service", "ServiceAccount"]
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert "--kubelet-insecure-tls" in container["args"]
    assert re.match(r"registry\.k8s\.io/metrics-server/metrics-server:v0\.7\.\d+@sha256:"
                    r"[0-9a-f]{64}$", container["image"])
    (api,) = [d for d in docs if d["kind"] == "APIService"]
    assert api["metadata"]["name"] == "v1beta1.metrics.k8s.io"
    assert api["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system"}
    for d in docs:
        if d["kind"] in ("ServiceAccount", "Service", "Deployment", "RoleBinding"):
            assert d["metadata"]["namespace"] == "kube-system"


def test_dockerfile_builds_the_course_image():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.12-slim$", text, re.MULTILINE)
    assert "COPY labsupport ./labsupport" in text
    assert COURSE_IMAGE in text and not COURSE_IMAGE.endswith(":latest")


def test_ci_workflow_makes_a_kind_cluster_and_runs_the_kind_tests():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "kind.yml").read_text())
    steps = wf["jobs"]["kind"]["steps"]
    (make,) = [s for s in steps if str(s.get("uses", "")).startswith("helm/kind-action")]
    assert make["with"]["config"] == "clusters/kind/labs.yaml"
    assert make["with"]["cluster_name"] == wf["jobs"]["kind"]["env"]["LABSUPPORT_TEST_CLUSTER"]
    assert any("pytest -m kind tests" in s.get("run", "") for s in steps)
