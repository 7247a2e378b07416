from __future__ import annotations

import pytest
from simhelpers import ContainerStarts, pod


def _events(sim, reason):
    return [e for e in sim.events() if e.reason == reason]


def test_crash_loop_backoff_doubles_from_10_to_300_seconds(sim):
    starts = ContainerStarts(sim, "crash")
    sim.apply(pod("crash", containers=[{"name": "app", "image": "busybox:1.36",
                                        "command": ["sh", "-c", "exit 1"]}]))
    sim.advance(1500)
    gaps = [round(b - a, 3) for a, b in zip(starts.times, starts.times[1:])]
    # Updated for issue 14: the kubelet restarts a container at once after its
    # first exit (no back-off entry yet: doBackOff in kuberuntime_manager.go),
    # then waits 10 s, doubling to 300 s; the simulator waited 10 s first.
    assert gaps[:8] == [0, 10, 20, 40, 80, 160, 300, 300]
    p = sim.get("pod/crash")
    cs = p["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["restartCount"] == len(starts.times) - 1
    assert p["status"]["phase"] == "Running"  # restartPolicy Always keeps it Running
    assert sim.pods()[0].status == "CrashLoopBackOff"
    assert _events(sim, "BackOff")[0].type == "Warning"


def test_backoff_resets_after_ten_minutes_of_clean_running(sim):
    starts = ContainerStarts(sim, "p")
    sim.apply(pod("p", annotations={"sim.labsupport.io/exit-after": "700"}))
    sim.advance(2200)
    gaps = [round(b - a, 3) for a, b in zip(starts.times, starts.times[1:])]
    # Each run lasts 700 s (> 600 s), so the back-off entry has expired at every
    # exit. Updated for issue 14: an expired entry means a restart at once
    # (flowcontrol IsInBackOffSince is false), not after the initial 10 s.
    assert gaps[:2] == [700, 700]


def test_restart_policy_never_and_on_failure(sim):
    sim.apply(pod("once", restartPolicy="Never",
                  containers=[{"name": "app", "image": "busybox", "command": ["sh", "-c", "exit 2"]}]))
    sim.apply(pod("ok", restartPolicy="OnFailure",
                  containers=[{"name": "app", "image": "busybox", "command": ["sleep", "5"]}]))
    sim.advance(60)
    once, ok = sim.get("pod/once"), sim.get("pod/ok")
    assert once["status"]["phase"] == "Failed"
    assert once["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
    assert ok["status"]["phase"] == "Succeeded"
    assert ok["status"]["containerStatuses"][0]["restartCount"] == 0


def test_init_containers_run_in_order_before_app_containers(sim):
    sim.apply(pod("p", initContainers=[
        {"name": "first", "image": "busybox", "command": ["sleep", "3"]},
        {"name": "second", "image": "busybox", "command": ["sleep", "4"]}]))
    sim.advance(1)
    p = sim.get("pod/p")
    assert p["status"]["phase"] == "Pending"
    assert sim.pods()[0].status == "Init:0/2"  # what kubectl's STATUS column shows
    sim.advance(30)
    # Since 1.35 the message is just "Container started": the event's
    # involvedObject.fieldPath names the container.
    started = [(e.time, e.message) for e in sim.events() if e.reason == "Started"]
    assert {m for _, m in started} == {"Container started"}
    paths = [e["involvedObject"]["fieldPath"] for e in sim.list("events", namespace="default")
             if e["reason"] == "Started"]
    assert paths == ["spec.initContainers{first}", "spec.initContainers{second}",
                     "spec.containers{app}"]
    times = [t for t, _ in started]
    assert times[1] - times[0] >= 3 and times[2] - times[1] >= 4
    p = sim.get("pod/p")
    assert p["status"]["phase"] == "Running"
    assert all("terminated" in s["state"] and s["state"]["terminated"]["reason"] == "Completed"
               for s in p["status"]["initContainerStatuses"])


def test_failing_init_container_blocks_the_app(sim):
    sim.apply(pod("p", initContainers=[{"name": "setup", "image": "busybox",
                                        "command": ["sh", "-c", "exit 1"]}]))
    sim.advance(60)
    p = sim.get("pod/p")
    assert p["status"]["phase"] == "Pending"
    assert "running" not in p["status"]["containerStatuses"][0]["state"]
    assert p["status"]["initContainerStatuses"][0]["restartCount"] >= 2


def test_readiness_probe_timing(sim):
    sim.apply(pod("p", annotations={"sim.labsupport.io/start-seconds": "12"}, containers=[
        {"name": "app", "image": "nginx:1.27",
         "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80},
                            "initialDelaySeconds": 5, "periodSeconds": 10}}]))
    sim.advance(2)  # image pulled at t=2, container started
    sim.advance(15)  # probes at 7 and 17; app up at 14
    assert not sim.pods()[0].ready
    sim.advance(0.5)
    assert sim.pods()[0].ready  # ready at the tick at t=17
    unhealthy = _events(sim, "Unhealthy")
    assert unhealthy and unhealthy[0].message.startswith('Readiness probe failed: Get "http://')


def test_liveness_probe_restarts_a_hung_container(sim):
    starts = ContainerStarts(sim, "p")
    sim.apply(pod("p", annotations={"sim.labsupport.io/fail-liveness-after": "30"}, containers=[
        {"name": "app", "image": "nginx:1.27",
         "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 10, "failureThreshold": 3}}]))
    sim.advance(100)
    # started at 2; failing from 32: ticks 32, 42, 52 -> killed at 52. Updated for
    # issue 14: the first restart is at once (the kubelet's back-off starts at the
    # second exit), so it runs again at 52, not 62.
    assert starts.times[:2] == [2.0, 52.0]
    killing = _events(sim, "Killing")
    assert killing and "failed liveness probe, will be restarted" in killing[0].message


def test_slow_app_with_short_liveness_delay_never_starts(sim):
    starts = ContainerStarts(sim, "p")
    sim.apply(pod("p", annotations={"sim.labsupport.io/start-seconds": "60"}, containers=[
        {"name": "app", "image": "nginx:1.27",
         "livenessProbe": {"httpGet": {"port": 80}, "periodSeconds": 5, "failureThreshold": 3}}]))
    sim.advance(200)
    assert len(starts.times) >= 3  # killed every time before it came up
    cs = sim.get("pod/p")["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["restartCount"] == len(starts.times) - 1


def test_startup_probe_protects_a_slow_app(sim):
    sim.apply(pod("p", annotations={"sim.labsupport.io/start-seconds": "60"}, containers=[
        {"name": "app", "image": "nginx:1.27",
         "startupProbe": {"httpGet": {"port": 80}, "periodSeconds": 10, "failureThreshold": 30},
         "livenessProbe": {"httpGet": {"port": 80}, "periodSeconds": 5, "failureThreshold": 3}}]))
    sim.advance(120)
    p = sim.pods()[0]
    assert p.ready and p.restarts == 0


def test_graceful_termination_waits_for_the_grace_period(sim):
    sim.apply(pod("stubborn", annotations={"sim.labsupport.io/ignore-sigterm": "true"},
                  terminationGracePeriodSeconds=20))
    sim.apply(pod("polite"))
    sim.advance(10)
    sim.delete("pod/stubborn")
    sim.delete("pod/polite")
    assert sim.pods()[0].status == "Terminating"
    sim.advance(5)
    names = [p.name for p in sim.pods()]
    assert names == ["stubborn"]
    sim.advance(16)
    assert sim.pods() == []


def test_empty_dir_data_goes_with_the_pod_and_pvc_data_survives(sim):
    sim.apply([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        pod("writer", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                               {"name": "scratch", "emptyDir": {}}]),
    ])
    sim.advance(10)
    assert sim.get("pvc/data")["status"]["phase"] == "Bound"
    sim.files("writer", "data")["notes.txt"] = "kept"
    sim.files("writer", "scratch")["tmp.txt"] = "lost"
    sim.delete("pod/writer")
    sim.advance(40)
    sim.apply(pod("reader", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                                     {"name": "scratch", "emptyDir": {}}]))
    sim.advance(10)
    assert sim.files("reader", "data") == {"notes.txt": "kept"}
    assert sim.files("reader", "scratch") == {}


def test_pod_waits_for_its_claim(sim):
    # The scheduler's VolumeBinding plugin keeps the pod off the nodes until its
    # claim exists (tests/sim/test_storage.py has the details).
    sim.apply(pod("p", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "later"}}]))
    sim.advance(10)
    assert sim.pods()[0].phase == "Pending" and sim.pods()[0].node is None
    assert 'persistentvolumeclaim "later" not found' in _events(sim, "FailedScheduling")[0].message
    sim.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "later"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    sim.advance(10)
    assert sim.get("pvc/later")["status"]["phase"] == "Bound"
    assert sim.pods()[0].phase == "Running"


def test_bad_behaviour_annotation_is_a_clear_error(sim):
    from labsupport.errors import InvalidManifest
    from labsupport.sim.workloads import behaviour

    with pytest.raises(InvalidManifest) as err:
        behaviour({"metadata": {"annotations": {"sim.labsupport.io/start-seconds": "soon"}}},
                  {"name": "app"})
    assert "sim.labsupport.io/start-seconds" in str(err.value) and "soon" in str(err.value)
