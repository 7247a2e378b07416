"""Balancing policies compared: latency against load, servers, and over time, with pictures.

:func:`load_curve` runs every policy at several loads on the same traffic
and draws p50 and p99 against load (:meth:`LoadCurve.plot`);
:func:`servers_curve` adds servers at a fixed request rate;
:func:`share_plot` shows how a run spread its requests over servers of
different speeds; :func:`timeline_plot` shows latency second by second
through a spike.

Example:
    >>> from labsupport.dc.balance import Scenario
    >>> curve = load_curve(Scenario(servers=4, duration=30), [0.5, 0.9],
    ...                    ["random", "two choices"])
    >>> [round(p.p99, 2) for p in curve.points]
    [0.94, 1.91, 0.73, 1.19]
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labsupport.dc.balance import BALANCERS, Balancer, BalanceRun, Scenario, simulate

__all__ = ["LoadPoint", "LoadCurve", "load_curve", "servers_curve", "ServersPoint", "servers_plot",
           "share_plot", "timeline_plot", "POLICY_COLOURS"]

#: One colour per policy, the same in every picture.
POLICY_COLOURS = {"round robin": "#8e6bbf", "random": "#d64541", "least loaded": "#f2b134",
                  "two choices": "#2b6cb0"}
_OTHER = ("#2e9e4f", "#404040", "#4a7fc1", "#b0b0b0")


def _log_seconds(ax: Any) -> None:
    """A log latency axis with plain numbers (0.1, 0.2, 1, 2) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def _colour(name: str, i: int) -> str:
    return POLICY_COLOURS.get(name, _OTHER[i % len(_OTHER)])


@dataclass(frozen=True)
class LoadPoint:
    """One policy at one load: p50, p99 (seconds) and error rate."""

    policy: str
    load: float
    p50: float
    p99: float
    error_rate: float


@dataclass(frozen=True)
class LoadCurve:
    """Latency against load for several policies on the same traffic.

    Attributes:
        scenario: the scenario (its ``load`` is replaced by each load).
        points: one :class:`LoadPoint` per policy and load.
    """

    scenario: Scenario
    points: tuple[LoadPoint, ...]

    def policies(self) -> list[str]:
        """The policies, in the order they were run."""
        return list(dict.fromkeys(p.policy for p in self.points))

    def of(self, policy: str) -> list[LoadPoint]:
        """The points of one policy, by load."""
        return sorted((p for p in self.points if p.policy == policy), key=lambda p: p.load)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(p.policy)}</td><td>{p.load:.0%}</td>"
                       f"<td>{p.p50:.3f}</td><td>{p.p99:.3f}</td><td>{p.error_rate:.1%}</td></tr>"
                       for p in self.points)
        return ("<table><thead><tr><th>policy</th><th>load</th><th>p50 (s)</th>"
                f"<th>p99 (s)</th><th>errors</th></tr></thead><tbody>{rows}</tbody></table>")

    def plot(self, *, target: float | None = None, title: str | None = None) -> Any:
        """p99 (solid) and p50 (dashed) against load, one colour per policy, log latency axis.

        Args:
            target: draw a p99 target line at this many seconds.
            title: the picture's title.
        """
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe, style_axes, target_line

        fig = new_figure(8.5, 4.4)
        ax = fig.add_subplot()
        for i, name in enumerate(self.policies()):
            pts = self.of(name)
            loads = [100 * p.load for p in pts]
            colour = _colour(name, i)
            ax.plot(loads, [p.p99 for p in pts], "-o", color=colour, linewidth=2, markersize=4,
                    label=f"{name} p99")
            ax.plot(loads, [p.p50 for p in pts], "--", color=colour, linewidth=1.3,
                    label=f"{name} p50")
        ax.axhline(self.scenario.timeout, color="#404040", linestyle=":", linewidth=1)
        ax.annotate(f"client timeout {self.scenario.timeout:g} s", (0.01, self.scenario.timeout),
                    xycoords=("axes fraction", "data"), xytext=(2, -11),
                    textcoords="offset points", fontsize=FONT["small"], color="#404040")
        _log_seconds(ax)
        if target is not None:
            target_line(ax, target, f"p99 target {target:g} s")
        view = ("live queue lengths" if not self.scenario.refresh else
                f"queue lengths reported every {self.scenario.refresh:g} s")
        style_axes(ax, xlabel="load (% of the servers' capacity)",
                   ylabel="latency (s, log scale)",
                   title=title or f"{self.scenario.servers} servers, lead sees {view}")
        ax.legend(fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False)
        top = max(self.points, key=lambda p: p.load).load
        worst = {n: self.of(n)[-1].p99 for n in self.policies()}
        alt = (f"p50 and p99 latency against load from {min(p.load for p in self.points):.0%} "
               f"to {top:.0%} for {', '.join(self.policies())}, log latency axis; at "
               f"{top:.0%} the p99 is " + ", ".join(f"{n} {v:.2f} s" for n, v in worst.items()))
        return describe(fig, alt + ".")


