"""Deletion in the simulator: finalizers, propagation policies, grace periods, preStop hooks."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import Invalid, InvalidManifest
from labsupport.sim.clock import stamp

KEEP = "example.com/keep"


@pytest.fixture
def c():
    return ls.connect(nodes=1, seed=0)


def _pod(name, container, *, finalizers=(), **spec):
    meta = {"name": name}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [container], **spec}}


def _rs(name="rs", replicas=2):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "nginx:1.27"}]}}}}


def _events(c, reason, since=0.0):
    return [(e.time, e.message) for e in c.events() if e.reason == reason and e.time >= since]


def _remove_finalizers(c, ref):
    obj = c.get(ref)
    obj["metadata"]["finalizers"] = []
    c.api.update(obj)


# --- finalizers ------------------------------------------------------------------


def test_a_finalizer_keeps_a_deleted_configmap_until_it_is_removed(c):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "cfg", "finalizers": [KEEP]}, "data": {"a": "1"}})
    c.advance(3)
    c.delete("configmap/cfg")
    c.advance(60)
    meta = c.get("configmap/cfg")["metadata"]
    assert meta["deletionTimestamp"] == stamp(3)
    assert meta["deletionGracePeriodSeconds"] == 0
    assert meta["finalizers"] == [KEEP]
    _remove_finalizers(c, "configmap/cfg")
    assert c.list("configmaps", namespace="default") == []


def test_no_new_finalizer_once_the_deletion_started(c):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "cfg", "finalizers": [KEEP]}})
    c.delete("configmap/cfg")
    cm = c.get("configmap/cfg")
    cm["metadata"]["finalizers"] = [KEEP, "example.com/more"]
    with pytest.raises(InvalidManifest) as err:
        c.api.update(cm)
    assert err.value.causes == (
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is '
        'being deleted, found new finalizers []string{"example.com/more"}',)
    # Removing one of several keeps it; removing the last deletes it.
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "two", "finalizers": [KEEP, "example.com/b"]}})
    c.delete("configmap/two")
    two = c.get("configmap/two")
    two["metadata"]["finalizers"] = ["example.com/b"]
    c.api.update(two)
    assert c.get("configmap/two")["metadata"]["finalizers"] == ["example.com/b"]


def test_a_second_delete_may_change_the_gc_finalizer_but_not_a_pending_grace(c):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "cfg", "finalizers": [KEEP]}})
    c.delete("configmap/cfg", propagation_policy="Foreground")
    assert c.get("configmap/cfg")["metadata"]["finalizers"] == [KEEP, "foregroundDeletion"]
    # No graceful deletion is pending (deletionGracePeriodSeconds 0): the policy applies again.
    c.delete("configmap/cfg", propagation_policy="Orphan")
    assert c.get("configmap/cfg")["metadata"]["finalizers"] == [KEEP, "orphan"]
    # A pod whose graceful deletion is pending keeps its finalizers and timestamp.
    c.apply(_pod("p", {"name": "p", "image": "nginx:1.27"}, finalizers=[KEEP]))
    c.advance(5)
    c.delete("pod/p")
    revision = c.store.revision
    c.delete("pod/p", propagation_policy="Orphan")
    assert c.get("pod/p")["metadata"]["finalizers"] == [KEEP]
    assert c.store.revision == revision


# --- pods: grace periods, preStop hooks, SIGTERM and SIGKILL ------------------------------


def test_prestop_sleep_runs_before_sigterm_and_nginx_exits_with_0(c):
    c.apply(_pod("web", {"name": "web", "image": "nginx:1.27", "lifecycle": {
        "preStop": {"exec": {"command": ["sh", "-c", "sleep 20"]}}}}, finalizers=[KEEP]))
    c.advance(5)
    c.delete("pod/web")
    pod = c.get("pod/web")
    assert pod["metadata"]["deletionTimestamp"] == stamp(35)
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    c.advance(19.9)
    running = c.get("pod/web")["status"]["containerStatuses"][0]
    # Still Ready while it runs (the prober keeps reporting during termination); its
    # endpoint is ready=false, serving=true, terminating=true (test_terminating_readiness.py).
    assert "running" in running["state"] and running["ready"] is True
    assert str(c.pods()[0]) == "<Pod web Terminating ready on node-1>"
    c.advance(1)
    pod = c.get("pod/web")  # the finalizer keeps it: the kubelet's last status shows
    end = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (end["exitCode"], end["reason"], end["finishedAt"]) == (0, "Completed", stamp(25.5))
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 0  # the kubelet deleted it with 0
    assert _events(c, "Killing") == [(5, "Stopping container web")]
    _remove_finalizers(c, "pod/web")
    assert c.pods() == []


def test_a_sleep_ignores_sigterm_as_pid_1_and_is_killed_at_the_deadline(c):
    c.apply(_pod("s", {"name": "s", "image": "busybox:1.36", "command": ["sh", "-c",
                                                                       "sleep 3600"]},
                 finalizers=[KEEP]))
    c.advance(5)
    c.delete("pod/s")
    c.advance(29.9)
    assert "running" in c.get("pod/s")["status"]["containerStatuses"][0]["state"]
    c.advance(0.2)
    pod = c.get("pod/s")
    end = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (end["exitCode"], end["reason"], end["finishedAt"]) == (137, "Error", stamp(35))
    assert pod["status"]["phase"] == "Failed"


def test_without_pid_1_sigterm_kills_a_sleep_with_143(c):
    c.apply(_pod("s", {"name": "s", "image": "busybox:1.36", "command": ["sleep", "3600"]},
                 finalizers=[KEEP], shareProcessNamespace=True))
    c.advance(5)
    c.delete("pod/s")
    c.advance(0.1)
    end = c.get("pod/s")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (end["exitCode"], end["reason"]) == (143, "Error")


def test_the_sleep_action_and_an_explicit_grace_period(c):
    c.apply(_pod("web", {"name": "web", "image": "nginx:1.27",
                         "lifecycle": {"preStop": {"sleep": {"seconds": 10}}}}))
    c.advance(5)
    c.delete("pod/web", grace_period=60)
    meta = c.get("pod/web")["metadata"]
    assert (meta["deletionGracePeriodSeconds"], meta["deletionTimestamp"]) == (60, stamp(65))
    c.advance(10.4)
    assert [p.name for p in c.pods()] == ["web"]
    c.advance(0.2)
    assert c.pods() == []


def test_a_hook_longer_than_the_grace_period_fails_and_sigkill_follows_2_s_later(c):
    c.apply(_pod("s", {"name": "s", "image": "busybox:1.36", "command": ["sleep", "3600"],
                       "lifecycle": {"preStop": {"exec": {"command": ["sleep", "40"]}}}},
                 finalizers=[KEEP], terminationGracePeriodSeconds=10))
    c.advance(5)
    c.delete("pod/s")
    c.advance(11.9)
    assert _events(c, "FailedPreStopHook") == []
    c.advance(0.2)  # 10 s of hook, then the minimum 2 s stop window
    end = c.get("pod/s")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (end["exitCode"], end["finishedAt"]) == (137, stamp(17))
    assert _events(c, "FailedPreStopHook") == [(17, "PreStopHook failed")]
    event = next(e for e in c.list("events") if e["reason"] == "FailedPreStopHook")
    assert event["type"] == "Warning"
    assert event["involvedObject"]["fieldPath"] == "spec.containers{s}"


def test_an_http_hook_to_a_port_nobody_serves_fails_at_once(c):
    c.apply(_pod("web", {"name": "web", "image": "nginx:1.27", "lifecycle": {
        "preStop": {"httpGet": {"path": "/drain", "port": 9999}}}}))
    c.advance(5)
    c.delete("pod/web")
    c.advance(1)
    assert _events(c, "FailedPreStopHook") == [(5, "PreStopHook failed")]
    assert c.pods() == []


def test_force_deletion_removes_the_pod_from_the_api_at_once(c):
    c.apply(_pod("s", {"name": "s", "image": "busybox:1.36", "command": ["sleep", "3600"]}))
    c.advance(5)
    c.delete("pod/s", force=True)
    assert c.pods() == []
    assert _events(c, "Killing") == []


def test_grace_period_0_without_force_means_1_and_a_second_delete_shortens(c):
    c.apply(_pod("s", {"name": "s", "image": "busybox:1.36", "command": ["sleep", "3600"]}))
    c.apply(_pod("t", {"name": "t", "image": "busybox:1.36", "command": ["sleep", "3600"]}))
    c.advance(5)
    c.delete("pod/s", grace_period=0)
    assert c.get("pod/s")["metadata"]["deletionGracePeriodSeconds"] == 1
    c.delete("pod/t")
    c.delete("pod/t", grace_period=5)
    meta = c.get("pod/t")["metadata"]
    assert (meta["deletionGracePeriodSeconds"], meta["deletionTimestamp"]) == (5, stamp(10))
    c.advance(2.1)  # 1 s, raised to the 2 s minimum stop window
    assert [p.name for p in c.pods()] == ["t"]


def test_an_unscheduled_pod_goes_at_once(c):
    c.apply(_pod("p", {"name": "p", "image": "nginx:1.27"}, nodeName=None,
                 nodeSelector={"disk": "none"}))
    c.advance(2)
    c.delete("pod/p")
    assert c.pods() == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"propagation_policy": "cascade"}, 'propagation_policy must be one of "Background"'),
    ({"grace_period": -1}, "grace_period must be a whole number of seconds, 0 or more"),
    ({"grace_period": 2.5}, "grace_period must be a whole number"),
    ({"force": True, "grace_period": 5}, "force=True and grace_period=5 cannot be given"),
    ({"force": "yes"}, "force must be True or False"),
    ({"wait": "yes"}, "wait must be True or False"),
])
def test_bad_arguments_are_refused(c, kwargs, message):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    with pytest.raises(Invalid, match=message):
        c.delete("configmap/cfg", **kwargs)
    assert c.get("configmap/cfg")


def test_the_api_server_refuses_an_unknown_policy(c):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    with pytest.raises(Invalid) as err:
        c.api.delete(ls.kinds.type_for_kind("ConfigMap"), "default", "cfg",
                     propagation_policy="Cascade")
    assert str(err.value) == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        '"Cascade": supported values: "Foreground", "Background", "Orphan", "nil"')


def test_wait_returns_once_the_pod_is_gone(c):
    c.apply(_pod("web", {"name": "web", "image": "nginx:1.27"}))
    c.advance(5)
    c.delete("pod/web", wait=True)
    assert c.pods() == [] and 5 < c.now <= 7


# --- propagation policies and the garbage collector -----------------------------


def test_orphan_keeps_the_pods_without_their_owner_reference(c):
    c.apply(_rs())
    c.advance(5)
    names = sorted(p.name for p in c.pods())
    c.delete("rs/rs", propagation_policy="Orphan")
    assert c.get("rs/rs")["metadata"]["finalizers"] == ["orphan"]
    c.advance(1)
    assert c.list("replicasets") == []
    pods = c.list("pods")
    assert sorted(p["metadata"]["name"] for p in pods) == names
    assert all("ownerReferences" not in p["metadata"] for p in pods)
    assert all(p.phase == "Running" for p in c.pods())


def test_background_removes_the_owner_first_then_the_pods(c):
    c.apply(_rs())
    c.advance(5)
    c.delete("rs/rs")
    assert c.list("replicasets") == []
    c.advance(0.1)
    assert [p.status for p in c.pods()] == ["Terminating", "Terminating"]
    c.advance(1)
    assert c.pods() == []


def test_foreground_keeps_the_owner_until_its_blocking_dependents_are_gone(c):
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web",
                                                            "image": "busybox:1.36",
                                                            "command": ["sleep", "3600"]}]}}}})
    c.wait_for_rollout("deployment/web")
    start = c.now
    c.delete("deployment/web", propagation_policy="Foreground")
    c.advance(1)
    dep = c.get("deployment/web")["metadata"]
    assert dep["finalizers"] == ["foregroundDeletion"]
    (rs,) = c.list("replicasets")
    assert rs["metadata"]["finalizers"] == ["foregroundDeletion"]  # it has dependents too
    assert [p.status for p in c.pods()] == ["Terminating", "Terminating"]
    c.advance(start + 29 - c.now)  # the sleeps ignore SIGTERM: 30 s to SIGKILL
    assert c.list("deployments") and c.list("replicasets")
    c.advance(2)
    assert (c.list("deployments"), c.list("replicasets"), c.pods()) == ([], [], [])


def test_a_dependent_with_another_live_owner_stays_and_loses_the_dangling_reference(c):
    owners = []
    for name in ("a", "b"):
        c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
        cm = c.get(f"configmap/{name}")
        owners.append({"apiVersion": "v1", "kind": "ConfigMap", "name": name,
                       "uid": cm["metadata"]["uid"]})
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "dep", "ownerReferences": owners}})
    c.delete("configmap/a")
    c.advance(1)
    refs = c.get("configmap/dep")["metadata"]["ownerReferences"]
    assert [r["name"] for r in refs] == ["b"]
    c.delete("configmap/b")
    c.advance(1)
    assert [m["metadata"]["name"] for m in c.list("configmaps", namespace="default")] == []


def test_a_reference_to_an_owner_that_never_existed_is_collected(c):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost",
             "uid": "00000000-0000-0000-0000-000000000000"}
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "dep", "ownerReferences": [ghost]}})
    c.advance(1)
    assert c.list("configmaps", namespace="default") == []
