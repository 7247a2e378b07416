"""How a pod worker stops a pod: native sidecars last, preStop, SIGTERM, SIGKILL.

When a pod is deleted the kubelet kills its containers as ``killContainer``
does (pkg/kubelet/kuberuntime/kuberuntime_container.go): a ``Killing``
event, the preStop hook, SIGTERM, and SIGKILL at the end of the grace period
(:func:`labsupport.sim.stopping.stop_plan`); native sidecars stop after the
app containers. Mixed into :class:`labsupport.sim.podworker.PodWorker`.
"""

from __future__ import annotations

from typing import Any

from labsupport.kinds import type_for_kind
from labsupport.sim.clock import stamp
from labsupport.sim.podstatus import ContainerState
from labsupport.sim.stopping import stop_plan
from labsupport.sim.workloads import behaviour

__all__ = ["PodTermination", "SIGTERM_EXIT_SECONDS"]

_POD_TYPE = type_for_kind("Pod")
COMPONENT = "kubelet"
# How long a simulated app takes to stop after SIGTERM (unless it ignores it).
SIGTERM_EXIT_SECONDS = 0.5


class PodTermination:
    """Starting and stopping native sidecars, and stopping the whole pod (a mixin)."""

    pod: dict
    sim: Any
    env: Any
    kubelet: Any

    def _start_sidecar(self, c: ContainerState):
        """Start a native sidecar (an init container with ``restartPolicy: Always``).

        It runs like an app container, restarted whatever the pod's
        restartPolicy; the next init container starts once it has started
        (its startup probe, if any, passed). Docs: concepts/workloads/pods/
        sidecar-containers; kubelet: pkg/kubelet/kuberuntime/
        kuberuntime_container.go (computeInitContainerActions).
        """
        started = self.env.event()
        if not self._sidecars:
            self._sidecars = {}  # this pod's own (the class's empty one is shared)
        self._sidecars[c.name] = (started, self.env.process(self._run_app(c)))
        self.procs.append(self._sidecars[c.name][1])
        yield started
        return True

    def _sidecar_started(self, c: ContainerState) -> None:
        entry = self._sidecars.get(c.name) if c.init else None
        if entry is not None and not entry[0].triggered:
            entry[0].succeed()

    def _stop_sidecars(self, grace: float, phase: str | None = None):
        """Stop the running sidecars, after the app containers (in reverse order).

        ``phase`` is the pod's phase once they have stopped (None: leave it).
        """
        running = [c for c in reversed(self.inits) if c.name in self._sidecars]
        for c in running:
            proc = self._sidecars[c.name][1]
            if proc.is_alive:
                proc.interrupt()
        running = [c for c in running if "running" in c.state]
        if not running:
            if phase is not None:
                self.phase = phase
                self.sync()
            return
        slowest = 0.0
        for c in running:
            self.event("Normal", "Killing", f"Stopping container {c.name}", c)
            b = behaviour(self.pod, c.spec, init=True)
            slowest = max(slowest, grace if b.ignore_sigterm else min(grace, SIGTERM_EXIT_SECONDS))
        yield self._sleep(slowest)
        for c in running:
            b = behaviour(self.pod, c.spec, init=True)
            killed = b.ignore_sigterm and grace > 0
            c.ready = c.started = False
            c.state = self._terminated(c, 137 if killed else 0, c.started_at or self.env.now,
                                       "Error" if killed else "Completed")
        if phase is not None:
            self.phase = phase
        self.sync()

    # --- stopping -------------------------------------------------------------
    def terminate(self, grace: float) -> None:
        """Stop the pod gracefully (it was deleted), then remove it."""
        if self.stopping:
            return
        self.stopping = True
        self.env.process(self._terminate(grace))

    def _terminate(self, grace: float):
        """Stop the app containers as ``killContainer`` does, then the pod is deleted.

        Each running container gets a ``Killing`` event, runs its preStop
        hook, then gets SIGTERM and, at the deadline, SIGKILL
        (:func:`labsupport.sim.stopping.stop_plan`). Once all have stopped the
        pod is terminal (Succeeded when every container exited with 0, else
        Failed: ``getPhase`` with ``podIsTerminal``) and the kubelet deletes
        it with a grace period of 0; finalizers may still keep it.
        """
        for p in self.procs + [self.main]:
            if p.is_alive:
                p.interrupt()
        running = [c for c in self.apps if "running" in c.state]
        begin = self.env.now
        plans = {c.name: stop_plan(self.pod, c.spec, grace) for c in running}
        for c in running:
            self.event("Normal", "Killing", f"Stopping container {c.name}", c)
        for c in self.apps:
            if c not in running:
                c.ready = False
        self.sync()
        # The steps of every container, in time order (the kubelet stops them in parallel).
        steps = sorted(
            [(plan.hook_failed_at, 0, c) for c in running
             if (plan := plans[c.name]).hook_failed_at is not None]
            + [(plans[c.name].exit_at, 1, c) for c in running],
            key=lambda step: (step[0], step[1]))
        for at, kind, c in steps:
            yield self._sleep(begin + at - self.env.now)
            while not self.kubelet.alive:
                yield self.kubelet.revived
            if kind == 0:
                self.event("Warning", "FailedPreStopHook", "PreStopHook failed", c)
                continue
            plan = plans[c.name]
            started = c.state["running"].get("startedAt")
            c.state = {"terminated": {"exitCode": plan.exit_code, "reason": plan.reason,
                                      "startedAt": started, "finishedAt": stamp(self.env.now),
                                      "containerID": c.id}}
            c.ready = False  # UpdatePodStatus: a container that is not running is not ready
            self._update_ready()
            self.sync()
        if self._sidecars:  # sidecars stop after the app containers (1.29+)
            yield from self._stop_sidecars(max(0.0, grace - (self.env.now - begin)))
        states = [c.state.get("terminated") for c in self.apps]
        if all(states):
            self.phase = ("Succeeded" if all(s["exitCode"] == 0 for s in states) else "Failed")
        self.sync()
        self.done = True
        current = self.sim.store.peek(self.key)
        if current is not None and current["metadata"]["uid"] == self.uid:
            # The status manager deletes the pod for good (grace period 0, its uid as precondition).
            meta = current["metadata"]
            self.sim.api.delete(_POD_TYPE, meta.get("namespace"), meta["name"], grace=0,
                                component=COMPONENT)
        self.kubelet.forget(self)

    def kill(self) -> None:
        """Stop at once: the pod was removed from the API (force deletion)."""
        self.done = True
        for p in self.procs + [self.main]:
            if p.is_alive:
                p.interrupt()
        self.kubelet.forget(self)
