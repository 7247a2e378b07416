"""The HPA changes of Kubernetes 1.33-1.37, on the simulator's virtual clock.

* per-HPA tolerances, ``spec.behavior.scaleUp.tolerance`` and
  ``spec.behavior.scaleDown.tolerance`` (KEP-4951, HPAConfigurableTolerance:
  alpha 1.33, beta 1.35, GA 1.37);
* a new HPA, or one whose spec changed, is reconciled at once instead of at
  the next 15 s resync (kubernetes/kubernetes#138294);
* ``status.observedGeneration`` (kubernetes/kubernetes#138228) and
  ``observedGeneration`` on the conditions (kubernetes/kubernetes#138653),
  with the immediate reconcile of a spec change that rests on them: all three
  behind the HPAGeneration gate, alpha and off by default in 1.37, so those
  tests turn it on (``gen_sim``) and one shows the default.
"""

from __future__ import annotations

import pytest
from fakemetrics import FakeMetrics
from simhelpers import deployment

import labsupport as ls
from labsupport.sim.controllers.hpascaling import default_behavior, scaling_rules, tolerances
from labsupport.sim.controllers.replicacalc import (
    PodMetric,
    Tolerances,
    plain_replicas,
    resource_replicas,
)

READY = {"phase": "Running", "startTime": "2025-01-01T00:00:00Z",
         "conditions": [{"type": "Ready", "status": "True",
                         "lastTransitionTime": "2025-01-01T00:00:05Z"}]}


def _pods(n):
    return [{"metadata": {"name": f"p{i}"}, "status": READY,
             "spec": {"containers": [{"name": "app",
                                      "resources": {"requests": {"cpu": "100m"}}}]}}
            for i in range(n)]


def _cpu_replicas(current, target, per_pod, tolerance):
    usage = {f"p{i}": PodMetric(per_pod, timestamp=60) for i in range(current)}
    return resource_replicas(current, target, "cpu", _pods(current), usage, now=60,
                             tolerance=tolerance)[0]


# --- the tolerance band, in the replica calculator ---------------------------------------

DEFAULT = Tolerances(0.1, 0.1)


def test_a_smaller_scale_up_tolerance_scales_where_the_default_does_not():
    # 53% of a 50% target: ratio 1.06, inside the default band [0.9, 1.1].
    assert _cpu_replicas(3, 50, 53, DEFAULT) == 3
    assert _cpu_replicas(3, 50, 53, Tolerances(scale_down=0.1, scale_up=0.05)) == 4


def test_a_larger_scale_up_tolerance_keeps_what_the_default_would_scale():
    # 46% of a 40% target: ratio 1.15, above 1.1: ceil(3 * 1.15) = 4 by default.
    assert _cpu_replicas(3, 40, 46, DEFAULT) == 4
    assert _cpu_replicas(3, 40, 46, Tolerances(scale_down=0.1, scale_up=0.2)) == 3


def test_each_tolerance_applies_only_in_its_own_direction():
    # A ratio above 1 is judged by scaleUp only, a ratio below 1 by scaleDown only.
    assert _cpu_replicas(3, 50, 53, Tolerances(scale_down=0.5, scale_up=0.05)) == 4
    assert _cpu_replicas(3, 50, 53, Tolerances(scale_down=0.01, scale_up=0.1)) == 3
    # 35% of 50%: ratio 0.7. Default: ceil(4 * 0.7) = 3; scaleDown 0.35 keeps 4;
    # a tiny scaleUp tolerance does not matter below 1.
    assert _cpu_replicas(4, 50, 35, DEFAULT) == 3
    assert _cpu_replicas(4, 50, 35, Tolerances(scale_down=0.35, scale_up=0.1)) == 4
    assert _cpu_replicas(4, 50, 35, Tolerances(scale_down=0.1, scale_up=0.0)) == 3


