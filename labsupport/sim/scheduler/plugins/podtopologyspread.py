"""PodTopologySpread: ``topologySpreadConstraints``, and the default ones.

Upstream: pkg/scheduler/framework/plugins/podtopologyspread (common.go,
filtering.go, scoring.go, plugin.go). A constraint counts the pods of the
incoming pod's namespace that its selector matches (terminating pods left
out; an empty selector counts none) per *domain*: a value of the
constraint's ``topologyKey`` among the nodes that have every constraint's
key and pass its inclusion policies (``nodeAffinityPolicy`` Honor: the
pod's nodeSelector / required node affinity; ``nodeTaintsPolicy`` Honor:
no NoSchedule / NoExecute taint the pod does not tolerate).

Filter (``whenUnsatisfiable: DoNotSchedule``): a node without the key fails
with ``... (missing required label)`` (UnschedulableAndUnresolvable); else
``count in the node's domain + 1 if the pod matches its own selector -
global minimum`` must be at most ``maxSkew``, else ``node(s) didn't match
pod topology spread constraints`` (Unschedulable). The global minimum is
the smallest domain count, or 0 while there are fewer domains than
``minDomains``.

Score (``ScheduleAnyway``): per constraint, ``count * log(domains + 2) +
maxSkew - 1`` (domains among the feasible nodes; for
``kubernetes.io/hostname`` the count is the node's own pods), summed and
rounded; NormalizeScore ``100 * (max + min - score) / max`` (fewer is
better; 100 everywhere when max is 0). With its own constraints a pod
ignores (scores 0) nodes missing a key.

A pod with no constraints of its own gets the system defaults (plugin.go
``systemDefaultConstraints``): ``kubernetes.io/hostname`` maxSkew 3 and
``topology.kubernetes.io/zone`` maxSkew 5, both ScheduleAnyway, selecting
the pods of its Services, ReplicaSet, StatefulSet or ReplicationController
(plugins/helper/spread.go ``DefaultSelector``); a pod that none of these
selects gets none. Nodes missing a default key are not ignored.

Example:
    >>> from labsupport.sim.scheduler.plugins.podtopologyspread import PodTopologySpread
    >>> PodTopologySpread().weight, PodTopologySpread.reasons
    (2, ("node(s) didn't match pod topology spread constraints", "node(s) didn't match pod topology spread constraints (missing required label)"))
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from labsupport.sim.scheduler.framework import (
    FILTER,
    FILTERED_NODES,
    MAX_NODE_SCORE,
    PRE_FILTER,
    PRE_SCORE,
    SCORE,
    SKIP,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    CodedFilterPlugin,
    Status,
)
from labsupport.sim.scheduler.plugins.nodeaffinity import _required_mask, required_matches
from labsupport.sim.scheduler.plugins.tainttoleration import _tolerated
from labsupport.sim.scheduler.selectors import (
    EVERYTHING,
    Selector,
    SpreadConstraint,
    spread_constraints_of,
)
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle
    from labsupport.sim.scheduler.nodetable import NodeTable

__all__ = ["PodTopologySpread", "NAME", "ERR_REASON_CONSTRAINTS_NOT_MATCH",
           "ERR_REASON_NODE_LABEL_NOT_MATCH", "SYSTEM_DEFAULT_CONSTRAINTS", "default_selector",
           "soft_constraints"]

NAME = "PodTopologySpread"
# plugin.go: ErrReasonConstraintsNotMatch, ErrReasonNodeLabelNotMatch.
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
#: plugin.go systemDefaultConstraints: (topologyKey, maxSkew), ScheduleAnyway.
SYSTEM_DEFAULT_CONSTRAINTS = ((HOSTNAME, 3), (ZONE, 5))
_MAX_INT32 = 2**31 - 1
_CONTROLLERS = {("v1", "ReplicationController"), ("apps/v1", "ReplicaSet"),
                ("apps/v1", "StatefulSet")}


def default_selector(pod: Mapping, table: NodeTable) -> Selector:
    """helper.DefaultSelector: the selectors of the pod's Services and controller, merged."""
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    labels = meta.get("labels") or {}
    label_set: dict[str, str] = {}
    for svc_selector in table.listers.services(namespace):
        if all(labels.get(k) == v for k, v in svc_selector.items()):
            label_set.update({str(k): str(v) for k, v in svc_selector.items()})
    selector = _of_set(label_set) if label_set else EVERYTHING
    owner = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
    if owner is None or (owner.get("apiVersion"), owner.get("kind")) not in _CONTROLLERS:
        return selector
    obj = table.listers.controller(owner["kind"], namespace, str(owner.get("name")))
    if obj is None:
        return selector
    spec_selector = (obj.get("spec") or {}).get("selector")
    if owner["kind"] == "ReplicationController":
        label_set.update({str(k): str(v) for k, v in (spec_selector or {}).items()})
        return _of_set(label_set)
    other = _parsed(spec_selector)
    return selector if other.nothing else selector.add(*other.requirements)


