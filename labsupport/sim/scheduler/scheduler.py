"""The scheduler: a profile over a node table, and the state kept between pods.

Upstream's ``Scheduler`` (pkg/scheduler/scheduler.go) holds the cache, the
profiles and ``nextStartNodeIndex``; ``schedulePod`` runs one cycle. Here
:meth:`Scheduler.schedule` runs the reference cycle
(:func:`~labsupport.sim.scheduler.reference.schedule_one`) when asked to
explain, or when the profile has a Filter written in Python, and the fast
path (:class:`~labsupport.sim.scheduler.fastpath.FastPath`) otherwise; both
give the same decision. :meth:`schedule` does not bind: the caller accounts
the pod with ``table.add_pod`` when it binds it, as the real scheduler's
cache "assumes" the pod.

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

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from labsupport.errors import Invalid
from labsupport.sim.scheduler.decision import Decision
from labsupport.sim.scheduler.fastpath import FastPath
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.profile import Profile
from labsupport.sim.scheduler.reference import schedule_one

__all__ = ["Scheduler"]


class Scheduler:
    """A scheduler profile over a :class:`NodeTable`.

    Args:
        table: the nodes and what is already bound to them.
        profile: the plugins and their settings (default: the default profile).
        percentage_of_nodes_to_score: shorthand for the profile's setting.
        scoring_strategy: shorthand for the profile's NodeResourcesFit strategy.
        seed: seeds the tie-breaking random choice; same seed, same placements.
        shape: shorthand for the profile's RequestedToCapacityRatio shape.

    Raises:
        Invalid: a bad option, or a profile given together with the shorthands.
    """

    def __init__(self, table: NodeTable, *, profile: Profile | None = None,
                 percentage_of_nodes_to_score: int | None = None,
                 scoring_strategy: str | None = None, seed: int = 0,
                 shape: Sequence[tuple[int, int]] | None = None) -> None:
        if not isinstance(table, NodeTable):
            raise Invalid(f"Scheduler needs a NodeTable; got {type(table).__name__}")
        shorthands = {"percentage_of_nodes_to_score": percentage_of_nodes_to_score,
                      "scoring_strategy": scoring_strategy, "shape": shape}
        given = [k for k, v in shorthands.items() if v is not None]
        if profile is None:
            profile = Profile(scoring_strategy=scoring_strategy or "LeastAllocated",
                              shape=shape,
                              percentage_of_nodes_to_score=percentage_of_nodes_to_score)
        elif not isinstance(profile, Profile):
            raise Invalid(f"profile must be a SchedulerProfile; got {type(profile).__name__} "
                          f"{profile!r:.60}")
        elif given:
            raise Invalid(f"give {', '.join(given)} to the SchedulerProfile, not next to it")
        self.table = table
        self.seed = seed
        #: The random generator of selectHost's tie-break.
        self.rng = random.Random(seed)
        #: The random generator of the preemption dry run's starting offset
        #: (``GetOffsetAndNumCandidates``), apart so that preemption does not
        #: change the draws of selectHost.
        self.preemption_rng = random.Random(f"preemption-{seed}")
        #: Where the next Filter walk starts (``sched.nextStartNodeIndex``).
        self.next_start_node_index = 0
        self._set_profile(profile)

    def _set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self._fast = FastPath(self)
        self._reference_only = profile.has_python_filter

    @property
    def scoring_strategy(self) -> str:
        """NodeResourcesFit's scoring strategy in this profile."""
        return self.profile.scoring_strategy

    @property
    def percentage_of_nodes_to_score(self) -> int | None:
        """``percentageOfNodesToScore`` (None: adaptive)."""
        return self.profile.percentage_of_nodes_to_score

    def add_plugin(self, plugin: Any, weight: int | None = None) -> None:
        """Add a plugin at the end of the profile (see :mod:`.student`)."""
        self._set_profile(self.profile.with_plugin(plugin, weight))

    def __repr__(self) -> str:
        return (f"<Scheduler {self.profile!r} over {len(self.table)} nodes, "
                f"next start {self.next_start_node_index}>")

    def schedule(self, pod: dict, *, explain: bool = False) -> Decision:
        """Pick a node for ``pod`` (a Pod object dict), or say why none fits.

        Args:
            pod: the pod; its ``spec`` is read, nothing is changed.
            explain: also return the per-node filter and score table (the
                reference cycle).

        Returns:
            A :class:`Decision`. The pod is not added to the table.
        """
        if explain or self._reference_only or (pod.get("status") or {}).get(
                "nominatedNodeName"):
            # A pod nominated by an earlier preemption (rare) takes the reference
            # cycle, which tries its nominated node first (evaluateNominatedNode).
            return schedule_one(self, pod)
        return self._fast.schedule(pod)