def load_curve(scenario: Scenario, loads: Iterable[float],
               policies: Sequence[str] | Mapping[str, Balancer] = tuple(BALANCERS)) -> LoadCurve:
    """Run each policy at each load (same seed, so the same traffic shape).

    Args:
        scenario: servers, work, duration, view... (``load`` is replaced).
        loads: the loads, e.g. ``[0.5, 0.7, 0.9]``.
        policies: names of :data:`~labsupport.dc.balance.BALANCERS`, or a
            dict of name to policy function.
    """
    named = (dict(policies) if isinstance(policies, Mapping)
             else {name: BALANCERS[name] if name in BALANCERS else name for name in policies})
    points = []
    for name, policy in named.items():
        for load in loads:
            run = simulate(scenario.but(load=load), policy)
            points.append(LoadPoint(name, load, run.p50, run.p99, run.error_rate))
    return LoadCurve(scenario, tuple(points))


@dataclass(frozen=True)
class ServersPoint:
    """A fixed request rate served by ``servers`` servers."""

    servers: int
    offered: float
    served: float
    p99: float
    error_rate: float


def servers_curve(rate: float, counts: Iterable[int], *, work: float = 0.1,
                  policy: str | Balancer = "two choices", duration: float = 60.0,
                  seed: int = 0, timeout: float = 2.0) -> list[ServersPoint]:
    """Serve ``rate`` requests per second with 1, 2, 4... servers: throughput and p99.

    Example:
        >>> [(p.servers, round(p.served)) for p in servers_curve(30, [1, 4], duration=30)]
        [(1, 7), (4, 29)]
    """
    out = []
    for n in counts:
        scenario = Scenario(servers=n, load=rate * work / n, work=work, duration=duration,
                            seed=seed, timeout=timeout)
        run = simulate(scenario, policy)
        ok = run.requests - run.errors
        out.append(ServersPoint(n, run.requests / duration, ok / duration, run.p99,
                                run.error_rate))
    return out


def servers_plot(points: Sequence[ServersPoint]) -> Any:
    """Requests answered per second (left) and p99 (right) against the number of servers."""
    from labsupport.viz.figures import new_figure
    from labsupport.viz.style import FONT, describe, style_axes

    fig = new_figure(8.5, 3.6)
    left, right = fig.subplots(1, 2)
    xs = [p.servers for p in points]
    left.plot(xs, [p.served for p in points], "-o", color="#2b6cb0", linewidth=2,
              label="answered in time")
    left.axhline(points[0].offered, color="#404040", linestyle=":", linewidth=1.2,
                 label="requests arriving")
    style_axes(left, xlabel="servers", ylabel="requests per second",
               title="throughput")
    left.legend(fontsize=FONT["legend"], loc="lower right")
    right.plot(xs, [p.p99 for p in points], "-o", color="#c0392b", linewidth=2)
    _log_seconds(right)
    style_axes(right, xlabel="servers", ylabel="p99 latency (s, log scale)",
               title="slowest 1% of answers")
    for ax in (left, right):
        ax.set_xticks(xs)
    alt = ("Throughput and p99 latency against the number of servers for "
           f"{points[0].offered:.0f} requests per second: " + ", ".join(
               f"{p.servers} servers answer {p.served:.0f}/s with p99 {p.p99:.2f} s"
               for p in points))
    return describe(fig, alt + ".")


