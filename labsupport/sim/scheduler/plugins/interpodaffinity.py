"""InterPodAffinity: ``podAffinity`` and ``podAntiAffinity``, required and preferred.

Upstream: pkg/scheduler/framework/plugins/interpodaffinity (filtering.go,
scoring.go, plugin.go). Every count is per *topology pair*: a node label
``(topologyKey, value)``; pods are "together" when their nodes share it.

PreFilter counts, over the pods already bound:

- ``existing_anti``: pairs where an existing pod's *required anti-affinity*
  term matches the incoming pod (the term's ``namespaceSelector`` is read
  against the incoming pod's Namespace labels);
- ``affinity``: pairs holding a pod that matches *all* of the incoming pod's
  required affinity terms (one count per term's key);
- ``anti``: pairs holding a pod that matches one of its required
  anti-affinity terms.

Filter, in this order (the first failure is the reason):

1. every required affinity term's key is on the node, and each of its pairs
   has a matching pod, unless no pod matches anywhere and the pod matches
   its own terms ("the first pod of a group", filtering.go
   ``satisfiesSelfAffinityCheck``): ``node(s) didn't match pod affinity
   rules``, UnschedulableAndUnresolvable;
2. no pair of the node's required anti-affinity keys holds a matching pod:
   ``node(s) didn't match pod anti-affinity rules``, Unschedulable;
3. no pair of the node's labels is in ``existing_anti``: ``node(s) didn't
   satisfy existing pods anti-affinity rules``, Unschedulable.

(kube-scheduler 1.37 checks ``kubernetes.io/hostname`` terms node-locally,
feature InterPodAffinityHostnameFastPath; with one hostname value per node
that gives the same verdicts as the counts above.)

PreScore adds, per pair, for each existing pod (all pods when the incoming
pod has preferred terms, else only pods with affinity terms): + weight of
each preferred affinity term of the incoming pod it matches, - weight of
each preferred anti-affinity term; + ``hardPodAffinityWeight`` (1) for each
required affinity term of the existing pod that the incoming pod matches,
+ / - weight of its preferred (anti-)affinity terms the incoming pod
matches. Skip when nothing was added. Score: the sum over the node's pairs.
NormalizeScore: ``100 * (score - min) / (max - min)`` as a float, truncated
(0 everywhere when max = min).

The incoming pod's terms have their ``namespaceSelector`` turned into
namespace names first (``mergeAffinityTermNamespacesIfNotEmpty``).

Example:
    >>> from labsupport.sim.scheduler.plugins.interpodaffinity import InterPodAffinity
    >>> InterPodAffinity().weight, InterPodAffinity.reasons[0]
    (2, "node(s) didn't match pod affinity rules")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from labsupport.sim.scheduler.framework import (
    FILTER,
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
from labsupport.sim.scheduler.selectors import AffinityTerm, PodAffinity, pod_affinity_of
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle
    from labsupport.sim.scheduler.nodetable import NodeTable

__all__ = ["InterPodAffinity", "NAME", "ERR_REASON_AFFINITY", "ERR_REASON_ANTI_AFFINITY",
           "ERR_REASON_EXISTING_ANTI_AFFINITY", "HARD_POD_AFFINITY_WEIGHT", "incoming_terms"]

NAME = "InterPodAffinity"
# filtering.go: ErrReasonAffinityRulesNotMatch, ErrReasonAntiAffinityRulesNotMatch,
# ErrReasonExistingAntiAffinityRulesNotMatch.
ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
# apis/config/v1/defaults.go: DefaultHardPodAffinitySymmetricWeight = 1.
HARD_POD_AFFINITY_WEIGHT = 1

Pair = tuple[str, str]


def _merge(term: AffinityTerm, table: NodeTable | None) -> AffinityTerm:
    """mergeAffinityTermNamespacesIfNotEmpty: namespaceSelector -> namespace names."""
    sel = term.namespace_selector
    if sel.empty or sel.nothing or table is None:
        return term
    chosen = frozenset(name for name, labels in table.listers.namespaces() if sel.matches(labels))
    return term.merged(chosen)


def incoming_terms(pod: Mapping, table: NodeTable | None) -> PodAffinity:
    """The incoming pod's terms, with namespace selectors merged into names."""
    aff = pod_affinity_of(pod)
    if not aff.any:
        return aff
    return PodAffinity(
        tuple(_merge(t, table) for t in aff.required_affinity),
        tuple(_merge(t, table) for t in aff.required_anti_affinity),
        tuple((w, _merge(t, table)) for w, t in aff.preferred_affinity),
        tuple((w, _merge(t, table)) for w, t in aff.preferred_anti_affinity))


