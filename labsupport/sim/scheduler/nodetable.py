"""The scheduler's cache of nodes, as numpy columns.

kube-scheduler keeps a ``NodeInfo`` per node (pkg/scheduler/framework/types.go):
the node object, what its pods request (``Requested``), the same with the
100m / 200Mi defaults for containers without requests (``NonZeroRequested``),
the pod count and the host ports in use. :class:`NodeTable` keeps the same
facts, one numpy array per fact with one row per node, so the filters and
scores run over hundreds of nodes in one vectorised step.

Each amount is kept once, in ``amounts`` (allocatable and requested, one row
per node). Resources other than cpu, memory and pods (ephemeral-storage,
extended resources such as ``nvidia.com/gpu``, hugepages) have a column each in
``extra_alloc`` and ``extra_req``, made when a node or a pod first names the
resource; a pod that requests none of them never reads them.
The fast path also keeps what is free in walk order
(``walk_free_*``, see :meth:`NodeTable.order`) and a lower bound of it over
all nodes (``min_free_*``); both are derived from ``amounts`` and updated
with it. See ``labsupport/sim/README.md`` (fast-path notes).

Nodes are listed the way upstream's node tree lists them
(pkg/scheduler/backend/cache/node_tree.go): one node from each zone in turn,
zones in the order they first appeared, nodes of a zone in the order they
were added. Without zone labels that is simply the order nodes were added.

Example:
    >>> from labsupport.sim.scheduler.nodetable import NodeTable
    >>> t = NodeTable()
    >>> t.upsert_node({"metadata": {"name": "node-1"},
    ...                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    >>> pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "500m"}}}]}}
    >>> t.add_pod(pod, "node-1")
    >>> t.requested("node-1")
    {'cpu': 500, 'memory': 0, 'pods': 1}
    >>> t.names()
    ['node-1']
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from labsupport.errors import Invalid
from labsupport.sim.scheduler.listers import Listers
from labsupport.sim.scheduler.podindex import PodIndex
from labsupport.sim.scheduler.podinfo import (
    EPHEMERAL_STORAGE,
    PodProfile,
    ProfileCache,
    is_scalar_resource_name,
    quantity_at,
)
from labsupport.sim.scheduler.views import NodeView

__all__ = ["NodeTable", "AMOUNTS"]

#: The columns of ``NodeTable.amounts``; each is also a property giving the column.
AMOUNTS = ("alloc_cpu", "alloc_mem", "alloc_pods", "req_cpu", "req_mem", "nonzero_cpu",
           "nonzero_mem", "pod_count")

_ZONE_LABELS = ("failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/zone")
_REGION_LABELS = ("failure-domain.beta.kubernetes.io/region", "topology.kubernetes.io/region")


def _zone_key(labels: dict[str, str]) -> str:
    # pkg/util/node GetZoneKey: the deprecated beta label wins over the GA one.
    zone = next((labels[k] for k in _ZONE_LABELS if k in labels), "")
    region = next((labels[k] for k in _REGION_LABELS if k in labels), "")
    if not zone and not region:
        return ""
    return region + ":\x00:" + zone


def _node_name(node: Any) -> str:
    if not isinstance(node, dict):
        raise Invalid(f"a node must be a Node object dict; got {type(node).__name__}")
    name = (node.get("metadata") or {}).get("name")
    if not name:
        raise Invalid("a Node object needs metadata.name; got a node without a name")
    return str(name)


def _extra_allocatable(resources: dict, where: str) -> dict[str, int]:
    """A node's allocatable ephemeral-storage and scalar resources (framework.Resource)."""
    out = {}
    for name, amount in resources.items():
        name = str(name)
        if name == EPHEMERAL_STORAGE or is_scalar_resource_name(name):
            out[name] = quantity_at(f"{where}[{name}]", amount)
    return out


def _column(name: str, doc: str) -> property:
    index = AMOUNTS.index(name)

    def get(self: NodeTable) -> np.ndarray:
        return self.amounts[:, index]

    return property(get, doc=doc + " (a view of a column of ``amounts``).")


