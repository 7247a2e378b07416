"""The cluster as a picture: nodes as boxes, their pods as dots, Services above.

Each node is a box holding its pods, coloured by state (see
:data:`~labsupport.viz.figures.STATE_COLOURS`); a node whose kubelet has
stopped reporting is drawn dashed and marked Unknown, a NotReady node is
hatched, a cordoned one says so. Pods not bound to any node wait in a
separate "unscheduled" box. Each Service is a box above the nodes with a
line to every pod listed as a ready endpoint: the pods that would get its
traffic.

The picture is built from what both backends offer (``nodes``, ``list``),
so it works on the simulator and on kind. Every artist has a ``gid`` such as
``"node/node-1"``, ``"pod/default/web-7f9c-x2"`` or ``"service/default/web"``.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> fig = ls.viz.cluster_graph(c)
    >>> sorted(p.get_gid() for p in fig.axes[0].patches)
    ['node/node-1', 'node/node-2', 'node/node-3']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsupport.viz.figures import STATE_COLOURS, legend_handles, new_figure, pod_state

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["cluster_graph", "SYSTEM_NAMESPACES"]

#: Namespaces left out unless asked for: the control plane's own pods.
SYSTEM_NAMESPACES = ("kube-system", "kube-node-lease", "kube-public", "local-path-storage")

_PER_ROW = 4          # pods per row inside a node box
_SPACING = 1.0        # distance between pod centres
_RADIUS = 0.34
_NODES_PER_ROW = 4
_NODE_STATE = {True: "Ready", False: "NotReady", None: "Unknown"}


def _short(name: str) -> str:
    parts = name.split("-")
    return f"{parts[0]}-{parts[-1]}" if len(parts) > 2 else name


def _box_size(pods: int) -> tuple[float, float]:
    rows = max(1, math.ceil(pods / _PER_ROW))
    return _PER_ROW * _SPACING + 0.6, rows * _SPACING + 1.3


def cluster_graph(cluster: Cluster, namespace: str | None = None, *,
                  labels: bool | None = None) -> LabFigure:
    """Draw the nodes, their pods and the Services of ``cluster``.

    Args:
        cluster: a cluster from :func:`labsupport.connect`.
        namespace: show only this namespace; None shows every namespace but
            the system ones (:data:`SYSTEM_NAMESPACES`).
        labels: write pod names under the dots (default: when 40 pods or fewer).

    Returns:
        A matplotlib figure.
    """
    import networkx as nx
    from matplotlib.patches import Circle, FancyBboxPatch

    nodes = list(cluster.nodes())
    pods = [p for p in cluster.list("pods", namespace=namespace)
            if namespace is not None or p["metadata"].get("namespace") not in SYSTEM_NAMESPACES]
    by_node: dict[str | None, list[dict]] = {n.name: [] for n in nodes}
    for p in sorted(pods, key=lambda p: (p["metadata"].get("namespace", ""),
                                         p["metadata"]["name"])):
        node = (p.get("spec") or {}).get("nodeName")
        by_node.setdefault(node if node in by_node else None, []).append(p)
    show_labels = labels if labels is not None else len(pods) <= 40

    graph = nx.Graph()
    pos: dict[str, tuple[float, float]] = {}
    boxes = [(n.name, n) for n in nodes]
    if by_node.get(None):
        boxes.append((None, None))
    width = max((_box_size(len(by_node.get(name) or ()))[0] for name, _ in boxes), default=4.0)
    row_heights: list[float] = []
    for i, (name, _) in enumerate(boxes):
        r = i // _NODES_PER_ROW
        h = _box_size(len(by_node.get(name) or ()))[1]
        if r == len(row_heights):
            row_heights.append(h)
        else:
            row_heights[r] = max(row_heights[r], h)

    fig = new_figure(min(16.0, 2.2 + 3.0 * min(len(boxes), _NODES_PER_ROW)),
                     2.2 + 1.2 * sum(row_heights))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    top = 0.0
    y_of_row = []
    for h in row_heights:
        y_of_row.append(top - h)
        top -= h + 0.8
    for i, (name, info) in enumerate(boxes):
        r, col = divmod(i, _NODES_PER_ROW)
        x0 = col * (width + 0.8)
        y0 = y_of_row[r]
        h = row_heights[r]
        members = by_node.get(name) or []
        if info is None:
            style = {"edgecolor": "#888888", "linestyle": ":", "facecolor": "#fafafa"}
            title = "unscheduled"
        else:
            state = _NODE_STATE[info.ready]
            style = {"edgecolor": "#555555", "facecolor": "#f4f6f8", "linestyle": "-"}
            if state == "NotReady":
                style.update(edgecolor=STATE_COLOURS["Failed"], hatch="//")
            elif state == "Unknown":
                style.update(edgecolor=STATE_COLOURS["Failed"], linestyle="--",
                             facecolor="#fdeeee")
            title = f"{info.name}  {state}" + ("  SchedulingDisabled" if info.unschedulable
                                               else "")
        box = FancyBboxPatch((x0, y0), width, h, boxstyle="round,pad=0.02,rounding_size=0.25",
                             linewidth=1.6, gid=f"node/{name}" if name else "unscheduled",
                             **style)
        ax.add_patch(box)
        ax.text(x0 + 0.25, y0 + h - 0.45, title, fontsize=8, fontweight="bold", va="center",
                color=style["edgecolor"] if info is not None and info.ready is not True
                else "#222222")
        for j, pod in enumerate(members):
            pr, pc = divmod(j, _PER_ROW)
            cx = x0 + 0.3 + _SPACING * (pc + 0.5)
            cy = y0 + h - 1.3 - _SPACING * pr + 0.05
            key = f"pod/{pod['metadata'].get('namespace', 'default')}/{pod['metadata']['name']}"
            state = pod_state(pod)
            ax.add_patch(Circle((cx, cy), _RADIUS, facecolor=STATE_COLOURS[state],
                                edgecolor="white", linewidth=0.8, gid=key, zorder=3))
            if show_labels:
                ax.text(cx, cy - _RADIUS - 0.12, _short(pod["metadata"]["name"]), fontsize=5,
                        ha="center", va="top", zorder=4)
            graph.add_node(key, kind="pod", state=state)
            pos[key] = (cx, cy)

    _draw_services(cluster, namespace, ax, graph, pos, width, len(boxes), nx, FancyBboxPatch)
    ready = sum(1 for _, d in graph.nodes(data=True) if d.get("state") == "Ready")
    where = f"namespace {namespace}" if namespace else "all namespaces"
    ax.set_title(f"{len(nodes)} nodes, {len(pods)} pods ({ready} ready) in {where}"
                 f" at t = {cluster.now:g} s", fontsize=10)
    ax.legend(handles=legend_handles(), loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=7, frameon=False, title="pods", title_fontsize=8)
    ax.autoscale_view()
    return fig


def _draw_services(cluster: Cluster, namespace: str | None, ax, graph, pos, width: float,
                   boxes: int, nx, box_patch) -> None:
    services = [s for s in cluster.list("services", namespace=namespace)
                if (s.get("spec") or {}).get("selector")
                and (namespace is not None
                     or s["metadata"].get("namespace") not in SYSTEM_NAMESPACES)]
    if not services:
        return
    endpoints = {(e["metadata"].get("namespace"), e["metadata"]["name"]): e
                 for e in cluster.list("endpoints", namespace=namespace)}
    span = min(boxes, _NODES_PER_ROW) * (width + 0.8) - 0.8
    step = span / len(services)
    edges = []
    for i, svc in enumerate(services):
        ns, name = svc["metadata"].get("namespace", "default"), svc["metadata"]["name"]
        key = f"service/{ns}/{name}"
        cx, cy = step * (i + 0.5), 2.2
        ax.add_patch(box_patch((cx - 1.2, cy - 0.4), 2.4, 0.8, boxstyle="round,pad=0.02",
                               facecolor="#e8f0fb", edgecolor="#4a7fc1", linewidth=1.4,
                               gid=key))
        ax.text(cx, cy, f"svc/{name}", ha="center", va="center", fontsize=8)
        graph.add_node(key, kind="service")
        pos[key] = (cx, cy - 0.4)
        ep = endpoints.get((ns, name)) or {}
        for subset in ep.get("subsets") or ():
            for addr in subset.get("addresses") or ():
                target = (addr.get("targetRef") or {}).get("name")
                pod_key = f"pod/{ns}/{target}"
                if pod_key in pos:
                    graph.add_edge(key, pod_key)
                    edges.append((key, pod_key))
    if edges:
        lines = nx.draw_networkx_edges(graph, pos, edgelist=edges, ax=ax, edge_color="#4a7fc1",
                                       alpha=0.5, width=0.8, node_size=0)
        lines.set_gid("endpoints")
        lines.set_zorder(2)
