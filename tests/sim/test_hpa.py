"""The HorizontalPodAutoscaler: formula, tolerance, readiness, limits, stabilization, status."""

from __future__ import annotations

import math

import pytest
from fakemetrics import FakeMetrics
from simhelpers import deployment

import labsupport as ls
from labsupport.sim.controllers.hpascaling import Recorder, normalize, scaling_rules
from labsupport.sim.controllers.replicacalc import (
    MetricsError,
    PodMetric,
    plain_replicas,
    resource_replicas,
)

# --- the replica calculator, on hand-made pods -----------------------------------------

READY = {"phase": "Running", "startTime": "2025-01-01T00:00:00Z",
         "conditions": [{"type": "Ready", "status": "True",
                         "lastTransitionTime": "2025-01-01T00:00:05Z"}]}


def _pods(n, *, request="100m", status=READY, prefix="p"):
    return [{"metadata": {"name": f"{prefix}{i}"}, "status": status,
             "spec": {"containers": [{"name": "app",
                                      "resources": {"requests": {"cpu": request}}}]}}
            for i in range(n)]


def _usage(*values, prefix="p"):
    return {f"{prefix}{i}": PodMetric(v, timestamp=60) for i, v in enumerate(values)}


@pytest.mark.parametrize("per_pod, expected", [
    (50, 3),    # ratio 1.0
    (54, 3),    # 1.08: within the tolerance
    (45, 3),    # 0.9: 1 - 0.1 <= 0.9, within
    # 1.1: within since 1.33. Upstream now tests 1 - down <= ratio <= 1 + up
    # (Tolerances.isWithin, KEP-4951) and 1.0 + 0.1 == 1.1 in float64; the 1.32 test
    # |1 - 1.1| <= 0.1 was false (0.10000000000000009) and scaled to 4.
    (55, 3),
    (56, 4),    # 1.12: above 1 + 0.1
    (90, 6),    # ceil(3 * 1.8)
    (20, 2),    # ceil(3 * 0.4) = ceil(1.2)
    (0, 0),
])
def test_formula_and_tolerance(per_pod, expected):
    got = resource_replicas(3, 50, "cpu", _pods(3), _usage(per_pod, per_pod, per_pod), now=60)
    assert got[0] == expected
    assert got[1] == per_pod          # utilization % of a 100m request


def test_utilization_is_a_whole_percent_of_the_summed_requests():
    # 3 pods at 66m, 66m, 67m of 100m: 199 * 100 // 300 = 66 %, average 66m
    assert resource_replicas(3, 33, "cpu", _pods(3), _usage(66, 66, 67), now=60) == (6, 66, 66)


def test_missing_metrics_count_as_full_request_on_scale_down():
    # Three pods at 10%, one without metrics. Alone: ceil(3 * 0.2) = 1; with the
    # missing pod at 100%: (10+10+10+100) * 100 // 400 = 32% -> ceil(4 * 0.64) = 3.
    pods = _pods(4)
    assert resource_replicas(4, 50, "cpu", pods, _usage(10, 10, 10), now=60)[0] == 3


def test_missing_metrics_count_as_zero_on_scale_up():
    # Two pods at 100% (ratio 2), two missing -> 0%: 200 * 100 // 400 = 50% -> ratio 1.0,
    # within the tolerance: keep 4.
    assert resource_replicas(4, 50, "cpu", _pods(4), _usage(100, 100), now=60)[0] == 4
    # One pod at 150%, three missing: 150 * 100 // 400 = 37% of a 30% target -> 1.23
    # -> ceil(4 * 1.2333) = 5.
    assert resource_replicas(4, 30, "cpu", _pods(4), _usage(150), now=60)[0] == 5


def test_guessed_metrics_never_reverse_the_direction():
    # One pod at 40% (ratio 0.8, a scale-down), three missing at 100% -> 85%: would scale up.
    assert resource_replicas(4, 50, "cpu", _pods(4), _usage(40), now=60)[0] == 4


def test_unready_pods_count_as_zero_on_scale_up_and_are_ignored_on_scale_down():
    pending = {"phase": "Pending"}
    pods = _pods(2) + _pods(2, status=pending, prefix="q")
    # scale-up: 2 at 100% + 2 pending at 0 -> 50% -> within tolerance of 50
    assert resource_replicas(4, 50, "cpu", pods, _usage(100, 100), now=60)[0] == 4
    # 2 at 100% + 2 pending at 0, target 40: 50/40 = 1.25 -> ceil(4 * 1.25) = 5
    assert resource_replicas(4, 40, "cpu", pods, _usage(100, 100), now=60)[0] == 5
    # scale-down: the pending pods are left out: ceil(2 * 0.2) = 1
    assert resource_replicas(4, 50, "cpu", pods, _usage(10, 10), now=60)[0] == 1


