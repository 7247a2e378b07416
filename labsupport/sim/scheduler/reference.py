"""The scheduling cycle, written to be read: one pod, node by node, plugin by plugin.

This is ``schedulePod`` of pkg/scheduler/schedule_one.go (v1.37) with the
framework's Run*Plugins loops (pkg/scheduler/framework/runtime/framework.go)
written out. It is the cycle ``explain_scheduling`` shows, the one lesson 06
reads, and the oracle the fast path (:mod:`~labsupport.sim.scheduler.fastpath`)
is tested against: both give the same node, message, sampling and scores.

Read :func:`schedule_one` top to bottom:

1. PreFilter: each plugin checks the pod once; it may Skip (its Filter then
   does not run), reject the pod, or narrow the nodes (NodeAffinity's
   ``metadata.name`` terms).
2. Filter: walk the nodes from ``next_start_node_index`` (round-robin),
   running every Filter on each node, until ``numFeasibleNodesToFind`` nodes
   passed (sampling); then move the start on by the nodes processed.
3. PostFilter, when no node passed: the FailedScheduling message.
4. One feasible node: take it (upstream skips scoring).
5. PreScore, Score, NormalizeScore and weights: each plugin scores every
   feasible node, scales its scores to 0..100, times its weight; the total
   is the sum.
6. selectHost: the highest total; a tie is broken at random.
7. Reserve and Bind come after, in the cluster:
   :meth:`labsupport.sim.scheduler.kubescheduler.KubeScheduler.bind`.

See ``labsupport/sim/README.md`` for where each step lives in the fast path.

Example:
    >>> from labsupport.sim.scheduler import NodeTable, Scheduler
    >>> from labsupport.sim.scheduler.reference import schedule_one
    >>> t = NodeTable()
    >>> for i, cpu in enumerate(["2", "4"], 1):
    ...     t.upsert_node({"metadata": {"name": f"node-{i}"}, "status": {"allocatable":
    ...                    {"cpu": cpu, "memory": "8Gi", "pods": "110"}}})
    >>> pod = {"metadata": {"name": "web-1"}, "spec": {"containers":
    ...        [{"name": "web", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}
    >>> d = schedule_one(Scheduler(t), pod)
    >>> [(row["node"], row["NodeResourcesFit"], row["total"]) for row in d.table]
    [('node-1', 68, 433), ('node-2', 81, 452)]
    >>> d.node
    'node-2'
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from labsupport.sim.scheduler.decision import (
    NO_NODES,
    SCHEDULER_ERROR,
    Decision,
    fit_error_message,
)
from labsupport.sim.scheduler.framework import (
    FILTER,
    FILTERED_NODES,
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    POST_FILTER,
    PRE_FILTER,
    SCORE,
    SKIP,
    UNSCHEDULABLE,
    Diagnosis,
    Status,
)
from labsupport.sim.scheduler.plugins.defaultpreemption import CLEAR, HANDLE, NOTES
from labsupport.sim.scheduler.plugins.defaultpreemption import NAME as PREEMPTION
from labsupport.sim.scheduler.sampling import num_feasible_nodes_to_find
from labsupport.sim.scheduler.student import PluginError
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.profile import Profile
    from labsupport.sim.scheduler.scheduler import Scheduler

__all__ = ["schedule_one", "post_filter_message", "with_post_filter"]


def schedule_one(sched: Scheduler, pod: dict) -> Decision:
    """Find a node for ``pod``, or say why none fits, with the whole table.

    Args:
        sched: the scheduler: its profile, node table (the cache), random
            generator and ``next_start_node_index``.
        pod: the Pod object dict; nothing in it is changed.

    Returns:
        A :class:`~labsupport.sim.scheduler.decision.Decision` with its table:
        one row per node checked.
    """
    table, profile = sched.table, sched.profile
    pod_view = PodView(pod, table.profile_for(pod, scheduling=True), table)
    weights = profile.score_weights
    all_nodes = table.names()  # the node tree's order: zone by zone
    if not all_nodes:
        return Decision(None, NO_NODES, 0, 0, [], pod_view.key, weights)
    try:
        return _schedule(sched, pod_view, all_nodes)
    except PluginError as err:  # a plugin you wrote failed: the pod waits, see student.py
        return Decision(None, str(err), 0, 0, [], pod_view.key, weights, SCHEDULER_ERROR)


def _schedule(sched: Scheduler, pod: PodView, all_nodes: list[str]) -> Decision:
    table, profile = sched.table, sched.profile
    weights = profile.score_weights

    # 1. PreFilter ------------------------------------------------------------------------
    skipped: set[str] = set()   # plugins whose Filter is not run for this pod
    ran: list[str] = []         # whose PreFilter ran (their PostFilter has state)
    allowed: frozenset[str] | None = None
    narrowed_by: list[str] = []
    for plugin in profile.at(PRE_FILTER):
        ran.append(plugin.name)
        status = plugin.pre_filter(pod)
        if status.code == SKIP:
            skipped.add(plugin.name)
        elif status.is_rejected:
            # A PreFilter rejection ends the cycle: no node is checked.
            diagnosis = Diagnosis(len(all_nodes), 0, frozenset(ran))
            post_filter = post_filter_message(profile, pod, diagnosis, sched)
            message = fit_error_message(len(all_nodes), {}, post_filter,
                                        pre_filter=", ".join(status.reasons))
            return with_post_filter(Decision(None, message, 0, 0, [], pod.key, weights), pod)
        elif status.node_names is not None:
            allowed = status.node_names if allowed is None else allowed & status.node_names
            narrowed_by.append(plugin.name)
    nodes = all_nodes if allowed is None else [n for n in all_nodes if n in allowed]

    # 1b. A pod nominated by its earlier preemption tries that node first
    # (schedule_one.go evaluateNominatedNode); if it fits, no other node is looked at.
    nominated = (pod.obj.get("status") or {}).get("nominatedNodeName")
    if nominated and nominated in nodes:
        node = table.node_view(table.slot(nominated))
        status = Status.success()
        for plugin in (p for p in profile.at(FILTER) if p.name not in skipped):
            status = plugin.filter(pod, node)
            if not status.is_success:
                break
        if status.is_success:
            return Decision(nominated, "", 1, 1, _rows([(node, status)], weights, {}),
                            pod.key, weights)

    # 2. Filter, from next_start_node_index, until enough nodes are feasible ---------------
    filters = [p for p in profile.at(FILTER) if p.name not in skipped]
    wanted = num_feasible_nodes_to_find(len(nodes), profile.percentage_of_nodes_to_score)
    start = sched.next_start_node_index % len(nodes) if nodes else 0
    feasible: list[NodeView] = []
    statuses: list[tuple[NodeView, Status]] = []  # every node checked, in order
    for i in range(len(nodes)):
        if len(feasible) >= wanted:
            break
        node = table.node_view(table.slot(nodes[(start + i) % len(nodes)]))
        status = Status.success()
        for plugin in filters:  # RunFilterPlugins: the first rejection wins
            status = plugin.filter(pod, node)
            if not status.is_success:
                break
        statuses.append((node, status))
        if status.is_success:
            feasible.append(node)
    processed = len(statuses)
    sched.next_start_node_index = (sched.next_start_node_index + processed) % len(all_nodes)

    # 3. PostFilter, when no node passed ------------------------------------------------------
    if not feasible:
        reasons: Counter[str] = Counter()
        absent = len(all_nodes) - len(nodes)
        if absent:
            # schedule_one.go findNodesThatFitPod: nodes a PreFilter result left out.
            reasons[f"node(s) didn't satisfy plugin(s) [{', '.join(sorted(narrowed_by))}]"] = absent
        for _, status in statuses:
            reasons.update(status.reasons)
        candidates = sum(1 for _, s in statuses if s.code == UNSCHEDULABLE)
        diagnosis = Diagnosis(len(all_nodes), candidates, frozenset(ran))
        post_filter = post_filter_message(profile, pod, diagnosis, sched)
        message = fit_error_message(len(all_nodes), reasons, post_filter)
        return with_post_filter(Decision(None, message, processed, 0,
                                         _rows(statuses, weights, {}), pod.key, weights), pod)

    # 4. One feasible node: no need to score --------------------------------------------------
    if len(feasible) == 1:
        return Decision(feasible[0].name, "", processed, 1, _rows(statuses, weights, {}),
                        pod.key, weights)

    # 5. PreScore, Score, NormalizeScore, weights -----------------------------------------------
    scores: dict[str, list[int]] = {}
    pod.state[FILTERED_NODES] = [node.name for node in feasible]  # what PreScore is given
    for plugin in profile.at(SCORE):
        if not plugin.pre_score(pod).is_success:
            scores[plugin.name] = [0] * len(feasible)  # Skip: it adds nothing
            continue
        raw = [plugin.score(pod, node) for node in feasible]
        normalized = plugin.normalize_score(raw)
        for node, value in zip(feasible, normalized, strict=True):
            if not MIN_NODE_SCORE <= value <= MAX_NODE_SCORE:
                raise PluginError(plugin.name, "score", pod.key, node.name,
                                  f"gave {value} after NormalizeScore, outside "
                                  f"[{MIN_NODE_SCORE}, {MAX_NODE_SCORE}]")
        scores[plugin.name] = normalized
    totals = [sum(weights[name] * scores[name][i] for name in scores)
              for i in range(len(feasible))]

    # 6. selectHost: the best total; ties broken at random ---------------------------------------
    # Upstream keeps each of the k best nodes with probability 1/k (reservoir
    # sampling); one seeded uniform draw gives the same odds.
    best = max(totals)
    ties = [i for i, total in enumerate(totals) if total == best]
    pick = ties[0] if len(ties) == 1 else ties[sched.rng.randrange(len(ties))]
    by_node = {node.name: ({name: s[i] for name, s in scores.items()}, totals[i])
               for i, node in enumerate(feasible)}
    return Decision(feasible[pick].name, "", processed, len(feasible),
                    _rows(statuses, weights, by_node), pod.key, weights)


def post_filter_message(profile: Profile, pod: PodView, diagnosis: Diagnosis,
                        handle: Scheduler | None = None) -> str:
    """RunPostFilterPlugins: the reasons of every rejecting PostFilter, joined by ", ".

    The first PostFilter that answers Success ends the run and the message is
    "" (upstream: ``PostFilterMsg`` is the successful status's empty message);
    DefaultPreemption then leaves its candidate in ``pod.state``. ``handle``
    is the scheduler, which DefaultPreemption reads (its profile, node table
    and random generator).
    """
    if handle is not None:
        pod.state[HANDLE] = handle
    texts = []
    for plugin in profile.at(POST_FILTER):
        status = plugin.post_filter(pod, diagnosis)
        if status.is_success:
            return ""
        texts.extend(status.reasons)
    return ", ".join(texts)


def with_post_filter(decision: Decision, pod: PodView) -> Decision:
    """The decision with what DefaultPreemption found: nominated node, victims, notes."""
    candidate = pod.state.get(PREEMPTION)
    if candidate is not None:
        decision.nominated_node = candidate.node
        decision.victims = tuple(candidate.victims)
    elif pod.state.get(CLEAR):
        decision.nominated_node = ""
    decision.preemption = dict(pod.state.get(NOTES) or {})
    return decision


def _rows(statuses: list[tuple[NodeView, Status]], weights: dict[str, int],
          scored: dict[str, tuple[dict[str, int], int]]) -> list[dict]:
    """The explain table: one row per node checked, scores for the scored ones."""
    rows = []
    for node, status in statuses:
        row: dict = {"node": node.name}
        if status.is_success:
            row["filter"], row["plugin"] = "passed", ""
        else:
            row["filter"], row["plugin"] = ", ".join(status.reasons), status.plugin
        plugin_scores, total = scored.get(node.name, ({}, None))
        for name in weights:
            row[name] = plugin_scores.get(name)
        row["total"] = total
        rows.append(row)
    return rows
