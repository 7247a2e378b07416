"""Plugins you write: a Score (and optionally Filter) plugin in a few lines of Python.

Lesson 06 asks for a Score plugin. Write a class with a ``name``, a
``weight`` and a ``score`` method (and, if you like, a ``filter`` method), or
just a function, and add it to a cluster::

    class PreferSSD(ls.SchedulerPlugin):
        name = "PreferSSD"
        weight = 2

        def score(self, pod: ls.PodView, node: ls.NodeView) -> int:
            return 100 if node.labels.get("disktype") == "ssd" else 0

    c.add_scheduler_plugin(PreferSSD())
    # or: ls.connect("sim", scheduler=ls.SchedulerProfile(plugins=[PreferSSD()]))

The signatures:

- ``score(pod, node) -> int``: an int from 0 to 100 for one node that passed
  every Filter. The scheduler multiplies it by ``weight`` and adds it to the
  default plugins' weighted scores; the node with the highest total wins.
- ``filter(pod, node) -> bool | str``: True (or None) lets the pod go to the
  node; False or a reason text (as in a FailedScheduling message, e.g.
  ``"node(s) didn't have an SSD"``) rejects the node.

Your plugin runs after the default plugins (kube-scheduler appends custom
plugins to the default list the same way) and shows as a column of
``c.explain_scheduling(...)``. A Filter written in Python cannot join the fast
vectorised path, so a cluster with one uses the reference cycle
(:func:`~labsupport.sim.scheduler.reference.schedule_one`) for every pod; a
Score plugin alone keeps the fast path, which calls ``score`` on each
feasible node. If your code raises, returns something that is not an int
from 0 to 100 (or, for a filter, not a bool or a text), the pod is not
scheduled: it gets a FailedScheduling event whose message names your plugin,
the pod and the node, and the scheduler tries again later, as kube-scheduler
does when a plugin returns an error.

Example:
    >>> from labsupport.sim.scheduler.student import SchedulerPlugin, as_plugin
    >>> def prefer_big(pod, node):
    ...     return min(100, node.allocatable["cpu"] // 100)
    >>> as_plugin(prefer_big, weight=2)
    <student plugin prefer_big: Score, weight 2>
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from labsupport.errors import Invalid, LabSupportError
from labsupport.sim.scheduler.framework import (
    FILTER,
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    SCORE,
    UNSCHEDULABLE,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["SchedulerPlugin", "PluginError", "StudentPlugin", "as_plugin"]


class PluginError(LabSupportError):
    """A plugin you wrote failed while the scheduler ran it.

    Attributes:
        plugin: the plugin's name.
        point: ``"filter"`` or ``"score"``.
        pod: ``namespace/name`` of the pod being scheduled.
        node: the node it was called for.
        problem: what went wrong.
    """

    def __init__(self, plugin: str, point: str, pod: str, node: str, problem: str) -> None:
        self.plugin, self.point, self.pod, self.node, self.problem = (
            plugin, point, pod, node, problem)
        # framework/runtime/framework.go: RunFilterPlugins wraps a filter error as
        # 'running "<name>" filter plugin: ...'; RunScorePlugins as 'running Score
        # plugins: plugin "<name>" failed with: ...'.
        head = (f'running "{plugin}" filter plugin' if point == "filter"
                else f'running Score plugins: plugin "{plugin}" failed with')
        super().__init__(f"{head}: {point}(pod {pod}, node {node}) {problem}. Fix the "
                         f"plugin's {point} method; the pod stays Pending and is tried again.")


class SchedulerPlugin:
    """The base of a scheduler plugin you write: a Score and/or a Filter.

    Attributes:
        name: the plugin's name, as it shows in the scheduling table and in
            messages (default: the class name).
        weight: how much its score counts (default 1; the default plugins
            weigh 1 to 3).

    Define ``score(self, pod, node) -> int`` (0..100), ``filter(self, pod,
    node) -> bool | str``, or both. ``pod`` is a
    :class:`~labsupport.sim.scheduler.views.PodView`, ``node`` a
    :class:`~labsupport.sim.scheduler.views.NodeView`.

    Example:
        >>> class PreferSSD(SchedulerPlugin):
        ...     weight = 2
        ...     def score(self, pod, node):
        ...         return 100 if node.labels.get("disktype") == "ssd" else 0
        >>> as_plugin(PreferSSD())
        <student plugin PreferSSD: Score, weight 2>
    """

    name: str = ""
    weight: int = 1


_RESERVED = None  # names of the registry's plugins, filled on first use


def _reserved() -> set[str]:
    global _RESERVED
    if _RESERVED is None:
        from labsupport.sim.scheduler.plugins import REGISTRY

        _RESERVED = set(REGISTRY)
    return _RESERVED


class StudentPlugin(Plugin):
    """A plugin you wrote, wrapped for the scheduling cycle.

    It checks what your methods return and turns an exception into a
    :class:`PluginError` naming the plugin, the pod and the node.
    """

    modelled = True

    def __init__(self, name: str, weight: int, score: Callable | None,
                 filter: Callable | None) -> None:  # noqa: A002 - the extension point
        self.name = name  # type: ignore[misc]
        self.weight = weight  # type: ignore[misc]
        self._score = score
        self._filter = filter
        self.extension_points = tuple(  # type: ignore[misc]
            p for p, fn in ((FILTER, filter), (SCORE, score)) if fn is not None)
        self.reasons = (f"node(s) didn't pass plugin {name}",)  # type: ignore[misc]
        self.filter_code = UNSCHEDULABLE  # type: ignore[misc]

    def __repr__(self) -> str:
        points = ", ".join(self.extension_points)
        return f"<student plugin {self.name}: {points}, weight {self.weight}>"

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Your filter's answer as a Status."""
        assert self._filter is not None
        try:
            answer = self._filter(pod, node)
        except Exception as exc:  # the learner's code: report it, never crash
            raise PluginError(self.name, "filter", pod.key, node.name,
                              f"raised {type(exc).__name__}: {exc}") from exc
        if answer is True or answer is None:
            return Status.success()
        if answer is False:
            return Status(self.filter_code, self.reasons, self.name)
        if isinstance(answer, str) and answer:
            return Status(self.filter_code, (answer,), self.name)
        raise PluginError(self.name, "filter", pod.key, node.name,
                          f"returned {answer!r}; a filter returns True (the pod may go "
                          f"there), False, or a reason text")

    def score(self, pod: PodView, node: NodeView) -> int:
        """Your score, checked: an int from 0 to 100."""
        assert self._score is not None
        try:
            value = self._score(pod, node)
        except Exception as exc:  # the learner's code: report it, never crash
            raise PluginError(self.name, "score", pod.key, node.name,
                              f"raised {type(exc).__name__}: {exc}") from exc
        if isinstance(value, bool) or not isinstance(value, int):
            raise PluginError(self.name, "score", pod.key, node.name,
                              f"returned {value!r} ({type(value).__name__}); a score is an "
                              f"int from {MIN_NODE_SCORE} to {MAX_NODE_SCORE}")
        if not MIN_NODE_SCORE <= value <= MAX_NODE_SCORE:
            # framework.go RunScorePlugins: 'plugin "<name>" returns an invalid score
            # <v>, it should in the range of [0, 100] after normalizing'.
            raise PluginError(self.name, "score", pod.key, node.name,
                              f"returned an invalid score {value}, it should in the range "
                              f"of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}]")
        return value


