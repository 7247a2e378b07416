"""The figure style, checked on the pictures themselves: text never overlaps, lines go round,
names sort naturally, legends list what is shown, every picture has alt text."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from matplotlib.collections import LineCollection
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox

import labsupport as ls
from labsupport import dc
from labsupport.viz.style import FONT, MAX_WIDTH, moments, natural_key, natural_sorted


def _deploy(c, name, replicas, cpu="100m"):
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
             "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                      "template": {"metadata": {"labels": {"app": name}},
                                   "spec": {"containers": [{
                                       "name": "app", "image": "nginx:1.27",
                                       "resources": {"requests": {"cpu": cpu}}}]}}}})


def _render(fig):
    """Draw the figure on an Agg canvas (no pyplot) and return its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _texts(fig):
    """(gid or text, window bbox) of every text drawn in the figure (tick labels of hidden
    axes, empty and invisible texts left out)."""
    from matplotlib.text import Text

    renderer = _render(fig)
    hidden = set()
    for ax in fig.axes:
        if not ax.axison:
            hidden |= {id(t) for t in ax.get_xticklabels() + ax.get_yticklabels()}
            hidden |= {id(ax.xaxis.label), id(ax.yaxis.label), id(ax.xaxis.offsetText),
                       id(ax.yaxis.offsetText)}
    found, seen = [], set()
    for text in fig.findobj(Text):
        if id(text) in seen or id(text) in hidden:
            continue
        seen.add(id(text))
        if text.get_visible() and text.get_text().strip():
            found.append((text.get_gid() or text.get_text(), text.get_window_extent(renderer)))
    return found


def _assert_no_text_overlaps(fig):
    boxes = _texts(fig)
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        assert not ba.overlaps(bb), f"{a!r} and {b!r} overlap"


def _assert_fonts_legible(fig):
    for text in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= FONT["small"], (text.get_text(), text.get_fontsize())


def _service(c, name):
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
             "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})


@pytest.fixture
def shop():
    """Twelve nodes, two Services, a pending pod, a failed node: a crowded picture."""
    c = ls.connect(nodes=12, seed=1)
    _deploy(c, "web", 14)
    _service(c, "web")
    _deploy(c, "checkoutservice", 5)
    _service(c, "checkoutservice")
    _deploy(c, "huge", 1, cpu="64")
    c.advance(20)
    c.fail_node("node-10")
    c.advance(60)
    yield c
    c.close()


def test_natural_order():
    assert natural_sorted(["node-10", "node-2", "node-1", "node-12"]) == [
        "node-1", "node-2", "node-10", "node-12"]
    assert natural_key("web-9") < natural_key("web-10")


def test_cluster_graph_orders_nodes_naturally_and_lists_full_pod_names(shop):
    fig = ls.viz.cluster_graph(shop)
    ax = fig.axes[0]
    titles = [t for t in ax.texts if (t.get_gid() or "").startswith("title:node-")]
    # Reading order (top to bottom, left to right) is node-1, node-2, ..., node-12.
    reading = sorted(titles, key=lambda t: (-round(t.get_position()[1], 2), t.get_position()[0]))
    assert [t.get_text() for t in reading] == [f"node-{i}" for i in range(1, 13)]
    labels = {t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("label:")}
    assert labels == {p.name for p in shop.pods()}          # the names the tables print
    assert fig.get_figwidth() <= MAX_WIDTH
    _assert_fonts_legible(fig)


def test_cluster_graph_text_never_overlaps(shop):
    _assert_no_text_overlaps(ls.viz.cluster_graph(shop))
    small = ls.connect(seed=0)
    _deploy(small, "web", 3)
    _service(small, "web")
    small.advance(10)
    _assert_no_text_overlaps(ls.viz.cluster_graph(small))


