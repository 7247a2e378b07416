"""The course's figure style, in one place: sizes, order, legends, moments, targets, alt text.

Every picture of the course follows the same rules, and gets them from here:

- **Legible at notebook width.** A figure is at most :data:`MAX_WIDTH` inches
  wide (900 px at the notebook's 100 dpi, so it is never shrunk) and no text
  is smaller than :data:`FONT` ``["small"]`` points.
- **Names in natural order.** ``node-2`` comes before ``node-10``
  (:func:`natural_key`).
- **Legends of what is shown.** A legend lists the pod states present in the
  picture, not every state there is (:func:`state_legend`).
- **The moments that matter are marked.** A node becoming Unknown, pods
  evicted, a node back: vertical lines with labels that do not overlap
  (:func:`moments`, :func:`mark_moments`).
- **Log axes where counts span orders of magnitude** (:func:`count_axis`),
  and **target lines** where an exercise states a target (:func:`target_line`).
- **Alt text on every image** (:func:`describe`): a sentence that says what the
  picture shows, for screen readers and for exported notebooks.

Example:
    >>> sorted(["node-10", "node-2", "node-1"], key=natural_key)
    ['node-1', 'node-2', 'node-10']
    >>> from labsupport.viz.figures import new_figure
    >>> fig = describe(new_figure(4, 3), "An empty picture.")
    >>> fig.alt
    'An empty picture.'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsupport.viz.figures import STATE_COLOURS

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["FONT", "MAX_WIDTH", "MOMENT_COLOUR", "TARGET_COLOUR", "Moment", "natural_key",
           "natural_sorted", "state_legend", "moments", "mark_moments", "target_line",
           "count_axis", "describe", "style_axes", "shorten", "text_width"]

#: Font sizes in points. Nothing in a picture is smaller than ``small``.
FONT = {"title": 11, "label": 10, "tick": 9, "legend": 9, "text": 9, "small": 8}
#: The widest figure, in inches: 900 px at 100 dpi, the width of a notebook cell.
MAX_WIDTH = 9.0
#: Colour of the lines that mark moments (failures, evictions).
MOMENT_COLOUR = "#6b4c9a"
#: Colour of target lines.
TARGET_COLOUR = "#c0392b"

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """A sort key that orders the numbers inside names by value: node-2 before node-10.

    Example:
        >>> natural_key("node-10") > natural_key("node-9")
        True
    """
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(str(text)))


def natural_sorted(items: Iterable[Any], key: Any = None) -> list[Any]:
    """``items`` in natural order (of ``key(item)`` when a key is given)."""
    return sorted(items, key=lambda x: natural_key(key(x) if key else x))


def shorten(text: str, limit: int = 32) -> str:
    """``text``, cut in the middle with an ellipsis when longer than ``limit`` characters.

    The end stays: it is the part of a pod's name that tells replicas apart.

    Example:
        >>> shorten("checkoutservice-7d9b8c8f5c-abcde", 20)
        'checkoutser…5c-abcde'
    """
    if len(text) <= limit:
        return text
    tail = limit // 2 - 2
    return f"{text[:limit - tail - 1]}…{text[-tail:]}"


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """How wide ``text`` is drawn at ``size`` points, in inches (measured, not guessed).

    Example:
        >>> round(text_width("node-1", 8), 2) > 0.2
        True
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(size=size, weight="bold" if bold else "normal")
    return float(TextPath((0, 0), text, prop=font).get_extents().width) / 72


