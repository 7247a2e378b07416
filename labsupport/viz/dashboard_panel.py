"""What the dashboard shows beside the cluster picture, and what a backend lets it do.

Three parts, each usable without a notebook frontend:

* :func:`capabilities`: which of the dashboard's actions this cluster can
  do, and for those it cannot, why (the tooltip of the disabled control).
* :func:`panel_html`: the nodes with their pods and resource use (what the
  pods request out of what the node can allocate), the Deployments (ready
  out of desired), the Services and the most recent events, as HTML.
* :class:`History` and :func:`history_plot`: the dashboard's own record of
  the cluster, one sample each time it redraws, drawn as the live plot.
  It is read through the Cluster contract only, so it works on every backend.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> capabilities(c)["traffic"] is None          # the simulator can do everything
    True
    >>> "node-1" in panel_html(c)
    True
    >>> h = History(); h.sample(c)["nodes_ready"]
    3
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsupport.viz.figures import STATE_COLOURS, new_figure, pod_state
from labsupport.viz.graph import SYSTEM_NAMESPACES
from labsupport.viz.style import describe, natural_key, style_axes

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["ACTIONS", "capabilities", "panel_html", "History", "history_plot"]

#: The dashboard's actions, in the order of its controls.
ACTIONS = ("advance", "scale", "kill_pod", "fail_node", "restore_node", "traffic")

#: How many of the most recent events the panel lists.
RECENT_EVENTS = 8


def capabilities(cluster: Cluster) -> dict[str, str | None]:
    """For each action in :data:`ACTIONS`: None when this cluster can do it, else why not.

    The simulator can do everything. A real cluster (``KubeCluster``, also
    one connected to a served simulator) scales, kills pods and waits, but
    fails and restores nodes only on kind (it pauses the node's container),
    and sends traffic only from the simulator's data plane.

    Example:
        >>> import labsupport as ls
        >>> sorted(capabilities(ls.connect(seed=0)).values(), key=str)[0] is None
        True
    """
    can: dict[str, str | None] = dict.fromkeys(ACTIONS)
    if getattr(cluster, "backend", "sim") != "sim":
        if not getattr(cluster, "kind_name", None):
            why = ("fail_node and restore_node work on kind clusters only (they pause and "
                   "unpause the node's docker container); on this cluster cordon and drain "
                   "a node instead: c.drain(node)")
            can["fail_node"] = can["restore_node"] = why
    if not callable(getattr(cluster, "send_traffic", None)):
        can["traffic"] = ("sending traffic needs the simulator's data plane "
                          "(c.send_traffic); on a real cluster send requests with a load "
                          "generator such as hey or a Job running curl")
    return can


def _user_pods(cluster: Cluster, namespace: str | None) -> list[dict]:
    pods = cluster.list("pods", namespace)
    if namespace is None:
        pods = [p for p in pods if p["metadata"].get("namespace") not in SYSTEM_NAMESPACES]
    return pods


def _bar(used: float, total: float) -> str:
    share = 0.0 if total <= 0 else min(1.0, used / total)
    colour = "#c53030" if share > 0.9 else "#2b6cb0"
    return (f'<span style="display:inline-block;width:80px;height:9px;background:#e2e8f0;'
            f'vertical-align:middle"><span style="display:block;height:9px;'
            f'width:{share * 100:.0f}%;background:{colour}"></span></span> {share:.0%}')


def _cores(v: float) -> str:
    return f"{v * 1000:.0f}m" if 0 < v < 1 else f"{v:g}"


def _mib(v: int) -> str:
    return f"{round(v / 2**30, 1):g}Gi" if v >= 2**30 else f"{v / 2**20:.0f}Mi"


def panel_html(cluster: Cluster, namespace: str | None = None,
               events: int = RECENT_EVENTS) -> str:
    """The nodes, Deployments, Services and recent events, as one HTML block.

    Args:
        cluster: the cluster to describe.
        namespace: only this namespace (None: every namespace but the system ones).
        events: how many of the most recent events to list.

    Example:
        >>> import labsupport as ls
        >>> c = ls.connect(seed=0)
        >>> print(panel_html(c).count("<tr"))    # a header row and one per node
        4
    """
    e = html.escape
    pods = _user_pods(cluster, namespace)
    by_node: dict[str, list[dict]] = {}
    for p in pods:
        by_node.setdefault((p.get("spec") or {}).get("nodeName") or "", []).append(p)
    rows = ['<tr><th>node</th><th>state</th><th>CPU requested</th>'
            '<th>memory requested</th><th>pods</th></tr>']
    for n in sorted(cluster.nodes(), key=lambda n: natural_key(n.name)):
        state = {True: "Ready", False: "NotReady", None: "Unknown"}[n.ready]
        if n.unschedulable:
            state += ", cordoned"
        dots = " ".join(
            f'<span title="{e(p["metadata"]["name"])}: {pod_state(p)}" '
            f'style="color:{STATE_COLOURS[pod_state(p)]}">&#9679;</span>'
            for p in sorted(by_node.get(n.name, []), key=lambda p: p["metadata"]["name"]))
        rows.append(
            f'<tr data-node="{e(n.name)}"><td><b>{e(n.name)}</b></td><td>{state}</td>'
            f"<td>{_bar(n.cpu_requested, n.cpu)} {_cores(n.cpu_requested)}/{_cores(n.cpu)}</td>"
            f"<td>{_bar(n.memory_requested, n.memory)} {_mib(n.memory_requested)}/"
            f"{_mib(n.memory)}</td><td>{len(by_node.get(n.name, []))} {dots}</td></tr>")
    pending = len(by_node.get("", []))
    parts = [f'<table class="ls-dash-nodes">{"".join(rows)}</table>']
    if pending:
        parts.append(f"<div>{pending} pod(s) not scheduled yet</div>")
    deployments = [
        f"deployment/{e(d['metadata']['name'])}: "
        f"{(d.get('status') or {}).get('readyReplicas', 0) or 0}/"
        f"{(d.get('spec') or {}).get('replicas', 1)} ready"
        for d in cluster.list("deployments", namespace)
        if d["metadata"].get("namespace") not in SYSTEM_NAMESPACES]
    services = [
        f"service/{e(s['metadata']['name'])} ({e((s.get('spec') or {}).get('type', 'ClusterIP'))}"
        f" {e(str((s.get('spec') or {}).get('clusterIP', '')))})"
        for s in cluster.list("services", namespace)
        if s["metadata"].get("namespace") not in SYSTEM_NAMESPACES
        and s["metadata"]["name"] != "kubernetes"]
    parts.append(f"<div><b>Deployments:</b> {', '.join(deployments) or 'none'}</div>")
    parts.append(f"<div><b>Services:</b> {', '.join(services) or 'none'}</div>")
    recent = list(cluster.events(namespace))[-events:] if events else []
    lines = "".join(
        f'<li style="color:{"#c53030" if ev.type == "Warning" else "inherit"}">'
        f"{ev.time:.0f} s {e(ev.reason)} {e(ev.object)}: {e(ev.message)}</li>"
        for ev in recent)
    parts.append(f"<div><b>Recent events:</b><ul class=\"ls-dash-events\">"
                 f"{lines or '<li>none yet</li>'}</ul></div>")
    return "\n".join(parts)


@dataclass
class History:
    """The dashboard's record of the cluster over time: one sample per redraw.

    Attributes:
        samples: dicts with ``t`` (seconds, ``cluster.now``), ``pods_ready``,
            ``pods``, ``desired`` (replicas the Deployments ask for) and
            ``nodes_ready``.
        traffic: one dict per traffic run: ``t`` (when it ended), ``requests``, ``errors``.
    """

    samples: list[dict[str, float]] = field(default_factory=list)
    traffic: list[dict[str, float]] = field(default_factory=list)

    def sample(self, cluster: Cluster, namespace: str | None = None) -> dict[str, float]:
        """Record the cluster as it is now (replacing a sample at the same time)."""
        pods = [p for p in _user_pods(cluster, namespace)
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        desired = sum((d.get("spec") or {}).get("replicas", 1) or 0
                      for d in cluster.list("deployments", namespace)
                      if d["metadata"].get("namespace") not in SYSTEM_NAMESPACES)
        row = {"t": float(cluster.now),
               "pods_ready": sum(1 for p in pods if pod_state(p) == "Ready"),
               "pods": len(pods), "desired": desired,
               "nodes_ready": sum(1 for n in cluster.nodes() if n.ready)}
        if self.samples and self.samples[-1]["t"] == row["t"]:
            self.samples[-1] = row
        else:
            self.samples.append(row)
        return row

    def record_traffic(self, result: Any, at: float) -> dict[str, float]:
        """Record a finished traffic run (a ``TrafficResult``)."""
        requests = len(result.times)
        row = {"t": float(at), "requests": requests,
               "errors": round(result.error_rate * requests)}
        self.traffic.append(row)
        return row


def history_plot(history: History) -> LabFigure:
    """The live plot: ready pods against desired replicas and Ready nodes over time.

    Example:
        >>> import labsupport as ls
        >>> c = ls.connect(seed=0)
        >>> h = History(); _ = h.sample(c); c.advance(10); _ = h.sample(c)
        >>> history_plot(h).alt
        'Over 0 to 10 s: 0 pods ready of 0 desired, 3 nodes Ready at the end.'
    """
    fig = new_figure(8.0, 2.4)
    ax = fig.add_subplot()
    style_axes(ax, title="the cluster over time", xlabel="time (s)", ylabel="count")
    s = history.samples
    times = [r["t"] for r in s]
    for key, label, colour in (("desired", "replicas desired", "#718096"),
                               ("pods_ready", "pods ready", STATE_COLOURS["Ready"]),
                               ("nodes_ready", "nodes Ready", "#2b6cb0")):
        ax.step(times, [r[key] for r in s], where="post", label=label, color=colour,
                linewidth=1.6, marker="o", markersize=3, gid=key)
    for run in history.traffic:
        ax.axvline(run["t"], color="#b7791f", linestyle=":", linewidth=1.2, gid="traffic")
        ax.annotate(f"{run['requests']} req, {run['errors']} failed", (run["t"], 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -10),
                    textcoords="offset points", fontsize=8, color="#b7791f")
    if s:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.set_ylim(bottom=0)
    last = s[-1] if s else {"pods_ready": 0, "desired": 0, "nodes_ready": 0}
    span = f"{times[0]:g} to {times[-1]:g} s" if s else "no time yet"
    alt = (f"Over {span}: {last['pods_ready']} pods ready of {last['desired']} desired, "
           f"{last['nodes_ready']} nodes Ready at the end.")
    if history.traffic:
        t = history.traffic[-1]
        alt += f" Last traffic: {t['requests']} requests, {t['errors']} failed."
    return describe(fig, alt)
