"""Server-side printing: the ``Table`` kubectl shows for ``kubectl get``.

kubectl does not decide the columns of ``kubectl get``: it asks the API
server for a ``meta.k8s.io/v1`` Table (``Accept: application/json;as=Table;
v=v1;g=meta.k8s.io``), and prints its cells. The server fills every column,
the ``-o wide`` ones too (priority 1); kubectl hides those unless asked. The
columns and cells below follow ``pkg/printers/internalversion/printers.go``
(``printPod``, ``printNode``, ``printDeployment``, ``printReplicaSet``,
``printService``, ``printEvent``, ``printNamespace``); other kinds get the
default NAME / AGE table (``apiserver/pkg/registry/rest/table.go``).

Ages are counted on the simulated clock, as every time the simulator shows:
``now`` is in Unix seconds, ``labsupport.sim.clock.EPOCH + env.now``.

Example:
    >>> human_duration(59), human_duration(150), human_duration(3 * 3600 + 120)
    ('59s', '2m30s', '3h2m')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from labsupport.quantity import canonical
from labsupport.views import parse_time

__all__ = ["human_duration", "table", "row_cells", "columns_for"]

Column = tuple[str, str, int, str]  # name, format, priority, description


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration`` of apimachinery: how kubectl writes an age.

    Example:
        >>> human_duration(-5), human_duration(600), human_duration(50 * 3600)
        ('<invalid>', '10m', '2d2h')
    """
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(stamp: str | None, now: float) -> str:
    """translateTimestampSince: "<unknown>" without a time."""
    t = parse_time(stamp)
    return "<unknown>" if t is None else human_duration(now - t)


_NAME: Column = ("Name", "name", 0, "The name of the object.")
_AGE: Column = ("Age", "", 0, "How long ago the object was created.")


def _c(name: str, priority: int = 0, about: str = "") -> Column:
    return (name, "", priority, about or f"The {name.lower()} of the object.")


_COLUMNS: dict[str, list[Column]] = {
    "Pod": [_NAME, _c("Ready", 0, "Ready containers out of all containers."),
            _c("Status", 0, "What the pod's containers are doing, in one word."),
            _c("Restarts", 0, "Container restarts, and when the last one was."), _AGE,
            _c("IP", 1, "The pod's IP address."), _c("Node", 1, "The node it runs on."),
            _c("Nominated Node", 1, "The node preemption made room on."),
            _c("Readiness Gates", 1, "Readiness gates that are True, out of all.")],
    "Node": [_NAME, _c("Status"), _c("Roles"), _AGE, _c("Version"),
             _c("Internal-IP", 1), _c("External-IP", 1), _c("OS-Image", 1),
             _c("Kernel-Version", 1), _c("Container-Runtime", 1)],
    "Deployment": [_NAME, _c("Ready"), _c("Up-to-date"), _c("Available"), _AGE,
                   _c("Containers", 1), _c("Images", 1), _c("Selector", 1)],
    "ReplicaSet": [_NAME, _c("Desired"), _c("Current"), _c("Ready"), _AGE,
                   _c("Containers", 1), _c("Images", 1), _c("Selector", 1)],
    "Service": [_NAME, _c("Type"), _c("Cluster-IP"), _c("External-IP"), _c("Port(s)"), _AGE,
                _c("Selector", 1)],
    "Event": [_c("Last Seen"), _c("Type"), _c("Reason"), _c("Object"), _c("Subobject", 1),
              _c("Source", 1), _c("Message"), _c("First Seen", 1), _c("Count", 1),
              ("Name", "name", 1, "The name of the event.")],
    "Namespace": [_NAME, _c("Status"), _AGE],
    # pkg/printers/internalversion/printers.go: the PersistentVolume, PersistentVolumeClaim
    # and EndpointSlice column definitions.
    "PersistentVolume": [_NAME, _c("Capacity"), _c("Access Modes"), _c("Reclaim Policy"),
                         _c("Status"), _c("Claim"), _c("StorageClass"),
                         _c("VolumeAttributesClass"), _c("Reason"), _AGE,
                         _c("VolumeMode", 1)],
    "PersistentVolumeClaim": [_NAME, _c("Status"), _c("Volume"), _c("Capacity"),
                              _c("Access Modes"), _c("StorageClass"),
                              _c("VolumeAttributesClass"), _AGE, _c("VolumeMode", 1)],
    "EndpointSlice": [_NAME, _c("AddressType"), _c("Ports"), _c("Endpoints"), _AGE],
}


