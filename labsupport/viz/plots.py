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
import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid
from labsupport.viz.figures import STATE_COLOURS, new_figure
from labsupport.viz.style import (
    FONT,
    MAX_WIDTH,
    Moment,
    describe,
    mark_moments,
    moments,
    style_axes,
)

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
        Invalid: the cluster keeps no time series (a real cluster: use Prometheus),
            or no pod (or Deployment) ever matched the labels.
    """
    metrics = getattr(cluster, "metrics", None)
    if metrics is None or not hasattr(metrics, "series"):
        raise Invalid("metric_plot reads the simulator's time series (cluster.metrics); "
                      "on a real cluster, query Prometheus instead")
    if not isinstance(name, str):
        raise Invalid(f"metric_plot needs the series' name as text, e.g. \"cpu\"; got {name!r}")
    matching = getattr(metrics, "matching", None)
    if labels and callable(matching) and not matching(name, **labels):
        known = metrics.label_values(next(iter(labels))) if hasattr(
            metrics, "label_values") else []
        hint = f"; known values of {next(iter(labels))}: {', '.join(known)}" if known else ""
        raise Invalid(f"no pod matches {_selector(labels)}, so {name} would be a flat line at "
                      f"0{hint}")
    times, values = metrics.series(name, **({"step": step} if step else {}), **labels)
    fig = new_figure(8.0, 3.6)
    ax = fig.add_subplot()
    label = name + (_selector(labels) if labels else "")
    ax.plot(list(times), list(values), color="#4a7fc1", linewidth=1.5, label=label, gid=label)
    style_axes(ax, xlabel="time (s)", ylabel=name, title=label)
    if not len(times):
        ax.text(0.5, 0.5, "no samples yet: let time pass with cluster.advance()",
                transform=ax.transAxes, ha="center", va="center", color="#555555",
                fontsize=FONT["text"])
        return describe(fig, f"{label}: no samples yet.")
    vals = [float(v) for v in values if v == v]
    alt = (f"{label} from {float(times[0]):.0f} to {float(times[-1]):.0f} s"
           + (f": between {min(vals):.3g} and {max(vals):.3g}, last {vals[-1]:.3g}"
              if vals else ": no values"))
    return describe(fig, alt + ".")


def _selector(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _traffic_result(result: Any, what: str, needs: str = "latencies") -> None:
    if not hasattr(result, needs) or callable(getattr(result, "nodes", None)):
        got = ("a cluster" if callable(getattr(result, "nodes", None))
               else type(result).__name__)
        raise Invalid(f"{what} draws the result of a traffic run, got {got}: "
                      f"r = c.send_traffic(\"service/web\", rps=50, duration=60), "
                      f"then ls.viz.{what}(r)")


def latency_histogram(result: Any, bins: int = 40) -> LabFigure:
    """Histogram of a traffic run's latencies (``result.latencies``, seconds), in ms.

    Vertical lines mark the 50th, 95th and 99th percentiles (gids ``p50``...).

    Raises:
        Invalid: not a traffic result, or the run recorded no latency.
    """
    import numpy as np

    _traffic_result(result, "latency_histogram")
    raw = getattr(result, "latencies", None)
    latencies = np.asarray([] if raw is None else raw, dtype=float) * 1000
    latencies = latencies[~np.isnan(latencies)]
    if not len(latencies):
        raise Invalid("this traffic run has no latencies to draw: no request was answered "
                      f"({getattr(result, 'errors', 0)} errors); look at its error_kinds")
    fig = new_figure(8.0, 3.8)
    ax = fig.add_subplot()
    ax.hist(latencies, bins=bins, color="#9dbbe0", edgecolor="white")
    colours = {"p50": STATE_COLOURS["Ready"], "p95": "#b7791f", "p99": STATE_COLOURS["Failed"]}
    shown = {}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        value = getattr(result, name, None)
        if isinstance(value, (int, float)) and not math.isnan(value):
            ms = float(value) * 1000
        else:
            ms = float(percentile(list(latencies), q))
        shown[name] = ms
        ax.axvline(ms, color=colours[name], linestyle="--", linewidth=1.4, gid=name,
                   label=f"{name} = {ms:.1f} ms")
    errors = getattr(result, "errors", 0)
    style_axes(ax, xlabel="latency (ms)", ylabel="requests",
               title=f"{len(latencies)} answered requests, {errors} errors")
    ax.legend(fontsize=FONT["legend"])
    alt = (f"Histogram of the latencies of {len(latencies)} answered requests ({errors} errors): "
           + ", ".join(f"{k} {v:.1f} ms" for k, v in shown.items())
           + f", slowest {float(latencies.max()):.1f} ms.")
    return describe(fig, alt)


def traffic_plot(result: Any, step: float = 5.0, marks: dict[str, float] | None = None, *,
                 cluster: Cluster | None = None) -> LabFigure:
    """Requests and errors per second over a traffic run (``result.timeline(step)``).

    Args:
        result: a traffic result of the simulator (``send_traffic``).
        step: seconds per point.
        marks: vertical lines to label moments, e.g. ``{"node-2 fails": 63.0}``.
        cluster: the cluster the traffic ran on: its node failures, evictions and
            recoveries during the run are marked too (why errors start and stop).

    Returns:
        A figure with the lines ``"requests/s"`` and ``"errors/s"``.
    """
    _traffic_result(result, "traffic_plot", needs="timeline")
    timeline = getattr(result, "timeline", None)
    if timeline is None:
        raise Invalid("traffic_plot draws a traffic result of the simulator (send_traffic)")
    data = timeline(step)
    fig = new_figure(8.0, 3.8)
    ax = fig.add_subplot()
    ax.step(data["time"], data["rps"], where="post", color="#4a7fc1", label="requests/s")
    ax.step(data["time"], data["errors"], where="post", color=STATE_COLOURS["Failed"],
            label="errors/s")
    top = max([float(v) for v in data["rps"]] + [1.0]) * 1.25
    ax.set_ylim(0, top)
    start = float(getattr(result, "start", data["time"][0] if len(data["time"]) else 0.0))
    stop = start + float(getattr(result, "duration", 0.0) or 0.0)
    if len(data["time"]):
        ax.set_xlim(float(data["time"][0]), max(float(data["time"][-1]), stop))
    found = (moments(cluster, since=start, until=stop, extra=marks) if cluster is not None
             else [Moment(float(t), label) for label, t in (marks or {}).items()])
    style_axes(ax, xlabel="time (s)", ylabel="per second",
               title=f"{result.requests} requests, {result.errors} errors")
    ax.title.set_position((0.5, 1.0))
    ax.set_title(ax.get_title(), fontsize=FONT["title"], pad=8 + 12 * min(3, len(found)))
    mark_moments(ax, found)
    ax.legend(fontsize=FONT["legend"], loc="center right")
    errors_at = [float(t) for t, e in zip(data["time"], data["errors"], strict=True) if e > 0]
    alt = f"Requests and errors per second from {start:.0f} to {stop:.0f} s: " \
          f"{result.requests} requests, {result.errors} errors"
    if errors_at:
        alt += f", errors between {errors_at[0]:.0f} and {errors_at[-1] + step:.0f} s"
    if found:
        alt += "; marked: " + ", ".join(f"{m.label} at {m.time:.0f} s" for m in found)
    return describe(fig, alt + ".")


def _header(plugin: str, weight: int) -> str:
    """A column header on short lines: the plugin's name split at its words, then its weight."""
    words = re.findall(r"[A-Z][a-z]*", plugin) or [plugin]
    lines, line = [], ""
    for w in words:
        if line and len(line) + len(w) > 13:
            lines.append(line)
            line = ""
        line += w
    lines.append(line)
    return "\n".join(lines) + f"\nx{weight}"


