"""Read-only views of pods, nodes and events, for people to look at.

Backends return Kubernetes objects as plain dicts; these frozen dataclasses
pick out what a lesson looks at and display as a line (``repr``) or as a
table in a notebook (``_repr_html_``). Both backends build them with the same
``from_object`` functions, so a view means the same thing on each.

Example:
    >>> from labsupport.views import PodInfo
    >>> pod = {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "default"},
    ...        "spec": {"nodeName": "node-2"},
    ...        "status": {"phase": "Running", "podIP": "10.244.1.5",
    ...                   "conditions": [{"type": "Ready", "status": "True"}]}}
    >>> PodInfo.from_object(pod)
    <Pod web-1 Running ready on node-2>
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from labsupport.quantity import cpu_cores, format_cpu, format_memory, memory_bytes

__all__ = ["PodInfo", "NodeInfo", "EventInfo", "ViewList", "parse_time",
           "pod_requests"]

# Requests the scheduler assumes for a container that sets none
# (pkg/scheduler/util: DefaultMilliCPURequest, DefaultMemoryRequest) are used
# only for scoring; the views show what pods actually request.


def parse_time(stamp: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time as Kubernetes writes it.

    Example:
        >>> parse_time("2024-01-01T00:00:10Z") - parse_time("2024-01-01T00:00:00Z")
        10.0
    """
    if not stamp:
        return None
    text = stamp.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def pod_requests(pod: dict) -> tuple[float, int]:
    """CPU (cores) and memory (bytes) requested by a pod's app containers.

    Init containers run one at a time before the app containers, so a pod
    needs the larger of their largest request and the sum of the app
    containers' requests (the Kubernetes "effective request").

    Example:
        >>> pod_requests({"spec": {"containers": [
        ...     {"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
        ...     {"resources": {"requests": {"cpu": "250m"}}}]}})
        (0.5, 67108864)
    """
    spec = pod.get("spec") or {}
    cpu = 0.0
    mem = 0
    for c in spec.get("containers") or ():
        req = ((c.get("resources") or {}).get("requests")) or {}
        cpu += cpu_cores(req.get("cpu", 0))
        mem += memory_bytes(req.get("memory", 0))
    for c in spec.get("initContainers") or ():
        req = ((c.get("resources") or {}).get("requests")) or {}
        cpu = max(cpu, cpu_cores(req.get("cpu", 0)))
        mem = max(mem, memory_bytes(req.get("memory", 0)))
    return cpu, mem


class ViewList(list):
    """A list of views that shows itself as one table in a notebook."""

    def _repr_html_(self) -> str:
        if not self:
            return "<p><em>(none)</em></p>"
        return _table(self)


def _table(items: Sequence[Any]) -> str:
    names = [f.name for f in fields(items[0]) if f.name not in ("labels", "taints")]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for it in items:
        cells = "".join(f"<td>{html.escape(_cell(getattr(it, n), n))}</td>" for n in names)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(value: Any, name: str) -> str:
    if value is None:
        return "<none>" if name != "ready" else "Unknown"
    if isinstance(value, float):
        if name.startswith("cpu"):
            return format_cpu(value)
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool) and name.startswith("memory"):
        return format_memory(value)
    return str(value)


class _View:
    def _repr_html_(self) -> str:
        return _table([self])


def _ready(conditions: Iterable[dict] | None, kind: str = "Ready") -> bool | None:
    for cond in conditions or ():
        if cond.get("type") == kind:
            status = cond.get("status")
            return True if status == "True" else False if status == "False" else None
    return None


@dataclass(frozen=True, repr=False)
class PodInfo(_View):
    """One pod, as ``kubectl get pods -o wide`` shows it.

    Attributes:
        name: the pod's name.
        namespace: its namespace.
        node: the node it is bound to, None while unscheduled.
        phase: Pending, Running, Succeeded, Failed or Unknown.
        ready: True when its Ready condition is True.
        restarts: container restarts, summed over its containers.
        ip: the pod IP, None before it has one.
        labels: its labels.
        owner: its controller as ``"replicaset/web-7f9c"``, or None.
        status: what kubectl's STATUS column shows (e.g. CrashLoopBackOff).
    """

    name: str
    namespace: str
    node: str | None
    phase: str
    ready: bool
    restarts: int = 0
    ip: str | None = None
    labels: dict = field(default_factory=dict, compare=False, hash=False)
    owner: str | None = None
    status: str = ""

    @classmethod
    def from_object(cls, pod: dict) -> PodInfo:
        """Build the view from a Pod object dict."""
        meta = pod.get("metadata") or {}
        st = pod.get("status") or {}
        statuses = st.get("containerStatuses") or ()
        owner = None
        for ref in meta.get("ownerReferences") or ():
            if ref.get("controller", True):
                owner = f"{ref.get('kind', '').lower()}/{ref.get('name')}"
                break
        phase = st.get("phase") or "Pending"
        shown = phase
        inits = st.get("initContainerStatuses") or ()
        # kubectl (printers.go, printPod) counts a started native sidecar (an init
        # container with restartPolicy Always) as done, like one that exited with 0.
        sidecars = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or ()
                    if c.get("restartPolicy") == "Always"}
        init_done = sum(1 for cs in inits
                        if ((cs.get("state") or {}).get("terminated") or {}).get("exitCode") == 0
                        or (cs.get("name") in sidecars and cs.get("started")))
        if meta.get("deletionTimestamp"):
            shown = "Terminating"
        elif inits and init_done < len(inits):
            # kubectl shows Init:<done>/<total>, or Init:<reason> when one is failing.
            shown = f"Init:{init_done}/{len(inits)}"
            for cs in inits:
                state = cs.get("state") or {}
                reason = (state.get("waiting") or {}).get("reason") or (
                    (state.get("terminated") or {}).get("reason")
                    if (state.get("terminated") or {}).get("exitCode") else None)
                if reason and reason not in ("PodInitializing", "ContainerCreating"):
                    shown = f"Init:{reason}"
                    break
        else:
            for cs in statuses:
                waiting = (cs.get("state") or {}).get("waiting")
                if waiting and waiting.get("reason"):
                    shown = waiting["reason"]
                    break
            if phase == "Pending" and not (pod.get("spec") or {}).get("nodeName"):
                shown = "Pending"
        return cls(
            name=meta.get("name", ""),
            namespace=meta.get("namespace", "default"),
            node=(pod.get("spec") or {}).get("nodeName"),
            phase=phase,
            ready=bool(_ready(st.get("conditions"))),
            restarts=sum(int(cs.get("restartCount", 0)) for cs in statuses),
            ip=st.get("podIP"),
            labels=dict(meta.get("labels") or {}),
            owner=owner,
            status=shown,
        )

    def __repr__(self) -> str:
        where = f"on {self.node}" if self.node else "unscheduled"
        state = self.status if self.status and self.status != self.phase else self.phase
        ready = " ready" if self.ready else ""
        return f"<Pod {self.name} {state}{ready} {where}>"


