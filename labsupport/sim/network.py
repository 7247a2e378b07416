"""The simulated network: latency, jitter and loss between nodes, and partitions.

Every request travels over links: from the client's host to the node whose
kube-proxy picks a pod, and from there to the pod's node. A link has a
one-way latency, a jitter (the standard deviation of the extra delay, as
``tc netem`` uses it) and a loss probability. A lost packet is sent again
after TCP's retransmission timeout (1 s, doubling, RFC 6298); a request whose
packet is lost three times in a row fails.

A partition splits the hosts into groups that cannot reach each other. The
control plane (API server, controllers) sits with one group; a node cut off
from it behaves like a failed node for the control plane (its kubelet cannot
renew its Lease, so after the grace period the node turns Unknown and its
pods NotReady), while its pods keep serving clients on their own side.
:meth:`Network.heal` joins the groups again.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> c.network.set("node-1", "node-2", latency=0.01, loss=0.02)
    >>> c.network.link("node-2", "node-1")
    Link(latency=0.01, jitter=0.0, loss=0.02)
    >>> c.partition(["node-1"], ["node-2", "node-3"])
    >>> c.network.reachable("node-1", "node-2"), c.network.reachable("control-plane", "node-3")
    (False, True)
    >>> c.network.cut_off
    ['node-1']
    >>> c.heal()
    >>> c.network.reachable("node-1", "node-2")
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsupport.errors import Invalid

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["Network", "Link", "CONTROL_PLANE"]

#: The host of the API server and controllers (and of clients that name no node).
CONTROL_PLANE = "control-plane"
# One-way delays: pod to pod on one node (a veth pair and a bridge), and between
# two nodes of one data centre. The simulator's choices.
LOCAL_LATENCY = 0.00005
NODE_LATENCY = 0.0005
# RFC 6298: initial retransmission timeout 1 s, doubled after each loss.
RETRANSMISSION_TIMEOUT = 1.0
MAX_TRANSMISSIONS = 3


@dataclass(frozen=True)
class Link:
    """One link (both directions): one-way latency and jitter in seconds, loss from 0 to 1."""

    latency: float
    jitter: float = 0.0
    loss: float = 0.0

    def then(self, other: Link) -> Link:
        """The path over this link and then ``other``.

        Example:
            >>> Link(0.001, 0.0003, 0.1).then(Link(0.002, 0.0004, 0.1))
            Link(latency=0.003, jitter=0.0005, loss=0.19)
        """
        return Link(round(self.latency + other.latency, 12),
                    round(math.hypot(self.jitter, other.jitter), 12),
                    round(1 - (1 - self.loss) * (1 - other.loss), 12))


class Network:
    """Links between the hosts of a simulated cluster, and partitions.

    Use it through the cluster: ``c.network``, ``c.partition(...)``, ``c.heal()``.
    """

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.local = Link(LOCAL_LATENCY)
        self.remote = Link(NODE_LATENCY)
        self._links: dict[frozenset[str], Link] = {}
        self._side: dict[str, int] = {}
        self._control_side = 0
        self._cut_off: set[str] = set()
        #: Nodes failed with ``fail_node``: they answer nothing until restored.
        self.down: set[str] = set()
        #: Bumped at every change, so users of the network can cache.
        self.version = 0

    # --- links ----------------------------------------------------------------
    def set(self, a: str | None = None, b: str | None = None, *, latency: float | None = None,
            jitter: float | None = None, loss: float | None = None) -> None:
        """Change links: between ``a`` and ``b``, or every link between two hosts.

        Args:
            a: a host (a node name or ``"control-plane"``); None for every link
                between two different hosts.
            b: the other host; ``a`` itself for traffic inside one node.
            latency: one-way delay in seconds.
            jitter: standard deviation of the delay, in seconds.
            loss: chance that a packet is lost, from 0 to 1.

        Raises:
            Invalid: an unknown host, or a value out of range.
        """
        values = {"latency": latency, "jitter": jitter, "loss": loss}
        for name, v in values.items():
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)
                                  or not v >= 0 or (name == "loss" and v > 1)):
                allowed = "a number from 0 to 1" if name == "loss" else "seconds, zero or more"
                raise Invalid(f"{name} must be {allowed}; got {v!r}")
        changes = {k: float(v) for k, v in values.items() if v is not None}
        if a is None and b is None:
            self.remote = Link(**{**self.remote.__dict__, **changes})
            self._links = {k: Link(**{**v.__dict__, **changes}) for k, v in self._links.items()}
        else:
            if a is None or b is None:
                raise Invalid("name both ends of the link, or neither for every link: "
                              'network.set("node-1", "node-2", latency=0.01)')
            self._check_host(a)
            self._check_host(b)
            self._links[frozenset((a, b))] = Link(**{**self.link(a, b).__dict__, **changes})
        self.version += 1

    def link(self, a: str, b: str) -> Link:
        """The link between hosts ``a`` and ``b`` (the same one both ways)."""
        found = self._links.get(frozenset((a, b)))
        if found is not None:
            return found
        return self.local if a == b else self.remote

    def path(self, *hosts: str) -> Link:
        """The link over several hops, e.g. client -> entry node -> pod's node."""
        if len(hosts) == 1:
            return self.link(hosts[0], hosts[0])
        out = self.link(hosts[0], hosts[1])
        for a, b in zip(hosts[1:], hosts[2:], strict=False):
            out = out.then(self.link(a, b))
        return out

    # --- partitions -------------------------------------------------------------
    @property
    def partitioned(self) -> bool:
        """Whether a partition is in place."""
        return bool(self._side)

    @property
    def cut_off(self) -> list[str]:
        """Nodes that cannot reach the control plane."""
        return sorted(self._cut_off)

    def groups(self) -> list[list[str]]:
        """The groups of hosts that reach each other (one group when healed)."""
        hosts = [CONTROL_PLANE, *self.sim.kubelets]
        if not self._side:
            return [hosts]
        out: dict[int, list[str]] = {}
        for h in hosts:
            out.setdefault(self._side.get(h, self._control_side), []).append(h)
        return [out[k] for k in sorted(out)]

    def reachable(self, a: str, b: str) -> bool:
        """Whether host ``a`` can reach host ``b`` now (failed nodes reach nothing)."""
        if a in self.down or b in self.down:
            return False
        if not self._side:
            return True
        side = self._side
        return side.get(a, self._control_side) == side.get(b, self._control_side)

    def partition(self, *groups: Iterable[str]) -> None:
        """Split the hosts into groups that cannot reach each other.

        The control plane stays with the group that names ``"control-plane"``,
        else with the largest group (the first of equals); hosts named in no
        group join the control plane's group. One group alone is cut off from
        all the other hosts.

        Raises:
            Invalid: an unknown node, or a node named twice.
        """
        sets = [list(g) if not isinstance(g, str) else [g] for g in groups]
        if not sets:
            raise Invalid('name the groups: partition(["node-1"], ["node-2", "node-3"])')
        seen: set[str] = set()
        for g in sets:
            for h in g:
                self._check_host(h)
                if h in seen:
                    raise Invalid(f'"{h}" is in two groups; each host belongs to one side')
                seen.add(h)
        if len(sets) == 1 and CONTROL_PLANE not in sets[0]:
            sets.append([CONTROL_PLANE, *(n for n in self.sim.kubelets if n not in sets[0])])
        named = [i for i, g in enumerate(sets) if CONTROL_PLANE in g]
        if named:
            control = named[0]
        else:
            control = max(range(len(sets)), key=lambda i: (len(sets[i]), -i))
        side = {h: i for i, g in enumerate(sets) for h in g}
        side.setdefault(CONTROL_PLANE, control)
        self._side = side
        self._control_side = control
        self._update_cut_off({n for n in self.sim.kubelets if side.get(n, control) != control})

    def heal(self) -> None:
        """End the partition: every host reaches every other again."""
        self._side = {}
        self._update_cut_off(set())

    def node_failed(self, node: str) -> None:
        """``fail_node`` happened: the node answers nothing."""
        self.down.add(node)
        self.version += 1

    def node_restored(self, node: str) -> bool:
        """``restore_node`` happened; returns False while a partition keeps it cut off."""
        self.down.discard(node)
        self.version += 1
        return node not in self._cut_off

    def _update_cut_off(self, new: set[str]) -> None:
        sim = self.sim
        for node in sorted(self._cut_off - new):
            kubelet = sim.kubelets.get(node)
            if kubelet is not None and not kubelet.alive and node not in self.down:
                kubelet.restore()
                sim.node_lifecycle.node_back(node)
        for node in sorted(new - self._cut_off):
            kubelet = sim.kubelets.get(node)
            if kubelet is not None and kubelet.alive:
                kubelet.fail()
                sim.node_lifecycle.node_silent(node)
        self._cut_off = new
        self.version += 1

    def _check_host(self, host: str) -> None:
        if host != CONTROL_PLANE and host not in self.sim.kubelets:
            known = ", ".join([CONTROL_PLANE, *self.sim.kubelets])
            raise Invalid(f'no host named "{host}"; the hosts are: {known}')

    def __repr__(self) -> str:
        groups = " | ".join(",".join(g) for g in self.groups())
        return (f"<Network latency={self.remote.latency:g}s jitter={self.remote.jitter:g}s "
                f"loss={self.remote.loss:g} groups={groups}>")
