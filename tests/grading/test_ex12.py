"""Exercise 12: the reference diagnosis scores full marks on hidden clusters; plausible
wrong answers (the symptom Pending, the Deployment instead of the Service) lose points and
are told why; the untouched answer scores zero."""

from __future__ import annotations

from labsupport.grading import check, get_check
from labsupport.grading.bank import ex12
from labsupport.sim.faults import POD_FAULTS, build_cluster, plan


def reference(c):
    return ex12.reference_diagnose(c)


def test_the_reference_scores_full_marks_on_every_case():
    assert get_check("ex12.q1").run(reference, hidden=True).score == 4
    assert get_check("ex12.q2").run(reference, hidden=True).score == 2


def test_a_list_of_pairs_naming_deployments_also_passes():
    def by_deployment(c):
        return sorted({("deployment/" + ex12.app_of(o) if o.startswith("pod/") else o, v)
                       for o, v in ex12.reference_diagnose(c).items()})

    assert get_check("ex12.q1").run(by_deployment, hidden=True).passed
    assert get_check("ex12.q2").run(by_deployment, hidden=True).passed


def test_pending_instead_of_insufficient_cpu_is_partial_and_named():
    def pending(c):
        return {k: ("Pending" if v == "Insufficient cpu" else v)
                for k, v in ex12.reference_diagnose(c).items()}

    result = get_check("ex12.q1").run(pending, hidden=True)
    with_cpu = sum(any(r["fault"] == "cpu" for r in plan(case.expect["seed"]))
                   for case in get_check("ex12.q1").cases)
    assert 0 < with_cpu < len(get_check("ex12.q1").cases)
    assert 0 < result.score < 4
    message = result.failures[0].message
    assert message.startswith("pod/") and "Pending is the symptom, not the cause" in message
    assert message.count("Pending is the symptom") == 1  # one message per workload


def test_the_deployment_instead_of_the_service_scores_zero_with_the_reason():
    def deployment(c):
        return {k.replace("service/", "deployment/"): v
                for k, v in ex12.reference_diagnose(c).items()}

    result = get_check("ex12.q2").run(deployment, hidden=True)
    assert result.score == 0
    message = result.failures[0].message
    assert "pods are Running and Ready; it is the Service" in message
    assert "selector matches none of them (name service/...)" in message
    assert get_check("ex12.q1").run(deployment, hidden=True).score == 4


def test_false_alarms_and_misses_fail():
    def everything(c):
        return {f"pod/{p.name}": "CrashLoopBackOff" for p in c.pods()}

    message = get_check("ex12.q1").run(everything, hidden=False).failures[0].message
    assert "is named with 'CrashLoopBackOff', but its pods are Running and Ready" in message
    missing = get_check("ex12.q2").run(lambda c: {}, hidden=False).failures[0].message
    assert "not named with 'no endpoints'" in missing and "slow dependency" in missing


def test_the_untouched_answer_scores_zero():
    assert check("ex12.q1", ...).score == 0 and check("ex12.q2", ...).score == 0


def test_the_cluster_holds_the_planted_faults():
    rows = {r["name"]: r for r in plan(0)}
    c = build_cluster(0)
    statuses = {}
    for p in c.pods():
        statuses.setdefault(ex12.app_of("pod/" + p.name), set()).add(p.status)
    expect = {"image": {"ImagePullBackOff", "ErrImagePull"},
              "config": {"CreateContainerConfigError"}, "cpu": {"Pending"}}
    for name, row in rows.items():
        if row["fault"] in expect:
            assert statuses[name] <= expect[row["fault"]], (name, statuses[name])
        elif row["fault"] not in POD_FAULTS:
            assert statuses[name] == {"Running"}, (name, statuses[name])
