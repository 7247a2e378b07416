"""Exercise 01: wrong but plausible answers score partial or zero, naming the mistake."""

from __future__ import annotations

from labsupport import dc
from labsupport.grading import check, get_check
from labsupport.grading.student import forget


def barrier_time(rounds):
    return sum(max(r) for r in rounds)


def no_barrier(rounds):
    return max(sum(c) for c in zip(*rounds, strict=True))


def one_machine(rounds):
    return sum(sum(r) for r in rounds)


def _policy_runner(policy):
    def run_my_policy(cluster):
        return dc.policy_trial(policy, cluster)
    return run_my_policy


def greedy_by_hand(pending, load):
    idle = [w for w, n in sorted(load.items()) if n == 0]
    return list(zip(pending, idle, strict=False))


def keep_two(pending, load):
    out, tasks = [], iter(pending)
    for worker, n in sorted(load.items(), key=lambda kv: kv[1]):
        for _ in range(max(0, 2 - n)):
            task = next(tasks, None)
            if task is None:
                return out
            out.append((task, worker))
    return out


def deal_evenly(pending, load):
    workers = sorted(load)
    return [(t, workers[i % len(workers)]) for i, t in enumerate(pending)]


def fixed_names(pending, load):
    names = ["worker-1", "worker-2"]
    return [(t, names[i % 2]) for i, t in enumerate(pending)]


def twice(pending, load):
    idle = [w for w, n in load.items() if n == 0]
    return [(pending[0], w) for w in idle]


def gives_up(pending, load):
    return [(pending[0], w) for w, n in load.items() if n == 0][:1] if len(pending) > 3 else []


def setup_function():
    forget()


def _messages(result):
    return [o.message for o in result.outcomes if not o.passed]


def test_barrier_reference_passes_and_wrong_formulas_are_named():
    assert get_check("ex01.q1").run(barrier_time, hidden=True).score == 2
    result = get_check("ex01.q1").run(no_barrier, hidden=True)
    assert 0 < result.score < 2
    assert any("WITHOUT a barrier" in m for m in _messages(result))
    result = get_check("ex01.q1").run(one_machine, hidden=True)
    assert result.score < 2 and any("single machine" in m for m in _messages(result))


def test_a_hand_written_greedy_policy_earns_full_marks():
    assert get_check("ex01.q2").run(_policy_runner(greedy_by_hand), hidden=True).score == 4


def test_the_course_policy_itself_does_not_count():
    result = get_check("ex01.q2").run(_policy_runner(dc.greedy), hidden=True)
    assert result.score == 0 and "course's own dc.greedy" in _messages(result)[0]


def test_queueing_two_tasks_per_worker_loses_on_a_straggler():
    result = get_check("ex01.q2").run(_policy_runner(keep_two), hidden=True)
    assert 0 < result.score < 4
    assert any("15% more than greedy" in m for m in _messages(result))


def test_dealing_out_evenly_is_too_slow_on_mixed_speeds():
    result = check("ex01.q2", _policy_runner(deal_evenly))
    assert result.score < 4
    assert any("static" in m and "slow workers get as many" in m for m in _messages(result))


def test_names_not_taken_from_load_are_refused_when_a_worker_fails():
    result = check("ex01.q2", _policy_runner(fixed_names))
    assert result.score == 0
    assert any("went to 'worker-2', which is not a live worker" in m for m in _messages(result))


def test_a_task_given_twice_and_tasks_left_waiting_are_named():
    result = check("ex01.q2", _policy_runner(twice))
    assert result.score == 0 and "handed out twice in one answer" in _messages(result)[0]
    result = check("ex01.q2", _policy_runner(gives_up))
    assert result.score == 0 and "never finished" in _messages(result)[0]
    assert _messages(result)[0].startswith("tasks 37, 38, 39 never finished")


def test_an_unanswered_policy_is_reported_as_not_answered():
    def my_policy(pending, load):
        raise NotImplementedError("your answer here")

    result = check("ex01.q2", _policy_runner(my_policy))
    assert result.score == 0 and "not answered yet" in _messages(result)[0]


def test_a_forged_trial_report_earns_nothing():
    """The judge replays the recorded decisions in its own simulator: made-up numbers fail."""
    from labsupport.dc import greedy, policy_trial
    from labsupport.grading.bank.ex01 import CLUSTERS, Q2

    cluster = CLUSTERS[0][1]
    honest = policy_trial(lambda pending, load: greedy(pending, load), cluster)
    case = Q2.cases[0]
    assert Q2.judge(case, honest) == (True, "")
    liar = dict(honest, makespan=1.0, decisions=[])
    ok, why = Q2.judge(case, liar)
    assert not ok and "recorded decisions end" in why
    tampered = dict(honest, decisions=honest["decisions"][::-1])
    ok, why = Q2.judge(case, tampered)
    assert not ok and "another situation" in why
