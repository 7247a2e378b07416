"""The life of an apply: every write and event that followed, component by component.

``cluster.trace("deployment/web")`` follows one object and everything it
caused: the ReplicaSets it owns, their pods, the scheduler's bindings, the
kubelets' status reports and the Endpoints that list the pods. Each step has
a time, the component that acted, and what it did, in the order it happened.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> t = c.trace("pod/p")
    >>> t.components()
    ['kubectl', 'default-scheduler', 'kubelet']
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsupport.selectors import Selector

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["Trace", "TraceStep", "build_trace"]


@dataclass(frozen=True)
class TraceStep:
    """One step: at ``time``, ``component`` did ``action`` to ``object``."""

    time: float
    component: str
    action: str
    object: str
    detail: str = ""


class Trace(list):
    """The steps of one apply, oldest first; shows itself as a table."""

    def components(self) -> list[str]:
        """The components involved, in the order they first acted."""
        seen: list[str] = []
        for step in self:
            if step.component not in seen:
                seen.append(step.component)
        return seen

    def __repr__(self) -> str:
        lines = [f"{'time':>8}  {'component':<28} {'action':<16} object"]
        for s in self:
            lines.append(f"{s.time:8.2f}  {s.component:<28} {s.action:<16} {s.object}"
                         + (f"  {s.detail}" if s.detail else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{s.time:.2f}</td><td>{html.escape(s.component)}</td>"
            f"<td>{html.escape(s.action)}</td><td>{html.escape(s.object)}</td>"
            f"<td>{html.escape(s.detail)}</td></tr>" for s in self)
        return ("<table><tr><th>time (s)</th><th>component</th><th>action</th><th>object</th>"
                f"<th>detail</th></tr>{rows}</table>")


def _short(key: str) -> str:
    # /registry/pods/default/web-1 -> pod/web-1
    parts = key.split("/")
    resource = parts[2] if parts[2] != "services" else parts[3]
    singular = {"specs": "service", "endpoints": "endpoints", "minions": "node"}.get(
        resource, resource[:-1] if resource.endswith("s") else resource)
    return f"{singular}/{parts[-1]}"


def build_trace(sim: SimCluster, root: dict) -> Trace:
    """Collect the steps that concern ``root`` and what it owns, and their Endpoints."""
    keys = {sim.api.key_of(root)}
    names: set[tuple[str, str, str]] = set()
    frontier = [root]
    pods: list[dict] = []
    while frontier:
        obj = frontier.pop()
        meta = obj["metadata"]
        names.add((obj["kind"], meta.get("namespace", ""), meta["name"]))
        if obj["kind"] == "Pod":
            pods.append(obj)
        for child in sim._owned(meta["uid"], controller_only=False):
            key = sim.api.key_of(child)
            if key not in keys:
                keys.add(key)
                frontier.append(child)
    # Pods already gone still appear in the audit log under their owner's name prefix.
    prefixes = [f"/registry/pods/{ns}/{name}-" for kind, ns, name in names if kind == "ReplicaSet"]
    if root["kind"] == "Pod":
        prefixes.append(sim.api.key_of(root))
    for svc in sim.api.list(_svc_type()):
        sel = svc["spec"].get("selector")
        if sel and any(Selector.from_map(sel).matches(p["metadata"].get("labels")) for p in pods):
            ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
            keys.add(f"/registry/services/endpoints/{ns}/{name}")
    steps: list[TraceStep] = []
    for time, component, action, key, detail in sim.api.audit:
        if key in keys or any(key.startswith(p) for p in prefixes):
            steps.append(TraceStep(time, component, action, _short(key), detail))
    return Trace(steps)


def _svc_type():
    from labsupport.kinds import type_for_kind

    return type_for_kind("Service")
