"""labsupport.sim.promql on the simulator's own scrapes: rates and p99 from the text format."""

from __future__ import annotations

import math

import pytest

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.sim.promql import histogram_quantile, increase, parse, quantiles, rate


def _pod(name, service_time):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": {
                "sim.labsupport.io/service-time": service_time,
                "sim.labsupport.io/concurrency": "16"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


def test_rate_and_p99_from_two_scrapes_match_the_traffic():
    c = ls.connect(seed=0)
    c.apply([_pod("fast", "constant:0.02"), _pod("slow", "constant:0.3")])
    c.advance(5)
    c.send_traffic("pod/fast", rps=20, duration=10)
    before = parse(c.prometheus())
    c.send_traffic("pod/fast", rps=40, duration=30)
    c.send_traffic("pod/slow", rps=10, duration=30)
    after = parse(c.prometheus())
    r = rate(before, after, 30, "http_requests_total")
    assert r["fast"] == pytest.approx(40, rel=0.02) and r["slow"] == pytest.approx(10, rel=0.05)
    p99 = quantiles(0.99, after, before)
    # constant 0.02 s lies in the (0.01, 0.025] bucket; 0.3 s in (0.25, 0.5]
    assert 0.01 < p99["fast"] <= 0.025 and 0.25 < p99["slow"] <= 0.5
    counts = {s.labels["pod"]: s.value for s in after
              if s.name == "http_request_duration_seconds_count"}
    assert increase(before, after, "http_request_duration_seconds_count") == {
        "fast": pytest.approx(counts["fast"] - 200, abs=2), "slow": counts["slow"]}


def test_histogram_quantile_follows_promql_rules():
    inf = math.inf
    assert histogram_quantile(0.5, [(1.0, 10.0), (2.0, 20.0), (inf, 20.0)]) == 1.0
    assert histogram_quantile(0.75, [(1.0, 10.0), (2.0, 20.0), (inf, 20.0)]) == 1.5
    assert histogram_quantile(0.99, [(1.0, 1.0), (inf, 10.0)]) == 1.0   # in +Inf: highest bound
    assert math.isnan(histogram_quantile(0.5, [(1.0, 1.0), (2.0, 2.0)]))  # no +Inf bucket
    assert histogram_quantile(-1, [(1.0, 1.0), (inf, 1.0)]) == -inf
    assert histogram_quantile(0.5, [(inf, 4.0), (1.0, 4.0)]) == 0.5       # any order


def test_a_counter_reset_counts_the_new_value():
    a = parse('x_total{pod="p"} 100\n')
    b = parse('x_total{pod="p"} 7\n')
    assert increase(a, b, "x_total") == {"p": 7.0}


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(Invalid, match="not the Prometheus text format"):
        parse("hello world\n")
    with pytest.raises(Invalid, match="more than 0"):
        rate([], [], 0, "x_total")
