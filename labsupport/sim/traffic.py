"""Traffic: when requests are sent, and what became of them.

``cluster.send_traffic(target, rps, duration, pattern)`` sends requests to a
Service (``"service/web"``), a pod (``"pod/web-1"``), a ClusterIP
(``"10.96.0.12:80"``) or a NodePort (``"node-2:30080"``). The pattern says
when they leave the client:

============  =============================================================
pattern       requests per second at time t (0 <= t < duration)
============  =============================================================
``constant``  exactly ``rps``, evenly spaced
``poisson``   ``rps`` on average, at random instants (a Poisson process)
``spike``     Poisson; ``rps``, and 5 x ``rps`` from 40% to 60% of the run
``diurnal``   Poisson; a day squeezed into the run: from 0.5 x ``rps`` at
              the start and end to 1.5 x ``rps`` in the middle (mean ``rps``)
a function    Poisson; ``pattern(t)`` requests per second
============  =============================================================

Each request then travels client -> kube-proxy's choice -> pod, waits for a
worker of the pod, is served, and travels back; :class:`TrafficResult`
holds its fate: the latency of each request, and for each failed one why
(``no endpoints``, ``refused``, ``timeout``, ``reset``, ``503``).

Example:
    >>> from labsupport.sim.traffic import Arrivals
    >>> import numpy as np
    >>> a = Arrivals("constant", rps=4, duration=1.0, start=10.0, rng=np.random.default_rng(0))
    >>> a.take(10.6).tolist(), a.take(20.0).tolist()
    ([10.0, 10.25, 10.5], [10.75])
"""

from __future__ import annotations

import html
import math
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid, ObjectNotFound
from labsupport.sim.listening import pod_listens
from labsupport.sim.network import CONTROL_PLANE, MAX_TRANSMISSIONS, RETRANSMISSION_TIMEOUT

if TYPE_CHECKING:
    import numpy as np

    from labsupport.sim.dataplane import DataPlane
    from labsupport.sim.podserver import PodServer
    from labsupport.sim.proxy import ServiceView

__all__ = ["Arrivals", "Stream", "TrafficResult", "TrafficHandle", "PATTERNS", "STATUS",
           "rate_function"]

PATTERNS = ("constant", "poisson", "spike", "diurnal")
SPIKE_FACTOR = 5.0
SPIKE_START, SPIKE_END = 0.4, 0.6
DIURNAL_SWING = 0.5
# Arrivals are drawn in blocks of this many seconds, in slots of SLOT seconds,
# whatever the steps the cluster advances by, so a seed always gives the same run.
BLOCK = 10.0
SLOT = 0.1
_DRAWS = 10  # uniform draws per request: choice, client, service, crash, 2 loss, 4 normal

#: Status codes of requests, and what they mean.
OK, NO_ENDPOINTS, REFUSED, TIMEOUT, RESET, REJECTED = range(6)
STATUS = {OK: "ok", NO_ENDPOINTS: "no endpoints", REFUSED: "refused", TIMEOUT: "timeout",
          RESET: "reset", REJECTED: "503"}


def rate_function(pattern: str | Callable[[float], float], rps: float,
                  duration: float) -> Callable[[Any], Any]:
    """Requests per second at times ``t`` since the start (a numpy array in, one out).

    Raises:
        Invalid: an unknown pattern.

    Example:
        >>> import numpy as np
        >>> rate_function("spike", 10, 100)(np.array([10.0, 50.0])).tolist()
        [10.0, 50.0]
    """
    import numpy as np

    if callable(pattern):
        def user(t: Any) -> Any:
            return np.array([max(0.0, float(pattern(float(x)))) for x in t])
        return user
    if pattern in ("constant", "poisson"):
        return lambda t: np.full(len(t), float(rps))
    if pattern == "spike":
        return lambda t: np.where((t >= SPIKE_START * duration) & (t < SPIKE_END * duration),
                                  rps * SPIKE_FACTOR, float(rps))
    if pattern == "diurnal":
        return lambda t: rps * (1 - DIURNAL_SWING * np.cos(2 * math.pi * t / duration))
    raise Invalid(f'unknown traffic pattern "{pattern}"; choose one of: {", ".join(PATTERNS)}, '
                  "or pass a function of time that gives requests per second")


