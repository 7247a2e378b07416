from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsupport import dc
from labsupport.errors import Invalid

JOB = dc.Job(work=1800, parallel_fraction=0.9, tasks=30)


def test_alive_counted_and_computing_follow_the_crash_and_its_detection():
    run = dc.run_job(JOB, workers=4, kill={"worker-2": 300.0}, network=dc.BUSY_LAN,
                     timeout=6, seed=2)
    cap = dc.capacity(run)
    detected = 300.0 + run.detections["worker-2"]
    assert cap.alive_at(299.9) == 4 and cap.alive_at(300.1) == 3
    assert cap.counted_at(detected - 0.01) == 4 and cap.counted_at(detected + 0.01) == 3
    assert cap.computing_at(10.0) == 0            # the lead runs the serial part alone
    labels = [label for _, label in cap.moments]
    assert labels[:2] == ["worker-2 crashes", "lead suspects worker-2"]
    assert cap.lost_work() == pytest.approx(run.makespan - 300.0)


@settings(max_examples=25, deadline=None)
@given(kills=st.dictionaries(st.sampled_from(["worker-1", "worker-2", "worker-3"]),
                             st.floats(200, 900), max_size=2), seed=st.integers(0, 50))
def test_computing_never_exceeds_alive_and_every_task_is_done_once(kills, seed):
    run = dc.run_job(JOB, workers=4, kill=kills, seed=seed)
    cap = dc.capacity(run)
    assert run.finished
    times, values = cap.computing
    for t, v in zip(times, values, strict=True):
        assert 0 <= v <= cap.alive_at(t) + 0.0 or t in run.kills.values()
    _starts, average = cap.busy
    assert max(average) <= 4 + 1e-9
    done = {task for _, task, _, _ in run.history}
    assert done == set(range(JOB.tasks))
    expected = sum(max(0.0, run.makespan - t) for t in kills.values())
    assert cap.lost_work() == pytest.approx(expected)


def test_picture_marks_the_crash_and_the_suspicion():
    run = dc.run_job(JOB, workers=4, kill={"worker-2": 300.0}, seed=0)
    fig = dc.capacity_plot(run)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "worker-2 crashes" in labels and "lead suspects worker-2" in labels
    assert "capacity lost" in fig.alt


def test_only_runs_have_a_capacity():
    with pytest.raises(Invalid, match="run of dc.run_job"):
        dc.capacity("run")
