"""The default kube-scheduler plugins, each applied to many nodes at once.

Every function here takes numpy arrays (one entry per node) and returns
arrays, following the upstream plugin it names; the upstream file is cited
next to each rule and constant. Filters run in the default profile's order
(pkg/scheduler/apis/config/v1/default_plugins.go): NodeUnschedulable,
NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit. A node
is rejected by the first filter that fails.

Example:
    >>> import numpy as np
    >>> from labsupport.sim.scheduling.plugins import least_allocated, balanced_allocation
    >>> alloc_cpu, alloc_mem = np.array([4000]), np.array([8 * 2**30])
    >>> least_allocated(np.array([1000]), alloc_cpu, np.array([2 * 2**30]), alloc_mem)
    array([75])
    >>> balanced_allocation(np.array([1000]), alloc_cpu, np.array([4 * 2**30]), alloc_mem,
    ...                     np.array([0]), np.array([3 * 2**30]))
    array([78])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labsupport.sim.scheduling.nodetable import NodeTable
from labsupport.sim.scheduling.podinfo import NodeAffinity, PodProfile, Requirement, Term

__all__ = [
    "MAX_NODE_SCORE", "WEIGHTS", "FILTER_PLUGINS", "SCORE_PLUGINS", "REASON",
    "PASSED", "UNSCHEDULABLE", "NODE_NAME", "TAINT", "AFFINITY", "PORTS", "FIT",
    "static_filters", "port_conflicts", "least_allocated", "most_allocated",
    "requested_to_capacity_ratio", "balanced_allocation", "normalize", "TAINT_REASON",
    "DRA_POST_FILTER",
]

# pkg/scheduler/framework/interface.go: MaxNodeScore = 100 (MinNodeScore = 0).
MAX_NODE_SCORE = 100

# pkg/scheduler/apis/config/v1/default_plugins.go MultiPoint weights; no entry of
# CHANGELOG-1.33 .. 1.37 changes them (checked for v1.37). PodTopologySpread (2)
# and InterPodAffinity (2) are default score plugins too; the simulator does not
# model them. Default plugins the simulator leaves out because it has no objects
# for them to act on: DynamicResources (added by applyFeatureGates since DRA went
# GA and on by default in v1.34; it acts on ResourceClaims, but its PostFilter
# still shows in every FailedScheduling message, see DRA_POST_FILTER), the volume
# plugins, and NodeDeclaredFeatures (KEP-5328, beta in v1.36, CHANGELOG-1.36
# #136042; a Filter on node.status.declaredFeatures). GangScheduling and
# PodGroupPodsCount (CHANGELOG-1.36 #137488) act only on Pods of a PodGroup.
WEIGHTS = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
}
SCORE_PLUGINS = tuple(WEIGHTS)

# Filter outcome codes, in the order the filters run.
PASSED, UNSCHEDULABLE, NODE_NAME, TAINT, AFFINITY, PORTS, FIT = range(7)
FILTER_PLUGINS = {
    UNSCHEDULABLE: "NodeUnschedulable",
    NODE_NAME: "NodeName",
    TAINT: "TaintToleration",
    AFFINITY: "NodeAffinity",
    PORTS: "NodePorts",
    FIT: "NodeResourcesFit",
}
# Failure reasons, word for word. NodeResourcesFit's reasons name the resource,
# so they are listed separately below.
REASON = {
    # plugins/nodeunschedulable/node_unschedulable.go: ErrReasonUnschedulable
    UNSCHEDULABLE: "node(s) were unschedulable",
    # plugins/nodename/node_name.go: ErrReason
    NODE_NAME: "node(s) didn't match the requested node name",
    # plugins/nodeaffinity/node_affinity.go: ErrReasonPod
    AFFINITY: "node(s) didn't match Pod's node affinity/selector",
    # plugins/nodeports/node_ports.go: ErrReason
    PORTS: "node(s) didn't have free ports for the requested pod ports",
}
# plugins/tainttoleration/taint_toleration.go Filter. Since kubernetes PR #134740
# (CHANGELOG-1.35, "Pod statuses no longer include specific taint keys or values
# when scheduling fails because of untolerated taints"; also cherry-picked to
# v1.34 as #135023) the reason is generic; the taint goes to the scheduler log
# only. Until v1.34 it was "node(s) had untolerated taint {<key>: <value>}".
TAINT_REASON = "node(s) had untolerated taint(s)"
# plugins/noderesources/fit.go fitsRequest, in the order it appends them.
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
# plugins/dynamicresources/dynamicresources.go PostFilter (read at kubernetes
# commit 04f5fdea, v1.37 development): for a Pod without ResourceClaims it
# returns Unschedulable "no new claims to deallocate". DynamicResources is in the
# default profile since DRA is on by default (v1.34) and runs its PostFilter
# before DefaultPreemption; framework RunPostFilterPlugins joins the reasons of
# every rejecting PostFilter with ", ", so the message reads "... no new claims to
# deallocate, preemption: ...". (kubernetes PR #140222 drops this text; it is
# not in the v1.37 code read here.)
DRA_POST_FILTER = "no new claims to deallocate"
# plugins/nodeaffinity/node_affinity.go: errReasonConflict (PreFilter).
AFFINITY_CONFLICT = "pod affinity terms conflict"
# pkg/scheduler/schedule_one.go findNodesThatFitPod: nodes a PreFilter result
# left out get this status.
PREFILTER_ABSENT = "node(s) didn't satisfy plugin(s) [NodeAffinity]"

# Taint effects (k8s.io/api/core/v1 TaintEffect*).
_HARD_EFFECTS = ("NoSchedule", "NoExecute")  # helper.DoNotScheduleTaintsFilterFunc
_SOFT_EFFECT = "PreferNoSchedule"
# v1.TaintNodeUnschedulable, the taint NodeUnschedulable lets a pod tolerate.
_UNSCHEDULABLE_TAINT = ("node.kubernetes.io/unschedulable", "", "NoSchedule")


class StaticFilters:
    """Static filter results of one pod template for every row of a NodeTable.

    Static: they depend only on the pod template and the nodes' labels, taints
    and unschedulable flag, not on the pods already bound.

    Attributes:
        code: per row, PASSED or the first failing static filter's code.
        taint: per row, the id of the untolerated taint (for TAINT rows).
        soft_taints: per row, intolerable PreferNoSchedule taints (score input).
        preferred: per row, summed weights of matching preferred terms, or None
            when the pod has no preferred node affinity (score plugin skipped).
        version: the table's ``static_version`` these were computed at.
        all_pass: every node of the table passes (``code`` is PASSED on every
            row in :meth:`NodeTable.order`), so the Filter can skip ``code``.
        any_soft: some node of the table has an intolerable PreferNoSchedule
            taint (else the TaintToleration score is 100 on every node).
    """

    __slots__ = ("code", "taint", "soft_taints", "preferred", "version", "all_pass",
                 "any_soft")

    def __init__(self, code: np.ndarray, taint: np.ndarray, soft_taints: np.ndarray,
                 preferred: np.ndarray | None, version: int, *, all_pass: bool = False,
                 any_soft: bool = True) -> None:
        self.code = code
        self.taint = taint
        self.soft_taints = soft_taints
        self.preferred = preferred
        self.version = version
        self.all_pass = all_pass
        self.any_soft = any_soft


def _requirement_mask(table: NodeTable, req: Requirement) -> np.ndarray:
    """Rows whose labels meet one requirement (labels.Requirement.Matches)."""
    col = table.label_cols.get(req.key)
    cap = table.capacity
    if col is None:
        col = np.full(cap, -1, np.int32)
    present = col >= 0
    op = req.operator
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return ~present
    ids = table.label_ids.get(req.key, {})
    if op in ("In", "NotIn"):
        wanted = [ids[v] for v in req.values if v in ids]
        hit = np.isin(col, wanted) if wanted else np.zeros(cap, bool)
        return hit if op == "In" else ~hit
    # Gt / Lt: the label must parse with strconv.ParseInt (base 10, 64 bits).
    values = table.label_values.get(req.key, [])
    numbers = np.zeros(len(values) + 1, np.int64)
    valid = np.zeros(len(values) + 1, bool)
    for i, text in enumerate(values):
        stripped = text[1:] if text[:1] in "+-" else text
        if stripped.isdigit() and stripped.isascii():
            n = int(text)
            if -(2**63) <= n < 2**63:
                numbers[i], valid[i] = n, True
    num, ok = numbers[col], valid[col]  # col == -1 picks the trailing invalid entry
    return ok & (num > req.number if op == "Gt" else num < req.number)


def _term_mask(table: NodeTable, term: Term) -> np.ndarray:
    cap = table.capacity
    if not term.valid:
        return np.zeros(cap, bool)
    mask = np.ones(cap, bool)
    for req in term.labels:
        mask &= _requirement_mask(table, req)
    for req in term.fields:  # only metadata.name, In / NotIn with one value
        hit = np.zeros(cap, bool)
        slot = table.slot(req.values[0])
        if slot is not None:
            hit[slot] = True
        mask &= hit if req.operator == "In" else ~hit
    return mask


def _affinity_mask(table: NodeTable, affinity: NodeAffinity) -> np.ndarray:
    """component-helpers nodeaffinity RequiredNodeAffinity.Match, for every row."""
    cap = table.capacity
    mask = np.ones(cap, bool)
    for key, val in affinity.node_selector:
        col = table.label_cols.get(key)
        vid = table.label_ids.get(key, {}).get(val)
        if col is None or vid is None:
            return np.zeros(cap, bool)
        mask &= col == vid
    if affinity.required is not None:
        # Terms are ORed; an empty or unparsable term matches nothing.
        any_term = np.zeros(cap, bool)
        for term in affinity.required:
            any_term |= _term_mask(table, term)
        mask &= any_term
    return mask


def _tolerated(tolerations: Sequence, taint: tuple[str, str, str]) -> bool:
    return any(t.tolerates(*taint) for t in tolerations)


def static_filters(table: NodeTable, prof: PodProfile) -> StaticFilters:
    """NodeUnschedulable, TaintToleration and NodeAffinity for every row.

    Also the inputs of the TaintToleration and NodeAffinity scores, which
    depend on the same node facts.
    """
    cap = table.capacity
    code = np.zeros(cap, np.int8)
    # TaintToleration: which taint ids block the pod, which ones it dislikes.
    n_taints = len(table.taint_list)
    hard = np.zeros(n_taints + 1, bool)  # the extra last entry serves the -1 padding
    soft = np.zeros(n_taints + 1, np.int64)
    for tid, taint in enumerate(table.taint_list):
        if taint[2] in _HARD_EFFECTS:
            hard[tid] = not _tolerated(prof.tolerations, taint)
        elif taint[2] == _SOFT_EFFECT:
            soft[tid] = not _tolerated(prof.tolerations, taint)
    ids = table.taints
    if ids.shape[1]:
        blocked = hard[ids]
        blocked_any = blocked.any(axis=1)
        first = blocked.argmax(axis=1)
        taint = np.where(blocked_any, ids[np.arange(cap), first], -1).astype(np.int32)
        soft_taints = soft[ids].sum(axis=1)
    else:
        blocked_any = np.zeros(cap, bool)
        taint = np.full(cap, -1, np.int32)
        soft_taints = np.zeros(cap, np.int64)
    aff = prof.affinity
    affinity_fail = ~_affinity_mask(table, aff) if aff.filters else np.zeros(cap, bool)
    # Later filters first, so the earliest failing filter wins.
    code[affinity_fail] = AFFINITY
    code[blocked_any] = TAINT
    if not _tolerated(prof.tolerations, _UNSCHEDULABLE_TAINT):
        code[table.unschedulable] = UNSCHEDULABLE
    preferred = None
    if aff.preferred is not None:
        preferred = np.zeros(cap, np.int64)
        for weight, term in aff.preferred:
            preferred += weight * _term_mask(table, term)
    # Rows that hold no node are never walked: only the nodes' rows count here.
    live = table.order()
    return StaticFilters(code, taint, soft_taints, preferred, table.static_version,
                         all_pass=not code[live].any(),
                         any_soft=bool(soft_taints[live].any()))


def port_conflicts(table: NodeTable, ports: Sequence[tuple[str, str, int]]) -> np.ndarray:
    """Rows where a wanted host port is taken (framework.HostPortInfo.CheckConflict).

    0.0.0.0 conflicts with the same protocol/port on any IP; a specific IP
    conflicts with itself and with 0.0.0.0.
    """
    hit = np.zeros(table.capacity, bool)
    for ip, protocol, port in ports:
        for slot, ips in table.ports.get((protocol, port), {}).items():
            if ip == "0.0.0.0" or "0.0.0.0" in ips or ip in ips:
                hit[slot] = True
    return hit


def _per_resource(score: np.ndarray, alloc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # resource_allocation.go score(): a resource with 0 allocatable is left out.
    used = alloc > 0
    return np.where(used, score, 0), used.astype(np.int64)


def _weighted(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    # Each resource has weight 1 (NodeResourcesFitArgs default resources cpu, memory);
    # nodeScore / weightSum in int64 arithmetic.
    total = sum(s for s, _ in parts)
    weights = sum(w for _, w in parts)
    return np.where(weights > 0, total // np.maximum(weights, 1), 0)


def least_allocated(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                    req_mem: np.ndarray, alloc_mem: np.ndarray) -> np.ndarray:
    """NodeResourcesFit LeastAllocated (plugins/noderesources/least_allocated.go).

    Per resource ``(allocatable - requested) * 100 / allocatable`` (0 when
    requested exceeds allocatable), averaged with weight 1 each, all integer.
    ``req_*`` already include the incoming pod (with the non-zero defaults).
    """
    parts = []
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        raw = (alloc - req) * MAX_NODE_SCORE // np.maximum(alloc, 1)
        parts.append(_per_resource(np.where(req > alloc, 0, raw), alloc))
    return _weighted(parts)


def most_allocated(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                   req_mem: np.ndarray, alloc_mem: np.ndarray) -> np.ndarray:
    """NodeResourcesFit MostAllocated (plugins/noderesources/most_allocated.go).

    Per resource ``requested * 100 / allocatable`` with requested capped at
    allocatable (pods without requests can push it over).
    """
    parts = []
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        raw = np.minimum(req, alloc) * MAX_NODE_SCORE // np.maximum(alloc, 1)
        parts.append(_per_resource(raw, alloc))
    return _weighted(parts)


# RequestedToCapacityRatio needs a shape; with none given the simulator uses the
# bin-packing shape of the scheduling docs (config/v1 UtilizationShapePoint):
# utilization 0 -> score 0, utilization 100 -> score 10 (MaxCustomPriorityScore).
DEFAULT_SHAPE = ((0, 0), (100, 10))
_MAX_CUSTOM_PRIORITY_SCORE = 10  # pkg/scheduler/apis/config/types.go


def requested_to_capacity_ratio(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                                req_mem: np.ndarray, alloc_mem: np.ndarray,
                                shape: Sequence[tuple[int, int]] = DEFAULT_SHAPE) -> np.ndarray:
    """NodeResourcesFit RequestedToCapacityRatio (requested_to_capacity_ratio.go).

    Utilization ``requested * 100 / allocatable`` mapped through the broken
    linear function of ``shape`` (scores scaled from 0..10 to 0..100); resources
    scoring 0 do not count in the average, which is rounded (math.Round).
    """
    xs = [int(u) for u, _ in shape]
    ys = [int(s) * (MAX_NODE_SCORE // _MAX_CUSTOM_PRIORITY_SCORE) for _, s in shape]

    def broken_linear(p: np.ndarray) -> np.ndarray:
        # helper.BuildBrokenLinearFunction, integer arithmetic.
        out = np.full(p.shape, ys[-1], np.int64)
        done = np.zeros(p.shape, bool)
        for i in range(len(xs)):
            here = ~done & (p <= xs[i])
            if i == 0:
                out[here] = ys[0]
            else:
                dy = (ys[i] - ys[i - 1]) * (p[here] - xs[i - 1])
                out[here] = ys[i - 1] + _go_div(dy, xs[i] - xs[i - 1])
            done |= here
        return out

    total = np.zeros(req_cpu.shape, np.int64)
    weights = np.zeros(req_cpu.shape, np.int64)
    for req, alloc in ((req_cpu, alloc_cpu), (req_mem, alloc_mem)):
        util = np.where(req > alloc, 100, req * 100 // np.maximum(alloc, 1))
        score = broken_linear(util)
        counted = (alloc > 0) & (score > 0)
        total += np.where(counted, score, 0)
        weights += counted
    mean = total / np.maximum(weights, 1)
    return np.where(weights > 0, np.floor(mean + 0.5), 0).astype(np.int64)


def _go_div(a: np.ndarray, b: int) -> np.ndarray:
    """Go's integer division truncates toward zero (numpy's // floors)."""
    q = np.abs(a) // abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def _balance(req_cpu: np.ndarray, alloc_cpu: np.ndarray, req_mem: np.ndarray,
             alloc_mem: np.ndarray) -> np.ndarray:
    """How balanced a node's requests are: ``int64((1 - std) * 100)``, 50..100.

    Fractions ``requested / allocatable`` (float64, capped at 1); a resource
    with 0 allocatable is left out, and with fewer than two resources left the
    std is 0. With cpu and memory ``std = |f_cpu - f_mem| / 2``
    (balanced_allocation.go, the balance score of one set of requests).
    """
    has_cpu, has_mem = alloc_cpu > 0, alloc_mem > 0
    f_cpu = np.minimum(req_cpu / np.maximum(alloc_cpu, 1), 1.0)
    f_mem = np.minimum(req_mem / np.maximum(alloc_mem, 1), 1.0)
    std = np.where(has_cpu & has_mem, np.abs((f_cpu - f_mem) / 2), 0.0)
    return ((1 - std) * float(MAX_NODE_SCORE)).astype(np.int64)


