"""Exercise 10: the reference fixes pass; broken and half-fixed manifests name what is left."""

from __future__ import annotations

from pathlib import Path

import yaml

from labsupport.grading import get_check
from labsupport.grading.bank import ex10

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ("ex10.q1", "ex10.q2", "ex10.q3", "ex10.q4")


def _scores(answer, hidden=True):
    return [get_check(name).run(answer, hidden=hidden).score for name in CHECKS]


def _message(name, answer):
    result = get_check(name).run(answer, hidden=False)
    assert not result.passed
    return result.failures[0].message


def _fix(text, old, new):
    assert old in text, old
    return text.replace(old, new)


WORKER_OK = """    command: [sh, -c, "while true; do sleep 5; done"]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 200m, memory: 128Mi}
"""
WORKER_OLD = """    command: [sh, -c, "while true; do sleep 5; done"]
"""


def test_reference_scores_full_marks_on_every_case():
    assert _scores(ex10.REFERENCE) == [2.0] * 4


def test_the_broken_manifests_score_zero_with_each_problem_named():
    assert _scores(ex10.BROKEN) == [0.0] * 4
    assert _message("ex10.q1", ex10.BROKEN).startswith(
        'Pod team-b/worker: spec.containers[0].resources: the API server refused it: pods '
        '"worker" is forbidden: failed quota: team-b: must specify limits.cpu for: worker; '
        'limits.memory for: worker; requests.cpu for: worker; requests.memory for: worker')
    assert _message("ex10.q2", ex10.BROKEN) == (
        "Deployment team-a/report: 0 of 1 replicas running; the ReplicaSet could not create the "
        "others: maximum cpu usage per Container is 1, but limit is 2 — spec.template.spec."
        "containers[0].resources.limits.cpu: 2 is above the LimitRange team-a/limits max of 1 "
        "per container")
    assert _message("ex10.q3", ex10.BROKEN) == (
        "Deployment team-b/api: 4 of 6 replicas running; the ReplicaSet could not create the "
        "others: exceeded quota: team-b, requested: pods=1, used: pods=4, limited: pods=4 — "
        "spec.replicas: 6 does not fit team-b's quota of 4 pods next to the other pods of the "
        "namespace")
    assert _message("ex10.q4", ex10.BROKEN) == (
        "PersistentVolumeClaim team-a/uploads is Pending: spec.storageClassName: 'fast' — "
        'storageclass.storage.k8s.io "fast" not found; the cluster\'s StorageClass is '
        "'standard' (the default)")


def test_the_untouched_exercise_scores_zero():
    from labsupport.grading import check

    assert all(check(name, ...).score == 0 for name in CHECKS)


def test_fixing_two_problems_earns_half_and_names_the_other_two():
    half = _fix(_fix(ex10.BROKEN, WORKER_OLD, WORKER_OK), "replicas: 6", "replicas: 3")
    assert _scores(half) == [2.0, 0.0, 2.0, 0.0]
    assert "limits.cpu: 2 is above the LimitRange" in _message("ex10.q2", half)
    assert "spec.storageClassName: 'fast'" in _message("ex10.q4", half)


def test_requests_without_limits_still_miss_what_the_quota_needs():
    partial = _fix(ex10.REFERENCE, WORKER_OK, WORKER_OLD + """    resources:
      requests: {cpu: 100m, memory: 64Mi}
""")
    assert _scores(partial) == [0.0, 2.0, 2.0, 2.0]
    message = _message("ex10.q1", partial)
    assert "must specify limits.cpu for: worker; limits.memory for: worker." in message
    assert "requests.cpu for" not in message


