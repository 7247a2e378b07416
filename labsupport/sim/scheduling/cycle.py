"""One scheduling cycle: PreFilter, Filter (sampled), Score, NormalizeScore, select.

This follows ``schedulePod`` in pkg/scheduler/schedule_one.go (as of v1.37):

1. PreFilter: NodeAffinity may narrow the nodes to those named by
   ``matchFields metadata.name In`` (DaemonSet pods).
2. Filter: walk the nodes starting at ``nextStartNodeIndex``, wrapping
   around, until ``numFeasibleNodesToFind`` nodes passed every filter; then
   advance ``nextStartNodeIndex`` by the number of nodes processed, so the
   next pod starts where this one stopped (round-robin).
3. If nothing passed: the FailedScheduling message, with what the
   DynamicResources and DefaultPreemption PostFilters report.
4. If one node passed, take it (scoring is skipped). Otherwise score the
   feasible nodes, normalize, weight, and pick the highest total; ties are
   broken at random (upstream: reservoir sampling in ``selectHost``).

The walk is done in vectorised chunks over the node order; with every node
feasible, a 5,000-node cluster checks exactly 500 nodes per pod. The node
amounts it reads, and the cached resource scores, are also kept in walk order
(``NodeTable.pos_*``), so a chunk is a slice of them. The walk only finds
which nodes pass; why the others failed is worked out again when no node
passed (or with ``explain``), from the same unchanged table.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import numpy as np

from labsupport.errors import Invalid
from labsupport.sim.scheduling import plugins as pl
from labsupport.sim.scheduling.decision import NO_NODES, Decision, fit_error_message
from labsupport.sim.scheduling.nodetable import NodeTable
from labsupport.sim.scheduling.podinfo import PodProfile

__all__ = ["Scheduler"]

# plugins/defaultpreemption/default_preemption.go PostFilter prefixes "preemption: ".
# SelectVictimsOnNode: a node where preemption might help but no pod has a lower
# priority than the incoming one.
NO_VICTIMS = "No preemption victims found for incoming pod"
# framework/preemption/preemption.go Preempt: nodes that failed with
# UnschedulableAndUnresolvable (all filters here except NodePorts and
# NodeResourcesFit) are not candidates.
NOT_HELPFUL = "Preemption is not helpful for scheduling"
# default_preemption.go PodEligibleToPreemptOthers.
PREEMPT_NEVER = "not eligible due to preemptionPolicy=Never."

STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")


def _and(mask: np.ndarray | None, more: np.ndarray) -> np.ndarray:
    """``mask & more``, reusing ``mask`` (a fresh array); None stands for all True."""
    return more if mask is None else np.logical_and(mask, more, out=mask)


class _ResourceScores:
    """NodeResourcesFit + BalancedAllocation of every node, for one request size.

    Laid out like :meth:`NodeTable.order_twice` (so a window of the Filter walk
    is a slice); ``seen`` holds the row's ``res_version`` when its score was
    computed (-1: never), so only rows whose amounts changed since are scored
    again. Made for one table capacity; :meth:`follow` moves the rows when the
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


