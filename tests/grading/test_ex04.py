"""Exercise 04: wrong but plausible policies score partial or zero, with messages that say why."""

from __future__ import annotations

from labsupport import dc
from labsupport.grading import check, get_check


def _shortest(view, rng):
    q = view.queues
    return min(range(len(q)), key=lambda i: q[i])


def _longest(view, rng):
    q = view.queues
    return max(range(len(q)), key=lambda i: q[i])


def _last_on_tie(view, rng):
    q = view.queues
    return min(reversed(range(len(q))), key=lambda i: q[i])


def _one_based(view, rng):
    return _shortest(view, rng) + 1 if view.request % 2 else _shortest(view, rng)


def _speed_aware_shortest(view, rng):
    return min(range(len(view.queues)), key=lambda i: (view.queues[i] + 1) / view.speeds[i])


def _plain_two_choices(view, rng):
    a, b = rng.sample(range(len(view.queues)), 2)
    return a if view.queues[a] <= view.queues[b] else b


def test_the_shortest_queue_passes_every_case():
    assert get_check("ex04.q1").run(dc.scenario_runner(_shortest), hidden=True).passed


def test_shortest_queue_mistakes_name_the_request_and_the_queues():
    longest = check("ex04.q1", dc.scenario_runner(_longest))
    assert not longest.passed
    assert "the lead saw queues [1, 0, 0, 0]" in longest.failures[0].message
    assert "that is the longest queue" in longest.failures[0].message
    tie = check("ex04.q1", dc.scenario_runner(_last_on_tie))
    assert "on a tie take the lowest index" in tie.failures[0].message
    shifted = check("ex04.q1", dc.scenario_runner(_one_based))
    assert "returned 4 for request 11; it must return a server index" in shifted.failures[0].message


def test_the_library_policy_is_not_an_answer():
    result = check("ex04.q1", dc.scenario_runner(dc.least_loaded))
    assert "the course's own labsupport.dc.balance.least_loaded" in result.failures[0].message


def test_policies_that_herd_or_ignore_speeds_miss_the_p99_target():
    herd = get_check("ex04.q2").run(dc.scenario_runner(_speed_aware_shortest), hidden=True)
    assert herd.score == 0
    assert "p99 1.50 s, needs under 1.30 s (8 servers, 85% load" in herd.failures[0].message
    blind = get_check("ex04.q2").run(dc.scenario_runner(_plain_two_choices), hidden=True)
    assert 0 < blind.score < 4
    mixed = [o for o in blind.failures if "three speeds" in o.label]
    assert mixed and "needs under" in mixed[0].message


def test_round_robin_fails_on_errors_and_names_the_overloaded_server():
    def my_round_robin(view, rng):
        return view.request % len(view.queues)

    result = check("ex04.q2", dc.scenario_runner(my_round_robin))
    mixed = [o for o in result.failures if "three speeds" in o.label][0].message
    assert "of requests failed, needs at most 0.5%" in mixed
    assert "busy all the time" in mixed
