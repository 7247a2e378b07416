"""kill_pod, fail_node and delete run only on a kind cluster of ours, or when told to."""

from __future__ import annotations

import pytest

from labsupport.errors import Invalid, UnsafeCluster
from labsupport.kube import Kind, KubeCluster
from labsupport.kube.safety import why_not_ours

from .conftest import LABEL_FORMAT, kind_machine

DESTRUCTIVE = [
    ("kill_pod", ("web-1",)),
    ("delete", ("deployment/web",)),
    ("fail_node", ("labs-worker",)),
]


@pytest.mark.parametrize("action, args", DESTRUCTIVE)
def test_a_non_kind_context_is_refused_before_any_request(connect, fake_api, runner,
                                                          action, args):
    c = connect("work-prod", ours=False)
    with pytest.raises(UnsafeCluster) as err:
        getattr(c, action)(*args)
    assert fake_api.requests == []
    assert runner.calls == []
    assert err.value.action == action
    assert "not a kind context" in err.value.why
    assert "allow_destructive=True" in str(err.value)


@pytest.mark.parametrize("action, args", DESTRUCTIVE)
def test_kind_context_that_kind_does_not_list_is_refused(connect, fake_api, runner,
                                                         action, args):
    c = connect("kind-labs", ours=False)
    runner.on("kind", "get", "clusters", out="other\n")
    with pytest.raises(UnsafeCluster, match='kind does not list a cluster "labs"'):
        getattr(c, action)(*args)
    assert fake_api.requests == []


def test_unlabelled_control_plane_is_refused(connect, fake_api, runner):
    c = connect("kind-labs", ours=False)
    runner.on("kind", "get", "clusters", out="labs\n")
    runner.on("docker", "inspect", out="<no value>\n")
    with pytest.raises(UnsafeCluster, match="is not labelled io.x-k8s.kind.cluster=labs"):
        c.kill_pod("web-1")
    assert ["docker", "inspect", "--format", LABEL_FORMAT, "labs-control-plane"] in runner.calls
    assert fake_api.requests == []


def test_remote_api_server_is_refused_without_contacting_it(write_kubeconfig, runner):
    # 203.0.113.0/24 is TEST-NET-3: never routed, and never contacted here.
    path = write_kubeconfig("https://203.0.113.7:6443", "kind-labs")
    kind_machine(runner, "labs")
    c = KubeCluster.from_kubeconfig(context="kind-labs", kubeconfig=path,
                                    kind=Kind(runner=runner))
    with pytest.raises(UnsafeCluster, match="is not on this machine"):
        c.delete("deployment/web")
    c.close()


def test_kind_missing_means_not_provable(connect, fake_api, runner):
    c = connect("kind-labs", ours=False)
    runner.on("kind", rc=127)
    with pytest.raises(UnsafeCluster, match="kind could not list its clusters"):
        c.kill_pod("web-1")
    assert fake_api.requests == []


def test_our_kind_cluster_may_kill_a_pod(connect, fake_api):
    c = connect("kind-labs")
    c.kill_pod("web-1", namespace="shop")
    (req,) = fake_api.requests
    assert (req.method, req.path) == ("DELETE", "/api/v1/namespaces/shop/pods/web-1")
    assert req.body["gracePeriodSeconds"] == 0
    assert req.body["propagationPolicy"] == "Background"


def test_the_proof_is_made_once_per_connection(connect, runner):
    c = connect("kind-labs")
    c.kill_pod("web-1")
    checks = len(runner.calls)
    c.kill_pod("web-2")
    c.delete("deployment/web")
    assert len(runner.calls) == checks


def test_per_call_override(connect, fake_api, runner):
    c = connect("work-prod", ours=False)
    c.kill_pod("web-1", allow_destructive=True)
    c.delete("deployment/web", allow_destructive=True)
    assert [r.method for r in fake_api.requests] == ["DELETE", "DELETE"]
    assert runner.calls == []
    with pytest.raises(UnsafeCluster):      # the override was for those calls only
        c.kill_pod("web-2")


def test_connection_override(connect, fake_api):
    c = connect("work-prod", ours=False, allow_destructive=True)
    c.delete("deployment/web")
    assert len(fake_api.requests) == 1


def test_fail_and_restore_node_pause_the_node_container(connect, fake_api, runner):
    c = connect("kind-labs")
    c.fail_node("labs-worker2")
    c.restore_node("labs-worker2")
    docker = [call for call in runner.calls if call[0] == "docker"]
    assert ["docker", "pause", "labs-worker2"] in docker
    assert ["docker", "unpause", "labs-worker2"] in docker
    assert docker.index(["docker", "inspect", "--format", LABEL_FORMAT, "labs-worker2"]) < \
        docker.index(["docker", "pause", "labs-worker2"])
    assert fake_api.requests == []


def test_fail_node_refuses_a_container_of_another_cluster(connect, runner):
    c = connect("kind-labs")
    runner.on("docker", "inspect", "--format", LABEL_FORMAT, "other-worker", out="other\n")
    with pytest.raises(UnsafeCluster, match='"other-worker" is not a node container'):
        c.fail_node("other-worker")
    assert ["docker", "pause", "other-worker"] not in runner.calls


def test_fail_node_off_kind_is_not_possible(connect, runner):
    c = connect("work-prod", ours=False, allow_destructive=True)
    with pytest.raises(Invalid, match="works on kind clusters only"):
        c.fail_node("node-1")
    assert runner.calls == []


def test_why_not_ours_accepts_our_cluster(runner):
    kind_machine(runner, "labs")
    assert why_not_ours("labs", "https://127.0.0.1:41234", Kind(runner=runner)) is None