class Arrivals:
    """The send times of one traffic stream, drawn lazily.

    Args:
        pattern: one of :data:`PATTERNS`, or a function of seconds since the start.
        rps: requests per second.
        duration: seconds of traffic.
        start: virtual time of the first instant.
        rng: a numpy Generator used for nothing else.
    """

    def __init__(self, pattern: str | Callable[[float], float], rps: float, duration: float,
                 start: float, rng: Any) -> None:
        import numpy as np

        self.pattern, self.rps, self.duration, self.start = pattern, rps, duration, start
        self.rate = rate_function(pattern, rps, duration)
        self.rng = rng
        self._np = np
        self._buffer = np.empty(0)
        self._block = 0
        self._next = 0  # constant: index of the next request

    @property
    def end(self) -> float:
        """When the stream stops sending."""
        return self.start + self.duration

    def take(self, until: float) -> np.ndarray:
        """The send times before ``until`` not taken yet, in order."""
        np = self._np
        until = min(until, self.end)
        if self.pattern == "constant":
            total = math.ceil(self.rps * self.duration - 1e-9)
            last = min(total, math.ceil((until - self.start) * self.rps - 1e-9))
            if last <= self._next:
                return np.empty(0)
            out = self.start + np.arange(self._next, last) / self.rps
            self._next = last
            return out
        parts = [self._buffer]
        while self.start + self._block * BLOCK < min(until, self.end):
            parts.append(self._draw(self._block))
            self._block += 1
        times = np.concatenate(parts) if len(parts) > 1 else self._buffer
        cut = int(np.searchsorted(times, until, side="left"))
        self._buffer = times[cut:]
        return times[:cut]

    def _draw(self, block: int) -> np.ndarray:
        np = self._np
        lo = block * BLOCK
        hi = min(lo + BLOCK, self.duration)
        edges = np.arange(lo, hi, SLOT)
        widths = np.minimum(edges + SLOT, hi) - edges
        counts = self.rng.poisson(self.rate(edges + widths / 2) * widths)
        offsets = self.rng.random(int(counts.sum()))
        starts = np.repeat(edges, counts)
        # Slots do not overlap, so sorting puts each slot's instants in order.
        return self.start + np.sort(starts + offsets * np.repeat(widths, counts))