def test_service_lines_cross_no_text_and_no_other_node(shop):
    fig = ls.viz.cluster_graph(shop)
    ax = fig.axes[0]
    drawn = _texts(fig)
    to_data = ax.transData.inverted()         # after the draw: the layout is final
    texts = [(gid, Bbox(to_data.transform(b.get_points()))) for gid, b in drawn
             if not gid.startswith("status:service") and not gid.startswith("title:service")]
    boxes = {p.get_gid(): p.get_extents() for p in ax.patches
             if (p.get_gid() or "").startswith("node/") or p.get_gid() == "unscheduled"}
    pods = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("pod/")}
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert lines and all(c.get_gid() == "endpoints" for c in lines)
    checked = 0
    for collection in lines:
        for seg in collection.get_segments():
            path = MplPath(seg)
            end = tuple(seg[-1])
            target = next(k for k, p in pods.items()
                          if abs(p.center[1] - end[1]) < 1e-6
                          and abs(p.center[0] - p.radius - end[0]) < 1e-6)
            for gid, bbox in texts:
                assert not path.intersects_bbox(bbox, filled=False), (target, gid)
            for gid, extent in boxes.items():
                inside = ax.transData.inverted().transform(extent.get_points())
                if gid == "node/" + _node_of(shop, target):
                    continue
                assert not path.intersects_bbox(Bbox(inside), filled=False), (target, gid)
            checked += 1
    ready_endpoints = sum(1 for p in shop.pods() if p.ready and not p.name.startswith("huge"))
    assert checked == ready_endpoints


def _node_of(cluster, pod_key):
    name = pod_key.rsplit("/", 1)[1]
    return next(p.node for p in cluster.pods() if p.name == name)


def test_legends_list_only_the_states_present(shop):
    fig = ls.viz.cluster_graph(shop)
    legend = fig.axes[0].get_legend()
    entries = [t.get_text() for t in legend.get_texts()]
    present = {"Ready", "NotReady", "Pending"}             # node-10's pods are NotReady now
    assert [e for e in entries if not e.startswith("svc/")] == [
        s for s in ls.viz.STATES if s in present]
    assert sum(e.startswith("svc/") for e in entries) == 2
    timeline = ls.viz.pod_timeline(shop, selector="app=web")
    shown = {g.split(":")[1] for p in timeline.axes[0].patches if (g := p.get_gid())}
    assert {t.get_text() for t in timeline.axes[0].get_legend().get_texts()} == shown


def test_many_pods_become_a_grid_of_dots_without_overlaps():
    c = ls.connect(nodes=3, seed=2)
    _deploy(c, "batch", 45)
    c.advance(20)
    fig = ls.viz.cluster_graph(c)
    assert not [t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("label:")]
    _assert_no_text_overlaps(fig)
    assert "45 pods" in fig.alt


def test_timeline_marks_failure_unknown_eviction_and_recovery(shop):
    shop.advance(320)
    shop.restore_node("node-10")
    shop.advance(30)
    found = {m.label for m in moments(shop)}
    assert {"node-10 Unknown", "node-10 Ready again"} <= found
    assert any(label.endswith("evicted") for label in found)
    fig = ls.viz.pod_timeline(shop, selector="app=web", marks={"node-10 fails": 20.0})
    labels = [t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("moment:")]
    assert "node-10 fails" in labels and "node-10 Unknown" in labels
    _assert_no_text_overlaps(fig)
    _assert_fonts_legible(fig)


def test_traffic_plot_marks_why_errors_start_and_stop():
    c = ls.connect(seed=0)
    _deploy(c, "web", 3)
    _service(c, "web")
    c.advance(10)
    run = c.send_traffic("service/web", rps=20, duration=120, background=True)
    c.fail_node("node-1")
    c.advance(130)
    fig = ls.viz.traffic_plot(run.result(), cluster=c, marks={"node-1 fails": 10.0})
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "node-1 Unknown" in labels and "node-1 fails" in labels
    assert "node-1 Unknown at 5" in fig.alt          # 45-50 s after the failure
    _assert_no_text_overlaps(fig)


def test_scheduling_table_headers_and_title_fit():
    c = ls.connect(nodes=5, seed=0)
    _deploy(c, "web", 1, cpu="500m")
    c.advance(5)
    fig = ls.viz.scheduling_table(c.explain_scheduling(c.pods()[0].name))
    renderer = _render(fig)
    table = fig.axes[0].tables[0]
    for (row, col), cell in table.get_celld().items():
        text = cell.get_text().get_window_extent(renderer)
        assert cell.get_window_extent(renderer).contains(text.x0 + 1, text.y0 + 1), (row, col)
        assert cell.get_window_extent(renderer).contains(text.x1 - 1, text.y1 - 1), (row, col)
    title = fig.axes[0].title.get_window_extent(renderer)
    assert title.x0 >= 0 and title.x1 <= fig.bbox.width
    assert "tie" in fig.alt or "chosen" in fig.alt


