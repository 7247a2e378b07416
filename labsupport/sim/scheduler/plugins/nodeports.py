"""NodePorts: a ``hostPort`` can be bound by one pod per node (and host IP).

Upstream: pkg/scheduler/framework/plugins/nodeports/node_ports.go. PreFilter
collects the pod's host ports and returns Skip when it has none; Filter
rejects a node where one is taken (``HostPortInfo.CheckConflict``): 0.0.0.0
conflicts with the same protocol and port on any IP; a specific IP conflicts
with itself and with 0.0.0.0.

Example:
    >>> from labsupport.sim.scheduler.plugins.nodeports import NodePorts
    >>> from labsupport.sim.scheduler.views import PodView
    >>> NodePorts().pre_filter(PodView.of({"spec": {"containers": [{}]}})).code
    'Skip'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from labsupport.sim.scheduler.framework import (
    FILTER,
    PRE_FILTER,
    SKIP,
    UNSCHEDULABLE,
    Plugin,
    Status,
)
from labsupport.sim.scheduler.nodetable import NodeTable
from labsupport.sim.scheduler.views import NodeView, PodView

if TYPE_CHECKING:
    from labsupport.sim.scheduler.fastpath import FastCycle

__all__ = ["NodePorts", "NAME", "ERR_REASON", "port_conflicts"]

NAME = "NodePorts"
# node_ports.go: ErrReason.
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


def _conflict(ip: str, used: frozenset[str] | set[str]) -> bool:
    return ip == "0.0.0.0" or "0.0.0.0" in used or ip in used


def port_conflicts(table: NodeTable, ports: Sequence[tuple[str, str, int]]) -> np.ndarray:
    """Rows where a wanted ``(hostIP, protocol, hostPort)`` is taken."""
    hit = np.zeros(table.capacity, bool)
    for ip, protocol, port in ports:
        for slot, ips in table.ports.get((protocol, port), {}).items():
            if _conflict(ip, ips.keys()):
                hit[slot] = True
    return hit


class NodePorts(Plugin):
    """PreFilter and Filter on the pod's ``hostPort`` s."""

    name = NAME
    extension_points = (PRE_FILTER, FILTER)
    reasons = (ERR_REASON,)
    filter_code = UNSCHEDULABLE  # preemption may free the port
    upstream = "pkg/scheduler/framework/plugins/nodeports"

    def pre_filter(self, pod: PodView) -> Status:
        """Skip pods without host ports (their Filter is not run)."""
        return Status.success() if pod.profile.host_ports else Status(SKIP, plugin=self.name)

    def filter(self, pod: PodView, node: NodeView) -> Status:
        """Reject a node where one of the pod's host ports is in use."""
        for ip, protocol, port in pod.profile.host_ports:
            used = node.host_ports.get((protocol, port))
            if used and _conflict(ip, used):
                return Status(self.filter_code, self.reasons, self.name)
        return Status.success()

    def _hit(self, cycle: FastCycle) -> np.ndarray | None:
        ports = cycle.prof.host_ports
        if not ports:
            return None
        hit = cycle.state.get(NAME)
        if hit is None:
            hit = cycle.state[NAME] = port_conflicts(cycle.table, ports)
        return hit

    def fast_filter(self, cycle: FastCycle, slots: np.ndarray,
                    at: slice | None) -> np.ndarray | None:
        """Rows where every wanted port is free (None: the pod has none)."""
        hit = self._hit(cycle)
        return None if hit is None else ~hit[slots]
