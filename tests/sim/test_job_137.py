"""Jobs as Kubernetes 1.37 runs them: status.terminating, podReplacementPolicy, managedBy.

KEP-3939 JobPodReplacementPolicy (GA 1.34) and KEP-4368 JobManagedBy (GA 1.35);
interim conditions, backoffLimit 6 and the 10 s doubling back-off unchanged.
Times are virtual.
"""

from __future__ import annotations

import pytest
from test_job import conditions, finished, job

from labsupport.sim.controllers.job import backoff_delay, pod_replacement_policy

# The pod ignores SIGTERM: once deleted it is terminating for its whole 20 s grace period.
SLOW_STOP = {"sim.labsupport.io/ignore-sigterm": "true"}


def slow_job(name="w", command="sleep 60", **spec):
    j = job(name, command, **spec)
    j["spec"]["template"]["metadata"] = {"annotations": dict(SLOW_STOP)}
    j["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 20
    return j


class Pods:
    """Creation and deletion-start times of one Job's pods."""

    def __init__(self, sim, name="w"):
        self.created: list[float] = []
        self.deleting: list[float] = []

        def on(ev):
            pod = ev.object
            if pod["metadata"].get("labels", {}).get("batch.kubernetes.io/job-name") != name:
                return
            if ev.type == "ADDED":
                self.created.append(sim.now)
            elif pod["metadata"].get("deletionTimestamp") and not (
                    ev.old and ev.old["metadata"].get("deletionTimestamp")):
                self.deleting.append(sim.now)

        sim.store.watch("/registry/pods/", on)


def _delete_the_pod(sim, name="w"):
    [pod] = sim.list("pods", selector=f"job-name={name}")
    sim.delete(f"pod/{pod['metadata']['name']}")


def test_defaults_of_pod_replacement_policy():
    assert pod_replacement_policy({}) == "TerminatingOrFailed"
    assert pod_replacement_policy({"podFailurePolicy": {"rules": []}}) == "Failed"
    assert pod_replacement_policy({"podReplacementPolicy": "Failed"}) == "Failed"


def test_terminating_counts_a_pod_during_its_graceful_termination(sim):
    pods = Pods(sim)
    sim.apply(slow_job())
    sim.advance(10)
    assert sim.get("job/w")["status"]["terminating"] == 0  # written even when 0
    _delete_the_pod(sim)
    sim.advance(5)
    status = sim.get("job/w")["status"]
    # TerminatingOrFailed (the default): the terminating pod counts as failed at once
    # and a replacement starts after the 10 s back-off, while the old pod still stops.
    assert (status["terminating"], status["failed"]) == (1, 1)
    sim.advance(10)
    status = sim.get("job/w")["status"]
    assert (status["terminating"], status["active"]) == (1, 1)
    assert pods.created[1] - pods.deleting[0] == pytest.approx(10, abs=0.1)
    sim.advance(10)
    assert sim.get("job/w")["status"]["terminating"] == 0


def test_failed_policy_waits_until_the_pod_is_fully_terminated(sim):
    pods = Pods(sim)
    sim.apply(slow_job(podReplacementPolicy="Failed"))
    sim.advance(10)
    _delete_the_pod(sim)
    sim.advance(15)
    status = sim.get("job/w")["status"]
    # Still terminating: not failed yet, not replaced.
    assert (status["terminating"], status.get("failed", 0), status.get("active", 0)) == (1, 0, 0)
    assert len(pods.created) == 1
    sim.advance(30)
    status = sim.get("job/w")["status"]
    assert (status["terminating"], status["failed"], status["active"]) == (0, 1, 1)
    # The replacement comes after the 20 s grace period (then the 10 s back-off
    # from the moment the pod failed), not 10 s after the deletion.
    assert pods.created[1] - pods.deleting[0] >= 20
    assert pods.created[1] - pods.deleting[0] == pytest.approx(30, abs=0.5)


def test_a_pod_failure_policy_implies_the_failed_policy(sim):
    pods = Pods(sim)
    sim.apply(slow_job(podFailurePolicy={"rules": [{"action": "Ignore", "onPodConditions": [
        {"type": "DisruptionTarget"}]}]}))
    sim.advance(10)
    _delete_the_pod(sim)
    sim.advance(15)
    assert len(pods.created) == 1 and sim.get("job/w")["status"]["terminating"] == 1


def test_a_job_managed_by_another_controller_is_left_alone(sim):
    sim.apply(job("ext", "sleep 5", managedBy="example.com/batch-controller"))
    sim.advance(30)
    assert sim.list("pods") == []
    assert not sim.get("job/ext").get("status")  # no startTime, no counts, no conditions


def test_the_built_in_controller_name_is_managed(sim):
    sim.apply(job("own", "sleep 5", managedBy="kubernetes.io/job-controller"))
    assert sim.wait_until(finished("own"), timeout=60) == "Complete"


def test_interim_conditions_backoff_limit_and_back_off_are_unchanged(sim):
    assert [backoff_delay(n) for n in range(1, 7)] == [10, 20, 40, 80, 160, 320]
    sim.apply(job("bad", "exit 1"))
    assert sim.get("job/bad")["spec"]["backoffLimit"] == 6
    assert sim.wait_until(finished("bad"), timeout=1200) == "Failed"
    assert conditions(sim, "bad") == [("FailureTarget", "BackoffLimitExceeded"),
                                      ("Failed", "BackoffLimitExceeded")]
    assert sim.get("job/bad")["status"]["failed"] == 7