_PARSED: dict[int, tuple[object, Selector]] = {}


def _of_set(labels: dict[str, str]) -> Selector:
    return _of_items(tuple(sorted(labels.items())))


@lru_cache(maxsize=4096)
def _of_items(items: tuple[tuple[str, str], ...]) -> Selector:
    return Selector.of_set(dict(items))


def _parsed(raw: Mapping | None) -> Selector:
    """Selector.parse, remembered per stored object (stored objects are replaced, not changed)."""
    hit = _PARSED.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    selector = Selector.parse(raw)
    if len(_PARSED) >= 4096:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[id(raw)] = (raw, selector)
    return selector


def soft_constraints(pod: Mapping, table: NodeTable | None
                     ) -> tuple[tuple[SpreadConstraint, ...], bool]:
    """The ScheduleAnyway constraints, and whether nodes missing a key are ignored."""
    if (pod.get("spec") or {}).get("topologySpreadConstraints"):
        return spread_constraints_of(pod, "ScheduleAnyway"), True
    if table is None:
        return (), False
    return _default_constraints(pod, table), False


def _system_defaults(pod: Mapping, table: NodeTable) -> tuple[SpreadConstraint, ...]:
    """The system default constraints of a pod, computed (the reference for the memo)."""
    selector = default_selector(pod, table)
    if selector.empty:
        return ()
    return tuple(SpreadConstraint(skew, key, selector)
                 for key, skew in SYSTEM_DEFAULT_CONSTRAINTS)


#: _default_constraints' memo: key -> (the controller's spec.selector, constraints).
_DEFAULTS: dict[tuple, tuple[object, tuple[SpreadConstraint, ...]]] = {}


def _default_constraints(pod: Mapping, table: NodeTable) -> tuple[SpreadConstraint, ...]:
    """:func:`_system_defaults`, remembered by everything :func:`default_selector` reads.

    That is: the pod's namespace and labels, its controller reference, the
    controller's ``spec.selector`` (by identity: stored objects are replaced,
    never changed in place, so a new selector is a new object) and the
    Services (by the listers' ``services_version``, never reused). The pods of one
    ReplicaSet then share one answer instead of each merging selectors
    (``tests/sim/test_spread_defaults_memo.py`` checks both agree).
    """
    listers = table.listers
    services = getattr(listers, "services_version", None)
    if services is None:  # listers that cannot say when Services change
        return _system_defaults(pod, table)
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    owner = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
    spec_selector: object = None
    owner_key: tuple = ()
    if owner is not None:
        owner_key = (owner.get("apiVersion"), owner.get("kind"), owner.get("name"))
        if (owner_key[0], owner_key[1]) in _CONTROLLERS:
            obj = listers.controller(owner["kind"], namespace, str(owner.get("name")))
            if obj is not None:
                spec_selector = (obj.get("spec") or {}).get("selector")
            owner_key += (obj is None,)
    key = (services, namespace, tuple((meta.get("labels") or {}).items()), owner_key,
           id(spec_selector))
    try:
        hit = _DEFAULTS.get(key)
    except TypeError:  # a label value that is not a string: no memo
        return _system_defaults(pod, table)
    if hit is not None and hit[0] is spec_selector:
        return hit[1]
    constraints = _system_defaults(pod, table)
    if len(_DEFAULTS) >= 4096:
        _DEFAULTS.pop(next(iter(_DEFAULTS)))
    _DEFAULTS[key] = (spec_selector, constraints)
    return constraints