def test_cpu_sample_taken_within_one_window_of_readiness_is_unready():
    # Ready since 00:00:05; a sample at 10 s with a 15 s window does not count.
    fresh = {"p0": PodMetric(100, timestamp=10), "p1": PodMetric(100, timestamp=10)}
    late = {"p0": PodMetric(100, timestamp=20), "p1": PodMetric(100, timestamp=20)}
    # The message of kubernetes/kubernetes#114740 (since 1.27; the simulator had the old one).
    with pytest.raises(MetricsError, match=r"did not receive metrics for targeted pods \(pods "
                                           r"might be unready\)"):
        resource_replicas(2, 50, "cpu", _pods(2), fresh, now=10)
    assert resource_replicas(2, 50, "cpu", _pods(2), late, now=20)[0] == 4
    # After the 300 s CPU initialization period only never-ready pods are left out.
    assert resource_replicas(2, 50, "cpu", _pods(2), fresh, now=400)[0] == 4


def test_deleted_and_failed_pods_are_ignored():
    gone = [{"metadata": {"name": "g", "deletionTimestamp": "2025-01-01T00:00:30Z"},
             "status": READY, "spec": _pods(1)[0]["spec"]},
            {"metadata": {"name": "f"}, "status": {"phase": "Failed"}, "spec": _pods(1)[0]["spec"]}]
    usage = _usage(90, 90) | {"g": PodMetric(0, timestamp=60)}
    assert resource_replicas(4, 50, "cpu", _pods(2) + gone, usage, now=60)[0] == 4


def test_missing_request_is_named():
    pods = _pods(1)
    del pods[0]["spec"]["containers"][0]["resources"]
    with pytest.raises(MetricsError, match="missing request for cpu in container app of Pod p0"):
        resource_replicas(1, 50, "cpu", pods, _usage(10), now=60)


def test_plain_metric_average_value():
    pods = _pods(4)
    # 40, 20, 20 requests/s and one missing; target 10/s: scale-up, missing counts 0
    # -> (40+20+20+0) / 4 = 20 -> ceil(4 * 2) = 8
    values = {"p0": PodMetric(40_000), "p1": PodMetric(20_000), "p2": PodMetric(20_000)}
    assert plain_replicas(4, 10_000, pods, values, now=60) == (8, 26_666)
    # scale-down: the missing pod counts as exactly the target
    values = {"p0": PodMetric(2_000), "p1": PodMetric(2_000), "p2": PodMetric(2_000)}
    assert plain_replicas(4, 10_000, pods, values, now=60)[0] == math.ceil(4 * 16_000 / 40_000)


# --- stabilization and limits ------------------------------------------------------------

def _run(rules, steps, *, current, low=1, high=100, start=0.0):
    """Feed (desired) recommendations every 15 s; return the replicas after each."""
    rec = Recorder()
    rec.record_initial(current, start)
    out = []
    for i, desired in enumerate(steps):
        now = start + 15 * (i + 1)
        n = normalize(rec, rules, current, desired, low, high, now)
        if n.replicas != current:
            rec.store_scale_event(rules, current, n.replicas, now)
        current = n.replicas
        out.append(current)
    return out


def test_default_scale_up_doubles_or_adds_four():
    assert _run(None, [50] * 5, current=1) == [4, 8, 16, 32, 50]
    assert _run(None, [50] * 2, current=10, high=25) == [20, 25]


def test_default_scale_down_waits_for_the_300_s_window():
    # The initial 10 (t=0) and the recommendations keep the maximum for 300 s:
    # a recommendation made exactly 300 s ago still counts (upstream's "not before").
    out = _run(None, [2] * 25, current=10)
    assert out[:20] == [10] * 20 and out[20] == 2      # t = 15 * 21 = 315 s


def test_behavior_pods_policy_counts_changes_within_its_period():
    rules = scaling_rules({"scaleUp": {"policies": [{"type": "Pods", "value": 2,
                                                     "periodSeconds": 60}]}})
    # +2 at 15 s; the change drops out of the 60 s period after 75 s (strictly after).
    assert _run(rules, [20] * 6, current=2) == [4, 4, 4, 4, 6, 6]


def test_behavior_percent_scale_down_and_zero_window():
    rules = scaling_rules({"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [
        {"type": "Percent", "value": 50, "periodSeconds": 30}]}})
    # 16 -> 8 at 15 s; at 30 s the period still holds the -8; at 45 s 8 -> 4 ...
    assert _run(rules, [1] * 6, current=16) == [8, 8, 4, 4, 2, 2]


