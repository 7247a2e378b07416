"""Cost efficiency: serve the same traffic with a few big machines or many small ones.

A fleet must carry the peak traffic with room to spare (servers kept below
``max_load`` busy, so latency stays low) and survive losing one machine
(``spares`` extra machines). :func:`fleet_costs` works out, for each
:class:`MachineType`, how many machines that takes and what they cost per
hour; :meth:`FleetTable.plot` draws it. Prices are parameters: put in your
cloud's price list.

Example:
    >>> table = fleet_costs(rate=600, work=0.1)
    >>> [(row.machine.name, row.count, round(row.price, 2)) for row in table.rows]
    [('small', 87, 8.7), ('medium', 23, 9.66), ('large', 7, 14.0), ('huge', 3, 36.0)]
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labsupport.errors import Invalid

__all__ = ["MachineType", "MACHINES", "FleetRow", "FleetTable", "fleet_costs"]


@dataclass(frozen=True)
class MachineType:
    """One kind of machine you can rent.

    Attributes:
        name: e.g. ``"small"``.
        speed: how much it serves compared with a small machine (1.0).
        price: what one costs per hour.
    """

    name: str
    speed: float
    price: float

    def __post_init__(self) -> None:
        if not self.speed > 0 or not self.price >= 0:
            raise Invalid(f"machine {self.name!r} needs a positive speed and a price of 0 or "
                          f"more, got speed {self.speed!r}, price {self.price!r}")


#: Made-up but typical prices: per unit of speed, the biggest machines cost the most.
MACHINES = (MachineType("small", 1, 0.10), MachineType("medium", 4, 0.42),
            MachineType("large", 16, 2.00), MachineType("huge", 64, 12.00))


@dataclass(frozen=True)
class FleetRow:
    """How many machines of one type carry the traffic, and what that costs.

    Attributes:
        machine: the machine type.
        count: machines, spares included.
        price: cost per hour of them all.
        busy: how busy each is at the peak, with every machine up.
        lost: the share of capacity gone when one machine fails.
    """

    machine: MachineType
    count: int
    price: float
    busy: float
    lost: float


@dataclass(frozen=True)
class FleetTable:
    """The fleets of :func:`fleet_costs`, cheapest type first in :attr:`rows` order given."""

    rate: float
    work: float
    rows: tuple[FleetRow, ...]

    def cheapest(self) -> FleetRow:
        """The row that costs least per hour."""
        return min(self.rows, key=lambda r: r.price)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(r.machine.name)}</td><td>{r.machine.speed:g}</td>"
            f"<td>{r.machine.price:.2f}</td><td>{r.count}</td><td>{r.price:.2f}</td>"
            f"<td>{r.busy:.0%}</td><td>{r.lost:.0%}</td></tr>" for r in self.rows)
        return ("<table><thead><tr><th>machine</th><th>speed</th><th>price/h</th>"
                "<th>machines</th><th>fleet price/h</th><th>busy at peak</th>"
                f"<th>capacity lost with one down</th></tr></thead><tbody>{body}</tbody></table>")

    def plot(self) -> Any:
        """Fleet price per hour (bars) and capacity lost when one machine fails (dots)."""
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe, style_axes

        fig = new_figure(8.5, 3.6)
        left, right = fig.subplots(1, 2)
        names = [f"{r.count} x {r.machine.name}" for r in self.rows]
        left.bar(names, [r.price for r in self.rows], color="#2b6cb0")
        for i, r in enumerate(self.rows):
            left.annotate(f"{r.price:.2f}", (i, r.price), xytext=(0, 2),
                          textcoords="offset points", ha="center", fontsize=FONT["small"])
        left.set_ylim(0, 1.15 * max(r.price for r in self.rows))
        style_axes(left, ylabel="price per hour", title="what the fleet costs")
        right.bar(names, [100 * r.lost for r in self.rows], color="#c0392b")
        style_axes(right, ylabel="% of capacity", title="lost when one machine fails")
        for ax in (left, right):
            ax.tick_params(axis="x", labelsize=FONT["small"])
        alt = (f"Fleets that serve {self.rate:g} requests per second: " + "; ".join(
            f"{r.count} {r.machine.name} machines cost {r.price:.2f} per hour and lose "
            f"{r.lost:.0%} of capacity when one fails" for r in self.rows))
        return describe(fig, alt + ".")


def fleet_costs(rate: float, work: float, machines: Sequence[MachineType] = MACHINES, *,
                max_load: float = 0.7, spares: int = 1) -> FleetTable:
    """For each machine type: machines needed for ``rate`` requests/s, and their price.

    Args:
        rate: peak requests per second.
        work: seconds one request takes on a small machine (speed 1).
        machines: the machine types to compare.
        max_load: keep each machine at most this busy at the peak.
        spares: machines on top, so that one can fail.
    """
    if not rate > 0 or not work > 0 or not 0 < max_load <= 1 or spares < 0:
        raise Invalid("fleet_costs needs a positive rate and work, 0 < max_load <= 1 and "
                      f"spares >= 0, got rate={rate!r}, work={work!r}, max_load={max_load!r}, "
                      f"spares={spares!r}")
    need = rate * work                    # small-machine units of work per second
    rows = []
    for m in machines:
        count = math.ceil(need / (m.speed * max_load) - 1e-9) + spares
        rows.append(FleetRow(m, count, count * m.price, need / (count * m.speed), 1 / count))
    return FleetTable(rate, work, tuple(rows))
