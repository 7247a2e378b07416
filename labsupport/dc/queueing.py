"""What queueing theory predicts for a server, or a group of servers, under Poisson traffic.

Requests arrive at random (a Poisson process of ``arrival`` per second) and each
takes an exponentially distributed time to serve (``service`` requests per
second on average): the textbook M/M/1 queue. Its latency, waiting plus
service, is itself exponential with rate ``service - arrival``, so the mean
and every percentile have a closed form. With ``c`` servers sharing one queue
(M/M/c), Erlang's C formula gives the chance that a request has to wait.

These formulas check the simulator of :mod:`labsupport.dc.balance`: sending
each request to a random one of ``n`` servers makes each an M/M/1 queue with
``arrival / n``; one shared queue is the best any balancer can do.

Example:
    >>> round(mm1_latency(8, 10), 3)            # 80% busy: 5 times the bare 0.1 s
    0.5
    >>> round(mm1_percentile(0.99, 8, 10), 2)   # the p99 is ln(100) times the mean
    2.3
    >>> round(erlang_c(2, 1.0), 3)              # 2 servers, 50% busy each
    0.333
"""

from __future__ import annotations

import math

from labsupport.errors import Invalid

__all__ = ["mm1_latency", "mm1_percentile", "erlang_c", "mmc_latency"]


def _rates(arrival: float, service: float, servers: int = 1) -> None:
    if not (isinstance(arrival, (int, float)) and arrival >= 0):
        raise Invalid(f"the arrival rate must be 0 or more requests per second, got {arrival!r}")
    if not (isinstance(service, (int, float)) and service > 0):
        raise Invalid(f"the service rate must be positive requests per second, got {service!r}")
    if arrival >= servers * service:
        raise Invalid(f"{arrival:g} requests/s arrive but {servers} server(s) serve at most "
                      f"{servers * service:g}/s: the queue grows forever and has no steady "
                      "latency")


def mm1_latency(arrival: float, service: float) -> float:
    """Mean latency (wait + service) of an M/M/1 queue: ``1 / (service - arrival)`` seconds.

    Args:
        arrival: requests per second reaching the server.
        service: requests per second the server can serve (1 / mean service time).

    Raises:
        Invalid: a negative rate, or ``arrival >= service`` (no steady state).

    Example:
        >>> mm1_latency(0, 10)
        0.1
    """
    _rates(arrival, service)
    return 1.0 / (service - arrival)


def mm1_percentile(q: float, arrival: float, service: float) -> float:
    """The ``q`` quantile (0.99 for p99) of M/M/1 latency: ``-ln(1 - q) / (service - arrival)``.

    Example:
        >>> round(mm1_percentile(0.5, 0, 10), 4)    # the median of a bare 0.1 s service
        0.0693
    """
    if not 0 < q < 1:
        raise Invalid(f"a quantile is between 0 and 1 (0.99 for p99), got {q!r}")
    _rates(arrival, service)
    return -math.log(1.0 - q) / (service - arrival)


def erlang_c(servers: int, offered: float) -> float:
    """Erlang's C formula: the chance a request waits in an M/M/c queue.

    Args:
        servers: ``c``, the servers sharing one queue.
        offered: the offered load in erlangs, ``arrival / service`` (below ``servers``).

    Example:
        >>> round(erlang_c(1, 0.8), 3)      # one server: it waits when the server is busy
        0.8
    """
    if not (isinstance(servers, int) and servers >= 1):
        raise Invalid(f"servers must be a whole number of at least 1, got {servers!r}")
    if not 0 <= offered < servers:
        raise Invalid(f"the offered load must be between 0 and {servers} erlangs "
                      f"({servers} servers), got {offered!r}")
    term, total = 1.0, 1.0            # a^k / k!, summed for k < c
    for k in range(1, servers):
        term *= offered / k
        total += term
    last = term * offered / servers * servers / (servers - offered)
    return last / (total + last)


def mmc_latency(servers: int, arrival: float, service: float) -> float:
    """Mean latency of ``servers`` servers sharing one queue (M/M/c).

    ``erlang_c / (c * service - arrival) + 1 / service``: the wait, if any, plus
    the service itself.

    Example:
        >>> round(mmc_latency(8, 64, 10), 3)    # 8 servers at 80%: hardly above 0.1 s
        0.129
    """
    _rates(arrival, service, servers)
    return erlang_c(servers, arrival / service) / (servers * service - arrival) + 1.0 / service
