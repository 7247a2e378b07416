"""metrics-server, the course image, and `python -m labsupport cluster up|down|status`."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from labsupport.__main__ import main
from labsupport.errors import WaitTimeout
from labsupport.kube import COURSE_IMAGE, Kind, load_course_image
from labsupport.kube.images import DOCKERFILE
from labsupport.kube.kind import CONFIGS_DIR

from .conftest import kind_machine, kubeconfig_text

DEPLOYMENT = "/apis/apps/v1/namespaces/kube-system/deployments/metrics-server"
APISERVICE = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"


def _serve_metrics_server(fake_api, available=("False", "True")):
    fake_api.on("GET", "/apis/apiregistration.k8s.io/v1", {"resources": [
        {"name": "apiservices", "kind": "APIService", "namespaced": False}]})
    fake_api.on("GET", DEPLOYMENT, {
        "kind": "Deployment", "metadata": {"name": "metrics-server", "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                   "availableReplicas": 1}})
    fake_api.on("GET", APISERVICE, *[{"status": {"conditions": [
        {"type": "Available", "status": s}]}} for s in available])


# --- metrics-server -----------------------------------------------------------


def test_install_metrics_server_applies_then_waits_for_the_metrics_api(connect, fake_api):
    _serve_metrics_server(fake_api)
    msg = connect().install_metrics_server(timeout=30)
    assert "HorizontalPodAutoscaler" in msg
    patches = fake_api.seen("PATCH")
    assert len(patches) == 9          # every object of the manifest
    assert patches[-1].path == APISERVICE
    assert len(fake_api.seen("GET", APISERVICE)) == 2


def test_metrics_server_that_never_answers_times_out(connect, fake_api):
    _serve_metrics_server(fake_api, available=("False",))
    with pytest.raises(WaitTimeout, match="v1beta1.metrics.k8s.io to be Available"):
        connect().install_metrics_server(timeout=0.05)


# --- the course image ---------------------------------------------------------


def test_course_image_is_built_when_missing_then_loaded(runner):
    kind_machine(runner, "labs")
    runner.on("docker", "image", "inspect", rc=1, err="Error: No such image")
    load_course_image("labs", kind=Kind(runner=runner))
    docker_and_load = [c for c in runner.calls if c[:2] in (["docker", "build"],
                                                             ["kind", "load"])]
    assert docker_and_load == [
        ["docker", "build", "-t", COURSE_IMAGE, "-f", str(DOCKERFILE), str(DOCKERFILE.parents[2])],
        ["kind", "load", "docker-image", COURSE_IMAGE, "--name", "labs"]]


def test_course_image_present_is_only_loaded(runner):
    kind_machine(runner, "labs")
    runner.on("docker", "image", "inspect", out="[{}]")
    load_course_image("labs", kind=Kind(runner=runner))
    assert not any(c[:2] == ["docker", "build"] for c in runner.calls)


# --- python -m labsupport cluster ... ----------------------------------------


def _run(runner, *argv):
    out = io.StringIO()
    code = main(list(argv), kind=Kind(runner=runner), out=out)
    return code, out.getvalue()


def test_up_creates_a_missing_cluster_from_the_labs_config(runner, private_cache):
    kind_machine(runner, "labs", kubeconfig="apiVersion: v1\nkind: Config\n")
    runner.on("kind", "get", "clusters", err="No kind clusters found.")
    code, out = _run(runner, "cluster", "up")
    assert code == 0
    create = [c for c in runner.calls if c[:3] == ["kind", "create", "cluster"]]
    assert create == [["kind", "create", "cluster", "--name", "labs", "--kubeconfig",
                       str(private_cache / "kind-labs.kubeconfig"), "--config",
                       str(CONFIGS_DIR / "labs.yaml"), "--wait", "120s"]]
    assert f"kubectl --kubeconfig {private_cache / 'kind-labs.kubeconfig'} get nodes" in out


def test_up_with_another_name_and_config(runner, private_cache):
    kind_machine(runner, "solo", kubeconfig="apiVersion: v1\n")
    runner.on("kind", "get", "clusters", out="")
    code, _ = _run(runner, "cluster", "up", "--name", "solo", "--config", "single-node",
                   "--wait", "30s")
    assert code == 0
    (create,) = [c for c in runner.calls if c[:2] == ["kind", "create"]]
    assert create[-4:] == ["--config", str(CONFIGS_DIR / "single-node.yaml"), "--wait", "30s"]


def test_up_restarts_a_stopped_cluster_instead_of_creating_it(runner):
    kind_machine(runner, "labs", kubeconfig="apiVersion: v1\n")
    runner.on("docker", "ps", out="labs-control-plane\texited\nlabs-worker\tpaused\n"
                                  "labs-worker2\trunning\n")
    code, out = _run(runner, "cluster", "up")
    assert code == 0
    assert ["docker", "start", "labs-control-plane"] in runner.calls
    assert ["docker", "unpause", "labs-worker"] in runner.calls
    assert not any(c[:2] == ["kind", "create"] for c in runner.calls)
    assert "exists" in out


def test_up_with_metrics_server(runner, fake_api):
    kind_machine(runner, "labs", kubeconfig=kubeconfig_text(fake_api.url, "kind-labs"))
    _serve_metrics_server(fake_api, available=("True",))
    code, out = _run(runner, "cluster", "up", "--metrics-server")
    assert code == 0, out
    assert "metrics-server is running" in out
    assert len(fake_api.seen("PATCH")) == 9


def test_down_deletes_and_down_again_is_fine(runner, private_cache):
    kind_machine(runner, "labs")
    code, out = _run(runner, "cluster", "down")
    assert code == 0 and "deleted" in out
    assert ["kind", "delete", "cluster", "--name", "labs", "--kubeconfig",
            str(private_cache / "kind-labs.kubeconfig")] in runner.calls
    runner.on("kind", "get", "clusters", out="")
    code, out = _run(runner, "cluster", "down")
    assert code == 0 and "nothing to delete" in out


def test_status_lists_nodes(runner, fake_api):
    kind_machine(runner, "labs", kubeconfig=kubeconfig_text(fake_api.url, "kind-labs"))
    fake_api.on("GET", "/api/v1/pods", {"items": []})
    fake_api.on("GET", "/api/v1/nodes", {"items": [{
        "metadata": {"name": "labs-control-plane"},
        "status": {"allocatable": {"cpu": "2", "memory": "4Gi"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}]})
    fake_api.on("GET", "/version", {"major": "1", "minor": "37", "gitVersion": "v1.37.0"})
    code, out = _run(runner, "cluster", "status")
    assert code == 0, out
    assert "kind clusters: labs" in out
    assert "Kubernetes v1.37.0" in out and "made for" not in out
    assert "<Node labs-control-plane Ready" in out
    assert "container labs-worker3: running" in out


def test_status_says_when_the_cluster_is_not_the_course_release(runner, fake_api):
    kind_machine(runner, "labs", kubeconfig=kubeconfig_text(fake_api.url, "kind-labs"))
    fake_api.on("GET", "/api/v1/pods", {"items": []})
    fake_api.on("GET", "/api/v1/nodes", {"items": []})
    fake_api.on("GET", "/version", {"major": "1", "minor": "32", "gitVersion": "v1.32.2"})
    code, out = _run(runner, "cluster", "status")
    assert code == 0, out
    assert "Kubernetes v1.32.2" in out
    assert "the course is made for Kubernetes 1.37" in out
    assert "python -m labsupport cluster down --name labs" in out


def test_status_of_a_missing_cluster_says_how_to_make_it(runner):
    kind_machine(runner, "labs")
    code, out = _run(runner, "cluster", "status", "--name", "other")
    assert code == 1
    assert "python -m labsupport cluster up --name other" in out


def test_status_of_a_cluster_that_does_not_answer(runner, free_port):
    kind_machine(runner, "labs",
                 kubeconfig=kubeconfig_text(f"http://127.0.0.1:{free_port}", "kind-labs"))
    code, out = _run(runner, "cluster", "status")
    assert code == 1
    assert "does not answer" in out and "connection refused" in out


def test_missing_docker_is_an_error_with_the_fix(runner):
    runner.on("docker", rc=127)
    code, out = _run(runner, "cluster", "up")
    assert code == 1
    assert out.startswith("error: Docker is not installed")
    assert "https://docs.docker.com/get-docker/" in out


def test_bad_usage_exits_2(runner, capsys):
    with pytest.raises(SystemExit) as err:
        main(["cluster", "sideways"], kind=Kind(runner=runner))
    assert err.value.code == 2
    assert runner.calls == []


def test_python_dash_m_help():
    done = subprocess.run([sys.executable, "-m", "labsupport", "cluster", "up", "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0
    assert "--metrics-server" in done.stdout and "--config" in done.stdout