class TrafficResult:
    """What happened to the requests of one ``send_traffic`` call.

    Attributes:
        target: what was sent to, e.g. ``"service/web"``.
        times: send time of every request (seconds since the cluster started).
        latency: latency of every request in seconds (NaN for failed ones).
        status: a code per request (0 ok; see :data:`STATUS`).
        pod: index into :attr:`pod_names` of the pod each request went to (-1: none).
        pod_names: the pods that got requests.
        client: which client (0 to ``clients`` - 1) sent each request.
    """

    def __init__(self, target: str, pattern: str, rps: float, duration: float, start: float,
                 times: Any, latency: Any, status: Any, pod: Any, pod_names: list[str],
                 timeout: float, complete: bool = True, client: Any = None) -> None:
        self.target, self.pattern, self.rps = target, pattern, rps
        self.duration, self.start, self.timeout = duration, start, timeout
        self.times, self.latency, self.status, self.pod = times, latency, status, pod
        self.client = client
        self.pod_names = tuple(pod_names)
        self.complete = complete
        ok = status == OK
        self.latencies = latency[ok]
        self.requests = int(len(times))
        self.errors = int(self.requests - ok.sum())

    @property
    def error_rate(self) -> float:
        """Failed requests / requests (0 when none were sent)."""
        return self.errors / self.requests if self.requests else 0.0

    def _pct(self, q: float) -> float:
        import numpy as np

        return float(np.percentile(self.latencies, q)) if len(self.latencies) else math.nan

    @property
    def p50(self) -> float:
        """Median latency of the successful requests, in seconds."""
        return self._pct(50)

    @property
    def p95(self) -> float:
        """95th percentile latency, in seconds."""
        return self._pct(95)

    @property
    def p99(self) -> float:
        """99th percentile latency, in seconds."""
        return self._pct(99)

    @property
    def mean(self) -> float:
        """Mean latency of the successful requests, in seconds."""
        return float(self.latencies.mean()) if len(self.latencies) else math.nan

    @property
    def per_pod(self) -> dict[str, int]:
        """Requests sent to each pod (as kube-proxy chose), failed ones included."""
        import numpy as np

        counts = np.bincount(self.pod[self.pod >= 0], minlength=len(self.pod_names))
        return {name: int(n) for name, n in zip(self.pod_names, counts, strict=True)}

    @property
    def per_pod_errors(self) -> dict[str, int]:
        """Failed requests by the pod they were sent to."""
        import numpy as np

        bad = (self.pod >= 0) & (self.status != OK)
        counts = np.bincount(self.pod[bad], minlength=len(self.pod_names))
        return {name: int(n) for name, n in zip(self.pod_names, counts, strict=True)}

    @property
    def error_kinds(self) -> dict[str, int]:
        """Failed requests by cause: ``{"timeout": 12, "no endpoints": 3}``."""
        import numpy as np

        counts = np.bincount(self.status, minlength=len(STATUS))
        return {STATUS[k]: int(n) for k, n in enumerate(counts) if k != OK and n}

    def timeline(self, step: float = 1.0) -> dict[str, Any]:
        """Per ``step`` seconds: requests/s, errors/s, and latency percentiles (for plots).

        Returns:
            numpy arrays under ``time`` (start of each step, seconds since the
            cluster started), ``rps``, ``errors``, ``p50``, ``p95``, ``p99``.
        """
        import numpy as np

        n = max(1, math.ceil(self.duration / step - 1e-9))
        idx = np.minimum(((self.times - self.start) / step).astype(np.int64), n - 1)
        ok = self.status == OK
        out: dict[str, Any] = {"time": self.start + step * np.arange(n),
                               "rps": np.bincount(idx, minlength=n) / step,
                               "errors": np.bincount(idx[~ok], minlength=n) / step}
        order = np.argsort(idx[ok], kind="stable")
        lat, where = self.latency[ok][order], idx[ok][order]
        bounds = np.searchsorted(where, np.arange(n + 1))
        for q in (50, 95, 99):
            out[f"p{q}"] = np.array([np.percentile(lat[a:b], q) if b > a else np.nan
                                     for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
        return out

    def summary(self) -> dict[str, Any]:
        """The figures as plain numbers (JSON-able), latencies in seconds."""
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 9)

        return {"target": self.target, "pattern": self.pattern, "rps": self.rps,
                "duration": self.duration, "requests": self.requests, "errors": self.errors,
                "error_rate": round(self.error_rate, 9), "mean": num(self.mean),
                "p50": num(self.p50), "p95": num(self.p95), "p99": num(self.p99),
                "per_pod": self.per_pod, "error_kinds": self.error_kinds}

    def __repr__(self) -> str:
        def ms(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x * 1000:.3g} ms"

        partial = "" if self.complete else " (so far)"
        return (f"<TrafficResult {self.target}: {self.requests} requests, {self.errors} errors "
                f"({self.error_rate:.2%}), p50 {ms(self.p50)}, p95 {ms(self.p95)}, "
                f"p99 {ms(self.p99)}{partial}>")

    def _repr_html_(self) -> str:
        def ms(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x * 1000:.3g} ms"

        head = (f"<p>Traffic to <b>{html.escape(self.target)}</b> ({html.escape(str(self.pattern))}"
                f", {self.rps:g} requests/s for {self.duration:g} s)"
                f"{'' if self.complete else ', still running'}</p>")
        rows = [("requests", self.requests), ("errors", f"{self.errors} ({self.error_rate:.2%})"),
                ("mean", ms(self.mean)), ("p50", ms(self.p50)), ("p95", ms(self.p95)),
                ("p99", ms(self.p99))]
        rows += [(f"errors: {k}", v) for k, v in self.error_kinds.items()]
        body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in rows)
        errs = self.per_pod_errors
        pods = "".join(f"<tr><td>{html.escape(p)}</td><td>{n}</td><td>{errs[p]}</td></tr>"
                       for p, n in self.per_pod.items())
        return (head + f"<table><tbody>{body}</tbody></table>"
                + (f"<table><thead><tr><th>pod</th><th>requests</th><th>errors</th></tr></thead>"
                   f"<tbody>{pods}</tbody></table>" if pods else ""))


