"""Load balancing: a lead node spreads requests over servers, each with its own queue.

Requests arrive at random (Poisson), more or fewer per second as the
:class:`Scenario` says: steady, rising, or with a spike. For each request the
lead asks a *balancing policy* which server should take it. A server serves
its queue first come, first served, at its own speed. A request fails when
the chosen server's queue is full (*rejected*) or when it would take longer
than the client's timeout (*timeout*; a request still waiting then is dropped,
one already being served wastes that work).

A policy is a function ``policy(view, rng) -> server index``. ``view`` is a
:class:`View`: the queue lengths *as the lead last saw them* (with
``refresh > 0`` the servers report only every ``refresh`` seconds, so the view
can be stale), the servers' speeds, the request's number and the time.
``rng`` is a ``random.Random`` for policies that toss coins. Four policies
come with the course: :func:`round_robin`, :func:`random_server`,
:func:`least_loaded` and :func:`two_choices`.

Each server is a FIFO queue, so the simulation computes when each request
leaves its server directly, request by request, instead of scheduling simpy
events: the same discrete-event simulation, fast enough to sweep a dozen
loads in a second. The same seed gives the same arrivals and the same work
per request whatever the policy, so policies are compared on identical
traffic.

Example:
    >>> run = simulate(Scenario(servers=4, load=0.5, duration=60), two_choices)
    >>> run.requests, run.errors
    (1156, 0)
    >>> round(run.p50, 3), round(run.p99, 3)
    (0.098, 0.7)
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from labsupport.errors import Invalid

__all__ = ["View", "Scenario", "BalanceRun", "Balancer", "simulate", "replay",
           "round_robin", "random_server", "least_loaded", "two_choices", "BALANCERS",
           "scenario_runner"]


@dataclass(frozen=True)
class View:
    """What the lead knows when it places one request.

    Attributes:
        queues: requests at each server (waiting or being served), as last reported.
        speeds: each server's speed (2.0 serves a request in half the time).
        request: the request's number, 0, 1, 2... in order of arrival.
        now: the time, in seconds.
        age: how old ``queues`` is, in seconds (0 when the lead sees them live).
    """

    queues: tuple[int, ...]
    speeds: tuple[float, ...]
    request: int = 0
    now: float = 0.0
    age: float = 0.0


#: ``policy(view, rng) -> index of the server that gets the request``
Balancer = Callable[[View, random.Random], int]


def round_robin(view: View, rng: random.Random) -> int:
    """Take turns: request k goes to server k mod n, whatever the queues.

    Example:
        >>> round_robin(View((5, 0, 0), (1, 1, 1), request=3), random.Random(0))
        0
    """
    return view.request % len(view.queues)


def random_server(view: View, rng: random.Random) -> int:
    """Pick any server, each equally likely (no information used at all).

    Example:
        >>> random_server(View((0, 0, 0), (1, 1, 1)), random.Random(1))
        0
    """
    return rng.randrange(len(view.queues))


def least_loaded(view: View, rng: random.Random) -> int:
    """Join the shortest queue the lead sees (the lowest index on a tie).

    Example:
        >>> least_loaded(View((3, 1, 1), (1, 1, 1)), random.Random(0))
        1
    """
    queues = view.queues
    return min(range(len(queues)), key=queues.__getitem__)


def two_choices(view: View, rng: random.Random) -> int:
    """The power of two choices: look at two random servers, take the shorter queue.

    Example:
        >>> two_choices(View((9, 0, 9, 9), (1, 1, 1, 1)), random.Random(3))
        1
    """
    n = len(view.queues)
    if n == 1:
        return 0
    a, b = rng.sample(range(n), 2)
    return a if view.queues[a] <= view.queues[b] else b


#: The course's policies, by the names the pictures use.
BALANCERS: dict[str, Balancer] = {"round robin": round_robin, "random": random_server,
                                  "least loaded": least_loaded, "two choices": two_choices}


@dataclass(frozen=True)
class Scenario:
    """The servers and the traffic of one experiment (plain data: it travels as JSON).

    Attributes:
        servers: how many servers (ignored when ``speeds`` is given).
        load: how busy the servers are on average: requests per second times
            mean work, divided by the total speed (0.8 = 80% busy).
        work: mean seconds a request takes on a speed-1 server (exponential).
        duration: seconds of traffic.
        speeds: each server's speed; all 1.0 by default.
        rising_to: when set, the load rises in a straight line from ``load``
            at the start to this at the end.
        spike: ``(start, end, load)``: a burst of traffic between two times.
        refresh: seconds between the servers' reports of their queues;
            0 means the lead sees every queue live.
        queue_limit: a server with this many requests rejects new ones.
        timeout: seconds a client waits before it gives up.
        seed: the same seed gives the same arrivals and work.
    """

    servers: int = 8
    load: float = 0.7
    work: float = 0.1
    duration: float = 120.0
    speeds: tuple[float, ...] | None = None
    rising_to: float | None = None
    spike: tuple[float, float, float] | None = None
    refresh: float = 0.0
    queue_limit: int = 50
    timeout: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.speeds is not None:
            speeds = tuple(float(s) for s in self.speeds)
            if not speeds or any(not s > 0 for s in speeds):
                raise Invalid(f"speeds must be positive numbers, one per server, got {speeds!r}")
            object.__setattr__(self, "speeds", speeds)
            object.__setattr__(self, "servers", len(speeds))
        if not (isinstance(self.servers, int) and self.servers >= 1):
            raise Invalid(f"servers must be a whole number of at least 1, got {self.servers!r}")
        for name in ("load", "work", "duration", "timeout"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise Invalid(f"Scenario {name} must be a positive number, got {value!r}")
        if self.rising_to is not None and not self.rising_to > 0:
            raise Invalid(f"rising_to must be a positive load, got {self.rising_to!r}")
        if self.spike is not None:
            spike = tuple(float(x) for x in self.spike)
            if len(spike) != 3 or not 0 <= spike[0] < spike[1] or not spike[2] > 0:
                raise Invalid("spike is (start, end, load) with start < end, e.g. "
                              f"(40, 60, 1.3), got {self.spike!r}")
            object.__setattr__(self, "spike", spike)
        if not self.refresh >= 0:
            raise Invalid(f"refresh must be 0 or more seconds, got {self.refresh!r}")
        if not (isinstance(self.queue_limit, int) and self.queue_limit >= 1):
            raise Invalid(f"queue_limit must be a whole number of at least 1, "
                          f"got {self.queue_limit!r}")

    @property
    def speed_list(self) -> tuple[float, ...]:
        """Each server's speed."""
        return self.speeds if self.speeds is not None else (1.0,) * self.servers

    def load_at(self, t: float) -> float:
        """The load at time ``t`` (the spike, the ramp or the steady load).

        Example:
            >>> Scenario(load=0.5, rising_to=0.9, duration=100).load_at(50)
            0.7
        """
        if self.spike is not None and self.spike[0] <= t < self.spike[1]:
            return self.spike[2]
        if self.rising_to is not None:
            return self.load + (self.rising_to - self.load) * min(1.0, t / self.duration)
        return self.load

    def rate_at(self, t: float) -> float:
        """Requests per second arriving at time ``t``."""
        return self.load_at(t) * sum(self.speed_list) / self.work

    def to_dict(self) -> dict[str, Any]:
        """The scenario as JSON-ready data (:meth:`from_dict` reads it back)."""
        out = asdict(self)
        for key in ("speeds", "spike"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """A scenario from :meth:`to_dict`'s data (unknown keys are refused)."""
        if isinstance(data, Scenario):
            return data
        if not isinstance(data, Mapping):
            raise Invalid(f"a scenario is a dict of Scenario fields, got {data!r}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise Invalid(f"unknown scenario fields {unknown}; fields are {sorted(known)}")
        fields = dict(data)
        for key in ("speeds", "spike"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        return cls(**fields)

    def but(self, **changes: Any) -> Scenario:
        """A copy with some fields changed: ``scenario.but(load=0.9)``."""
        return replace(self, **changes)


OK, REJECTED, TIMEOUT = "ok", "rejected", "timeout"


@dataclass(frozen=True)
class BalanceRun:
    """What happened to every request of one simulated run.

    Attributes:
        scenario: the scenario.
        policy: the policy's name.
        arrivals: when each request arrived, in order.
        servers: the server each request was sent to.
        latencies: seconds from arrival to answer (NaN for a failed request).
        outcomes: ``"ok"``, ``"rejected"`` or ``"timeout"`` for each request.
        busy: seconds each server spent serving.
    """

    scenario: Scenario
    policy: str
    arrivals: tuple[float, ...]
    servers: tuple[int, ...]
    latencies: tuple[float, ...]
    outcomes: tuple[str, ...]
    busy: tuple[float, ...] = field(default=())

    @property
    def requests(self) -> int:
        """How many requests arrived."""
        return len(self.arrivals)

    @property
    def errors(self) -> int:
        """Requests rejected or timed out."""
        return sum(o != OK for o in self.outcomes)

    @property
    def error_rate(self) -> float:
        """The share of requests that failed (0.01 = 1%)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def decisions(self) -> list[int]:
        """The server chosen for each request (what :func:`replay` needs)."""
        return list(self.servers)

    def percentile(self, q: float, since: float = 0.0, until: float = math.inf) -> float:
        """The ``q`` percentile (99 for p99) of the answered requests' latency, in seconds.

        Only requests that arrived in ``[since, until)`` count; NaN when none did.
        """
        values = sorted(lat for t, lat, o in zip(self.arrivals, self.latencies, self.outcomes,
                                                  strict=True)
                        if o == OK and since <= t < until)
        if not values:
            return math.nan
        rank = max(0, math.ceil(q / 100 * len(values)) - 1)
        return values[rank]

    @property
    def p50(self) -> float:
        """Median latency of answered requests, in seconds."""
        return self.percentile(50)

    @property
    def p95(self) -> float:
        """95th percentile latency, in seconds."""
        return self.percentile(95)

    @property
    def p99(self) -> float:
        """99th percentile latency, in seconds."""
        return self.percentile(99)

    @property
    def mean(self) -> float:
        """Mean latency of answered requests, in seconds."""
        ok = [lat for lat, o in zip(self.latencies, self.outcomes, strict=True) if o == OK]
        return sum(ok) / len(ok) if ok else math.nan

    def window(self, since: float, until: float) -> dict[str, float]:
        """p50, p99 and error rate of the requests that arrived in ``[since, until)``."""
        picked = [o for t, o in zip(self.arrivals, self.outcomes, strict=True)
                  if since <= t < until]
        errors = sum(o != OK for o in picked)
        return {"requests": len(picked), "p50": self.percentile(50, since, until),
                "p99": self.percentile(99, since, until),
                "error_rate": errors / len(picked) if picked else 0.0}

    def per_server(self) -> list[dict[str, Any]]:
        """One row per server: speed, requests, share, how busy (at most 1), errors and p99.

        This is what you learn by gathering every server's own log in one place.
        """
        n = self.scenario.servers
        speeds = self.scenario.speed_list
        rows = []
        for i in range(n):
            mine = [(lat, o) for s, lat, o in zip(self.servers, self.latencies, self.outcomes,
                                                   strict=True) if s == i]
            ok = sorted(lat for lat, o in mine if o == OK)
            p99 = ok[max(0, math.ceil(0.99 * len(ok)) - 1)] if ok else math.nan
            rows.append({"server": f"server-{i + 1}", "speed": speeds[i], "requests": len(mine),
                         "share": len(mine) / self.requests if self.requests else 0.0,
                         "busy": min(1.0, self.busy[i] / self.scenario.duration)
                         if self.busy else 0.0,
                         "errors": sum(o != OK for _, o in mine), "p99": p99})
        return rows

    def summary(self) -> dict[str, Any]:
        """The run's key numbers as plain data."""
        return {"policy": self.policy, "requests": self.requests, "p50": self.p50,
                "p95": self.p95, "p99": self.p99, "error_rate": self.error_rate,
                "rejected": sum(o == REJECTED for o in self.outcomes),
                "timeouts": sum(o == TIMEOUT for o in self.outcomes)}

    def __repr__(self) -> str:
        return (f"<BalanceRun {self.policy} on {self.scenario.servers} servers: "
                f"{self.requests} requests, p50 {self.p50:.3f} s, p99 {self.p99:.3f} s, "
                f"{self.error_rate:.1%} errors>")


def _traffic(scenario: Scenario) -> tuple[list[float], list[float]]:
    """Arrival times (Poisson, thinned to follow the load) and each request's work."""
    rng = random.Random(f"{scenario.seed}:arrivals")
    work_rng = random.Random(f"{scenario.seed}:work")
    loads = [scenario.load, scenario.rising_to or 0.0, scenario.spike[2] if scenario.spike else 0]
    peak = max(loads) * sum(scenario.speed_list) / scenario.work
    times, works = [], []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= scenario.duration:
            return times, works
        if rng.random() * peak <= scenario.rate_at(t):
            times.append(t)
            works.append(work_rng.expovariate(1.0 / scenario.work))


def _policy_name(policy: Balancer) -> str:
    for name, known in BALANCERS.items():
        if policy is known:
            return name
    return getattr(policy, "__name__", type(policy).__name__)


def simulate(scenario: Scenario | Mapping[str, Any], policy: Balancer | str) -> BalanceRun:
    """Run ``scenario`` with the lead placing each request by ``policy``.

    Args:
        scenario: a :class:`Scenario` (or its dict).
        policy: a function ``policy(view, rng) -> server index``, or the name
            of one of :data:`BALANCERS`.

    Returns:
        a :class:`BalanceRun`.

    Raises:
        Invalid: the policy returned something that is not a server index.

    Example:
        >>> s = Scenario(servers=4, load=0.9, duration=60)
        >>> round(simulate(s, "random").p99, 2), round(simulate(s, "two choices").p99, 2)
        (1.95, 1.27)
    """
    scenario = Scenario.from_dict(scenario)
    if isinstance(policy, str):
        if policy not in BALANCERS:
            raise Invalid(f"unknown policy {policy!r}; policies are {sorted(BALANCERS)}")
        policy = BALANCERS[policy]
    if not callable(policy):
        raise Invalid(f"a policy is a function policy(view, rng) -> server index, got {policy!r}")
    speeds = scenario.speed_list
    n = len(speeds)
    times, works = _traffic(scenario)
    rng = random.Random(f"{scenario.seed}:policy")
    leave: list[deque[float]] = [deque() for _ in range(n)]   # when each queued request leaves
    free_at = [0.0] * n
    busy = [0.0] * n
    refresh, seen, seen_at = scenario.refresh, (0,) * n, 0.0
    servers, latencies, outcomes = [], [], []
    for k, (t, work) in enumerate(zip(times, works, strict=True)):
        if refresh:
            report = math.floor(t / refresh) * refresh
            if report > seen_at or k == 0:
                for q in leave:
                    while q and q[0] <= report:
                        q.popleft()
                seen, seen_at = tuple(len(q) for q in leave), report
        for q in leave:
            while q and q[0] <= t:
                q.popleft()
        live = tuple(len(q) for q in leave)
        view = View(seen if refresh else live, speeds, k, t, t - seen_at if refresh else 0.0)
        choice = policy(view, rng)
        if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < n:
            raise Invalid(f"the policy {_policy_name(policy)} returned {choice!r} for request "
                          f"{k}; it must return a server index, a whole number from 0 to {n - 1}")
        servers.append(choice)
        if live[choice] >= scenario.queue_limit:
            latencies.append(math.nan)
            outcomes.append(REJECTED)
            continue
        start = max(t, free_at[choice])
        if start - t >= scenario.timeout:            # its client left before its turn came
            leave[choice].append(start)
            latencies.append(math.nan)
            outcomes.append(TIMEOUT)
            continue
        service = work / speeds[choice]
        free_at[choice] = start + service
        busy[choice] += service
        leave[choice].append(start + service)
        latency = start + service - t
        latencies.append(latency if latency <= scenario.timeout else math.nan)
        outcomes.append(OK if latency <= scenario.timeout else TIMEOUT)
    return BalanceRun(scenario, _policy_name(policy), tuple(times), tuple(servers),
                      tuple(latencies), tuple(outcomes), tuple(busy))


def replay(scenario: Scenario | Mapping[str, Any], decisions: Sequence[int],
           name: str = "replayed") -> BalanceRun:
    """Run ``scenario`` again with the server of each request given in advance.

    The traffic depends only on the seed, so the choices of any policy can be
    replayed exactly, and its latency measured again, without the policy.

    Raises:
        Invalid: not one decision per request.

    Example:
        >>> s = Scenario(servers=3, load=0.6, duration=30)
        >>> run = simulate(s, "two choices")
        >>> replay(s, run.decisions).p99 == run.p99
        True
    """
    scenario = Scenario.from_dict(scenario)
    wanted = len(_traffic(scenario)[0])
    if not isinstance(decisions, Sequence) or len(decisions) != wanted:
        got = len(decisions) if isinstance(decisions, Sequence) else repr(decisions)[:40]
        raise Invalid(f"this scenario has {wanted} requests, so it needs {wanted} decisions; "
                      f"got {got}")

    def given(view: View, rng: random.Random) -> int:
        return decisions[view.request]
    given.__name__ = name
    return simulate(scenario, given)


def scenario_runner(policy: Balancer) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A function that runs your policy on a scenario and returns its choices, as JSON data.

    The grader calls it with each of its scenarios and replays the choices on
    its own copy of the simulator, so it measures latency itself. The choices
    come in rows of 1000 (``decisions``), the server of request ``k`` at
    ``[k // 1000][k % 1000]``.

    Example:
        >>> run = scenario_runner(least_loaded)
        >>> out = run(Scenario(servers=2, duration=5).to_dict())
        >>> out["policy"], len(out["decisions"][0]) > 0
        ('labsupport.dc.balance.least_loaded', True)
    """
    def run(scenario: Mapping[str, Any]) -> dict[str, Any]:
        result = simulate(scenario, policy)
        module = getattr(policy, "__module__", "") or ""
        qualified = getattr(policy, "__qualname__", _policy_name(policy))
        chosen = result.decisions      # in rows of 1000: the grader's JSON keeps lists short
        return {"policy": f"{module}.{qualified}" if module.startswith("labsupport") else
                qualified, "decisions": [chosen[i:i + 1000] for i in range(0, len(chosen), 1000)]}
    run.__name__ = f"run_{getattr(policy, '__name__', 'policy')}"
    return run
