from __future__ import annotations

from datetime import datetime, timezone

import pytest

from labsupport.errors import Invalid, InvalidManifest
from labsupport.sim.controllers.cronjob import CronSchedule

UTC = timezone.utc
MINUTES_AT_START = 1735689600 // 60  # the cluster starts at 2025-01-01T00:00:00Z


def cronjob(name="tick", schedule="*/5 * * * *", command="sleep 5", job_spec=None, **spec):
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {
                "metadata": {"labels": {"team": "data"}},
                "spec": {**(job_spec or {}), "template": {"spec": {
                    "restartPolicy": "Never", "containers": [
                        {"name": "main", "image": "busybox:1.36",
                         "command": ["sh", "-c", command]}]}}}}}}


def job_names(sim):
    return [j["metadata"]["name"] for j in sim.list("jobs")]


@pytest.mark.parametrize("line,after,expected", [
    ("*/15 * * * *", datetime(2025, 1, 1, 0, 0), datetime(2025, 1, 1, 0, 15)),
    ("0 9 * * MON-FRI", datetime(2025, 1, 3, 9, 0), datetime(2025, 1, 6, 9, 0)),
    ("@monthly", datetime(2025, 1, 31, 23, 59), datetime(2025, 2, 1, 0, 0)),
    ("0 0 29 2 *", datetime(2025, 1, 1), datetime(2028, 2, 29, 0, 0)),
    # Day of month and day of week both restricted: either one is enough.
    ("0 12 13 * FRI", datetime(2025, 1, 1), datetime(2025, 1, 3, 12, 0)),
    ("0 12 13 * *", datetime(2025, 1, 1), datetime(2025, 1, 13, 12, 0)),
])
def test_schedule_next(line, after, expected):
    nxt = CronSchedule.parse(line).next(after.replace(tzinfo=UTC))
    assert nxt == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize("line", ["* * * *", "60 * * * *", "* * 0 * *", "*/0 * * * *",
                                  "* * * FOO *"])
def test_bad_schedules_are_refused(line):
    with pytest.raises(Invalid):
        CronSchedule.parse(line)


def test_a_job_at_every_scheduled_time_named_by_its_minute(sim):
    sim.apply(cronjob())
    sim.advance(15 * 60 + 1)
    assert job_names(sim) == [f"tick-{MINUTES_AT_START + m}" for m in (5, 10, 15)]
    job = sim.get(f"job/tick-{MINUTES_AT_START + 5}")
    assert job["metadata"]["labels"] == {"team": "data"}
    assert job["metadata"]["annotations"] == {
        "batch.kubernetes.io/cronjob-scheduled-timestamp": "2025-01-01T00:05:00Z"}
    assert job["metadata"]["creationTimestamp"] == "2025-01-01T00:05:00Z"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    status = sim.get("cronjob/tick")["status"]
    assert status["lastScheduleTime"] == "2025-01-01T00:15:00Z"
    # The 00:10 run took 5 s (its node had the image already).
    assert status["lastSuccessfulTime"] == "2025-01-01T00:10:05Z"
    assert [r["name"] for r in status["active"]] == [f"tick-{MINUTES_AT_START + 15}"]
    sim.advance(60)
    assert "active" not in sim.get("cronjob/tick")["status"]


def test_history_limits_keep_the_newest_finished_jobs(sim):
    sim.apply(cronjob(schedule="* * * * *", command="sleep 1"))
    sim.apply(cronjob(name="bad", schedule="* * * * *", command="exit 1",
                      job_spec={"backoffLimit": 0}, failedJobsHistoryLimit=2))
    sim.advance(10 * 60 + 30)
    assert job_names(sim) == [f"bad-{MINUTES_AT_START + m}" for m in (9, 10)] + \
        [f"tick-{MINUTES_AT_START + m}" for m in (8, 9, 10)]
    deleted = [e for e in sim.events() if e.reason == "SuccessfulDelete"
               and e.object == "cronjob/tick"]
    assert deleted and deleted[-1].message == f"Deleted job tick-{MINUTES_AT_START + 7}"


