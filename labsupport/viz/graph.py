"""The cluster as a picture: nodes as boxes listing their pods, Services above.

Each node is a box (in natural order: node-2 before node-10) that lists its
pods by their full names, as ``c.pods()`` prints them, each with a dot
coloured by its state (see :data:`~labsupport.viz.figures.STATE_COLOURS`).
A node whose kubelet stopped reporting is drawn dashed and says Unknown, a
NotReady node is hatched, a cordoned one says so. Pods bound to no node wait
in an "unscheduled" box. Each Service is a box above the nodes; a line runs
from it to every pod that is one of its ready endpoints (the pods that get
its traffic), along the gaps between the boxes, so it crosses no other box
and no text. The legend lists the pod states present.

The picture is built from what both backends offer (``nodes``, ``list``),
so it works on the simulator and on kind. Every artist has a ``gid`` such as
``"node/node-1"``, ``"pod/default/web-7f9c-x2"`` or ``"service/default/web"``.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> fig = ls.viz.cluster_graph(c)
    >>> sorted(p.get_gid() for p in fig.axes[0].patches)
    ['node/node-1', 'node/node-2', 'node/node-3']
    >>> fig.alt
    'The cluster at t = 0 s: 3 nodes (node-1, node-2, node-3 Ready), no pods.'
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsupport.deprecations import APIWarning
from labsupport.errors import Invalid
from labsupport.viz.figures import STATE_COLOURS, new_figure, pod_state
from labsupport.viz.style import (
    FONT,
    MAX_WIDTH,
    describe,
    natural_key,
    shorten,
    state_legend,
    text_width,
)

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["cluster_graph", "SYSTEM_NAMESPACES", "SERVICE_COLOURS"]

#: Namespaces left out unless asked for: the control plane's own pods.
SYSTEM_NAMESPACES = ("kube-system", "kube-node-lease", "kube-public", "local-path-storage")
#: Colours of the Services' lines, in order (none is a pod state's colour).
SERVICE_COLOURS = ("#2b6cb0", "#0f8b8d", "#b7791f", "#97266d", "#4a5568")

# Sizes in inches (the axes use inches as data units, so the picture never stretches).
_ROW = 0.27                              # pitch of the pod list
_DOT = 0.075                             # radius of a pod's dot
_HEADER = 0.55                           # the node's name and state
_PAD = 0.14
_GUTTER = 0.6                            # between columns: where the Service lines run
_ROW_GAP = 0.5
_GRID_PITCH = 0.24                       # dots without names, when there are many pods
_GRID_COLUMNS = 7
_MAX_LABELLED = 40
_NODE_STATE = {True: "Ready", False: "NotReady", None: "Unknown"}


@dataclass
class _Box:
    name: str | None                 # None: the unscheduled pods
    info: Any
    pods: list[dict] = field(default_factory=list)
    x0: float = 0.0
    y_top: float = 0.0
    height: float = 0.0


def _pod_label(pod: dict, with_namespace: bool) -> str:
    meta = pod["metadata"]
    name = meta["name"]
    return shorten(f"{meta.get('namespace', 'default')}/{name}" if with_namespace else name)


def _rows_needed(pods: int, labelled: bool) -> int:
    if labelled:
        return max(1, pods)
    return max(1, math.ceil(pods / _GRID_COLUMNS))


def cluster_graph(cluster: Cluster, namespace: str | None = None, *,
                  labels: bool | None = None) -> LabFigure:
    """Draw the nodes, their pods and the Services of ``cluster``.

    Args:
        cluster: a cluster from :func:`labsupport.connect`.
        namespace: show only this namespace; None shows every namespace but
            the system ones (:data:`SYSTEM_NAMESPACES`).
        labels: list pod names beside their dots (default: when 40 pods or
            fewer; more are drawn as a grid of dots).

    Returns:
        A matplotlib figure, with alt text describing it.

    Raises:
        Invalid: ``cluster`` is not a cluster.
    """
    from matplotlib.patches import Circle, FancyBboxPatch

    if not callable(getattr(cluster, "nodes", None)) or not callable(
            getattr(cluster, "list", None)):
        raise Invalid(f"cluster_graph draws a cluster (from ls.connect()), got "
                      f"{type(cluster).__name__}; pass the cluster itself, e.g. "
                      "ls.viz.cluster_graph(c)")
    nodes = sorted(cluster.nodes(), key=lambda n: natural_key(n.name))
    pods = [p for p in cluster.list("pods", namespace=namespace)
            if namespace is not None or p["metadata"].get("namespace") not in SYSTEM_NAMESPACES]
    boxes = {n.name: _Box(n.name, n) for n in nodes}
    loose = _Box(None, None)
    for p in sorted(pods, key=lambda p: (natural_key(p["metadata"].get("namespace", "")),
                                         natural_key(p["metadata"]["name"]))):
        node = (p.get("spec") or {}).get("nodeName")
        (boxes[node] if node in boxes else loose).pods.append(p)
    order = list(boxes.values()) + ([loose] if loose.pods else [])
    labelled = labels if labels is not None else len(pods) <= _MAX_LABELLED
    several_ns = len({p["metadata"].get("namespace") for p in pods}) > 1
    names = {id(p): _pod_label(p, several_ns) for p in pods}

    # Layout: as many columns as fit the notebook's width.
    if labelled:
        longest = max((text_width(n, FONT["small"]) for n in names.values()), default=0.0)
        width = max(1.9, _PAD * 2 + _DOT * 2 + 0.08 + longest + 0.05)
    else:
        width = max(1.9, _PAD * 2 + _GRID_COLUMNS * _GRID_PITCH)
    columns = max(1, min(len(order), 4, int((MAX_WIDTH - 0.2 - _GUTTER) // (width + _GUTTER))))
    services = _services(cluster, namespace)
    top = 0.3 + 0.12 * len(services) if services else 0.0    # room for the lines' buses
    y = -top
    for first in range(0, len(order), columns):
        row = order[first:first + columns]
        height = _HEADER + _ROW * max(_rows_needed(len(b.pods), labelled) for b in row) + _PAD
        for col, box in enumerate(row):
            box.x0 = _GUTTER + col * (width + _GUTTER)
            box.y_top, box.height = y, height
        y -= height + _ROW_GAP
    bottom = y + _ROW_GAP
    content_width = _GUTTER + columns * (width + _GUTTER)
    service_height = 0.62 if services else 0.0
    # One data unit is one inch: the axes get exactly the content's size, so text (sized
    # in points) and boxes (sized in inches) fit each other at any cluster size.
    legend_rows = math.ceil((len(STATE_COLOURS) + len(services)) / 4)
    below, above, side = 0.2 + 0.28 * legend_rows, 0.5, 0.1
    content_height = service_height + 0.1 - (bottom - 0.1)
    fig_w, fig_h = content_width + 2 * side, content_height + below + above
    fig = new_figure(fig_w, fig_h, layout=None)
    ax = fig.add_axes((side / fig_w, below / fig_h, content_width / fig_w,
                       content_height / fig_h))
    ax.set_axis_off()

    positions: dict[str, tuple[float, float, _Box]] = {}
    for box in order:
        _draw_box(ax, box, width, FancyBboxPatch)
        for j, pod in enumerate(box.pods):
            if labelled:
                cx = box.x0 + _PAD + _DOT
                cy = box.y_top - _HEADER - _ROW * (j + 0.5)
            else:
                r, c = divmod(j, _GRID_COLUMNS)
                cx = box.x0 + _PAD + _GRID_PITCH * (c + 0.5)
                cy = box.y_top - _HEADER - _ROW * (r + 0.5)
            meta = pod["metadata"]
            key = f"pod/{meta.get('namespace', 'default')}/{meta['name']}"
            ax.add_patch(Circle((cx, cy), _DOT, facecolor=STATE_COLOURS[pod_state(pod)],
                                edgecolor="white", linewidth=0.6, gid=key, zorder=3))
            if labelled:
                ax.text(cx + _DOT + 0.08, cy, names[id(pod)], fontsize=FONT["small"],
                        va="center", ha="left", zorder=4, gid=f"label:{key}")
            positions[key] = (cx, cy, box)

    extra = _draw_services(ax, services, positions, content_width, top, order)
    present = Counter(pod_state(p) for p in pods)
    ready = present.get("Ready", 0)
    where = f"namespace {namespace}" if namespace else "all namespaces"
    ax.set_title(f"{len(nodes)} nodes, {len(pods)} pods ({ready} ready) in {where}, "
                 f"t = {cluster.now:g} s", fontsize=FONT["title"])
    if present or extra:
        state_legend(ax, present, extra=extra, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                     ncol=min(4, len(present) + len(extra)), title=None)
    ax.set_xlim(0, content_width)
    ax.set_ylim(bottom - 0.1, service_height + 0.1)
    return describe(fig, _alt(cluster, nodes, boxes, pods, present, services))


def _draw_box(ax: Any, box: _Box, width: float, box_patch: Any) -> None:
    y0 = box.y_top - box.height
    if box.info is None:
        style = {"edgecolor": "#888888", "linestyle": ":", "facecolor": "#fafafa"}
        waiting = len(box.pods)
        title, colour = "unscheduled", "#555555"
        status = f"{waiting} pod{'s' * (waiting != 1)} wait{'s' * (waiting == 1)} for a node"
    else:
        state = _NODE_STATE[box.info.ready]
        style = {"edgecolor": "#555555", "facecolor": "#f4f6f8", "linestyle": "-"}
        colour = "#222222"
        if state == "NotReady":
            style.update(edgecolor=STATE_COLOURS["Failed"], hatch="//")
            colour = STATE_COLOURS["Failed"]
        elif state == "Unknown":
            style.update(edgecolor=STATE_COLOURS["Failed"], linestyle="--", facecolor="#fdeeee")
            colour = STATE_COLOURS["Failed"]
        title = box.info.name
        status = state + ("; cordoned (SchedulingDisabled)" if box.info.unschedulable else "")
    ax.add_patch(box_patch((box.x0, y0), width, box.height,
                           boxstyle="round,pad=0.0,rounding_size=0.12", linewidth=1.5,
                           gid=f"node/{box.name}" if box.name else "unscheduled", **style))
    ax.text(box.x0 + _PAD, box.y_top - 0.17, title, fontsize=FONT["text"], fontweight="bold",
            va="center", color=colour, gid=f"title:{box.name or 'unscheduled'}")
    ax.text(box.x0 + _PAD, box.y_top - 0.40, status, fontsize=FONT["small"], va="center",
            color=colour, gid=f"status:{box.name or 'unscheduled'}")


def _services(cluster: Cluster, namespace: str | None) -> list[tuple[dict, list[str]]]:
    """Each Service with a selector, and the keys of the pods that are its ready endpoints."""
    found = [s for s in cluster.list("services", namespace=namespace)
             if (s.get("spec") or {}).get("selector")
             and (namespace is not None
                  or s["metadata"].get("namespace") not in SYSTEM_NAMESPACES)]
    if not found:
        return []
    # The picture reads v1 Endpoints, which 1.37 still serves and keeps up to
    # date but marks deprecated; the warning is for people who ask for them, not
    # for a picture the library draws. (EndpointSlices come to the simulator
    # with the API-semantics work.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", APIWarning)
        endpoints = {(e["metadata"].get("namespace"), e["metadata"]["name"]): e
                     for e in cluster.list("endpoints", namespace=namespace)}
    out = []
    for svc in sorted(found, key=lambda s: natural_key(s["metadata"]["name"])):
        ns = svc["metadata"].get("namespace", "default")
        ep = endpoints.get((ns, svc["metadata"]["name"])) or {}
        keys = [f"pod/{ns}/{(a.get('targetRef') or {}).get('name')}"
                for subset in ep.get("subsets") or () for a in subset.get("addresses") or ()]
        out.append((svc, keys))
    return out


def _draw_services(ax: Any, services: list[tuple[dict, list[str]]],
                   positions: dict[str, tuple[float, float, _Box]], content_width: float,
                   top: float, order: list[_Box]) -> list[Any]:
    """Service boxes above the nodes and their lines to the ready endpoints.

    A line leaves the Service's box downwards, runs along a bus of its own
    between the Services and the first row of nodes, down the gap to the
    left of the endpoint's node, and into the box at the pod's row.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch

    if not services:
        return []
    labels = [f"svc/{s['metadata']['name']}" for s, _ in services]
    widths = [max(1.3, 0.3 + text_width(label, FONT["text"], bold=True)) for label in labels]
    gap = 0.3
    total = sum(widths) + gap * (len(widths) - 1)
    x = max(_GUTTER, (content_width - total) / 2)
    handles = []
    for i, ((svc, keys), label, w) in enumerate(zip(services, labels, widths, strict=True)):
        ns, name = svc["metadata"].get("namespace", "default"), svc["metadata"]["name"]
        colour = SERVICE_COLOURS[i % len(SERVICE_COLOURS)]
        ax.add_patch(FancyBboxPatch((x, 0.0), w, 0.55, boxstyle="round,pad=0.0,rounding_size=0.1",
                                    facecolor="#eef3fa", edgecolor=colour, linewidth=1.4,
                                    gid=f"service/{ns}/{name}"))
        shown = [k for k in keys if k in positions]
        ax.text(x + w / 2, 0.37, label, ha="center", va="center", fontsize=FONT["text"],
                fontweight="bold", color=colour, gid=f"title:service/{ns}/{name}")
        ax.text(x + w / 2, 0.14, f"{len(shown)} ready endpoint{'s' * (len(shown) != 1)}",
                ha="center", va="center", fontsize=FONT["small"], color="#333333",
                gid=f"status:service/{ns}/{name}")
        sx, bus = x + w / 2 + 0.06 * (i - (len(services) - 1) / 2), -0.15 - 0.12 * i
        lane = -_GUTTER / 2 + 0.08 + 0.09 * (i % 5)
        paths = []
        for key in shown:
            cx, cy, box = positions[key]
            gx = box.x0 + lane
            paths.append([(sx, 0.0), (sx, bus), (gx, bus), (gx, cy), (cx - _DOT, cy)])
        lines = LineCollection(paths, colors=colour, linewidths=1.1, alpha=0.85, zorder=2,
                               gid="endpoints")
        ax.add_collection(lines)
        handles.append(Line2D([], [], color=colour, linewidth=1.4,
                              label=f"{label} to its ready endpoints"))
        x += w + gap
    return handles


def _alt(cluster: Cluster, nodes: list, boxes: dict[str, _Box], pods: list[dict],
         present: Counter, services: list[tuple[dict, list[str]]]) -> str:
    by_state: dict[str, list[str]] = {}
    for n in nodes:
        by_state.setdefault(_NODE_STATE[n.ready], []).append(n.name)
    node_text = "; ".join(f"{', '.join(names)} {state}" for state, names in by_state.items())
    text = f"The cluster at t = {cluster.now:g} s: {len(nodes)} nodes ({node_text})"
    if pods:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(present.items(),
                                                          key=lambda kv: -kv[1]))
        text += f", {len(pods)} pods ({counts})"
        if len(nodes) <= 12:
            per = ", ".join(f"{b.name}: {len(b.pods)}" for b in boxes.values())
            text += f"; pods per node: {per}"
    else:
        text += ", no pods"
    for svc, keys in services:
        text += f"; Service {svc['metadata']['name']} sends traffic to {len(keys)} ready pods"
    return text + "."