class Stream:
    """One ``send_traffic`` call: where its requests go, and what became of them."""

    def __init__(self, plane: DataPlane, sid: int, target: str, namespace: str, rps: float,
                 duration: float, pattern: Any, client: str, seed: Any, clients: int,
                 timeout: float) -> None:
        import numpy as np

        self.plane, self.sid, self.target, self.namespace = plane, sid, target, namespace
        self.rps, self.duration, self.pattern = rps, duration, pattern
        self.client, self.clients, self.timeout = client, clients, timeout
        self.start = plane.env.now
        self.kind, self.namespace, self.name, self.entry = plane.resolve(target, namespace)
        entropy = [_seed(seed)] if seed is not None else [_seed(plane.sim.seed), sid]
        arrival_seq, request_seq = np.random.SeedSequence(entropy).spawn(2)
        self.arrivals = Arrivals(pattern, rps, duration, self.start,
                                 np.random.default_rng(arrival_seq))
        self.rng = np.random.default_rng(request_seq)
        self.windows: list[Any] = []

    @property
    def end(self) -> float:
        """When the stream stops sending."""
        return self.arrivals.end

    def stop(self) -> None:
        """Send nothing more."""
        self.plane.flush()
        self.arrivals.duration = max(0.0, self.plane.env.now - self.start)

    def result(self) -> TrafficResult:
        """Everything so far, as a :class:`TrafficResult`."""
        import numpy as np

        over = self.plane.env.now >= self.end
        self.plane.flush(drain=over)
        if over:
            self.plane.settle()
        parts = []
        for w in self.windows:
            m = w.sid == self.sid if w.multi else slice(None)
            parts.append((w.t[m], w.latency[m], w.status[m], w.gid[m], w.client[m]))
        cols = [np.concatenate([p[i] for p in parts]) if parts else np.empty(0, dtype)
                for i, dtype in enumerate((float, float, np.int8, np.int64, np.int64))]
        order = np.argsort(cols[0], kind="stable")  # served in order of arrival; show by send time
        t, latency, status, gid, client = (c[order] for c in cols)
        servers = self.plane.all_servers
        known = sorted({int(g) for g in np.unique(gid) if g >= 0},
                       key=lambda g: (servers[g].name, g))
        names = [servers[g].name for g in known]
        lookup = np.full(len(servers) + 1, -1, np.int64)
        lookup[known] = np.arange(len(known))
        pod = lookup[np.where(gid >= 0, gid, len(servers))]
        pattern = self.pattern if isinstance(self.pattern, str) else "custom"
        return TrafficResult(self.target, pattern, self.rps, self.arrivals.duration, self.start, t,
                             latency, status.astype(np.int64), pod, names, self.timeout,
                             complete=self.plane.env.now >= self.end, client=client)

    # --- one batch -----------------------------------------------------------------
    def backends(self) -> tuple[list[PodServer | None], list[str], str | None, ServiceView | None]:
        """The servers this stream may reach now, their IPs, kube-proxy's host, the Service."""
        plane = self.plane
        if self.kind == "pod":
            srv = plane.server_for(self.namespace, self.name)
            return ([srv], [self.name], None, None) if srv is not None else ([], [], None, None)
        host = self.entry or self.client
        try:
            view = plane.proxy.service(self.namespace, self.name, host)
        except ObjectNotFound:
            return [], [], host, None
        servers = [plane.server_for(e.namespace, e.pod) for e in view.endpoints]
        return servers, [e.ip for e in view.endpoints], host, view

    def plan_routes(self) -> None:
        """Look up the pods this stream reaches now (and make their servers)."""
        self._routes()

    def _routes(self) -> dict:
        """Per backend: server ids, links and reachability (cached until something changes)."""
        import numpy as np

        plane, net = self.plane, self.plane.network
        if self.kind == "pod":
            key: tuple = (plane.servers.get(f"/registry/pods/{self.namespace}/{self.name}"),
                          net.version)
        else:
            host = self.entry or self.client
            key = (plane.proxy.cached(self.namespace, self.name, host), net.version)
        cached = getattr(self, "_cached", None)
        if cached is not None and key[0] is not None and cached[0][0] is key[0] \
                and cached[0][1] == key[1]:
            return cached[1]
        servers, ips, host, view = self.backends()
        # A connection to a port nothing in the pod opens is refused (listening.py).
        opened = [True] * len(servers)
        if view is not None:
            for i, e in enumerate(view.endpoints):
                pod = plane.sim.store.peek(f"/registry/pods/{e.namespace}/{e.pod}")
                opened[i] = pod is None or pod_listens(pod, e.port)
        hops = [self.client] + ([self.entry] if self.entry else [])
        links = [net.path(*hops, s.node if s is not None else CONTROL_PLANE) for s in servers]
        dists = list(dict.fromkeys(s.b.service_time for s in servers if s is not None)) or [None]
        r = {"servers": servers, "ips": ips, "host": host, "view": view,
             "gids": np.array([s.gid if s is not None else -1 for s in servers], np.int64),
             "reach": np.array([s is not None and all(
                 net.reachable(a, b) for a, b in zip(hops, [*hops[1:], s.node], strict=True))
                 for s in servers], bool),
             "open": np.array(opened, bool),
             "lat": np.array([x.latency for x in links]),
             "jit": np.array([x.jitter for x in links]),
             "loss": np.array([x.loss for x in links]), "dists": dists,
             "dist_of": np.array([dists.index(s.b.service_time) if s is not None else 0
                                  for s in servers], np.int64)}
        self._cached = (key, r)
        return r

    def plan(self, t: Any) -> dict:
        """Choices, delays and draws for the requests sent at times ``t``."""
        import numpy as np

        plane, net = self.plane, self.plane.network
        n = len(t)
        u = self.rng.random((n, _DRAWS))
        status = np.zeros(n, np.int8)
        gid = np.full(n, -1, np.int64)
        zeros = np.zeros(n)
        p = {"t": t, "sid": self.sid, "gid": gid, "status": status, "out": zeros, "back": zeros,
             "svc": zeros, "crash": u[:, 3], "lc": None, "timeout": self.timeout,
             "client": np.minimum((u[:, 1] * self.clients).astype(np.int64), self.clients - 1)}
        r = self._routes()
        servers, ips, host, view = r["servers"], r["ips"], r["host"], r["view"]
        if self.client in net.down:
            status[:] = TIMEOUT
            return p
        if not servers:
            status[:] = NO_ENDPOINTS if self.kind != "pod" else REFUSED
            return p
        nb = len(servers)
        gids, reach, lat, jit, loss = r["gids"], r["reach"], r["lat"], r["jit"], r["loss"]
        opened = r["open"]
        dists, dist_of = r["dists"], r["dist_of"]
        unif = u[:, 2]
        expo = -np.log1p(-unif)
        normal = None
        if any(d is not None and d.kind == "lognormal" for d in dists):
            normal = np.sqrt(-2 * np.log1p(-u[:, 8])) * np.cos(2 * math.pi * u[:, 9])
        svc_by = [d.transform(expo, normal, unif) if d is not None else zeros for d in dists]
        z = None
        if jit.any():
            r = np.sqrt(-2 * np.log1p(-u[:, 6]))
            z = (r * np.cos(2 * math.pi * u[:, 7]), r * np.sin(2 * math.pi * u[:, 7]))

        def leg(b: Any, which: int) -> tuple[Any, Any]:
            d = lat[b] + (jit[b] * z[which] if z is not None else 0.0)
            d = np.maximum(d, 0.0) if z is not None else d + zeros
            lost = np.zeros(n, np.int64)
            if loss.any():
                pb = loss[b] + zeros
                with np.errstate(divide="ignore"):
                    k = np.floor(np.log(np.maximum(u[:, 4 + which], 1e-300)) / np.log(pb))
                lost = np.where(pb > 0, np.minimum(k, MAX_TRANSMISSIONS), 0).astype(np.int64)
                waits = 2.0 ** np.minimum(lost, MAX_TRANSMISSIONS - 1) - 1
                d = d + RETRANSMISSION_TIMEOUT * waits
            return d, lost

        clients = p["client"]
        idx = plane.proxy.choose(host, view, t, u[:, 0], clients) if view else \
            np.zeros(n, np.int64)
        if idx is None:  # IPVS lc: chosen one by one, in the loop
            legs = [(leg(np.full(n, b), 0), leg(np.full(n, b), 1)) for b in range(nb)]
            st = [np.where(reach[b] & (o[1] < MAX_TRANSMISSIONS) & (k[1] < MAX_TRANSMISSIONS),
                           OK if opened[b] else REFUSED, TIMEOUT).tolist()
                  for b, (o, k) in enumerate(legs)]
            p["lc"] = {"state": plane.proxy.least_connection(host, view), "view": view,
                       "host": host, "ips": ips, "gids": gids.tolist(), "clients": clients.tolist(),
                       "out": [o[0].tolist() for o, _ in legs],
                       "back": [k[0].tolist() for _, k in legs],
                       "status": st, "svc": [svc_by[dist_of[b]].tolist() for b in range(nb)],
                       "t0": plane.env.now}
            gid[:] = -2
            return p
        (out, lost_out), (back, lost_back) = leg(idx, 0), leg(idx, 1)
        gid[:] = gids[idx]
        lost = (lost_out >= MAX_TRANSMISSIONS) | (lost_back >= MAX_TRANSMISSIONS)
        status[~opened[idx]] = REFUSED
        status[~reach[idx] | lost] = TIMEOUT
        status[gid < 0] = REFUSED
        svc = svc_by[0] if len(dists) == 1 else np.choose(dist_of[idx], svc_by)
        p.update(out=out, back=back, svc=svc)
        return p


