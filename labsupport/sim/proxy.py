"""kube-proxy: a Service's virtual IP (or NodePort) leads to one of its ready pods.

kube-proxy on every node watches Services and the EndpointSlices the
EndpointSlice controller writes (not the v1 Endpoints, which it stopped
reading in 1.19), and programs the node's kernel so that a connection to a
Service's ClusterIP, or to a NodePort on any node, goes to one of the
endpoints whose ``conditions.ready`` is true; when none is, to those still
``serving`` while ``terminating`` (KEP-1669, pkg/proxy/topology.go
``CategorizeEndpoints``). How it picks depends on its mode (docs
reference/networking/virtual-ips):

==============  =====================================================
mode            choice of endpoint
==============  =====================================================
``iptables``    at random (``-m statistic --mode random``)
``nftables``    at random (``numgen random``)
``ipvs``        round robin (IPVS scheduler ``rr``, kube-proxy's default)
``ipvs-rr``     the same
``ipvs-lc``     least connection: fewest active connections, then
                fewest recently closed (IPVS ``lc``)
==============  =====================================================

``sessionAffinity: ClientIP`` sends a client's connections to the pod it
reached last, until it is idle for ``timeoutSeconds`` (10800 s by default).
Each node's kube-proxy keeps its own round-robin position, connection counts
and affinity table. A node cut off from the API server by a partition keeps
the rules it had, however stale.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0, proxy_mode="ipvs")
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    ...              "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    >>> c.proxy.mode, c.proxy.scheduler
    ('ipvs', 'rr')
    >>> c.proxy.service("default", "web").endpoints
    ()
"""

from __future__ import annotations

import base64
import hashlib
import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid, ObjectNotFound

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["KubeProxy", "ServiceView", "Endpoint", "MODES", "AFFINITY_TIMEOUT"]

#: Proxy modes and the scheduler each uses.
MODES = {"iptables": "random", "nftables": "random", "ipvs": "rr", "ipvs-rr": "rr",
         "ipvs-lc": "lc"}
# core/v1 defaults: sessionAffinityConfig.clientIP.timeoutSeconds 10800.
AFFINITY_TIMEOUT = 10800.0
# IPVS keeps a closed TCP connection as "inactive" for its FIN timeout (120 s,
# ipvsadm --set tcpfin); the lc scheduler weighs active ones 256 times more.
IPVS_FIN_TIMEOUT = 120.0
IPVS_ACTIVE_WEIGHT = 256


@dataclass(frozen=True)
class Endpoint:
    """One ready address of a Service."""

    ip: str
    node: str
    pod: str
    namespace: str
    port: int | None


@dataclass(frozen=True)
class ServiceView:
    """What kube-proxy knows of one Service: its addresses and its ready endpoints."""

    namespace: str
    name: str
    cluster_ip: str | None
    ports: tuple[dict, ...]
    endpoints: tuple[Endpoint, ...]
    affinity_timeout: float | None = None
    version: tuple = field(default=(), compare=False)

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


class _LeastConn:
    """IPVS lc on one node for one Service: connection counts by endpoint IP.

    The cost of an endpoint is 256 x active connections + inactive ones
    (closed in the last 120 s), as ``ip_vs_dest_conn_overhead`` computes it.
    """

    def __init__(self) -> None:
        self.cost: dict[str, int] = defaultdict(int)
        self._closing: list[tuple[float, str]] = []
        self._forgetting: list[tuple[float, str]] = []

    def advance(self, t: float) -> None:
        closing, forgetting, cost = self._closing, self._forgetting, self.cost
        while closing and closing[0][0] <= t:
            done, ip = heapq.heappop(closing)
            cost[ip] -= IPVS_ACTIVE_WEIGHT - 1  # active -> inactive
            heapq.heappush(forgetting, (done + IPVS_FIN_TIMEOUT, ip))
        while forgetting and forgetting[0][0] <= t:
            cost[heapq.heappop(forgetting)[1]] -= 1

    def pick(self, t: float, ips: list[str]) -> int:
        """The index in ``ips`` of the endpoint with the least overhead at time ``t``."""
        self.advance(t)
        return ips.index(min(ips, key=self.cost.__getitem__))

    def opened(self, ip: str) -> None:
        """A connection to ``ip`` was made."""
        self.cost[ip] += IPVS_ACTIVE_WEIGHT

    def closes(self, ip: str, when: float) -> None:
        """The connection to ``ip`` ends at ``when`` (known once the pod served it)."""
        heapq.heappush(self._closing, (when, ip))