def _included(c: SpreadConstraint, pod: PodView, node: NodeView) -> bool:
    """Whether the node counts for ``c`` (matchNodeInclusionPolicies)."""
    if c.honor_node_affinity and not required_matches(pod.profile.affinity, node):
        return False
    if c.honor_node_taints:
        for taint in node.taints:
            if taint[2] in ("NoSchedule", "NoExecute") and \
                    not _tolerated(pod.profile.tolerations, taint):
                return False
    return True


def _count(pods: Mapping | None, selector: Selector, namespace: str) -> int:
    """countPodsMatchSelector: pods of the namespace, not terminating, selected."""
    if selector.empty or not pods:
        return 0
    return sum(1 for e in pods.values() if not e.terminating and e.namespace == namespace
               and selector.matches(e.labels))


def _round(x: float) -> int:
    """Go's math.Round: halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


@dataclass
class _FilterState:
    constraints: tuple[SpreadConstraint, ...]
    pair_counts: dict[tuple[str, str], int]
    domains: dict[str, int]
    minimum: dict[str, int]


@dataclass
class _ScoreState:
    constraints: tuple[SpreadConstraint, ...]
    ignored: set[str]
    counts: list[dict[str, int]]
    weights: list[float]
    order: list[str]


class PodTopologySpread(CodedFilterPlugin):
    """PreFilter, Filter, PreScore and Score on how matching pods are spread (weight 2)."""

    name = NAME
    extension_points = (PRE_FILTER, FILTER, PRE_SCORE, SCORE)
    reasons = (ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH)
    weight = 2
    filter_code = UNSCHEDULABLE
    upstream = "pkg/scheduler/framework/plugins/podtopologyspread"

    # -- the reference cycle ---------------------------------------------------------------
    def pre_filter(self, pod: PodView) -> Status:
        """Count the matching pods per domain (the Filter passes pods without constraints).

        Upstream returns Skip for a pod without DoNotSchedule constraints; the
        verdicts are the same, and the fast path reuses a PreFilter result for
        pods of one template, whose constraints may differ.
        """
        if pod.snapshot is not None:
            self._filter_state(pod)
        return Status.success()

    def _filter_state(self, pod: PodView) -> _FilterState:
        key = "PreFilter" + NAME
        if key in pod.state:
            return pod.state[key]
        constraints = spread_constraints_of(pod.obj, "DoNotSchedule")
        pair_counts: dict[tuple[str, str], int] = {}
        table = pod.snapshot
        if constraints and table is not None:
            for name in table.names():
                slot = table.slot(name)
                node = table.node_view(slot)
                if any(c.topology_key not in node.labels for c in constraints):
                    continue
                here: dict[tuple[str, str], int] = {}
                for c in constraints:
                    if _included(c, pod, node):
                        pair = (c.topology_key, node.labels[c.topology_key])
                        here[pair] = _count(table.pods.on_slot.get(slot), c.selector,
                                            pod.namespace)
                for pair, n in here.items():
                    pair_counts[pair] = pair_counts.get(pair, 0) + n
        domains: dict[str, int] = {}
        minimum: dict[str, int] = {}
        for (k, _), n in pair_counts.items():
            domains[k] = domains.get(k, 0) + 1
            minimum[k] = min(minimum.get(k, _MAX_INT32), n)
        state = pod.state[key] = _FilterState(constraints, pair_counts, domains, minimum)
        return state

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Each constraint: the node has the key, and the skew stays within maxSkew."""
        s = self._filter_state(pod)
        for c in s.constraints:
            value = node.labels.get(c.topology_key)
            if value is None:
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_NODE_LABEL_NOT_MATCH,),
                              NAME)
            minimum = s.minimum.get(c.topology_key, _MAX_INT32)
            if s.domains.get(c.topology_key, 0) < c.min_domains:
                minimum = 0
            own = 1 if c.selector.matches(pod.labels) else 0
            if s.pair_counts.get((c.topology_key, value), 0) + own - minimum > c.max_skew:
                return Status(UNSCHEDULABLE, (ERR_REASON_CONSTRAINTS_NOT_MATCH,), NAME)
        return Status.success()

    def _score_state(self, pod: PodView) -> _ScoreState | None:
        key = "PreScore" + NAME
        if key in pod.state:
            return pod.state[key]
        table = pod.snapshot
        constraints, require_all = soft_constraints(pod.obj, table)
        state = None
        if constraints and table is not None and len(table):
            filtered = list(pod.state.get(FILTERED_NODES, ()))
            ignored: set[str] = set()
            counts: list[dict[str, int]] = [{} for _ in constraints]
            for name in filtered:
                labels = table.node_view(table.slot(name)).labels
                if require_all and any(c.topology_key not in labels for c in constraints):
                    ignored.add(name)
                    continue
                for i, c in enumerate(constraints):
                    if c.topology_key != HOSTNAME:
                        counts[i].setdefault(labels.get(c.topology_key, ""), 0)
            weights = []
            for i, c in enumerate(constraints):
                size = (len(filtered) - len(ignored) if c.topology_key == HOSTNAME
                        else len(counts[i]))
                weights.append(math.log(size + 2))
            for name in table.names():
                slot = table.slot(name)
                node = table.node_view(slot)
                if require_all and any(c.topology_key not in node.labels for c in constraints):
                    continue
                for i, c in enumerate(constraints):
                    if not _included(c, pod, node):
                        continue
                    value = node.labels.get(c.topology_key, "")
                    if c.topology_key == HOSTNAME or value not in counts[i]:
                        continue
                    counts[i][value] += _count(table.pods.on_slot.get(slot), c.selector,
                                               pod.namespace)
            state = _ScoreState(constraints, ignored, counts, weights, filtered)
        pod.state[key] = state
        return state

    def pre_score(self, pod: PodView) -> Status:
        """Count the matching pods per domain; Skip pods without soft constraints."""
        s = self._score_state(pod)
        if s is None:
            return Status(SKIP, plugin=NAME)
        # Upstream's NormalizeScore reads the ignored nodes from the CycleState;
        # here it is given only the scores (in FILTERED_NODES order), so PreScore
        # leaves the flags for the NormalizeScore of this same cycle.
        self._ignored = [name in s.ignored for name in s.order]
        return Status.success()

    def score(self, pod: PodView, node: NodeView) -> int:
        """Matching pods in the node's domains, weighted (fewer is better)."""
        s = self._score_state(pod)
        if s is None or node.name in s.ignored:
            return 0
        total = 0.0
        for i, c in enumerate(s.constraints):
            value = node.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == HOSTNAME:
                table = pod.snapshot
                count = _count(table.pods.on_slot.get(table.slot(node.name)), c.selector,
                               pod.namespace)
            else:
                count = s.counts[i][value]
            total += float(count) * s.weights[i] + float(c.max_skew - 1)
        return _round(total)

    def normalize_score(self, scores: list[int]) -> list[int]:
        """``100 * (max + min - score) / max`` over the nodes not ignored."""
        ignored = self._ignored if len(self._ignored) == len(scores) else [False] * len(scores)
        return _normalize(scores, ignored)

    _ignored: list[bool] = []

    # -- the fast path -----------------------------------------------------------------------
    def _fast_codes(self, cycle: FastCycle) -> np.ndarray | None:
        """Per row: 0 passes, 1 skew too large, 2 missing label (None: no constraint)."""
        key = "Filter" + NAME
        if key in cycle.state:
            return cycle.state[key]  # type: ignore[return-value]
        constraints = spread_constraints_of(cycle.pod, "DoNotSchedule")
        codes = None
        if constraints:
            table = cycle.table
            cap = table.capacity
            view = cycle.pod_view
            cols = [table.label_cols.get(c.topology_key, np.full(cap, -1, np.int32))
                    for c in constraints]
            has_all = np.ones(cap, bool)
            for col in cols:
                has_all &= col >= 0
            codes = np.zeros(cap, np.int8)
            for c, col in reversed(list(zip(constraints, cols, strict=True))):
                eligible = has_all & _fast_included(c, cycle)
                counts = _fast_counts(table, c.selector, view.namespace)
                size = len(table.label_values.get(c.topology_key, ())) or 1
                totals = np.bincount(col[eligible], weights=counts[eligible], minlength=size)
                present = np.bincount(col[eligible], minlength=size) > 0
                domains = int(np.count_nonzero(present))
                minimum = int(totals[present].min()) if domains else _MAX_INT32
                if domains < c.min_domains:
                    minimum = 0
                own = 1 if c.selector.matches(view.labels) else 0
                has = col >= 0
                skew = np.where(has, totals[np.where(has, col, 0)], 0) + own - minimum
                codes[has & (skew > c.max_skew)] = 1
                codes[~has] = 2
        cycle.state[key] = codes
        return codes

    def fast_candidates(self, cycle: FastCycle, slots: np.ndarray) -> int:
        """Rows rejected as Unschedulable (too much skew; a missing label is unresolvable)."""
        codes = self._fast_codes(cycle)
        return 0 if codes is None else int(np.count_nonzero(codes[slots] == 1))

    def fast_score(self, cycle: FastCycle, feasible: np.ndarray, *,
                   for_total: bool) -> np.ndarray | None:
        """Normalized scores of the feasible rows (None for the total when skipped)."""
        table = cycle.table
        constraints, require_all = soft_constraints(cycle.pod, table)
        if not constraints:
            return None if for_total else np.zeros(len(feasible), np.int64)
        if not require_all:
            quick = _fast_score_labelled(cycle, feasible, constraints)
            if quick is not None:
                return quick
        return _fast_score_general(cycle, feasible, constraints, require_all)


