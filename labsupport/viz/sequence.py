r"""A sequence diagram of one apply: who wrote what to the API server, and when.

``sequence_diagram(c.trace("deployment/web"))`` draws each component of a
trace (:meth:`~labsupport.sim.cluster.SimCluster.trace`) as a vertical
lifeline (the controllers share one, kube-controller-manager, the process
they run in) and every write it made as an arrow to the API server (which
stores it in etcd), one row per write, with the virtual time on the left. Every
component learns about the objects it acts on through a watch on the API
server; ``watchers`` adds, for components that only read (kube-proxy), a
dashed arrow from the API server each time an object they watch is written.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> fig = sequence_diagram(c.trace("pod/p"))
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "lifeline"]
    ['kubectl', 'kube-\napiserver\n+ etcd', 'default-\nscheduler', 'kubelet']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labsupport.errors import Invalid
from labsupport.viz.figures import LabFigure, new_figure
from labsupport.viz.style import FONT, MAX_WIDTH, describe, shorten

__all__ = ["sequence_diagram", "sequence_rows"]

API = "kube-apiserver\n+ etcd"
_COLOURS = {"kubectl": "#404040", "kubelet": "#2e9e4f", "default-scheduler": "#b0803a",
            "kube-proxy": "#8e6bbf"}
_CONTROLLER = "#4a7fc1"
#: The controllers of a trace all run in one process, kube-controller-manager.
_KCM = "kube-controller-manager"
_HEADERS = {API: "kube-\napiserver\n+ etcd", _KCM: "kube-\ncontroller-\nmanager",
            "default-scheduler": "default-\nscheduler"}
#: Lanes in this order first; others after them, in order of appearance.
_ORDER = ("kubectl", API, _KCM, "default-scheduler", "kubelet")


def _lane(component: str) -> str:
    return _KCM if component.endswith("-controller") else component


def _colour(lane: str) -> str:
    return "#333333" if lane == API else _COLOURS.get(lane, _CONTROLLER)


def sequence_rows(trace: Sequence[Any], watchers: Mapping[str, str] | None = None,
                  events: bool = False) -> list[tuple[float, str, str, bool]]:
    """The rows the diagram draws: ``(time, component, label, is_watch)``.

    Writes that repeat (same time, component, action and object) become one
    row with ``x2``; Events (actions that start with a capital letter) are
    left out unless ``events``.

    Example:
        >>> from labsupport.sim.trace import TraceStep
        >>> steps = [TraceStep(0.0, "kubectl", "create", "endpointslice/web-x"),
        ...          TraceStep(0.0, "kubectl", "create", "endpointslice/web-x")]
        >>> for row in sequence_rows(steps, watchers={"kube-proxy": "endpointslice"}):
        ...     print(row)
        (0.0, 'kubectl', 'create endpointslice/web-x x2', False)
        (0.0, 'kube-proxy', 'watch: endpointslice/web-x', True)
    """
    rows: list[list[Any]] = []
    last: tuple | None = None
    last_row = -1
    for step in trace:
        if step.action[:1].isupper() and not events:
            continue
        key = (round(step.time, 3), step.component, step.action, step.object)
        if key == last:
            rows[last_row][3] += 1
            continue
        last, last_row = key, len(rows)
        rows.append([step.time, step.component, f"{step.action} {step.object}", 1, False])
        kind = step.object.split("/", 1)[0]
        for who, watched in (watchers or {}).items():
            if watched == kind and who != step.component:
                rows.append([step.time, who, f"watch: {step.object}", 1, True])
    return [(t, who, text + (f" x{n}" if n > 1 else ""), watch)
            for t, who, text, n, watch in rows]


def sequence_diagram(trace: Sequence[Any], *, watchers: Mapping[str, str] | None = None,
                     events: bool = False, title: str | None = None,
                     max_rows: int = 30) -> LabFigure:
    """Draw a trace as a sequence diagram with virtual timestamps.

    Args:
        trace: what ``c.trace("deployment/web")`` returns.
        watchers: components that only watch, and the kind they watch, e.g.
            ``{"kube-proxy": "endpointslice"}``.
        events: draw Events too (as writes of the component that reported them).
        title: the title (default: names the object of the first step).
        max_rows: draw at most this many rows (the first ones).

    Raises:
        Invalid: ``trace`` is not a trace, or it is empty.
    """
    if isinstance(trace, (str, bytes)) or not isinstance(trace, Sequence) or not all(
            hasattr(s, "component") and hasattr(s, "action") for s in trace):
        raise Invalid("sequence_diagram draws a trace, such as c.trace(\"deployment/web\"); "
                      f"got {type(trace).__name__}")
    if not trace:
        raise Invalid("the trace is empty: apply something, let time pass with c.advance(5), "
                      "then draw c.trace(...)")
    rows = sequence_rows(trace, watchers, events)
    hidden = max(0, len(rows) - max_rows)
    rows = rows[:max_rows]
    present = {_lane(r[1]) for r in rows} | {API}
    lanes = [name for name in _ORDER if name in present]
    for _, who, _, _ in sorted(rows, key=lambda r: r[3]):
        if _lane(who) not in lanes:
            lanes.append(_lane(who))
    fig = new_figure(MAX_WIDTH, 1.2 + 0.25 * len(rows))
    ax = fig.add_subplot()
    ax.set_axis_off()
    x = {name: 1.6 + 1.4 * i for i, name in enumerate(lanes)}
    text_x = x[lanes[-1]] + 0.9
    bottom = -(len(rows) + 0.5)
    for name in lanes:
        colour = _colour(name)
        ax.plot([x[name], x[name]], [-0.3, bottom], color=colour, linewidth=1.0,
                linestyle=":", zorder=1)
        ax.text(x[name], 0.2, _HEADERS.get(name, name), ha="center", va="bottom",
                fontsize=FONT["small"], color="white", gid="lifeline",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": colour})
    ax.text(0.0, 0.2, "time (s)", ha="left", va="bottom", fontsize=FONT["small"],
            color="#555555")
    ax.text(text_x, 0.2, "what was written (dashed: a watch)", ha="left",
            va="bottom", fontsize=FONT["small"], color="#555555")
    for i, (t, who, label, watch) in enumerate(rows):
        y = -(i + 1)
        lane = _lane(who)
        colour = _colour(lane)
        ax.text(0.0, y, f"{t:6.2f}", ha="left", va="center", fontsize=FONT["small"],
                color="#555555", family="monospace")
        start, end = (x[API], x[lane]) if watch else (x[lane], x[API])
        ax.annotate("", xy=(end, y), xytext=(start, y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1,
                                "linestyle": "--" if watch else "-"}, zorder=2)
        who_text = who.removesuffix("-controller") + ": " if lane == _KCM else ""
        ax.text(text_x, y, shorten(who_text + label, 56), ha="left", va="center",
                fontsize=FONT["small"], color=colour)
    ax.set_xlim(-0.1, max(15.0, text_x + 6.0))
    ax.set_ylim(bottom - 0.3, 2.1)
    first = trace[0].object
    ax.set_title(title or f"one apply of {first}: every write goes through the API server",
                 fontsize=FONT["title"], loc="left")
    if hidden:
        ax.text(text_x, bottom - 0.1, f"... and {hidden} more rows", fontsize=FONT["small"],
                color="#555555", va="top")
    end = rows[-1][0] if rows else 0.0
    return describe(fig, f"Sequence diagram of {first}: {len(rows)} writes and watch "
                    f"notifications by {len(lanes) - 1} components ({', '.join(lanes[1:])}) "
                    f"over {end:.2f} virtual seconds, each through the API server and etcd.")
