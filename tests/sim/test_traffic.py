"""Traffic: queueing theory, arrival patterns, errors, determinism, background traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from simhelpers import deployment, pod

import labsupport as ls
from labsupport.errors import Invalid, ObjectNotFound

EXP_20MS = {"sim.labsupport.io/service-time": "exponential:0.02"}


def service(name: str = "web", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def quiet_cluster(nodes: int = 1, seed: int = 0, **options) -> ls.Cluster:
    """A cluster whose network adds no delay (pure queueing)."""
    c = ls.connect(nodes=nodes, seed=seed, **options)
    c.network.set(latency=0)
    return c


def web(c, replicas: int = 3, annotations: dict | None = None, **kw) -> None:
    c.apply([deployment(replicas=replicas, annotations=annotations, **kw), service()])
    c.wait_for_rollout("deployment/web")
    c.advance(2)


# --- queueing -------------------------------------------------------------------------
@pytest.mark.parametrize(("rate", "duration", "tolerance"), [(25, 4000, 0.03), (40, 5000, 0.05)])
def test_single_pod_is_an_mm1_queue(rate, duration, tolerance):
    # mu = 50/s (exponential service, mean 20 ms), one worker, Poisson arrivals:
    # M/M/1, mean time in system W = 1 / (mu - lambda).
    c = quiet_cluster()
    c.apply(pod("p", annotations=EXP_20MS))
    c.advance(5)
    r = c.send_traffic("pod/p", rps=rate, duration=duration, pattern="poisson")
    assert r.errors == 0 and r.requests > 0.95 * rate * duration
    expected = 1 / (50 - rate)
    assert r.mean == pytest.approx(expected, rel=tolerance)
    # the sojourn time of M/M/1 is exponential: its median is W ln 2
    assert r.p50 == pytest.approx(expected * math.log(2), rel=2 * tolerance)


def _erlang_m1_wait(k: int, rate: float, mu: float) -> float:
    """Mean time in system of E_k/M/1: W = 1 / (mu (1 - s)) where s = A*(mu (1 - s))."""
    sigma = 0.5
    for _ in range(200):
        sigma = (k * rate / (k * rate + mu * (1 - sigma))) ** k
    return 1 / (mu * (1 - sigma))


def test_round_robin_spreads_evenly_and_queues_less_than_random():
    # 3 pods, 75 requests/s in all: each pod gets 25/s. Round robin hands each pod
    # every third request of a Poisson stream (Erlang-3 gaps, an E3/M/1 queue);
    # random choice leaves each pod a Poisson stream (M/M/1).
    results = {}
    for mode in ("ipvs", "iptables"):
        c = quiet_cluster(nodes=3, proxy_mode=mode)
        web(c, annotations=EXP_20MS)
        results[mode] = c.send_traffic("service/web", rps=75, duration=1500, pattern="poisson")
    rr, rnd = results["ipvs"], results["iptables"]
    counts = sorted(rr.per_pod.values())
    assert len(counts) == 3 and counts[-1] - counts[0] <= 1
    assert rr.mean == pytest.approx(_erlang_m1_wait(3, 25, 50), rel=0.04)
    assert rnd.mean == pytest.approx(1 / (50 - 25), rel=0.04)
    assert rr.mean < 0.9 * rnd.mean


def test_more_workers_serve_in_parallel():
    # Constant service of 1 s, 4 requests/s: one worker falls behind, four keep up.
    c = quiet_cluster()
    for name, workers in (("one", "1"), ("four", "4")):
        c.apply(pod(name, annotations={"sim.labsupport.io/service-time": "constant:1",
                                       "sim.labsupport.io/concurrency": workers}))
    c.advance(5)
    slow = c.send_traffic("pod/one", rps=4, duration=20, timeout=1000)
    fast = c.send_traffic("pod/four", rps=4, duration=20)
    assert fast.latencies == pytest.approx(np.ones(80))
    # FIFO with one worker: request i waits i * (1 - 1/4) s
    assert slow.latencies == pytest.approx(1 + 0.75 * np.arange(80))


# --- patterns -------------------------------------------------------------------------
def test_patterns_send_what_they_promise():
    c = quiet_cluster()
    c.apply(pod("p", annotations={"sim.labsupport.io/service-time": "constant:0"}))
    c.advance(5)
    constant = c.send_traffic("pod/p", rps=10, duration=100)
    assert constant.requests == 1000
    assert np.diff(constant.times) == pytest.approx(np.full(999, 0.1))
    poisson = c.send_traffic("pod/p", rps=10, duration=1000, pattern="poisson")
    assert abs(poisson.requests - 10_000) < 4 * math.sqrt(10_000)
    gaps = np.diff(poisson.times)
    assert gaps.std() / gaps.mean() == pytest.approx(1, abs=0.05)  # exponential gaps
    spike = c.send_traffic("pod/p", rps=20, duration=1000, pattern="spike")
    rel = spike.times - spike.start
    inside = ((rel >= 400) & (rel < 600)).sum() / 200
    outside = ((rel < 400) | (rel >= 600)).sum() / 800
    assert inside == pytest.approx(100, rel=0.05) and outside == pytest.approx(20, rel=0.05)
    timeline = spike.timeline(step=100)
    assert timeline["time"].tolist() == (spike.start + 100 * np.arange(10)).tolist()
    assert timeline["rps"][4:6] == pytest.approx([100, 100], rel=0.05)
    assert (timeline["errors"] == 0).all() and (timeline["p99"] >= timeline["p50"]).all()
    diurnal = c.send_traffic("pod/p", rps=20, duration=1000, pattern="diurnal")
    rel = diurnal.times - diurnal.start
    assert diurnal.requests == pytest.approx(20_000, rel=0.03)
    assert (rel < 100).sum() < 0.5 * ((rel >= 450) & (rel < 550)).sum()
    ramp = c.send_traffic("pod/p", rps=1, duration=100, pattern=lambda t: t)
    assert ramp.requests == pytest.approx(5000, rel=0.05) and ramp.pattern == "custom"


def test_bad_arguments_are_clear():
    c = quiet_cluster()
    with pytest.raises(Invalid, match="unknown traffic pattern \"bursty\""):
        c.send_traffic("service/kubernetes", rps=1, duration=1, pattern="bursty")
    with pytest.raises(Invalid, match="rps must be a number greater than 0; got -5"):
        c.send_traffic("service/kubernetes", rps=-5, duration=1)
    with pytest.raises(ObjectNotFound, match='service "nope" not found'):
        c.send_traffic("service/nope", rps=1, duration=1)
    with pytest.raises(Invalid, match="cannot send traffic to a Deployment"):
        c.send_traffic("deployment/web", rps=1, duration=1)
    with pytest.raises(ObjectNotFound, match='node "node-9"'):
        c.send_traffic("service/kubernetes", rps=1, duration=1, client_node="node-9")


# --- errors ---------------------------------------------------------------------------
def test_no_ready_endpoint_means_every_request_fails():
    c = quiet_cluster()
    c.apply(service("web"))
    r = c.send_traffic("service/web", rps=10, duration=10)
    assert r.errors == r.requests == 100 and r.error_kinds == {"no endpoints": 100}
    assert math.isnan(r.p50) and r.error_rate == 1.0


def test_an_app_that_is_not_up_yet_refuses_connections():
    # No readiness probe: the pod is Ready (and an endpoint) before its app answers.
    c = quiet_cluster()
    c.apply([deployment(replicas=1, annotations={"sim.labsupport.io/start-seconds": "20",
                                                 "sim.labsupport.io/pull-seconds": "0"}),
             service()])
    c.advance(1)
    r = c.send_traffic("service/web", rps=10, duration=40)
    started = r.start
    refused = r.times[r.status == 2]
    assert r.error_kinds == {"refused": len(refused)} and len(refused) > 100
    assert refused.max() - started < 20 and r.times[r.status == 0].min() - started >= 18


def test_slow_answers_past_the_timeout_are_errors():
    c = quiet_cluster()
    c.apply(pod("p", annotations={"sim.labsupport.io/service-time": "constant:0.5"}))
    c.advance(5)
    r = c.send_traffic("pod/p", rps=4, duration=30, timeout=3)
    # the queue grows by 1 s every second; answers later than 3 s count as timeouts
    assert r.error_kinds["timeout"] > 0 and (r.latencies <= 3).all()


def test_a_full_queue_answers_503():
    c = quiet_cluster()
    c.apply(pod("p", annotations={"sim.labsupport.io/service-time": "constant:1",
                                  "sim.labsupport.io/queue-limit": "2"}))
    c.advance(5)
    r = c.send_traffic("pod/p", rps=10, duration=10)
    assert r.error_kinds["503"] > 80
    assert r.latencies.max() <= 3 + 1e-9  # at most 2 waiting ahead, then 1 s of service


# --- determinism and background -------------------------------------------------------
def _same(a, b) -> bool:
    return (np.array_equal(a.times, b.times) and np.array_equal(a.status, b.status)
            and np.array_equal(a.latency, b.latency, equal_nan=True)
            and a.per_pod == b.per_pod and a.summary() == b.summary())


def test_same_seed_same_result_however_time_is_advanced():
    def run(background: bool):
        c = ls.connect(seed=4)
        web(c, annotations={"sim.labsupport.io/service-time": "lognormal:0.02,0.8"})
        c.network.set(latency=0.001, jitter=0.0005, loss=0.01)
        if not background:
            return c.send_traffic("service/web", rps=80, duration=120, pattern="spike")
        h = c.send_traffic("service/web", rps=80, duration=120, pattern="spike", background=True)
        for _ in range(17):
            c.advance(7)
            c.metrics.pod_metrics()  # reading metrics cuts the batches elsewhere
        c.advance(1)
        return h.result()

    a, b, d = run(False), run(False), run(True)
    assert a.requests > 10_000 and a.errors > 0
    assert _same(a, b) and _same(a, d)
    c = ls.connect(seed=4)
    web(c)
    other = c.send_traffic("service/web", rps=80, duration=120, pattern="spike", seed=99)
    assert not np.array_equal(other.times, a.times)


def test_background_traffic_during_a_node_failure():
    c = quiet_cluster(nodes=3)
    web(c, annotations=EXP_20MS,
        container_extra={"readinessProbe": {"httpGet": {"path": "/", "port": 80},
                                            "periodSeconds": 5}})
    h = c.send_traffic("service/web", rps=30, duration=400, pattern="poisson", background=True)
    with pytest.raises(Invalid, match="still running for 400 s"):
        h.result()
    c.advance(50)
    failed_at = c.now
    c.fail_node("node-1")
    c.advance(200)
    c.restore_node("node-1")
    c.advance(150)
    r = h.result()
    assert h.done and r.complete
    timeouts = r.times[r.status == 3]
    assert r.error_kinds == {"timeout": len(timeouts)} and len(timeouts) > 100
    # requests time out from the failure until the node is noticed (grace period 50 s,
    # then the node lifecycle controller marks its pods NotReady)
    assert timeouts.min() >= failed_at - 1 and timeouts.max() < failed_at + 62
    assert (r.status[r.times > failed_at + 200 + 15] == 0).all()
    node1 = {p.name for p in c.pods() if p.node == "node-1"}
    late = r.times > failed_at + 215
    names = np.array(r.pod_names)[r.pod[late]]
    assert set(names) & node1  # back in rotation after the restore


def test_stop_and_snapshot():
    c = quiet_cluster()
    c.apply(pod("p"))
    c.advance(5)
    h = c.send_traffic("pod/p", rps=10, duration=100, background=True)
    c.advance(10)
    assert h.snapshot().requests == 100 and not h.snapshot().complete
    h.stop()
    c.advance(10)
    assert h.done and h.result().requests == 100 and h.result().duration == 10
    assert "100 requests" in repr(h.result()) and "<table>" in h.result()._repr_html_()