def test_behavior_select_policy_min_and_disabled():
    both = [{"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}]
    rules = scaling_rules({"scaleUp": {"selectPolicy": "Min", "policies": both}})
    assert _run(rules, [40] * 3, current=2) == [4, 8, 12]      # min(2+4, 2*2), ...
    rules = scaling_rules({"scaleDown": {"selectPolicy": "Disabled",
                                         "stabilizationWindowSeconds": 0}})
    assert _run(rules, [1] * 3, current=5) == [5, 5, 5]


def test_behavior_scale_up_window_uses_the_lowest_recommendation():
    rules = scaling_rules({"scaleUp": {"stabilizationWindowSeconds": 30}})
    # The initial 3 (t=0) holds at 15 s; at 30 s it is exactly 30 s old, no longer strictly
    # inside the window (upstream's "after the cutoff"), so 10 applies, limited to 3 + 4.
    assert _run(rules, [10, 10, 10, 10], current=3) == [3, 7, 10, 10]


def test_invalid_behavior_is_refused_at_apply(sim):
    with pytest.raises(ls.Invalid, match=r"selectPolicy: Unsupported value: \"Largest\""):
        sim.apply(_hpa(behavior={"scaleUp": {"selectPolicy": "Largest"}}))


# --- the controller on a simulated cluster -------------------------------------------------

def _hpa(name="web", low=1, high=10, metrics=None, behavior=None):
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": low, "maxReplicas": high}
    if metrics is not None:
        spec["metrics"] = metrics
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name}, "spec": spec}


def _cpu(util):
    return [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": util}}}]


def _start(sim, source, replicas=2, settle=0, **hpa):
    sim.apply(deployment("web", replicas, cpu="200m"))
    sim.wait_for_rollout("deployment/web")
    if settle:
        sim.advance(settle)
    sim.hpa.source = source
    t0 = sim.now
    sim.apply(_hpa(**hpa))
    return t0


def _replicas_after_syncs(sim, t0, syncs):
    """Replicas just after syncs 1..syncs (those already past are read as they are now).

    Since 1.37 the first sync comes at once when the HPA is created
    (kubernetes/kubernetes#138294), then every 15 s: sync i runs at t0 + 15 (i - 1).
    Until 1.36 it was t0 + 15 i.
    """
    out = []
    for i in range(1, syncs + 1):
        until = t0 + 15 * (i - 1) + 0.05
        if until > sim.now:
            sim.advance(until - sim.now)
        out.append(sim.get("deployment/web")["spec"]["replicas"])
    return out


def _model(cpu, t0, syncs, current, *, request=200, target=50, low=1, high=10):
    """The documented formula, without the simulator: default behavior, all pods ready."""
    recs: list[tuple[int, int]] = []
    out = []
    for i in range(1, syncs + 1):
        t = t0 + 15 * (i - 1) + 0.01        # sync i; the first at once (#138294)
        if not recs:
            recs.append((i, current))
        share = cpu(t) // current
        util = share * current * 100 // (request * current)
        ratio = util / target
        # 1.33+: within 1 - 0.1 <= ratio <= 1 + 0.1 (Tolerances.isWithin, KEP-4951)
        desired = current if 0.9 <= ratio <= 1.1 else math.ceil(ratio * current)
        highest = max([desired] + [r for j, r in recs if 15 * (i - j) <= 300])
        recs.append((i, desired))
        allowed = min(high, max(2 * current, 4))
        current = low if highest < low else min(highest, allowed)
        out.append(current)
    return out


def test_replicas_over_a_load_profile_equal_the_formula(sim):
    def load(t):
        dt = t - t0
        return 190 if dt < 100 else 1000 if dt < 400 else 1080 if dt < 500 else 300
    source = FakeMetrics(sim, load, window="0s")
    t0 = _start(sim, source, metrics=_cpu(50))
    got = _replicas_after_syncs(sim, t0, 60)
    want = _model(load, t0, 60, 2)
    assert got == want
    # Read by hand (syncs at t0, t0 + 15, ... since 1.37, #138294): 47% is within
    # tolerance; 1000m (from sync 8, t0 + 105 s) asks for 10, reached as 4, 8, 10;
    # 54% at 1080m changes nothing; 300m asks for 3, granted at the first sync where
    # the last recommendation of 10 (sync 34, t0 + 495 s) is more than 300 s old:
    # sync 55, 315 s later. (Until 1.36 every sync came 15 s later: 6 syncs at 2.)
    assert got[:7] == [2] * 7 and got[7:10] == [4, 8, 10]
    assert got[:54] == got[:34] + [10] * 20 and got[54] == 3


@pytest.mark.parametrize("window, expected", [("15s", [3, 3, 3]), ("0s", [3, 6, 10])])
def test_new_pods_count_once_ready_for_a_whole_metrics_window(sim, window, expected):
    # 600m over the ready pods; a pod ready for less than 20 s burns 1000m (start-up).
    source = FakeMetrics(sim, lambda t: 600, window=window, warmup=(20, 1000))
    t0 = _start(sim, source, metrics=_cpu(100), settle=60)
    # Sync 1: 2 pods at 300m = 150% -> 3. Sync 2: the new pod, ready for about 12 s,
    # reports 1000m. With a 15 s window its sample is not a whole window after it
    # became ready: it is left out, 200m + 200m = 100% -> keep 3. Counted (a 0 s
    # window), 1400m / 600m = 233% -> 7, limited to 6; then the bursts of those new
    # pods feed a runaway to maxReplicas, which is what the rule prevents.
    assert _replicas_after_syncs(sim, t0, 3) == expected


def test_status_conditions_and_event(sim):
    source = FakeMetrics(sim, lambda t: 1000, window="0s")
    t0 = _start(sim, source, metrics=_cpu(50), high=6)
    _replicas_after_syncs(sim, t0, 1)
    hpa = sim.get("hpa/web")
    st = hpa["status"]
    assert st["currentReplicas"] == 2 and st["desiredReplicas"] == 4
    assert st["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageValue": "500m", "averageUtilization": 250}}}]
    cond = {c["type"]: c for c in st["conditions"]}
    assert [c["type"] for c in st["conditions"]] == ["AbleToScale", "ScalingActive",
                                                    "ScalingLimited"]
    assert cond["AbleToScale"]["reason"] == "SucceededRescale"
    assert cond["ScalingActive"]["message"] == ("the HPA was able to successfully calculate a "
                                                "replica count from cpu resource utilization "
                                                "(percentage of request)")
    assert (cond["ScalingLimited"]["status"], cond["ScalingLimited"]["reason"]) == \
        ("True", "ScaleUpLimit")
    assert "lastScaleTime" in st
    ev = [e for e in sim.events() if e.reason == "SuccessfulRescale"]
    assert ev[0].message == ("New size: 4; reason: cpu resource utilization (percentage of "
                             "request) above target")
    assert ev[0].component == "horizontal-pod-autoscaler" and ev[0].object == \
        "horizontalpodautoscaler/web"
    _replicas_after_syncs(sim, t0, 3)
    cond = {c["type"]: c for c in sim.get("hpa/web")["status"]["conditions"]}
    assert sim.get("deployment/web")["spec"]["replicas"] == 6
    assert (cond["ScalingLimited"]["reason"], cond["AbleToScale"]["reason"]) == \
        ("TooManyReplicas", "ReadyForNewScale")