def _fast_score_general(cycle: FastCycle, feasible: np.ndarray,
                        constraints: tuple[SpreadConstraint, ...], require_all: bool
                        ) -> np.ndarray:
    """Normalized scores of the feasible rows, for any constraints (the fast path's reference)."""
    table = cycle.table
    cap = table.capacity
    namespace = cycle.pod_view.namespace
    cols = [table.label_cols.get(c.topology_key) for c in constraints]
    ignored = np.zeros(len(feasible), bool)
    has_all: np.ndarray | bool = True
    if require_all:
        has_all = np.ones(cap, bool)
        for col in cols:
            if col is None:
                has_all[:] = False
            else:
                has_all &= col >= 0
        ignored = ~has_all[feasible]
    kept = feasible[~ignored]
    total = np.zeros(len(feasible), np.float64)
    for c, col in zip(constraints, cols, strict=True):
        if col is None:
            continue  # no node has the key: no node gets this term
        counts = _fast_counts(table, c.selector, namespace)
        here = col[feasible]
        with_label = (here >= 0) & ~ignored
        if c.topology_key == HOSTNAME:
            size = len(kept)
            count = counts[feasible].astype(np.float64)
        else:
            values = col[kept]
            size = len(np.unique(values))  # -1 is the "" domain (no label)
            n_values = len(table.label_values[c.topology_key])
            wanted = np.zeros(n_values, bool)
            wanted[values[values >= 0]] = True
            rows = has_all & (col >= 0) & _fast_included(c, cycle)
            totals = np.bincount(col[rows], weights=counts[rows], minlength=n_values)
            count = np.where(with_label, totals[np.where(here >= 0, here, 0)], 0.0)
        term = count * math.log(size + 2) + float(c.max_skew - 1)
        total += np.where(with_label, term, 0.0)
    raw = np.floor(total + 0.5).astype(np.int64)
    # NormalizeScore, as _normalize, for the whole array.
    kept_raw = raw[~ignored]
    if not kept_raw.size:
        return np.zeros(len(feasible), np.int64)
    low, high = int(kept_raw.min()), int(kept_raw.max())
    if high == 0:
        out = np.full(len(feasible), MAX_NODE_SCORE, np.int64)
    else:
        out = MAX_NODE_SCORE * (high + low - raw) // high
    out[ignored] = 0
    return out


