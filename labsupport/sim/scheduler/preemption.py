"""Preemption: which lower-priority pods to evict so that a pod fits, and where.

Upstream: pkg/scheduler/framework/preemption/preemption.go (``Evaluator.Preempt``,
``findCandidates``, ``DryRunPreemption``, ``pickOneNodeForPreemption``) and
pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go
(``PodEligibleToPreemptOthers``, ``SelectVictimsOnNode``,
``filterPodsWithPDBViolation``). When no node passed Filter, :func:`preempt`:

1. checks the pod may preempt (not ``preemptionPolicy: Never``; no victim of
   its earlier preemption still terminating on its nominated node);
2. takes the *potential* nodes: those a Filter rejected with Unschedulable
   (UnschedulableAndUnresolvable ones, such as a taint or a node selector,
   cannot be helped by removing pods);
3. on each, from a random offset, simulates removing every pod of lower
   priority; if the pod then fits, adds them back one by one, most important
   first (those whose PodDisruptionBudget would be violated first), keeping
   as victims only those it cannot do without (:func:`select_victims_on_node`);
4. picks one node (:func:`pick_one_node`): fewest PDB violations, then the
   lowest highest-victim priority, the smallest sum of priorities, the fewest
   victims, the latest start of the highest-priority victims.

Nothing is changed here: the scheduler deletes the victims and nominates the
node (:class:`~labsupport.sim.scheduler.kubescheduler.KubeScheduler`).
Two simplifications: Filter is re-run on the node with the victims' requests,
pod count and host ports removed, but the PreFilter state of InterPodAffinity
and PodTopologySpread still counts the victims (upstream updates it with the
``AddPod`` / ``RemovePod`` PreFilter extensions); and pods nominated to a node
are not added to it when filtering (``RunFilterPluginsWithNominatedPods``).

Example:
    >>> from labsupport.sim.scheduler.preemption import pick_one_node, Candidate
    >>> a = Candidate("node-1", ({"spec": {"priority": 10}},), 0)
    >>> b = Candidate("node-2", ({"spec": {"priority": 5}}, {"spec": {"priority": 5}}), 0)
    >>> pick_one_node([a, b]).node   # the lowest highest-victim priority wins
    'node-2'
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsupport.sim.scheduler.decision import fit_error_message
from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_FILTER,
    SKIP,
    SUCCESS,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Diagnosis,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.podinfo import profile_of
from labsupport.sim.scheduler.selectors import Selector
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.nodetable import NodeTable
    from labsupport.sim.scheduler.profile import Profile

__all__ = [
    "Candidate", "preempt", "select_victims_on_node", "pick_one_node", "more_important",
    "filter_pods_with_pdb_violation", "NO_VICTIMS", "NOT_HELPFUL", "PREEMPT_NEVER",
    "TERMINATING_ON_NOMINATED", "MIN_CANDIDATE_NODES_PERCENTAGE", "MIN_CANDIDATE_NODES_ABSOLUTE",
]

# default_preemption.go SelectVictimsOnNode: no pod of lower priority on a potential node.
NO_VICTIMS = "No preemption victims found for incoming pod"
# preemption.go Preempt: the status of every node that was not a potential node.
NOT_HELPFUL = "Preemption is not helpful for scheduling"
# default_preemption.go PodEligibleToPreemptOthers.
PREEMPT_NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING_ON_NOMINATED = "not eligible due to a terminating pod on the nominated node."
# DefaultPreemptionArgs defaults (pkg/scheduler/apis/config/v1/defaults.go).
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
# A pod that has not started counts as started now (util.GetPodStartTime): later
# than any real RFC 3339 stamp.
_NOT_STARTED = "~"


@dataclass(frozen=True)
class Candidate:
    """A node where the pod fits once ``victims`` are gone (``extenderv1.Victims``).

    Attributes:
        node: the node's name.
        victims: the pods to evict, most important first.
        num_pdb_violations: how many of them a PodDisruptionBudget protects.
    """

    node: str
    victims: tuple[Mapping, ...]
    num_pdb_violations: int

    def __repr__(self) -> str:
        names = ", ".join(_key(p) for p in self.victims)
        return f"<Candidate {self.node}: evict {names} ({self.num_pdb_violations} PDB violations)>"


def _key(pod: Mapping) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"


def _priority(pod: Mapping) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def _start(pod: Mapping) -> str:
    return str((pod.get("status") or {}).get("startTime") or _NOT_STARTED)


def more_important(a: Mapping, b: Mapping) -> bool:
    """util.MoreImportantPod: higher priority, or equal priority and started earlier."""
    if _priority(a) != _priority(b):
        return _priority(a) > _priority(b)
    return _start(a) < _start(b)


def _by_importance(pods: Sequence[Mapping]) -> list[Mapping]:
    return sorted(pods, key=lambda p: (-_priority(p), _start(p)))


# -- step 1: may the pod preempt? ---------------------------------------------------------------
def _terminating_by_preemption(pod: Mapping) -> bool:
    # default_preemption.go podTerminatingByPreemption.
    if not (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "DisruptionTarget":
            return cond.get("status") == "True" and cond.get("reason") == "PreemptionByScheduler"
    return False


def _not_eligible(pod: PodView, profile: Profile) -> str:
    """PodEligibleToPreemptOthers: "" when the pod may preempt, else why not."""
    if pod.spec.get("preemptionPolicy") == "Never":
        return PREEMPT_NEVER
    nominated = (pod.obj.get("status") or {}).get("nominatedNodeName")
    if nominated and _nominated_node_status(pod, profile, nominated) != \
            UNSCHEDULABLE_AND_UNRESOLVABLE:
        # A nominated node that can no longer take the pod at all frees it to
        # preempt elsewhere; otherwise it waits for its victims.
        priority = _priority(pod.obj)
        for other in _pods_on(pod.snapshot, nominated):
            if _priority(other) < priority and _terminating_by_preemption(other):
                return TERMINATING_ON_NOMINATED
    return ""


def _nominated_node_status(pod: PodView, profile: Profile, node: str) -> str:
    """The Filter code of the pod's nominated node (absent nodes: UnschedulableAndUnresolvable)."""
    table = pod.snapshot
    view, filters, allowed = _fresh_cycle(pod, profile)
    if node not in table or (allowed is not None and node not in allowed):
        return UNSCHEDULABLE_AND_UNRESOLVABLE
    return _run_filters(view, table.node_view(table.slot(node)), filters).code


