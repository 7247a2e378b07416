"""The scheduling framework: extension points, statuses, and what a plugin is.

kube-scheduler is a loop around a *profile*: a list of plugins, each
implementing some *extension points* (pkg/scheduler/framework/interface.go,
now k8s.io/kube-scheduler/framework). The cycle calls, in order:

=================  ==============================================================
PreFilter          once per pod: check the pod, maybe narrow the nodes, or Skip
Filter             once per node: can the pod run here? (a :class:`Status`)
PostFilter         only when no node passed: what could help (preemption)
PreScore           once per pod before scoring, maybe Skip
Score              once per feasible node: an integer
NormalizeScore     once per plugin: scale its scores to 0..100
Reserve / Bind     after a node is chosen: account the pod, write the binding
=================  ==============================================================

A plugin here is a class with a ``name``, the ``extension_points`` it
implements, its Filter ``reasons`` (word for word, as upstream writes them)
and its Score ``weight`` in the default profile. Each default plugin lives in
its own module of :mod:`labsupport.sim.scheduler.plugins`. The reference
cycle (:mod:`~labsupport.sim.scheduler.reference`) calls the per-pod and
per-node methods below; the fast path (:mod:`~labsupport.sim.scheduler.fastpath`)
calls the ``fast_*`` methods, which do the same for many nodes at once with
numpy. See ``labsupport/sim/README.md`` for the map of the whole simulator.

Example:
    >>> from labsupport.sim.scheduler.framework import Status, UNSCHEDULABLE
    >>> Status.success().is_success
    True
    >>> s = Status(UNSCHEDULABLE, ("Insufficient cpu",), "NodeResourcesFit")
    >>> s, s.is_rejected
    (<Status Unschedulable NodeResourcesFit: Insufficient cpu>, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle
    from labsupport.sim.scheduler.nodetable import NodeTable
    from labsupport.sim.scheduler.podinfo import PodProfile
    from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = [
    "PRE_ENQUEUE", "QUEUE_SORT", "PRE_FILTER", "FILTER", "POST_FILTER", "PRE_SCORE", "SCORE",
    "RESERVE", "PERMIT", "PRE_BIND", "BIND", "POST_BIND", "EXTENSION_POINTS",
    "SUCCESS", "ERROR", "UNSCHEDULABLE", "UNSCHEDULABLE_AND_UNRESOLVABLE", "SKIP",
    "MAX_NODE_SCORE", "MIN_NODE_SCORE", "Status", "Diagnosis", "Plugin", "AmountScorePlugin",
    "CodedFilterPlugin",
    "Amounts", "normalize_scores", "normalize_array", "FILTERED_NODES",
]

# Extension points, in the order a pod meets them (framework/interface.go).
# NormalizeScore belongs to Score (ScoreExtensions), as upstream.
PRE_ENQUEUE = "PreEnqueue"
QUEUE_SORT = "QueueSort"
PRE_FILTER = "PreFilter"
FILTER = "Filter"
POST_FILTER = "PostFilter"
PRE_SCORE = "PreScore"
SCORE = "Score"
RESERVE = "Reserve"
PERMIT = "Permit"
PRE_BIND = "PreBind"
BIND = "Bind"
POST_BIND = "PostBind"
EXTENSION_POINTS = (PRE_ENQUEUE, QUEUE_SORT, PRE_FILTER, FILTER, POST_FILTER, PRE_SCORE,
                    SCORE, RESERVE, PERMIT, PRE_BIND, BIND, POST_BIND)

# Status codes (framework/interface.go Code). Unschedulable: preemption might
# help; UnschedulableAndUnresolvable: it cannot (the node is not a candidate).
SUCCESS = "Success"
ERROR = "Error"
UNSCHEDULABLE = "Unschedulable"
UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
SKIP = "Skip"

# The key in ``PodView.state`` under which the reference cycle gives PreScore
# the names of the feasible nodes (upstream passes them as an argument).
FILTERED_NODES = "FilteredNodes"

# framework/interface.go: MaxNodeScore = 100, MinNodeScore = 0.
MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


@dataclass(frozen=True)
class Status:
    """What a plugin answers (``*fwk.Status``): a code, reasons and who said it.

    Attributes:
        code: one of SUCCESS, ERROR, UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE, SKIP.
        reasons: the texts that end up in the FailedScheduling message.
        plugin: the plugin's name (the "failed plugin" in the diagnosis).
        node_names: a PreFilter result that narrows the nodes to these names
            (``PreFilterResult.NodeNames``); None: every node.
    """

    code: str = SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""
    node_names: frozenset[str] | None = None

    @staticmethod
    def success() -> Status:
        """The nil status: everything is fine."""
        return _SUCCESS

    @property
    def is_success(self) -> bool:
        """True for SUCCESS (a PreFilter result with node names is a success too)."""
        return self.code == SUCCESS

    @property
    def is_rejected(self) -> bool:
        """True when the pod cannot go there (``Status.IsRejected``)."""
        return self.code in (UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE)

    def __repr__(self) -> str:
        who = f" {self.plugin}" if self.plugin else ""
        why = f": {', '.join(self.reasons)}" if self.reasons else ""
        return f"<Status {self.code}{who}{why}>"


_SUCCESS = Status()


@dataclass(frozen=True)
class Diagnosis:
    """What the PostFilter plugins learn about a cycle where no node fitted.

    Attributes:
        num_all_nodes: every node in the snapshot.
        candidates: nodes rejected with UNSCHEDULABLE (preemption might help);
            the others were UNSCHEDULABLE_AND_UNRESOLVABLE or left out by PreFilter.
        pre_filter_ran: the plugins whose PreFilter was called (a PreFilter
            rejection stops the others, which then have no state).
    """

    num_all_nodes: int
    candidates: int
    pre_filter_ran: frozenset[str]


def normalize_scores(scores: Sequence[int], *, reverse: bool) -> list[int]:
    """helper.DefaultNormalizeScore (plugins/helper/normalize_score.go), for a list.

    Scales to 0..100 by the highest score; ``reverse`` turns "fewer is better"
    around. All zero: 0 everywhere, or 100 when reversed.

    Example:
        >>> normalize_scores([0, 1, 2], reverse=False), normalize_scores([0, 1, 2], reverse=True)
        ([0, 50, 100], [100, 50, 0])
    """
    top = max(scores, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in scores]
    scaled = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in scaled] if reverse else scaled


def normalize_array(raw: np.ndarray, *, reverse: bool) -> np.ndarray:
    """:func:`normalize_scores` for a numpy array (the fast path)."""
    top = int(raw.max()) if raw.size else 0
    if top == 0:
        return np.full(raw.shape, MAX_NODE_SCORE if reverse else 0, np.int64)
    scaled = MAX_NODE_SCORE * raw // top
    return MAX_NODE_SCORE - scaled if reverse else scaled


class Plugin:
    """One scheduler plugin: its declaration, then what it does at each point.

    A subclass declares, as class attributes, what
    pkg/scheduler/framework/plugins/<name> declares:

    Attributes:
        name: the plugin's ``Name`` constant.
        extension_points: the points it implements, in cycle order.
        reasons: its Filter failure texts, word for word.
        weight: its Score weight in the default profile (0: no Score).
        filter_code: the code its Filter rejects with: UNSCHEDULABLE when
            preemption could help, else UNSCHEDULABLE_AND_UNRESOLVABLE.
        modelled: False for a default plugin the simulator does not model
            yet: it is listed in the profile, and the cycle skips it.
        static: its Filter depends only on the pod's tolerations, nodeSelector
            and node affinity, and on the nodes' labels, taints and
            ``unschedulable``: the fast path caches its verdicts per pod template.
        upstream: where upstream implements it.

    The reference methods take a :class:`~labsupport.sim.scheduler.views.PodView`
    and a :class:`~labsupport.sim.scheduler.views.NodeView`. The ``fast_*``
    methods take a :class:`~labsupport.sim.scheduler.fastpath.FastCycle` and
    rows of the :class:`~labsupport.sim.scheduler.nodetable.NodeTable`; their
    default implementations call the reference methods node by node.
    """

    name: ClassVar[str] = ""
    extension_points: ClassVar[tuple[str, ...]] = ()
    reasons: ClassVar[tuple[str, ...]] = ()
    weight: ClassVar[int] = 0
    filter_code: ClassVar[str] = UNSCHEDULABLE_AND_UNRESOLVABLE
    modelled: ClassVar[bool] = True
    static: ClassVar[bool] = False
    upstream: ClassVar[str] = ""

    def implements(self, point: str) -> bool:
        """Whether the plugin runs at ``point`` (and is modelled)."""
        return self.modelled and point in self.extension_points

    def __repr__(self) -> str:
        points = ", ".join(self.extension_points)
        extra = "" if self.modelled else ", not modelled yet"
        return f"<{type(self).__name__} plugin {self.name}: {points}{extra}>"

    # -- the reference cycle: one pod, one node ------------------------------------------
    def pre_filter(self, pod: PodView) -> Status:
        """PreFilter: SUCCESS (maybe with ``node_names``), SKIP, or a rejection."""
        return Status.success()

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Filter: SUCCESS, or a rejection with this plugin's reasons."""
        return Status.success()

    def post_filter(self, pod: PodView, diagnosis: Diagnosis) -> Status:
        """PostFilter, when no node passed: SUCCESS if it made room, else why not."""
        return Status(UNSCHEDULABLE, plugin=self.name)

    def pre_score(self, pod: PodView) -> Status:
        """PreScore: SUCCESS, or SKIP (the plugin then adds 0 on every node)."""
        return Status.success()

    def score(self, pod: PodView, node: NodeView) -> int:
        """Score: an integer for one feasible node (before NormalizeScore)."""
        return 0

    def normalize_score(self, scores: list[int]) -> list[int]:
        """NormalizeScore: the scores of every feasible node, scaled to 0..100."""
        return scores

    # -- the fast path: many nodes at once (defaults: node by node) -----------------------
    def fast_static_fail(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """For a ``static`` Filter: per row of ``table``, True where it rejects."""
        raise NotImplementedError(f"{self.name} is not a static filter")

    def fast_static_score_input(self, table: NodeTable, prof: PodProfile) -> np.ndarray | None:
        """What the Score needs from the nodes' static facts (cached with the filters).

        An input that is 0 on every node must mean the same score on every node
        (the fast path then leaves the plugin out of the total).
        """
        return None

    def fast_filter(self, cycle: FastCycle, slots: np.ndarray,
                    at: slice | None) -> np.ndarray | None:
        """Filter over rows ``slots``: True where the node passes; None when all pass.

        ``at`` is where ``slots`` are in ``NodeTable.order_twice()`` (a window
        of the walk), or None.
        """
        pod = cycle.pod_view
        return np.fromiter((self.filter(pod, cycle.node_view(s)).is_success
                            for s in slots.tolist()), bool, len(slots))

    def fast_failures(self, cycle: FastCycle, slots: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Why it rejected the rows ``slots`` (it was the first Filter to reject each).

        Returns ``(reason, mask)`` pairs: a row gets every reason whose mask is
        True there, in this order. A plugin with one reason gives it to every row.
        """
        if len(self.reasons) == 1:
            return [(self.reasons[0], np.ones(len(slots), bool))]
        pod = cycle.pod_view
        statuses = [self.filter(pod, cycle.node_view(s)) for s in slots.tolist()]
        texts = list(dict.fromkeys(r for st in statuses for r in st.reasons))
        return [(t, np.fromiter((t in st.reasons for st in statuses), bool, len(statuses)))
                for t in texts]

    def fast_candidates(self, cycle: FastCycle, slots: np.ndarray) -> int:
        """How many of the rows ``slots`` it rejected as UNSCHEDULABLE (preemption may help).

        Only rows where it was the first Filter to reject; by default every
        row counts when ``filter_code`` is UNSCHEDULABLE.
        """
        return len(slots) if self.filter_code == UNSCHEDULABLE else 0

    def fast_score_constant(self, prof: PodProfile) -> bool:
        """True when its score is the same on every node for pods like ``prof``.

        The fast path then leaves it out of the total (it cannot change the
        winner) without calling :meth:`fast_score`.
        """
        return False

    def fast_score(self, cycle: FastCycle, feasible: np.ndarray, *,
                   for_total: bool) -> np.ndarray | None:
        """Normalized scores (0..100) of the feasible rows, in their order.

        With ``for_total`` the plugin may answer None when its score is the
        same on every node: it then cannot change which node wins.
        """
        pod = cycle.pod_view
        if not self.pre_score(pod).is_success:
            return None if for_total else np.zeros(len(feasible), np.int64)
        raw = [self.score(pod, cycle.node_view(s)) for s in feasible.tolist()]
        return np.asarray(self.normalize_score(raw), np.int64)


class CodedFilterPlugin(Plugin):
    """A Filter whose fast path gives each node a code: 0 passes, i fails with reasons[i-1].

    A subclass computes the codes of every row once per cycle in
    :meth:`_fast_codes` (None: nothing to check for this pod); filtering and
    the failure reasons both read them (InterPodAffinity, PodTopologySpread).
    """

    def _fast_codes(self, cycle: FastCycle) -> np.ndarray | None:
        raise NotImplementedError

    def fast_filter(self, cycle: FastCycle, slots: np.ndarray,
                    at: slice | None) -> np.ndarray | None:
        """Rows that pass (None: nothing to check)."""
        codes = self._fast_codes(cycle)
        return None if codes is None else codes[slots] == 0

    def fast_failures(self, cycle: FastCycle, slots: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Each row's reason, from its code."""
        codes = self._fast_codes(cycle)
        assert codes is not None
        rows = codes[slots]
        return [(text, rows == i) for i, text in enumerate(self.reasons, 1)
                if np.any(rows == i)]


class AmountScorePlugin(Plugin):
    """A Score plugin that reads only the node's and the pod's resource amounts.

    The fast path keeps the weighted sum of these plugins per request size and
    rescoring only the nodes whose amounts changed (NodeResourcesFit and
    NodeResourcesBalancedAllocation).
    """

    #: False when :meth:`score_amounts_one` is not worth it (the vector is used).
    scalar: bool = True

    def score_amounts(self, prof: PodProfile, amounts: Amounts) -> np.ndarray:
        """The scores of many nodes, from their amounts (numpy arrays)."""
        raise NotImplementedError

    def score_amounts_one(self, prof: PodProfile, a_cpu: int, a_mem: int, r_cpu: int,
                          r_mem: int, nz_cpu: int, nz_mem: int) -> int:
        """:meth:`score_amounts` for one node, in plain Python ints."""
        raise NotImplementedError


@dataclass(frozen=True)
class Amounts:
    """Allocatable and requested amounts of some nodes, without the incoming pod.

    Each attribute is a numpy array with one entry per node: milli-CPU and bytes.
    """

    alloc_cpu: np.ndarray
    alloc_mem: np.ndarray
    req_cpu: np.ndarray
    req_mem: np.ndarray
    nonzero_cpu: np.ndarray
    nonzero_mem: np.ndarray
