from __future__ import annotations

import math
import random

import pytest

from labsupport import dc
from labsupport.errors import Invalid, LabSupportError


def test_job_splits_serial_and_parallel_work():
    job = dc.Job(work=1000, parallel_fraction=0.9, tasks=20)
    assert job.serial_work == 100
    assert job.parallel_work == 900
    assert [t.work for t in job.split()] == [45.0] * 20


def test_uneven_tasks_keep_the_total_and_follow_the_seed():
    job = dc.Job(work=1000, parallel_fraction=0.9, tasks=20, spread=0.5)
    a, b, c = job.split(seed=1), job.split(seed=1), job.split(seed=2)
    assert math.isclose(sum(t.work for t in a), job.parallel_work)
    assert a == b and a != c
    assert len({round(t.work, 6) for t in a}) > 1


def test_scaled_job_grows_only_the_parallel_part():
    job = dc.Job(work=1000, parallel_fraction=0.9, tasks=10)
    big = job.scaled(8)
    assert big.serial_work == pytest.approx(job.serial_work)
    assert big.parallel_work == pytest.approx(8 * job.parallel_work)
    assert big.tasks == 80


@pytest.mark.parametrize("kwargs, quoted", [
    ({"parallel_fraction": 1.5}, "1.5"),
    ({"work": -3}, "-3"),
    ({"tasks": 0}, "0"),
    ({"tasks": 2.5}, "2.5"),
    ({"transfer": -1}, "-1"),
])
def test_bad_job_settings_are_refused_with_the_value(kwargs, quoted):
    with pytest.raises(Invalid) as err:
        dc.Job(**kwargs)
    assert quoted in str(err.value)
    assert isinstance(err.value, LabSupportError)


def test_network_model_samples_stay_within_bounds():
    model = dc.NetworkModel(latency=0.01, jitter=0.5, spike_probability=0.3, spike_delay=2,
                            max_delay=1.5)
    rng = random.Random(0)
    delays = [model.sample(rng) for _ in range(2000)]
    assert min(delays) >= 0.01
    assert max(delays) <= 1.5


def test_lossy_network_loses_about_the_given_share():
    rng = random.Random(1)
    lost = sum(dc.NetworkModel(loss=0.2).sample(rng) is None for _ in range(5000))
    assert 850 < lost < 1150


@pytest.mark.parametrize("field, value", [("latency", -1), ("loss", 1.5),
                                           ("spike_probability", -0.1)])
def test_bad_network_settings_are_refused(field, value):
    with pytest.raises(Invalid, match=field):
        dc.NetworkModel(**{field: value})


def test_tasks_and_results_survive_a_lossy_network_but_heartbeats_do_not():
    lossy = dc.NetworkModel(latency=0.01, loss=0.3)
    job = dc.Job(work=100, parallel_fraction=0.9, tasks=30)
    run = dc.run_job(job, workers=3, network=lossy, seed=2)
    assert run.finished
    assert sum(run.completed.values()) == 30
    trace = dc.heartbeat_trace(3, duration=100, network=lossy, seed=2)
    assert len(trace.arrivals) < 0.8 * trace.sent
