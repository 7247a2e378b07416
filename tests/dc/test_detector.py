from __future__ import annotations

import random

import pytest

from labsupport import dc
from labsupport.errors import Invalid


def test_timeout_detector_suspects_silence_and_clears_on_a_heartbeat():
    d = dc.TimeoutDetector(2)
    assert d.suspects(100) == set()
    d.heartbeat("a", 1.0)
    d.heartbeat("b", 2.0)
    d.heartbeat("a", 0.5)          # an older heartbeat does not move time back
    assert d.suspects(3.0) == set()
    assert d.suspects(3.5) == {"a"}
    assert d.suspects(4.5) == {"a", "b"}
    d.heartbeat("a", 4.6)
    assert d.suspects(5.0) == {"b"}
    with pytest.raises(Invalid, match="-1"):
        dc.TimeoutDetector(-1)


def test_trace_stops_at_the_crash_and_is_deterministic():
    t1 = dc.heartbeat_trace(3, duration=60, crashes={"worker-2": 20.0}, seed=4)
    t2 = dc.heartbeat_trace(3, duration=60, crashes={"worker-2": 20.0}, seed=4)
    t3 = dc.heartbeat_trace(3, duration=60, crashes={"worker-2": 20.0}, seed=5)
    assert t1 == t2 and t1.arrivals != t3.arrivals
    assert max(t1.arrivals_of("worker-2")) < 20.0 + dc.BUSY_LAN.max_delay
    assert max(t1.arrivals_of("worker-1")) > 55
    assert [t for t, _ in t1.arrivals] == sorted(t for t, _ in t1.arrivals)


def test_silences_and_late_joins():
    t = dc.heartbeat_trace(2, duration=40, network=dc.LAN, silences={"worker-1": (10, 20)},
                           joins={"worker-2": 15}, seed=1)
    w1 = t.arrivals_of("worker-1")
    assert not [x for x in w1 if 10.1 < x < 20]
    assert min(t.arrivals_of("worker-2")) > 15
    gap, node, _ = t.longest_silence()
    assert node == "worker-1" and gap > 9


def test_detection_time_grows_and_false_alarms_fall_with_the_timeout():
    result = dc.sweep([0.8, 1.5, 2.5, 4.0, 6.0], seeds=range(4), nodes=8, duration=300)
    alarms = [r["false_alarms"] for r in result.rows]
    detect = [r["mean_detection"] for r in result.rows]
    assert alarms == sorted(alarms, reverse=True)
    assert alarms[0] > 50 and alarms[-1] == 0
    assert detect == sorted(detect)
    for row in result.rows:
        # the crash is seen between timeout - interval and timeout + a check + a delay
        assert row["timeout"] - 1.0 <= row["mean_detection"] <= row["timeout"] + 0.1 + 2.0
    assert "<table>" in result._repr_html_()


def test_a_timeout_above_the_longest_silence_never_raises_a_false_alarm():
    for seed in range(5):
        trace = dc.heartbeat_trace(10, duration=300, seed=seed)
        gap, _, _ = trace.longest_silence()
        assert dc.timeout_score(gap + 0.01, trace).false_alarms == ()
        assert dc.evaluate(dc.TimeoutDetector(gap * 0.8), trace).false_alarms != ()


def test_fast_score_equals_replaying_the_detector():
    rng = random.Random(0)
    for seed in range(25):
        nodes = rng.randint(1, 5)
        crashes = {f"worker-{i}": rng.uniform(0, 60) for i in range(1, nodes + 1)
                   if rng.random() < 0.5}
        net = dc.NetworkModel(jitter=0.3, loss=0.1, spike_probability=0.1, spike_delay=2)
        trace = dc.heartbeat_trace(nodes, duration=rng.choice([30, 60.5]), crashes=crashes,
                                   network=net, seed=seed)
        for timeout in (0.05, 0.3, 1.0, 1.7, 4.0):
            for every in (0.1, 0.25):
                slow = dc.evaluate(dc.TimeoutDetector(timeout), trace, check_every=every)
                fast = dc.timeout_score(timeout, trace, check_every=every)
                assert slow.false_alarms == fast.false_alarms
                assert slow.detections.keys() == fast.detections.keys()
                for node, d in slow.detections.items():
                    assert d == pytest.approx(fast.detections[node]) if d is not None \
                        else fast.detections[node] is None


def test_a_detector_that_suspects_everyone_is_all_false_alarms():
    class Paranoid:
        def heartbeat(self, node, time):
            pass

        def suspects(self, now):
            return {"worker-1", "worker-2"}

    trace = dc.heartbeat_trace(2, duration=20, crashes={"worker-2": 10.0}, seed=0)
    score = dc.evaluate(Paranoid(), trace)
    assert score.false_alarms[:2] == ((0.0, "worker-1"), (0.0, "worker-2"))
    assert score.detections["worker-2"] == pytest.approx(0.0, abs=0.1)
