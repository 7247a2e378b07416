"""NodeAffinity: ``nodeSelector`` and ``affinity.nodeAffinity``.

Upstream: pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go and
k8s.io/component-helpers/scheduling/corev1/nodeaffinity. PreFilter returns
Skip for a pod without a nodeSelector or required node affinity, and narrows
the nodes to those named by ``matchFields metadata.name In`` terms (DaemonSet
pods). Filter: every nodeSelector label matches, and one of the required
terms (ORed; the requirements of a term are ANDed; an empty or unparsable
term matches nothing). Score: the summed weights of the preferred terms the
node matches, normalized (more is better); PreScore returns Skip when the pod
has no preferred terms.

Example:
    >>> from labsupport.sim.scheduler.plugins.nodeaffinity import NodeAffinity
    >>> from labsupport.sim.scheduler.views import NodeView, PodView
    >>> ssd = NodeView("node-1", {"disktype": "ssd"}, (), False, {"cpu": 1, "memory": 1,
    ...                "pods": 1}, {"cpu": 0, "memory": 0, "pods": 0}, {"cpu": 0, "memory": 0})
    >>> pod = PodView.of({"spec": {"nodeSelector": {"disktype": "hdd"}}})
    >>> NodeAffinity().filter(pod, ssd).reasons
    ("node(s) didn't match Pod's node affinity/selector",)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_FILTER,
    PRE_SCORE,
    SCORE,
    SKIP,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Plugin,
    Status,
    normalize_array,
    normalize_scores,
)
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.podinfo import NodeAffinity as Affinity
from labsupport.sim.scheduler.podinfo import PodProfile, Requirement, Term, parse_int64
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["NodeAffinity", "NAME", "ERR_REASON_POD", "ERR_REASON_CONFLICT"]

NAME = "NodeAffinity"
# node_affinity.go: ErrReasonPod (Filter) and errReasonConflict (PreFilter).
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_CONFLICT = "pod affinity terms conflict"


# -- one node (the reference cycle) ------------------------------------------------------
def requirement_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    """``labels.Requirement.Matches`` for one node's labels."""
    op = req.operator
    if op == "Exists":
        return req.key in labels
    if op == "DoesNotExist":
        return req.key not in labels
    if op in ("In", "NotIn"):
        hit = req.key in labels and labels[req.key] in req.values
        return hit if op == "In" else not hit
    # Gt / Lt: the label must parse with strconv.ParseInt (base 10, 64 bits).
    number = parse_int64(labels[req.key]) if req.key in labels else None
    if number is None:
        return False
    return number > req.number if op == "Gt" else number < req.number


def term_matches(term: Term, node: NodeView) -> bool:
    """A node selector term: every requirement holds (fields: metadata.name only)."""
    if not term.valid:
        return False
    if not all(requirement_matches(r, node.labels) for r in term.labels):
        return False
    for req in term.fields:
        named = node.name == req.values[0]
        if named != (req.operator == "In"):
            return False
    return True


def required_matches(affinity: Affinity, node: NodeView) -> bool:
    """``RequiredNodeAffinity.Match``: the nodeSelector, then one required term."""
    if any(node.labels.get(k) != v for k, v in affinity.node_selector):
        return False
    if affinity.required is not None:
        return any(term_matches(t, node) for t in affinity.required)
    return True


# -- many nodes (the fast path) ----------------------------------------------------------
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
    values = table.label_values.get(req.key, [])
    numbers = np.zeros(len(values) + 1, np.int64)
    valid = np.zeros(len(values) + 1, bool)
    for i, text in enumerate(values):
        n = parse_int64(text)
        if n is not None:
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


def _required_mask(table: NodeTable, affinity: Affinity) -> np.ndarray:
    """:func:`required_matches` for every row."""
    cap = table.capacity
    mask = np.ones(cap, bool)
    for key, val in affinity.node_selector:
        col = table.label_cols.get(key)
        vid = table.label_ids.get(key, {}).get(val)
        if col is None or vid is None:
            return np.zeros(cap, bool)
        mask &= col == vid
    if affinity.required is not None:
        any_term = np.zeros(cap, bool)
        for term in affinity.required:
            any_term |= _term_mask(table, term)
        mask &= any_term
    return mask


class NodeAffinity(Plugin):
    """PreFilter, Filter and Score on node labels (weight 2)."""

    name = NAME
    extension_points = (PRE_FILTER, FILTER, PRE_SCORE, SCORE)
    reasons = (ERR_REASON_POD,)
    weight = 2
    static = True
    upstream = "pkg/scheduler/framework/plugins/nodeaffinity"

    def pre_filter(self, pod: PodView) -> Status:
        """Skip, the node names the pod's terms allow, or a conflict."""
        affinity = pod.profile.affinity
        if not affinity.filters:
            return Status(SKIP, plugin=self.name)
        names = affinity.node_names
        if names is not None and not names:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_CONFLICT,), self.name)
        return Status(plugin=self.name, node_names=names)

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a node that does not match the nodeSelector and required terms."""
        if required_matches(pod.profile.affinity, node):
            return Status.success()
        return Status(self.filter_code, self.reasons, self.name)

    def pre_score(self, pod: PodView) -> Status:
        """Skip pods without preferred terms."""
        if pod.profile.affinity.preferred is None:
            return Status(SKIP, plugin=self.name)
        return Status.success()

    def score(self, pod: PodView, node: NodeView) -> int:
        """The summed weights of the preferred terms this node matches."""
        return sum(w for w, term in pod.profile.affinity.preferred or ()
                   if term_matches(term, node))

    def normalize_score(self, scores: list[int]) -> list[int]:
        """More is better: DefaultNormalizeScore."""
        return normalize_scores(scores, reverse=False)

    # -- fast path -----------------------------------------------------------------------
    def fast_static_fail(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """Rows that fail the nodeSelector or the required terms (None: skipped)."""
        if not prof.affinity.filters:
            return None
        return ~_required_mask(table, prof.affinity)

    def fast_static_score_input(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """Per row, :meth:`score` (None: the pod has no preferred terms)."""
        if prof.affinity.preferred is None:
            return None
        preferred = np.zeros(table.capacity, np.int64)
        for weight, term in prof.affinity.preferred:
            preferred += weight * _term_mask(table, term)
        return preferred

    def fast_score_constant(self, prof: PodProfile) -> bool:
        """Without preferred terms PreScore skips: 0 on every node."""
        return prof.affinity.preferred is None

    def fast_score(self, cycle, feasible: np.ndarray, *, for_total: bool) -> np.ndarray | None:
        """Normalized scores; None for the total when PreScore skips."""
        preferred = cycle.static.score_input.get(NAME)
        if preferred is None:
            return None if for_total else np.zeros(len(feasible), np.int64)
        return normalize_array(preferred[feasible], reverse=False)
