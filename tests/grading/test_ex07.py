"""Exercise 07: the reference manifest scores 8/8; plausible mistakes lose points, by name."""

from __future__ import annotations

import re
from pathlib import Path

from labsupport.grading import check, get_check

SOLUTION = Path(__file__).resolve().parents[2] / "solutions" / "ex07_workloads.md"
CHECKS = ("ex07.q1", "ex07.q2", "ex07.q3", "ex07.q4")


def _reference() -> str:
    text = SOLUTION.read_text()
    return re.search(r'manifest = """(.*?)"""', text, re.S).group(1)


def _scores(manifest, hidden=True):
    return {q: get_check(q).run(manifest, hidden=hidden) for q in CHECKS}


def test_the_reference_manifest_earns_every_point_on_hidden_cases_too():
    results = _scores(_reference())
    assert all(r.passed for r in results.values()), [r.failures for r in results.values()]
    assert sum(r.score for r in results.values()) == 8


def test_the_untouched_answer_scores_zero():
    assert sum(check(q, ...).score for q in CHECKS) == 0


def test_max_unavailable_too_high_fails_only_the_rollout_and_names_the_field():
    wrong = _reference().replace("maxUnavailable: 1 ", "maxUnavailable: 2 ")
    results = _scores(wrong, hidden=False)
    assert [q for q, r in results.items() if not r.passed] == ["ex07.q4"]
    message = results["ex07.q4"].failures[0].message
    assert message.startswith("spec.strategy.rollingUpdate.maxUnavailable: 2 lets ready pods "
                              "fall to 3")
    assert "the specification needs at least 4" in message


def test_no_readiness_probe_fails_the_probe_and_the_rollout():
    text = _reference()
    start = text.index("        readinessProbe:")
    end = text.index("        resources:")
    results = _scores(text[:start] + text[end:], hidden=False)
    assert results["ex07.q1"].passed and results["ex07.q3"].passed
    assert results["ex07.q2"].score == 0 and results["ex07.q4"].score == 0
    assert results["ex07.q2"].failures[0].message.startswith(
        "spec.template.spec.containers[0].readinessProbe: missing")
    rollout = results["ex07.q4"].failures[0].message
    assert "counted as ready before the app answered" in rollout
    assert re.search(r"pods that answer fell to [0-3] ", rollout)


def test_the_default_strategy_surges_past_six_pods():
    text = _reference()
    start = text.index("  strategy:")
    end = text.index("  template:")
    result = check("ex07.q4", text[:start] + text[end:])
    assert result.score == 0
    assert result.failures[0].message == (
        "spec.strategy.rollingUpdate.maxSurge: 25% (the default) lets the rollout run 7 pods "
        "at once; the specification allows at most 6")


def test_recreate_drops_every_pod():
    text = _reference()
    start = text.index("  strategy:")
    end = text.index("  template:")
    result = check("ex07.q4", text[:start] + "  strategy:\n    type: Recreate\n" + text[end:])
    assert "spec.strategy.type: Recreate" in result.failures[0].message
    assert "pods that answer fell to 0" in result.failures[0].message


def test_wrong_resources_and_basics_name_each_field():
    wrong = (_reference().replace("memory: 128Mi", "memory: 128M")
             .replace("            cpu: 500m\n", "").replace("replicas: 5", "replicas: 3"))
    resources = check("ex07.q3", wrong).failures[0].message
    assert "resources.requests.memory: 128M; the specification needs 128Mi" in resources
    assert "Mi is powers of 1024" in resources
    assert "resources.limits.cpu: missing; the specification needs 500m" in resources
    assert check("ex07.q1", wrong).failures[0].message == (
        "spec.replicas: 3; the specification needs 5")


def test_answers_that_are_not_a_manifest_are_named():
    assert "not valid YAML" in check("ex07.q1", "kind: [").failures[0].message
    assert "exactly one object" in check("ex07.q1", "a: 1\n---\nb: 2\n").failures[0].message
    named = check("ex07.q2", _reference().replace("name: shop\nspec", "name: web\nspec"))
    assert "metadata.name: 'web'; the specification names it 'shop'" in named.failures[0].message


def test_a_manifest_the_api_server_refuses_says_why():
    bad = _reference().replace("      app: shop\n  strategy", "      app: other\n  strategy", 1)
    message = check("ex07.q1", bad).failures[0].message
    assert message.startswith("the API server refused the manifest")


def test_a_probe_on_a_port_nginx_does_not_listen_on_is_named_from_the_simulation():
    wrong = _reference().replace("            port: 80\n", "            port: 8080\n")
    results = _scores(wrong, hidden=False)
    assert results["ex07.q1"].passed and results["ex07.q3"].passed
    assert results["ex07.q2"].score == 0 and results["ex07.q4"].score == 0
    assert results["ex07.q2"].failures[0].message.startswith(
        "spec.template.spec.containers[0].readinessProbe.httpGet.port: 8080 — nothing listens "
        "there (nginx listens on 80), so the pod never becomes Ready (the kubelet reported "
        "'Readiness probe failed: Get \"http://")
    assert "connect: connection refused" in results["ex07.q2"].failures[0].message
    assert results["ex07.q4"].failures[0].message.endswith(
        "fix the readiness probe first: spec.template.spec.containers[0].readinessProbe.httpGet."
        "port: 8080 — nothing listens there (nginx listens on 80), so the pod never becomes Ready")


def test_a_named_probe_port_is_resolved_before_it_is_judged():
    wrong = (_reference().replace("        - containerPort: 80\n",
                                  "        - containerPort: 8080\n          name: http\n")
             .replace("            port: 80\n", "            port: http\n"))
    message = check("ex07.q2", wrong).failures[0].message
    assert message.startswith("spec.template.spec.containers[0].readinessProbe.httpGet.port: "
                              "'http' (containerPort 8080) — nothing listens there (nginx "
                              "listens on 80)")