def columns_for(kind: str) -> list[dict]:
    """The ``columnDefinitions`` of a kind's Table.

    Example:
        >>> [c["name"] for c in columns_for("Namespace")]
        ['Name', 'Status', 'Age']
    """
    cols = _COLUMNS.get(kind, [_NAME, _AGE])
    return [{"name": n, "type": "integer" if n == "Count" else "string", "format": f,
             "description": d, "priority": p} for n, f, p, d in cols]


def _pod(pod: dict, now: float) -> list:
    """printPod: READY, STATUS (the reason), RESTARTS, and the wide cells."""
    spec, st, meta = pod.get("spec") or {}, pod.get("status") or {}, pod["metadata"]
    phase = st.get("phase") or ""
    reason = st.get("reason") or phase
    for cond in st.get("conditions") or ():
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    inits = {c["name"]: c for c in spec.get("initContainers") or ()}
    sidecar = {n for n, c in inits.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or ()) + len(sidecar)
    ready = restarts = side_restarts = 0
    last = side_last = 0.0

    def finished(cs: dict) -> float:
        end = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        return parse_time(end) or 0.0

    initializing = False
    init_statuses = st.get("initContainerStatuses") or ()
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount", 0))
        last = max(last, finished(cs))
        if cs.get("name") in sidecar:
            side_restarts += int(cs.get("restartCount", 0))
            side_last = max(side_last, finished(cs))
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode") == 0:
            continue
        if cs.get("name") in sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            reason = "Init:" + (term.get("reason") or (f"Signal:{term['signal']}"
                                if term.get("signal") else f"ExitCode:{term.get('exitCode')}"))
        elif wait is not None and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in st.get("conditions") or ())
    if not initializing or initialized:
        restarts, last = side_restarts, side_last
        running = False
        for cs in reversed(st.get("containerStatuses") or ()):
            restarts += int(cs.get("restartCount", 0))
            last = max(last, finished(cs))
            state = cs.get("state") or {}
            term, wait = state.get("terminated"), state.get("waiting")
            if wait is not None and wait.get("reason"):
                reason = wait["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = (f"Signal:{term['signal']}" if term.get("signal")
                          else f"ExitCode:{term.get('exitCode')}")
            elif cs.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in st.get("conditions") or ())
            reason = "Running" if pod_ready else "NotReady"
    if meta.get("deletionTimestamp") and st.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    shown_restarts = str(restarts)
    if restarts and last:
        shown_restarts = f"{restarts} ({human_duration(now - last)} ago)"
    ips = st.get("podIPs") or ([{"ip": st["podIP"]}] if st.get("podIP") else [])
    gates = spec.get("readinessGates") or ()
    gates_shown = "<none>"
    if gates:
        true = sum(1 for g in gates for c in st.get("conditions") or ()
                   if c.get("type") == g.get("conditionType") and c.get("status") == "True")
        gates_shown = f"{true}/{len(gates)}"
    return [meta["name"], f"{ready}/{total}", reason, shown_restarts,
            _age(meta.get("creationTimestamp"), now), (ips[0].get("ip") if ips else "") or "<none>",
            spec.get("nodeName") or "<none>", st.get("nominatedNodeName") or "<none>",
            gates_shown]