def test_band_edges_are_inclusive_as_upstream_compares_them():
    # Tolerances.isWithin: 1 - down <= ratio <= 1 + up, in float64.
    assert DEFAULT.is_within(1.1) and DEFAULT.is_within(0.9)
    assert not DEFAULT.is_within(1.1000000000000003)
    assert Tolerances(0.0, 0.0).is_within(1.0) and not Tolerances(0.0, 0.0).is_within(1.01)


def test_the_recount_with_missing_pods_uses_the_tolerance_too():
    # 3 pods at 14/s of a 10/s target (ratio 1.4), one without a value: the recount
    # counts it as 0 -> 10.5/s, ratio 1.05: within the default band, keep 4; with
    # scaleUp 0.01 the recount scales to ceil(4 * 1.05) = 5.
    pods = _pods(4)
    values = {f"p{i}": PodMetric(14_000) for i in range(3)}
    assert plain_replicas(4, 10_000, pods, values, now=60, tolerance=DEFAULT)[0] == 4
    assert plain_replicas(4, 10_000, pods, values, now=60,
                          tolerance=Tolerances(0.1, 0.01))[0] == 5


def test_missing_pods_at_a_ratio_of_exactly_one_are_left_out():
    # 3 pods at exactly the 10/s target and one without a value. Upstream fills missing
    # pods only when the ratio is below or above 1; at 1 the recount is 1 again: keep 4.
    # (Filling with 0 would give 7.5/s and scale down to 3.)
    values = {f"p{i}": PodMetric(10_000) for i in range(3)}
    assert plain_replicas(4, 10_000, _pods(4), values, now=60,
                          tolerance=Tolerances(0.0, 0.0))[0] == 4


def test_scale_down_tolerance_with_an_average_value_target():
    # 20 pods at 9.2/s of 10/s: ratio 0.92. Default: keep 20; scaleDown 0.05: 19.
    pods = _pods(20)
    values = {f"p{i}": PodMetric(9_200) for i in range(20)}
    assert plain_replicas(20, 10_000, pods, values, now=60)[0] == 20
    assert plain_replicas(20, 10_000, pods, values, now=60,
                          tolerance=Tolerances(scale_down=0.05, scale_up=0.1))[0] == 19


# --- reading spec.behavior ------------------------------------------------------------------

def test_tolerances_come_from_behavior_as_quantities():
    assert tolerances(None) == Tolerances(0.1, 0.1)
    assert tolerances({"scaleUp": {"tolerance": "0.05"}}) == Tolerances(0.1, 0.05)
    assert tolerances({"scaleDown": {"tolerance": "50m"}}) == Tolerances(0.05, 0.1)
    assert tolerances({"scaleUp": {"tolerance": 0}}, default=0.2) == Tolerances(0.2, 0.0)
    rules = scaling_rules({"scaleUp": {"tolerance": "25m"}})
    assert (rules[0].tolerance, rules[1].tolerance) == (0.025, None)


def test_defaulting_keeps_a_tolerance_and_adds_none():
    b = default_behavior({"scaleUp": {"tolerance": "50m"}})
    assert b["scaleUp"]["tolerance"] == "50m"
    assert b["scaleUp"]["policies"]            # the rest is still filled
    assert "tolerance" not in b["scaleDown"]


def test_a_negative_tolerance_is_refused_at_apply(sim):
    with pytest.raises(ls.Invalid, match=r"spec.behavior.scaleDown.tolerance: Invalid value: "
                                         r"'-0.1': must be greater than or equal to 0"):
        sim.apply(_hpa(behavior={"scaleDown": {"tolerance": "-0.1"}}))


def test_a_tolerance_that_is_no_quantity_is_refused():
    # At apply the manifest schema refuses it first; the controller's own reading says why too.
    with pytest.raises(ls.Invalid, match=r'spec.behavior.scaleUp.tolerance: Invalid value: '
                                         r"'five percent': a tolerance is a quantity"):
        tolerances({"scaleUp": {"tolerance": "five percent"}})


# --- the controller on a simulated cluster ---------------------------------------------------

def _hpa(name="web", high=10, behavior=None, util=50):
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": high,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": util}}}]}
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name}, "spec": spec}


