"""Every kind / docker command the wrapper runs, with the exact argv, and its errors."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from labsupport.errors import ClusterUnavailable, Invalid
from labsupport.kube.kind import (
    CONFIGS_DIR,
    Kind,
    cluster_configs,
    config_path,
    kubeconfig_path,
    missing_cluster,
    run_command,
)

from .conftest import LABEL_FORMAT


def test_get_clusters(runner):
    runner.on("kind", "get", "clusters", out="labs\nsolo\n")
    assert Kind(runner=runner).clusters() == ["labs", "solo"]
    assert runner.calls == [["kind", "get", "clusters"]]


def test_no_clusters_is_an_empty_list(runner):
    runner.on("kind", "get", "clusters", err="No kind clusters found.\n")
    k = Kind(runner=runner)
    assert k.clusters() == []
    assert not k.exists("labs")


def test_create_uses_a_private_kubeconfig_and_waits(runner, private_cache):
    path = Kind(runner=runner).create("labs")
    assert path == private_cache / "kind-labs.kubeconfig"
    assert runner.calls == [["kind", "create", "cluster", "--name", "labs",
                             "--kubeconfig", str(path),
                             "--config", str(CONFIGS_DIR / "labs.yaml"), "--wait", "120s"]]
    assert path.parent.is_dir()


def test_create_with_another_config_image_and_wait(runner, private_cache):
    Kind(runner=runner).create("solo", config="single-node", wait="60s",
                               image="kindest/node:v1.37.0")
    assert runner.calls == [["kind", "create", "cluster", "--name", "solo",
                             "--kubeconfig", str(private_cache / "kind-solo.kubeconfig"),
                             "--config", str(CONFIGS_DIR / "single-node.yaml"),
                             "--wait", "60s", "--image", "kindest/node:v1.37.0"]]


def test_create_failure_says_what_kind_said(runner):
    runner.on("kind", "create", rc=1, err="ERROR: failed to create cluster: node(s) already exist")
    with pytest.raises(ClusterUnavailable, match="already exist"):
        Kind(runner=runner).create("labs")


def test_delete_removes_the_private_kubeconfig(runner, private_cache):
    path = kubeconfig_path("labs")
    path.parent.mkdir(parents=True)
    path.write_text("x")
    Kind(runner=runner).delete("labs")
    assert runner.calls == [["kind", "delete", "cluster", "--name", "labs",
                             "--kubeconfig", str(path)]]
    assert not path.exists()


def test_get_nodes(runner):
    runner.on("kind", "get", "nodes", out="labs-worker\nlabs-control-plane\n")
    assert Kind(runner=runner).nodes("labs") == ["labs-control-plane", "labs-worker"]
    assert runner.calls == [["kind", "get", "nodes", "--name", "labs"]]


def test_write_kubeconfig_prints_it_and_keeps_it_private(runner, private_cache):
    runner.on("kind", "get", "kubeconfig", out="apiVersion: v1\nkind: Config\n")
    path = Kind(runner=runner).write_kubeconfig("labs")
    assert runner.calls == [["kind", "get", "kubeconfig", "--name", "labs"]]
    assert path == private_cache / "kind-labs.kubeconfig"
    assert path.read_text().startswith("apiVersion: v1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_docker_image(runner):
    Kind(runner=runner).load_image("labsupport/course:0.1.0", "labs")
    assert runner.calls == [["kind", "load", "docker-image", "labsupport/course:0.1.0",
                             "--name", "labs"]]


def test_load_failure_says_how_to_build(runner):
    runner.on("kind", "load", rc=1, err='ERROR: image: "x:1" not present locally')
    with pytest.raises(ClusterUnavailable, match="docker build -t x:1"):
        Kind(runner=runner).load_image("x:1", "labs")


@pytest.mark.parametrize("method, verb", [("pause", "pause"), ("unpause", "unpause"),
                                          ("start", "start")])
def test_docker_pause_unpause_start(runner, method, verb):
    getattr(Kind(runner=runner), method)("labs-worker2")
    assert runner.calls == [["docker", verb, "labs-worker2"]]


def test_pause_failure(runner):
    runner.on("docker", "pause", rc=1, err="Error response from daemon: No such container: x")
    with pytest.raises(ClusterUnavailable, match="docker pause x failed"):
        Kind(runner=runner).pause("x")


def test_label_of_a_node_container(runner):
    runner.on("docker", "inspect", out="labs\n")
    assert Kind(runner=runner).label("labs-control-plane") == "labs"
    assert runner.calls == [["docker", "inspect", "--format", LABEL_FORMAT,
                             "labs-control-plane"]]


@pytest.mark.parametrize("answer", [(0, "<no value>\n", ""), (0, "\n", ""),
                                    (1, "", "Error: No such object: x")])
def test_no_label(runner, answer):
    runner.on("docker", "inspect", rc=answer[0], out=answer[1], err=answer[2])
    assert Kind(runner=runner).label("x") is None


def test_containers_and_states(runner):
    runner.on("docker", "ps", out="labs-worker\tpaused\nlabs-control-plane\trunning\n")
    assert Kind(runner=runner).containers("labs") == {"labs-control-plane": "running",
                                                      "labs-worker": "paused"}
    assert runner.calls == [["docker", "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=labs",
                             "--format", "{{.Names}}\t{{.State}}"]]


def test_image_exists_and_build(runner, tmp_path):
    runner.on("docker", "image", "inspect", rc=1, err="Error: No such image")
    k = Kind(runner=runner)
    assert not k.image_exists("labsupport/course:0.1.0")
    k.build_image("labsupport/course:0.1.0", tmp_path, tmp_path / "Dockerfile")
    assert runner.calls == [
        ["docker", "image", "inspect", "labsupport/course:0.1.0"],
        ["docker", "build", "-t", "labsupport/course:0.1.0", "-f", str(tmp_path / "Dockerfile"),
         str(tmp_path)]]


def test_checks_run_docker_version_and_kind_version(runner):
    runner.on("docker", "version", out="28.2.2\n").on("kind", "version", out="kind v0.33.0\n")
    k = Kind(runner=runner)
    k.require()
    assert runner.calls == [["docker", "version", "--format", "{{.Server.Version}}"],
                            ["kind", "version"]]
    assert k.check_docker() == "28.2.2"


def test_completed_process_and_bytes_are_accepted():
    def run(argv):
        return subprocess.CompletedProcess(argv, 0, stdout=b"labs\n", stderr=b"")

    assert Kind(runner=run).clusters() == ["labs"]


def test_other_program_paths(runner):
    Kind(runner=runner, kind="/opt/kind", docker="podman").pause("n")
    Kind(runner=runner, kind="/opt/kind").clusters()
    assert runner.calls == [["podman", "pause", "n"], ["/opt/kind", "get", "clusters"]]


# --- errors for each missing piece, with the command that fixes it -------------


def _missing(argv):
    raise FileNotFoundError(2, "No such file or directory", argv[0])


def test_docker_missing():
    with pytest.raises(ClusterUnavailable) as err:
        Kind(runner=_missing).require()
    assert "Docker is not installed" in str(err.value)
    assert "https://docs.docker.com/get-docker/" in err.value.fix


def test_docker_missing_as_exit_code_127(runner):
    runner.on("docker", rc=127, err="docker: command not found")
    with pytest.raises(ClusterUnavailable, match="Docker is not installed"):
        Kind(runner=runner).check_docker()


def test_docker_daemon_not_running(runner):
    runner.on("docker", "version", rc=1, out="",
              err="Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                  "Is the docker daemon running?")
    with pytest.raises(ClusterUnavailable) as err:
        Kind(runner=runner).require()
    assert "daemon is not running" in err.value.what
    assert "sudo systemctl start docker" in err.value.fix


def test_docker_permission_denied(runner):
    runner.on("docker", "version", rc=1,
              err="permission denied while trying to connect to the Docker daemon socket")
    with pytest.raises(ClusterUnavailable) as err:
        Kind(runner=runner).check_docker()
    assert "sudo usermod -aG docker $USER" in err.value.fix


def test_daemon_down_seen_through_kind(runner):
    runner.on("kind", "get", "clusters", rc=1,
              err="ERROR: failed to list clusters: command \"docker ps -a\" failed\n"
                  "Cannot connect to the Docker daemon. Is the docker daemon running?")
    with pytest.raises(ClusterUnavailable, match="daemon is not running"):
        Kind(runner=runner).clusters()


def test_kind_missing(runner):
    runner.on("docker", "version", out="28.2.2")
    runner.on("kind", rc=127, err="kind: command not found")
    with pytest.raises(ClusterUnavailable) as err:
        Kind(runner=runner).require()
    assert "kind is not installed" in err.value.what
    assert "go install sigs.k8s.io/kind@v0.33.0" in err.value.fix


def test_cluster_missing(runner):
    runner.on("kind", "get", "kubeconfig", rc=1,
              err='ERROR: could not locate any control plane nodes for cluster named "labs"')
    with pytest.raises(ClusterUnavailable) as err:
        Kind(runner=runner).write_kubeconfig("labs")
    assert str(err.value) == str(missing_cluster("labs"))
    assert err.value.fix == "python -m labsupport cluster up --name labs"


# --- names, paths and configs --------------------------------------------------


@pytest.mark.parametrize("bad", ["", "Labs", "my cluster", "-x", "a/b"])
def test_bad_cluster_names_are_refused_before_running(runner, bad):
    with pytest.raises(Invalid, match="kind cluster names"):
        Kind(runner=runner).create(bad)
    assert runner.calls == []


def test_kubeconfig_path_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("LABSUPPORT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert kubeconfig_path("labs") == tmp_path / "labsupport" / "kind-labs.kubeconfig"


def test_config_names_and_paths(tmp_path):
    assert cluster_configs() == ["labs", "nodeport", "single-node"]
    assert config_path(None) == CONFIGS_DIR / "labs.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    assert config_path(own) == own
    with pytest.raises(Invalid, match="labs, nodeport, single-node"):
        config_path("huge")
    with pytest.raises(Invalid, match='no kind config "metrics-server"'):
        config_path("metrics-server")


def test_run_command_runs_and_reports_missing_programs():
    assert run_command([sys.executable, "-c", "print('hi')"]) == (0, "hi\n", "")
    code, _, err = run_command(["labsupport-no-such-program"])
    assert code == 127 and "not found" in err
