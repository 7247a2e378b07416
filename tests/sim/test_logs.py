"""Container logs on the simulator: what kubectl logs shows, and its refusals."""

from __future__ import annotations

import pytest
from simhelpers import pod

import labsupport as ls


def test_nginx_logs_its_start_and_the_requests_it_serves(sim):
    sim.apply(pod("web"))
    sim.advance(5)
    log = sim.logs("web")
    assert log.startswith("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty")
    assert "[notice] 1#1: nginx/1.27.0" in log and log.endswith("\n")
    sim.send_traffic("pod/web", rps=5, duration=10)
    sim.advance(12)
    access = [ln for ln in sim.logs("web").splitlines() if '"GET / HTTP/1.1" 200' in ln]
    assert 40 <= len(access) <= 60
    assert sim.logs("web", tail=3).count("\n") == 3
    assert sim.logs("web", tail=0) == ""


def test_logs_are_bounded(sim):
    sim.apply(pod("web"))
    sim.advance(5)
    sim.send_traffic("pod/web", rps=200, duration=20)
    sim.advance(25)
    assert len(sim.logs("web").splitlines()) == 1000


def test_previous_shows_the_crashed_instance(sim):
    sim.apply(pod("p", annotations={"sim.labsupport.io/exit-after": "30"},
                  containers=[{"name": "app", "image": "example/shop:1.0"}]))
    sim.advance(20)
    with pytest.raises(ls.Invalid, match='previous terminated container "app" in pod "p" '
                                         'not found'):
        sim.logs("p", previous=True)
    sim.advance(15)  # crashed at 32, restarted at once
    previous = sim.logs("p", previous=True).splitlines()
    assert previous[-1].endswith("FATAL exiting with code 1")
    assert "FATAL" not in sim.logs("p")


def test_several_containers_need_a_name(sim):
    sim.apply(pod("web", containers=[{"name": "app", "image": "nginx:1.27"},
                                     {"name": "sidecar", "image": "busybox:1.36",
                                      "command": ["sh", "-c", "echo sidecar up; sleep 3600"]}]))
    sim.advance(5)
    with pytest.raises(ls.Invalid, match=r"a container name must be specified for pod web, "
                                         r"choose one of: \[app sidecar\]"):
        sim.logs("web")
    assert sim.logs("web", container="sidecar") == "sidecar up\n"


def test_waiting_container_and_missing_pod(sim):
    sim.apply(pod("web", annotations={"sim.labsupport.io/pull-seconds": "30"}))
    sim.advance(2)
    with pytest.raises(ls.Invalid, match='container "app" in pod "web" is waiting to start: '
                                         'ContainerCreating'):
        sim.logs("web")
    with pytest.raises(ls.ObjectNotFound):
        sim.logs("nope")


def test_echo_uses_the_environment(sim):
    sim.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
               "data": {"GREETING": "hi"}})
    sim.apply(pod("p", restartPolicy="Never", containers=[{
        "name": "app", "image": "busybox:1.36", "envFrom": [{"configMapRef": {"name": "cfg"}}],
        "command": ["sh", "-c", "echo $GREETING from $HOSTNAME; printenv GREETING"]}]))
    sim.advance(10)
    assert sim.logs("pod/p") == "hi from p\nhi\n"
