r"""The pod worker: how the kubelet runs one pod (upstream: pkg/kubelet/pod_workers.go).

It pulls images (:mod:`labsupport.sim.imagemanager`), waits for volumes
(:mod:`labsupport.sim.volumemanager`), runs the init containers one after
another to completion, starts the app containers, runs their probes,
restarts crashed containers with the CrashLoopBackOff schedule, and reports
everything in the pod's ``status``. Stopping a deleted pod is in
:mod:`labsupport.sim.podtermination`; the node agent that owns the workers
is :class:`labsupport.sim.kubelet.Kubelet`.

Example:
    An init container runs to completion before the app container starts:

    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
    ...     "initContainers": [{"name": "setup", "image": "busybox:1.36",
    ...                         "command": ["sh", "-c", "echo ready"]}],
    ...     "containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(10)
    >>> st = c.get("pod/p")["status"]
    >>> st["initContainerStatuses"][0]["state"]["terminated"]["reason"]
    'Completed'
    >>> list(st["containerStatuses"][0]["state"]), c.logs("p", container="setup")
    (['running'], 'ready\n')
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from labsupport.kinds import type_for_kind
from labsupport.quantity import memory_bytes
from labsupport.sim import registry
from labsupport.sim.admission.resourcequota import qos_class
from labsupport.sim.backoff import (  # noqa: F401 - re-exported names
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    BACKOFF_RESET_AFTER,
    RestartBackOff,
)
from labsupport.sim.clock import stamp
from labsupport.sim.clusterdns import ready as name_ready
from labsupport.sim.configrefs import (
    NO_ENV,
    ConfigError,
    environment,
    lookup_in,
)
from labsupport.sim.imagemanager import POD_SYNC_AFTER_ERROR, ImageManager
from labsupport.sim.listening import listens
from labsupport.sim.podstatus import ContainerState, pod_condition
from labsupport.sim.podtermination import SIGTERM_EXIT_SECONDS, PodTermination
from labsupport.sim.probes import Probe
from labsupport.sim.volumemanager import VolumeManager
from labsupport.sim.workloads import Behaviour, behaviour

if TYPE_CHECKING:
    from labsupport.sim.kubelet import Kubelet

__all__ = ["PodWorker"]

_POD_TYPE = type_for_kind("Pod")

COMPONENT = "kubelet"
INF = math.inf
# The pod conditions the kubelet reports, in its order, and the reason of each when False.
_CONDITION_TYPES = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                    "PodScheduled")
_CONDITION_REASONS = (None, "ContainersNotInitialized", "ContainersNotReady",
                      "ContainersNotReady", None)


class _Stop(Exception):
    pass


class PodWorker(ImageManager, VolumeManager, PodTermination):
    """Runs one pod on one node."""

    #: Native sidecars by name: (started, its process) (see _start_sidecar).
    #: Empty and shared until a pod has one: most pods have none.
    _sidecars: dict[str, tuple[simpy.Event, simpy.Process]] = {}  # noqa: RUF012
    #: Whether the app containers are done and the sidecars are being stopped.
    _finishing = False

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
        # A pod being deleted stays Ready while its containers run and pass their
        # readiness probes (prober_manager.go UpdatePodStatus: ready while running;
        # readiness probes keep running during termination): its endpoint is then
        # ready=false, serving=true, terminating=true.
        ready = bool(self.apps)
        if ready:
            for c in self.apps:
                if not c.ready:
                    ready = False
                    break
        if ready and self._sidecars:
            # A sidecar's readiness counts too (its readiness probe, or running).
            ready = all(c.ready for c in self.inits if c.name in self._sidecars)
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
        status = self.status()
        # status_manager mergePodStatus: conditions the kubelet does not own (such as
        # DisruptionTarget, written by the scheduler or the Eviction API) are kept.
        foreign = [c for c in (current.get("status") or {}).get("conditions") or ()
                   if c.get("type") not in _CONDITION_TYPES]
        if foreign:
            status["conditions"] = status["conditions"] + foreign
        self.pod = self.sim.api.update_status(current, status, COMPONENT, key=self.key)

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
            yield from self._wait_volume_plugins()
            yield from self._mount_config_volumes()
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

    def _sleep(self, seconds: float):
        return self.env.timeout(max(0.0, seconds))

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
        # The kubelet keeps the logs of this instance and the one before it.
        c.previous_run, c.run = c.run, (c.spec, c.image, now, c.env)
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
        """CrashLoopBackOff for ``delay`` seconds, then count the restart.

        The texts are ``doBackOff``'s (pkg/kubelet/kuberuntime/kuberuntime_manager.go);
        the window prints as a Go duration (``back-off 2m40s ...``). A new
        spec (a new image) ends the wait at once: its back-off key is new.
        """
        msg = (
            f"back-off {registry.go_duration(delay)} restarting failed container={c.name} "
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
        c.wake = self.env.event()
        yield self._sleep(delay) | c.wake
        c.wake = None
        c.restart_count += 1

    def _restart(self, c: ContainerState):
        """Wait as the container's back-off entry says, then count the restart.

        The first exit restarts at once; later ones wait 10 s, 20 s ... 300 s
        after the exit (see :mod:`labsupport.sim.backoff`).
        """
        finished = self.env.now
        if c.backoff is None:
            c.backoff = RestartBackOff()
        # A container stopped for a new spec has a new back-off key: no wait.
        delay = 0.0 if c.changed else c.backoff.delay(finished)
        if delay > 0:
            yield from self._backoff(c, delay, c.init)
        else:
            c.restart_count += 1
        if c.backoff is None:  # the spec changed while it waited
            c.backoff = RestartBackOff()
        c.backoff.restarted(self.env.now, finished)

    def _configure(self, c: ContainerState):
        """Resolve the container's environment; until it resolves, CreateContainerConfigError.

        The kubelet builds the environment when it creates the container
        (``makeEnvironmentVariables``); a missing ConfigMap, Secret or key
        fails ``startContainer`` with a ``Failed`` event ``Error: <message>``
        and the waiting reason CreateContainerConfigError. The pod worker
        syncs the pod again :data:`POD_SYNC_AFTER_ERROR` later, pulls (the
        image is present by then) and tries again.
        """
        if not c.spec.get("env") and not c.spec.get("envFrom"):
            c.env = NO_ENV
            return
        lookup = lookup_in(self.sim.store)
        while True:
            try:
                node = self.sim.store.peek(f"/registry/nodes/{self.kubelet.node}") or {}
                c.env = environment(lookup, self.pod, c.spec, self.ip, self.kubelet.host_ip,
                                    (node.get("status") or {}).get("allocatable"))
                return
            except ConfigError as err:
                message = str(err)
            self.event("Warning", "Failed", f"Error: {message}", c)
            state = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
            if c.state != state:
                c.state = state
                self.sync()
            yield self._sleep(POD_SYNC_AFTER_ERROR)
            yield from self._pull(c, behaviour(self.pod, c.spec))

    def _watch_memory(self, c: ContainerState, b: Behaviour, up_at: float) -> None:
        """An app whose memory at rest is over its limit is OOMKilled once it is up.

        The kernel kills it (exit code 137, reason OOMKilled); memory that
        grows with requests in flight is the data plane's to watch.
        """
        limit = ((c.spec.get("resources") or {}).get("limits") or {}).get("memory")
        if not limit or b.memory_baseline <= memory_bytes(limit):
            return
        crash = c.crash

        def kill():
            yield self._sleep(up_at - self.env.now)
            if crash is c.crash and crash is not None and not crash.triggered:
                crash.succeed((137, "OOMKilled"))

        self.env.process(kill())

    def update_spec(self, pod: dict) -> None:
        """React to a new pod spec: a container with a new image is restarted with it.

        The image is the one container field a pod update may change. The
        kubelet sees the container's hash change (``computePodActions``),
        kills it with the event ``Container NAME definition changed, will be
        restarted`` and starts it again at once, whatever the restart policy.
        """
        self.spec = pod["spec"]
        specs = {s.get("name"): s for s in self.spec.get("containers") or ()}
        for c in self.apps:
            new = specs.get(c.name)
            if new is None or new.get("image") == c.image:
                continue
            # A container waiting for its image follows the new one in _pull.
            running = c.crash is not None and not c.crash.triggered and "running" in c.state
            backing_off = c.wake is not None and not c.wake.triggered
            if not (running or backing_off):
                continue
            c.spec, c.image, c.backoff, c.changed = new, new.get("image", ""), None, True
            if running:
                self.event("Normal", "Killing",
                           f"Container {c.name} definition changed, will be restarted", c)
                self.env.process(self._stop_for_change(c, c.crash))
            else:
                c.wake.succeed()

    def _stop_for_change(self, c: ContainerState, crash: simpy.Event):
        """Stop the container gracefully (SIGTERM, then SIGKILL at the grace period)."""
        b = behaviour(self.pod, c.run[0] if c.run else c.spec)
        grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
        c.ready = False
        self._update_ready()
        self.sync()
        yield self._sleep(grace if b.ignore_sigterm else min(grace, SIGTERM_EXIT_SECONDS))
        if not crash.triggered:
            crash.succeed((137, "Error") if b.ignore_sigterm and grace > 0 else (0, "Completed"))

    def _run_init(self, c: ContainerState):
        if c.spec.get("restartPolicy") == "Always":  # a native sidecar
            return (yield from self._start_sidecar(c))
        b = behaviour(self.pod, c.spec, init=True)
        while True:
            yield from self._pull(c, b)
            yield from self._configure(c)  # env from ConfigMaps and Secrets, as app containers
            started = self._start(c)
            self.sync()
            code = yield from self._run_to_exit(b, started)
            c.state = self._terminated(c, code, started)
            if code == 0:
                self.sync()
                return True
            c.last_state = c.state
            if self.spec.get("restartPolicy") == "Never":
                return False
            # The same back-off entry as an app container's: at once, then 10 s ... 300 s.
            yield from self._restart(c)

    def _run_app(self, c: ContainerState):
        b = behaviour(self.pod, c.spec)
        startup = Probe.from_container(c.spec, "startupProbe")
        liveness = Probe.from_container(c.spec, "livenessProbe")
        readiness = Probe.from_container(c.spec, "readinessProbe")
        first = True
        try:
            while True:
                if c.changed:  # a new image: its behaviour and probes, and a pull
                    c.changed, first = False, True
                    b = behaviour(self.pod, c.spec)
                    startup = Probe.from_container(c.spec, "startupProbe")
                    liveness = Probe.from_container(c.spec, "livenessProbe")
                    readiness = Probe.from_container(c.spec, "readinessProbe")
                if first or c.spec.get("imagePullPolicy") == "Always":
                    yield from self._pull(c, b)
                first = False
                yield from self._configure(c)
                started = self._start(c)
                c.crash = crash = self.env.event()  # traffic may crash the app from now on
                up_at = started + b.start_seconds
                self._watch_memory(c, b, up_at)
                # Startup probe: succeeds at its first healthy tick, unless
                # failureThreshold failing ticks come first.
                started_at, killed_at, kill_why = started, INF, ""
                if startup is not None:
                    up_s = self._probed_up_at(startup, c, up_at)  # INF: a closed port
                    ok_at = startup.first_success(started, up_s)
                    fail_at = startup.failure_at(started, started)
                    if startup.tick_at_or_after(started, up_s) <= fail_at:
                        started_at = ok_at
                    else:
                        started_at, killed_at, kill_why = INF, fail_at, "startup"
                c.started = startup is None
                if c.started:
                    self._sidecar_started(c)
                # Liveness: fails while the app is not up yet, and after fail_liveness_after.
                if liveness is not None and started_at < INF:
                    first_tick = liveness.tick_at_or_after(started, started_at)
                    streak_end = first_tick + (liveness.failure_threshold - 1) * liveness.period
                    if self._probed_up_at(liveness, c, up_at) > streak_end:
                        killed_at, kill_why = streak_end, "liveness"
                    elif b.fail_liveness_after is not None:
                        killed_at = liveness.failure_at(
                            started, started + b.fail_liveness_after, after=started_at
                        )
                        kill_why = "liveness"
                exit_at = started + b.exit_after if b.exit_after is not None else INF
                if b.waits_for:  # a retry loop: it exits once what it waits for is ready
                    exit_at = INF
                    self.env.process(self._exit_when_ready(b, started, crash))
                if readiness is None:
                    ready_at = started_at
                elif b.never_ready or self._probed_up_at(readiness, c, up_at) == INF:
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
                    self._sidecar_started(c)
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
                elif readiness is not None and not crash.triggered and (
                        b.never_ready or self._probed_up_at(readiness, c, up_at) == INF):
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
                # A sidecar is restarted whatever the pod's restartPolicy.
                policy = "Always" if c.init else self.spec.get("restartPolicy", "Always")
                # A changed spec restarts the container whatever the policy.
                if not c.changed and (policy == "Never" or (policy == "OnFailure" and code == 0)):
                    self._finish_if_done()
                    self.sync()
                    return
                yield from self._restart(c)
        except (_Stop, simpy.Interrupt):
            return

    def _probed_up_at(self, probe: Probe, c: ContainerState, up_at: float) -> float:
        """When ``probe`` can first pass: ``up_at``, or never (INF) on a port nobody opens.

        The kubelet's HTTP and TCP probers dial the pod's IP at the port
        (pkg/probe/http/http.go, pkg/probe/tcp/tcp.go); a closed port refuses
        the connection. Which ports the app opens: :mod:`labsupport.sim.listening`.
        """
        if probe.handler in ("httpGet", "tcpSocket", "grpc") and isinstance(probe.port, int) \
                and not listens(self.pod, c.spec, probe.port):
            return INF
        return up_at

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
            phase = "Succeeded" if all(s["exitCode"] == 0 for s in states) else "Failed"
            if self._sidecars:
                # The app containers are done: the kubelet stops the sidecars, and
                # the pod keeps its phase until they have stopped (their exit codes
                # do not count). Docs: concepts/workloads/pods/sidecar-containers.
                if not self._finishing:
                    self._finishing = True
                    self.env.process(self._stop_sidecars(
                        float(self.spec.get("terminationGracePeriodSeconds", 30)), phase))
            else:
                self.phase = phase

    # --- retry loops and native sidecars ----------------------------------------
    def _names_ready(self, b: Behaviour) -> bool:
        """Whether every name a retry loop waits for resolves (or answers)."""
        return all(name_ready(self.sim.store, n, self.namespace, b.wait_check)
                   for n in b.waits_for)

    def _wait_until_ready(self, b: Behaviour, started: float, crash: simpy.Event | None = None):
        """Retry at the loop's own interval until its names are ready.

        Returns:
            False once they are ready, True when the loop gave up, None when
            the container stopped meanwhile.
        """
        while not self._names_ready(b):
            if crash is not None and crash.triggered or self.done or self.stopping:
                return None
            if b.give_up_after is not None \
                    and self.env.now + b.retry_seconds > started + b.give_up_after:
                yield self._sleep(started + b.give_up_after - self.env.now)
                return True
            yield self._sleep(b.retry_seconds)
        return False

    def _run_to_exit(self, b: Behaviour, started: float):
        """Wait (as a retry loop may) and run until the container exits; its exit code."""
        if b.waits_for:
            gave_up = yield from self._wait_until_ready(b, started)
            if gave_up:
                return b.give_up_code
        yield self._sleep(b.exit_after if b.exit_after is not None else INF)
        return b.exit_code

    def _exit_when_ready(self, b: Behaviour, started: float, crash: simpy.Event):
        """An app container's retry loop: it ends the container as the loop would."""
        gave_up = yield from self._wait_until_ready(b, started, crash)
        if gave_up is None:
            return
        code = b.give_up_code if gave_up else b.exit_code
        if not gave_up:
            if b.exit_after is None:
                return  # it goes on to serve
            yield self._sleep(b.exit_after)
        if not crash.triggered and not self.done:
            crash.succeed((code, "Completed" if code == 0 else "Error"))