def _fast_score_labelled(cycle: FastCycle, feasible: np.ndarray,
                         constraints: tuple[SpreadConstraint, ...]) -> np.ndarray | None:
    """:func:`_fast_score_general` when no node is ignored and every feasible node has the keys.

    That is the usual case (the system defaults on nodes that all have a
    hostname): then no row needs masking, and the same float operations run
    on fewer, smaller arrays. None when the case does not apply.
    ``tests/sim/test_spread_defaults_memo.py`` checks it against the general path.
    """
    if not len(feasible):
        return None
    table = cycle.table
    namespace = str((cycle.pod.get("metadata") or {}).get("namespace") or "default")
    present = [c for c in constraints if c.topology_key in table.label_cols]
    if len(present) == 1 and present[0].topology_key == HOSTNAME:
        return _fast_score_hostname(table, feasible, present[0], namespace)
    total: np.ndarray | None = None
    for c in constraints:
        col = table.label_cols.get(c.topology_key)
        if col is None:
            continue  # no node has the key: no node gets this term
        here = col[feasible]
        if here.min() < 0:
            return None  # a feasible node without the key: its term is 0 (general path)
        counts = _fast_counts(table, c.selector, namespace)
        if c.topology_key == HOSTNAME:
            size = len(feasible)
            count = counts[feasible].astype(np.float64)
        else:
            size = len(np.unique(here))
            rows = (col >= 0) & _fast_included(c, cycle)
            totals = np.bincount(col[rows], weights=counts[rows],
                                 minlength=len(table.label_values[c.topology_key]))
            count = totals[here]
        term = count * math.log(size + 2) + float(c.max_skew - 1)
        total = term if total is None else total + term
    if total is None:
        return np.full(len(feasible), MAX_NODE_SCORE, np.int64)
    raw = np.floor(total + 0.5).astype(np.int64)
    low, high = int(raw.min()), int(raw.max())
    if high == 0:
        return np.full(len(feasible), MAX_NODE_SCORE, np.int64)
    return MAX_NODE_SCORE * (high + low - raw) // high


