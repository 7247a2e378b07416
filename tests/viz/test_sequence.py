"""The sequence diagram of one apply: lanes, rows, watches, no overlapping text, alt text."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.viz.sequence import sequence_rows
from labsupport.viz.style import MAX_WIDTH
from tests.viz.test_style import _assert_fonts_legible, _assert_no_text_overlaps


@pytest.fixture
def traced():
    c = ls.connect(nodes=3, seed=0)
    c.apply([{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
              "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
             {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "app",
                                                             "image": "nginx:1.27"}]}}}}])
    c.advance(10)
    steps = sorted(list(c.trace("deployment/web")) + list(c.trace("service/web"))[1:],
                   key=lambda s: s.time)
    yield steps
    c.close()


def test_every_write_is_a_row_and_kube_proxy_learns_by_watch(traced):
    rows = sequence_rows(traced, watchers={"kube-proxy": "endpointslice"})
    assert rows[0][:3] == (0.0, "kubectl", "create deployment/web")
    assert any(who == "default-scheduler" and label.startswith("bind pod/web-")
               for _, who, label, _ in rows)
    watches = [r for r in rows if r[3]]
    assert watches and all(r[1] == "kube-proxy" and r[2].startswith("watch: endpointslice/")
                           for r in watches)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_the_picture_has_lanes_in_order_no_overlaps_and_alt_text(traced):
    fig = ls.viz.sequence_diagram(traced, watchers={"kube-proxy": "endpointslice"})
    lanes = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "lifeline"]
    assert lanes == ["kubectl", "kube-\napiserver\n+ etcd", "kube-\ncontroller-\nmanager",
                     "default-\nscheduler", "kubelet", "kube-proxy"]
    _assert_no_text_overlaps(fig)
    _assert_fonts_legible(fig)
    assert fig.get_figwidth() <= MAX_WIDTH
    assert "kube-proxy" in fig.alt and "virtual seconds" in fig.alt


def test_wrong_arguments_say_what_the_picture_needs():
    with pytest.raises(Invalid, match="draws a trace"):
        ls.viz.sequence_diagram("deployment/web")
    with pytest.raises(Invalid, match="the trace is empty"):
        ls.viz.sequence_diagram([])