def balanced_allocation(req_cpu: np.ndarray, alloc_cpu: np.ndarray,
                        req_mem: np.ndarray, alloc_mem: np.ndarray,
                        node_cpu: np.ndarray, node_mem: np.ndarray) -> np.ndarray:
    """NodeResourcesBalancedAllocation (plugins/noderesources/balanced_allocation.go).

    Since v1.36 (kubernetes PR #135573, CHANGELOG-1.36: "The score will now take
    into consideration both balance with and without the requested pod") the
    score rewards the *change* of balance the pod brings:
    ``50 + (50 + with_pod - without_pod) // 2`` in int64, where each balance is
    ``int64((1 - std) * 100)`` (see :func:`_balance`) of the node's requests with
    and without the pod. A pod that keeps the balance scores 75, one that turns
    a perfectly balanced node into a lopsided one 50, and the reverse 100. (Up
    to v1.35 the score was ``with_pod`` alone.)

    Uses the *actual* requests, not the non-zero defaults (``useRequested``).
    A pod that requests neither cpu nor memory is best-effort: PreScore returns
    Skip and the plugin adds nothing (0) on every node (kubernetes PR #130260,
    v1.33, "The BalancedAllocation plugin will skip all best-effort
    (zero-requested) pod").

    Args:
        req_cpu: milli-CPU requested on each node, the incoming pod included.
        alloc_cpu: allocatable milli-CPU of each node.
        req_mem: bytes requested on each node, the incoming pod included.
        alloc_mem: allocatable bytes of each node.
        node_cpu: milli-CPU requested on each node without the pod.
        node_mem: bytes requested on each node without the pod.

    Example:
        >>> import numpy as np
        >>> a = np.array
        >>> # 4 CPU / 8Gi, 1 CPU / 2Gi used, the pod asks 1 CPU / 1Gi: balance
        >>> # 100 -> 93 (|0.5 - 0.375| / 2), so 50 + (50 + 93 - 100) // 2 = 71.
        >>> balanced_allocation(a([2000]), a([4000]), a([3 * 2**30]), a([8 * 2**30]),
        ...                     a([1000]), a([2 * 2**30]))
        array([71])
    """
    with_pod = _balance(req_cpu, alloc_cpu, req_mem, alloc_mem)
    without_pod = _balance(node_cpu, alloc_cpu, node_mem, alloc_mem)
    half = MAX_NODE_SCORE // 2
    # Both balances are in 50..100, so the dividend is never negative and
    # Python's floor division equals Go's truncating one.
    score = half + (half + with_pod - without_pod) // 2
    best_effort = (req_cpu == node_cpu) & (req_mem == node_mem)
    return np.where(best_effort, 0, score)