class KubeProxy:
    """The kube-proxies of a simulated cluster (one state per node).

    Args:
        sim: the cluster.
        mode: one of :data:`MODES`.
    """

    def __init__(self, sim: SimCluster, mode: str = "iptables") -> None:
        self.sim = sim
        self._mode = "iptables"
        self.mode = mode
        self._views: dict[tuple[str, str], ServiceView] = {}
        self._frozen: dict[str, dict[tuple[str, str], ServiceView]] = {}
        self._rr: dict[tuple[str, str], int] = {}
        self._lc: dict[tuple[str, str], _LeastConn] = {}
        self._affinity: dict[tuple[str, str], dict[int, tuple[str, float]]] = {}
        # kube-proxy's own EndpointSlice cache (pkg/proxy/endpointslicecache.go):
        # (namespace, service) -> slice key -> the slice, filled from the watch
        # events it receives, so what it knows never runs ahead of what it was told.
        self._slices: dict[tuple[str, str], dict[str, dict]] = {}
        for key, obj in sim.store.table("endpointslices").items():
            self.slice_changed(key, obj, deleted=False)

    def slice_changed(self, key: str, obj: dict, deleted: bool) -> tuple[str, str] | None:
        """An EndpointSlice was written or deleted; returns its Service (None: no Service).

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(seed=0)
            >>> c.proxy.slice_changed("/registry/endpointslices/default/x", {"metadata": {
            ...     "name": "x", "labels": {"kubernetes.io/service-name": "web"}}}, False)
            ('default', 'web')
        """
        meta = obj["metadata"]
        service = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if not service:
            return None
        owner = (meta.get("namespace", "default"), service)
        if deleted:
            self._slices.get(owner, {}).pop(key, None)
        else:
            self._slices.setdefault(owner, {})[key] = obj
        return owner

    @property
    def mode(self) -> str:
        """The proxy mode of every node (settable)."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise Invalid(f'unknown proxy mode "{value}"; choose one of: {", ".join(MODES)}')
        self._mode = value

    @property
    def scheduler(self) -> str:
        """``"random"``, ``"rr"`` or ``"lc"``."""
        return MODES[self._mode]

    # --- what kube-proxy knows ----------------------------------------------------
    def service(self, namespace: str, name: str, host: str | None = None) -> ServiceView:
        """The Service as kube-proxy on ``host`` sees it (ready endpoints only).

        Raises:
            ObjectNotFound: no such Service.
        """
        frozen = self._frozen.get(host) if host is not None else None
        if frozen is not None:
            view = frozen.get((namespace, name))
            if view is None:
                raise ObjectNotFound("service", name, namespace)
            return view
        view = self._views.get((namespace, name))
        if view is not None:
            return view
        store = self.sim.store
        svc = store.peek(f"/registry/services/specs/{namespace}/{name}")
        if svc is None:
            raise ObjectNotFound("service", name, namespace)
        slices = list(self._slices.get((namespace, name), {}).values())
        version = (svc["metadata"].get("resourceVersion"),
                   *(s["metadata"].get("resourceVersion") for s in slices))
        view = self._views[(namespace, name)] = _build_view(svc, slices, version)
        return view

    def cached(self, namespace: str, name: str, host: str | None = None) -> ServiceView | None:
        """The view :meth:`service` would return, if it has one already (else None)."""
        frozen = self._frozen.get(host) if host is not None else None
        if frozen is not None:
            return frozen.get((namespace, name))
        return self._views.get((namespace, name))

    def invalidate(self, namespace: str, name: str) -> None:
        """The Service or its Endpoints changed: read them again at the next connection.

        Until then kube-proxy keeps the rules it has, so requests sent before
        a change are routed as they were.
        """
        self._views.pop((namespace, name), None)

    def resolve(self, address: str) -> tuple[ServiceView, str | None]:
        """The Service behind ``"10.96.0.10[:80]"`` (a ClusterIP) or ``"node-2:30080"``.

        Returns:
            The Service, and the node whose NodePort was named (None for a ClusterIP).

        Raises:
            ObjectNotFound: nothing listens on that address.
        """
        host, _, port_text = address.partition(":")
        port = int(port_text) if port_text.isdigit() else None
        nodes = {k.host_ip: n for n, k in self.sim.kubelets.items()}
        entry = host if host in self.sim.kubelets else nodes.get(host)
        for _, svc in sorted(self.sim.store.table("services/specs").items()):
            spec = svc.get("spec") or {}
            meta = svc["metadata"]
            for p in spec.get("ports") or ():
                if entry is not None and port is not None and p.get("nodePort") == port:
                    return self.service(meta["namespace"], meta["name"]), entry
                if entry is None and spec.get("clusterIP") == host \
                        and port in (None, p.get("port")):
                    return self.service(meta["namespace"], meta["name"]), None
        raise ObjectNotFound("service listening on", address)

    def freeze(self, hosts: list[str]) -> None:
        """Hosts cut off from the API server keep the Services as they are now."""
        for host in hosts:
            if host in self._frozen:
                continue
            snapshot = {}
            for key in self.sim.store.table("services/specs"):
                ns, name = key.rsplit("/", 2)[-2:]
                snapshot[(ns, name)] = self.service(ns, name)
            self._frozen[host] = snapshot

    def thaw(self, hosts: list[str] | None = None) -> None:
        """Hosts reach the API server again and resync (None: all of them)."""
        for host in list(self._frozen) if hosts is None else hosts:
            self._frozen.pop(host, None)

    # --- choosing ------------------------------------------------------------------
    def choose(self, host: str, view: ServiceView, times: list[float], u: Any,
               clients: Any) -> Any:
        """Endpoint indices for connections from ``host`` at ``times`` (numpy array).

        Args:
            host: the node whose kube-proxy chooses.
            view: the Service, with at least one endpoint.
            times: send times, in order.
            u: uniform draws in [0, 1), one per connection (numpy array).
            clients: client numbers per connection (numpy int array), for affinity.

        Returns:
            An int array, or None when the choice depends on the connections
            still open (``ipvs-lc``): then call :meth:`least_connection`.
        """
        import numpy as np

        n = len(view.endpoints)
        scheduler = self.scheduler
        key = (host, view.key)
        if scheduler == "lc":
            return None
        if view.affinity_timeout is None:
            if scheduler == "random":
                return np.minimum((u * n).astype(np.int64), n - 1)
            start = self._rr.get(key, 0)
            self._rr[key] = start + len(times)
            return (start + np.arange(len(times), dtype=np.int64)) % n
        table = self._affinity.setdefault(key, {})
        index = {e.ip: i for i, e in enumerate(view.endpoints)}
        timeout = view.affinity_timeout
        out = np.empty(len(times), dtype=np.int64)
        rr = self._rr.get(key, 0)
        for k, (t, c, x) in enumerate(zip(times, clients.tolist(), u.tolist(), strict=True)):
            seen = table.get(c)
            i = index.get(seen[0]) if seen is not None and t - seen[1] <= timeout else None
            if i is None:
                if scheduler == "random":
                    i = min(int(x * n), n - 1)
                else:
                    i = rr % n
                    rr += 1
            table[c] = (view.endpoints[i].ip, t)
            out[k] = i
        self._rr[key] = rr
        return out

    def least_connection(self, host: str, view: ServiceView) -> _LeastConn:
        """The IPVS lc state of ``host`` for ``view`` (pick, then report the connection)."""
        return self._lc.setdefault((host, view.key), _LeastConn())

    def sticky(self, host: str, view: ServiceView, client: int, t: float) -> int | None:
        """The endpoint index ``client`` sticks to at ``t`` (session affinity), if any."""
        seen = self._affinity.get((host, view.key), {}).get(client)
        if seen is None or view.affinity_timeout is None or t - seen[1] > view.affinity_timeout:
            return None
        for i, e in enumerate(view.endpoints):
            if e.ip == seen[0]:
                return i
        return None

    def remember(self, host: str, view: ServiceView, client: int, ip: str, t: float) -> None:
        """Record where ``client`` went (for session affinity)."""
        self._affinity.setdefault((host, view.key), {})[client] = (ip, t)

    # --- showing ---------------------------------------------------------------------
    def rules(self, ref: str, namespace: str = "default", host: str | None = None) -> str:
        """The rules kube-proxy writes for a Service (``iptables-save``, ``ipvsadm -Ln``).

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(seed=0)
            >>> _ = c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            ...              "spec": {"clusterIP": "10.96.0.50", "selector": {"app": "web"},
            ...                       "ports": [{"port": 80}]}})
            >>> first, second = c.proxy.rules("service/web").splitlines()
            >>> first.split(" -m ")[0], first.split(" -j ")[1]
            ('-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp', 'KUBE-SVC-LOLE4ISW44XBNF3G')
            >>> second.split(" -m comment ")
            ['-A KUBE-SVC-LOLE4ISW44XBNF3G', '--comment "default/web has no endpoints" -j REJECT']
        """
        name = ref.split("/", 1)[1] if "/" in ref else ref
        view = self.service(namespace, name, host)
        lines: list[str] = []
        for p in view.ports:
            port_name = f"{view.key}:{p['name']}" if p.get("name") else view.key
            proto = str(p.get("protocol", "TCP")).lower()
            eps = list(view.endpoints)
            if self.scheduler in ("rr", "lc"):
                lines.append(f"{proto.upper()}  {view.cluster_ip}:{p['port']} {self.scheduler}"
                             + (f" persistent {int(view.affinity_timeout)}"
                                if view.affinity_timeout else ""))
                for e in eps:
                    lines.append(f"  -> {e.ip}:{e.port}".ljust(32) + "Masq    1")
                continue
            chain = "KUBE-SVC-" + _hash(port_name + proto)
            lines.append(f"-A KUBE-SERVICES -d {view.cluster_ip}/32 -p {proto} -m comment "
                         f'--comment "{port_name} cluster IP" -m {proto} --dport {p["port"]} '
                         f"-j {chain}")
            if not eps:
                lines.append(f'-A {chain} -m comment --comment "{port_name} has no endpoints" '
                             "-j REJECT")
            for i, e in enumerate(eps):
                sep = "KUBE-SEP-" + _hash(port_name + proto + f"{e.ip}:{e.port}")
                left = len(eps) - i
                stat = (f" -m statistic --mode random --probability {1 / left:0.11f}"
                        if left > 1 else "")
                lines.append(f'-A {chain} -m comment --comment "{port_name} -> {e.ip}:{e.port}"'
                             f"{stat} -j {sep}")
        return "\n".join(lines)


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(x) for x in ip.split(".") if x.isdigit())


def _hash(text: str) -> str:
    # pkg/proxy/iptables: base32 of the SHA-256 of "namespace/name:port" + protocol, 16 chars.
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def _build_view(svc: dict, slices: list[dict], version: tuple) -> ServiceView:
    meta, spec = svc["metadata"], svc.get("spec") or {}
    ns = meta.get("namespace", "default")
    ready: list[Endpoint] = []
    fallback: list[Endpoint] = []  # serving and terminating
    seen: set[str] = set()
    for s in slices:
        ports = s.get("ports") or [{}]
        for ep in s.get("endpoints") or ():
            ip = (ep.get("addresses") or [None])[0]
            cond = ep.get("conditions") or {}
            if ip is None or ip in seen:
                continue
            # discovery/v1: a nil ready or serving condition means true.
            if cond.get("ready", True) is not False:
                into = ready
            elif cond.get("serving", True) is not False and cond.get("terminating"):
                into = fallback
            else:
                continue
            seen.add(ip)
            ref = ep.get("targetRef") or {}
            into.append(Endpoint(ip=ip, node=ep.get("nodeName") or "", pod=ref.get("name", ""),
                                 namespace=ref.get("namespace", ns), port=ports[0].get("port")))
    endpoints = sorted(ready or fallback, key=lambda e: _ip_key(e.ip))
    ports = []
    for p in spec.get("ports") or ():
        target = p.get("targetPort", p.get("port"))
        ports.append({**p, "targetPort": target if isinstance(target, int) else p.get("port")})
    timeout = None
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        timeout = float(cfg.get("timeoutSeconds", AFFINITY_TIMEOUT))
    return ServiceView(namespace=ns, name=meta["name"], cluster_ip=spec.get("clusterIP"),
                       ports=tuple(ports), endpoints=tuple(endpoints),
                       affinity_timeout=timeout, version=version)
