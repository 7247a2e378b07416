"""The balancing simulator: policies, traffic shapes, errors, replay, and queueing theory."""

from __future__ import annotations

import random

import pytest

from labsupport import dc
from labsupport.errors import Invalid

EXACT = {"timeout": 1e9, "queue_limit": 10**9}


def test_random_splitting_matches_mm1_mean_and_p99():
    run = dc.simulate(dc.Scenario(servers=4, load=0.8, duration=2000, **EXACT), "random")
    assert run.mean == pytest.approx(dc.mm1_latency(8, 10), rel=0.08)
    assert run.p99 == pytest.approx(dc.mm1_percentile(0.99, 8, 10), rel=0.1)


def test_joining_the_shortest_queue_comes_close_to_one_shared_queue():
    run = dc.simulate(dc.Scenario(servers=4, load=0.8, duration=2000, **EXACT), "least loaded")
    shared = dc.mmc_latency(4, 32, 10)
    assert shared <= run.mean <= 1.2 * shared


def test_erlang_c_of_one_server_is_its_load():
    assert dc.erlang_c(1, 0.7) == pytest.approx(0.7)
    with pytest.raises(Invalid, match="grows forever"):
        dc.mm1_latency(10, 10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_choices_beats_random_at_high_load(seed):
    scenario = dc.Scenario(servers=8, load=0.9, duration=60, timeout=5, seed=seed)
    assert dc.simulate(scenario, "two choices").p99 < 0.6 * dc.simulate(scenario, "random").p99


def test_a_stale_view_makes_least_loaded_herd_but_not_two_choices():
    stale = dc.Scenario(servers=8, load=0.6, duration=60, refresh=0.5, timeout=5)
    herd, two = dc.simulate(stale, "least loaded"), dc.simulate(stale, "two choices")
    assert herd.p99 > 2 * two.p99


def test_round_robin_overloads_slow_servers_and_their_requests_fail():
    mixed = dc.Scenario(speeds=(3, 3, 1, 1, 1, 1, 0.5, 0.5), load=0.7, duration=60)
    run = dc.simulate(mixed, "round robin")
    assert run.error_rate > 0.1
    rows = run.per_server()
    assert rows[-1]["busy"] == 1.0 and rows[-1]["errors"] > 0 and rows[0]["errors"] == 0


def test_the_same_seed_gives_the_same_traffic_whatever_the_policy():
    scenario = dc.Scenario(servers=3, duration=20)
    a, b = dc.simulate(scenario, "random"), dc.simulate(scenario, "round robin")
    assert a.arrivals == b.arrivals and a.servers != b.servers


def test_replay_reproduces_a_run_and_needs_one_choice_per_request():
    scenario = dc.Scenario(servers=4, load=0.9, duration=30, refresh=0.2)
    run = dc.simulate(scenario, "two choices")
    again = dc.replay(scenario.to_dict(), run.decisions)
    assert again.latencies[:50] == run.latencies[:50] and again.p99 == run.p99
    with pytest.raises(Invalid, match="needs .* decisions; got 3"):
        dc.replay(scenario, [0, 1, 2])


def test_scenario_runner_returns_json_rows_of_choices():
    out = dc.scenario_runner(dc.random_server)(dc.Scenario(servers=2, duration=100).to_dict())
    assert all(len(row) <= 1000 for row in out["decisions"]) and len(out["decisions"]) > 1


def test_a_spike_raises_the_rate_only_inside_its_window():
    s = dc.Scenario(load=0.5, spike=(10, 20, 1.0), duration=30)
    assert s.load_at(5) == 0.5 and s.load_at(15) == 1.0 and s.load_at(25) == 0.5
    assert dc.Scenario.from_dict(s.to_dict()) == s


def test_full_queues_reject_and_slow_queues_time_out():
    run = dc.simulate(dc.Scenario(servers=1, load=3, duration=20, queue_limit=5), "random")
    kinds = run.summary()
    assert kinds["rejected"] > 0 and kinds["timeouts"] >= 0 and run.error_rate > 0.5


@pytest.mark.parametrize("bad", [-1, 8, 1.0, None, True])
def test_a_policy_returning_no_index_is_named(bad):
    def broken(view, rng):
        return bad
    with pytest.raises(Invalid, match="must return a server index"):
        dc.simulate(dc.Scenario(servers=8, duration=1), broken)


@pytest.mark.parametrize("fields, words", [
    ({"servers": 0}, "at least 1"), ({"load": -1}, "positive"),
    ({"spike": (5, 2, 1)}, "start < end"), ({"speeds": (1, 0)}, "positive numbers"),
])
def test_bad_scenarios_say_what_is_allowed(fields, words):
    with pytest.raises(Invalid, match=words):
        dc.Scenario(**fields)


def test_policies_on_a_view():
    view = dc.View((2, 0, 0, 5), (1, 1, 1, 1), request=6)
    rng = random.Random(0)
    assert dc.round_robin(view, rng) == 2 and dc.least_loaded(view, rng) == 1
    assert dc.two_choices(dc.View((1,), (1,)), rng) == 0


def test_load_curve_servers_curve_and_pictures_have_alt_text():
    curve = dc.load_curve(dc.Scenario(servers=4, duration=20), [0.5, 0.9], ["random"])
    assert len(curve.points) == 2 and "random" in curve.plot().alt
    points = dc.servers_curve(20, [1, 4], duration=20)
    assert points[1].served > points[0].served and dc.servers_plot(points).alt
    runs = {"random": dc.simulate(dc.Scenario(speeds=(2, 1), duration=20,
                                              spike=(5, 10, 1.2)), "random")}
    assert dc.share_plot(runs).alt and "spike" in dc.timeline_plot(runs).alt


def test_fleet_costs_add_a_spare_and_keep_machines_below_the_limit():
    table = dc.fleet_costs(rate=600, work=0.1)
    assert table.cheapest().machine.name == "small"
    assert all(row.busy <= 0.7 for row in table.rows) and table.plot().alt
    with pytest.raises(Invalid):
        dc.fleet_costs(rate=0, work=0.1)
