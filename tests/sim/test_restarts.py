"""Container restarts as the kubelet does them: back-off, OOM kills, a new image."""

from __future__ import annotations

from simhelpers import ContainerStarts, pod


def test_restart_delays_follow_the_kubelet_back_off_exactly(sim):
    starts = ContainerStarts(sim, "crash")
    sim.apply(pod("crash", annotations={"sim.labsupport.io/exit-after": "5"}))
    sim.advance(1500)
    # Each run lasts 5 s; the first restart is at once, then 10 s, doubling to 300 s.
    gaps = [round(b - a, 3) - 5 for a, b in zip(starts.times, starts.times[1:], strict=False)]
    assert gaps[:8] == [0, 10, 20, 40, 80, 160, 300, 300]
    waiting = sim.get("pod/crash")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"].startswith(
        "back-off 5m0s restarting failed container=app pod=crash_default(")


def test_back_off_starts_over_after_ten_minutes_of_running(sim):
    starts = ContainerStarts(sim, "p")
    sim.apply(pod("p", annotations={"sim.labsupport.io/exit-after": "601"}))
    sim.advance(2000)
    gaps = [round(b - a, 3) for a, b in zip(starts.times, starts.times[1:], strict=False)]
    assert gaps[:3] == [601, 601, 601]  # each exit comes > 10 min after the last restart


def test_memory_over_the_limit_is_oomkilled_with_137(sim):
    sim.apply(pod("hog", annotations={"sim.labsupport.io/memory-baseline": "300Mi"},
                  containers=[{"name": "app", "image": "nginx:1.27",
                               "resources": {"limits": {"memory": "256Mi"}}}]))
    sim.advance(30)
    cs = sim.get("pod/hog")["status"]["containerStatuses"][0]
    last = cs["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    assert cs["restartCount"] >= 2
    assert sim.pods()[0].status in ("CrashLoopBackOff", "OOMKilled", "Running")


def test_liveness_failure_is_exit_137_reason_error(sim):
    sim.apply(pod("p", annotations={"sim.labsupport.io/fail-liveness-after": "5"}, containers=[
        {"name": "app", "image": "nginx:1.27",
         "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5}}]))
    sim.advance(60)
    last = sim.get("pod/p")["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("Error", 137)


def test_new_image_restarts_the_container_with_it(sim):
    starts = ContainerStarts(sim, "p")
    sim.apply(pod("p"))
    sim.advance(10)
    p = sim.get("pod/p")
    p["spec"]["containers"][0]["image"] = "nginx:1.28"
    sim.apply(p)
    sim.advance(10)
    killing = [e for e in sim.events() if e.reason == "Killing"]
    assert killing[0].message == "Container app definition changed, will be restarted"
    cs = sim.get("pod/p")["status"]["containerStatuses"][0]
    assert cs["image"] == "nginx:1.28" and "running" in cs["state"]
    assert cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Completed"
    assert len(starts.times) == 2
    pulls = [e.message for e in sim.events() if e.reason == "Pulling"]
    assert pulls[-1] == 'Pulling image "nginx:1.28"'


def test_new_image_ends_a_crash_loop_at_once(sim):
    # busybox's default command is a shell that exits at once without a terminal;
    # with restartPolicy Always that is a crash loop. The image is the one field of a
    # container an update may change (the command may not: see test_updates.py).
    sim.apply(pod("p", containers=[{"name": "app", "image": "busybox:1.36"}]))
    sim.advance(100)
    assert sim.pods()[0].status == "CrashLoopBackOff"
    p = sim.get("pod/p")
    p["spec"]["containers"][0]["image"] = "nginx:1.27"
    sim.apply(p)
    sim.advance(5)
    assert sim.pods()[0].status == "Running"