def _created(sim):
    times = {}
    sim.store.watch("/registry/jobs/", lambda ev: ev.type == "ADDED" and times.setdefault(
        ev.object["metadata"]["name"], sim.now))
    return times


def test_forbid_starts_a_missed_run_late_when_the_last_one_ends(sim):
    created = _created(sim)
    running = [0]

    def count(ev):
        unfinished = [j for j in sim.list("jobs") if not any(
            c["type"] in ("Complete", "Failed") for c in j.get("status", {}).get("conditions", []))]
        running[0] = max(running[0], len(unfinished))

    sim.store.watch("/registry/jobs/", count)
    sim.apply(cronjob(schedule="* * * * *", command="sleep 90", concurrencyPolicy="Forbid"))
    sim.advance(5 * 60 + 30)
    assert running[0] == 1
    assert any(e.reason == "JobAlreadyActive" for e in sim.events())
    # The 00:01 run takes 2 s to pull and 90 s to run; the 00:02 run waits for it and
    # starts at 152 s, not 120 s (no startingDeadlineSeconds: late is better than never).
    first, second = (created[f"tick-{MINUTES_AT_START + m}"] for m in (1, 2))
    assert first == pytest.approx(60.11)
    assert second == pytest.approx(152.14, abs=0.05)


def test_forbid_with_a_starting_deadline_skips_the_missed_run(sim):
    created = _created(sim)
    sim.apply(cronjob(schedule="* * * * *", command="sleep 90", concurrencyPolicy="Forbid",
                      startingDeadlineSeconds=10))
    sim.advance(5 * 60 + 30)
    assert list(created) == [f"tick-{MINUTES_AT_START + m}" for m in (1, 3, 5)]
    assert [round(t) for t in created.values()] == [60, 180, 300]


def test_replace_deletes_the_running_job(sim):
    sim.apply(cronjob(schedule="* * * * *", command="sleep 600", concurrencyPolicy="Replace"))
    # The replaced Job's pod ignores SIGTERM (a sleep as PID 1): SIGKILL after its 30 s.
    sim.advance(3 * 60 + 45)
    assert job_names(sim) == [f"tick-{MINUTES_AT_START + 3}"]
    assert len(sim.pods()) == 1


def test_allow_runs_overlapping_jobs(sim):
    sim.apply(cronjob(schedule="* * * * *", command="sleep 600"))
    sim.advance(3 * 60 + 30)
    assert len(job_names(sim)) == 3 and len(sim.pods()) == 3
    assert len(sim.get("cronjob/tick")["status"]["active"]) == 3


def test_suspend_creates_nothing_and_a_bad_schedule_is_refused(sim):
    sim.apply(cronjob(suspend=True))
    # The API server validates the schedule (pkg/apis/batch/validation).
    with pytest.raises(InvalidManifest, match=r"expected exactly 5 fields, found 4"):
        sim.apply(cronjob(name="typo", schedule="*/5 * * *"))
    sim.advance(20 * 60)
    assert sim.list("jobs") == []
    assert [c["metadata"]["name"] for c in sim.list("cronjobs")] == ["tick"]


def test_starting_deadline_counts_from_the_scheduled_time(sim):
    sim.apply(cronjob(schedule="*/10 * * * *", suspend=True, startingDeadlineSeconds=60))
    sim.advance(12 * 60)
    sim.apply(cronjob(schedule="*/10 * * * *", suspend=False, startingDeadlineSeconds=60))
    sim.advance(5)
    assert sim.list("jobs") == []  # 00:10 is more than 60 s ago
    sim.advance(10 * 60)
    assert job_names(sim) == [f"tick-{MINUTES_AT_START + 20}"]


def test_deleting_the_cronjob_deletes_its_jobs(sim):
    sim.apply(cronjob(schedule="* * * * *", command="sleep 1"))
    sim.advance(3 * 60 + 10)
    assert sim.list("jobs")
    sim.delete("cronjob/tick")
    sim.advance(30)
    assert sim.list("jobs") == [] and sim.list("pods") == []
