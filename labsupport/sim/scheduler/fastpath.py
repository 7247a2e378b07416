"""The fast path: the reference cycle, for hundreds of nodes at once with numpy.

It makes exactly the decisions of :func:`~labsupport.sim.scheduler.reference.schedule_one`
(same node, message, nodes checked, feasible count, random draws and
round-robin start; ``tests/sim/test_scheduler_reference.py`` checks it on
random clusters) without building a view per node. Each part below is
labelled with the reference step it implements. What makes it fast:

- PreFilter is run once per pod template (:class:`PodPlan`): the default
  plugins' PreFilter reads only the pod's spec, except the volume plugins',
  which read its claims and disks: such a pod is planned on its own.
- Filter, static part: plugins marked ``static`` (NodeUnschedulable,
  TaintToleration, NodeAffinity) are evaluated on every node once per pod
  template and node change (:class:`StaticVerdicts`), as one array of codes:
  0 passed, else 1 + the index of the first rejecting Filter.
- Filter, the walk: chunks of the node order, each a slice of the table's
  walk-order copy of what is free; NodeResourcesFit skips a check the table's
  lower bound proves useless. Why a node failed is worked out only when no
  node passed, from the same unchanged table.
- Score: the plugins that read only resource amounts (NodeResourcesFit,
  NodeResourcesBalancedAllocation) are kept per request size and recomputed
  only for nodes whose amounts changed (:class:`ResourceScores`); a score the
  same on every feasible node is left out of the total (it cannot change the
  winner).

Step 3 (PostFilter) is not vectorised: when no node passes, both paths call
the same PostFilter plugins, so DefaultPreemption
(:mod:`~labsupport.sim.scheduler.preemption`) makes the same choice. A pod
with ``status.nominatedNodeName`` never comes here: the
:class:`~labsupport.sim.scheduler.scheduler.Scheduler` sends it to the
reference cycle, which tries its nominated node first.

See ``labsupport/sim/README.md`` (fast-path notes) for the whole map.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from labsupport.sim.scheduler.decision import (
    NO_NODES,
    SCHEDULER_ERROR,
    Decision,
    fit_error_message,
)
from labsupport.sim.scheduler.framework import (
    FILTER,
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    PRE_FILTER,
    SCORE,
    SKIP,
    Amounts,
    AmountScorePlugin,
    Diagnosis,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.plugins.volumerestrictions import volumes_to_check
from labsupport.sim.scheduler.podinfo import PodProfile
from labsupport.sim.scheduler.reference import post_filter_message, with_post_filter
from labsupport.sim.scheduler.sampling import num_feasible_nodes_to_find
from labsupport.sim.scheduler.student import PluginError
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.scheduler import Scheduler

__all__ = ["FastPath", "FastCycle", "PodPlan", "StaticVerdicts", "ResourceScores"]

_CACHE_SIZE = 256


class FastCycle:
    """One pod's pass through the fast path (upstream's ``CycleState``).

    Attributes:
        table: the node table.
        pod: the Pod object dict.
        prof: its :class:`~labsupport.sim.scheduler.podinfo.PodProfile`.
        node_name: its ``spec.nodeName`` ("" if unset).
        static: the static Filter verdicts and Score inputs for its template.
        state: what plugins keep for this pod (NodePorts: the port conflicts).
    """

    __slots__ = ("table", "pod", "prof", "node_name", "static", "state", "_pod_view")

    def __init__(self, table: NodeTable, pod: dict, prof: PodProfile) -> None:
        self.table = table
        self.pod = pod
        self.prof = prof
        self.node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        self.static: StaticVerdicts | None = None
        self.state: dict[str, object] = {}
        self._pod_view: PodView | None = None

    @property
    def pod_view(self) -> PodView:
        """The :class:`PodView` plugins see (made on first use)."""
        if self._pod_view is None:
            self._pod_view = PodView(self.pod, self.prof, self.table)
        return self._pod_view

    def node_view(self, slot: int) -> NodeView:
        """The :class:`NodeView` of a row."""
        return self.table.node_view(slot)


class PodPlan:
    """Step 1 (PreFilter) for one pod template, and what follows from it.

    Attributes:
        rejected: a PreFilter rejection, or None.
        ran: the plugins whose PreFilter ran.
        node_names: the nodes a PreFilter narrowed to (None: all).
        narrowed_by: which plugins narrowed them.
        filters: the Filter plugins that run (PreFilter did not Skip them), in
            order; a code ``i`` in :class:`StaticVerdicts` means ``filters[i - 1]``.
        window_filters: ``(code, plugin)`` of the filters that are not static.
        window_checks: their ``fast_filter`` methods (what the walk calls).
        scorers: the Score plugins outside the resource cache whose score can
            differ between nodes for this template (step 5).
        static_key: the key of the static verdicts for this template.
    """

    __slots__ = ("prof", "rejected", "ran", "node_names", "narrowed_by", "filters",
                 "window_filters", "window_checks", "scorers", "static_key", "cacheable")

    def __init__(self, profile, prof: PodProfile, pod: dict,
                 other_scorers: tuple[Plugin, ...], table: NodeTable | None = None) -> None:
        # ``table``: given only for a pod with volumes, whose plan is not cached
        # (the volume plugins' PreFilter reads claims through its listers).
        self.prof = prof
        view = PodView(pod, prof, table)
        skipped: set[str] = set()
        self.rejected: Status | None = None
        self.node_names: frozenset[str] | None = None
        self.narrowed_by: list[str] = []
        ran = []
        for plugin in profile.at(PRE_FILTER):
            ran.append(plugin.name)
            status = plugin.pre_filter(view)
            if status.code == SKIP:
                skipped.add(plugin.name)
            elif status.is_rejected:
                self.rejected = status
                break
            elif status.node_names is not None:
                names = status.node_names
                self.node_names = names if self.node_names is None else self.node_names & names
                self.narrowed_by.append(plugin.name)
        self.ran = frozenset(ran)
        self.filters: tuple[Plugin, ...] = tuple(
            p for p in profile.at(FILTER) if p.name not in skipped)
        self.window_filters = tuple((i, p) for i, p in enumerate(self.filters, 1)
                                    if not p.static)
        self.window_checks = tuple(p.fast_filter for _, p in self.window_filters)
        self.scorers = tuple(p for p in other_scorers if not p.fast_score_constant(prof))
        self.static_key = (prof.placement_key, frozenset(skipped))
        # One per DaemonSet pod (metadata.name terms): not worth caching.
        aff = prof.affinity
        self.cacheable = not (any(t.fields for t in aff.required or ())
                              or any(t.fields for _, t in aff.preferred or ()))


class StaticVerdicts:
    """Step 2 (Filter) of the static plugins, and their Score inputs, for every row.

    Attributes:
        code: per row, 0 when every static Filter passes, else 1 + the index
            (in ``PodPlan.filters``) of the first that rejects.
        version: the table's ``static_version`` these were computed at.
        all_pass: every node passes them (the walk can skip ``code``).
        score_input: per static Score plugin, what it reads per row.
        varies: per static Score plugin, whether its input is non-zero on some
            node (else its score is the same on every node).
        scorers: ``PodPlan.scorers`` without the static ones that do not vary.
    """

    __slots__ = ("code", "version", "all_pass", "score_input", "varies", "scorers")

    def __init__(self, table: NodeTable, plan: PodPlan, scorers: tuple[Plugin, ...]) -> None:
        prof = plan.prof
        code = np.zeros(table.capacity, np.int16)
        # Later filters first, so that the earliest rejecting one wins.
        for index in range(len(plan.filters), 0, -1):
            plugin = plan.filters[index - 1]
            if plugin.static:
                fail = plugin.fast_static_fail(table, prof)
                if fail is not None:
                    code[fail] = index
        live = table.order()  # rows that hold no node are never walked
        self.code = code
        self.version = table.static_version
        self.all_pass = not code[live].any()
        self.score_input: dict[str, np.ndarray] = {}
        self.varies: dict[str, bool] = {}
        for plugin in scorers:
            if plugin.static:
                data = plugin.fast_static_score_input(table, prof)
                if data is not None:
                    self.score_input[plugin.name] = data
                    self.varies[plugin.name] = bool(data[live].any())
        self.scorers = tuple(p for p in plan.scorers
                             if not p.static or self.varies.get(p.name, False))


class ResourceScores:
    """Step 5 for the amount-only Score plugins: their weighted sum on every node.

    For one request size. Laid out like :meth:`NodeTable.order_twice` (a
    window of the walk is a slice); ``seen`` holds the row's ``res_version``
    when its score was computed (-1: never), so only rows whose amounts
    changed since are scored again. :meth:`follow` moves the rows when the
    order of the nodes changes.
    """

    __slots__ = ("capacity", "order", "score", "seen")

    def __init__(self, table: NodeTable) -> None:
        self.capacity = table.capacity
        self.order = table.order()
        self.score = np.zeros(2 * len(self.order), np.int64)
        self.seen = np.full(2 * len(self.order), -1, np.int64)

    def follow(self, table: NodeTable) -> None:
        """Lay the rows out in the table's new order; each node keeps its values."""
        by_slot_score = np.zeros(self.capacity, np.int64)
        by_slot_seen = np.full(self.capacity, -1, np.int64)
        n = len(self.order)
        by_slot_score[self.order] = self.score[:n]
        by_slot_seen[self.order] = self.seen[:n]
        order2 = table.order_twice()
        self.order = table.order()
        self.score, self.seen = by_slot_score[order2], by_slot_seen[order2]


