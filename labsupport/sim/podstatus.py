"""What the kubelet reports about pods: container statuses and pod conditions.

Example:
    >>> from labsupport.sim.podstatus import ContainerState, pod_condition
    >>> c = ContainerState({"name": "web", "image": "nginx:1.27"}, init=False)
    >>> c.status()["state"]
    {'waiting': {'reason': 'PodInitializing'}}
    >>> a = pod_condition("Ready", "True", None, "2025-01-01T00:00:05Z")
    >>> a is pod_condition("Ready", "True", None, "2025-01-01T00:00:05Z")
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from labsupport.sim.configrefs import NO_ENV

if TYPE_CHECKING:
    import simpy

    from labsupport.sim.backoff import RestartBackOff

__all__ = ["ContainerState", "pod_condition"]


_CONDITIONS: dict[tuple, dict] = {}


def pod_condition(type_: str, status: str, reason: str | None, since: str,
                  generation: int | None = None) -> dict:
    """A pod condition dict, shared by every pod in the same state at the same second.

    Stored objects are never changed in place, so identical conditions can be
    one object: with 150,000 pods this saves hundreds of megabytes.

    Args:
        type_: ``"Ready"``, ``"PodScheduled"``...
        status: ``"True"`` or ``"False"``.
        reason: why it is not True (None when it is).
        since: ``lastTransitionTime``.
        generation: the pod's ``metadata.generation`` the writer saw. Since
            Kubernetes 1.35 every writer of a pod condition records it as the
            condition's ``observedGeneration`` (KEP-5067, Pod Generation, GA).
    """
    key = (type_, status, reason, since, generation)
    c = _CONDITIONS.get(key)
    if c is None:
        if len(_CONDITIONS) > 50_000:
            _CONDITIONS.clear()
        # Field order as the API server writes a PodCondition.
        c = {"type": type_}
        if generation is not None:
            c["observedGeneration"] = generation
        c.update(status=status, lastProbeTime=None, lastTransitionTime=since)
        if reason:
            c["reason"] = reason
        _CONDITIONS[key] = c
    return c


@lru_cache(maxsize=1024)
def _field_path(init: bool, name: str) -> str:
    # One string per container name, shared by the events of every pod (150,000
    # pods' events would otherwise each hold a copy of "spec.containers{app}").
    return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"


class ContainerState:
    """What the kubelet knows of one container (becomes a containerStatus)."""

    @property
    def field_path(self) -> str:
        """Where the container is in the pod, as events name it: ``spec.containers{web}``."""
        return _field_path(self.init, self.name)

    def __init__(self, spec: dict, init: bool) -> None:
        self.spec = spec
        self.name = spec.get("name", "")
        self.image = spec.get("image", "")
        self.init = init
        self.state: dict = {
            "waiting": {"reason": "PodInitializing" if not init else "ContainerCreating"}
        }
        self.last_state: dict = {}
        self.restart_count = 0
        self.ready = False
        self.started = False
        self.id = ""
        #: Virtual time of the last start; the data plane reads it.
        self.started_at: float | None = None
        #: Succeeds with (exit code, reason) when traffic crashes the running app.
        self.crash: simpy.Event | None = None
        #: The environment the kubelet resolved when it last started the
        #: container (labsupport.sim.configrefs); read-only.
        self.env: Mapping[str, str] = NO_ENV
        #: The current and the previous instance, for their logs:
        #: (spec, image, started at, environment); see labsupport.sim.logs.
        self.run: tuple | None = None
        self.previous_run: tuple | None = None
        #: The kubelet's restart back-off entry (made at the first exit).
        self.backoff: RestartBackOff | None = None
        #: Succeeds when the container's spec changes while it waits to restart.
        self.wake: simpy.Event | None = None
        #: The pod's spec gave the container a new image; it restarts with it.
        self.changed = False

    def status(self) -> dict:
        """The containerStatus entry the kubelet reports for this container."""
        st = {
            "name": self.name,
            "image": self.image,
            "imageID": "",
            "ready": self.ready,
            "restartCount": self.restart_count,
            "started": self.started,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.id:
            st["containerID"] = self.id
            st["imageID"] = f"docker.io/library/{self.image}"
        return st
