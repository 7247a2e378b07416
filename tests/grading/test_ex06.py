"""Exercise 06: facts read from the trace, recomputed from the same seeded run, pass and
the usual mix-ups fail with a message naming them; a packing Score plugin passes; plugins
that ignore the goal, lose to the default plugins' weights or return bad scores score
partial or zero, and say why."""

from __future__ import annotations

import labsupport as ls
from labsupport.grading import check, get_check
from labsupport.grading.bank import ex06
from labsupport.grading.placement import observe_placements


def _read_the_trace() -> dict:
    """What a student reads from the notebook's run, found with the cluster's own windows."""
    c = ex06.trace_cluster()
    steps = c.trace("deployment/shop")
    waited = next(e.object for e in c.events() if e.reason == "FailedScheduling")
    bind = next(s for s in steps if s.action == "bind" and s.object == waited)
    rs = c.store.keys("/registry/replicasets/default/")[0]
    pod = c.get(waited)
    return {"binder": bind.component, "bound_at": bind.time,
            "rs_writes": len(list(c.store.history(rs))),
            "admission_plugin": pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"]
            .split(" ")[0],
            "cpu_request": pod["spec"]["containers"][0]["resources"]["requests"]["cpu"],
            "service_key": "/registry/services/specs/default/shop"}


def _failed(result) -> dict[str, str]:
    return {o.label: o.message for o in result.outcomes if not o.passed}


def test_facts_read_from_the_run_score_full_marks():
    facts = _read_the_trace()
    assert facts["binder"] == "default-scheduler"
    assert facts["bound_at"] >= ex06.NODE_JOINS        # it waited for the fourth node
    assert facts["admission_plugin"] == "LimitRanger" and facts["cpu_request"] == "400m"
    assert ex06.trace_facts() == {**facts, "bound_at": round(facts["bound_at"], 2)}
    result = get_check("ex06.q1").run(facts, hidden=True)
    assert result.passed and result.score == result.points == 5


def test_the_untouched_trace_answer_scores_zero_as_not_answered():
    stub = dict.fromkeys(ex06.FACTS, ...)
    result = get_check("ex06.q1").run(stub, hidden=True)
    assert result.score == 0 and "not answered" in result.note.lower()
    assert get_check("ex06.q1").run(..., hidden=True).score == 0


def test_plausible_mix_ups_lose_their_part_and_are_named():
    truth = ex06._trace_truth(ex06.TRACE_SEED, ex06.TRACE_REPLICAS)
    wrong = {**ex06.trace_facts(), "binder": "kubelet", "bound_at": truth["created_at"],
             "rs_writes": truth["rs_version"], "cpu_request": truth["cpu_limit"]}
    result = get_check("ex06.q1").run(wrong, hidden=True)
    assert result.score == 1      # only the Service's key is right
    failed = _failed(result)
    assert "the kubelet only starts pods already bound" in failed[
        "which component bound the pod that waited"]
    assert "that is when the pod was created" in failed["when it was bound"]
    assert "metadata.resourceVersion" in failed["how many times the ReplicaSet was written"]
    assert "that is the limit the plugin set" in failed[
        "which admission plugin set the CPU request, and to what"]
    assert result.note.startswith("Hint:") and "default-scheduler" not in result.note


def test_more_mix_ups_are_named():
    truth = ex06._trace_truth(ex06.TRACE_SEED, ex06.TRACE_REPLICAS)
    wrong = {**ex06.trace_facts(), "bound_at": truth["started_at"],
             "rs_writes": truth["rs_lines"], "admission_plugin": "ResourceQuota",
             "service_key": "/registry/services/endpoints/default/shop"}
    failed = _failed(get_check("ex06.q1").run(wrong, hidden=True))
    assert "when the kubelet started its container" in failed["when it was bound"]
    assert "are Events, separate objects" in failed["how many times the ReplicaSet was written"]
    assert "it changed nothing in it" in failed[
        "which admission plugin set the CPU request, and to what"]
    assert "holds the Service's Endpoints" in failed["the Service's etcd key"]
    ok = get_check("ex06.q1").run({**ex06.trace_facts(), "cpu_request": "0.4"}, hidden=True)
    assert ok.passed


class _FullestFraction(ls.SchedulerPlugin):
    """Packs by 'how full after the pod', which opens small empty nodes on mixed clusters."""
    weight = 5

    def score(self, pod, node):
        return int(100 * (node.requested["cpu"] + pod.requests["cpu"]) / node.allocatable["cpu"])


def test_the_reference_plugin_scores_full_marks_on_hidden_clusters():
    result = get_check("ex06.q2").run(ex06.ReferencePack, hidden=True)
    assert result.passed and result.score == result.points == 6


def test_a_plugin_that_ignores_the_goal_scores_zero_and_is_told_why():
    class Constant(ls.SchedulerPlugin):
        weight = 5

        def score(self, pod, node):
            return 50

    result = get_check("ex06.q2").run(Constant, hidden=True)
    assert result.score == 0
    message = result.failures[0].message
    assert "no better than the default scheduler alone" in message
    assert "packed, they fit on 3" in message


def test_too_small_a_weight_loses_to_the_default_plugins():
    class Light(_FullestFraction):
        weight = 1

    result = get_check("ex06.q2").run(Light, hidden=True)
    assert result.score == 0
    assert any("Its weight (1) times its score must beat the default plugins" in f.message
               for f in result.failures)


def test_packing_by_fraction_alone_passes_equal_nodes_only():
    result = get_check("ex06.q2").run(_FullestFraction, hidden=True)
    assert 0 < result.score < result.points
    passed = {o.label for o in result.outcomes if o.passed}
    assert passed == {"the notebook's cluster: five nodes of 4 CPUs",
                      "five equal nodes, other pods"}


def test_scores_outside_0_to_100_leave_pods_pending_with_the_plugins_message():
    class TooBig(ls.SchedulerPlugin):
        weight = 5

        def score(self, pod, node):
            return int(1000 * node.requested["cpu"] / node.allocatable["cpu"])

    result = check("ex06.q2", TooBig)
    assert result.score == 0
    message = result.failures[0].message
    assert "stayed Pending because the plugin failed" in message
    assert 'plugin "TooBig" failed with' in message
    assert "returned an invalid score 375, it should in the range of [0, 100]" in message


def test_a_float_score_is_named():
    class Fraction(ls.SchedulerPlugin):
        def score(self, pod, node):
            return node.requested["cpu"] / node.allocatable["cpu"]

    message = check("ex06.q2", Fraction).failures[0].message
    assert "returned 0.0 (float); a score is an int from 0 to 100" in message


def test_the_untouched_stub_is_not_answered():
    class PackPods(ls.SchedulerPlugin):
        weight = ...

        def score(self, pod, node):
            raise NotImplementedError("your answer here")

    seen = observe_placements(PackPods, [ex06.cluster(6)])
    assert seen[0]["type"] == "NotImplementedError"
    result = check("ex06.q2", PackPods)
    assert result.score == 0 and "not answered" in result.note.lower()


def test_the_hidden_clusters_differ_from_the_notebooks_and_are_deterministic():
    assert ex06.cluster(21, mixed=True) == ex06.cluster(21, mixed=True)
    sizes = {n["cpu"] for n in ex06.cluster(21, mixed=True)["nodes"]}
    assert len(sizes) > 1
    assert ex06.reference_nodes(ex06.NOTEBOOK_SEED) < len(ex06.cluster(ex06.NOTEBOOK_SEED)["nodes"])
