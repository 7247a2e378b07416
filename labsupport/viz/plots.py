"""Plots of numbers: a metric over time, a latency histogram, the scheduler's table.

Example:
    >>> from types import SimpleNamespace
    >>> from labsupport.viz.plots import latency_histogram
    >>> run = SimpleNamespace(latencies=[0.010, 0.012, 0.011, 0.050], errors=0)
    >>> fig = latency_histogram(run)
    >>> [line.get_gid() for line in fig.axes[0].lines]
    ['p50', 'p95', 'p99']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid
from labsupport.viz.figures import STATE_COLOURS, new_figure

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["metric_plot", "latency_histogram", "traffic_plot", "scheduling_table", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method.

    Example:
        >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)
        10
    """
    if not values:
        raise Invalid("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def metric_plot(cluster: Cluster, name: str, *, step: float | None = None,
                **labels: str) -> LabFigure:
    """Plot one of the simulator's time series, e.g. ``metric_plot(c, "cpu", deployment="web")``.

    Args:
        cluster: a simulated cluster (its ``metrics.series(name, **labels)``).
        name: the series, e.g. ``"cpu"``, ``"requests_per_second"``, ``"latency"``,
            ``"replicas"`` (see ``labsupport.sim.metrics.SERIES``).
        step: seconds per point (the simulator's default: 15).
        **labels: which pods, e.g. ``deployment="web"``, ``node="node-1"``, ``app="web"``.

    Raises:
        Invalid: the cluster keeps no time series (a real cluster: use Prometheus).
    """
    metrics = getattr(cluster, "metrics", None)
    if metrics is None or not hasattr(metrics, "series"):
        raise Invalid("metric_plot reads the simulator's time series (cluster.metrics); "
                      "on a real cluster, query Prometheus instead")
    times, values = metrics.series(name, **({"step": step} if step else {}), **labels)
    fig = new_figure(8.0, 3.4)
    ax = fig.add_subplot()
    label = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
                    if labels else "")
    ax.plot(list(times), list(values), color="#4a7fc1", linewidth=1.5, label=label, gid=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(name)
    ax.set_title(label, fontsize=10)
    if not len(times):
        ax.text(0.5, 0.5, "no samples yet: let time pass with cluster.advance()",
                transform=ax.transAxes, ha="center", va="center", color="#888888")
    return fig


def latency_histogram(result: Any, bins: int = 40) -> LabFigure:
    """Histogram of a traffic run's latencies (``result.latencies``, seconds), in ms.

    Vertical lines mark the 50th, 95th and 99th percentiles (gids ``p50``...).

    Raises:
        Invalid: the run recorded no latency.
    """
    import numpy as np

    raw = getattr(result, "latencies", None)
    latencies = np.asarray([] if raw is None else raw, dtype=float) * 1000
    latencies = latencies[~np.isnan(latencies)]
    if not len(latencies):
        raise Invalid("this traffic run has no latencies to draw: no request was answered")
    fig = new_figure(8.0, 3.6)
    ax = fig.add_subplot()
    ax.hist(latencies, bins=bins, color="#9dbbe0", edgecolor="white")
    colours = {"p50": STATE_COLOURS["Ready"], "p95": STATE_COLOURS["NotReady"],
               "p99": STATE_COLOURS["Failed"]}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        value = getattr(result, name, None)
        if isinstance(value, (int, float)) and not math.isnan(value):
            ms = float(value) * 1000
        else:
            ms = float(percentile(list(latencies), q))
        ax.axvline(ms, color=colours[name], linestyle="--", linewidth=1.4, gid=name,
                   label=f"{name} = {ms:.1f} ms")
    errors = getattr(result, "errors", 0)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("requests")
    ax.set_title(f"{len(latencies)} answered requests, {errors} errors", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def traffic_plot(result: Any, step: float = 5.0,
                 marks: dict[str, float] | None = None) -> LabFigure:
    """Requests and errors per second over a traffic run (``result.timeline(step)``).

    Args:
        result: a traffic result of the simulator (``send_traffic``).
        step: seconds per point.
        marks: vertical lines to label moments, e.g. ``{"node-2 fails": 63.0}``.

    Returns:
        A figure with the lines ``"requests/s"`` and ``"errors/s"``.
    """
    timeline = getattr(result, "timeline", None)
    if timeline is None:
        raise Invalid("traffic_plot draws a traffic result of the simulator (send_traffic)")
    data = timeline(step)
    fig = new_figure(8.0, 3.4)
    ax = fig.add_subplot()
    ax.step(data["time"], data["rps"], where="post", color="#4a7fc1", label="requests/s")
    ax.step(data["time"], data["errors"], where="post", color=STATE_COLOURS["Failed"],
            label="errors/s")
    top = max([float(v) for v in data["rps"]] + [1.0]) * 1.3
    ax.set_ylim(0, top)
    for text, when in (marks or {}).items():
        ax.axvline(when, color="#555555", linestyle=":", linewidth=1.2)
        ax.annotate(text, (when, top), xytext=(3, -12), textcoords="offset points",
                    fontsize=8, color="#555555")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("per second")
    ax.set_title(f"{result.requests} requests, {result.errors} errors", fontsize=10)
    ax.legend(fontsize=8, loc="center right")
    return fig


def scheduling_table(decision: Any) -> LabFigure:
    """Draw a scheduler :class:`~labsupport.sim.scheduling.decision.Decision` as a table.

    One row per node checked: why it failed the filters, or its scores and
    weighted total; the chosen node's row is green. Without a table (the
    decision was made without ``explain``) the figure shows the outcome.
    """
    from labsupport.sim.scheduling.plugins import SCORE_PLUGINS, WEIGHTS

    rows = list(decision.table or ())[:30]
    fig = new_figure(10.0, 0.9 + 0.28 * max(len(rows), 1))
    ax = fig.add_subplot()
    ax.set_axis_off()
    title = repr(decision).strip("<>")
    ax.set_title(title if len(title) < 140 else title[:137] + "...", fontsize=9)
    if not rows:
        ax.text(0.5, 0.5, decision.message or "no table kept for this decision",
                ha="center", va="center", wrap=True, fontsize=8)
        return fig
    head = ["node", "filter"] + [f"{p} x{WEIGHTS[p]}" for p in SCORE_PLUGINS] + ["total"]
    keys = ["node", "filter", *SCORE_PLUGINS, "total"]
    cells = [["" if r.get(k) is None else str(r.get(k)) for k in keys] for r in rows]
    table = ax.table(cellText=cells, colLabels=head, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for i, r in enumerate(rows, start=1):
        if r.get("node") == decision.node:
            for j in range(len(keys)):
                table[i, j].set_facecolor("#dff2e3")
    table.set_gid("scheduling-table")
    return fig