def scheduling_table(decision: Any) -> LabFigure:
    """Draw a scheduler :class:`~labsupport.sim.scheduler.decision.Decision` as a table.

    One row per node checked: why it failed the filters, or its scores and
    weighted total; the chosen node's row is green. Without a table (the
    decision was made without ``explain``) the figure shows the outcome.

    Raises:
        Invalid: ``decision`` is not a scheduling decision.
    """
    if not hasattr(decision, "table") or not hasattr(decision, "node"):
        raise Invalid(f"scheduling_table draws a scheduling decision, got "
                      f"{type(decision).__name__} {decision!r:.60}: "
                      "ls.viz.scheduling_table(c.explain_scheduling(\"pod/<name>\"))")
    rows = list(decision.table or ())[:30]
    title = textwrap.fill(repr(decision).strip("<>"), 95)
    fig = new_figure(MAX_WIDTH, 1.6 + title.count("\n") * 0.25 + 0.3 * max(len(rows), 1))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title, fontsize=FONT["text"])
    if not rows:
        ax.text(0.5, 0.5, textwrap.fill(decision.message or "no table kept for this decision",
                                        90), ha="center", va="center", fontsize=FONT["text"])
        return describe(fig, f"Scheduling decision: {title}. "
                        f"{decision.message or 'No table was kept.'}")
    weights = getattr(decision, "weights", None) or {}
    head = ["node", "filter"] + [_header(p, w) for p, w in weights.items()] + ["total"]
    keys = ["node", "filter", *weights, "total"]
    cells = [["" if r.get(k) is None else textwrap.shorten(str(r.get(k)), 34) for k in keys]
             for r in rows]
    widths = [max(len(line) for text in [h, *(c[j] for c in cells)] for line in text.split("\n"))
              for j, h in enumerate(head)]
    total_width = sum(widths)
    table = ax.table(cellText=cells, colLabels=head, loc="upper center", cellLoc="center",
                     colWidths=[w / total_width for w in widths])
    table.auto_set_font_size(False)
    table.set_fontsize(FONT["small"])
    row_height = 1.0 / (len(rows) + 4)
    for (r, _c), cell in table.get_celld().items():
        cell.set_height(row_height * (3.2 if r == 0 else 1.0))
    for i, r in enumerate(rows, start=1):
        if r.get("node") == decision.node:
            for j in range(len(keys)):
                table[i, j].set_facecolor("#dff2e3")
    table.set_gid("scheduling-table")
    totals = [r.get("total") for r in rows if isinstance(r.get("total"), (int, float))]
    best = max(totals) if totals else None
    ties = sum(1 for t in totals if t == best)
    note = "total = sum of score x weight over the Score plugins"
    if ties > 1:
        note += f"; {ties} nodes tie at {best}: the scheduler picks one of them at random"
    ax.text(0.5, 0.0, note, transform=ax.transAxes, ha="center", va="top",
            fontsize=FONT["small"], color="#333333")
    feasible = sum(1 for r in rows if r.get("filter") == "passed")
    alt = (f"Scheduler table for {title}: {len(rows)} nodes checked, {feasible} passed the "
           f"filters; chosen {decision.node}" + (f" with total {best}" if best is not None
                                                else "") + f". {note}.")
    return describe(fig, alt)