class NodeTable:
    """Vectorised cache of nodes (numpy arrays) that the scheduler reads.

    Rows ("slots") are reused after a node is removed. Every per-node fact is
    an array indexed by slot; :meth:`order` gives the slots in scheduling order.
    """

    _GROW = 64

    alloc_cpu = _column("alloc_cpu", "Allocatable milli-CPU per slot")
    alloc_mem = _column("alloc_mem", "Allocatable memory bytes per slot")
    alloc_pods = _column("alloc_pods", "Allocatable pod count per slot")
    req_cpu = _column("req_cpu", "Milli-CPU requested by the pods on each slot")
    req_mem = _column("req_mem", "Memory bytes requested by the pods on each slot")
    nonzero_cpu = _column("nonzero_cpu", "req_cpu with the 100m default per container")
    nonzero_mem = _column("nonzero_mem", "req_mem with the 200Mi default per container")
    pod_count = _column("pod_count", "Pods on each slot")

    def __init__(self) -> None:
        self._cap = 0
        self._slot_of: dict[str, int] = {}
        self._name_of: list[str | None] = []
        self._free: list[int] = []
        self._high = 0  # slots ever used
        # Allocatable and requested amounts: milli-CPU, bytes, pod counts. One row
        # per slot (columns AMOUNTS), so one read gets all of a node's amounts;
        # the properties alloc_cpu ... pod_count give the columns.
        self.amounts = np.zeros((0, len(AMOUNTS)), np.int64)
        self.unschedulable = np.zeros(0, bool)
        #: Resources other than cpu, memory and pods, by name: allocatable and
        #: requested per slot (0 where a node does not list the resource).
        self.extra_alloc: dict[str, np.ndarray] = {}
        self.extra_req: dict[str, np.ndarray] = {}
        # What each node lists in status.allocatable besides cpu/memory/pods, as
        # last read (the names matter to the kubelet and to NodeView).
        self._extra_of: list[dict[str, int] | None] = []
        # Bumped (to a cluster-wide tick) whenever a row's allocatable or requested
        # amounts change, so cached resource scores know when to recompute.
        self.res_version = np.zeros(0, np.int64)
        self._tick = 0
        # Labels: per key, the value id of each slot (-1: no such label).
        self.label_cols: dict[str, np.ndarray] = {}
        self.label_ids: dict[str, dict[str, int]] = {}
        self.label_values: dict[str, list[str]] = {}
        # Taints: ids into taint_list, one row per slot, padded with -1.
        self.taint_ids: dict[tuple[str, str, str], int] = {}
        self.taint_list: list[tuple[str, str, str]] = []
        self.taints = np.full((0, 0), -1, np.int32)
        # Host ports in use: (protocol, port) -> slot -> Counter of host IPs.
        self.ports: dict[tuple[str, int], dict[int, Counter]] = {}
        # Static facts as last seen, to notice real changes.
        self._static: list[tuple | None] = []
        self._zone_of: list[str | None] = []
        self._zones: list[str] = []
        self._zone_slots: dict[str, list[int]] = {}
        self._order: np.ndarray | None = None
        self._order2: np.ndarray | None = None
        # The fast path's copy of what is free (allocatable - requested) and of
        # res_version, laid out like order_twice() (row i and i + len(order) hold
        # the node at position i), so that a window of the walk is a slice rather
        # than a gather. Rebuilt by order(); _pos maps slot -> position.
        self.walk_free_pods = np.zeros(0, np.int64)
        self.walk_free_cpu = np.zeros(0, np.int64)
        self.walk_free_mem = np.zeros(0, np.int64)
        self.walk_res_version = np.zeros(0, np.int64)
        self._pos: list[int] = []
        #: Lower bounds of the free pods, milli-CPU and bytes over the nodes in
        #: order(): exact when the order is rebuilt, lowered as rows change (not
        #: raised), so a request no larger than these fits on every node.
        self.min_free_pods = self.min_free_cpu = self.min_free_mem = 0
        #: Bumped whenever labels, taints or unschedulable of any node change
        #: (or a node comes or goes); caches of filter results key on it.
        self.static_version = 0
        self._profiles = ProfileCache()
        self._last: tuple[dict, PodProfile] | None = None
        self._views: dict[int, tuple[int, int, NodeView]] = {}
        #: The pods on each node (``NodeInfo.Pods``), for InterPodAffinity and
        #: PodTopologySpread.
        self.pods = PodIndex()
        #: What the scheduler's informers list: Services, ReplicaSets,
        #: StatefulSets, ReplicationControllers, Namespaces.
        self.listers = Listers()

    # -- sizing ---------------------------------------------------------------------
    def _grow(self) -> None:
        new = max(self._GROW, self._cap * 2)
        extra = new - self._cap

        def ext(arr: np.ndarray, fill: Any) -> np.ndarray:
            pad = np.full((extra,) + arr.shape[1:], fill, arr.dtype)
            return np.concatenate([arr, pad])

        self.amounts = ext(self.amounts, 0)
        self.res_version = ext(self.res_version, 0)
        self.unschedulable = ext(self.unschedulable, False)
        self.taints = ext(self.taints, -1)
        for cols in (self.extra_alloc, self.extra_req):
            for key, col in cols.items():
                cols[key] = ext(col, 0)
        self._extra_of.extend([None] * extra)
        for key, col in self.label_cols.items():
            self.label_cols[key] = ext(col, -1)
        self._name_of.extend([None] * extra)
        self._pos.extend([-1] * extra)
        self._static.extend([None] * extra)
        self._zone_of.extend([None] * extra)
        self._cap = new
        self.pods.set_capacity(new)

    @property
    def capacity(self) -> int:
        """Length of every per-slot array."""
        return self._cap

    # -- nodes ----------------------------------------------------------------------
    def upsert_node(self, node: dict) -> None:
        """Add a node, or update it from a newer Node object.

        Reads ``metadata.name``, ``metadata.labels``, ``spec.taints``,
        ``spec.unschedulable`` and ``status.allocatable`` (cpu, memory, pods;
        ``status.capacity`` when allocatable is missing). Conditions are not read:
        like upstream, the scheduler learns that a node is not ready from the
        ``node.kubernetes.io/not-ready`` / ``unreachable`` taints.
        """
        name = _node_name(node)
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        taints = tuple((str(t.get("key") or ""), str(t.get("value") or ""),
                        str(t.get("effect") or "")) for t in spec.get("taints") or ())
        unschedulable = bool(spec.get("unschedulable"))
        resources = status.get("allocatable") or status.get("capacity") or {}
        where = f"node {name}: status.allocatable"
        cpu = quantity_at(f"{where}.cpu", resources.get("cpu", 0), milli=True)
        mem = quantity_at(f"{where}.memory", resources.get("memory", 0))
        pods = quantity_at(f"{where}.pods", resources.get("pods", 0))
        extra = _extra_allocatable(resources, where)

        slot = self._slot_of.get(name)
        if slot is None:
            slot = self._new_slot(name)
        if (self.alloc_cpu[slot], self.alloc_mem[slot], self.alloc_pods[slot]) != (cpu, mem, pods):
            self.alloc_cpu[slot] = cpu
            self.alloc_mem[slot] = mem
            self.alloc_pods[slot] = pods
            self._touch(slot)
        if self._extra_of[slot] != extra:
            self._set_extra_allocatable(slot, extra)
        static = (labels, taints, unschedulable)
        if self._static[slot] != static:
            self._set_static(slot, labels, taints, unschedulable)
        zone = _zone_key(labels)
        if self._zone_of[slot] != zone:
            self._leave_zone(slot)
            self._join_zone(slot, zone)

    def _extra_column(self, cols: dict[str, np.ndarray], name: str) -> np.ndarray:
        col = cols.get(name)
        if col is None:
            col = cols[name] = np.zeros(self._cap, np.int64)
            other = self.extra_req if cols is self.extra_alloc else self.extra_alloc
            if name not in other:
                other[name] = np.zeros(self._cap, np.int64)
        return col

    def _set_extra_allocatable(self, slot: int, extra: dict[str, int]) -> None:
        for name, col in self.extra_alloc.items():
            if name not in extra:
                col[slot] = 0
        for name, amount in extra.items():
            self._extra_column(self.extra_alloc, name)[slot] = amount
        self._extra_of[slot] = extra
        self._touch(slot)

    def extra_free(self, name: str, slots: np.ndarray) -> np.ndarray:
        """Free amount (allocatable - requested) of resource ``name`` on rows ``slots``.

        0 on every row when no node lists the resource and no pod requests it.
        """
        alloc = self.extra_alloc.get(name)
        if alloc is None:
            return np.zeros(len(slots), np.int64)
        return alloc[slots] - self.extra_req[name][slots]

    def _touch(self, slot: int) -> None:
        """Record that a row's amounts changed."""
        # tolist() reads plain ints: cheaper than numpy scalar arithmetic, same values.
        a_cpu, a_mem, a_pods, r_cpu, r_mem, _, _, pods = self.amounts[slot].tolist()
        self._set_free(slot, a_cpu - r_cpu, a_mem - r_mem, a_pods - pods)

    def _set_free(self, slot: int, cpu: int, mem: int, pods: int) -> None:
        """Bump a row's res_version; copy its free amounts to the walk-order layout."""
        self._tick += 1
        tick = self._tick
        self.res_version[slot] = tick
        if self._order is not None:
            i = self._pos[slot]
            if i >= 0:
                j = i + len(self._order)
                self.walk_res_version[i] = self.walk_res_version[j] = tick
                self.walk_free_cpu[i] = self.walk_free_cpu[j] = cpu
                self.walk_free_mem[i] = self.walk_free_mem[j] = mem
                self.walk_free_pods[i] = self.walk_free_pods[j] = pods
                if cpu < self.min_free_cpu:
                    self.min_free_cpu = cpu
                if mem < self.min_free_mem:
                    self.min_free_mem = mem
                if pods < self.min_free_pods:
                    self.min_free_pods = pods

    def _new_slot(self, name: str) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            if self._high >= self._cap:
                self._grow()
            slot = self._high
            self._high += 1
        self._slot_of[name] = slot
        self._name_of[slot] = name
        self._touch(slot)
        self.static_version += 1
        return slot

    def _set_static(self, slot: int, labels: dict[str, str],
                    taints: tuple[tuple[str, str, str], ...], unschedulable: bool) -> None:
        old = self._static[slot]
        if old is not None:
            for key in old[0]:
                if key not in labels:
                    self.label_cols[key][slot] = -1
        for key, val in labels.items():
            col = self.label_cols.get(key)
            if col is None:
                col = self.label_cols[key] = np.full(self._cap, -1, np.int32)
                self.label_ids[key] = {}
                self.label_values[key] = []
            ids = self.label_ids[key]
            vid = ids.get(val)
            if vid is None:
                vid = ids[val] = len(self.label_values[key])
                self.label_values[key].append(val)
            col[slot] = vid
        if len(taints) > self.taints.shape[1]:
            pad = np.full((self._cap, len(taints) - self.taints.shape[1]), -1, np.int32)
            self.taints = np.concatenate([self.taints, pad], axis=1)
        self.taints[slot] = -1
        for i, taint in enumerate(taints):
            tid = self.taint_ids.get(taint)
            if tid is None:
                tid = self.taint_ids[taint] = len(self.taint_list)
                self.taint_list.append(taint)
            self.taints[slot, i] = tid
        self.unschedulable[slot] = unschedulable
        self._static[slot] = (dict(labels), taints, unschedulable)
        self.static_version += 1

    def remove_node(self, name: str) -> None:
        """Forget a node and the pods accounted on it (unknown names are ignored)."""
        slot = self._slot_of.pop(name, None)
        if slot is None:
            return
        old = self._static[slot]
        if old is not None:
            for key in old[0]:
                self.label_cols[key][slot] = -1
        self.taints[slot] = -1
        self.unschedulable[slot] = False
        self.amounts[slot] = 0
        for cols in (self.extra_alloc, self.extra_req):
            for col in cols.values():
                col[slot] = 0
        self._extra_of[slot] = None
        self._touch(slot)
        for users in self.ports.values():
            users.pop(slot, None)
        self.pods.remove_slot(slot)
        self._leave_zone(slot)
        self._static[slot] = None
        self._name_of[slot] = None
        self._free.append(slot)
        self.static_version += 1

    def _join_zone(self, slot: int, zone: str) -> None:
        if zone not in self._zone_slots:
            self._zones.append(zone)
            self._zone_slots[zone] = []
        self._zone_slots[zone].append(slot)
        self._zone_of[slot] = zone
        self._order = None

    def _leave_zone(self, slot: int) -> None:
        zone = self._zone_of[slot]
        if zone is None:
            return
        members = self._zone_slots[zone]
        members.remove(slot)
        if not members:
            del self._zone_slots[zone]
            self._zones.remove(zone)
        self._zone_of[slot] = None
        self._order = None

    def order(self) -> np.ndarray:
        """Slots in scheduling order: round-robin over zones (node_tree.go list)."""
        if self._order is None:
            out: list[int] = []
            lists = [self._zone_slots[z] for z in self._zones]
            depth = max((len(m) for m in lists), default=0)
            for i in range(depth):
                for members in lists:
                    if i < len(members):
                        out.append(members[i])
            self._order = np.asarray(out, np.int64)
            self._order2 = order2 = np.concatenate([self._order, self._order])
            self._pos = [-1] * self._cap
            for i, slot in enumerate(out):
                self._pos[slot] = i
            pods, cpu, mem = self.free(order2)
            self.walk_free_pods, self.walk_free_cpu, self.walk_free_mem = pods, cpu, mem
            self.walk_res_version = self.res_version[order2]
            if out:
                self.min_free_pods = int(pods.min())
                self.min_free_cpu = int(cpu.min())
                self.min_free_mem = int(mem.min())
        return self._order

    def order_twice(self) -> np.ndarray:
        """:meth:`order` concatenated with itself, to slice a wrapped window."""
        self.order()
        assert self._order2 is not None
        return self._order2

    def positions(self, slots: np.ndarray) -> np.ndarray:
        """Where rows are in :meth:`order` (their first copy in :meth:`order_twice`)."""
        self.order()
        pos = self._pos
        return np.asarray([pos[s] for s in slots.tolist()], np.int64)

    def names(self) -> list[str]:
        """Node names in the order the scheduler walks them."""
        return [self._name_of[s] for s in self.order()]  # type: ignore[misc]

    def slot(self, name: str) -> int | None:
        """The row of a node, or None when the table does not know it."""
        return self._slot_of.get(name)

    def name_of(self, slot: int) -> str:
        """The name of the node in a row."""
        name = self._name_of[slot]
        if name is None:
            raise Invalid(f"row {slot} of the NodeTable holds no node")
        return name

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, name: object) -> bool:
        return name in self._slot_of

    def __repr__(self) -> str:
        return f"<NodeTable {len(self)} nodes, {int(self.pod_count.sum())} pods>"

    def free(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Free pods, milli-CPU and bytes (allocatable - requested) of rows ``slots``."""
        rows = self.amounts[slots]
        return rows[:, 2] - rows[:, 7], rows[:, 0] - rows[:, 3], rows[:, 1] - rows[:, 4]

    def node_view(self, slot: int) -> NodeView:
        """The :class:`NodeView` of a row, as plugins see it (cached until it changes)."""
        version = int(self.res_version[slot])
        hit = self._views.get(slot)
        if hit is not None and hit[0] == version and hit[1] == self.static_version:
            return hit[2]
        a_cpu, a_mem, a_pods, r_cpu, r_mem, nz_cpu, nz_mem, pods = self.amounts[slot].tolist()
        labels, taints, unschedulable = self._static[slot] or ({}, (), False)
        ports = {key: frozenset(users[slot]) for key, users in self.ports.items()
                 if slot in users}
        allocatable = {"cpu": a_cpu, "memory": a_mem, "pods": a_pods,
                       **(self._extra_of[slot] or {})}
        requested = {"cpu": r_cpu, "memory": r_mem, "pods": pods}
        for name, col in self.extra_req.items():
            if col[slot]:
                requested[name] = int(col[slot])
        view = NodeView(self.name_of(slot), labels, taints, unschedulable, allocatable,
                        requested, {"cpu": nz_cpu, "memory": nz_mem}, ports)
        self._views[slot] = (version, self.static_version, view)
        return view

    # -- pods -----------------------------------------------------------------------
    def profile_for(self, pod: dict, *, scheduling: bool = False) -> PodProfile:
        """The :class:`PodProfile` of a pod (cached by template).

        With ``scheduling=True`` the table remembers the pair, so that binding
        this very dict next (:meth:`add_pod`) reuses the profile.
        """
        prof = self._profiles.get(pod)
        if scheduling:
            self._last = (pod, prof)
        return prof

    def add_pod(self, pod: dict, node_name: str) -> None:
        """Account a pod bound to ``node_name``: requests, pod count, host ports."""
        slot = self._slot_of.get(node_name)
        if slot is None:
            raise Invalid(f'node "{node_name}" is not in the NodeTable; add it with '
                          f"upsert_node() before binding pods to it")
        # The pod just scheduled is usually the one bound: reuse its profile.
        last, self._last = self._last, None
        prof = last[1] if last is not None and last[0] is pod else self.profile_for(pod)
        self._account(prof, slot, 1)
        self.pods.add(pod, slot)

    def update_pod(self, pod: dict, node_name: str) -> None:
        """A bound pod changed (labels, deletionTimestamp): keep ``pods`` current."""
        slot = self._slot_of.get(node_name)
        if slot is not None:
            self.pods.add(pod, slot)

    def remove_pod(self, pod: dict, node_name: str) -> None:
        """Undo :meth:`add_pod` (ignored when the node is already gone)."""
        slot = self._slot_of.get(node_name)
        if slot is not None:
            self._account(self.profile_for(pod), slot, -1)
            meta = pod.get("metadata") or {}
            self.pods.remove(f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}")

    def _account(self, prof: PodProfile, slot: int, sign: int) -> None:
        """Add (``sign=1``) or take away (``-1``) a pod's requests on a row."""
        # One read and one store of the row (requested columns: AMOUNTS[3:]), in
        # plain ints; then what _touch does.
        a_cpu, a_mem, a_pods, r_cpu, r_mem, nz_cpu, nz_mem, pods = self.amounts[slot].tolist()
        r_cpu += sign * prof.cpu
        r_mem += sign * prof.memory
        pods += sign
        self.amounts[slot, 3:] = (r_cpu, r_mem, nz_cpu + sign * prof.nonzero_cpu,
                                  nz_mem + sign * prof.nonzero_memory, pods)
        self._set_free(slot, a_cpu - r_cpu, a_mem - r_mem, a_pods - pods)
        for name, amount in prof.extra:
            self._extra_column(self.extra_req, name)[slot] += sign * amount
        for ip, protocol, port in prof.host_ports:
            users = self.ports.setdefault((protocol, port), {})
            ips = users.setdefault(slot, Counter())
            ips[ip] += sign
            if ips[ip] <= 0:
                del ips[ip]
                if not ips:
                    del users[slot]

    def requested(self, name: str) -> dict[str, int]:
        """What the pods on a node request: milli-CPU, bytes, the pod count.

        Other resources (ephemeral-storage, ``nvidia.com/gpu``...) appear when
        some pod on the node requests them.
        """
        slot = self._must(name)
        out = {"cpu": int(self.req_cpu[slot]), "memory": int(self.req_mem[slot]),
               "pods": int(self.pod_count[slot])}
        for resource, col in self.extra_req.items():
            if col[slot]:
                out[resource] = int(col[slot])
        return out

    def allocatable(self, name: str) -> dict[str, int]:
        """A node's allocatable milli-CPU, bytes and pods, and the other resources it lists."""
        slot = self._must(name)
        return {"cpu": int(self.alloc_cpu[slot]), "memory": int(self.alloc_mem[slot]),
                "pods": int(self.alloc_pods[slot]), **(self._extra_of[slot] or {})}

    def _must(self, name: str) -> int:
        slot = self._slot_of.get(name)
        if slot is None:
            raise Invalid(f'node "{name}" is not in the NodeTable; known nodes: '
                          f"{', '.join(self.names()[:10]) or '(none)'}")
        return slot
