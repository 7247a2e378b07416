"""Message records: sizes, counts per kind and link, the graph and the pictures."""

from __future__ import annotations

import pytest

from labsupport import dc
from labsupport.errors import Invalid


@pytest.fixture
def run():
    job = dc.Job(work=120, parallel_fraction=0.95, tasks=12)
    return dc.run_job(job, workers=4, network=dc.NetworkModel(latency=0.1, jitter=0.02),
                      heartbeat=1.0, log_heartbeats=True, seed=0)


def test_one_task_and_one_result_message_per_task(run):
    t = dc.traffic(run)
    assert t.count["task"] == t.count["result"] == 12
    assert t.bytes["task"] == 12 * dc.MESSAGE_BYTES["task"]
    assert t.total_bytes == sum(m.size for m in run.messages)
    assert t.nodes[0] == "lead" and list(t.nodes[1:]) == [f"worker-{i}" for i in range(1, 5)]


def test_the_graph_is_a_star_around_the_lead(run):
    g = dc.traffic(run).graph()
    assert all("lead" in edge for edge in g.edges)
    assert g.edges["lead", "worker-1"]["bytes"] > g.edges["worker-1", "lead"]["bytes"]
    assert g.nodes["lead"]["role"] == "lead"


def test_pictures_have_alt_text(run):
    assert "star" in dc.traffic(run).plot().alt
    fig = dc.timeline(run, 5, 17)
    assert "heartbeat" in fig.alt and "task" in fig.alt


def test_timeline_needs_a_window(run):
    with pytest.raises(Invalid, match="end > start"):
        dc.timeline(run, 5, 5)


def test_traffic_refuses_what_is_not_messages():
    with pytest.raises(Invalid, match="Message"):
        dc.traffic([1, 2])


def test_a_sender_can_state_the_size():
    import simpy

    env = simpy.Environment()
    net = dc.Network(env)
    net.attach("b", lambda m: None)
    assert net.send("a", "b", "task", 1, size=10).size == 10
    assert net.send("a", "b", "heartbeat").size == dc.MESSAGE_BYTES["heartbeat"]