class Scheduler:
    """The default kube-scheduler profile, over a :class:`NodeTable`.

    Args:
        table: the nodes and what is already bound to them.
        percentage_of_nodes_to_score: ``percentageOfNodesToScore`` (0..100);
            None or 0 is upstream's adaptive default ``max(5, 50 - N/125)``.
        scoring_strategy: NodeResourcesFit ``scoringStrategy.type``:
            ``"LeastAllocated"`` (default), ``"MostAllocated"`` or
            ``"RequestedToCapacityRatio"``.
        seed: seeds the tie-breaking random choice; same seed, same placements.
        shape: RequestedToCapacityRatio ``(utilization, score)`` points
            (utilization 0..100 increasing, score 0..10); default 0->0, 100->10.

    :meth:`schedule` does not bind: the caller calls ``table.add_pod`` when
    the pod is bound, as the real scheduler's cache "assumes" the pod.

    Example:
        >>> from labsupport.sim.scheduler import NodeTable, Scheduler
        >>> t = NodeTable()
        >>> for i, cpu in enumerate(["2", "4"], 1):
        ...     t.upsert_node({"metadata": {"name": f"node-{i}"}, "status": {"allocatable":
        ...                    {"cpu": cpu, "memory": "8Gi", "pods": "110"}}})
        >>> pod = {"metadata": {"name": "web-1", "namespace": "default"}, "spec": {"containers":
        ...        [{"name": "web", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}
        >>> Scheduler(t).schedule(pod)
        <Decision default/web-1 -> node-2 (checked 2 nodes, 2 feasible)>
        >>> big = {"spec": {"containers": [{"resources": {"requests": {"cpu": "8"}}}]}}
        >>> print(Scheduler(t).schedule(big).message)
        0/2 nodes are available: 2 Insufficient cpu. no new claims to deallocate, preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..
    """  # noqa: E501

    _CACHE_SIZE = 256

    def __init__(self, table: NodeTable, *, percentage_of_nodes_to_score: int | None = None,
                 scoring_strategy: str = "LeastAllocated", seed: int = 0,
                 shape: Sequence[tuple[int, int]] | None = None) -> None:
        if not isinstance(table, NodeTable):
            raise Invalid(f"Scheduler needs a NodeTable; got {type(table).__name__}")
        pct = percentage_of_nodes_to_score
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, int)
                                or not 0 <= pct <= 100):
            raise Invalid(f"percentage_of_nodes_to_score must be an integer from 0 to 100 "
                          f"(None or 0: adaptive, as kube-scheduler does); got {pct!r}")
        if scoring_strategy not in STRATEGIES:
            raise Invalid(f"scoring_strategy must be one of {', '.join(STRATEGIES)}; "
                          f"got {scoring_strategy!r}")
        if shape is not None:
            shape = tuple((int(u), int(s)) for u, s in shape)
            us = [u for u, _ in shape]
            if (not shape or us != sorted(set(us)) or not all(0 <= u <= 100 for u in us)
                    or not all(0 <= s <= 10 for _, s in shape)):
                raise Invalid("shape must list (utilization, score) points with utilization "
                              f"0..100 strictly increasing and score 0..10; got {shape!r}")
        self.table = table
        self.percentage_of_nodes_to_score = pct
        self.scoring_strategy = scoring_strategy
        self.shape = shape or pl.DEFAULT_SHAPE
        self.seed = seed
        self._rng = random.Random(seed)
        #: Where the next Filter walk starts (``sched.nextStartNodeIndex``).
        self.next_start_node_index = 0
        self._static: dict[tuple, pl.StaticFilters] = {}
        # Per pod request size: NodeResourcesFit + BalancedAllocation score of
        # every row, and the row's res_version when it was computed.
        self._resource_scores: dict[tuple, _ResourceScores] = {}
        # numFeasibleNodesToFind for the last (node count, percentage) seen.
        self._wanted: tuple[int, int | None, int] = (-1, None, 0)

    def __repr__(self) -> str:
        return (f"<Scheduler {self.scoring_strategy} over {len(self.table)} nodes, "
                f"next start {self.next_start_node_index}>")

    # -- helpers --------------------------------------------------------------------
    def _static_for(self, prof: PodProfile) -> pl.StaticFilters:
        """The static filter results for ``prof``, cached by its placement key."""
        entry = self._static.get(prof.placement_key)
        if entry is not None and entry.version == self.table.static_version:
            # Only pods without metadata.name terms are cached, and the key
            # covers the node affinity, so a hit is never such a pod.
            return entry
        aff = prof.affinity
        named = any(t.fields for t in aff.required or ()) or any(
            t.fields for _, t in aff.preferred or ())
        if named:  # one per DaemonSet pod: not worth caching
            return pl.static_filters(self.table, prof)
        entry = pl.static_filters(self.table, prof)
        if len(self._static) >= self._CACHE_SIZE:
            self._static.pop(next(iter(self._static)))
        self._static[prof.placement_key] = entry
        return entry

    def _fit_parts(self, slots: np.ndarray, prof: PodProfile) -> tuple[np.ndarray, ...]:
        """NodeResourcesFit fitsRequest: too many pods, insufficient cpu, memory."""
        # len(pods) + 1 > allowedPodNumber; request > allocatable - requested.
        t = self.table
        too_many = t.free_pods[slots] < 1
        none = np.zeros(len(slots), bool)
        if prof.cpu == 0 and prof.memory == 0:  # nothing requested: only the pod count
            return too_many, none, none
        cpu = t.free_cpu[slots] < prof.cpu if prof.cpu > 0 else none
        mem = t.free_mem[slots] < prof.memory if prof.memory > 0 else none
        return too_many, cpu, mem

    def _passes(self, slots: np.ndarray, at: slice | None, static: pl.StaticFilters,
                prof: PodProfile, node_name: str,
                port_hit: np.ndarray | None) -> np.ndarray | None:
        """Which of ``slots`` pass every filter: ``_filter(...) == PASSED``, cheaper.

        Returns a mask, or None when every slot passes. ``at`` is where
        ``slots`` are in ``NodeTable.order_twice()``, so the free amounts are a
        slice of the table's ``pos_*`` arrays; None when the slots are not a
        window of the order. A node passes when no filter fails, so the order
        of the filters (which only decides the failure code) does not matter.
        """
        t = self.table
        ok: np.ndarray | None = None
        # NodeResourcesFit fitsRequest, negated: room for one more pod, and the
        # request <= allocatable - requested (a resource not requested is not
        # checked). No node needs checking when the table's lower bound suffices.
        if t.min_free_pods < 1:
            ok = (t.pos_free_pods[at] if at is not None else t.free_pods[slots]) >= 1
        if prof.cpu > 0 and prof.cpu > t.min_free_cpu:
            ok = _and(ok, (t.pos_free_cpu[at] if at is not None
                           else t.free_cpu[slots]) >= prof.cpu)
        if prof.memory > 0 and prof.memory > t.min_free_mem:
            ok = _and(ok, (t.pos_free_mem[at] if at is not None
                           else t.free_mem[slots]) >= prof.memory)
        if not static.all_pass:
            ok = _and(ok, static.code[slots] == pl.PASSED)
        if node_name:
            target = t.slot(node_name)
            ok = _and(ok, slots == (-1 if target is None else target))
        if port_hit is not None:
            ok = _and(ok, ~port_hit[slots])
        return ok

    def _filter(self, slots: np.ndarray, static: pl.StaticFilters, prof: PodProfile,
                node_name: str, port_hit: np.ndarray | None) -> np.ndarray:
        """Per slot, PASSED or the code of the first filter that fails."""
        codes = static.code[slots]
        if node_name:
            target = self.table.slot(node_name)
            wrong = slots != (-1 if target is None else target)
            codes[wrong & ((codes == pl.PASSED) | (codes > pl.NODE_NAME))] = pl.NODE_NAME
        if port_hit is not None:
            codes[(codes == pl.PASSED) & port_hit[slots]] = pl.PORTS
        too_many, cpu, mem = self._fit_parts(slots, prof)
        codes[(codes == pl.PASSED) & (too_many | cpu | mem)] = pl.FIT
        return codes

    def _post_filter(self, prof: PodProfile, n_all: int, potential: int, *,
                     dynamic_resources: bool = True) -> str:
        """What the PostFilter plugins say, joined with ", " as RunPostFilterPlugins does.

        DynamicResources comes first (default_plugins.go applyFeatureGates puts it
        before DefaultPreemption) and, for a Pod without ResourceClaims, says
        ``pl.DRA_POST_FILTER``. ``dynamic_resources=False`` leaves it out (used
        when a PreFilter rejected the pod; see :meth:`schedule`).
        """
        # Preemption is modelled for pods of equal priority: no node has a victim.
        if prof.preempt_never:
            preemption = "preemption: " + PREEMPT_NEVER
        else:
            preemption = "preemption: " + fit_error_message(
                n_all, {NO_VICTIMS: potential, NOT_HELPFUL: n_all - potential})
        return f"{pl.DRA_POST_FILTER}, {preemption}" if dynamic_resources else preemption

    def _resource_score(self, feasible: np.ndarray, at: slice | np.ndarray,
                        prof: PodProfile) -> np.ndarray:
        """NodeResourcesFit + NodeResourcesBalancedAllocation (weight 1 each).

        These depend only on the node's amounts and the pod's requests, so they
        are kept per request size and recomputed only for rows whose amounts
        changed since (``NodeTable.res_version``). ``at`` is where the
        ``feasible`` rows are in ``NodeTable.order_twice()``. The result may be
        a view of the cache: do not change it in place.
        """
        t = self.table
        key = (prof.cpu, prof.memory, prof.nonzero_cpu, prof.nonzero_memory)
        entry = self._resource_scores.get(key)
        if entry is None or entry.capacity != t.capacity:
            if entry is None and len(self._resource_scores) >= self._CACHE_SIZE:
                self._resource_scores.pop(next(iter(self._resource_scores)))
            entry = _ResourceScores(t)
            self._resource_scores[key] = entry
        elif entry.order is not t.order():
            entry.follow(t)
        score, seen, n = entry.score, entry.seen, len(entry.order)
        stale = (seen[at] != t.pos_res_version[at]).nonzero()[0]  # indices into feasible
        if 0 < len(stale) <= 8 and self.scoring_strategy != "RequestedToCapacityRatio":
            first = at.start if isinstance(at, slice) else None
            for i in stale.tolist():  # a few rows: plain Python beats numpy's overhead
                slot = feasible.item(i)
                a_cpu, a_mem, _, r_cpu, r_mem, nz_cpu, nz_mem, _ = t.amounts[slot].tolist()
                value = pl.resource_score_one(
                    self.scoring_strategy, nz_cpu + prof.nonzero_cpu,
                    nz_mem + prof.nonzero_memory, r_cpu + prof.cpu, r_mem + prof.memory,
                    a_cpu, a_mem, r_cpu, r_mem)
                pos = (first + i if first is not None else at.item(i)) % n
                score[pos] = score[pos + n] = value
                seen[pos] = seen[pos + n] = t.res_version.item(slot)
        elif len(stale):
            rows = feasible[stale]
            pos = (stale + at.start if isinstance(at, slice) else at[stale]) % n
            parts = self._resource_parts(rows, prof)
            score[pos] = score[pos + n] = parts[0] + parts[1]
            seen[pos] = seen[pos + n] = t.res_version[rows]
        return score[at]

    def _resource_parts(self, feasible: np.ndarray,
                        prof: PodProfile) -> tuple[np.ndarray, np.ndarray]:
        t = self.table
        a_cpu, a_mem = t.alloc_cpu[feasible], t.alloc_mem[feasible]
        # NodeResourcesFit scores NonZeroRequested + the pod's non-zero request.
        nz_cpu = t.nonzero_cpu[feasible] + prof.nonzero_cpu
        nz_mem = t.nonzero_mem[feasible] + prof.nonzero_memory
        if self.scoring_strategy == "LeastAllocated":
            fit = pl.least_allocated(nz_cpu, a_cpu, nz_mem, a_mem)
        elif self.scoring_strategy == "MostAllocated":
            fit = pl.most_allocated(nz_cpu, a_cpu, nz_mem, a_mem)
        else:
            fit = pl.requested_to_capacity_ratio(nz_cpu, a_cpu, nz_mem, a_mem, self.shape)
        # BalancedAllocation compares the node's balance with and without the pod
        # (v1.36+, kubernetes PR #135573), on actual requests.
        r_cpu, r_mem = t.req_cpu[feasible], t.req_mem[feasible]
        balanced = pl.balanced_allocation(r_cpu + prof.cpu, a_cpu, r_mem + prof.memory, a_mem,
                                          r_cpu, r_mem)
        return fit, balanced

    def _scores(self, feasible: np.ndarray, static: pl.StaticFilters,
                prof: PodProfile) -> dict[str, np.ndarray]:
        """Every score plugin's normalized score for the feasible rows."""
        fit, balanced = self._resource_parts(feasible, prof)
        zeros = np.zeros(len(feasible), np.int64)
        return {
            "TaintToleration": pl.normalize(static.soft_taints[feasible], reverse=True),
            "NodeAffinity": (zeros if static.preferred is None
                             else pl.normalize(static.preferred[feasible], reverse=False)),
            "NodeResourcesFit": fit,
            "NodeResourcesBalancedAllocation": balanced,
            # No image cache is modelled: ImageLocality scores 0 on every node.
            "ImageLocality": zeros,
        }

    def _total(self, feasible: np.ndarray, at: slice | np.ndarray, static: pl.StaticFilters,
               prof: PodProfile) -> np.ndarray:
        """The weighted sum of :meth:`_scores`, computed the quick way.

        Terms that are the same on every feasible node are left out: the
        result only serves to find the highest-scoring nodes. ``at`` is where
        the ``feasible`` rows are in ``NodeTable.order_twice()``.
        """
        total = self._resource_score(feasible, at, prof)
        soft = static.soft_taints[feasible] if static.any_soft else None
        if soft is not None and soft.any():
            total = total + pl.WEIGHTS["TaintToleration"] * pl.normalize(soft, reverse=True)
        # Otherwise TaintToleration scores 100 on every node: no difference made.
        if static.preferred is not None:
            total = total + pl.WEIGHTS["NodeAffinity"] * pl.normalize(
                static.preferred[feasible], reverse=False)
        return total

    # -- the cycle ------------------------------------------------------------------
    def schedule(self, pod: dict, *, explain: bool = False) -> Decision:
        """Pick a node for ``pod`` (a Pod object dict), or say why none fits.

        Args:
            pod: the pod; its ``spec`` is read, nothing is changed.
            explain: also return the per-node filter and score table.

        Returns:
            A :class:`Decision`. The pod is not added to the table.
        """
        t = self.table
        prof = t._profile(pod)
        t._last = (pod, prof)
        meta = pod.get("metadata") or {}
        label = (f"{meta.get('namespace') or 'default'}/{meta['name']}"
                 if meta.get("name") else "")
        spec = pod.get("spec") or {}
        node_name = str(spec.get("nodeName") or "")
        n_all = len(t)
        if n_all == 0:
            return Decision(None, NO_NODES, 0, 0, [] if explain else None, label)
        static = self._static_for(prof)

        # PreFilter: NodeAffinity's metadata.name terms.
        names = prof.affinity.node_names
        if names is not None:
            if not names:
                # NodeAffinity's PreFilter rejects before DynamicResources' PreFilter
                # runs, so that plugin has no state for its PostFilter; what v1.37
                # prints then was not checked, and the message keeps the preemption
                # part only.
                msg = fit_error_message(
                    n_all, {}, self._post_filter(prof, n_all, 0, dynamic_resources=False),
                    pre_filter=pl.AFFINITY_CONFLICT)
                return Decision(None, msg, 0, 0, [] if explain else None, label)
            position = np.empty(t.capacity, np.int64)
            order = t.order()
            position[order] = np.arange(len(order))
            chosen = sorted((s for s in map(t.slot, names) if s is not None),
                            key=lambda s: position[s])
            nodes = np.asarray(chosen, np.int64)
            nodes2 = np.concatenate([nodes, nodes])
        else:
            nodes, nodes2 = t.order(), t.order_twice()
        n = len(nodes)
        absent = n_all - n

        # Filter, from nextStartNodeIndex, until enough feasible nodes are found.
        pct = self.percentage_of_nodes_to_score
        if self._wanted[0] != n or self._wanted[1] != pct:
            self._wanted = (n, pct, pl.num_feasible_nodes_to_find(n, pct))
        wanted = self._wanted[2]
        start = self.next_start_node_index % n if n else 0
        port_hit = pl.port_conflicts(t, prof.host_ports) if prof.host_ports else None
        in_order = names is None  # nodes2 is the table's order_twice()
        parts: list[np.ndarray] = []  # the slots checked, chunk by chunk
        passed_parts: list[np.ndarray | None] = []  # which passed (None: all of them)
        firsts: list[int] = []  # where each chunk starts in nodes2
        found = done = 0
        chunk = wanted
        while done < n and found < wanted:
            k = min(max(chunk, 1), n - done)
            s = (start + done) % n
            slots = nodes2[s:s + k]
            ok = self._passes(slots, slice(s, s + k) if in_order else None, static, prof,
                              node_name, port_hit)
            need = wanted - found
            passed = None if ok is None or np.count_nonzero(ok) == k else ok.nonzero()[0]
            if passed is None:  # all passed: the need-th feasible is the need-th slot
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
        self.next_start_node_index = (self.next_start_node_index + done) % n_all
        if len(parts) == 1:
            checked = parts[0]
            feasible = checked if passed_parts[0] is None else checked[passed_parts[0]]
        elif parts:
            checked = np.concatenate(parts)
            feasible = np.concatenate([c if p is None else c[p]
                                       for c, p in zip(parts, passed_parts, strict=True)])
        else:
            checked = feasible = np.zeros(0, np.int64)

        scores: dict[str, np.ndarray] | None = None
        total: np.ndarray | None = None
        codes: np.ndarray | None = None
        if len(feasible) == 0 or explain:
            # Why each node failed; the filters depend only on the table, unchanged
            # since the walk, so running them again gives the walk's own verdicts.
            codes = self._filter(checked, static, prof, node_name, port_hit)
        if len(feasible) == 0:
            assert codes is not None
            node = None
            message = self._failure_message(checked, codes, static, prof, n_all, absent)
        elif len(feasible) == 1:
            node, message = t.name_of(int(feasible[0])), ""
        else:
            if explain:
                scores = self._scores(feasible, static, prof)
                total = sum(pl.WEIGHTS[p] * s for p, s in scores.items())
            else:
                # Where the feasible nodes are in order_twice(): one slice when a
                # single window of the order passed whole (the usual case).
                at: slice | np.ndarray
                if not in_order:
                    at = t.positions(feasible)
                elif len(parts) == 1 and passed_parts[0] is None:
                    at = slice(firsts[0], firsts[0] + len(feasible))
                else:
                    at = np.concatenate([
                        np.arange(f, f + len(c)) if p is None else p + f
                        for f, c, p in zip(firsts, parts, passed_parts, strict=True)])
                total = self._total(feasible, at, static, prof)
            # selectHost keeps each of the k best-scoring nodes with probability 1/k
            # (reservoir sampling); one seeded uniform draw gives the same odds.
            ties = (total == total[total.argmax()]).nonzero()[0]
            pick = ties[0] if len(ties) == 1 else ties[self._rng.randrange(len(ties))]
            node, message = t.name_of(int(feasible[pick])), ""

        table = None
        if explain:
            assert codes is not None
            table = self._explain(checked, codes, static, prof, feasible, scores, total)
        return Decision(node, message, done, len(feasible), table, label)

    def _failure_message(self, checked: np.ndarray, codes: np.ndarray,
                         static: pl.StaticFilters, prof: PodProfile, n_all: int,
                         absent: int) -> str:
        reasons: Counter[str] = Counter()
        if absent:
            reasons[pl.PREFILTER_ABSENT] += absent
        counts = np.bincount(codes, minlength=7)
        for code in (pl.UNSCHEDULABLE, pl.NODE_NAME, pl.AFFINITY, pl.PORTS):
            reasons[pl.REASON[code]] += int(counts[code])
        # One generic TaintToleration reason whatever the taint (v1.35+, PR #134740).
        reasons[pl.TAINT_REASON] += int(counts[pl.TAINT])
        too_many, cpu, mem = self._fit_parts(checked[codes == pl.FIT], prof)
        reasons[pl.TOO_MANY_PODS] += int(too_many.sum())
        reasons[pl.INSUFFICIENT_CPU] += int(cpu.sum())
        reasons[pl.INSUFFICIENT_MEMORY] += int(mem.sum())
        potential = int(counts[pl.PORTS] + counts[pl.FIT])
        return fit_error_message(n_all, reasons, self._post_filter(prof, n_all, potential))

    def _explain(self, checked: np.ndarray, codes: np.ndarray, static: pl.StaticFilters,
                 prof: PodProfile, feasible: np.ndarray,
                 scores: dict[str, np.ndarray] | None,
                 total: np.ndarray | None) -> list[dict]:
        index = {int(s): i for i, s in enumerate(feasible)}
        fit_slots = checked[codes == pl.FIT]
        fit_text: dict[int, str] = {}
        for slot, many, cpu, mem in zip(fit_slots, *self._fit_parts(fit_slots, prof),
                                        strict=True):
            words = [w for w, bad in ((pl.TOO_MANY_PODS, many), (pl.INSUFFICIENT_CPU, cpu),
                                      (pl.INSUFFICIENT_MEMORY, mem)) if bad]
            fit_text[int(slot)] = ", ".join(words)
        rows = []
        for slot, code in zip(checked.tolist(), codes.tolist(), strict=True):
            row: dict = {"node": self.table.name_of(slot)}
            if code == pl.PASSED:
                row["filter"], row["plugin"] = "passed", ""
            else:
                row["plugin"] = pl.FILTER_PLUGINS[code]
                if code == pl.TAINT:
                    row["filter"] = pl.taint_reason(self.table, int(static.taint[slot]))
                elif code == pl.FIT:
                    row["filter"] = fit_text[slot]
                else:
                    row["filter"] = pl.REASON[code]
            i = index.get(slot)
            for plugin in pl.SCORE_PLUGINS:
                row[plugin] = None if scores is None or i is None else int(scores[plugin][i])
            row["total"] = None if total is None or i is None else int(total[i])
            rows.append(row)
        return rows