def _fast_score_hostname(table: NodeTable, feasible: np.ndarray, c: SpreadConstraint,
                         namespace: str) -> np.ndarray | None:
    """:func:`_fast_score_labelled` when the hostname constraint is the only term.

    A row's score then depends only on its count of matching pods, a small
    integer: each count's score is worked out once, in Python floats (the same
    IEEE operations, in the same order, as the array version), and looked up.
    None when a feasible node has no hostname or the counts spread too widely.
    """
    col = table.label_cols[HOSTNAME]
    if col[feasible].min() < 0:
        return None
    count = _fast_counts(table, c.selector, namespace)[feasible]
    low_count, high_count = int(count.min()), int(count.max())
    if high_count - low_count > 64:
        return None
    weight, skew = math.log(len(feasible) + 2), float(c.max_skew - 1)
    # term = count * weight + (maxSkew - 1); raw = floor(term + 0.5), as the array version.
    raw = [math.floor(k * weight + skew + 0.5) for k in range(low_count, high_count + 1)]
    low, high = raw[0], raw[-1]  # raw grows with the count: its ends are min and max
    if high == 0:
        return np.full(len(feasible), MAX_NODE_SCORE, np.int64)
    scores = np.array([MAX_NODE_SCORE * (high + low - r) // high for r in raw], np.int64)
    return scores[count - low_count]


def _normalize(scores: Sequence[int], ignored: Sequence[bool]) -> list[int]:
    """scoring.go NormalizeScore."""
    kept = [s for s, skip in zip(scores, ignored, strict=True) if not skip]
    low = min(kept, default=2**63 - 1)
    high = max(kept, default=0)
    out = []
    for s, skip in zip(scores, ignored, strict=True):
        if skip:
            out.append(0)
        elif high == 0:
            out.append(MAX_NODE_SCORE)
        else:
            out.append(MAX_NODE_SCORE * (high + low - s) // high)
    return out


def _fast_counts(table: NodeTable, selector: Selector, namespace: str) -> np.ndarray:
    """Per row, countPodsMatchSelector."""
    if selector.empty:
        return np.zeros(table.capacity, np.int64)
    return table.pods.counts(((frozenset((namespace,)), selector),), skip_terminating=True)


def _fast_included(c: SpreadConstraint, cycle: FastCycle) -> np.ndarray:
    """Per row, whether the node counts for ``c`` (matchNodeInclusionPolicies)."""
    table = cycle.table
    ok = np.ones(table.capacity, bool)
    if c.honor_node_affinity and cycle.prof.affinity.filters:
        ok &= _required_mask(table, cycle.prof.affinity)
    if c.honor_node_taints:
        view = cycle.pod_view
        for slot in table.order().tolist():
            node = table.node_view(slot)
            ok[slot] = ok[slot] and _included(SpreadConstraint(1, "", Selector(), 1, False, True),
                                              view, node)
    return ok
