"""The outcome of one scheduling attempt, and the FailedScheduling message.

When no node fits, kube-scheduler writes one message into the pod's
``PodScheduled`` condition and the ``FailedScheduling`` event. It is built by
``FitError.Error()`` (pkg/scheduler/framework/types.go): the number of nodes,
then one ``"<count> <reason>"`` per distinct reason, sorted as strings
(``sort.Strings``, so "10 ..." sorts before "2 ..."), then what the PostFilter
plugins said, joined with ", ": since v1.34 DynamicResources ("no new claims to
deallocate" for a Pod without ResourceClaims), then DefaultPreemption, prefixed
``preemption:``. Each part ends with ``.`` (``SeparatorFormat = " %v."``),
which is why the real message ends with two dots.

Example:
    >>> from labsupport.sim.scheduler.decision import fit_error_message
    >>> fit_error_message(3, {"Insufficient cpu": 3}, "no new claims to deallocate, preemption: " +
    ...     fit_error_message(3, {"No preemption victims found for incoming pod": 3}))
    '0/3 nodes are available: 3 Insufficient cpu. no new claims to deallocate, preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..'
"""  # noqa: E501

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Decision", "fit_error_message", "NO_NODES", "UNSCHEDULABLE", "SCHEDULER_ERROR"]

# pkg/scheduler/schedule_one.go: ErrNoNodesAvailable.
NO_NODES = "no nodes available to schedule pods"
# The PodScheduled condition's reason (k8s.io/api/core/v1 PodReasonUnschedulable,
# PodReasonSchedulerError): no node fits, or the cycle itself failed (a plugin
# returned an error); schedule_one.go handleSchedulingFailure picks one.
UNSCHEDULABLE = "Unschedulable"
SCHEDULER_ERROR = "SchedulerError"


def fit_error_message(num_all_nodes: int, reasons: Mapping[str, int],
                      post_filter: str = "", pre_filter: str = "") -> str:
    """``FitError.Error()``: ``0/N nodes are available: ...``.

    Args:
        num_all_nodes: every node in the cluster snapshot.
        reasons: how many nodes gave each reason (zero counts are left out).
        post_filter: the PostFilter plugins' message (DynamicResources,
            preemption), if any.
        pre_filter: a PreFilter rejection; it replaces the per-node reasons.
    """
    # NoNodeAvailableMsg = "0/%v nodes are available"; SeparatorFormat = " %v."
    msg = f"0/{num_all_nodes} nodes are available:"
    if pre_filter:
        msg += f" {pre_filter}."
    else:
        parts = sorted(f"{count} {reason}" for reason, count in reasons.items() if count)
        if parts:
            msg += f" {', '.join(parts)}."
    if post_filter:
        msg += f" {post_filter}."
    return msg


@dataclass(repr=False)
class Decision:
    """Where the scheduler put a pod, or why it could not.

    Attributes:
        node: the chosen node; None when the pod is unschedulable.
        message: "" on success, else the FailedScheduling message exactly as
            kube-scheduler v1.37 writes it.
        nodes_checked: how many nodes went through the filters (sampling stops
            the search once enough feasible nodes are found).
        feasible: how many of them passed every filter.
        table: with ``explain=True``, one row per node checked, in the order
            checked: ``node``, ``filter`` ("passed" or the failing plugin's
            reason), ``plugin`` (the failing filter plugin, "" if passed), each
            score plugin's normalized score (0..100, before its weight) and
            ``total`` (the weighted sum the scheduler compares). Scores are None
            for nodes that failed a filter, and when only one node passed
            (upstream then skips scoring).
        pod: ``namespace/name`` of the pod, for display.
        weights: the profile's Score plugins (the table's score columns, in
            profile order) and their weights.
        reason: why ``node`` is None: "Unschedulable" (no node fits) or
            "SchedulerError" (a plugin failed; ``message`` names it and the pod).
        nominated_node: when ``node`` is None, the node DefaultPreemption
            chose (PostFilter): the pod is nominated to it and waits there
            for ``victims`` to terminate; "" when preemption found none (the
            pod's nomination is cleared); None: leave it as it is.
        victims: the Pod objects to preempt on ``nominated_node``, most
            important first.
        preemption: what the preemption dry run found per node it tried
            ("evict default/a" or why not).

    Example:
        >>> d = Decision("node-2", "", nodes_checked=3, feasible=2, pod="default/web-1")
        >>> d, d.scheduled
        (<Decision default/web-1 -> node-2 (checked 3 nodes, 2 feasible)>, True)
    """

    node: str | None
    message: str
    nodes_checked: int
    feasible: int
    table: list[dict[str, Any]] | None = None
    pod: str = field(default="")
    weights: dict[str, int] = field(default_factory=dict)
    reason: str = UNSCHEDULABLE
    nominated_node: str | None = None
    victims: tuple[dict, ...] = ()
    preemption: dict[str, str] = field(default_factory=dict)

    @property
    def scheduled(self) -> bool:
        """True when a node was chosen."""
        return self.node is not None

    def __repr__(self) -> str:
        who = f"{self.pod} " if self.pod else ""
        if self.node is not None:
            return (f"<Decision {who}-> {self.node} (checked {self.nodes_checked} nodes, "
                    f"{self.feasible} feasible)>")
        if self.nominated_node:
            return (f"<Decision {who}nominated to {self.nominated_node}, preempting "
                    f"{', '.join(_pod_key(v) for v in self.victims)}: {self.message}>")
        return f"<Decision {who}unschedulable: {self.message}>"

    _MAX_ROWS = 100

    def _repr_html_(self) -> str:
        if self.node is not None:
            head = (f"<p><b>{html.escape(self.pod or 'pod')}</b> &rarr; "
                    f"<b>{html.escape(self.node)}</b>: checked {self.nodes_checked} nodes, "
                    f"{self.feasible} passed every filter.</p>")
        else:
            head = (f"<p><b>{html.escape(self.pod or 'pod')}</b> is unschedulable: "
                    f"<code>{html.escape(self.message)}</code></p>")
        if self.nominated_node:
            head += (f"<p>PostFilter (DefaultPreemption): nominated to "
                     f"<b>{html.escape(self.nominated_node)}</b>, preempting "
                     f"{html.escape(', '.join(_pod_key(v) for v in self.victims))}.</p>")
        if self.preemption:
            items = "".join(f"<li>{html.escape(n)}: {html.escape(t)}</li>"
                            for n, t in self.preemption.items())
            head += f"<p>Preemption dry run:</p><ul>{items}</ul>"
        if not self.table:
            return head
        cols = (["node", "filter"] + [f"{html.escape(p)} &times;{w}"
                                      for p, w in self.weights.items()] + ["total"])
        keys = ["node", "filter", *self.weights, "total"]
        rows = []
        for row in self.table[: self._MAX_ROWS]:
            chosen = row["node"] == self.node
            cells = "".join(
                f"<td>{'' if row.get(k) is None else html.escape(str(row.get(k)))}</td>"
                for k in keys)
            style = ' style="font-weight:bold"' if chosen else ""
            rows.append(f"<tr{style}>{cells}</tr>")
        more = len(self.table) - self._MAX_ROWS
        tail = f"<p><em>... {more} more nodes</em></p>" if more > 0 else ""
        header = "".join(f"<th>{c}</th>" for c in cols)
        return (f"{head}<table><thead><tr>{header}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>{tail}")


def _pod_key(pod: Mapping) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"