def _balance_one(req_cpu: int, req_mem: int, alloc_cpu: int, alloc_mem: int) -> int:
    """:func:`_balance` for one node, in plain Python numbers (same float64 steps)."""
    if alloc_cpu > 0 and alloc_mem > 0:
        std = abs((min(req_cpu / alloc_cpu, 1.0) - min(req_mem / alloc_mem, 1.0)) / 2)
    else:
        std = 0.0
    return int((1 - std) * float(MAX_NODE_SCORE))


def resource_score_one(strategy: str, nz_cpu: int, nz_mem: int, req_cpu: int, req_mem: int,
                       alloc_cpu: int, alloc_mem: int, node_cpu: int, node_mem: int) -> int:
    """NodeResourcesFit + BalancedAllocation for one node, in plain Python ints.

    The same formulas as :func:`least_allocated` / :func:`most_allocated` and
    :func:`balanced_allocation` (tests check they agree); used when only a few
    nodes changed since the vectorised scores were cached. ``req_*`` include
    the pod, ``node_*`` are the node's requests without it.

    Example:
        >>> resource_score_one("LeastAllocated", 2000, 3 * 2**30, 2000, 3 * 2**30,
        ...                    4000, 8 * 2**30, 1000, 2 * 2**30)   # 56 + 71
        127
    """
    total = weights = 0
    for req, alloc in ((nz_cpu, alloc_cpu), (nz_mem, alloc_mem)):
        if alloc <= 0:
            continue
        if strategy == "LeastAllocated":
            total += 0 if req > alloc else (alloc - req) * MAX_NODE_SCORE // alloc
        else:  # MostAllocated
            total += min(req, alloc) * MAX_NODE_SCORE // alloc
        weights += 1
    fit = total // weights if weights else 0
    if req_cpu == node_cpu and req_mem == node_mem:  # best-effort pod: Skip (PR #130260)
        return fit
    half = MAX_NODE_SCORE // 2
    with_pod = _balance_one(req_cpu, req_mem, alloc_cpu, alloc_mem)
    without_pod = _balance_one(node_cpu, node_mem, alloc_cpu, alloc_mem)
    return fit + half + (half + with_pod - without_pod) // 2


