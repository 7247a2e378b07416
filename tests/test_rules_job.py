"""A Job's pod template must say restartPolicy Never or OnFailure, as the API server demands."""

from __future__ import annotations

import pytest

import labsupport as ls


def job(policy=None, kind="Job"):
    pod = {"containers": [{"name": "a", "image": "busybox:1.36", "command": ["true"]}]}
    if policy:
        pod["restartPolicy"] = policy
    spec = {"template": {"spec": pod}}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": spec}}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": spec}


@pytest.mark.parametrize("policy", [None, "Always"])
def test_job_without_an_ending_restart_policy_is_refused(policy):
    with pytest.raises(ls.InvalidManifest) as err:
        ls.validate(job(policy))
    assert err.value.field == "spec.template.spec.restartPolicy"
    assert '"OnFailure", "Never"' in str(err.value)


def test_cronjob_template_is_checked_too():
    with pytest.raises(ls.InvalidManifest) as err:
        ls.validate(job("Always", kind="CronJob"))
    assert err.value.field == "spec.jobTemplate.spec.template.spec.restartPolicy"


@pytest.mark.parametrize("policy", ["Never", "OnFailure"])
def test_ending_policies_are_accepted(policy):
    ls.validate(job(policy))


def test_work_queue_job_keeps_completions_unset():
    c = ls.connect("sim", seed=0)
    j = job("Never")
    j["spec"]["parallelism"] = 2
    c.apply(j)
    spec = c.get("job/j")["spec"]
    assert spec["parallelism"] == 2 and "completions" not in spec