def style_axes(ax: Any, *, title: str | None = None, xlabel: str | None = None,
               ylabel: str | None = None) -> Any:
    """Apply the course's sizes to one axes: title, labels, ticks, a light grid."""
    if title is not None:
        ax.set_title(title, fontsize=FONT["title"])
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=FONT["label"])
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.grid(True, color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    return ax


def state_legend(ax: Any, present: Iterable[str], *, title: str = "pods", extra: Sequence = (),
                 **where: Any) -> Any:
    """A legend of the pod states in ``present`` (in the usual order), plus ``extra`` handles.

    Returns:
        The legend, or None when there is nothing to list.
    """
    from matplotlib.patches import Patch

    shown = set(present)
    handles = [Patch(facecolor=colour, edgecolor="none", label=state)
               for state, colour in STATE_COLOURS.items() if state in shown]
    handles += list(extra)
    if not handles:
        return None
    options = {"loc": "upper left", "bbox_to_anchor": (1.0, 1.0), "frameon": False}
    options.update(where)
    return ax.legend(handles=handles, fontsize=FONT["legend"], title=title,
                     title_fontsize=FONT["legend"], **options)


@dataclass(frozen=True)
class Moment:
    """A moment worth marking on a time axis.

    Attributes:
        time: seconds since the cluster started.
        label: a few words, e.g. ``"node-2 Unknown"``.
    """

    time: float
    label: str


_NODE_REASONS = {"NodeNotReady": "{node} Unknown", "NodeReady": "{node} Ready again"}


def moments(cluster: Cluster, since: float | None = None, until: float | None = None,
            extra: Mapping[str, float] | None = None) -> list[Moment]:
    """The moments of a node failure and recovery, read from the cluster's events.

    A node becoming Unknown (``NodeNotReady``), its pods evicted
    (``TaintManagerEviction``, counted per moment), the node ``Ready`` again;
    plus any ``extra`` moments you name (``{"node-2 fails": 63.0}``: nothing in
    the cluster records a machine losing power).

    Args:
        cluster: a cluster from :func:`labsupport.connect`.
        since: leave out moments before this time.
        until: leave out moments after this time.
        extra: more moments, label to time.

    Returns:
        The moments, in time order.
    """
    found: dict[tuple[float, str], int] = {}
    for e in cluster.events():
        kind, _, name = e.object.partition("/")
        if e.reason in _NODE_REASONS and kind == "node":
            found[(round(e.time, 1), _NODE_REASONS[e.reason].format(node=name))] = 1
        elif e.reason == "TaintManagerEviction":
            key = (round(e.time, 1), "evicted")
            found[key] = found.get(key, 0) + 1
    out = []
    for (time, label), n in found.items():
        if label == "evicted":
            label = f"{n} pod{'s' if n > 1 else ''} evicted"
        out.append(Moment(time, label))
    out += [Moment(float(t), label) for label, t in (extra or {}).items()]
    out = [m for m in out if (since is None or m.time >= since)
           and (until is None or m.time <= until)]
    return sorted(out, key=lambda m: (m.time, m.label))


def mark_moments(ax: Any, marks: Iterable[Moment] | Mapping[str, float] | None) -> list[Any]:
    """Draw a dotted vertical line and a label at each moment, labels clear of each other.

    Labels sit just above the axes; a label that would run into the previous
    one moves up a line.

    Returns:
        The label texts (gids ``moment:<label>``).
    """
    if not marks:
        return []
    items = ([Moment(float(t), label) for label, t in marks.items()]
             if isinstance(marks, Mapping) else list(marks))
    items.sort(key=lambda m: m.time)
    lo, hi = ax.get_xlim()
    span = (hi - lo) or 1.0
    texts = []
    level_end: list[float] = []        # per label line: the x (axes fraction) where it ends
    for m in items:
        if not lo <= m.time <= hi:
            continue
        ax.axvline(m.time, color=MOMENT_COLOUR, linestyle=":", linewidth=1.3,
                   gid=f"moment-line:{m.label}")
        x = (m.time - lo) / span
        width = 0.0095 * len(m.label) + 0.01          # about 9 pt characters at 8-9 in
        level = next((i for i, end in enumerate(level_end) if x > end), len(level_end))
        if level == len(level_end):
            level_end.append(0.0)
        level_end[level] = x + width
        texts.append(ax.annotate(m.label, (m.time, 1.0), xycoords=("data", "axes fraction"),
                                 xytext=(2, 3 + 12 * level), textcoords="offset points",
                                 fontsize=FONT["small"], color=MOMENT_COLOUR,
                                 annotation_clip=False, gid=f"moment:{m.label}"))
    return texts


def target_line(ax: Any, value: float, label: str, *, axis: str = "y") -> Any:
    """A dashed line at a stated target, labelled at its end (gid ``target``)."""
    if axis == "y":
        line = ax.axhline(value, color=TARGET_COLOUR, linestyle="--", linewidth=1.3, gid="target")
        ax.annotate(label, (1.0, value), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                    textcoords="offset points", ha="right", fontsize=FONT["small"],
                    color=TARGET_COLOUR)
    else:
        line = ax.axvline(value, color=TARGET_COLOUR, linestyle="--", linewidth=1.3, gid="target")
        ax.annotate(label, (value, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=FONT["small"], color=TARGET_COLOUR)
    return line


def count_axis(ax: Any, values: Iterable[float], axis: str = "y") -> str:
    """Use a log scale (symlog, so 0 still shows) when counts span two orders of magnitude.

    Returns:
        ``"symlog"`` or ``"linear"``: the scale chosen.
    """
    positive = [float(v) for v in values if v and v > 0]
    if positive and max(positive) / min(positive) >= 100:
        from matplotlib.ticker import FuncFormatter

        (ax.set_yscale if axis == "y" else ax.set_xscale)("symlog", linthresh=1)
        which = ax.yaxis if axis == "y" else ax.xaxis
        which.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        return "symlog"
    return "linear"


def describe(fig: LabFigure, alt: str) -> LabFigure:
    """Give a figure its alt text (shown to screen readers and in exported notebooks)."""
    fig.alt = " ".join(alt.split())
    return fig