def normalize(raw: np.ndarray, *, reverse: bool) -> np.ndarray:
    """helper.DefaultNormalizeScore (plugins/helper/normalize_score.go).

    Scales to 0..100 by the highest raw score among the nodes scored; reverse
    turns "fewer is better" around. All zero: 0, or 100 when reversed.
    """
    top = int(raw.max()) if raw.size else 0
    if top == 0:
        return np.full(raw.shape, MAX_NODE_SCORE if reverse else 0, np.int64)
    scaled = MAX_NODE_SCORE * raw // top
    return MAX_NODE_SCORE - scaled if reverse else scaled


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int | None) -> int:
    """How many feasible nodes end the search (schedule_one.go numFeasibleNodesToFind).

    Example:
        >>> [num_feasible_nodes_to_find(n, None) for n in (50, 100, 1000, 5000)]
        [50, 100, 420, 500]
    """
    # pkg/scheduler/schedule_one.go: minFeasibleNodesToFind = 100,
    # minFeasibleNodesPercentageToFind = 5; percentageOfNodesToScore 0 means adaptive.
    min_nodes, min_percentage = 100, 5
    if num_all_nodes < min_nodes:
        return num_all_nodes
    pct = percentage or 0
    if pct == 0:
        pct = max(min_percentage, 50 - num_all_nodes // 125)
    return max(min_nodes, num_all_nodes * pct // 100)


def taint_reason(table: NodeTable, taint_id: int) -> str:
    """The TaintToleration failure text for a taint id of ``table``.

    Since v1.35 (kubernetes PR #134740) it no longer names the taint, so every
    taint id gives the same text; ``table.taint_list[taint_id]`` still says
    which taint it was.

    Example:
        >>> t = NodeTable()
        >>> t.upsert_node({"metadata": {"name": "gpu-1"}, "spec": {"taints": [
        ...     {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}})
        >>> taint_reason(t, 0), t.taint_list[0]
        ('node(s) had untolerated taint(s)', ('dedicated', 'gpu', 'NoSchedule'))
    """
    table.taint_list[taint_id]  # an unknown id is still an error
    return TAINT_REASON