def _weight(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"the weight of scheduler plugin {name!r} must be a whole number of "
                      f"at least 1 (the default plugins weigh 1 to 3); got {value!r}")
    return value


def as_plugin(plugin: Any, weight: int | None = None) -> Plugin:
    """Wrap what you wrote (a :class:`SchedulerPlugin`, its class, or a function).

    A function is a Score plugin named after the function. A
    :class:`~labsupport.sim.scheduler.framework.Plugin` (the framework's own
    kind) is taken as it is.

    Raises:
        Invalid: not a plugin, no ``score`` or ``filter``, a bad name or weight,
            or the name of a default plugin.
    """
    if isinstance(plugin, Plugin):
        if weight is not None:
            plugin.weight = _weight(weight, plugin.name)  # type: ignore[misc]
        return plugin
    if inspect.isclass(plugin) and issubclass(plugin, SchedulerPlugin):
        plugin = plugin()
    if isinstance(plugin, SchedulerPlugin):
        name = plugin.name or type(plugin).__name__
        score = getattr(plugin, "score", None)
        filt = getattr(plugin, "filter", None)
        w = plugin.weight if weight is None else weight
    elif callable(plugin) and not inspect.isclass(plugin):
        name = getattr(plugin, "__name__", "") or "plugin"
        score, filt, w = plugin, None, 1 if weight is None else weight
    else:
        raise Invalid("a scheduler plugin is a SchedulerPlugin (a class with a score and/or "
                      "filter method) or a function score(pod, node) -> int; got "
                      f"{type(plugin).__name__} {plugin!r:.60}")
    if not isinstance(name, str) or not name.isidentifier():
        raise Invalid(f"a scheduler plugin's name is a word such as 'PreferSSD'; got {name!r}")
    if name in _reserved():
        raise Invalid(f"{name!r} is the name of a default plugin; give yours another name")
    if score is None and filt is None:
        raise Invalid(f"scheduler plugin {name!r} defines neither score(self, pod, node) nor "
                      f"filter(self, pod, node); write at least one")
    return StudentPlugin(name, _weight(w, name) if score is not None else 0, score, filt)
