"""Exercise 05: plans that miss the target or waste CPU score partial or zero, and say why."""

from __future__ import annotations

import math

from labsupport.grading import check, get_check
from labsupport.grading.bank import ex05


def _plan(load):
    def plan_replicas(peak, pods):
        return {name: max(1, math.ceil(peak[name] * pods[name]["service_time"]
                                       / (load * pods[name]["workers"])))
                for name in ex05.SERVICES}
    return plan_replicas


def test_a_plan_with_headroom_passes_every_case():
    assert get_check("ex05.q2").run(_plan(0.8), hidden=True).passed


def test_one_pod_each_misses_the_target_and_names_the_saturated_service():
    result = check("ex05.q2", lambda peak, pods: {name: 1 for name in ex05.SERVICES})
    assert not result.passed and result.score == 0
    message = result.failures[0].message
    assert "serving: p99" in message and "needs under 50 ms" in message
    assert "1 replica is saturated" in message


def test_copying_everything_meets_the_target_but_costs_too_much():
    result = check("ex05.q2", lambda peak, pods: {name: 6 for name in ex05.SERVICES})
    assert not result.passed
    message = result.failures[0].message
    assert message.startswith("meets the target but requests")
    assert "more than needed" in message and "ingestion 6 (enough: 1)" in message


def test_a_plan_without_headroom_fails_some_hidden_cases_only():
    result = get_check("ex05.q2").run(_plan(1.0), hidden=True)
    assert 0 < result.score < result.points
    assert any("too busy" in f.message or "saturated" in f.message for f in result.failures)


def test_plan_shape_mistakes_are_named():
    missing = check("ex05.q2", lambda peak, pods: {"serving": 3})
    assert "gives no replicas to ingestion, features, ui" in missing.failures[0].message
    zero = check("ex05.q2", lambda peak, pods: {name: 0 for name in ex05.SERVICES})
    assert "whole number from 1 to 20, got 0" in zero.failures[0].message


def test_cost_mistakes_are_named():
    def per_pod(replicas, pods, hours, price):
        return sum(replicas.values()) * hours * price

    def no_hours(replicas, pods, hours, price):
        return sum(n * pods[name]["cpu"] for name, n in replicas.items()) * price

    assert "counts every pod as one core" in check("ex05.q1", per_pod).failures[0].message
    assert "the hours are missing" in check("ex05.q1", no_hours).failures[0].message
