r"""A few PromQL functions over scrapes of the Prometheus text format.

A Prometheus server scrapes each target's ``/metrics`` every so often
(``scrape_interval``, 1 minute by default, 15 s or 30 s in most setups) and
keeps every sample with the time it read it. Its queries then work on
those samples. This module does what a handful of queries do, on two
scrapes you take yourself (``c.prometheus()`` on the simulator, or the text
of any real ``/metrics`` page):

* :func:`parse`: the text format, line by line, into samples;
* :func:`increase` and :func:`rate`: ``sum by (pod) (rate(x[30s]))``, a
  counter's growth between two scrapes, per second;
* :func:`histogram_quantile`: ``histogram_quantile(0.99, ...)`` from the
  cumulative ``_bucket`` counts of a histogram;
* :func:`quantiles`: the two together, per group of pods.

Example:
    >>> before = parse('http_requests_total{pod="a",code="200"} 10\n'
    ...                'http_requests_total{pod="b",code="200"} 4\n')
    >>> after = parse('http_requests_total{pod="a",code="200"} 40\n'
    ...               'http_requests_total{pod="b",code="200"} 4\n')
    >>> rate(before, after, 30, "http_requests_total")
    {'a': 1.0, 'b': 0.0}
    >>> histogram_quantile(0.5, [(0.1, 50.0), (0.2, 100.0), (float("inf"), 100.0)])
    0.1
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from labsupport.errors import Invalid

__all__ = ["Sample", "parse", "select", "increase", "rate", "histogram_quantile", "quantiles"]

#: How samples are grouped: by one label's value, or by a function of all the labels.
Group = str | Callable[[dict[str, str]], str]


class Sample(NamedTuple):
    """One line of the text format: a series name, its labels and its value."""

    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    r"""Every sample of a scrape, in the order of the text.

    ``# HELP`` and ``# TYPE`` lines describe a family and are skipped; a
    histogram family gives its ``_bucket`` (one per ``le``), ``_count`` and
    ``_sum`` series, and a counter its ``_total`` (and ``_created``).

    Example:
        >>> parse('# TYPE up gauge\nup{job="api"} 1\n')
        [Sample(name='up', labels={'job': 'api'}, value=1.0)]
    """
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return [Sample(s.name, dict(s.labels), float(s.value))
                for family in text_string_to_metric_families(text) for s in family.samples]
    except ValueError as e:
        raise Invalid(f"this is not the Prometheus text format: {e}") from None


def select(samples: Sequence[Sample], name: str, **labels: str) -> list[Sample]:
    r"""The samples of one series name whose labels have the given values.

    Example:
        >>> s = parse('x{pod="a"} 1\nx{pod="b"} 2\ny{pod="a"} 3\n')
        >>> [v.value for v in select(s, "x", pod="b")]
        [2.0]
    """
    return [s for s in samples if s.name == name
            and all(s.labels.get(k) == v for k, v in labels.items())]


def _key(group: Group, labels: dict[str, str]) -> str:
    return group(labels) if callable(group) else labels.get(group, "")


def _ident(s: Sample) -> tuple:
    return s.name, tuple(sorted(s.labels.items()))


def increase(before: Sequence[Sample], after: Sequence[Sample], name: str,
             by: Group = "pod", **labels: str) -> dict[str, float]:
    r"""How much a counter grew between two scrapes, summed per group.

    A series that is new in ``after`` counts from 0 (its pod started in
    between). A value that went down means the process restarted and its
    counter began again at 0, so the whole later value is the growth, as
    Prometheus' ``increase`` treats a counter reset (promql/functions.go,
    ``extrapolatedRate``); unlike Prometheus, no extrapolation to the edges
    of a range is done.

    Example:
        >>> a = parse('c_total{pod="x"} 5\n')
        >>> b = parse('c_total{pod="x"} 3\nc_total{pod="y"} 2\n')
        >>> increase(a, b, "c_total")
        {'x': 3.0, 'y': 2.0}
    """
    old = {_ident(s): s.value for s in select(before, name, **labels)}
    out: dict[str, float] = {}
    for s in select(after, name, **labels):
        prev = old.get(_ident(s), 0.0)
        grown = s.value - prev if s.value >= prev else s.value
        key = _key(by, s.labels)
        out[key] = out.get(key, 0.0) + grown
    return dict(sorted(out.items()))


def rate(before: Sequence[Sample], after: Sequence[Sample], seconds: float, name: str,
         by: Group = "pod", **labels: str) -> dict[str, float]:
    """Per-second growth of a counter between two scrapes ``seconds`` apart, per group.

    What ``sum by (pod) (rate(name[30s]))`` answers, from two scrapes.

    Raises:
        Invalid: ``seconds`` is not positive.
    """
    if not seconds > 0:
        raise Invalid(f"seconds between the scrapes must be more than 0, got {seconds!r}")
    return {k: v / seconds for k, v in increase(before, after, name, by, **labels).items()}


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """The ``q`` quantile from cumulative buckets ``(le, count)``, as PromQL estimates it.

    The rule of ``bucketQuantile`` (prometheus promql/quantile.go): find the
    first bucket whose cumulative count reaches ``q`` times the total, and
    assume its observations spread evenly between the bucket's lower and
    upper bound. In the ``+Inf`` bucket the answer is the highest finite
    bound; with no observations, or no ``+Inf`` bucket, it is NaN.

    Example:
        >>> b = [(0.1, 90.0), (0.5, 98.0), (1.0, 100.0), (float("inf"), 100.0)]
        >>> histogram_quantile(0.99, b)
        0.75
        >>> histogram_quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)])
        nan
    """
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    rows = sorted((float(le), float(n)) for le, n in buckets)
    if len(rows) < 2 or rows[-1][0] != math.inf:
        return math.nan
    for i in range(1, len(rows)):  # counts must not go down (a scrape mid-update)
        if rows[i][1] < rows[i - 1][1]:
            rows[i] = (rows[i][0], rows[i - 1][1])
    total = rows[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    b = next(i for i, (_, n) in enumerate(rows) if n >= rank)
    if b == len(rows) - 1:
        return rows[-2][0]
    if b == 0 and rows[0][0] <= 0:
        return rows[0][0]
    start, below = (0.0, 0.0) if b == 0 else rows[b - 1]
    end, count = rows[b][0], rows[b][1] - below
    return start + (end - start) * (rank - below) / count


def quantiles(q: float, after: Sequence[Sample], before: Sequence[Sample] = (),
              name: str = "http_request_duration_seconds", by: Group = "pod",
              **labels: str) -> dict[str, float]:
    r"""``histogram_quantile(q, sum by (le, <group>) (increase(name_bucket[...])))``.

    The buckets of each group are summed over its series (the pods of a
    Deployment, say), using only the requests between the two scrapes
    (all of them when ``before`` is empty), then :func:`histogram_quantile`.

    Example:
        >>> text = ('h_bucket{pod="a",le="0.1"} 9\nh_bucket{pod="a",le="1.0"} 10\n'
        ...         'h_bucket{pod="a",le="+Inf"} 10\n')
        >>> {pod: round(v, 4) for pod, v in quantiles(0.5, parse(text), name="h").items()}
        {'a': 0.0556}
    """
    grown: dict[str, dict[float, float]] = {}
    for le_label in {s.labels.get("le") for s in select(after, f"{name}_bucket", **labels)}:
        if le_label is None:
            continue
        part = increase(before, after, f"{name}_bucket",
                        lambda lab: f"{_key(by, lab)}\0{lab.get('le')}", le=le_label, **labels)
        for key, n in part.items():
            group, le = key.split("\0")
            grown.setdefault(group, {})[float(le)] = n
    return {g: histogram_quantile(q, list(b.items())) for g, b in sorted(grown.items())}