def _start(sim, load, replicas=2, **hpa):
    """A Deployment of ``replicas`` pods requesting 200m CPU, then the HPA; returns its t0."""
    sim.apply(deployment("web", replicas, cpu="200m"))
    sim.wait_for_rollout("deployment/web")
    source = FakeMetrics(sim, lambda t: load, window="0s")
    sim.hpa.source = source
    t0 = sim.now
    sim.apply(_hpa(**hpa))
    return t0, source


def _replicas(sim):
    return sim.get("deployment/web")["spec"]["replicas"]


@pytest.fixture
def gen_sim(seed):
    c = ls.connect("sim", nodes=3, seed=seed, feature_gates={"HPAGeneration": True})
    yield c
    c.close()


def test_by_default_an_hpa_has_no_generation_and_a_spec_change_waits(sim):
    # 1.37 defaults: the HPAGeneration gate is off (alpha).
    t0, source = _start(sim, 200)
    sim.advance(t0 + 20 - sim.now)
    hpa = sim.get("hpa/web")
    assert "generation" not in hpa["metadata"]
    assert "observedGeneration" not in hpa["status"]
    assert all("observedGeneration" not in c for c in hpa["status"]["conditions"])
    sim.apply(_hpa(high=1))
    sim.advance(0.5)
    assert _replicas(sim) == 2                           # not at once ...
    sim.advance(t0 + 30.2 - sim.now)
    assert _replicas(sim) == 1                           # ... but at the sync at t0 + 30


@pytest.mark.parametrize("behavior, expected", [
    (None, 2),                                           # ratio 1.06 inside [0.9, 1.1]
    ({"scaleUp": {"tolerance": "0.05"}}, 3),             # ceil(2 * 1.06)
    ({"scaleUp": {"tolerance": "50m"}}, 3),              # the same quantity
    ({"scaleDown": {"tolerance": "0.05"}}, 2),           # the other direction: no effect
])
def test_scale_up_tolerance_in_the_cluster(sim, behavior, expected):
    # 212m over 2 pods = 106m of 200m = 53% of a 50% target: ratio 1.06.
    t0, _ = _start(sim, 212, behavior=behavior)
    sim.advance(t0 + 31 - sim.now)                       # three syncs
    assert _replicas(sim) == expected
    st = sim.get("hpa/web")["status"]
    # 53% while 2 pods serve; 212m over 3 pods is 35%: ceil(3 * 0.7) = 3 keeps 3.
    util = st["currentMetrics"][0]["resource"]["current"]["averageUtilization"]
    assert util == (53 if expected == 2 else 35)
    if behavior:
        direction = next(iter(behavior))
        assert sim.get("hpa/web")["spec"]["behavior"][direction]["tolerance"] == \
            behavior[direction]["tolerance"]


@pytest.mark.parametrize("tolerance, expected", [(None, 3), ("0.35", 4)])
def test_scale_down_tolerance_in_the_cluster(sim, tolerance, expected):
    # 280m over 4 pods = 70m = 35% of 50%: ratio 0.7 -> ceil(4 * 0.7) = 3 by default;
    # a scaleDown tolerance of 0.35 puts 0.7 inside the band. No stabilization window,
    # so the answer shows at the first sync.
    scale_down = {"stabilizationWindowSeconds": 0}
    if tolerance is not None:
        scale_down["tolerance"] = tolerance
    t0, _ = _start(sim, 280, replicas=4, behavior={"scaleDown": scale_down})
    sim.advance(t0 + 1 - sim.now)
    assert _replicas(sim) == expected


# --- reconcile at once (#138294) ------------------------------------------------------------

