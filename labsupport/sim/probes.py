"""Probe timing: when a liveness, readiness or startup probe changes its verdict.

The kubelet runs a probe every ``periodSeconds`` after ``initialDelaySeconds``
and changes its verdict after ``successThreshold`` successes or
``failureThreshold`` failures in a row. Because a simulated app's health
changes at known instants, the simulator computes the tick at which the
verdict flips instead of simulating every tick; the result is the same
instant a real kubelet would reach.

Example:
    >>> from labsupport.sim.probes import Probe
    >>> p = Probe.from_container({"readinessProbe": {"httpGet": {"path": "/", "port": 80},
    ...     "initialDelaySeconds": 5, "periodSeconds": 10}}, "readinessProbe")
    >>> p.first_success(started=0.0, healthy_from=12.0)   # ticks at 5, 15, 25...
    15.0
    >>> Probe.from_container({"livenessProbe": {"tcpSocket": {"port": 80},
    ...     "periodSeconds": 10, "failureThreshold": 3}}, "livenessProbe").failure_at(0.0, 30.0)
    50.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labsupport.sim.listening import resolve_port

__all__ = ["Probe"]

# (id of a probe dict, kind) -> (that dict, its Probe, the container's ports, which
# name its named port); the dicts are kept so their ids cannot be reused while the
# entry lives.
_PARSED: dict[tuple[int, str], tuple[dict, Probe, object]] = {}


@dataclass(frozen=True)
class Probe:
    """One probe of a container, with Kubernetes' defaults filled in."""

    kind: str
    handler: str
    target: str
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    #: The port it connects to, a named port resolved (None: exec, or none).
    port: int | str | None = None

    @classmethod
    def from_container(cls, container: dict, kind: str) -> Probe | None:
        """The container's ``livenessProbe`` / ``readinessProbe`` / ``startupProbe``."""
        spec = container.get(kind)
        if not spec:
            return None
        # Pods of one template share their (read-only) probe dicts: parse each once.
        hit = _PARSED.get((id(spec), kind))
        if hit is not None and hit[0] is spec and hit[2] is container.get("ports"):
            return hit[1]
        probe = cls._parse(spec, kind, container)
        if len(_PARSED) > 4096:
            _PARSED.clear()
        _PARSED[(id(spec), kind)] = (spec, probe, container.get("ports"))
        return probe

    @classmethod
    def _parse(cls, spec: dict, kind: str, container: dict | None = None) -> Probe:
        """Read one probe dict (defaults already filled in by the API server).

        A named port is the container's port of that name: the URL in the
        kubelet's events shows its number (pkg/probe/util.go ``ResolveContainerPort``).
        """
        port = None
        for handler in ("httpGet", "tcpSocket", "grpc"):
            if handler in spec:
                port = resolve_port(container or {}, spec[handler].get("port"))
        if "httpGet" in spec:
            h = spec["httpGet"]
            handler, target = (
                "httpGet",
                f"{h.get('scheme', 'HTTP').lower()}://{{ip}}:{port}{h.get('path', '/')}",
            )
        elif "tcpSocket" in spec:
            handler, target = "tcpSocket", f"{{ip}}:{port}"
        elif "grpc" in spec:
            handler, target = "grpc", f"{{ip}}:{port}"
        elif "exec" in spec:
            handler, target = "exec", " ".join(str(w) for w in spec["exec"].get("command") or [])
        else:
            handler, target = "none", ""
        return cls(
            kind=kind,
            handler=handler,
            target=target,
            initial_delay=float(spec.get("initialDelaySeconds", 0) or 0),
            period=float(spec.get("periodSeconds", 10) or 10),
            timeout=float(spec.get("timeoutSeconds", 1) or 1),
            success_threshold=int(spec.get("successThreshold", 1) or 1),
            failure_threshold=int(spec.get("failureThreshold", 3) or 3),
            port=port,
        )

    def tick_at_or_after(self, started: float, t: float) -> float:
        """The first probe tick at or after time ``t`` for a container started at ``started``."""
        first = started + self.initial_delay
        if t <= first:
            return first
        if t == math.inf:
            return t  # never (an app that never answers the probe)
        k = math.ceil((t - first) / self.period - 1e-9)
        return first + k * self.period

    def first_success(self, started: float, healthy_from: float, after: float = 0.0) -> float:
        """When the verdict becomes success: ``successThreshold`` passing ticks in a row."""
        tick = self.tick_at_or_after(started, max(healthy_from, after))
        return tick + (self.success_threshold - 1) * self.period

    def failure_at(self, started: float, failing_from: float, after: float = 0.0) -> float:
        """When the verdict becomes failure: ``failureThreshold`` failing ticks in a row."""
        tick = self.tick_at_or_after(started, max(failing_from, after))
        return tick + (self.failure_threshold - 1) * self.period

    def failure_message(self, ip: str) -> str:
        """What the kubelet's Unhealthy event says when this probe fails."""
        name = {
            "livenessProbe": "Liveness",
            "readinessProbe": "Readiness",
            "startupProbe": "Startup",
        }[self.kind]
        target = self.target.replace("{ip}", ip or "<none>")
        if self.handler == "httpGet":
            host = target.split("//", 1)[1].split("/", 1)[0]
            return (
                f'{name} probe failed: Get "{target}": dial tcp {host}: connect: connection refused'
            )
        if self.handler in ("tcpSocket", "grpc"):
            return f"{name} probe failed: dial tcp {target}: connect: connection refused"
        if self.handler == "exec":
            return f'{name} probe failed: command "{target}" exited with 1'
        return f"{name} probe failed"
