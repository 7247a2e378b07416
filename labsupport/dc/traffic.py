"""Who talks to whom: the messages of a run counted, weighed and drawn.

Everything the lead node knows about its workers, and everything they know
about the job, travels in messages. :func:`traffic` sums up a run's message
log (:attr:`~labsupport.dc.run.JobRun.messages`): how many messages and bytes
of each kind (``task``, ``result``, ``heartbeat``...) and on each link
(``lead -> worker-2``). :meth:`Traffic.graph` gives the same as a
``networkx`` graph, :meth:`Traffic.plot` draws it with lines as wide as the
bytes they carry, and :func:`timeline` draws the messages of a time window as
arrows between one lane per node.

Example:
    >>> from labsupport.dc import Job, run_job
    >>> run = run_job(Job(work=100, parallel_fraction=0.9, tasks=6), workers=2,
    ...               heartbeat=1.0, log_heartbeats=True)
    >>> t = traffic(run)
    >>> t.count["task"], t.count["result"], t.bytes["task"]
    (6, 6, 384000)
    >>> sorted(t.graph().edges)[:2]
    [('lead', 'worker-1'), ('lead', 'worker-2')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from labsupport.dc.network import Message
from labsupport.errors import Invalid

__all__ = ["Traffic", "traffic", "timeline", "KIND_COLOURS"]

#: One colour per message kind, in every picture.
KIND_COLOURS = {"task": "#2b6cb0", "result": "#2f855a", "heartbeat": "#a0aec0",
                "steal": "#c05621", "return": "#9c4221"}


def _messages(source: Any) -> list[Message]:
    messages = getattr(source, "messages", source)
    if not isinstance(messages, Iterable):
        raise Invalid(f"traffic needs a run (run_job's result) or its messages, got {source!r}")
    out = list(messages)
    if not all(isinstance(m, Message) for m in out):
        raise Invalid("traffic needs Message records, like run.messages")
    return out


def _node_order(names: Iterable[str]) -> list[str]:
    from labsupport.viz.style import natural_key

    names = set(names)
    lead = [n for n in names if n == "lead"]
    return lead + sorted(names - set(lead), key=natural_key)


@dataclass(frozen=True)
class Traffic:
    """Messages and bytes of one run, by kind and by link.

    Attributes:
        count: messages of each kind.
        bytes: bytes of each kind.
        links: ``{(src, dst): {"messages": n, "bytes": b}}``.
        nodes: every node that sent or received, the lead first.
        duration: seconds from the first message sent to the last one delivered.
    """

    count: dict[str, int]
    bytes: dict[str, int]
    links: dict[tuple[str, str], dict[str, int]]
    nodes: tuple[str, ...]
    duration: float

    @property
    def total_messages(self) -> int:
        """All messages, every kind."""
        return sum(self.count.values())

    @property
    def total_bytes(self) -> int:
        """All bytes, every kind."""
        return sum(self.bytes.values())

    def graph(self) -> Any:
        """A ``networkx.DiGraph``: one node per machine, one edge per link that carried anything.

        Each edge has ``messages`` and ``bytes``; each node has ``role``
        (``"lead"`` or ``"worker"``).
        """
        import networkx as nx

        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n, role="lead" if n == "lead" else "worker")
        for (src, dst), row in self.links.items():
            g.add_edge(src, dst, **row)
        return g

    def table(self) -> str:
        """Messages and bytes per kind as text."""
        lines = [f"{'kind':<10} {'messages':>9} {'bytes':>12}"]
        for kind in self.count:
            lines.append(f"{kind:<10} {self.count[kind]:>9,} {self.bytes[kind]:>12,}")
        lines.append(f"{'total':<10} {self.total_messages:>9,} {self.total_bytes:>12,}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in self.count.items())
        return (f"<Traffic {self.total_messages} messages ({kinds}), "
                f"{self.total_bytes:,} bytes between {len(self.nodes)} nodes>")

    def plot(self) -> Any:
        """Draw who talks to whom: the lead in the middle, lines as wide as their bytes.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from matplotlib.patches import FancyArrowPatch

        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe

        g = self.graph()
        workers = [n for n in self.nodes if n != "lead"]
        import math

        pos = {"lead": (0.0, 0.0)}
        for i, w in enumerate(workers):
            angle = math.pi / 2 - 2 * math.pi * i / max(1, len(workers))
            pos[w] = (math.cos(angle), math.sin(angle))
        fig = new_figure(6.5, 5.0)
        ax = fig.add_subplot()
        biggest = max((d["bytes"] for _s, _d, d in g.edges(data=True)), default=1) or 1
        for src, dst, data in g.edges(data=True):
            width = 0.8 + 7.0 * data["bytes"] / biggest
            down = src == "lead"
            colour = KIND_COLOURS["task"] if down else KIND_COLOURS["result"]
            arrow = FancyArrowPatch(pos[src], pos[dst], arrowstyle="-|>", mutation_scale=12,
                                    linewidth=width, color=colour, alpha=0.75,
                                    connectionstyle="arc3,rad=0.12",
                                    shrinkA=30, shrinkB=30)
            ax.add_patch(arrow)
        for n, (x, y) in pos.items():
            lead = n == "lead"
            ax.scatter([x], [y], s=2000 if lead else 2300, color="#1a202c" if lead else "#edf2f7",
                       edgecolor="#1a202c", zorder=3)
            ax.annotate(n.replace("-", "\n", 1) if not lead else n, (x, y), ha="center",
                        va="center", fontsize=FONT["small"],
                        color="white" if lead else "#1a202c", zorder=4)
        down = sum(d["bytes"] for s, _d, d in g.edges(data=True) if s == "lead")
        up = sum(d["bytes"] for s, _d, d in g.edges(data=True) if s != "lead")
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=KIND_COLOURS["task"], lw=4,
                          label=f"lead to worker: {down / 1e6:.2f} MB"),
                   Line2D([], [], color=KIND_COLOURS["result"], lw=4,
                          label=f"worker to lead: {up / 1e6:.2f} MB")]
        ax.legend(handles=handles, fontsize=FONT["legend"], loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.set_xlim(-1.35, 1.35)
        ax.set_ylim(-1.3, 1.3)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"Who talks to whom: {self.total_messages:,} messages, "
                     f"{self.total_bytes / 1e6:.2f} MB", fontsize=FONT["title"])
        alt = (f"A star: the lead node in the middle, {len(workers)} workers around it; "
               f"every line joins the lead and a worker, none joins two workers. Lines are as "
               f"wide as the bytes they carry: {down / 1e6:.2f} MB from the lead, "
               f"{up / 1e6:.2f} MB back. " + "; ".join(
                   f"{k}: {n} messages, {self.bytes[k]:,} bytes" for k, n in self.count.items()))
        return describe(fig, alt + ".")


