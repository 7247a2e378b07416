"""The kubelet: one per node, it runs the pods bound to its node.

For each pod it pulls images, runs the init containers one after another to
completion, starts the app containers, runs their probes, restarts crashed
containers with the CrashLoopBackOff schedule, and reports everything in the
pod's ``status``. When a pod is deleted it stops the containers gracefully
and then removes the pod. A failed node's kubelet goes silent: it keeps its
state but writes nothing until the node is restored.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> c.pods()[0]
    <Pod p Running ready on node-1>
    >>> [e.reason for e in c.events()]
    ['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from labsupport.sim.clock import stamp
from labsupport.sim.podstatus import ContainerState, pod_condition
from labsupport.sim.probes import Probe
from labsupport.sim.quota import qos_class
from labsupport.sim.workloads import Behaviour, behaviour

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["Kubelet", "PodWorker"]

# pkg/kubelet/kubelet.go: MaxContainerBackOff 300 s, initial 10 s, doubling;
# unchanged in 1.37 (the faster 1 s to 60 s curve of KEP-4603,
# ReduceDefaultCrashLoopBackOffDecay, is still alpha and off; the per-node
# maximum of KubeletCrashLoopBackOffMax is beta but only applies when the
# kubelet's configuration sets it, which kind's does not).
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
# A container that runs this long without crashing resets its back-off
# (kubelet: the back-off entry is cleared after 2 x MaxContainerBackOff).
BACKOFF_RESET_AFTER = 600.0
# How long a simulated app takes to stop after SIGTERM (unless it ignores it).
SIGTERM_EXIT_SECONDS = 0.5
COMPONENT = "kubelet"
INF = math.inf
# The pod conditions the kubelet reports, in its order, and the reason of each when False.
_CONDITION_TYPES = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                    "PodScheduled")
_CONDITION_REASONS = (None, "ContainersNotInitialized", "ContainersNotReady",
                      "ContainersNotReady", None)


class _Stop(Exception):
    pass


class PodWorker:
    """Runs one pod on one node."""

    def __init__(self, kubelet: Kubelet, pod: dict, key: str | None = None) -> None:
        self.kubelet = kubelet
        self.sim = kubelet.sim
        self.env = kubelet.env
        self.key = key or kubelet.sim.api.key_of(pod)
        meta = pod["metadata"]
        self.name, self.namespace, self.uid = (
            meta["name"],
            meta.get("namespace", "default"),
            meta["uid"],
        )
        self.spec = pod["spec"]
        self.pod = pod
        self.ip = kubelet.allocate_ip()
        self.qos = pod["status"].get("qosClass") or qos_class(self.spec)
        self._cond_state: tuple | None = None
        self._cond_cache: list[dict] = []
        self.start_time = stamp(self.env.now)
        self.inits = [ContainerState(c, True) for c in self.spec.get("initContainers") or ()]
        self.apps = [ContainerState(c, False) for c in self.spec.get("containers") or ()]
        for c in self.apps:
            c.state = {"waiting": {"reason": "ContainerCreating"}} if not self.inits else c.state
        self.initialized = not self.inits
        self.phase = "Pending"
        self.ready_since: float | None = None
        self.stopping = False
        self.procs: list[simpy.Process] = []
        self.done = False
        self.main = self.env.process(self._run())

    # --- status ---------------------------------------------------------------
    def _conditions(self) -> list[dict]:
        ready = bool(self.apps) and not self.stopping
        if ready:
            for c in self.apps:
                if not c.ready:
                    ready = False
                    break
        generation = self.pod["metadata"].get("generation")
        state = (self.initialized, ready, generation)
        if state == self._cond_state:
            return self._cond_cache
        now = stamp(self.env.now)
        old = {c["type"]: c for c in (self.pod.get("status") or {}).get("conditions") or ()}
        new = []
        # The pod sandbox is always up here; the pod is bound (PodScheduled).
        for type_, ok, reason in zip(_CONDITION_TYPES, (True, self.initialized, ready, ready, True),
                                     _CONDITION_REASONS, strict=True):
            status = "True" if ok else "False"
            prev = old.get(type_)
            # an unchanged condition keeps its transition time
            since = (prev.get("lastTransitionTime", now)
                     if prev is not None and prev.get("status") == status else now)
            new.append(pod_condition(type_, status, None if ok else reason, since, generation))
        self._cond_state, self._cond_cache = state, new
        return new

    def status(self) -> dict:
        """The pod status the kubelet reports now."""
        st = {
            # The generation of the spec this status reflects (KEP-5067, GA in
            # 1.35): the kubelet is the one writer of it once the pod is bound.
            "observedGeneration": self.pod["metadata"].get("generation", 1),
            "phase": self.phase,
            "conditions": self._conditions(),
            "hostIP": self.kubelet.host_ip,
            "hostIPs": self.kubelet.host_ips,
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.start_time,
            "qosClass": self.qos,
            "containerStatuses": [c.status() for c in self.apps],
        }
        if self.inits:
            st["initContainerStatuses"] = [c.status() for c in self.inits]
        return st

    def sync(self) -> None:
        """Write the current status to the API server (not while the node is silent)."""
        if not self.kubelet.alive or self.done:
            return
        current = self.sim.store.peek(self.key)
        if current is None or current["metadata"]["uid"] != self.uid:
            return
        self.pod = self.sim.api.update_status(current, self.status(), COMPONENT, key=self.key)

    def event(self, type_: str, reason: str, message: str,
              container: ContainerState | None = None) -> None:
        """Record an event about the pod, or one of its containers.

        A silent node records nothing.
        """
        if self.kubelet.alive:
            self.sim.api.event(
                self.pod, type_, reason, message, COMPONENT, self.kubelet.node, key=self.key,
                field_path=container.field_path if container is not None else ""
            )

    # --- lifecycle ------------------------------------------------------------
    def _run(self):
        try:
            self.sync()
            yield from self._wait_volumes()
            for c in self.inits:
                ok = yield from self._run_init(c)
                if not ok:
                    self.phase = "Failed"
                    self.sync()
                    return
            self.initialized = True
            if not self.apps:
                self.phase = "Succeeded"
            if self.inits:
                for c in self.apps:
                    c.state = {"waiting": {"reason": "ContainerCreating"}}
                self.sync()
            # Containers run side by side; the last one runs in this process.
            for c in self.apps[:-1]:
                self.procs.append(self.env.process(self._run_app(c)))
            if self.apps:
                yield from self._run_app(self.apps[-1])
        except (_Stop, simpy.Interrupt):
            return

    def _wait_volumes(self):
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in self.spec.get("volumes") or ()
            if v.get("persistentVolumeClaim")
        ]
        warned = False
        while claims:
            pending = [n for n in claims if not self.sim._pvc_bound(self.namespace, n)]
            if not pending:
                return
            if not warned:
                self.event(
                    "Warning",
                    "FailedMount",
                    f"Unable to attach or mount volumes: unmounted volumes=[{pending[0]}]: "
                    "timed out waiting for the condition",
                )
                warned = True
            yield self._sleep(2.0)

    def _sleep(self, seconds: float):
        return self.env.timeout(max(0.0, seconds))

    def _pull(self, c: ContainerState, b: Behaviour):
        policy = c.spec.get("imagePullPolicy", "IfNotPresent")
        if c.image in self.kubelet.images and policy != "Always":
            self.event(
                "Normal", "Pulled", f'Container image "{c.image}" already present on machine'
                " and can be accessed by the pod", c
            )
            return
        self.event("Normal", "Pulling", f'Pulling image "{c.image}"', c)
        yield self._sleep(b.pull_seconds)
        self.kubelet.images.add(c.image)
        self.event(
            "Normal",
            "Pulled",
            f'Successfully pulled image "{c.image}" in '
            f"{b.pull_seconds:g}s ({b.pull_seconds:g}s including waiting)",
            c,
        )

    def _start(self, c: ContainerState) -> float:
        self.kubelet.container_seq += 1
        c.id = f"containerd://{self.kubelet.container_seq:064x}"[:77]
        # Since 1.35 the messages leave the container out: the event's
        # involvedObject.fieldPath (spec.containers{NAME}) names it, and kubectl
        # describe shows it there (kubernetes PRs 134043 and 133627).
        self.event("Normal", "Created", "Container created", c)
        self.event("Normal", "Started", "Container started", c)
        now = self.env.now
        c.state = {"running": {"startedAt": stamp(now)}}
        c.started_at = now
        if not c.init and self.phase == "Pending":
            self.phase = "Running"  # at least one app container runs
        return now

    def _terminated(
        self, c: ContainerState, code: int, started: float, reason: str | None = None
    ) -> dict:
        return {
            "terminated": {
                "exitCode": code,
                "reason": reason or ("Completed" if code == 0 else "Error"),
                "startedAt": stamp(started),
                "finishedAt": stamp(self.env.now),
                "containerID": c.id,
            }
        }

    def _backoff(self, c: ContainerState, delay: float, init: bool):
        msg = (
            f"back-off {delay:g}s restarting failed container={c.name} "
            f"pod={self.name}_{self.namespace}({self.uid})"
        )
        c.state = {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
        self.event(
            "Warning",
            "BackOff",
            f"Back-off restarting failed container {c.name} in pod "
            f"{self.name}_{self.namespace}({self.uid})",
            c,
        )
        self.sync()
        yield self._sleep(delay)
        c.restart_count += 1

    def _run_init(self, c: ContainerState):
        delay = 0.0
        b = behaviour(self.pod, c.spec, init=True)
        while True:
            yield from self._pull(c, b)
            started = self._start(c)
            self.sync()
            run = b.exit_after if b.exit_after is not None else INF
            yield self._sleep(run)
            code = b.exit_code
            c.state = self._terminated(c, code, started)
            if code == 0:
                self.sync()
                return True
            c.last_state = c.state
            if self.spec.get("restartPolicy") == "Never":
                return False
            delay = BACKOFF_INITIAL if delay == 0 else min(delay * 2, BACKOFF_MAX)
            yield from self._backoff(c, delay, True)

    def _run_app(self, c: ContainerState):
        b = behaviour(self.pod, c.spec)
        startup = Probe.from_container(c.spec, "startupProbe")
        liveness = Probe.from_container(c.spec, "livenessProbe")
        readiness = Probe.from_container(c.spec, "readinessProbe")
        delay = 0.0
        first = True
        try:
            while True:
                if first or c.spec.get("imagePullPolicy") == "Always":
                    yield from self._pull(c, b)
                first = False
                started = self._start(c)
                c.crash = crash = self.env.event()  # traffic may crash the app from now on
                up_at = started + b.start_seconds
                # Startup probe: succeeds at its first healthy tick, unless
                # failureThreshold failing ticks come first.
                started_at, killed_at, kill_why = started, INF, ""
                if startup is not None:
                    ok_at = startup.first_success(started, up_at)
                    fail_at = startup.failure_at(started, started)
                    if startup.tick_at_or_after(started, up_at) <= fail_at:
                        started_at = ok_at
                    else:
                        started_at, killed_at, kill_why = INF, fail_at, "startup"
                c.started = startup is None
                # Liveness: fails while the app is not up yet, and after fail_liveness_after.
                if liveness is not None and started_at < INF:
                    first_tick = liveness.tick_at_or_after(started, started_at)
                    streak_end = first_tick + (liveness.failure_threshold - 1) * liveness.period
                    if up_at > streak_end:
                        killed_at, kill_why = streak_end, "liveness"
                    elif b.fail_liveness_after is not None:
                        killed_at = liveness.failure_at(
                            started, started + b.fail_liveness_after, after=started_at
                        )
                        kill_why = "liveness"
                exit_at = started + b.exit_after if b.exit_after is not None else INF
                if readiness is None:
                    ready_at = started_at
                elif b.never_ready:
                    ready_at = INF
                else:
                    ready_at = readiness.first_success(started, up_at, after=started_at)
                self.sync()
                end = min(exit_at, killed_at)
                # Startup success and readiness come first, if before the end.
                if started_at < end and started_at > self.env.now:
                    yield self._sleep(started_at - self.env.now) | crash
                if started_at < end and not crash.triggered:
                    c.started = True
                    if startup is not None:
                        self.sync()
                if ready_at < end and not crash.triggered:
                    if readiness is not None and ready_at > started:
                        fails = int(
                            round(
                                (
                                    readiness.tick_at_or_after(started, up_at)
                                    - readiness.tick_at_or_after(started, started_at)
                                )
                                / readiness.period
                            )
                        )
                        for _ in range(fails):
                            self.event("Warning", "Unhealthy", readiness.failure_message(self.ip),
                                       c)
                    yield self._sleep(ready_at - self.env.now) | crash
                    if not crash.triggered:
                        c.ready = True
                        self._update_ready()
                        self.sync()
                elif readiness is not None and b.never_ready and not crash.triggered:
                    self.event("Warning", "Unhealthy", readiness.failure_message(self.ip), c)
                if b.fail_readiness_after is not None and readiness is not None and c.ready:
                    unready_at = readiness.failure_at(
                        started, started + b.fail_readiness_after, after=ready_at
                    )
                    if unready_at < end:
                        yield self._sleep(unready_at - self.env.now) | crash
                        if not crash.triggered:
                            for _ in range(readiness.failure_threshold):
                                self.event(
                                    "Warning", "Unhealthy", readiness.failure_message(self.ip), c
                                )
                            c.ready = False
                            self._update_ready()
                            self.sync()
                if not crash.triggered:  # runs until it ends, crashes, or the pod is deleted
                    yield crash if end == INF else self._sleep(end - self.env.now) | crash
                c.ready = False
                self._update_ready()
                if crash.triggered:
                    code, reason = crash.value
                    c.state = self._terminated(c, code, started, reason)
                elif exit_at <= killed_at:
                    code = b.exit_code
                    c.state = self._terminated(c, code, started)
                else:
                    probe = liveness if kill_why == "liveness" else startup
                    assert probe is not None
                    for _ in range(probe.failure_threshold):
                        self.event("Warning", "Unhealthy", probe.failure_message(self.ip), c)
                    what = "liveness" if kill_why == "liveness" else "startup"
                    self.event(
                        "Normal",
                        "Killing",
                        f"Container {c.name} failed {what} probe, will be restarted",
                        c,
                    )
                    code = 137
                    c.state = self._terminated(c, code, started, "Error")
                c.last_state = c.state
                c.started = False
                policy = self.spec.get("restartPolicy", "Always")
                if policy == "Never" or (policy == "OnFailure" and code == 0):
                    self._finish_if_done()
                    self.sync()
                    return
                ran = self.env.now - started
                if delay == 0 or ran >= BACKOFF_RESET_AFTER:
                    delay = BACKOFF_INITIAL
                else:
                    delay = min(delay * 2, BACKOFF_MAX)
                yield from self._backoff(c, delay, False)
        except (_Stop, simpy.Interrupt):
            return

    def crash(self, container: str, code: int = 1, reason: str = "Error") -> bool:
        """The running app of ``container`` dies now (a request crashed it, or OOM).

        Returns:
            Whether it was running and crashed; the kubelet restarts it as usual.
        """
        for c in self.apps:
            if c.name == container and c.crash is not None and not c.crash.triggered:
                c.crash.succeed((code, reason))
                return True
        return False

    def _update_ready(self) -> None:
        ready = all(c.ready for c in self.apps)
        if ready and self.ready_since is None:
            self.ready_since = self.env.now
        elif not ready:
            self.ready_since = None

    def _finish_if_done(self) -> None:
        states = [c.state.get("terminated") for c in self.apps]
        if all(states):
            self.phase = "Succeeded" if all(s["exitCode"] == 0 for s in states) else "Failed"

    # --- stopping -------------------------------------------------------------
    def terminate(self, grace: float) -> None:
        """Stop the pod gracefully (it was deleted), then remove it."""
        if self.stopping:
            return
        self.stopping = True
        self.env.process(self._terminate(grace))

    def _terminate(self, grace: float):
        for p in self.procs + [self.main]:
            if p.is_alive:
                p.interrupt()
        running = [c for c in self.apps if "running" in c.state]
        slowest = 0.0
        for c in running:
            self.event("Normal", "Killing", f"Stopping container {c.name}", c)
            b = behaviour(self.pod, c.spec)
            slowest = max(slowest, grace if b.ignore_sigterm else min(grace, SIGTERM_EXIT_SECONDS))
        for c in self.apps:
            c.ready = False
        self.sync()
        yield self._sleep(slowest)
        while not self.kubelet.alive:
            yield self.kubelet.revived
        for c in running:
            b = behaviour(self.pod, c.spec)
            killed = b.ignore_sigterm and grace > 0
            started = c.state["running"].get("startedAt")
            c.state = {
                "terminated": {
                    "exitCode": 137 if killed else 0,
                    "reason": "Error" if killed else "Completed",
                    "startedAt": started,
                    "finishedAt": stamp(self.env.now),
                    "containerID": c.id,
                }
            }
        self.done = True
        current = self.sim.store.peek(self.key)
        if current is not None and current["metadata"]["uid"] == self.uid:
            self.sim.api.remove(current, COMPONENT)
        self.kubelet.forget(self)

    def kill(self) -> None:
        """Stop at once: the pod was removed from the API (force deletion)."""
        self.done = True
        for p in self.procs + [self.main]:
            if p.is_alive:
                p.interrupt()
        self.kubelet.forget(self)


class Kubelet:
    """The node agent of one simulated node."""

    def __init__(self, sim: SimCluster, node: str, index: int) -> None:
        self.sim = sim
        self.env = sim.env
        self.node = node
        self.index = index
        self.host_ip = f"172.18.0.{index + 2}"
        self.host_ips = [{"ip": self.host_ip}]  # shared by its pods' statuses (read-only)
        self.alive = True
        self.revived = self.env.event()
        self.images: set[str] = set()
        self.workers: dict[str, PodWorker] = {}
        self.container_seq = index * 1_000_000
        self._next_ip = 1
        self._deferred: list[str] = []

    def allocate_ip(self) -> str:
        """The next pod IP of this node's pod CIDR (10.244.<index>.0/24, then beyond)."""
        self._next_ip += 1
        n = self._next_ip
        return (
            f"10.{244 + n // 65536}.{(self.index + n // 256 * 16) % 256}.{n % 256}"
            if n >= 255
            else f"10.244.{self.index}.{n}"
        )

    def handle(self, pod: dict, deleted: bool, key: str | None = None) -> None:
        """React to a change of a pod bound to this node (``key``: its etcd key, if known)."""
        if key is None:
            key = self.sim.api.key_of(pod)
        worker = self.workers.get(key)
        if deleted:
            if worker is not None and worker.uid == pod["metadata"]["uid"]:
                worker.kill()
            return
        if not self.alive:
            if key not in self._deferred:
                self._deferred.append(key)
            return
        if worker is None:
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                if pod["metadata"].get("deletionTimestamp"):
                    self.sim.api.remove(pod, COMPONENT)
                return
            if pod["metadata"].get("deletionTimestamp"):
                self.sim.api.remove(pod, COMPONENT)
                return
            self.workers[key] = PodWorker(self, pod, key)
            return
        worker.pod = pod
        if (pod["metadata"].get("generation") != pod["status"].get("observedGeneration")
                and not pod["metadata"].get("deletionTimestamp")):
            # A new generation of the spec: the pod sync loop reports it has seen
            # it (KEP-5067), even before it acts on the change.
            worker.sync()
        if pod["metadata"].get("deletionTimestamp") and not worker.stopping:
            if worker.phase in ("Succeeded", "Failed"):
                worker.done = True
                self.sim.api.remove(pod, COMPONENT)
                self.forget(worker)
            else:
                worker.terminate(float(pod["metadata"].get("deletionGracePeriodSeconds", 30)))

    def forget(self, worker: PodWorker) -> None:
        """Stop tracking a worker whose pod is gone."""
        if self.workers.get(worker.key) is worker:
            del self.workers[worker.key]

    def fail(self) -> None:
        """Go silent: no status, no events, no lease renewals."""
        self.alive = False

    def restore(self) -> None:
        """Come back: report the current state of every pod, handle what was missed."""
        self.alive = True
        revived, self.revived = self.revived, self.env.event()
        revived.succeed()
        for worker in list(self.workers.values()):
            worker.sync()
        deferred, self._deferred = self._deferred, []
        for key in deferred:
            pod = self.sim.store.peek(key)
            if pod is not None:
                self.handle(pod, False, key)
        for key in list(self.workers):
            pod = self.sim.store.peek(key)
            if pod is not None and pod["metadata"].get("deletionTimestamp"):
                self.handle(pod, False, key)