def test_pods_metric_and_the_largest_of_several_metrics(sim):
    source = FakeMetrics(sim, lambda t: 300, rps=lambda t: 55.0, window="0s")
    rps = {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                    "target": {"type": "AverageValue", "averageValue": "10"}}}
    t0 = _start(sim, source, metrics=_cpu(50) + [rps])
    _replicas_after_syncs(sim, t0, 1)
    # cpu: 150m of 200m = 75% -> 3; requests: 27.5/s of 10/s -> ceil(2 * 2.75) = 6 -> 4
    st = sim.get("hpa/web")["status"]
    assert st["currentMetrics"][1] == {"type": "Pods", "pods": {
        "metric": {"name": "http_requests_per_second"}, "current": {"averageValue": "27500m"}}}
    assert st["desiredReplicas"] == 4
    ev = [e.message for e in sim.events() if e.reason == "SuccessfulRescale"]
    assert ev == ["New size: 4; reason: pods metric http_requests_per_second above target"]
    _replicas_after_syncs(sim, t0, 2)
    assert sim.get("deployment/web")["spec"]["replicas"] == 6


def test_average_value_resource_target(sim):
    source = FakeMetrics(sim, lambda t: 900, window="0s")
    avg = [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "AverageValue", "averageValue": "150m"}}}]
    t0 = _start(sim, source, replicas=3, metrics=avg)
    assert _replicas_after_syncs(sim, t0, 2) == [6, 6]     # 300m / 150m * 3
    assert sim.get("hpa/web")["status"]["currentMetrics"][0]["resource"]["current"] == \
        {"averageValue": "150m"}


