"""kube-proxy sends new connections only to ready endpoints, at every instant of a rollout.

Regression: kube-proxy's view of a Service used to be rebuilt lazily at the
next batch of requests, from the store as it was then. A batch flushed by an
EndpointSlice write therefore routed the requests sent *before* the write
with the endpoints written by it, and new pods received requests for up to
a batch (5 s) before they answered: 30-90 "refused" per rollout.
"""

from __future__ import annotations

import numpy as np
import pytest

import labsupport as ls
from labsupport.grading.bank import ex08
from labsupport.sim.traffic import REFUSED


def _rollout_with_kill(seed: int, replicas: int):
    c = ls.connect(seed=seed)
    c.apply([ex08.web_deployment(ex08.REFERENCE_PROBE, replicas=replicas),
             ex08.canary_deployment(1)])
    c.wait_for_rollout("deployment/web")
    c.wait_for_rollout("deployment/web-canary")
    c.apply(ex08.REFERENCE_SERVICE)
    c.advance(2)  # the slices are written before the traffic starts
    h = c.send_traffic("service/web", rps=100, duration=90, pattern="poisson",
                       background=True, seed=f"ex08:{seed}")
    c.advance(10)
    c.apply(ex08.web_deployment(ex08.REFERENCE_PROBE, replicas=replicas, image="nginx:1.28"))
    c.wait_for_rollout("deployment/web")
    c.advance(5)
    killed = sorted(p.name for p in c.pods(selector="app=web,track=stable"))[0]
    c.kill_pod(killed)
    c.advance(h.end - c.now + 5)
    return h.result(), killed


@pytest.mark.parametrize("seed,replicas", [(9, 6), (4, 3), (1, 5), (6, 6), (8, 8)])
def test_no_request_reaches_a_pod_before_it_is_ready(seed: int, replicas: int) -> None:
    r, killed = _rollout_with_kill(seed, replicas)
    bad = (r.status != 0) & (r.pod >= 0)
    blamed = {r.pod_names[i] for i in r.pod[bad].tolist()}
    # Only the pod killed under load may lose requests (those on their way to it).
    assert blamed <= {killed}
    assert r.requests > 8000


@pytest.mark.parametrize("seed,replicas", [(9, 6), (4, 3)])
def test_reproducer_has_no_refused_request(seed: int, replicas: int) -> None:
    r, _ = _rollout_with_kill(seed, replicas)
    assert int(np.sum(r.status == REFUSED)) == 0
    assert r.error_kinds.get("no endpoints", 0) == 0


def test_view_follows_the_slices_kube_proxy_was_told_of() -> None:
    c = ls.connect(seed=0)
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{
                                       "name": "web", "image": "nginx:1.27",
                                       "readinessProbe": {"tcpSocket": {"port": 80},
                                                          "periodSeconds": 1}}]}}}})
    c.wait_for_rollout("deployment/web")
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    h = c.send_traffic("service/web", rps=50, duration=20, background=True)
    c.advance(1)
    assert len(c.proxy.service("default", "web").endpoints) == 2
    c.scale("deployment/web", 3)
    c.advance(20)
    r = h.result()
    assert r.error_kinds == {"no endpoints": 1}  # the one sent before the slice was written
    assert len(r.per_pod) == 3