def share_plot(runs: Mapping[str, BalanceRun]) -> Any:
    """How busy each server was, per policy, on servers of different speeds.

    A bar per server and policy: the share of time the server was serving;
    above 100% of what it can take, its queue only grows.
    """
    from labsupport.viz.figures import new_figure
    from labsupport.viz.style import FONT, describe, style_axes

    first = next(iter(runs.values()))
    speeds = first.scenario.speed_list
    n = len(speeds)
    fig = new_figure(8.5, 3.8)
    ax = fig.add_subplot()
    width = 0.8 / len(runs)
    notes = []
    for k, (name, run) in enumerate(runs.items()):
        # offered work / capacity: the share of its time the server would need
        need = [0.0] * n
        for s, w in zip(run.servers, _works(run), strict=True):
            need[s] += w / speeds[s]
        busy = [100 * x / run.scenario.duration for x in need]
        xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(n)]
        ax.bar(xs, busy, width=width, color=_colour(name, k), label=name)
        notes.append(f"{name}: busiest {max(busy):.0f}%")
    ax.axhline(100, color="#c0392b", linestyle="--", linewidth=1.2)
    ax.annotate("all it can serve", (0.0, 100), xycoords=("axes fraction", "data"),
                xytext=(4, 3), textcoords="offset points", ha="left",
                fontsize=FONT["small"], color="#c0392b")
    ax.set_xticks(range(n), [f"server-{i + 1}\nspeed {s:g}" for i, s in enumerate(speeds)],
                  fontsize=FONT["small"])
    style_axes(ax, ylabel="work sent (% of its time)", title="work sent to each server")
    ax.tick_params(axis="x", labelsize=FONT["small"])
    ax.legend(fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False)
    return describe(fig, f"Work sent to each of {n} servers with speeds "
                         f"{', '.join(f'{s:g}' for s in speeds)}, as a share of the server's "
                         f"time, per policy; {'; '.join(notes)}.")


def _works(run: BalanceRun) -> list[float]:
    from labsupport.dc.balance import _traffic

    return _traffic(run.scenario)[1]


def timeline_plot(runs: Mapping[str, BalanceRun], *, bin_seconds: float = 2.0) -> Any:
    """p99 latency and errors over time, per run, with the scenario's spike marked."""
    from labsupport.viz.figures import new_figure
    from labsupport.viz.style import FONT, describe, mark_moments, style_axes

    first = next(iter(runs.values()))
    sc = first.scenario
    fig = new_figure(8.5, 4.2)
    ax = fig.add_subplot()
    bins = int(math.ceil(sc.duration / bin_seconds))
    notes = []
    for k, (name, run) in enumerate(runs.items()):
        xs, ys = [], []
        for b in range(bins):
            lo = b * bin_seconds
            w = run.window(lo, lo + bin_seconds)
            if w["requests"]:
                xs.append(lo + bin_seconds / 2)
                ys.append(w["p99"] if w["error_rate"] < 1 else sc.timeout)
        ax.plot(xs, ys, "-", color=_OTHER[k % len(_OTHER)] if name not in POLICY_COLOURS
                else POLICY_COLOURS[name], linewidth=1.8, label=name)
        notes.append(f"{name}: worst p99 {max(ys):.2f} s, {run.error_rate:.1%} errors")
    _log_seconds(ax)
    ax.axhline(sc.timeout, color="#404040", linestyle=":", linewidth=1)
    ax.set_xlim(0, sc.duration)
    style_axes(ax, xlabel="time (s)", ylabel=f"p99 of each {bin_seconds:g} s (s, log)")
    marks = {}
    if sc.spike:
        ax.axvspan(sc.spike[0], sc.spike[1], color="#f2b134", alpha=0.2, linewidth=0)
        marks = {f"spike: {sc.spike[2] / sc.load:g} x the traffic": sc.spike[0],
                 "spike ends": sc.spike[1]}
    ax.set_title("latency through the day", fontsize=FONT["title"], pad=20 if marks else 6)
    mark_moments(ax, marks)
    ax.legend(fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False)
    return describe(fig, "p99 latency over time in bins of "
                         f"{bin_seconds:g} s" + (f", spike from {sc.spike[0]:g} to "
                                                 f"{sc.spike[1]:g} s" if sc.spike else "")
                    + "; " + "; ".join(notes) + ".")