def traffic(source: Any) -> Traffic:
    """Count the messages and bytes of a run (or of a list of messages).

    Lost messages (never delivered) count too: they were sent.

    Example:
        >>> from labsupport.dc.network import Message
        >>> traffic([Message(0, 0.1, "lead", "worker-1", "task", 0, 500)])
        <Traffic 1 messages (1 task), 500 bytes between 2 nodes>
    """
    messages = _messages(source)
    count: dict[str, int] = {}
    size: dict[str, int] = {}
    links: dict[tuple[str, str], dict[str, int]] = {}
    for m in messages:
        count[m.kind] = count.get(m.kind, 0) + 1
        size[m.kind] = size.get(m.kind, 0) + m.size
        row = links.setdefault((m.src, m.dst), {"messages": 0, "bytes": 0})
        row["messages"] += 1
        row["bytes"] += m.size
    nodes = _node_order({m.src for m in messages} | {m.dst for m in messages})
    ends = [m.delivered for m in messages if m.delivered is not None]
    start = min((m.sent for m in messages), default=0.0)
    return Traffic(count, size, links, tuple(nodes), (max(ends) - start) if ends else 0.0)


def timeline(source: Any, start: float, end: float, *, nodes: Sequence[str] | None = None,
             title: str | None = None) -> Any:
    """Draw the messages sent between ``start`` and ``end`` as arrows between node lanes.

    Each node has a horizontal lane, the lead at the top; a message is an
    arrow from its sender's lane at the time it left to its receiver's lane
    at the time it arrived, coloured by kind. A slanted arrow is a slow one.

    Args:
        source: a run or its messages (keep heartbeats with ``log_heartbeats=True``).
        start: first second shown.
        end: last second shown.
        nodes: the lanes, in order (all nodes that talk by default).
        title: a title; one is made up by default.

    Returns:
        A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
    """
    from matplotlib.lines import Line2D

    from labsupport.viz.figures import new_figure
    from labsupport.viz.style import FONT, describe, style_axes

    if not end > start:
        raise Invalid(f"timeline needs end > start, got start={start!r}, end={end!r}")
    messages = [m for m in _messages(source) if start <= m.sent <= end]
    lanes = list(nodes) if nodes is not None else _node_order(
        {m.src for m in messages} | {m.dst for m in messages})
    row = {n: i for i, n in enumerate(lanes)}
    fig = new_figure(8.5, 0.55 * len(lanes) + 1.8)
    ax = fig.add_subplot()
    for i in range(len(lanes)):
        ax.axhline(i, color="#e2e8f0", linewidth=1.0, zorder=0)
    shown: dict[str, int] = {}
    lost = 0
    for m in messages:
        if m.src not in row or m.dst not in row:
            continue
        colour = KIND_COLOURS.get(m.kind, "#4a5568")
        shown[m.kind] = shown.get(m.kind, 0) + 1
        if m.delivered is None:
            lost += 1
            ax.plot([m.sent], [row[m.src]], "x", color=colour, markersize=6)
            continue
        ax.annotate("", xy=(min(m.delivered, end), row[m.dst]), xytext=(m.sent, row[m.src]),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 8})
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlim(start, end)
    total = sum(shown.values())
    style_axes(ax, xlabel="time (s)", title=title or (
        f"{total} messages between t = {start:g} s and {end:g} s"))
    handles = [Line2D([], [], color=KIND_COLOURS.get(k, "#4a5568"), lw=2, label=f"{k} ({n})")
               for k, n in shown.items()]
    if handles:
        ax.legend(handles=handles, fontsize=FONT["legend"], loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), frameon=False, title="kind",
                  title_fontsize=FONT["legend"])
    alt = (f"Message timeline from {start:g} s to {end:g} s, one lane per node ("
           + ", ".join(lanes) + "): " + ", ".join(f"{n} {k}" for k, n in shown.items())
           + " messages, each an arrow from sender to receiver"
           + (f"; {lost} lost" if lost else ""))
    return describe(fig, alt + ".")
