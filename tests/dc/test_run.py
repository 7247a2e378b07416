from __future__ import annotations

import pytest

from labsupport import dc
from labsupport.errors import Invalid

JOB = dc.Job(work=3600, parallel_fraction=0.95, tasks=60)


def test_every_task_is_done_once_and_the_log_tells_the_story():
    run = dc.run_job(JOB, workers=4, seed=0)
    assert run.finished
    assert sum(run.completed.values()) == JOB.tasks
    assert sorted(task for _, task, _, _ in run.history) == list(range(JOB.tasks))
    assert [c for _, c, _ in run.events] == ["lead", "lead", "lead"]
    kinds = {m.kind for m in run.messages}
    assert kinds == {"task", "result"}
    assert all(m.delivered > m.sent for m in run.messages)


def test_makespan_is_serial_plus_share_of_parallel_plus_messages():
    run = dc.run_job(JOB, workers=4, seed=0)
    ideal = JOB.serial_work + JOB.parallel_work / 4
    assert ideal < run.makespan < ideal + 1.0


def test_killed_worker_tasks_are_reassigned_and_the_job_finishes():
    calm = dc.run_job(JOB, workers=4, seed=1)
    run = dc.run_job(JOB, workers=4, seed=1, kill={"worker-2": 700.0}, timeout=3.0)
    assert run.finished
    assert run.makespan > calm.makespan
    assert len(run.reassigned) == 1
    _, task, source = run.reassigned[0]
    assert source == "worker-2"
    others = [w for w, t, _, _ in run.history if t == task]
    assert others and "worker-2" not in others
    assert run.completed["worker-2"] < calm.completed["worker-2"]
    delay = run.detections["worker-2"]
    # suspected after 3 s of silence; the last heartbeat was up to 1 s before the crash
    assert 2.0 - 0.01 <= delay <= 3.0 + 0.5 + 0.05
    assert run.false_alarms == []
    done = {t for w, t, _, e in run.history if w != "worker-2" or e <= 700.0}
    assert done == set(range(JOB.tasks))


def test_without_failure_detection_a_crash_stalls_the_job():
    stuck = dc.run_job(JOB, workers=4, seed=1, kill={"worker-2": 700.0}, until=20_000,
                       detector=_Blind())
    assert not stuck.finished
    assert stuck.makespan is None
    assert "did NOT finish" in repr(stuck)


class _Blind:
    """A detector that never suspects anyone."""

    def heartbeat(self, node, time):
        pass

    def suspects(self, now):
        return set()


def test_a_short_timeout_on_a_busy_network_raises_false_alarms_and_wastes_work():
    job = dc.Job(work=1200, parallel_fraction=0.95, tasks=40)
    calm = dc.run_job(job, workers=4, network=dc.BUSY_LAN, timeout=4.0, seed=3)
    jumpy = dc.run_job(job, workers=4, network=dc.BUSY_LAN, timeout=1.05, seed=3)
    assert calm.false_alarms == [] and calm.duplicates == 0
    assert len(jumpy.false_alarms) > 0
    assert jumpy.duplicates > 0 or len(jumpy.reassigned) > 0


def test_the_lead_accepts_any_detector_object():
    seen = []

    class Recording(dc.TimeoutDetector):
        def heartbeat(self, node, time):
            seen.append(node)
            super().heartbeat(node, time)

    run = dc.run_job(JOB, workers=3, kill={"worker-3": 500.0}, detector=Recording(2.0), seed=4)
    assert run.finished and set(seen) == {"worker-1", "worker-2", "worker-3"}


def test_same_seed_same_run_and_different_seed_different_run():
    job = dc.Job(work=2000, parallel_fraction=0.9, tasks=40, spread=0.4, transfer=0.5)
    kwargs = dict(workers=5, network=dc.BUSY_LAN, kill={"worker-1": 400.0})
    a, b = dc.run_job(job, seed=7, **kwargs), dc.run_job(job, seed=7, **kwargs)
    c = dc.run_job(job, seed=8, **kwargs)
    assert a.makespan == b.makespan and a.events == b.events and a.messages == b.messages
    assert a.history == b.history
    assert a.makespan != c.makespan


def test_greedy_beats_static_when_workers_differ_in_speed():
    job = dc.Job(work=2000, parallel_fraction=0.99, tasks=60)
    speeds = [1, 1, 1, 3]
    greedy = dc.run_job(job, workers=4, speeds=speeds, policy="greedy")
    static = dc.run_job(job, workers=4, speeds=speeds, policy="static")
    assert greedy.makespan < 0.8 * static.makespan
    assert greedy.completed["worker-4"] > static.completed["worker-4"]


def test_a_custom_policy_is_used_and_a_broken_one_is_explained():
    def first_worker_only(pending, load):
        return [(pending[0], "worker-1")] if load.get("worker-1") == 0 else []

    run = dc.run_job(dc.Job(work=100, parallel_fraction=0.9, tasks=5), workers=3,
                     policy=first_worker_only)
    assert run.completed == {"worker-1": 5, "worker-2": 0, "worker-3": 0}

    def to_nowhere(pending, load):
        return [(pending[0], "worker-9")]

    with pytest.raises(Invalid, match="worker-9"):
        dc.run_job(JOB, workers=2, policy=to_nowhere)
    with pytest.raises(Invalid, match="unknown policy"):
        dc.run_job(JOB, workers=2, policy="fastest")


def test_unknown_names_are_refused():
    with pytest.raises(Invalid, match="worker-9"):
        dc.run_job(JOB, workers=2, kill={"worker-9": 1.0})
    with pytest.raises(Invalid):
        dc.run_job(JOB, workers=0)


def test_static_deal_also_recovers_a_dead_workers_whole_queue():
    run = dc.run_job(JOB, workers=4, policy="static", kill={"worker-1": 500.0}, seed=2)
    assert run.finished
    moved = [task for _, task, source in run.reassigned if source == "worker-1"]
    assert len(moved) > 1      # its queued tasks, not only the one it was computing
    finished = {t for w, t, _, e in run.history if w != "worker-1" or e <= 500.0}
    assert finished == set(range(JOB.tasks))
