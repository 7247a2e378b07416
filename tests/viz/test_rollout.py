"""The rollout picture: its series follow the Deployment's bounds, and its alt text says so."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.viz.rollout import rollout_plot, rollout_series


def _deployment(surge, unavailable, image="nginx:1.27"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": surge,
                                                    "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "containers": [{"name": "web", "image": image, "readinessProbe": {
                             "httpGet": {"path": "/", "port": 80}, "periodSeconds": 2}}]}}}}


@pytest.mark.parametrize(("surge", "unavailable", "most", "fewest"),
                         [(1, 1, 5, 3), (2, 0, 6, 4), (0, 2, 4, 2), ("50%", "25%", 6, 3)])
def test_a_rollout_stays_inside_its_bounds_and_reaches_them(surge, unavailable, most, fewest):
    c = ls.connect(nodes=3, seed=2)
    c.apply(_deployment(surge, unavailable))
    c.wait_for_rollout("deployment/web")
    start = c.now
    c.apply(_deployment(surge, unavailable, "nginx:1.28"))
    c.wait_for_rollout("deployment/web")
    s = rollout_series(c)
    assert (s.max_pods, s.min_available) == (most, fewest)
    during = [i for i, t in enumerate(s.times) if t >= start]
    assert max(s.pods[i] for i in during) == most
    assert min(s.ready[i] for i in during) == fewest
    assert [rs["image"] for rs in s.replicasets] == ["nginx:1.27", "nginx:1.28"]
    assert [rs["ready"][-1] for rs in s.replicasets] == [0, 4]
    fig = rollout_plot(c, since=start - 2, marks={"new image": start})
    assert f"All pods peak at {most} against the bound of {most}" in fig.alt
    assert f"fall to {fewest} against the bound of {fewest}" in fig.alt


def test_a_bad_image_stops_at_max_unavailable_and_is_labelled_never_ready():
    c = ls.connect(nodes=3, seed=0)
    c.apply(_deployment(1, 1))
    c.wait_for_rollout("deployment/web")
    start = c.now
    c.apply(_deployment(1, 1, "nginx:9.99"))
    c.advance(60)
    s = rollout_series(c)
    assert s.ready[-1] == 3 and s.pods[-1] == 5
    fig = rollout_plot(c, since=start)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "rev 2 ready (nginx:9.99): none" in labels


def test_only_deployments_with_history():
    c = ls.connect(seed=0)
    with pytest.raises(Invalid, match="not a ReplicaSet"):
        rollout_series(c, "replicaset/web")
    with pytest.raises(Invalid, match="apply it first"):
        rollout_series(c, "deployment/web")