def test_behavior_in_the_cluster_scales_down_one_pod_a_minute(sim):
    source = FakeMetrics(sim, lambda t: 0, window="0s")
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    t0 = _start(sim, source, replicas=4, metrics=_cpu(50), behavior=behavior)
    assert _replicas_after_syncs(sim, t0, 9) == [3, 3, 3, 3, 2, 2, 2, 2, 1]
    stored = sim.get("hpa/web")["spec"]["behavior"]
    assert stored["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}


def test_min_and_max_replicas_bound_the_target(sim):
    source = FakeMetrics(sim, lambda t: 0, window="0s")
    t0 = _start(sim, source, replicas=12, metrics=_cpu(50), low=2, high=10)
    assert _replicas_after_syncs(sim, t0, 1) == [10]
    ev = [e.message for e in sim.events() if e.reason == "SuccessfulRescale"]
    assert ev == ["New size: 10; reason: Current number of replicas above Spec.MaxReplicas"]


def test_errors_become_conditions_and_events(sim):
    sim.apply(deployment("web", 2))                    # no CPU request
    sim.wait_for_rollout("deployment/web")
    sim.hpa.source = FakeMetrics(sim, lambda t: 100, window="0s")
    sim.apply(_hpa())                                  # defaulted to CPU at 80%
    assert sim.get("hpa/web")["spec"]["metrics"] == _cpu(80)
    sim.advance(16)
    cond = {c["type"]: c for c in sim.get("hpa/web")["status"]["conditions"]}
    assert cond["ScalingActive"]["reason"] == "FailedGetResourceMetric"
    assert cond["ScalingActive"]["message"].startswith(
        "the HPA was unable to compute the replica count: failed to get cpu utilization: "
        "missing request for cpu in container app of Pod web-")
    reasons = [e.reason for e in sim.events() if e.object == "horizontalpodautoscaler/web"]
    assert reasons == ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]
    assert sim.get("deployment/web")["spec"]["replicas"] == 2


def test_without_a_metrics_api(sim, monkeypatch):
    # As a real cluster without metrics-server.
    monkeypatch.setattr(type(sim.hpa), "metrics", property(lambda self: None))
    sim.apply(deployment("web", 2, cpu="100m"))
    sim.apply(_hpa())
    sim.advance(16)
    cond = {c["type"]: c for c in sim.get("hpa/web")["status"]["conditions"]}
    assert "could not find the requested resource (get pods.metrics.k8s.io)" in \
        cond["ScalingActive"]["message"]


def test_zero_replicas_disable_scaling_and_v1_objects_work(sim):
    source = FakeMetrics(sim, lambda t: 1000, window="0s")
    t0 = _start(sim, source, metrics=_cpu(50))
    sim.scale("deployment/web", 0)
    _replicas_after_syncs(sim, t0, 1)
    cond = {c["type"]: c for c in sim.get("hpa/web")["status"]["conditions"]}
    assert cond["ScalingActive"]["reason"] == "ScalingDisabled"
    sim.delete("hpa/web")
    sim.scale("deployment/web", 2)
    sim.advance(10)
    sim.apply({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "old"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                           "name": "web"},
                        "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}})
    # 1.37: the first sync comes at once (#138294; it was 15 s later). (No
    # observedGeneration: the HPAGeneration gate is off by default in 1.37.)
    sim.advance(1)
    assert sim.get("hpa/old")["status"] == {
        "currentReplicas": 2, "desiredReplicas": 4, "currentCPUUtilizationPercentage": 250,
        "lastScaleTime": sim.get("hpa/old")["status"]["lastScaleTime"]}


def test_a_deleted_hpa_stops_scaling(sim):
    source = FakeMetrics(sim, lambda t: 1000, window="0s")
    t0 = _start(sim, source, metrics=_cpu(50))
    assert _replicas_after_syncs(sim, t0, 1) == [4]
    sim.delete("hpa/web")
    sim.advance(60)
    assert sim.get("deployment/web")["spec"]["replicas"] == 4
    assert not sim.hpa._recorders


def test_missing_target_is_reported(sim):
    sim.apply(_hpa())
    sim.advance(16)
    cond = sim.get("hpa/web")["status"]["conditions"][0]
    assert cond["message"] == ("the HPA controller was unable to get the target's current "
                               'scale: deployments.apps "web" not found')
    assert [e.reason for e in sim.events() if e.object == "horizontalpodautoscaler/web"] == \
        ["FailedGetScale"]


def test_same_seed_same_scaling(seed):
    def run():
        c = ls.connect("sim", nodes=3, seed=seed)
        t0 = _start(c, FakeMetrics(c, lambda t: 1500), metrics=_cpu(50))
        return _replicas_after_syncs(c, t0, 8), [e.message for e in c.events()]
    assert run() == run()