def _fresh_cycle(pod: PodView, profile: Profile
                 ) -> tuple[PodView, list[Plugin], frozenset[str] | None]:
    """PreFilter on a new cycle state: the view, the Filters that run, the allowed nodes."""
    view = PodView(pod.obj, pod.profile, pod.snapshot)
    skipped, allowed = set(), None
    for plugin in profile.at(PRE_FILTER):
        status = plugin.pre_filter(view)
        if status.code == SKIP:
            skipped.add(plugin.name)
        elif status.node_names is not None:
            allowed = status.node_names if allowed is None else allowed & status.node_names
    return view, [p for p in profile.at(FILTER) if p.name not in skipped], allowed


# -- step 3: the victims on one node ------------------------------------------------------------
class _DryRunNode:
    """A node's amounts with some of its pods taken away (a ``NodeInfo`` snapshot)."""

    def __init__(self, node: NodeView, pods: Sequence[Mapping], table: object) -> None:
        self.node = node
        self.pods = list(pods)
        self.requested = dict(node.requested)
        self.nonzero = dict(node.nonzero_requested)
        self._profile = getattr(table, "profile_for", profile_of)

    def _account(self, pod: Mapping, sign: int) -> None:
        prof = self._profile(pod)
        amounts = {"cpu": prof.cpu, "memory": prof.memory, "pods": 1,
                   **dict(getattr(prof, "extra", ()))}
        for name, amount in amounts.items():
            self.requested[name] = self.requested.get(name, 0) + sign * amount
        self.nonzero["cpu"] += sign * prof.nonzero_cpu
        self.nonzero["memory"] += sign * prof.nonzero_memory

    def remove(self, pod: Mapping) -> None:
        self.pods = [p for p in self.pods if p is not pod]
        self._account(pod, -1)

    def add(self, pod: Mapping) -> None:
        self.pods.append(pod)
        self._account(pod, 1)

    def view(self) -> NodeView:
        ports: dict[tuple[str, int], set[str]] = {}
        for p in self.pods:
            for ip, protocol, port in self._profile(p).host_ports:
                ports.setdefault((protocol, port), set()).add(ip)
        return dataclasses.replace(
            self.node, requested=dict(self.requested), nonzero_requested=dict(self.nonzero),
            host_ports={k: frozenset(v) for k, v in ports.items()})