@dataclass(frozen=True, repr=False)
class NodeInfo(_View):
    """One node with its capacity and what its pods request.

    Attributes:
        name: the node's name.
        ready: True, False, or None while the condition is Unknown.
        cpu: allocatable CPU in cores.
        memory: allocatable memory in bytes.
        cpu_requested: CPU requested by the pods bound to it, in cores.
        memory_requested: memory requested by those pods, in bytes.
        pods: number of pods bound to it (not finished).
        unschedulable: True when cordoned.
        taints: its taints as ``"key=value:Effect"`` strings.
        version: the kubelet's version (``kubectl get nodes`` column VERSION).
    """

    name: str
    ready: bool | None
    cpu: float
    memory: int
    cpu_requested: float = 0.0
    memory_requested: int = 0
    pods: int = 0
    unschedulable: bool = False
    taints: tuple[str, ...] = ()
    version: str = ""

    @classmethod
    def from_object(cls, node: dict, pods: Iterable[dict] = ()) -> NodeInfo:
        """Build the view from a Node dict and the pods of the cluster."""
        meta = node.get("metadata") or {}
        st = node.get("status") or {}
        alloc = st.get("allocatable") or st.get("capacity") or {}
        name = meta.get("name", "")
        cpu_req = 0.0
        mem_req = 0
        count = 0
        for pod in pods:
            if (pod.get("spec") or {}).get("nodeName") != name:
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            c, m = pod_requests(pod)
            cpu_req += c
            mem_req += m
            count += 1
        taints = tuple(
            f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
            for t in (node.get("spec") or {}).get("taints") or ())
        return cls(
            name=name,
            ready=_ready(st.get("conditions")),
            cpu=cpu_cores(alloc.get("cpu", 0)),
            memory=memory_bytes(alloc.get("memory", 0)),
            cpu_requested=round(cpu_req, 6),
            memory_requested=mem_req,
            pods=count,
            unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
            taints=taints,
            version=str((st.get("nodeInfo") or {}).get("kubeletVersion", "")),
        )

    def __repr__(self) -> str:
        state = {True: "Ready", False: "NotReady", None: "Unknown"}[self.ready]
        return (f"<Node {self.name} {state} cpu {format_cpu(self.cpu_requested)}/"
                f"{format_cpu(self.cpu)} memory {format_memory(self.memory_requested)}/"
                f"{format_memory(self.memory)} pods {self.pods}>")


@dataclass(frozen=True, repr=False)
class EventInfo(_View):
    """One event, as ``kubectl get events`` shows it.

    Attributes:
        time: seconds since the cluster started (last time it was seen).
        type: Normal or Warning.
        reason: e.g. Scheduled, Pulled, FailedScheduling, BackOff.
        object: the object it is about, e.g. ``"pod/web-7f9c-x2"``.
        message: what happened.
        component: who reported it, e.g. ``"default-scheduler"``, ``"kubelet"``.
        count: how many times it happened (repeats are counted, not repeated).
        namespace: the namespace of the object.
    """

    time: float
    type: str
    reason: str
    object: str
    message: str
    component: str
    count: int = 1
    namespace: str = "default"

    @classmethod
    def from_object(cls, event: dict, start: float = 0.0) -> EventInfo:
        """Build the view from an Event dict (core/v1 or events.k8s.io/v1).

        Args:
            event: the Event object.
            start: the cluster's start, seconds since the epoch; times are
                given relative to it.
        """
        meta = event.get("metadata") or {}
        inv = event.get("involvedObject") or event.get("regarding") or {}
        src = event.get("source") or {}
        stamp = (event.get("lastTimestamp") or event.get("eventTime")
                 or (event.get("series") or {}).get("lastObservedTime")
                 or event.get("firstTimestamp") or meta.get("creationTimestamp"))
        when = parse_time(stamp)
        return cls(
            time=round(when - start, 3) if when is not None else 0.0,
            type=event.get("type") or "Normal",
            reason=event.get("reason") or "",
            object=f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
            message=event.get("message") or event.get("note") or "",
            component=src.get("component") or event.get("reportingController")
            or event.get("reportingComponent") or "",
            count=int(event.get("count") or (event.get("series") or {}).get("count") or 1),
            namespace=meta.get("namespace") or inv.get("namespace") or "default",
        )

    def __repr__(self) -> str:
        return (f"<Event {self.time:g}s {self.type} {self.reason} {self.object}: "
                f"{self.message}>")

