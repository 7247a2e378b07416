"""Assignment policies (static, greedy, stealing, barrier), policy_trial and compare_policies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsupport import dc
from labsupport.errors import Invalid

POLICY_NAMES = ["static", "greedy", "stealing", "barrier"]
speeds_lists = st.lists(st.sampled_from([0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0]),
                        min_size=2, max_size=6)


@settings(max_examples=25, deadline=None)
@given(speeds=speeds_lists, seed=st.integers(0, 50), policy=st.sampled_from(POLICY_NAMES),
       kill_at=st.one_of(st.none(), st.floats(5.0, 400.0)))
def test_every_task_finishes_exactly_once_despite_a_crash(speeds, seed, policy, kill_at):
    cluster = {"work": 600.0, "parallel_fraction": 0.95, "tasks": 24, "spread": 0.5,
               "speeds": speeds, "seed": seed}
    if kill_at is not None:
        cluster["kill"] = {"worker-2": kill_at}
    out = dc.policy_trial(dc.POLICIES[policy], cluster)
    assert out["mistake"] is None
    assert out["finished"] and out["never_finished"] == [] and out["ran_twice"] == []


@settings(max_examples=25, deadline=None)
@given(speeds=speeds_lists, seed=st.integers(0, 50), policy=st.sampled_from(POLICY_NAMES))
def test_no_policy_beats_the_bound(speeds, seed, policy):
    job = dc.Job(work=600.0, parallel_fraction=0.9, tasks=20, spread=0.4)
    run = dc.run_job(job, workers=len(speeds), speeds=speeds, policy=policy, seed=seed)
    assert run.makespan >= dc.makespan_bound(job, speeds)
    biggest = max(t.work for t in job.split(seed))
    assert run.makespan >= job.serial_work + biggest / max(speeds)


def test_stealing_rescues_the_straggler_and_barrier_waits_for_it():
    job = dc.Job(work=3600, parallel_fraction=0.98, tasks=60, spread=0.5)
    cmp = dc.compare_policies(job, speeds=[2, 1.5, 1, 1, 0.5, 0.1])
    m = cmp.makespans
    assert m["stealing"] < m["greedy"] < m["static"] <= m["barrier"]
    assert cmp.best == "stealing" and cmp.runs["stealing"].stolen


def test_barrier_rounds_show_as_moments_when_every_worker_is_idle():
    job = dc.Job(work=600, parallel_fraction=1.0, tasks=12, spread=0.5)
    run = dc.run_job(job, workers=4, policy="barrier")
    assert len(dc.idle_gaps(run)) == 2          # 3 rounds of 4 tasks
    assert dc.idle_gaps(dc.run_job(job, workers=4, policy="greedy")) == []


def test_policy_trial_names_a_worker_that_is_not_live():
    out = dc.policy_trial(lambda pending, load: [(pending[0], "worker-9")],
                          {"work": 100, "tasks": 4, "speeds": [1, 1]})
    assert "worker-9" in out["mistake"] and not out["finished"]


def test_policy_trial_needs_a_cluster():
    with pytest.raises(Invalid, match="speeds"):
        dc.policy_trial(dc.greedy, {"work": 100})


def test_makespan_bound_rejects_bad_speeds():
    with pytest.raises(Invalid, match="speeds"):
        dc.makespan_bound(dc.Job(work=100), [1, 0])


def test_comparison_picture_has_alt_text_with_the_makespans():
    job = dc.Job(work=600, parallel_fraction=0.9, tasks=12)
    fig = dc.compare_policies(job, ["greedy", "barrier"], speeds=[1, 0.5],
                              kill={"worker-2": 100.0}).plot()
    assert "greedy" in fig.alt and "crash of worker-2" in fig.alt