def _matches_all(terms: Iterable[AffinityTerm], namespace: str,
                 labels: Mapping[str, str]) -> bool:
    """podMatchesAllAffinityTerms: a non-empty list, every term matching."""
    terms = tuple(terms)
    return bool(terms) and all(t.matches(namespace, labels, None) for t in terms)


@dataclass
class _FilterState:
    """What PreFilter computes (filtering.go ``preFilterState``)."""

    terms: PodAffinity
    existing_anti: Counter[Pair]
    affinity: Counter[Pair]
    anti: Counter[Pair]


@dataclass
class _ScoreState:
    """What PreScore computes (scoring.go ``preScoreState.topologyScore``)."""

    topology_score: dict[str, dict[str, int]]


class InterPodAffinity(CodedFilterPlugin):
    """PreFilter, Filter, PreScore and Score on the pods already bound (weight 2)."""

    name = NAME
    extension_points = (PRE_FILTER, FILTER, PRE_SCORE, SCORE)
    reasons = (ERR_REASON_AFFINITY, ERR_REASON_ANTI_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY)
    weight = 2
    filter_code = UNSCHEDULABLE  # anti-affinity: preemption may help; affinity: see filter
    upstream = "pkg/scheduler/framework/plugins/interpodaffinity"

    # -- the reference cycle ---------------------------------------------------------------
    def _filter_state(self, pod: PodView) -> _FilterState:
        state = pod.state.get("PreFilter" + NAME)
        if state is not None:
            return state
        table = pod.snapshot
        terms = incoming_terms(pod.obj, table)
        existing_anti: Counter[Pair] = Counter()
        affinity: Counter[Pair] = Counter()
        anti: Counter[Pair] = Counter()
        if table is not None:
            index = table.pods
            ns_labels = table.listers.namespace_labels(pod.namespace)
            # Existing pods' required anti-affinity against the incoming pod.
            for entry in index.with_required_anti_affinity.values():
                node_labels = table.node_view(entry.slot).labels
                for term in entry.affinity.required_anti_affinity:
                    if term.topology_key in node_labels and term.matches(
                            pod.namespace, pod.labels, ns_labels):
                        existing_anti[(term.topology_key, node_labels[term.topology_key])] += 1
            # Existing pods against the incoming pod's required terms.
            if terms.required_affinity or terms.required_anti_affinity:
                for slot, pods in index.on_slot.items():
                    node_labels = table.node_view(slot).labels
                    for entry in pods.values():
                        if _matches_all(terms.required_affinity, entry.namespace, entry.labels):
                            for term in terms.required_affinity:
                                if term.topology_key in node_labels:
                                    affinity[(term.topology_key,
                                              node_labels[term.topology_key])] += 1
                        for term in terms.required_anti_affinity:
                            if term.topology_key in node_labels and term.matches(
                                    entry.namespace, entry.labels, None):
                                anti[(term.topology_key, node_labels[term.topology_key])] += 1
        state = pod.state["PreFilter" + NAME] = _FilterState(terms, existing_anti, affinity, anti)
        return state

    def pre_filter(self, pod: PodView) -> Status:
        """Count the topology pairs (upstream skips when there is nothing to check)."""
        if pod.snapshot is not None:
            self._filter_state(pod)
        return Status.success()

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Affinity, then the pod's anti-affinity, then existing pods' anti-affinity."""
        s = self._filter_state(pod)
        labels = node.labels
        if s.terms.required_affinity:
            pods_exist = True
            for term in s.terms.required_affinity:
                value = labels.get(term.topology_key)
                if value is None:  # every topology key must be on the node
                    return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_AFFINITY,), NAME)
                if s.affinity[(term.topology_key, value)] <= 0:
                    pods_exist = False
            if not pods_exist and not (
                    not s.affinity and _matches_all(s.terms.required_affinity, pod.namespace,
                                                    pod.labels)):
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_AFFINITY,), NAME)
        if s.anti:
            for term in s.terms.required_anti_affinity:
                value = labels.get(term.topology_key)
                if value is not None and s.anti[(term.topology_key, value)] > 0:
                    return Status(UNSCHEDULABLE, (ERR_REASON_ANTI_AFFINITY,), NAME)
        if s.existing_anti:
            for pair in labels.items():
                if s.existing_anti[pair] > 0:
                    return Status(UNSCHEDULABLE, (ERR_REASON_EXISTING_ANTI_AFFINITY,), NAME)
        return Status.success()

    def _score_state(self, pod: PodView) -> _ScoreState | None:
        key = "PreScore" + NAME
        if key in pod.state:
            return pod.state[key]
        table = pod.snapshot
        terms = incoming_terms(pod.obj, table)
        has_preferred = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        score: dict[str, dict[str, int]] = {}
        contributed = False
        if table is not None:
            index = table.pods
            ns_labels = table.listers.namespace_labels(pod.namespace)
            entries = index.entries.values() if has_preferred else index.with_affinity.values()

            def add(term: AffinityTerm, weight: int, namespace: str, labels: Mapping[str, str],
                    term_ns_labels: Mapping[str, str] | None, node_labels: Mapping[str, str]
                    ) -> None:
                nonlocal contributed
                if term.matches(namespace, labels, term_ns_labels) and \
                        term.topology_key in node_labels:
                    by_value = score.setdefault(term.topology_key, {})
                    value = node_labels[term.topology_key]
                    by_value[value] = by_value.get(value, 0) + weight
                    contributed = True

            for e in entries:
                node_labels = table.node_view(e.slot).labels
                if not node_labels:
                    continue
                for w, t in terms.preferred_affinity:
                    add(t, w, e.namespace, e.labels, None, node_labels)
                for w, t in terms.preferred_anti_affinity:
                    add(t, -w, e.namespace, e.labels, None, node_labels)
                for t in e.affinity.required_affinity:
                    add(t, HARD_POD_AFFINITY_WEIGHT, pod.namespace, pod.labels, ns_labels,
                        node_labels)
                for w, t in e.affinity.preferred_affinity:
                    add(t, w, pod.namespace, pod.labels, ns_labels, node_labels)
                for w, t in e.affinity.preferred_anti_affinity:
                    add(t, -w, pod.namespace, pod.labels, ns_labels, node_labels)
        state = pod.state[key] = _ScoreState(score) if contributed else None
        return state

    def pre_score(self, pod: PodView) -> Status:
        """Sum the weights per topology pair; Skip when no term matched anywhere."""
        return Status.success() if self._score_state(pod) is not None else Status(SKIP,
                                                                                  plugin=NAME)

    def score(self, pod: PodView, node: NodeView) -> int:
        """The summed weights of the node's topology pairs."""
        s = self._score_state(pod)
        if s is None:
            return 0
        return sum(by_value.get(node.labels[key], 0)
                   for key, by_value in s.topology_score.items() if key in node.labels)

    def normalize_score(self, scores: list[int]) -> list[int]:
        """Min-max scaling to 0..100 (float, truncated), as scoring.go NormalizeScore."""
        return _min_max(scores)

    # -- the fast path -----------------------------------------------------------------------
    def _fast_codes(self, cycle: FastCycle) -> np.ndarray | None:
        """Per row: 0 passes, 1 affinity, 2 anti-affinity, 3 existing anti-affinity."""
        key = "Filter" + NAME
        if key in cycle.state:
            return cycle.state[key]  # type: ignore[return-value]
        table = cycle.table
        index = table.pods
        terms = incoming_terms(cycle.pod, table)
        codes: np.ndarray | None = None
        if terms.required_affinity or terms.required_anti_affinity or \
                index.with_required_anti_affinity:
            codes = np.zeros(table.capacity, np.int8)
            view = cycle.pod_view
            ns_labels = table.listers.namespace_labels(view.namespace)
            existing: Counter[Pair] = Counter()
            for entry in index.with_required_anti_affinity.values():
                node_labels = table.node_view(entry.slot).labels
                for term in entry.affinity.required_anti_affinity:
                    if term.topology_key in node_labels and term.matches(
                            view.namespace, view.labels, ns_labels):
                        existing[(term.topology_key, node_labels[term.topology_key])] += 1
            for (k, v), n in existing.items():
                vid = table.label_ids.get(k, {}).get(v)
                if n > 0 and vid is not None:
                    codes[table.label_cols[k] == vid] = 3
            for term in terms.required_anti_affinity:
                counts = index.counts((_clause(term),))
                totals, col = _domain_totals(table, term.topology_key, counts)
                if totals is not None:
                    codes[(col >= 0) & (totals[col] > 0)] = 2
            if terms.required_affinity:
                counts = index.counts(tuple(_clause(t) for t in terms.required_affinity))
                missing = np.zeros(table.capacity, bool)
                lacking = np.zeros(table.capacity, bool)  # a pair without a matching pod
                anywhere = False
                for term in terms.required_affinity:
                    totals, col = _domain_totals(table, term.topology_key, counts)
                    if totals is None:
                        missing[:] = True
                        continue
                    missing |= col < 0
                    lacking |= (col >= 0) & ~(totals[col] > 0)
                    anywhere = anywhere or bool(totals.sum() > 0)
                first_pod = not anywhere and _matches_all(terms.required_affinity,
                                                          view.namespace, view.labels)
                codes[missing | (lacking & (not first_pod))] = 1
        cycle.state[key] = codes
        return codes

    def fast_candidates(self, cycle: FastCycle, slots: np.ndarray) -> int:
        """Rows rejected as Unschedulable (anti-affinity: preemption may help)."""
        codes = self._fast_codes(cycle)
        return 0 if codes is None else int(np.count_nonzero(codes[slots] >= 2))

    def fast_score(self, cycle: FastCycle, feasible: np.ndarray, *,
                   for_total: bool) -> np.ndarray | None:
        """Normalized scores of the feasible rows (None for the total when PreScore skips)."""
        table = cycle.table
        index = table.pods
        terms = incoming_terms(cycle.pod, table)
        has_preferred = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        if not has_preferred and not index.with_affinity:
            return None if for_total else np.zeros(len(feasible), np.int64)
        view = cycle.pod_view
        ns_labels = table.listers.namespace_labels(view.namespace)
        # Per topology key: score per value id (the pairs' sums).
        by_key: dict[str, np.ndarray] = {}
        contributed = False

        def bucket(key: str) -> np.ndarray:
            size = len(table.label_values.get(key, ()))
            arr = by_key.get(key)
            if arr is None or len(arr) < size:
                grown = np.zeros(size, np.int64)
                if arr is not None:
                    grown[:len(arr)] = arr
                arr = by_key[key] = grown
            return arr

        for weight, term in ([(w, t) for w, t in terms.preferred_affinity]
                             + [(-w, t) for w, t in terms.preferred_anti_affinity]):
            counts = index.counts((_clause(term),))
            col = table.label_cols.get(term.topology_key)
            if col is None:
                continue
            has = col >= 0
            per_value = np.bincount(col[has], weights=counts[has],
                                    minlength=len(table.label_values[term.topology_key]))
            if per_value.sum() > 0:
                contributed = True
                bucket(term.topology_key)[:] += weight * per_value.astype(np.int64)
        for e in index.with_affinity.values():
            node_labels = table.node_view(e.slot).labels
            if not node_labels:
                continue
            own = ([(HARD_POD_AFFINITY_WEIGHT, t) for t in e.affinity.required_affinity]
                   + list(e.affinity.preferred_affinity)
                   + [(-w, t) for w, t in e.affinity.preferred_anti_affinity])
            for weight, term in own:
                k = term.topology_key
                if k in node_labels and term.matches(view.namespace, view.labels, ns_labels):
                    bucket(k)[table.label_ids[k][node_labels[k]]] += weight
                    contributed = True
        if not contributed:
            return None if for_total else np.zeros(len(feasible), np.int64)
        raw = np.zeros(len(feasible), np.int64)
        if not len(feasible):
            return raw
        for k, arr in by_key.items():
            col = table.label_cols[k][feasible]
            has = col >= 0
            raw[has] += arr[col[has]]
        low, high = int(raw.min()), int(raw.max())
        if high - low <= 0:
            return np.zeros(len(feasible), np.int64)
        # As _min_max: float64 arithmetic in the same order, truncated.
        return (float(MAX_NODE_SCORE) * ((raw - low).astype(np.float64) / float(high - low))
                ).astype(np.int64)


def _min_max(scores: list[int]) -> list[int]:
    if not scores:
        return []
    low, high = min(scores), max(scores)
    diff = high - low
    if diff <= 0:
        return [0] * len(scores)
    return [int(float(MAX_NODE_SCORE) * (float(s - low) / float(diff))) for s in scores]


def _clause(term: AffinityTerm) -> tuple[frozenset[str] | None, object]:
    """The term as a :data:`~labsupport.sim.scheduler.podindex.Clause` (merged namespaces)."""
    everywhere = term.namespace_selector.empty
    return (None if everywhere else term.namespaces, term.selector)


def _domain_totals(table: NodeTable, key: str, counts: np.ndarray
                   ) -> tuple[np.ndarray | None, np.ndarray]:
    """Per value id of label ``key``: the pods counted on nodes with that value."""
    col = table.label_cols.get(key)
    if col is None:
        return None, np.full(table.capacity, -1, np.int32)
    has = col >= 0
    totals = np.bincount(col[has], weights=counts[has],
                         minlength=len(table.label_values[key]))
    return totals, col