class FastPath:
    """The vectorised cycle of a :class:`~labsupport.sim.scheduler.scheduler.Scheduler`."""

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        profile = sched.profile
        self.scorers = profile.at(SCORE)
        self.weights = profile.score_weights
        self.amount_scorers = tuple(p for p in self.scorers if isinstance(p, AmountScorePlugin))
        self.other_scorers = tuple(p for p in self.scorers
                                   if not isinstance(p, AmountScorePlugin))
        self.scalar = all(p.scalar for p in self.amount_scorers)
        self._amount_one = tuple((self.weights[p.name], p.score_amounts_one)
                                 for p in self.amount_scorers)
        self._plans: dict[int, PodPlan] = {}
        self._static: dict[tuple, StaticVerdicts] = {}
        self._resource_scores: dict[tuple, ResourceScores] = {}
        # numFeasibleNodesToFind for the last node count seen.
        self._wanted: tuple[int, int] = (-1, 0)

    # -- step 1: PreFilter, once per template ------------------------------------------------
    def _plan(self, pod: dict, prof: PodProfile) -> PodPlan:
        if (pod.get("spec") or {}).get("volumes") and volumes_to_check(pod):
            # The volume plugins' PreFilter reads claims and disks, not only the
            # template: such a pod gets a plan of its own, never cached.
            return PodPlan(self.sched.profile, prof, pod, self.other_scorers, self.sched.table)
        plan = self._plans.get(id(prof))
        if plan is None or plan.prof is not prof:
            if len(self._plans) >= _CACHE_SIZE:
                self._plans.pop(next(iter(self._plans)))
            plan = self._plans[id(prof)] = PodPlan(self.sched.profile, prof, pod,
                                                  self.other_scorers)
        return plan

    # -- step 2: static Filter verdicts, once per template and node change ---------------------
    def _static_for(self, plan: PodPlan) -> StaticVerdicts:
        table = self.sched.table
        entry = self._static.get(plan.static_key) if plan.cacheable else None
        if entry is not None and entry.version == table.static_version:
            return entry
        entry = StaticVerdicts(table, plan, self.scorers)
        if plan.cacheable:
            if len(self._static) >= _CACHE_SIZE:
                self._static.pop(next(iter(self._static)))
            self._static[plan.static_key] = entry
        return entry

    # -- the cycle -------------------------------------------------------------------------------
    def schedule(self, pod: dict) -> Decision:
        """Steps 1 to 6 of the reference cycle for ``pod``, without the table."""
        t = self.sched.table
        prof = t.profile_for(pod, scheduling=True)
        meta = pod.get("metadata") or {}
        label = (f"{meta.get('namespace') or 'default'}/{meta['name']}"
                 if meta.get("name") else "")
        n_all = len(t)
        if n_all == 0:
            return Decision(None, NO_NODES, 0, 0, None, label, self.weights)
        try:
            return self._schedule(pod, prof, label, n_all)
        except PluginError as err:  # a plugin you wrote failed: see student.py
            return Decision(None, str(err), 0, 0, None, label, self.weights, SCHEDULER_ERROR)

    def _schedule(self, pod: dict, prof: PodProfile, label: str, n_all: int) -> Decision:
        t = self.sched.table
        cycle = FastCycle(t, pod, prof)

        # Step 1: PreFilter (cached per template).
        plan = self._plan(pod, prof)
        if plan.rejected is not None:
            diagnosis = Diagnosis(n_all, 0, plan.ran)
            msg = fit_error_message(n_all, {}, post_filter_message(
                self.sched.profile, cycle.pod_view, diagnosis, self.sched),
                pre_filter=", ".join(plan.rejected.reasons))
            return with_post_filter(Decision(None, msg, 0, 0, None, label, self.weights),
                                    cycle.pod_view)
        cycle.static = self._static_for(plan)
        if plan.node_names is not None:
            position = np.empty(t.capacity, np.int64)
            order = t.order()
            position[order] = np.arange(len(order))
            chosen = sorted((s for s in map(t.slot, plan.node_names) if s is not None),
                            key=lambda s: position[s])
            nodes = np.asarray(chosen, np.int64)
            nodes2 = np.concatenate([nodes, nodes])
        else:
            nodes, nodes2 = t.order(), t.order_twice()
        n = len(nodes)

        # Step 2: Filter, from next_start_node_index, until enough nodes are feasible.
        pct = self.sched.profile.percentage_of_nodes_to_score
        if self._wanted[0] != n:
            self._wanted = (n, num_feasible_nodes_to_find(n, pct))
        wanted = self._wanted[1]
        start = self.sched.next_start_node_index % n if n else 0
        in_order = plan.node_names is None  # nodes2 is the table's order_twice()
        parts: list[np.ndarray] = []  # the rows checked, chunk by chunk
        passed_parts: list[np.ndarray | None] = []  # which passed (None: all of them)
        firsts: list[int] = []  # where each chunk starts in nodes2
        found = done = 0
        chunk = wanted
        while done < n and found < wanted:
            k = min(max(chunk, 1), n - done)
            s = (start + done) % n
            slots = nodes2[s:s + k]
            ok = self._passes(cycle, plan, slots, slice(s, s + k) if in_order else None)
            need = wanted - found
            passed = None if ok is None or np.count_nonzero(ok) == k else ok.nonzero()[0]
            if passed is None:  # all passed: the need-th feasible is the need-th row
                if k >= need:
                    slots = slots[:need]
                    found = wanted
                else:
                    found += k
            elif len(passed) >= need:
                slots = slots[:int(passed[need - 1]) + 1]
                passed = passed[:need]
                found = wanted
            else:
                found += len(passed)
            parts.append(slots)
            passed_parts.append(passed)
            firsts.append(s)
            done += len(slots)
            chunk = max(256, 2 * (wanted - found))
        self.sched.next_start_node_index = (self.sched.next_start_node_index + done) % n_all
        if len(parts) == 1:
            checked = parts[0]
            feasible = checked if passed_parts[0] is None else checked[passed_parts[0]]
        elif parts:
            checked = np.concatenate(parts)
            feasible = np.concatenate([c if p is None else c[p]
                                       for c, p in zip(parts, passed_parts, strict=True)])
        else:
            checked = feasible = np.zeros(0, np.int64)

        # Step 3: PostFilter, when no node passed.
        if len(feasible) == 0:
            message = self._failure_message(cycle, plan, checked, n_all, n_all - n)
            return with_post_filter(Decision(None, message, done, 0, None, label, self.weights),
                                    cycle.pod_view)
        # Step 4: one feasible node, no scoring.
        if len(feasible) == 1:
            return Decision(t.name_of(int(feasible[0])), "", done, 1, None, label, self.weights)

        # Step 5: Score. Where the feasible rows are in order_twice(): one slice
        # when a single window of the order passed whole (the usual case).
        at: slice | np.ndarray
        if not in_order:
            at = t.positions(feasible)
        elif len(parts) == 1 and passed_parts[0] is None:
            at = slice(firsts[0], firsts[0] + len(feasible))
        else:
            at = np.concatenate([
                np.arange(f, f + len(c)) if p is None else p + f
                for f, c, p in zip(firsts, parts, passed_parts, strict=True)])
        total = self._total(cycle, plan, feasible, at)

        # Step 6: selectHost (one seeded draw among the best, as the reference).
        ties = (total == total[total.argmax()]).nonzero()[0]
        pick = ties[0] if len(ties) == 1 else ties[self.sched.rng.randrange(len(ties))]
        return Decision(t.name_of(int(feasible[pick])), "", done, len(feasible), None, label,
                        self.weights)

    # -- step 2: which rows of a window pass every Filter ---------------------------------------
    def _passes(self, cycle: FastCycle, plan: PodPlan, slots: np.ndarray,
                at: slice | None) -> np.ndarray | None:
        """A mask of the rows that pass, or None when all pass (filter order is moot)."""
        ok: np.ndarray | None = None
        for fast_filter in plan.window_checks:
            more = fast_filter(cycle, slots, at)
            if more is not None:
                ok = more if ok is None else np.logical_and(ok, more, out=ok)
        static = cycle.static
        assert static is not None
        if not static.all_pass:
            more = static.code[slots] == 0
            ok = more if ok is None else np.logical_and(ok, more, out=ok)
        return ok

    # -- step 3: why no node passed -------------------------------------------------------------
    def _failure_message(self, cycle: FastCycle, plan: PodPlan, checked: np.ndarray,
                         n_all: int, absent: int) -> str:
        static = cycle.static
        assert static is not None
        # Per row, 1 + the index of the first rejecting Filter (RunFilterPlugins order).
        codes = static.code[checked]
        for index, plugin in reversed(plan.window_filters):
            ok = plugin.fast_filter(cycle, checked, None)
            if ok is not None:
                codes[~ok & ((codes == 0) | (codes > index))] = index
        reasons: Counter[str] = Counter()
        if absent:
            reasons[f"node(s) didn't satisfy plugin(s) [{', '.join(sorted(plan.narrowed_by))}]"
                    ] = absent
        candidates = 0
        for index, plugin in enumerate(plan.filters, 1):
            rows = checked[codes == index]
            if not len(rows):
                continue
            for reason, mask in plugin.fast_failures(cycle, rows):
                reasons[reason] += int(np.count_nonzero(mask))
            candidates += plugin.fast_candidates(cycle, rows)
        diagnosis = Diagnosis(n_all, candidates, plan.ran)
        return fit_error_message(n_all, reasons, post_filter_message(
            self.sched.profile, cycle.pod_view, diagnosis, self.sched))

    # -- step 5: the weighted total (terms equal on every node left out) -------------------------
    def _total(self, cycle: FastCycle, plan: PodPlan, feasible: np.ndarray,
               at: slice | np.ndarray) -> np.ndarray:
        total = self._resource_score(cycle.prof, feasible, at)
        assert cycle.static is not None
        for plugin in cycle.static.scorers:
            score = plugin.fast_score(cycle, feasible, for_total=True)
            if score is None:
                continue
            if score.size and (score.min() < MIN_NODE_SCORE or score.max() > MAX_NODE_SCORE):
                bad = int(np.argmax((score < MIN_NODE_SCORE) | (score > MAX_NODE_SCORE)))
                raise PluginError(plugin.name, "score", cycle.pod_view.key,
                                  cycle.table.name_of(int(feasible[bad])),
                                  f"gave {int(score[bad])} after NormalizeScore, outside "
                                  f"[{MIN_NODE_SCORE}, {MAX_NODE_SCORE}]")
            total = total + self.weights[plugin.name] * score
        return total

    def _resource_score(self, prof: PodProfile, feasible: np.ndarray,
                        at: slice | np.ndarray) -> np.ndarray:
        """The weighted sum of the amount-only Score plugins, from the cache.

        Recomputed only for rows whose amounts changed (``res_version``);
        ``at`` is where the ``feasible`` rows are in ``order_twice()``. The
        result may be a view of the cache: do not change it in place.
        """
        t = self.sched.table
        if not self.amount_scorers:
            return np.zeros(len(feasible), np.int64)
        key = (prof.cpu, prof.memory, prof.nonzero_cpu, prof.nonzero_memory)
        entry = self._resource_scores.get(key)
        if entry is None or entry.capacity != t.capacity:
            if entry is None and len(self._resource_scores) >= _CACHE_SIZE:
                self._resource_scores.pop(next(iter(self._resource_scores)))
            entry = self._resource_scores[key] = ResourceScores(t)
        elif entry.order is not t.order():
            entry.follow(t)
        score, seen, n = entry.score, entry.seen, len(entry.order)
        stale = (seen[at] != t.walk_res_version[at]).nonzero()[0]  # indices into feasible
        if 0 < len(stale) <= 8 and self.scalar:
            first = at.start if isinstance(at, slice) else None
            for i in stale.tolist():  # a few rows: plain Python beats numpy's overhead
                slot = feasible.item(i)
                a_cpu, a_mem, _, r_cpu, r_mem, nz_cpu, nz_mem, _ = t.amounts[slot].tolist()
                value = 0
                for weight, score_one in self._amount_one:
                    value += weight * score_one(prof, a_cpu, a_mem, r_cpu, r_mem, nz_cpu, nz_mem)
                pos = (first + i if first is not None else at.item(i)) % n
                score[pos] = score[pos + n] = value
                seen[pos] = seen[pos + n] = t.res_version.item(slot)
        elif len(stale):
            rows = feasible[stale]
            pos = (stale + at.start if isinstance(at, slice) else at[stale]) % n
            amounts = Amounts(t.alloc_cpu[rows], t.alloc_mem[rows], t.req_cpu[rows],
                              t.req_mem[rows], t.nonzero_cpu[rows], t.nonzero_mem[rows])
            value = sum(self.weights[p.name] * p.score_amounts(prof, amounts)
                        for p in self.amount_scorers)
            score[pos] = score[pos + n] = value
            seen[pos] = seen[pos + n] = t.res_version[rows]
        return score[at]

    # -- for tests: the vectorised plugins on chosen nodes, without the cycle -------------------
    def verdicts(self, pod: dict, nodes: list[str]) -> tuple[list[bool], dict[str, list[int]]]:
        """Filter (pass or not) and each Score plugin's normalized scores on ``nodes``.

        What steps 2 and 5 compute, on the rows of ``nodes`` and without the
        walk's shortcuts; the tests compare it with the reference plugins.
        """
        t = self.sched.table
        prof = t.profile_for(pod)
        cycle = FastCycle(t, pod, prof)
        plan = self._plan(pod, prof)
        cycle.static = self._static_for(plan)
        slots = np.asarray([t.slot(n) for n in nodes], np.int64)
        ok = self._passes(cycle, plan, slots, None)
        passed = [True] * len(nodes) if ok is None else ok.tolist()
        scores: dict[str, list[int]] = {}
        amounts = Amounts(t.alloc_cpu[slots], t.alloc_mem[slots], t.req_cpu[slots],
                          t.req_mem[slots], t.nonzero_cpu[slots], t.nonzero_mem[slots])
        for plugin in self.scorers:
            if isinstance(plugin, AmountScorePlugin):
                values = plugin.score_amounts(prof, amounts)
            else:
                values = plugin.fast_score(cycle, slots, for_total=False)
            scores[plugin.name] = [int(v) for v in values]
        return passed, scores