def test_detector_sweep_uses_a_log_axis_and_draws_the_target():
    table = dc.sweep([0.5, 1, 2, 4], seeds=range(2), network=dc.BUSY_LAN, nodes=6, duration=300)
    fig = table.plot(target=4.5)
    alarms, detection = fig.axes
    assert alarms.get_yscale() == "symlog"
    assert [line.get_gid() for line in detection.lines if line.get_gid() == "target"] == ["target"]
    assert detection.lines[-1].get_ydata()[0] == 4.5
    assert "4.5 s" in fig.alt


def test_every_picture_has_alt_text_and_an_image_with_it():
    c = ls.connect(seed=0)
    _deploy(c, "web", 2, cpu="100m")
    _service(c, "web")
    c.advance(20)
    run = c.send_traffic("service/web", rps=10, duration=30)
    job = dc.Job(work=600, parallel_fraction=0.9, tasks=12)
    figures = [
        ls.viz.cluster_graph(c), ls.viz.pod_timeline(c), ls.viz.replicas_plot(c),
        ls.viz.metric_plot(c, "requests_per_second", deployment="web"),
        ls.viz.latency_histogram(run), ls.viz.traffic_plot(run),
        ls.viz.scheduling_table(c.explain_scheduling(c.pods()[0].name)),
        ls.viz.dashboard(c, display=False),
        dc.speedup_curve(job, [1, 2]).plot(), dc.run_job(job, workers=2).plot(),
        dc.sweep([2, 4], seeds=[0], nodes=3, duration=60).plot(),
    ]
    for fig in figures:
        assert len(fig.alt) > 30, fig.alt
        bundle = fig._repr_mimebundle_()
        assert bundle["image/png"] and bundle["text/plain"] == fig.alt
        assert 'alt="' in bundle["text/html"] and bundle["image/png"] in bundle["text/html"]
        assert fig.get_figwidth() <= MAX_WIDTH


@pytest.mark.parametrize("call, message", [
    (lambda c: ls.viz.latency_histogram(c), "draws the result of a traffic run, got a cluster"),
    (lambda c: ls.viz.traffic_plot(c), "draws the result of a traffic run, got a cluster"),
    (lambda c: ls.viz.scheduling_table("web-1"), "draws a scheduling decision"),
    (lambda c: ls.viz.cluster_graph("c"), "draws a cluster"),
    (lambda c: ls.viz.pod_timeline(None), "draws a cluster"),
    (lambda c: ls.viz.metric_plot(c, "cpu", deployment="nope"), "no pod matches"),
])
def test_wrong_arguments_say_what_the_picture_needs(sim, call, message):
    _deploy(sim, "web", 1)
    sim.advance(20)
    with pytest.raises(ls.Invalid, match=message):
        call(sim)


def test_the_dashboard_shows_its_picture_as_an_ordinary_image(sim):
    shown = []
    board = ls.viz.Dashboard(sim)

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    def fake_display(obj, display_id=False):
        shown.append(("display", obj))
        return Handle() if display_id else None

    import IPython.display

    original = IPython.display.display
    IPython.display.display = fake_display
    try:
        board._ipython_display_()
        board.advance(15)
    finally:
        IPython.display.display = original
    kinds = [(k, type(o).__name__) for k, o in shown]
    assert kinds == [("display", "VBox"), ("display", "LabFigure"), ("display", "LabFigure"),
                     ("update", "LabFigure"), ("update", "LabFigure")]
    assert "t = 15 s" in shown[-2][1].alt                  # the cluster picture
    assert "Over 0 to 15 s" in shown[-1][1].alt            # the live plot


def test_a_fake_run_without_cluster_history_still_draws():
    run = SimpleNamespace(latencies=[0.01, 0.02], errors=0, requests=2, p50=0.01, p95=0.02,
                          p99=0.02)
    assert "2 answered requests" in ls.viz.latency_histogram(run).alt
