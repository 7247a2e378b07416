"""Pictures: each returns a Figure with the expected artists, headless."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import labsupport as ls
from labsupport.viz import STATE_COLOURS

SIM = "sim.labsupport.io/"


def _deploy(c, name, replicas, annotations=None, probe=False, cpu=None):
    container = {"name": "app", "image": "nginx:1.27"}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
             "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                      "template": {"metadata": {"labels": {"app": name},
                                                "annotations": annotations or {}},
                                   "spec": {"containers": [container]}}}})


def _pod(c, name, command=None, cpu=None, annotations=None):
    container = {"name": "app", "image": "busybox:1.36" if command else "nginx:1.27"}
    if command:
        container["command"] = ["sh", "-c", command]
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    c.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "annotations": annotations or {}},
             "spec": {"restartPolicy": "Never", "containers": [container]}})


@pytest.fixture
def busy(sim):
    """A cluster with a pod in every state and a failed node."""
    _deploy(sim, "web", 3)
    sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    _deploy(sim, "shy", 1, {f"{SIM}never-ready": "true"}, probe=True)
    _pod(sim, "huge", cpu="64")
    _pod(sim, "fails", command="exit 1")
    _pod(sim, "done", command="exit 0")
    _pod(sim, "slow", annotations={f"{SIM}ignore-sigterm": "true"})
    sim.advance(20)
    sim.delete("pod/slow")
    sim.advance(1)
    return sim


def _colours(fig):
    return {p.get_gid().rsplit("/", 1)[1]: to_hex(p.get_facecolor())
            for p in fig.axes[0].patches if (p.get_gid() or "").startswith("pod/")}


def test_cluster_graph_boxes_and_pod_colours(busy):
    fig = ls.viz.cluster_graph(busy)
    assert isinstance(fig, Figure)
    gids = [p.get_gid() for p in fig.axes[0].patches]
    assert sorted(g for g in gids if g.startswith("node/")) == ["node/node-1", "node/node-2",
                                                               "node/node-3"]
    assert "unscheduled" in gids and "service/default/web" in gids
    colours = _colours(fig)
    states = {"huge": "Pending", "fails": "Failed", "done": "Succeeded", "slow": "Terminating"}
    for name, state in states.items():
        assert colours[name] == STATE_COLOURS[state].lower(), name
    web = [v for k, v in colours.items() if k.startswith("web-")]
    assert web == [STATE_COLOURS["Ready"].lower()] * 3
    shy = [v for k, v in colours.items() if k.startswith("shy-")]
    assert shy == [STATE_COLOURS["NotReady"].lower()]
    edges = [c for c in fig.axes[0].collections if c.get_gid() == "endpoints"]
    assert len(edges[0].get_segments()) == 3           # the three ready web pods
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_failed_node_is_marked(busy):
    busy.fail_node("node-2")
    busy.advance(60)                                    # Ready=Unknown after 50 s
    fig = ls.viz.cluster_graph(busy)
    boxes = {p.get_gid(): p for p in fig.axes[0].patches}
    assert boxes["node/node-2"].get_linestyle() == "--"
    assert to_hex(boxes["node/node-2"].get_edgecolor()) == STATE_COLOURS["Failed"].lower()
    assert boxes["node/node-1"].get_linestyle() == "-"
    status = {t.get_gid(): t.get_text() for t in fig.axes[0].texts}
    assert status["status:node-2"] == "Unknown" and status["status:node-1"] == "Ready"
    # Pods on the silent node are no longer ready endpoints.
    ready_web = [p for p in busy.pods(selector="app=web") if p.ready]
    edges = [c for c in fig.axes[0].collections if c.get_gid() == "endpoints"]
    assert len(edges[0].get_segments()) == len(ready_web) < 3


def test_cluster_graph_namespace_filter(sim):
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    _deploy(sim, "web", 2)
    sim.advance(5)
    fig = ls.viz.cluster_graph(sim, namespace="shop")
    assert not _colours(fig)
    assert len(_colours(ls.viz.cluster_graph(sim))) == 2


def test_pod_timeline_segments(busy):
    fig = ls.viz.pod_timeline(busy, selector="app=web")
    bars = [p.get_gid() for p in fig.axes[0].patches if p.get_gid()]
    pods = {g.split(":")[0] for g in bars}
    assert len(pods) == 3
    for pod in pods:
        assert [g.split(":")[1] for g in bars if g.startswith(pod + ":")] == ["Pending", "Ready"]
    fig = ls.viz.pod_timeline(busy)
    states = {g.split(":")[1] for p in fig.axes[0].patches if (g := p.get_gid())}
    assert {"Pending", "Ready", "NotReady", "Failed", "Succeeded", "Terminating"} <= states


def test_pod_timeline_from_events_only(busy):
    class Remote:   # what a real cluster offers: no store, no audit log
        now = busy.now

        def list(self, *a, **k):
            return busy.list(*a, **k)

        def events(self, namespace=None):
            return busy.events(namespace)
    fig = ls.viz.pod_timeline(Remote(), selector="app=web")
    bars = [p.get_gid() for p in fig.axes[0].patches if p.get_gid()]
    assert len({g.split(":")[0] for g in bars}) == 3
    assert {g.split(":")[1] for g in bars} == {"Pending", "Ready"}


def test_replicas_plot(sim):
    _deploy(sim, "web", 3)
    sim.advance(10)
    sim.scale("deployment/web", 1)
    sim.advance(40)
    fig = ls.viz.replicas_plot(sim, "deployment/web")
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    desired = list(lines["desired"].get_ydata())
    ready = list(lines["ready"].get_ydata())
    assert desired[0] == 3 and desired[-1] == 1
    assert max(ready) == 3 and ready[-1] == 1
    with pytest.raises(ls.Invalid, match="not a Service"):
        ls.viz.replicas_plot(sim, "service/web")


def test_metric_plot():
    times, values = [0, 15, 30], [0.1, 0.4, 0.2]
    fake = SimpleNamespace(metrics=SimpleNamespace(series=lambda name, **labels: (times, values)))
    fig = ls.viz.metric_plot(fake, "pod_cpu_usage_cores", pod="web-1")
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == times and list(line.get_ydata()) == values
    assert line.get_gid() == 'pod_cpu_usage_cores{pod="web-1"}'
    with pytest.raises(ls.Invalid, match="Prometheus"):
        ls.viz.metric_plot(SimpleNamespace(), "x")


def test_plots_of_real_traffic(sim):
    _deploy(sim, "web", 2, cpu="100m")
    sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    sim.advance(10)
    result = sim.send_traffic("service/web", rps=20, duration=60)
    fig = ls.viz.latency_histogram(result)
    assert sum(p.get_height() for p in fig.axes[0].patches) == result.requests - result.errors
    fig = ls.viz.metric_plot(sim, "requests_per_second", deployment="web")
    times, values = fig.axes[0].lines[0].get_data()
    assert list(times) == [15.0 * i for i in range(1, len(times) + 1)]
    assert max(values) == pytest.approx(20, abs=1)
    fig = ls.viz.traffic_plot(result, step=10, marks={"now": sim.now})
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert list(lines["requests/s"].get_ydata()) == [20.0] * 6
    assert list(lines["errors/s"].get_ydata()) == [0.0] * 6


def test_latency_histogram():
    run = SimpleNamespace(latencies=[0.01 * (i % 10 + 1) for i in range(100)], errors=2,
                          p50=0.05, p95=0.1, p99=0.1)
    fig = ls.viz.latency_histogram(run)
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 100
    marks = {line.get_gid(): line.get_xdata()[0] for line in ax.lines}
    assert marks == {"p50": 50.0, "p95": 100.0, "p99": 100.0}
    assert "2 errors" in ax.get_title()
    with pytest.raises(ls.Invalid, match="no latencies"):
        ls.viz.latency_histogram(SimpleNamespace(latencies=[], errors=5))


def test_scheduling_table(sim):
    _deploy(sim, "web", 1, cpu="100m")
    sim.advance(5)
    pod = sim.pods()[0]
    decision = sim.explain_scheduling(pod.name)
    fig = ls.viz.scheduling_table(decision)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts) + fig.axes[0].get_title()
    assert pod.node in texts
    if decision.table:
        table = fig.axes[0].tables[0]
        assert table.get_gid() == "scheduling-table"
        assert len({r for r, _ in table.get_celld()}) == len(decision.table) + 1


def test_dashboard_headless(sim):
    fig = ls.viz.dashboard(sim, display=False)
    assert isinstance(fig, Figure)
    assert isinstance(ls.viz.dashboard(sim), Figure)        # no frontend in tests
    board = ls.viz.Dashboard(sim)
    board.advance(15)
    assert sim.now == 15
    board._node.value = "node-1"
    board.controls["fail node"].click()
    assert not sim.kubelets["node-1"].alive
    assert "t = 15 s: 3/3 nodes Ready" in board._status.value


def test_no_global_matplotlib_state():
    code = ("import sys, labsupport as ls; c = ls.connect(); "
            "assert 'matplotlib' not in sys.modules, 'import labsupport loaded matplotlib'; "
            "import matplotlib; before = matplotlib.rcParams._get_backend_or_none(); "
            "ls.viz.cluster_graph(c)._repr_png_(); ls.viz.pod_timeline(c); "
            "assert 'matplotlib.pyplot' not in sys.modules; "
            "assert matplotlib.rcParams._get_backend_or_none() == before; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"MPLBACKEND": "", "PATH": ""}, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