def test_lowering_only_the_request_leaves_the_limit_above_the_max():
    partial = _fix(ex10.BROKEN, "requests: {cpu: 1500m, memory: 512Mi}",
                   "requests: {cpu: 500m, memory: 512Mi}")
    assert _scores(partial)[1] == 0.0
    assert _message("ex10.q2", partial).endswith(
        "resources.limits.cpu: 2 is above the LimitRange team-a/limits max of 1 per container")
    # Leaving resources out entirely is a fix too: the LimitRange's defaults apply.
    no_resources = _fix(ex10.REFERENCE, """        resources:
          requests: {cpu: "1", memory: 512Mi}
          limits: {cpu: "1", memory: 512Mi}
""", "")
    assert _scores(no_resources) == [2.0] * 4


def test_too_many_or_too_few_api_replicas():
    four = _fix(ex10.REFERENCE, "replicas: 3", "replicas: 4")
    assert _scores(four) == [2.0, 2.0, 0.0, 2.0]
    assert "3 of 4 replicas running" in _message("ex10.q3", four)
    assert "spec.replicas: 4 does not fit team-b's quota of 4 pods" in _message("ex10.q3", four)
    two = _fix(ex10.REFERENCE, "replicas: 3", "replicas: 2")
    assert _message("ex10.q3", two) == (
        "Deployment team-b/api: spec.replicas: 2 — the team needs at least 3")


def test_a_greedy_worker_starves_the_api_of_cpu_quota():
    greedy = _fix(ex10.REFERENCE, "requests: {cpu: 100m, memory: 64Mi}",
                  "requests: {cpu: 1500m, memory: 64Mi}")
    greedy = _fix(greedy, "limits: {cpu: 200m, memory: 128Mi}", "limits: {cpu: 2, memory: 128Mi}")
    assert _scores(greedy) == [2.0, 2.0, 0.0, 2.0]
    message = _message("ex10.q3", greedy)
    assert "exceeded quota: team-b, requested: requests.cpu=250m, used: requests.cpu=" in message


def test_a_class_that_does_not_exist_either_is_named_and_no_class_is_a_fix():
    wrong = _fix(ex10.REFERENCE, "storageClassName: standard", "storageClassName: standard-rwo")
    assert _scores(wrong) == [2.0, 2.0, 2.0, 0.0]
    assert 'storageclass.storage.k8s.io "standard-rwo" not found' in _message("ex10.q4", wrong)
    default = _fix(ex10.REFERENCE, "  storageClassName: standard\n", "")
    assert _scores(default) == [2.0] * 4


def test_dropping_the_volume_or_moving_objects_is_not_a_fix():
    no_volume = _fix(ex10.REFERENCE, """      volumes:
      - name: uploads
        persistentVolumeClaim: {claimName: uploads}
""", "")
    no_volume = _fix(no_volume, """        volumeMounts:
        - {name: uploads, mountPath: /srv/uploads}
""", "")
    assert "no longer mounts the claim uploads" in _message("ex10.q4", no_volume)
    moved = _fix(ex10.BROKEN, "metadata: {name: worker, namespace: team-b}",
                 "metadata: {name: worker, namespace: default}")
    assert _message("ex10.q1", moved).startswith(
        "the Pod worker must stay in namespace team-b (it is in default)")
    docs = [d for d in yaml.safe_load_all(ex10.REFERENCE) if d["metadata"]["name"] != "report"]
    assert _message("ex10.q2", docs) == (
        "the Deployment team-a/report is missing from manifests: keep every object and fix it")


def test_bringing_a_bigger_quota_fails_every_check():
    bigger = ex10.BROKEN + """---
apiVersion: v1
kind: ResourceQuota
metadata: {name: team-b, namespace: team-b}
spec:
  hard: {pods: "20"}
"""
    assert _scores(bigger) == [0.0] * 4
    assert _message("ex10.q3", bigger).startswith(
        "the answer brings its own ResourceQuota team-b/team-b: the quotas and limit ranges")


def test_the_notebook_shows_the_graders_platform_and_manifests():
    text = (ROOT / "solutions" / "ex10_resources.md").read_text()
    assert 'PLATFORM = """\\\n' + ex10.PLATFORM + '"""' in text
    assert 'BROKEN = """\\\n' + ex10.BROKEN + '"""' in text
