"""check_kind: each decision of "can the kind cells run here?", without docker.

The program lookup and the command runner are injected (FakeRunner from
tests/kube/conftest.py answers docker and kind by argv prefix).
"""

from __future__ import annotations

import pytest

from labsupport.kube import KindCheck, check_kind
from labsupport.kube.readiness import SKIP_PREFIX

DAEMON_DOWN = ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
               "Is the docker daemon running?")
PERMISSION = ("permission denied while trying to connect to the Docker daemon socket at "
              "unix:///var/run/docker.sock")


def everything(prog: str) -> str:
    return f"/usr/bin/{prog}"


def only(*progs: str):
    return lambda prog: f"/usr/bin/{prog}" if prog in progs else None


@pytest.fixture
def healthy(runner):
    runner.on("docker", "version", out="27.5.1\n")
    runner.on("kind", "version", out="kind v0.33.0 go1.24 linux/amd64\n")
    runner.on("kind", "get", "clusters", out="labs\nlabsupport-test\n")
    return runner


def test_ready_when_docker_kind_and_the_cluster_are_there(healthy):
    check = check_kind("labs", which=everything, runner=healthy, env={})
    assert check and check.ready
    assert str(check) == 'kind cluster "labs" is ready (docker 27.5.1)'
    assert check.skip("anything") == ""
    assert ["kind", "get", "clusters"] in healthy.calls


def test_the_simulator_only_backend_skips_without_running_anything(healthy):
    check = check_kind("labs", which=everything, runner=healthy,
                       env={"LABSUPPORT_BACKEND": " SIM "})
    assert not check
    assert check.missing == "LABSUPPORT_BACKEND=sim asks for the simulator only"
    assert healthy.calls == []


@pytest.mark.parametrize("backend", ["kind", "", "kubeconfig"])
def test_other_backends_do_not_skip(healthy, backend):
    assert check_kind("labs", which=everything, runner=healthy,
                      env={"LABSUPPORT_BACKEND": backend})


def test_missing_docker_is_found_before_any_command(healthy):
    check = check_kind("labs", which=only("kind"), runner=healthy, env={})
    assert not check
    assert check.missing == "Docker is not installed"
    assert "https://docs.docker.com/get-docker/" in check.fix
    assert str(check).startswith(f"{SKIP_PREFIX}: Docker is not installed. Fix: install Docker")
    assert healthy.calls == []


def test_a_daemon_that_does_not_answer(runner):
    runner.on("docker", "version", rc=1, err=DAEMON_DOWN)
    check = check_kind("labs", which=everything, runner=runner, env={})
    assert check.missing == "Docker is installed but its daemon is not running"
    assert "systemctl start docker" in check.fix
    assert not any(call[0] == "kind" for call in runner.calls)


def test_a_user_outside_the_docker_group(runner):
    runner.on("docker", "version", rc=1, err=PERMISSION)
    check = check_kind("labs", which=everything, runner=runner, env={})
    assert check.missing == "this user may not use docker (permission denied on its socket)"
    assert check.fix.startswith("add yourself to the docker group: sudo usermod -aG docker")


def test_docker_that_vanished_between_lookup_and_run(runner):
    def gone(argv):
        raise FileNotFoundError(argv[0])
    check = check_kind("labs", which=everything, runner=gone, env={})
    assert check.missing == "Docker is not installed (the docker command was not found)"


def test_missing_kind_after_a_working_docker(runner):
    runner.on("docker", "version", out="27.5.1\n")
    check = check_kind("labs", which=only("docker"), runner=runner, env={})
    assert check.missing == "kind is not installed"
    assert check.fix.startswith("install kind: go install sigs.k8s.io/kind@v0.33.0")
    assert check.docker_version == "27.5.1"
    assert runner.calls == [["docker", "version", "--format", "{{.Server.Version}}"]]


def test_a_missing_cluster_is_reported_not_created(healthy):
    check = check_kind("course", which=everything, runner=healthy, env={})
    assert check.missing == 'kind cluster "course" does not exist'
    assert check.fix == "python -m labsupport cluster up --name course"
    assert not any("create" in call for call in healthy.calls)


def test_the_skip_line_names_the_cell():
    check = KindCheck("labs", False, "kind is not installed", "install kind")
    assert check.skip("the rollout") == (
        f"{SKIP_PREFIX} (the rollout): kind is not installed. Fix: install kind")
    assert check.skip() == f"{SKIP_PREFIX}: kind is not installed. Fix: install kind"
