"""The dashboard's controls, pressed without a browser: each changes the cluster as it says."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.viz.dashboard_panel import capabilities, panel_html

pytest.importorskip("ipywidgets")

WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{
                                 "name": "app", "image": "nginx:1.27",
                                 "ports": [{"containerPort": 80}],
                                 "resources": {"requests": {"cpu": "500m",
                                                            "memory": "256Mi"}}}]}}}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}}


@pytest.fixture
def board(sim):
    sim.apply([WEB, SVC])
    sim.advance(30)
    return ls.viz.Dashboard(sim)


def test_time_buttons_let_that_much_time_pass(board, sim):
    for label, after in (("+15 s", 45), ("+1 min", 105), ("+5 min", 405)):
        board.controls[label].click()
        assert sim.now == after
        assert f"t = {after} s" in board._status.value
    assert [s["t"] for s in board.history.samples] == [30, 45, 105, 405]


def test_scale_sets_the_replicas_and_the_controllers_follow(board, sim):
    board._deployment.value = ("default", "web")
    assert board._replicas.value == 3                # the Deployment's spec.replicas
    board._replicas.value = 5
    board.controls["scale"].click()
    assert sim.get("deployment/web")["spec"]["replicas"] == 5
    assert "deployment/web scaled to 5 replicas" in board.message
    assert "deployment/web: 3/5 ready" in board._panel.value
    board.controls["+1 min"].click()
    assert len(sim.pods(selector="app=web")) == 5
    assert "deployment/web: 5/5 ready" in board._panel.value
    assert board.history.samples[-1]["pods_ready"] == 5


def test_kill_pod_removes_that_pod_and_a_replacement_comes(board, sim):
    victim = sim.pods()[0].name
    board._pod.value = ("default", victim)
    board.controls["kill pod"].click()
    assert victim not in [p.name for p in sim.pods()]
    assert f"pod/{victim} killed" in board.message
    assert victim not in [label for label, _ in board._pod.options]
    board.controls["+15 s"].click()
    assert sum(p.ready for p in sim.pods()) == 3


def test_fail_and_restore_node(board, sim):
    board._node.value = "node-2"
    board.controls["fail node"].click()
    assert not sim.kubelets["node-2"].alive
    board.controls["+1 min"].click()                 # past the 50 s node-monitor grace period
    assert sim.nodes()[1].ready is None
    assert '<tr data-node="node-2"><td><b>node-2</b></td><td>Unknown' in board._panel.value
    board.controls["restore node"].click()
    assert sim.kubelets["node-2"].alive
    board.controls["+15 s"].click()
    assert all(n.ready for n in sim.nodes())


def test_send_traffic_reaches_the_service_and_is_plotted(board, sim):
    board._service.value = ("default", "web")
    board._rps.value, board._duration.value = 10, 20
    board.controls["send traffic"].click()
    assert sim.now == 50
    assert board.message.startswith("service/web: 200 requests over 20 s, 0 failed")
    assert board.history.traffic == [{"t": 50.0, "requests": 200, "errors": 0}]
    assert "200 requests, 0 failed" in board.plot().alt


def test_a_refused_action_is_shown_not_raised(board, sim):
    board._deployment.value = ("default", "web")
    sim.delete("deployment/web")                     # gone behind the dashboard's back
    board.controls["scale"].click()
    assert board.message.startswith('refused: deployment "web" not found in namespace')
    assert board._deployment.value is None           # the choices were read again


def test_panel_shows_resource_use_services_and_events(board):
    page = panel_html(board.cluster)
    assert page.count("<tr") == 4
    assert page.count("12% 500m/4") == 3 and page.count("3% 256Mi/8Gi") == 3
    assert "service/web (ClusterIP 10.96." in page
    assert "Started" in page and "Recent events" in page


def test_the_controls_of_a_kube_cluster_on_a_served_simulator(sim):
    sim.apply([WEB, SVC])
    sim.advance(30)
    sim.serve(speed=0)
    try:
        k = ls.connect("kubeconfig", kubeconfig=sim.kubeconfig, allow_destructive=True)
        try:
            can = capabilities(k)
            assert can["scale"] is None and can["kill_pod"] is None
            assert "kind clusters only" in can["fail_node"]
            assert "simulator's data plane" in can["traffic"]
            board = ls.viz.Dashboard(k)
            for label in ("fail node", "restore node", "send traffic"):
                button = board.controls[label]
                assert button.disabled and button.tooltip == can[
                    {"fail node": "fail_node", "restore node": "restore_node",
                     "send traffic": "traffic"}[label]]
            assert board._node.disabled and board._service.disabled
            board._deployment.value = ("default", "web")
            board._replicas.value = 1
            board.controls["scale"].click()
            assert sim.get("deployment/web")["spec"]["replicas"] == 1
            victim = [p.name for p in sim.pods()][0]
            board._pod.value = ("default", victim)
            board.controls["kill pod"].click()
            assert victim not in [p.name for p in sim.pods()], board.message
            assert "web" in board._panel.value
        finally:
            k.close()
    finally:
        sim.stop_serving()
