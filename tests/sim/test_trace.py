from __future__ import annotations

from simhelpers import deployment


def test_trace_follows_one_apply_through_every_component(sim):
    sim.apply([deployment(replicas=2),
               {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}])
    sim.wait_for_rollout("deployment/web")
    sim.advance(1)
    t = sim.trace("deployment/web")
    assert set(t.components()) == {"kubectl", "deployment-controller", "replicaset-controller",
                                   "default-scheduler", "kubelet", "endpoint-controller"}
    first = {c: next(i for i, s in enumerate(t) if s.component == c) for c in t.components()}
    assert first["kubectl"] < first["deployment-controller"] < first["replicaset-controller"] \
        < first["default-scheduler"] < first["kubelet"]
    last_endpoints = max(i for i, s in enumerate(t) if s.component == "endpoint-controller")
    started = [i for i, s in enumerate(t) if s.action == "Started"]
    assert last_endpoints > max(started)  # the ready pods reach the Service's endpoints last
    times = [s.time for s in t]
    assert times == sorted(times)
    actions = [(s.component, s.action) for s in t]
    assert ("kubectl", "create") == actions[0]
    assert ("default-scheduler", "Scheduled") in actions
    assert ("kubelet", "Started") in actions
    # each pod's steps are in causal order: created, bound, started, endpoints updated
    pod = next(s.object for s in t if s.object.startswith("pod/"))
    order = [s.action for s in t if s.object == pod]
    assert order.index("create") < order.index("bind") < order.index("Started")
    assert "<table>" in t._repr_html_() and "default-scheduler" in repr(t)


def test_trace_of_a_missing_object_is_a_clear_error(sim):
    import pytest

    import labsupport as ls

    with pytest.raises(ls.ObjectNotFound):
        sim.trace("deployment/none")
