"""Exercise 09 proven both ways: the reference earns full marks, mistakes are named."""

from __future__ import annotations

import copy

from labsupport.grading import check, get_check
from labsupport.grading.bank import ex09


def _answer(cpu="250m", target=70, low=1, high=40):
    answer = copy.deepcopy(ex09.REFERENCE)
    answer["resources"] = {"requests": {"cpu": cpu}} if cpu else {}
    spec = answer["hpa"]["spec"]
    spec["metrics"][0]["resource"]["target"]["averageUtilization"] = target
    spec["minReplicas"], spec["maxReplicas"] = low, high
    return answer


def _messages(result):
    return [o.message for o in result.outcomes if not o.passed]


def test_the_reference_scores_full_marks_on_every_hidden_pattern():
    assert get_check("ex09.q1").run(ex09.REFERENCE, hidden=True).passed
    assert get_check("ex09.q2").run(ex09.REFERENCE, hidden=True).passed
    for case in get_check("ex09.q1").cases:
        row = ex09.run_scenario(ex09.REFERENCE, case.expect["pattern"], seed=case.expect["seed"])
        # Held with room to spare, and the HPA really scaled out and back.
        assert row["p95"] < 0.2 and row["error_rate"] == 0.0, case.label
        assert row["max_replicas"] >= 20 and row["series"][-1][1] < row["max_replicas"]


def test_the_untouched_exercise_scores_zero():
    assert check("ex09.q1", ...).score == 0 and check("ex09.q2", ...).score == 0


def test_no_cpu_request_is_named_from_the_hpa_condition():
    result = get_check("ex09.q1").run(_answer(cpu=None), hidden=True)
    assert result.score == 0
    message = _messages(result)[0]
    assert "the HPA could not compute CPU utilization" in message
    assert "missing request for cpu in container web of Pod web-" in message
    assert "set resources.requests.cpu" in message
    assert get_check("ex09.q2").run(_answer(cpu=None), hidden=True).score == 0


def test_a_target_so_low_it_wastes_replicas_keeps_q1_loses_q2():
    answer = _answer(target=20)
    assert get_check("ex09.q1").run(answer, hidden=True).score == 3
    q2 = get_check("ex09.q2").run(answer, hidden=True)
    assert q2.score == 0
    message = _messages(q2)[0]
    assert "replica-minutes" in message and "(at most 1.3 x)" in message
    assert "averageUtilization 20% of 250m scales out while each pod is mostly idle" in message


def test_a_middling_target_earns_partial_points():
    q2 = get_check("ex09.q2").run(_answer(target=50), hidden=True)
    assert 0 < q2.score < 2


def test_max_replicas_too_small_is_named():
    result = get_check("ex09.q1").run(_answer(high=4), hidden=True)
    assert result.score == 0
    message = _messages(result)[0]
    assert message.startswith("p95 latency ")
    assert "maxReplicas 4 is too small, the HPA stopped at 4 replicas" in message
    assert "the desired replica count is more than the maximum replica count" in message


def test_a_request_larger_than_a_busy_pod_uses_never_scales():
    message = _messages(get_check("ex09.q1").run(_answer(cpu="1500m", target=80),
                                                 hidden=False))[0]
    assert "averageUtilization 80% of 1500m is 1200m per pod" in message
    assert "never scales out" in message


def test_a_cheaper_answer_that_holds_also_passes():
    answer = _answer(target=90)
    assert get_check("ex09.q1").run(answer, hidden=True).passed
    assert get_check("ex09.q2").run(answer, hidden=True).passed


def test_shape_mistakes_are_named():
    def message(answer):
        return _messages(get_check("ex09.q1").run(answer, hidden=False))[0]

    assert message(ex09.REFERENCE["hpa"]).startswith(
        'autoscaling should be a dict with two keys, "resources"')
    wrong = _answer()
    wrong["hpa"]["spec"]["scaleTargetRef"]["name"] = "shop"
    assert message(wrong).startswith("spec.scaleTargetRef must name the Deployment")
    wrong = _answer()
    wrong["hpa"]["apiVersion"] = "autoscaling/v1"
    assert "autoscaling/v2" in message(wrong)


def test_the_patterns_are_seeded_and_the_same_on_every_run():
    case = get_check("ex09.q1").cases[1]
    a = ex09._run.__wrapped__(*[__import__("json").dumps(x, sort_keys=True) for x in
                                (ex09.REFERENCE, case.expect["pattern"])], case.expect["seed"])
    b = ex09.run_scenario(ex09.REFERENCE, case.expect["pattern"], seed=case.expect["seed"])
    assert (a["p95"], a["replica_minutes"], a["requests"]) == \
        (b["p95"], b["replica_minutes"], b["requests"])
