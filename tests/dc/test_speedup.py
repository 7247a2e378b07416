from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsupport import dc
from labsupport.dc import Job, amdahl, run_job
from labsupport.errors import Invalid


def test_the_laws():
    assert dc.amdahl(0.5, 2) == pytest.approx(4 / 3)
    assert dc.amdahl(1.0, 7) == pytest.approx(7)
    assert dc.amdahl(0.0, 100) == pytest.approx(1)
    assert dc.amdahl(0.95, 10**9) == pytest.approx(20, rel=1e-6)
    assert dc.gustafson(0.9, 10) == pytest.approx(9.1)
    assert dc.karp_flatt(dc.amdahl(0.8, 5), 5) == pytest.approx(0.2)
    with pytest.raises(Invalid, match="1.2"):
        dc.amdahl(1.2, 3)
    with pytest.raises(Invalid):
        dc.amdahl(0.5, 0)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 8, 12])
def test_without_communication_the_measured_speedup_is_amdahls(n):
    job = dc.Job(work=7200, parallel_fraction=0.9, tasks=96)
    curve = dc.speedup_curve(job, [1, n])
    point = curve.points[-1]
    assert point.speedup == pytest.approx(dc.amdahl(0.9, n), rel=0.01)


def test_communication_pulls_the_curve_below_amdahl_more_as_workers_grow():
    job = dc.Job.training(hours=10, parallel_fraction=0.99, tasks=200, transfer=10)
    curve = dc.speedup_curve(job, [1, 2, 8, 32])
    gaps = [p.amdahl - p.speedup for p in curve.points]
    assert gaps[0] == pytest.approx(0, abs=1e-9)
    assert abs(gaps[1]) < 0.05            # 2 workers: sending overlaps with computing
    assert gaps[1] < gaps[2] < gaps[3]
    assert gaps[-1] > 5
    assert curve.points[-1].efficiency < 0.6
    assert "Amdahl" in repr(curve) and "<table>" in curve._repr_html_()


def test_the_seed_example_ten_hours_on_ten_machines():
    job = dc.Job.training(hours=10, parallel_fraction=0.99)
    ten = dc.run_job(job, workers=10)
    assert 1.0 < ten.hours < 1.15           # about an hour, not exactly
    assert ten.hours == pytest.approx(10 / dc.amdahl(0.99, 10), rel=0.01)


def test_scaled_jobs_follow_gustafson():
    job = dc.Job(work=1000, parallel_fraction=0.9, tasks=20)
    curve = dc.speedup_curve(job, [1, 4, 8], scaled=True)
    for p in curve.points:
        assert p.speedup == pytest.approx(p.gustafson, rel=0.02)
        assert p.speedup >= p.amdahl - 1e-9


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.5, 0.999), n=st.integers(1, 24), tasks=st.integers(4, 60),
       transfer=st.floats(0, 20), spread=st.floats(0, 0.8), seed=st.integers(0, 20))
def test_no_measured_speedup_beats_amdahls_bound(p, n, tasks, transfer, spread, seed):
    job = Job(work=600.0, parallel_fraction=p, tasks=tasks, transfer=transfer, spread=spread)
    many = run_job(job, workers=n, seed=seed).makespan
    # Against the work itself (one machine, no shipping), no cluster beats the law. (Against
    # a one-worker *run* it can, a little: on one worker shipping a task and computing the
    # previous one do not overlap, on several they do.)
    assert job.work / many <= amdahl(p, n) * (1 + 1e-9)
    assert job.work / many <= 1 / (1 - p)
