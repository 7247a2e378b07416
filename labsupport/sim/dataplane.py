"""The data plane: requests from clients through kube-proxy to pods, and back.

The control plane decides where pods run; the data plane is what happens to
requests. Each request leaves its client, crosses the network to the pod
kube-proxy picked among the Service's ready endpoints, waits for one of the
pod's workers (first come, first served), is served, and travels back.

No simpy process runs per request: arrivals are handled in batches, and a
pod's queue is advanced by arithmetic (with c workers, a request starts at
``max(arrival, earliest free worker)`` and ends a service time later). A batch
ends whenever something that matters changes (an EndpointSlice update, a pod
starting or stopping, a node failing, a partition), so every request sees
the cluster as it was at its own instant; between changes a batch covers at
most :data:`MAX_TICK` seconds (:data:`TICK` while a request may crash a pod).

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply('''
    ... apiVersion: apps/v1
    ... kind: Deployment
    ... metadata: {name: web}
    ... spec:
    ...   replicas: 3
    ...   selector: {matchLabels: {app: web}}
    ...   template:
    ...     metadata: {labels: {app: web}}
    ...     spec: {containers: [{name: web, image: "nginx:1.27"}]}
    ... ---
    ... apiVersion: v1
    ... kind: Service
    ... metadata: {name: web}
    ... spec: {selector: {app: web}, ports: [{port: 80}]}
    ... ''')
    >>> c.advance(10)
    >>> r = c.send_traffic("service/web", rps=50, duration=60)
    >>> r.requests, r.errors, sorted(r.per_pod.values())
    (3000, 0, [987, 999, 1014])
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from heapq import heapreplace
from typing import TYPE_CHECKING, Any

from labsupport import arguments
from labsupport.errors import Invalid, ObjectNotFound
from labsupport.kinds import parse_ref
from labsupport.sim.network import CONTROL_PLANE, Network
from labsupport.sim.podserver import PodServer
from labsupport.sim.proxy import KubeProxy
from labsupport.sim.traffic import (
    OK,
    PATTERNS,
    REFUSED,
    REJECTED,
    RESET,
    TIMEOUT,
    Stream,
    TrafficHandle,
    TrafficResult,
)

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.metrics import Metrics

__all__ = ["DataPlane", "DataPlaneMixin", "TICK", "DEFAULT_TIMEOUT"]

#: Batches end at least this often (virtual seconds) while a pod may crash
#: from a request or a partition is in place, so the kubelet hears of crashes soon.
TICK = 1.0
#: Otherwise a batch covers about BATCH requests, and at most MAX_TICK seconds.
BATCH = 1000
MAX_TICK = 5.0
#: How long a client waits for an answer (hey's default is 20 s, curl's none).
DEFAULT_TIMEOUT = 30.0
INF = math.inf
# What a planned request carries (name, dtype) until it is served.
_FIELDS = (("t", float), ("sid", "int64"), ("gid", "int64"), ("status", "int8"), ("out", float),
           ("back", float), ("svc", float), ("crash", float), ("timeout", float),
           ("client", "int64"))


class _Window:
    """One batch of requests, kept for results and for failing those in flight."""

    __slots__ = ("t", "sid", "gid", "dep", "status", "latency", "client", "end", "multi")

    def __init__(self, t: Any, sid: Any, gid: Any, dep: Any, status: Any, latency: Any,
                 client: Any, multi: bool) -> None:
        import numpy as np

        self.t, self.sid, self.gid, self.dep = t, sid, gid, dep
        self.status, self.latency, self.client, self.multi = status, latency, client, multi
        self.end = float(np.nanmax(dep)) if len(dep) and not np.isnan(dep).all() else -INF


class DataPlane:
    """Pods as servers, kube-proxy, the network, traffic streams and metrics of one cluster.

    Args:
        sim: the cluster.
        proxy_mode: kube-proxy's mode on every node (see :data:`labsupport.sim.proxy.MODES`).
    """

    def __init__(self, sim: SimCluster, proxy_mode: str = "iptables") -> None:
        from labsupport.sim.metrics import Metrics

        self.sim, self.env = sim, sim.env
        self.network = Network(sim)
        self.proxy = KubeProxy(sim, proxy_mode)
        self.metrics: Metrics = Metrics(self)
        self.servers: dict[str, PodServer] = {}   # live pods by key
        self.all_servers: list[PodServer] = []    # every pod ever served, by gid
        self.streams: list[Stream] = []           # sending now
        self._streams: list[Stream] = []          # all, by sid
        self._open: list[_Window] = []            # batches with requests in flight
        self._carry: dict | None = None           # requests still on their way to a pod
        self._ticking = False
        self._flushing = False
        sim.store.watch("/registry/", self._on_store)

    # --- pods and targets ------------------------------------------------------------
    def deployment_of(self, pod: dict) -> str | None:
        """The Deployment that owns ``pod`` through its ReplicaSet, if any."""
        ns = pod["metadata"].get("namespace", "default")
        for ref in pod["metadata"].get("ownerReferences") or ():
            if ref.get("kind") == "ReplicaSet" and ref.get("controller"):
                rs = self.sim.store.peek(f"/registry/replicasets/{ns}/{ref['name']}")
                for r in (rs or {}).get("metadata", {}).get("ownerReferences") or ():
                    if r.get("kind") == "Deployment" and r.get("controller"):
                        return r["name"]
        return None

    def server_for(self, namespace: str, name: str) -> PodServer | None:
        """The server of a pod bound to a node (made on first use), or None."""
        key = f"/registry/pods/{namespace}/{name}"
        srv = self.servers.get(key)
        if srv is not None:
            return srv
        pod = self.sim.store.peek(key)
        if pod is None or not pod["spec"].get("nodeName"):
            return None
        srv = PodServer(len(self.all_servers), pod, self.deployment_of(pod))
        self.all_servers.append(srv)
        self.servers[key] = srv
        self._refresh(srv)
        return srv

    def requests_per_second(self, namespace: str, name: str, container: str
                            ) -> Callable[[float, float], list[tuple[int, float]]] | None:
        """The requests that reached ``container`` of a pod, per whole second (for its log).

        Returns:
            ``counts(start, end)`` -> ``[(second, requests), ...]`` for the
            seconds in [start, end), or None if the pod never served traffic
            or ``container`` is not the one that serves it.
        """
        srv = self.servers.get(f"/registry/pods/{namespace}/{name}")
        if srv is None or srv.container != container:
            return None
        self.flush()
        self.metrics.settle()

        def counts(start: float, end: float) -> list[tuple[int, float]]:
            lo, hi = max(0, int(start)), min(len(srv.reqs), int(math.ceil(end)))
            return [(s, srv.reqs[s]) for s in range(lo, hi) if srv.reqs[s]]

        return counts

    def sync_servers(self) -> None:
        """Make a server for every pod bound to a node (metrics cover them all)."""
        for key, pod in list(self.sim.store.table("pods").items()):
            if key not in self.servers and pod["spec"].get("nodeName"):
                meta = pod["metadata"]
                self.server_for(meta.get("namespace", "default"), meta["name"])

    def resolve(self, target: str, namespace: str) -> tuple[str, str, str, str | None]:
        """``(kind, namespace, name, entry node)`` of a traffic target.

        Raises:
            ObjectNotFound: no such Service, pod, ClusterIP or NodePort.
            Invalid: a target of another form.
        """
        if "/" in target:
            rt, name = parse_ref(target)
            if rt.kind not in ("Service", "Pod"):
                raise Invalid(f'cannot send traffic to a {rt.kind}; send it to "service/NAME", '
                              '"pod/NAME", a ClusterIP such as "10.96.0.12:80" or a NodePort '
                              'such as "node-1:30080"')
            kind = rt.kind.lower()
            if self.sim.store.peek(f"/registry/{rt.registry}/{namespace}/{name}") is None:
                raise ObjectNotFound(kind, name, namespace)
            return kind, namespace, name, None
        view, entry = self.proxy.resolve(target)
        return "service", view.namespace, view.name, entry

    def _refresh(self, srv: PodServer) -> None:
        kubelet = self.sim.kubelets.get(srv.node)
        worker = kubelet.workers.get(srv.key) if kubelet is not None else None
        now = self.env.now
        if srv.refresh(self.sim.store.peek(srv.key), worker, now):
            self._interrupt(lambda s, x: x is srv, now, RESET)
        if srv.gone and self.servers.get(srv.key) is srv:
            del self.servers[srv.key]

    # --- changes ---------------------------------------------------------------------
    def _on_store(self, ev: Any) -> None:
        key = ev.key
        if key.startswith("/registry/pods/"):
            srv = self.servers.get(key)
            if srv is not None:
                self.flush()  # the requests so far saw the pod as it was
                self._refresh(srv)
        elif key.startswith("/registry/services/specs/"):
            self.flush()
            ns, name = key.rsplit("/", 2)[-2:]
            self._resync(ns, name)
        elif key.startswith("/registry/endpointslices/"):
            # kube-proxy follows a Service's EndpointSlices (not its v1 Endpoints).
            self.flush()  # the requests so far saw the old slices
            owner = self.proxy.slice_changed(key, ev.object, ev.type == "DELETED")
            if owner is not None:
                self._resync(*owner)
        elif key.startswith("/registry/deployments/"):
            self.metrics.deployment_changed(ev)

    def _resync(self, namespace: str, name: str) -> None:
        """A Service or one of its EndpointSlices changed: kube-proxy's rules change now.

        The requests sent before the change were served (flushed) with the old
        rules. If traffic is flowing to the Service, the new rules are read at
        once: read later, at the next batch, they would also hold the changes
        made after this one (a pod turning ready at 28.05 would receive the
        requests sent from 26.6 on, before it answered).
        """
        self.proxy.invalidate(namespace, name)
        if any(s.kind == "service" and s.namespace == namespace and s.name == name
               for s in self.streams):
            try:
                self.proxy.service(namespace, name)
            except ObjectNotFound:
                pass  # the Service is gone: its requests find no endpoints

    def node_failed(self, node: str) -> None:
        """``fail_node``: the node stops answering, requests in flight there time out."""
        self.flush()
        self.network.node_failed(node)
        self._interrupt(lambda s, x: x.node == node or s.client == node, self.env.now, TIMEOUT)

    def node_restored(self, node: str) -> bool:
        """``restore_node``; False while a partition keeps the node cut off."""
        self.flush()
        return self.network.node_restored(node)

    def partition(self, groups: tuple) -> None:
        """Split the hosts (see :meth:`Network.partition`)."""
        self.flush()
        before = set(self.network.cut_off)
        self.network.partition(*groups)
        after = set(self.network.cut_off)
        self.proxy.thaw(sorted(before - after))
        self.proxy.freeze(sorted(after))
        net = self.network
        self._interrupt(lambda s, x: not net.reachable(s.entry or s.client, x.node),
                        self.env.now, TIMEOUT)

    def heal(self) -> None:
        """End the partition."""
        self.flush()
        self.network.heal()
        self.proxy.thaw()

    # --- traffic ---------------------------------------------------------------------
    def start(self, target: str, rps: float, duration: float, pattern: Any, namespace: str,
              client: str, seed: Any, clients: int, timeout: float) -> Stream:
        """Begin a traffic stream now."""
        self.flush()
        stream = Stream(self, len(self._streams), target, namespace, rps, duration, pattern,
                        client, seed, clients, timeout)
        self._streams.append(stream)
        self.streams.append(stream)
        stream.plan_routes()  # meet its pods now: a pod that may crash needs short batches
        if not self._ticking:
            self._ticking = True
            self.env.process(self._tick())
        return stream

    def _tick(self):
        while self.streams or self._carry:
            rate = sum(s.rps for s in self.streams) or 1.0
            prompt = self.network.cut_off or any(s.risky for s in self.servers.values())
            yield self.env.timeout(TICK if prompt else min(MAX_TICK, max(TICK, BATCH / rate)))
            self.flush()
            cut = set(self.network.cut_off)
            if cut:  # silent kubelets write nothing: look at their pods ourselves
                for srv in [s for s in self.servers.values() if s.node in cut]:
                    self._refresh(srv)
            now = self.env.now
            self.streams = [s for s in self.streams if s.end > now]
        self._ticking = False

    def flush(self, drain: bool = False) -> None:
        """Serve every request sent before now.

        Args:
            drain: also serve requests still on their way to their pod.
        """
        if self._flushing or not (self.streams or self._carry):
            return
        now = self.env.now
        self._flushing = True
        try:
            plans = []
            for s in self.streams:
                t = s.arrivals.take(now)
                if len(t):
                    plans.append(s.plan(t))
            if plans or self._carry:
                self._run(plans, now, drain)
            self._open = [w for w in self._open if w.end > now]
        finally:
            self._flushing = False

    def settle(self) -> None:
        """Let the components react to what the last batch did (a crash) at this instant."""
        env = self.env
        for _ in range(10_000):
            if env.peek() > env.now:
                return
            env.step()

    def _run(self, plans: list[dict], now: float, drain: bool) -> None:
        """Serve, in order of arrival at their pods, the requests that arrived before ``now``."""
        import numpy as np

        parts = ([self._carry] if self._carry else []) + plans
        n_carry = len(self._carry["t"]) if self._carry else 0
        self._carry = None

        def cat(name: str, dtype: Any) -> Any:
            if len(parts) == 1:
                v = parts[0][name]
                return v if isinstance(v, np.ndarray) else np.full(len(parts[0]["t"]), v, dtype)
            return np.concatenate([np.broadcast_to(np.asarray(p[name], dtype), len(p["t"]))
                                   for p in parts])

        cols = {name: cat(name, dtype) for name, dtype in _FIELDS}
        T, G, ST, O, B, S, UC = (cols[k].tolist() for k in (  # noqa: E741
            "t", "gid", "status", "out", "back", "svc", "crash"))
        n = len(T)
        dep = [math.nan] * n
        begin = [-1.0] * n
        crashes: list[tuple[PodServer, float, int, str]] = []
        waiting_conns = None
        if self.proxy.scheduler == "lc":
            done, waiting, waiting_conns = self._serve_lc(parts, n_carry, now, drain, T, G, ST, O,
                                                          B, S, UC, dep, begin, crashes)
        else:
            ok = cols["status"] == OK
            arrive = np.where(ok, cols["t"] + cols["out"], cols["t"])
            order = np.argsort(arrive, kind="stable")
            cut = n if drain else int(np.searchsorted(arrive[order], now, side="left"))
            done, waiting = order[:cut], order[cut:]
            servers = self.all_servers
            for k in done.tolist():
                if ST[k]:
                    continue
                srv = servers[G[k]]
                a = T[k] + O[k]
                if a < srv.up_from or a >= srv.down_at:
                    ST[k] = REFUSED
                    continue
                q = srv.inflight
                while q and q[0] <= a:
                    q.popleft()
                if len(q) >= srv.limit:
                    ST[k] = REJECTED
                    continue
                free = srv.free
                f = free[0]
                s0 = a if a > f else f
                d = s0 + S[k]
                heapreplace(free, d)
                q.append(d)
                begin[k] = s0
                dep[k] = d
                if srv.risky:
                    srv.risk(a, s0, UC[k], len(q), crashes)
        cols.update(gid=np.array(G, np.int64), status=np.array(ST, np.int8), out=np.array(O),
                    back=np.array(B), svc=np.array(S))
        waiting = np.asarray(waiting, np.int64)
        if len(waiting):
            self._carry = {name: arr[waiting] for name, arr in cols.items()}
            if waiting_conns is not None:
                self._carry["conns"] = waiting_conns
        done = np.asarray(done, np.int64)
        self._finish({name: arr[done] for name, arr in cols.items()},
                     np.array(dep)[done], np.array(begin)[done], crashes)

    def _serve_lc(self, parts: list[dict], n_carry: int, now: float, drain: bool, T: list,
                  G: list, ST: list, O: list, B: list, S: list, UC: list, dep: list,  # noqa: E741
                  begin: list, crashes: list) -> tuple[list[int], list[int], list]:
        """The request loop for IPVS lc: choose in send order, serve in arrival order."""
        import numpy as np

        servers, proxy = self.all_servers, self.proxy
        lc_of: dict[int, tuple[dict, int]] = {}
        conns: dict[int, tuple[Any, str]] = {}
        base = n_carry
        for p in parts[1:] if n_carry else parts:
            if p.get("lc"):
                for j in range(len(p["t"])):
                    lc_of[base + j] = (p, j)
            base += len(p["t"])
        carried = parts[0].get("conns") if n_carry else None
        for k in range(n_carry):
            if carried and carried[k] is not None:
                conns[k] = carried[k]
        pending = [(T[k] + O[k] if not ST[k] else T[k], k) for k in range(n_carry)]
        heapq.heapify(pending)
        done: list[int] = []

        def serve(k: int) -> None:
            done.append(k)
            if ST[k]:
                return
            srv = servers[G[k]]
            a = T[k] + O[k]
            closes = a + B[k]
            if a < srv.up_from or a >= srv.down_at:
                ST[k] = REFUSED
            else:
                q = srv.inflight
                while q and q[0] <= a:
                    q.popleft()
                if len(q) >= srv.limit:
                    ST[k] = REJECTED
                else:
                    f = srv.free[0]
                    begin[k] = s0 = a if a > f else f
                    dep[k] = d = s0 + S[k]
                    heapreplace(srv.free, d)
                    q.append(d)
                    closes = d + B[k]
                    if srv.risky:
                        srv.risk(a, s0, UC[k], len(q), crashes)
            if k in conns:
                state, ip = conns.pop(k)
                state.closes(ip, closes)

        new = np.arange(n_carry, len(T))
        for k in new[np.argsort(np.array(T[n_carry:]), kind="stable")].tolist():
            tk = T[k]
            while pending and pending[0][0] <= tk:
                serve(heapq.heappop(pending)[1])
            if k in lc_of and not ST[k]:
                plan, j = lc_of[k]
                lc = plan["lc"]
                view, state, ips = lc["view"], lc["state"], lc["ips"]
                client = lc["clients"][j]
                i = proxy.sticky(lc["host"], view, client, tk) if view.affinity_timeout else None
                if i is None:
                    i = state.pick(tk, ips)
                if view.affinity_timeout:
                    proxy.remember(lc["host"], view, client, ips[i], tk)
                G[k] = g = lc["gids"][i]
                O[k], B[k], S[k] = lc["out"][i][j], lc["back"][i][j], lc["svc"][i][j]
                state.opened(ips[i])
                if g < 0 or lc["status"][i][j]:
                    ST[k] = REFUSED if g < 0 else lc["status"][i][j]
                    state.closes(ips[i], tk + (plan["timeout"] if ST[k] == TIMEOUT else 0.0))
                else:
                    conns[k] = (state, ips[i])
            if ST[k]:
                done.append(k)
            else:
                heapq.heappush(pending, (tk + O[k], k))
        while pending and (drain or pending[0][0] < now):
            serve(heapq.heappop(pending)[1])
        waiting = [k for _, k in sorted(pending)]
        return done, waiting, [conns.get(k) for k in waiting]

    def _finish(self, cols: dict, dep: Any, begin: Any, crashes: list) -> None:
        """Latencies, timeouts and crashes of served requests; metrics; keep the batch."""
        import numpy as np

        t, sid, gid, status = cols["t"], cols["sid"], cols["gid"], cols["status"]
        for srv, when, _, _ in crashes:
            status[(gid == srv.gid) & (dep > when) & (status == OK)] = RESET
            self._interrupt(lambda s, x, srv=srv: x is srv, when, RESET)
        latency = dep + cols["back"] - t
        status[(status == OK) & (latency > cols["timeout"])] = TIMEOUT
        latency[status != OK] = np.nan
        arrive = t + cols["out"]
        served = begin >= 0
        self.metrics.record(gid[served], arrive[served], begin[served], dep[served])
        rejected = status == REJECTED
        if rejected.any():
            self.metrics.record_rejected(gid[rejected], arrive[rejected])
        multi = bool(len(sid) and (sid != sid[0]).any())
        window = _Window(t, sid, gid, dep, status, latency, cols["client"], multi)
        for s in np.unique(sid).tolist():
            self._streams[s].windows.append(window)
        if window.end > self.env.now:
            self._open.append(window)
        for srv, _, code, reason in crashes:  # the kubelet sees the crash now
            kubelet = self.sim.kubelets.get(srv.node)
            worker = kubelet.workers.get(srv.key) if kubelet is not None else None
            if worker is None or not worker.crash(srv.container, code, reason):
                srv.down_at = INF  # the container had stopped already

    def _interrupt(self, hit: Callable[[Stream, PodServer], bool], when: float, code: int) -> None:
        """Requests in flight at ``when`` for which ``hit(stream, server)`` fail with ``code``."""
        import numpy as np

        for w in self._open:
            if w.end <= when:
                continue
            idx = np.nonzero((w.dep > when) & (w.status == OK))[0]
            if not len(idx):
                continue
            pairs = w.sid[idx] * (1 << 32) + w.gid[idx]
            uniq, inv = np.unique(pairs, return_inverse=True)
            verdict = np.array([hit(self._streams[p >> 32], self.all_servers[p & 0xFFFFFFFF])
                                for p in uniq.tolist()], bool)
            chosen = idx[verdict[inv]]
            w.status[chosen] = code
            w.latency[chosen] = np.nan


class DataPlaneMixin:
    """What :class:`~labsupport.sim.cluster.SimCluster` gains from the data plane."""

    _dataplane: DataPlane
    env: Any
    kubelets: dict

    def _init_dataplane(self, proxy_mode: str = "iptables") -> None:
        self._dataplane = DataPlane(self, proxy_mode)  # type: ignore[arg-type]

    @property
    def network(self) -> Network:
        """Links between nodes (latency, jitter, loss) and partitions."""
        return self._dataplane.network

    @property
    def proxy(self) -> KubeProxy:
        """kube-proxy; ``c.proxy.mode = "ipvs-lc"`` changes its mode."""
        return self._dataplane.proxy

    @property
    def metrics(self) -> Metrics:
        """Metrics of pods, nodes and Deployments over time (metrics-server and more)."""
        return self._dataplane.metrics

    def _pod_requests(self, namespace: str, name: str, container: str) -> Any:
        """Requests per second of one pod's container, for its log (None: no traffic)."""
        return self._dataplane.requests_per_second(namespace, name, container)

    def send_traffic(self, target: str, rps: float, duration: float,
                     pattern: str | Callable[[float], float] = "constant", *,
                     namespace: str = "default", background: bool = False,
                     client_node: str | None = None, seed: Any = None, clients: int = 1,
                     timeout: float = DEFAULT_TIMEOUT) -> TrafficResult | TrafficHandle:
        """Send requests for ``duration`` seconds and see what became of them.

        Args:
            target: ``"service/web"``, ``"pod/web-1"``, a ClusterIP such as
                ``"10.96.0.12:80"`` or a NodePort such as ``"node-2:30080"``.
            rps: requests per second (see :mod:`labsupport.sim.traffic` for patterns).
            duration: seconds of traffic.
            pattern: ``"constant"``, ``"poisson"``, ``"spike"``, ``"diurnal"``,
                or a function of seconds since the start giving requests/s.
            namespace: the namespace of the Service or pod.
            background: return a :class:`TrafficHandle` at once; the traffic
                flows while you ``advance()``, ``fail_node()``... Otherwise the
                cluster advances by ``duration`` and the result is returned.
            client_node: the node the client runs on (None: outside the nodes,
                next to the control plane).
            seed: seed of this traffic's randomness (None: from the cluster's seed).
            clients: how many client IPs send (session affinity sticks per IP).
            timeout: seconds a client waits for an answer before giving up.

        Raises:
            Invalid: a bad argument; ObjectNotFound: no such target.
        """
        arguments.text(target, "target", example="service/web")
        arguments.number(rps, "rps", positive=True)
        arguments.seconds(duration, "duration", positive=True)
        arguments.seconds(timeout, "timeout", positive=True)
        if not callable(pattern) and not isinstance(pattern, str):  # text: checked by its rate
            arguments.choice(pattern, "pattern", PATTERNS,
                             or_else=", or a function of seconds that gives requests per second")
        arguments.namespace(namespace)
        clients = arguments.count(clients, "clients", minimum=1, maximum=2**31 - 1)  # numpy ints
        client = CONTROL_PLANE
        if client_node is not None and client_node != CONTROL_PLANE:
            client = arguments.node(client_node, self.kubelets, "client_node")
        stream = self._dataplane.start(target, float(rps), float(duration), pattern, namespace,
                                       client, seed, clients, float(timeout))
        if background:
            return TrafficHandle(stream)
        self.advance(duration)  # type: ignore[attr-defined]
        return stream.result()

    def partition(self, *groups: list[str] | str) -> None:
        """Split the nodes into groups that cannot reach each other (see :class:`Network`).

        Raises:
            Invalid: a group is not a node's name or a list of them, or names
                an unknown node.
        """
        for group in groups:
            names = [group] if isinstance(group, str) else group
            if not isinstance(names, (list, tuple, set, frozenset)) or not names or not all(
                    isinstance(n, str) for n in names):
                raise Invalid(
                    "partition takes groups of node names, such as "
                    f'partition(["node-1"], ["node-2", "node-3"]); got {group!r}')
        self._dataplane.partition(groups)

    def heal(self) -> None:
        """End a partition: every node reaches every other again."""
        self._dataplane.heal()

    def prometheus(self) -> str:
        """Every metric, in the Prometheus text exposition format."""
        return self._dataplane.metrics.prometheus()

    def _dataplane_node_failed(self, name: str) -> None:
        self._dataplane.node_failed(name)

    def _dataplane_node_restored(self, name: str) -> bool:
        return self._dataplane.node_restored(name)