def _run_filters(pod: PodView, node: NodeView, filters: Sequence[Plugin]) -> Status:
    for plugin in filters:  # RunFilterPlugins: the first rejection wins
        status = plugin.filter(pod, node)
        if not status.is_success:
            return status
    return Status.success()


def filter_pods_with_pdb_violation(pods: Sequence[Mapping], pdbs: Sequence[Mapping]
                                   ) -> tuple[list[Mapping], list[Mapping]]:
    """filterPodsWithPDBViolation: ``(violating, non-violating)``, order kept.

    Each matching budget's ``status.disruptionsAllowed`` is spent pod by pod;
    a pod that takes one below zero violates it. Pods already listed in
    ``status.disruptedPods`` are not counted again.
    """
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in pdbs]
    selectors = [Selector.parse((b.get("spec") or {}).get("selector")) for b in pdbs]
    violating, fine = [], []
    for pod in pods:
        meta = pod.get("metadata") or {}
        labels, hit = meta.get("labels") or {}, False
        if labels:  # a pod without labels matches no budget
            for i, pdb in enumerate(pdbs):
                if (pdb.get("metadata") or {}).get("namespace", "default") != \
                        (meta.get("namespace") or "default"):
                    continue
                if selectors[i].empty or not selectors[i].matches(labels):
                    continue  # an empty selector matches nothing here
                if meta.get("name") in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    hit = True
        (violating if hit else fine).append(pod)
    return violating, fine


def select_victims_on_node(pod: PodView, node: NodeView, on_node: Sequence[Mapping],
                           filters: Sequence[Plugin], pdbs: Sequence[Mapping],
                           table: object = None) -> tuple[list[Mapping], int, Status]:
    """SelectVictimsOnNode: ``(victims, PDB violations, status)`` for one node."""
    priority = _priority(pod.obj)
    potential = [p for p in on_node if _priority(p) < priority]  # isPreemptionAllowed
    if not potential:
        return [], 0, Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (NO_VICTIMS,))
    dry = _DryRunNode(node, on_node, table)
    for p in potential:
        dry.remove(p)
    status = _run_filters(pod, dry.view(), filters)
    if not status.is_success:  # it does not fit even with all of them gone
        return [], 0, status
    potential = _by_importance(potential)
    violating, fine = filter_pods_with_pdb_violation(potential, pdbs)
    victims: list[Mapping] = []
    num_violating = 0
    for group in (violating, fine):  # reprieve the PDB-protected pods first
        for p in group:
            dry.add(p)
            if not _run_filters(pod, dry.view(), filters).is_success:
                dry.remove(p)
                victims.append(p)
                num_violating += group is violating
    if violating and fine:
        victims = _by_importance(victims)
    return victims, num_violating, Status(SUCCESS)


# -- step 4: one node ---------------------------------------------------------------------------
def pick_one_node(candidates: Sequence[Candidate]) -> Candidate:
    """pickOneNodeForPreemption, criterion by criterion until one node is left.

    Ties after the last criterion go to the first candidate in the order the
    dry run found them (upstream: map order, so effectively at random).
    """
    def earliest_top_start(c: Candidate) -> str:
        top = _priority(c.victims[0])
        return min(_start(p) for p in c.victims if _priority(p) == top)

    criteria = (
        lambda c: -c.num_pdb_violations,
        lambda c: -_priority(c.victims[0]),
        lambda c: -sum(_priority(p) + 2**31 for p in c.victims),
        lambda c: -len(c.victims),
    )
    left = list(candidates)
    for score in criteria:
        best = max(score(c) for c in left)
        left = [c for c in left if score(c) == best]
        if len(left) == 1:
            return left[0]
    latest = max(earliest_top_start(c) for c in left)
    return next(c for c in left if earliest_top_start(c) == latest)