def _node(node: dict, now: float) -> list:
    meta, spec, st = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    shown = []
    for cond in st.get("conditions") or ():
        if cond.get("type") == "Ready":
            shown.append("Ready" if cond.get("status") == "True" else
                          "NotReady" if cond.get("status") == "False" else "Unknown")
    if not shown:
        shown.append("Unknown")
    if spec.get("unschedulable"):
        shown.append("SchedulingDisabled")
    roles = sorted(k.split("/", 1)[1] for k in meta.get("labels") or {}
                   if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1])
    role = (meta.get("labels") or {}).get("kubernetes.io/role")
    if role:
        roles.append(role)
    info = st.get("nodeInfo") or {}
    addr = {a.get("type"): a.get("address") for a in st.get("addresses") or ()}
    return [meta["name"], ",".join(shown), ",".join(roles) or "<none>",
            _age(meta.get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            addr.get("InternalIP") or "<none>", addr.get("ExternalIP") or "<none>",
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _selector_text(selector: dict | None) -> str:
    """metav1.LabelSelectorAsSelector(...).String(): "<none>" when empty."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for e in selector.get("matchExpressions") or ():
        op, key, values = e.get("operator"), e.get("key"), sorted(e.get("values") or ())
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(sorted(parts)) or "<none>"


def _pod_template(obj: dict) -> list:
    containers = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {})
                  .get("containers") or ())
    return [",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers),
            _selector_text((obj.get("spec") or {}).get("selector"))]


def _deployment(dep: dict, now: float) -> list:
    spec, st, meta = dep.get("spec") or {}, dep.get("status") or {}, dep["metadata"]
    return [meta["name"], f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            _age(meta.get("creationTimestamp"), now), *_pod_template(dep)]


def _replicaset(rs: dict, now: float) -> list:
    spec, st, meta = rs.get("spec") or {}, rs.get("status") or {}, rs["metadata"]
    return [meta["name"], spec.get("replicas", 0), st.get("replicas", 0),
            st.get("readyReplicas", 0), _age(meta.get("creationTimestamp"), now),
            *_pod_template(rs)]


def _service(svc: dict, now: float) -> list:
    spec, st, meta = svc.get("spec") or {}, svc.get("status") or {}, svc["metadata"]
    type_ = spec.get("type") or "ClusterIP"
    external = "<none>"
    ingress = [i.get("ip") or i.get("hostname") for i in
               (st.get("loadBalancer") or {}).get("ingress") or ()]
    if type_ == "ExternalName":
        external = spec.get("externalName") or "<none>"
    elif type_ == "LoadBalancer":
        external = ",".join([*filter(None, ingress), *spec.get("externalIPs", ())]) or "<pending>"
    elif spec.get("externalIPs"):
        external = ",".join(spec["externalIPs"])
    ports = []
    for p in spec.get("ports") or ():
        text = f"{p.get('port')}:{p['nodePort']}" if p.get("nodePort") else f"{p.get('port')}"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    selector = spec.get("selector") or {}
    return [meta["name"], type_, spec.get("clusterIP") or "<none>", external,
            ",".join(ports) or "<none>", _age(meta.get("creationTimestamp"), now),
            ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"]


def _event(ev: dict, now: float) -> list:
    meta, obj = ev["metadata"], ev.get("involvedObject") or {}
    first = _age(ev.get("firstTimestamp") or ev.get("eventTime"), now)
    last = _age(ev["lastTimestamp"], now) if ev.get("lastTimestamp") else first
    target = f"{obj.get('kind', '').lower()}/{obj['name']}" if obj.get("name") else \
        obj.get("kind", "").lower()
    source = ev.get("source") or {}
    shown_source = source.get("component") or ev.get("reportingComponent") or ""
    if source.get("host"):
        shown_source += f", {source['host']}"
    return [last, ev.get("type", ""), ev.get("reason", ""), target, obj.get("fieldPath", ""),
            shown_source, (ev.get("message") or "").strip(), first, int(ev.get("count") or 1),
            meta["name"]]


def _namespace(ns: dict, now: float) -> list:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", ""),
            _age(ns["metadata"].get("creationTimestamp"), now)]


_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
          ("ReadWriteOncePod", "RWOP"))


def _access_modes(modes: Iterable[str] | None) -> str:
    """GetAccessModesAsString: the short names, each once, in a fixed order."""
    given = set(modes or ())
    return ",".join(short for mode, short in _MODES if mode in given)


def _storage(amounts: dict | None) -> str:
    value = (amounts or {}).get("storage")
    return canonical(value) if value is not None else ""


def _persistent_volume(pv: dict, now: float) -> list:
    """The row of printPersistentVolume."""
    spec, st, meta = pv.get("spec") or {}, pv.get("status") or {}, pv["metadata"]
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    phase = "Terminating" if meta.get("deletionTimestamp") else st.get("phase", "")
    return [meta["name"], _storage(spec.get("capacity")), _access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), phase, claim,
            spec.get("storageClassName") or "", spec.get("volumeAttributesClassName") or "<unset>",
            st.get("reason", ""), _age(meta.get("creationTimestamp"), now),
            spec.get("volumeMode") or "<unset>"]


def _persistent_volume_claim(pvc: dict, now: float) -> list:
    """printPersistentVolumeClaim: capacity and modes only once a volume is named."""
    spec, st, meta = pvc.get("spec") or {}, pvc.get("status") or {}, pvc["metadata"]
    phase = "Terminating" if meta.get("deletionTimestamp") else st.get("phase", "")
    bound = bool(spec.get("volumeName"))
    return [meta["name"], phase, spec.get("volumeName", ""),
            _storage(st.get("capacity")) if bound else "",
            _access_modes(st.get("accessModes")) if bound else "",
            spec.get("storageClassName") or "",
            spec.get("volumeAttributesClassName") or "<unset>",
            _age(meta.get("creationTimestamp"), now), spec.get("volumeMode") or "<unset>"]


def _first_three(items: list[str]) -> str:
    """listWithMoreString: at most three, then "+ N more...", "<unset>" for none."""
    if len(items) > 3:
        return f"{','.join(items[:3])} + {len(items) - 3} more..."
    return ",".join(items) or "<unset>"


def _endpoint_slice(eps: dict, now: float) -> list:
    """printEndpointSlice: formatDiscoveryPorts and formatDiscoveryEndpoints."""
    ports = [str(p["port"]) if p.get("port") is not None else (p.get("name") or "*")
             for p in eps.get("ports") or ()]
    addresses = [a for e in eps.get("endpoints") or () for a in e.get("addresses") or ()]
    meta = eps["metadata"]
    return [meta["name"], eps.get("addressType", ""), _first_three(ports),
            _first_three(addresses), _age(meta.get("creationTimestamp"), now)]


_PRINTERS: dict[str, Callable[[dict, float], list]] = {
    "Pod": _pod, "Node": _node, "Deployment": _deployment, "ReplicaSet": _replicaset,
    "Service": _service, "Event": _event, "Namespace": _namespace,
    "PersistentVolume": _persistent_volume, "PersistentVolumeClaim": _persistent_volume_claim,
    "EndpointSlice": _endpoint_slice,
}


def row_cells(obj: dict, kind: str, now: float) -> list:
    """The cells of one object's row.

    Example:
        >>> ns = {"metadata": {"name": "shop", "creationTimestamp": "2025-01-01T00:00:00Z"},
        ...       "status": {"phase": "Active"}}
        >>> from labsupport.sim.clock import EPOCH
        >>> row_cells(ns, "Namespace", EPOCH + 90)
        ['shop', 'Active', '90s']
    """
    printer = _PRINTERS.get(kind)
    if printer is not None:
        return printer(obj, now)
    return [obj["metadata"]["name"], _age(obj["metadata"].get("creationTimestamp"), now)]


def _row_object(obj: dict, include: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"]}


def table(objs: Iterable[dict], kind: str, now: float, *, resource_version: str = "",
          include_object: str = "Metadata", with_columns: bool = True,
          list_meta: dict | None = None) -> dict:
    """A ``meta.k8s.io/v1`` Table of ``objs``.

    Args:
        objs: the objects, all of kind ``kind``.
        kind: their kind (it chooses the columns).
        now: the simulated time in Unix seconds (``EPOCH + env.now``), for ages.
        resource_version: the list's resourceVersion.
        include_object: ``Metadata`` (default), ``Object`` or ``None``: what
            each row carries beside its cells (the ``includeObject`` option).
        with_columns: False leaves out ``columnDefinitions`` (watch events after the first).
        list_meta: the list's metadata (``continue``, ``remainingItemCount``).
    """
    rows = []
    for obj in objs:
        row: dict = {"cells": row_cells(obj, kind, now)}
        shown = _row_object(obj, include_object)
        if shown is not None:
            row["object"] = shown
        rows.append(row)
    meta = dict(list_meta or {})
    if resource_version:
        meta["resourceVersion"] = resource_version
    out: dict = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    out["columnDefinitions"] = columns_for(kind) if with_columns else None
    out["rows"] = rows
    return out
