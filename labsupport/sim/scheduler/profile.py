"""A scheduling profile: which plugins run, in which order, with which weights.

kube-scheduler's configuration (``KubeSchedulerConfiguration``, docs
reference/scheduling/config) holds profiles; a profile starts from the
default plugins (:data:`~labsupport.sim.scheduler.plugins.REGISTRY`, in
default_plugins.go order), can disable some, add others (appended after the
defaults, as ``mergePluginSet`` does), change Score weights, and pass
arguments, such as NodeResourcesFit's ``scoringStrategy``. It also holds
``percentageOfNodesToScore``.

Example:
    >>> from labsupport.sim.scheduler.profile import Profile
    >>> p = Profile(scoring_strategy="MostAllocated", disabled=["ImageLocality"])
    >>> p
    <Profile MostAllocated, ImageLocality disabled>
    >>> p.score_weights  # doctest: +NORMALIZE_WHITESPACE
    {'TaintToleration': 3, 'NodeAffinity': 2, 'NodeResourcesFit': 1, 'PodTopologySpread': 2,
     'InterPodAffinity': 2, 'NodeResourcesBalancedAllocation': 1}
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labsupport.errors import Invalid
from labsupport.sim.scheduler.framework import FILTER, SCORE, Plugin
from labsupport.sim.scheduler.plugins import REGISTRY
from labsupport.sim.scheduler.plugins.noderesources import NodeResourcesFit
from labsupport.sim.scheduler.student import StudentPlugin, as_plugin

__all__ = ["Profile"]

# A profile needs exactly one QueueSort and one Bind plugin (framework.go NewFramework).
_REQUIRED = ("PrioritySort", "DefaultBinder")


class Profile:
    """The plugins of one scheduler profile (``KubeSchedulerProfile``).

    Args:
        scoring_strategy: NodeResourcesFit ``scoringStrategy.type``:
            ``"LeastAllocated"`` (default), ``"MostAllocated"`` or
            ``"RequestedToCapacityRatio"``.
        shape: RequestedToCapacityRatio ``(utilization, score)`` points.
        disabled: names of default plugins to turn off.
        plugins: plugins to add after the default ones: your own
            (:class:`~labsupport.sim.scheduler.student.SchedulerPlugin` or a
            score function) or framework plugins.
        weights: Score weights to change, by plugin name.
        percentage_of_nodes_to_score: 0..100; None or 0 is upstream's adaptive
            default ``max(5, 50 - N/125)``.

    Raises:
        Invalid: an unknown plugin name, a required plugin disabled, a bad
            weight, strategy, shape or percentage.
    """

    def __init__(self, *, scoring_strategy: str = "LeastAllocated",
                 shape: Sequence[tuple[int, int]] | None = None,
                 disabled: Iterable[str] = (), plugins: Iterable[Any] = (),
                 weights: Mapping[str, int] | None = None,
                 percentage_of_nodes_to_score: int | None = None) -> None:
        pct = percentage_of_nodes_to_score
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, int)
                                or not 0 <= pct <= 100):
            raise Invalid(f"percentage_of_nodes_to_score must be an integer from 0 to 100 "
                          f"(None or 0: adaptive, as kube-scheduler does); got {pct!r}")
        if isinstance(disabled, str):
            disabled = [disabled]
        disabled = list(disabled)
        for name in disabled:
            if name not in REGISTRY:
                raise Invalid(f"no default scheduler plugin is called {name!r}; the default "
                              f"plugins are: {', '.join(REGISTRY)}")
            if name in _REQUIRED:
                raise Invalid(f"{name} cannot be disabled: a profile needs one QueueSort "
                              f"(PrioritySort) and one Bind (DefaultBinder) plugin")
        self.scoring_strategy = scoring_strategy
        self.shape = None if shape is None else tuple(shape)
        self.disabled = tuple(disabled)
        self.percentage_of_nodes_to_score = pct
        self.extra = tuple(as_plugin(p) for p in plugins)
        self.weight_overrides = dict(weights or {})
        built: list[Plugin] = []
        for name, cls in REGISTRY.items():
            if name in self.disabled:
                continue
            built.append(NodeResourcesFit(scoring_strategy, shape) if cls is NodeResourcesFit
                         else cls())
        names = {p.name for p in built}
        for p in self.extra:
            if p.name in names:
                raise Invalid(f"two scheduler plugins are called {p.name!r}; names must differ")
            names.add(p.name)
            built.append(p)
        #: Every plugin of the profile, in order (not-modelled ones included).
        self.plugins: tuple[Plugin, ...] = tuple(built)
        self.weights: dict[str, int] = {}
        for p in self.plugins:
            if SCORE in p.extension_points:
                self.weights[p.name] = p.weight
        for name, w in self.weight_overrides.items():
            if name not in self.weights:
                raise Invalid(f"{name!r} is not a Score plugin of this profile; Score plugins: "
                              f"{', '.join(self.weights)}")
            if isinstance(w, bool) or not isinstance(w, int) or w < 1:
                raise Invalid(f"the weight of {name} must be a whole number of at least 1; "
                              f"got {w!r}")
            self.weights[name] = w
        self._at: dict[str, tuple[Plugin, ...]] = {}
        #: A plugin you wrote has a Filter: the fast path is not used (see student.py).
        self.has_python_filter = any(isinstance(p, StudentPlugin) for p in self.at(FILTER))

    def at(self, point: str) -> tuple[Plugin, ...]:
        """The modelled plugins that run at an extension point, in profile order."""
        found = self._at.get(point)
        if found is None:
            found = self._at[point] = tuple(p for p in self.plugins if p.implements(point))
        return found

    @property
    def score_weights(self) -> dict[str, int]:
        """The modelled Score plugins and their weights, in order (the table's columns)."""
        return {p.name: self.weights[p.name] for p in self.at(SCORE)}

    def plugin(self, name: str) -> Plugin:
        """The profile's plugin called ``name``."""
        for p in self.plugins:
            if p.name == name:
                return p
        raise Invalid(f"this profile has no plugin {name!r}; it has: "
                      f"{', '.join(p.name for p in self.plugins)}")

    def with_plugin(self, plugin: Any, weight: int | None = None) -> Profile:
        """This profile with one more plugin at the end."""
        return Profile(scoring_strategy=self.scoring_strategy, shape=self.shape,
                       disabled=self.disabled, plugins=(*self.extra, as_plugin(plugin, weight)),
                       weights=self.weight_overrides,
                       percentage_of_nodes_to_score=self.percentage_of_nodes_to_score)

    def __repr__(self) -> str:
        parts = [self.scoring_strategy]
        if self.disabled:
            parts.append(", ".join(self.disabled) + " disabled")
        if self.extra:
            parts.append("with " + ", ".join(p.name for p in self.extra))
        if self.weight_overrides:
            parts.append("weights " + ", ".join(f"{k}={v}"
                                                for k, v in self.weight_overrides.items()))
        if self.percentage_of_nodes_to_score:
            parts.append(f"percentageOfNodesToScore {self.percentage_of_nodes_to_score}")
        return f"<Profile {', '.join(parts)}>"