def test_a_new_hpa_is_reconciled_at_once_then_every_15_s(sim):
    t0, source = _start(sim, 1000)                       # 250% of 50%: scale up
    sim.advance(0.5)
    hpa = sim.get("hpa/web")
    # Until 1.36 nothing happened before t0 + 15 s.
    assert hpa["status"]["desiredReplicas"] == 4 and _replicas(sim) == 4
    rescales = [e.time for e in sim.events() if e.reason == "SuccessfulRescale"]
    assert rescales == [pytest.approx(t0, abs=0.1)]
    assert source.calls == 1
    sim.advance(t0 + 14.9 - sim.now)
    assert source.calls == 1                             # no sync in between
    sim.advance(0.2)
    assert source.calls == 2 and _replicas(sim) == 8     # the periodic sync at t0 + 15


def test_a_spec_change_is_reconciled_at_once_without_moving_the_15_s_grid(gen_sim):
    sim = gen_sim
    t0, source = _start(sim, 200)                        # 50% of 50%: no change
    sim.advance(t0 + 20 - sim.now)
    assert source.calls == 2                             # t0 and t0 + 15
    hpa = sim.get("hpa/web")
    assert hpa["metadata"]["generation"] == 1
    # A spec change: maxReplicas below the current 2 -> the HPA scales down to 1 at once.
    sim.apply(_hpa(high=1))
    assert sim.get("hpa/web")["metadata"]["generation"] == 2
    sim.advance(0.5)
    assert source.calls == 2                             # above maxReplicas: no metrics read
    assert _replicas(sim) == 1
    st = sim.get("hpa/web")["status"]
    assert st["observedGeneration"] == 2 and st["desiredReplicas"] == 1
    ev = [e for e in sim.events() if e.reason == "SuccessfulRescale"]
    assert ev[-1].time == pytest.approx(t0 + 20, abs=0.1)
    assert ev[-1].message == ("New size: 1; reason: Current number of replicas above "
                              "Spec.MaxReplicas")
    # The periodic syncs stay on t0 + 15 n: the next one is at t0 + 30, not t0 + 35.
    sim.apply(_hpa(high=10))
    sim.advance(t0 + 29.9 - sim.now)
    calls = source.calls
    assert calls == 3                                    # the spec change back, at t0 + 29.x
    sim.advance(0.2)
    assert source.calls == calls + 1


def test_changes_that_keep_the_generation_wait_for_the_next_sync(gen_sim):
    sim = gen_sim
    t0, source = _start(sim, 200)
    sim.advance(t0 + 5 - sim.now)
    assert source.calls == 1
    labelled = _hpa()
    labelled["metadata"]["labels"] = {"team": "web"}     # metadata only: same generation
    sim.apply(labelled)
    assert sim.get("hpa/web")["metadata"]["generation"] == 1
    sim.advance(t0 + 14.9 - sim.now)
    assert source.calls == 1                             # no extra sync
    sim.advance(0.2)
    assert source.calls == 2


# --- observedGeneration (#138228, #138653) ----------------------------------------------------

def test_status_and_conditions_carry_the_observed_generation(gen_sim):
    sim = gen_sim
    t0, _ = _start(sim, 1000)
    sim.advance(0.5)
    st = sim.get("hpa/web")["status"]
    assert st["observedGeneration"] == 1
    assert [c["type"] for c in st["conditions"]] == ["AbleToScale", "ScalingActive",
                                                     "ScalingLimited"]
    assert {c["observedGeneration"] for c in st["conditions"]} == {1}
    sim.apply(_hpa(util=60))                             # generation 2
    sim.advance(0.5)
    st = sim.get("hpa/web")["status"]
    assert st["observedGeneration"] == 2
    assert {c["observedGeneration"] for c in st["conditions"]} == {2}


def test_observed_generation_on_an_error_status(gen_sim):
    sim = gen_sim
    sim.apply(_hpa())                                    # no such Deployment
    sim.advance(0.5)
    st = sim.get("hpa/web")["status"]
    assert st["observedGeneration"] == 1
    assert st["conditions"] == [{
        "type": "AbleToScale", "status": "False",
        "lastTransitionTime": st["conditions"][0]["lastTransitionTime"],
        "reason": "FailedGetScale",
        "message": ("the HPA controller was unable to get the target's current scale: "
                    'deployments.apps "web" not found'),
        "observedGeneration": 1}]
