"""Bad arguments give the course's own errors, and errors point to the cause.

A learner's typo must come back as a :class:`LabSupportError` that quotes the
bad value and says the fix, never as a TypeError from deep inside simpy, and
it must leave the cluster usable. A wait that times out names the pods that
are not ready and the reason Kubernetes gave for each.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labsupport as ls
from labsupport import arguments
from labsupport.errors import Invalid, LabSupportError, ObjectNotFound, WaitTimeout
from labsupport.rollout import RolloutFailed, WaitReason

sys.path.insert(0, str(Path(__file__).parent / "sim"))
from simhelpers import deployment  # noqa: E402

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}

# --- the property: junk in, LabSupportError out, cluster still usable ---------------------
#: Values a learner may pass by mistake. None of them is a valid number of
#: seconds, count, node or reference (text never names an existing node here).
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=8).filter(lambda s: not s.startswith("node-")),
    st.sampled_from(["10", "-1", "1e400", "nan", "node-9", "pod/nope", "deployment/nope",
                     "service/web", "nope/web", "", " "]),
    st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan"), np.int64(-3)]),
    st.integers(max_value=-1),
    st.floats(max_value=-1e-6, allow_nan=False),
    st.integers(min_value=10**309, max_value=10**400),  # beyond floats and int32
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.integers()),
    st.just(object()),
)

#: Every public entry point, with the junk put in one argument.
CALLS = {
    "advance": lambda c, v: c.advance(v),
    "scale replicas": lambda c, v: c.scale("deployment/web", v),
    "scale ref": lambda c, v: c.scale(v, 1),
    "scale namespace": lambda c, v: c.scale("deployment/web", 1, namespace=v),
    "wait_until timeout": lambda c, v: c.wait_until(lambda c: True, timeout=v),
    "wait_until condition": lambda c, v: c.wait_until(v, timeout=1),
    "wait_until what": lambda c, v: c.wait_until(lambda c: True, timeout=1, what=v),
    "wait_for_rollout timeout": lambda c, v: c.wait_for_rollout("deployment/web", timeout=v),
    "wait_for_rollout ref": lambda c, v: c.wait_for_rollout(v, timeout=1),
    "wait_for_rollout namespace": lambda c, v: c.wait_for_rollout("deployment/web", 1, v),
    "kill_pod name": lambda c, v: c.kill_pod(v),
    "kill_pod namespace": lambda c, v: c.kill_pod("web", namespace=v),
    "fail_node": lambda c, v: c.fail_node(v),
    "restore_node": lambda c, v: c.restore_node(v),
    "get ref": lambda c, v: c.get(v),
    "get namespace": lambda c, v: c.get("deployment/web", namespace=v),
    "delete ref": lambda c, v: c.delete(v),
    "delete namespace": lambda c, v: c.delete("deployment/nope", namespace=v),
    "list resource": lambda c, v: c.list(v),
    "list namespace": lambda c, v: c.list("pods", namespace=v),
    "list selector": lambda c, v: c.list("pods", selector=v),
    "apply source": lambda c, v: c.apply(v),
    "apply namespace": lambda c, v: c.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, namespace=v),
    "pods namespace": lambda c, v: c.pods(v),
    "pods selector": lambda c, v: c.pods(selector=v),
    "events namespace": lambda c, v: c.events(v),
    "send_traffic target": lambda c, v: c.send_traffic(v, rps=1, duration=1),
    "send_traffic rps": lambda c, v: c.send_traffic("service/web", rps=v, duration=1),
    "send_traffic duration": lambda c, v: c.send_traffic("service/web", rps=1, duration=v),
    "send_traffic pattern": lambda c, v: c.send_traffic("service/web", 1, 1, pattern=v),
    "send_traffic clients": lambda c, v: c.send_traffic("service/web", 1, 1, clients=v),
    "send_traffic client_node": lambda c, v: c.send_traffic("service/web", 1, 1,
                                                             client_node=v),
    "send_traffic timeout": lambda c, v: c.send_traffic("service/web", 1, 1, timeout=v),
    "partition group": lambda c, v: c.partition(v),
    "partition member": lambda c, v: c.partition([v], ["node-1"]),
    "explain_scheduling": lambda c, v: c.explain_scheduling(v),
    "explain_scheduling namespace": lambda c, v: c.explain_scheduling("pod/x", namespace=v),
    "trace ref": lambda c, v: c.trace(v),
    "trace namespace": lambda c, v: c.trace("deployment/web", namespace=v),
    "files pod": lambda c, v: c.files(v, "data"),
    "files volume": lambda c, v: c.files("web", v),
    "rollout_history": lambda c, v: c.rollout_history(v),
    "rollout_undo to_revision": lambda c, v: c.rollout_undo("deployment/web", to_revision=v),
    "add_node name": lambda c, v: c.add_node(v),
    "add_node cpu": lambda c, v: c.add_node(cpu=v),
    "add_node memory": lambda c, v: c.add_node(memory=v),
    "connect backend": lambda c, v: ls.connect(v),
    "connect nodes": lambda c, v: ls.connect(nodes=v),
    "connect seed": lambda c, v: ls.connect(nodes=1, seed=v),
    "connect node_cpu": lambda c, v: ls.connect(nodes=1, node_cpu=v),
    "connect node_memory": lambda c, v: ls.connect(nodes=1, node_memory=v),
    "connect max_pods": lambda c, v: ls.connect(nodes=1, max_pods=v),
    "connect node_monitor_grace_period": lambda c, v: ls.connect(
        nodes=1, node_monitor_grace_period=v),
    "connect scoring_strategy": lambda c, v: ls.connect(nodes=1, scoring_strategy=v),
    "connect proxy_mode": lambda c, v: ls.connect(nodes=1, proxy_mode=v),
    "connect percentage_of_nodes_to_score": lambda c, v: ls.connect(
        nodes=1, percentage_of_nodes_to_score=v),
}


def _cluster():
    c = ls.connect(nodes=2, seed=0)
    c.apply([deployment(replicas=1), SERVICE])
    c.advance(5)
    return c


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=st.sampled_from(sorted(CALLS)), value=junk)
def test_bad_arguments_raise_only_labsupport_errors(call, value):
    c = _cluster()
    try:
        CALLS[call](c, value)
    except LabSupportError:
        pass
    before = c.now
    c.advance(1)  # the clock still runs
    assert c.now == before + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=st.lists(st.tuples(st.sampled_from(sorted(CALLS)), junk), min_size=1,
                      max_size=6))
def test_a_cluster_stays_usable_after_bad_calls(calls):
    c = _cluster()
    for call, value in calls:
        try:
            CALLS[call](c, value)
        except LabSupportError:
            pass
    c.heal()  # a partition of valid groups may have been made by chance
    c.apply(deployment("after", replicas=2))
    assert c.wait_for_rollout("deployment/after", timeout=120) == \
        'deployment "after" successfully rolled out'


# --- each bad value, one clear message --------------------------------------------------
@pytest.mark.parametrize("value, message", [
    ("10", "seconds must be a number of seconds, such as 30; got '10' (text). "
           "Write the number without quotes: 10"),
    (math.nan, "seconds must be a number of seconds; got nan (not a number). "
               "Check the calculation that gave it"),
    (math.inf, "seconds must be a finite number of seconds, such as 600; got inf"),
    (10**400, "seconds must be a finite number of seconds, such as 600; "
              "got a number too large for a float"),
    (None, "seconds must be a number of seconds, such as 30; got None"),
    (True, "seconds must be a number of seconds, such as 30; got True (a bool). "
           "True and False are not numbers"),
    ([1], "seconds must be a number of seconds, such as 30; got [1] (a list)"),
    (-2, "seconds must be zero or more seconds; got -2"),
])
def test_seconds_messages(value, message):
    with pytest.raises(Invalid) as err:
        arguments.seconds(value, "seconds")
    assert str(err.value) == message


def test_seconds_accepts_ints_floats_and_numpy_numbers():
    assert arguments.seconds(0, "t") == 0.0
    assert arguments.seconds(2.5, "t") == 2.5
    assert arguments.seconds(np.int64(3), "t") == 3.0
    assert arguments.seconds(np.float32(0.5), "t") == 0.5
    assert type(arguments.seconds(np.float64(1), "t")) is float
    with pytest.raises(Invalid, match="timeout must be a number greater than 0; got 0"):
        arguments.seconds(0, "timeout", positive=True)


@pytest.mark.parametrize("value, minimum, maximum, message", [
    (2.0, 0, None, "replicas must be a whole number, zero or more; got 2.0 (a float). Write 2"),
    ("3", 0, None, "replicas must be a whole number, zero or more; got '3' (text). "
                   "Write the number without quotes: 3"),
    (True, 0, None, "replicas must be a whole number, zero or more; got True (a bool)"),
    (-1, 0, None, "replicas must be a whole number, zero or more; got -1 (an int)"),
    (0, 1, None, "replicas must be a whole number, 1 or more; got 0 (an int)"),
    (2**31, 0, 2**31 - 1, "replicas must be a whole number from 0 to 2147483647; "
                          "got 2147483648 (an int)"),
])
def test_count_messages(value, minimum, maximum, message):
    with pytest.raises(Invalid) as err:
        arguments.count(value, "replicas", minimum, maximum)
    assert str(err.value) == message


def test_count_accepts_numpy_integers_and_returns_an_int():
    assert arguments.count(np.int64(4), "replicas") == 4
    assert type(arguments.count(np.int64(4), "replicas")) is int
    assert arguments.count(-7, "seed", minimum=None) == -7


def test_text_namespace_selector_function_choice_messages():
    with pytest.raises(Invalid, match=r'^name must be text such as "web"; got 3 \(an int\)$'):
        arguments.text(3, "name")
    with pytest.raises(Invalid, match=r"^name must be text such as \"web\"; got '' \(text\)$"):
        arguments.text("", "name")
    with pytest.raises(Invalid) as err:
        arguments.namespace(None)
    assert str(err.value) == ('namespace must be the name of a namespace, such as "default"; '
                              "got None")
    assert arguments.namespace(None, all_allowed=True) is None
    with pytest.raises(Invalid, match="or None for all namespaces; got 3"):
        arguments.namespace(3, all_allowed=True)
    assert arguments.selector("") == "" and arguments.selector(None) is None
    with pytest.raises(Invalid, match=r"selector must be text such as \"app=web\""):
        arguments.selector(["app=web"])
    with pytest.raises(Invalid, match=r"condition must be a function, such as lambda c: \.\.\.; "
                                      r"got 'ready' \(text\)"):
        arguments.function("ready", "condition", example="lambda c: ...")
    with pytest.raises(Invalid) as err:
        arguments.choice(["spike"], "pattern", ("constant", "spike"), or_else=", or a function")
    assert str(err.value) == ('pattern must be one of "constant", "spike", or a function; '
                              "got ['spike'] (a list)")


@pytest.mark.parametrize("check, value", [
    (arguments.cpu, "-1"), (arguments.cpu, math.inf), (arguments.cpu, 10**400),
    (arguments.cpu, True), (arguments.memory, "8GB"), (arguments.memory, math.nan),
    (arguments.memory, None), (arguments.memory, [1]),
])
def test_quantity_messages(check, value):
    with pytest.raises(Invalid) as err:
        check(value, "node_memory")
    assert str(err.value).startswith("node_memory must be a ")
    assert "such as" in str(err.value) and "; got " in str(err.value)


def test_quantities_accept_what_kubernetes_accepts():
    assert arguments.cpu("500m", "cpu") == 0.5 and arguments.cpu(2, "cpu") == 2.0
    assert arguments.memory("1Gi", "memory") == 2**30 and arguments.memory(0, "memory") == 0


def test_unknown_node_lists_the_nodes(sim):
    with pytest.raises(ObjectNotFound) as err:
        sim.fail_node("node-9")
    assert str(err.value) == 'node "node-9" not found. The nodes are: node-1, node-2, node-3'
    with pytest.raises(ObjectNotFound, match="The nodes are: node-1, node-2, node-3"):
        sim.restore_node("node9")
    with pytest.raises(Invalid, match=r'name must be text such as "node-1"; got 1 \(an int\)'):
        sim.fail_node(1)


def test_cluster_check(sim):
    assert arguments.cluster(sim) is sim
    with pytest.raises(Invalid, match=r"cluster must be a cluster made by ls.connect\(\)"):
        arguments.cluster(None)


# --- the entry points use them ---------------------------------------------------------
def test_advance_refuses_what_used_to_break_the_clock(sim):
    with pytest.raises(Invalid, match="got '10' \\(text\\)"):
        sim.advance("10")
    with pytest.raises(Invalid, match="finite number of seconds"):
        sim.advance(float("inf"))
    with pytest.raises(Invalid, match="not a number"):
        sim.advance(float("nan"))
    with pytest.raises(Invalid, match="cannot go back in time"):
        sim.advance(-1)
    sim.advance(5)
    assert sim.now == 5 and type(sim.now) is int  # valid arguments: as before
    sim.advance(np.int64(1))
    sim.advance(1e-30)  # too small to move the clock: no error
    assert sim.now == 6


def test_entry_points_name_the_argument(sim):
    sim.apply(deployment(replicas=1))
    cases = [
        (lambda: sim.scale("deployment/web", "3"), "replicas must be a whole number"),
        (lambda: sim.scale("deployment/web", 2**40), "from 0 to 2147483647"),
        (lambda: sim.wait_until("ready"), "condition must be a function"),
        (lambda: sim.wait_until(lambda c: True, timeout=math.nan), "timeout must be a number"),
        (lambda: sim.wait_for_rollout("deployment/web", timeout="60"), "timeout must be"),
        (lambda: sim.list(None), 'resource must be text such as "pods"'),
        (lambda: sim.pods(namespace=3), "namespace must be the name of a namespace"),
        (lambda: sim.events(namespace=["default"]), "namespace must be"),
        (lambda: sim.kill_pod(None), "name must be text"),
        (lambda: sim.send_traffic("service/web", rps=math.inf, duration=1),
         "rps must be a finite number"),
        (lambda: sim.send_traffic("service/web", rps=5, duration=10, pattern=5),
         'pattern must be one of "constant", "poisson", "spike", "diurnal"'),
        (lambda: sim.partition(5), 'partition takes groups of node names'),
        (lambda: ls.connect(nodes=True), "nodes must be a whole number"),
        (lambda: ls.connect(seed="a"), "seed must be a whole number"),
        (lambda: ls.connect(node_cpu="-2"), "node_cpu must be a CPU quantity"),
        (lambda: ls.connect(node_memory=10**400), "node_memory must be a memory quantity"),
        (lambda: ls.connect(5), 'backend must be one of "sim", "kind", "kubeconfig"'),
        (lambda: sim.trace(7), 'expected a reference like "deployment/web"'),
    ]
    for call, words in cases:
        with pytest.raises(LabSupportError) as err:
            call()
        assert words in str(err.value)


# --- errors that point to the cause ----------------------------------------------------
def _too_big(c):
    """A Deployment that asks more CPU than any node has."""
    c.apply(deployment(replicas=2, cpu="16"))


def test_rollout_timeout_names_the_scheduling_failure(sim):
    _too_big(sim)
    with pytest.raises(WaitTimeout) as err:
        sim.wait_for_rollout("deployment/web", timeout=60)
    e = err.value
    assert e.last.endswith("0 of 2 updated replicas are available...")  # kept as before
    assert len(e.reasons) == 2
    first = e.reasons[0]
    assert isinstance(first, WaitReason)
    assert (first.status, first.reason) == ("Pending", "FailedScheduling")
    assert "Insufficient cpu" in first.message
    assert first.more == f'c.explain_scheduling("{first.object}")'
    text = str(e)
    assert "FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu" in text
    assert f'More: c.explain_scheduling("{first.object}")' in text
    # the call it names works
    assert sim.explain_scheduling(first.object).node is None


def test_rollout_failed_names_the_scheduling_failure(sim):
    _too_big(sim)
    with pytest.raises(RolloutFailed) as err:
        sim.wait_for_rollout("deployment/web", timeout=700)  # progress deadline: 600 s
    assert str(err.value).startswith('deployment "web" exceeded its progress deadline\n')
    assert err.value.problem == 'deployment "web" exceeded its progress deadline'
    assert {r.reason for r in err.value.reasons} == {"FailedScheduling"}
    assert "explain_scheduling" in str(err.value)


def test_wait_until_timeout_lists_the_pods_not_ready(sim):
    _too_big(sim)
    with pytest.raises(WaitTimeout) as err:
        sim.wait_until(lambda c: len(c.pods()) == 2 and all(p.ready for p in c.pods()),
                       timeout=30, what="2 ready pods")
    assert str(err.value).startswith("timed out after 30 s waiting for 2 ready pods\n  pod/web-")
    assert [r.reason for r in err.value.reasons] == ["FailedScheduling"] * 2


def test_timeout_names_a_failing_readiness_probe_and_events(sim):
    sim.apply(deployment("nr", replicas=1, annotations={"sim.labsupport.io/never-ready": "true"},
                         container_extra={"readinessProbe": {"httpGet": {"path": "/",
                                                                         "port": 80}}}))
    with pytest.raises(WaitTimeout) as err:
        sim.wait_for_rollout("deployment/nr", timeout=60)
    (reason,) = err.value.reasons
    assert (reason.status, reason.reason, reason.more) == ("Running", "Unhealthy", "c.events()")
    assert "Unhealthy: Readiness probe failed" in str(err.value)


def test_timeout_names_a_quota_that_refuses_pods(sim):
    sim.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
               "spec": {"hard": {"pods": "1"}}})
    sim.apply(deployment(replicas=2))
    with pytest.raises(WaitTimeout) as err:
        sim.wait_for_rollout("deployment/web", timeout=60)
    assert any(r.object.startswith("replicaset/web-") and r.reason == "FailedCreate"
               and "exceeded quota: q" in r.message for r in err.value.reasons)


def test_a_timeout_with_no_pods_to_blame_says_as_before(sim):
    with pytest.raises(WaitTimeout) as err:
        sim.wait_until(lambda c: False, timeout=2)
    assert str(err.value) == "timed out after 2 s waiting for the condition"
    assert err.value.reasons == ()


def test_explain_scheduling_of_a_deployment_lists_its_pods(sim):
    _too_big(sim)
    sim.advance(1)
    names = [p.name for p in sim.pods()]
    with pytest.raises(Invalid) as err:
        sim.explain_scheduling("deployment/web")
    assert str(err.value) == (
        'explain_scheduling explains the scheduling of one pod, and "deployment/web" is a '
        f"Deployment. Pick one of its pods: {', '.join(names)}; for instance "
        f'c.explain_scheduling("pod/{names[0]}")')
    with pytest.raises(ObjectNotFound, match='pod "nope" not found'):
        sim.explain_scheduling("pod/nope")