def _seed(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value % 2**63
    return zlib.crc32(repr(value).encode())


class TrafficHandle:
    """Traffic that flows in the background while the lesson advances time.

    Example:
        >>> import labsupport as ls
        >>> c = ls.connect(seed=0)
        >>> h = c.send_traffic("service/kubernetes", rps=10, duration=30, background=True)
        >>> h.done
        False
        >>> c.advance(30)
        >>> h.done, h.result().requests
        (True, 300)
        >>> h.result().error_kinds
        {'no endpoints': 300}
    """

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    @property
    def done(self) -> bool:
        """Whether every request has been sent."""
        return self._stream.plane.env.now >= self._stream.end

    @property
    def end(self) -> float:
        """The virtual time at which the traffic stops."""
        return self._stream.end

    def result(self) -> TrafficResult:
        """The result, once the traffic is over.

        Raises:
            Invalid: it is still running; advance the cluster first.
        """
        if not self.done:
            left = self._stream.end - self._stream.plane.env.now
            raise Invalid(f"the traffic is still running for {left:g} s; call "
                          f"cluster.advance({left:g}) first, or look at handle.snapshot()")
        return self._stream.result()

    def snapshot(self) -> TrafficResult:
        """What happened so far."""
        return self._stream.result()

    def stop(self) -> None:
        """Stop sending now."""
        self._stream.stop()

    def __repr__(self) -> str:
        state = "done" if self.done else f"running until t={self._stream.end:g}s"
        return f"<TrafficHandle {self._stream.target} {state}>"
