"""Exercise 08: the reference answers pass; plausible wrong answers score partial or zero."""

from __future__ import annotations

import copy

from labsupport.grading import get_check
from labsupport.grading.bank import ex08


def _service(**spec):
    svc = copy.deepcopy(ex08.REFERENCE_SERVICE)
    svc["spec"].update(spec)
    return svc


def test_reference_answers_score_full_marks_on_every_case():
    assert get_check("ex08.q1").run(ex08.REFERENCE_SERVICE, hidden=True).passed
    assert get_check("ex08.q2").run(ex08.REFERENCE_PROBE, hidden=True).passed


def test_other_working_probes_also_pass():
    for probe in ({"tcpSocket": {"port": 80}, "periodSeconds": 10},
                  {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}):
        assert get_check("ex08.q2").run(probe, hidden=True).passed, probe


def test_the_hidden_cases_include_five_or_more_replicas():
    assert sum(c.expect["replicas"] >= 5 for c in get_check("ex08.q2").cases) >= 4
    assert any(c.expect["replicas"] >= 5 for c in get_check("ex08.q1").cases)


def test_only_requests_lost_to_the_kill_are_excused():
    """The reference loses a few requests to the killed pod on some cases; none are counted."""
    excused = 0
    for case in get_check("ex08.q2").cases:
        row = ex08.run_scenario(ex08.REFERENCE_SERVICE, ex08.REFERENCE_PROBE, **case.expect)
        assert row["errors"] == row["excused"] and row["error_kinds"] == {}, case.expect
        excused += row["excused"]
    assert excused > 0  # the rule matters: some cases do lose requests to the kill
    # Without a probe, the requests refused by pods still starting all count.
    row = ex08.run_scenario(ex08.REFERENCE_SERVICE, None, seed=9, replicas=6, start=8.0)
    assert row["errors"] - row["excused"] > 1000 and row["excused"] < 10


def test_no_readiness_probe_scores_zero_and_shows_the_failed_count():
    result = get_check("ex08.q2").run(None, hidden=True)
    assert result.score == 0
    message = result.failures[0].message
    assert "requests failed (refused:" in message
    assert "without a readiness probe a pod counts as ready" in message
    assert int(message.split(" of ")[0]) > 100


def test_a_probe_on_a_port_nginx_does_not_listen_on_is_named_from_the_simulation():
    for probe in ({"httpGet": {"path": "/", "port": 8080}}, {"tcpSocket": {"port": 8080}}):
        handler = next(iter(probe))
        result = get_check("ex08.q2").run(probe, hidden=True)
        assert result.score == 0
        assert result.failures[0].message == (
            f"containers[0].readinessProbe.{handler}.port: 8080 — nothing listens there "
            "(nginx listens on 80), so the pod never becomes Ready")
    row = ex08.run_scenario(ex08.REFERENCE_SERVICE, {"httpGet": {"path": "/", "port": 8080}})
    assert not row["first_ready"]
    assert "dial tcp" in row["probe_event"] and ":8080: connect: connection refused" in \
        row["probe_event"]


def test_a_selector_that_matches_the_canary_is_named_with_the_count():
    result = get_check("ex08.q1").run(_service(selector={"app": "web"}), hidden=True)
    assert result.score == 0
    message = result.failures[0].message
    assert message.startswith("the selector app=web also matches the canary pods")
    assert "requests went to the canary" in message


def test_wrong_answers_to_one_question_keep_the_other_points():
    q1 = get_check("ex08.q1").run(_service(selector={"app": "web"}), hidden=True)
    q2 = get_check("ex08.q2").run(ex08.REFERENCE_PROBE, hidden=True)
    assert (q1.score, q2.score) == (0, 4)


def test_a_probe_the_api_server_refuses_says_why():
    message = get_check("ex08.q2").run({"tcpSocket": {"port": 80, "path": "/"}},
                                          hidden=False).failures[0].message
    assert message.startswith("the API server refused the web Deployment with this probe: ")
    assert 'tcpSocket.path: unknown field "path"' in message


def test_a_service_without_target_port_reaches_nginx_on_80():
    assert get_check("ex08.q1").run(_service(ports=[{"port": 80}]), hidden=True).passed


def test_the_manifest_is_realistic_nginx_on_its_own_port():
    template = ex08.web_deployment(ex08.REFERENCE_PROBE)["spec"]["template"]
    assert not any(k.startswith("sim.labsupport.io/listen-ports")
                   for k in template["metadata"]["annotations"])
    container = template["spec"]["containers"][0]
    assert container["image"].startswith("nginx:")
    assert container["ports"] == [{"name": "http", "containerPort": 80}]


def test_service_shape_mistakes_are_named():
    def message(svc):
        return get_check("ex08.q1").run(svc, hidden=False).failures[0].message

    assert message(_service(ports=[{"port": 80, "targetPort": 8080}])) == (
        "8975 of 8975 requests failed (refused: 8975): spec.ports[0].targetPort: 8080 — nothing "
        "listens there (nginx listens on 80), so kube-proxy sends every request to a closed "
        "port and it is refused")
    assert message(_service(ports=[{"port": 80, "targetPort": "web"}])).startswith(
        "spec.ports[0].targetPort: 'web' — the web container has no port of that name")
    assert "matches no ready pod" in message(_service(selector={"app": "api"}))
    assert "headless" in message(_service(clusterIP="None"))
    assert 'must be named "web"' in message({**ex08.REFERENCE_SERVICE, "metadata": {"name": "x"}})


def test_the_scenario_counts_canary_requests_and_rolls_out():
    row = ex08.run_scenario(_service(selector={"app": "web"}), ex08.REFERENCE_PROBE)
    assert row["rolled_out"] and row["canary"] > 0 and row["killed"].startswith("web-")


def test_the_untouched_answers_score_zero():
    from labsupport.grading import check

    assert check("ex08.q1", ...).score == 0 and check("ex08.q2", ...).score == 0