def _num_candidates(n: int) -> int:
    # default_preemption.go calculateNumCandidates.
    return min(n, max(n * MIN_CANDIDATE_NODES_PERCENTAGE // 100, MIN_CANDIDATE_NODES_ABSOLUTE))


# -- Evaluator.Preempt ------------------------------------------------------------------------
def preempt(pod: PodView, diagnosis: Diagnosis, profile: Profile, rng: random.Random
            ) -> tuple[Status, Candidate | None, dict[str, str]]:
    """Evaluator.Preempt for a pod no node could take.

    Args:
        pod: the pod (its ``snapshot`` is the scheduler's NodeTable).
        diagnosis: what the failed cycle found (how many nodes were Unschedulable).
        profile: the scheduler profile: its PreFilter plugins run again on a
            fresh cycle state (upstream clones it), then its Filter plugins.
        rng: draws the offset where the dry run starts.

    Returns:
        ``(status, candidate, notes)``: SUCCESS with the chosen candidate, or
        UNSCHEDULABLE with the text of why preemption cannot help; ``notes``
        says per node what the dry run found (for explain).
    """
    table = pod.snapshot
    n = diagnosis.num_all_nodes
    why_not = _not_eligible(pod, profile)
    if why_not:
        return Status(UNSCHEDULABLE, (why_not,)), None, {}
    if diagnosis.candidates == 0:  # findCandidates: no potential node
        return Status(UNSCHEDULABLE, (fit_error_message(n, {NOT_HELPFUL: n}),)), None, {}
    priority = _priority(pod.obj)
    if not any(p < priority for p in table.pods.priorities):
        # Every potential node answers NO_VICTIMS: no need to look at each.
        text = fit_error_message(n, {NO_VICTIMS: diagnosis.candidates,
                                     NOT_HELPFUL: n - diagnosis.candidates})
        return Status(UNSCHEDULABLE, (text,)), None, {}

    # A fresh cycle state: PreFilter again, then the nodes that failed with Unschedulable.
    view, filters, allowed = _fresh_cycle(pod, profile)
    potential: list[NodeView] = []
    for name in table.names():
        if allowed is not None and name not in allowed:
            continue
        node = table.node_view(table.slot(name))
        if _run_filters(view, node, filters).code == UNSCHEDULABLE:
            potential.append(node)

    # DryRunPreemption, from a random offset, until enough candidates are found.
    pdbs = table.listers.pod_disruption_budgets()
    offset, wanted = rng.randrange(len(potential)) if potential else 0, _num_candidates(
        len(potential))
    fine: list[Candidate] = []
    violating: list[Candidate] = []
    reasons: Counter[str] = Counter()
    notes: dict[str, str] = {}
    for i in range(len(potential)):
        node = potential[(offset + i) % len(potential)]
        victims, num_pdb, status = select_victims_on_node(
            view, node, _pods_on(table, node.name), filters, pdbs, table)
        if status.is_success:
            c = Candidate(node.name, tuple(victims), num_pdb)
            (violating if num_pdb else fine).append(c)
            notes[node.name] = "evict " + ", ".join(_key(p) for p in victims)
            if fine and len(fine) + len(violating) >= wanted:
                break
        else:
            reasons.update(status.reasons)
            notes[node.name] = ", ".join(status.reasons)
    candidates = fine + violating
    if not candidates:
        reasons[NOT_HELPFUL] += n - len(potential)
        return Status(UNSCHEDULABLE, (fit_error_message(n, reasons),)), None, notes
    best = pick_one_node(candidates)
    notes[best.node] += " (chosen)"
    return Status(SUCCESS), best, notes


def _pods_on(table: NodeTable, node: str) -> list[Mapping]:
    """The pods bound to a node (``NodeInfo.Pods``), as the latest objects known."""
    slot = table.slot(node)
    pods = []
    for entry in table.pods.on_slot.get(slot, {}).values() if slot is not None else ():
        ns, _, name = entry.key.partition("/")
        pods.append(table.listers.pod(ns, name) or entry.pod)
    return pods
