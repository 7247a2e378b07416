"""MapReduce in plain Python: map, shuffle (partition by key), reduce. The reference.

A MapReduce job is two functions you write and one step the framework does:

1. **map**: ``mapper(record)`` returns (or yields) ``(key, value)`` pairs. The
   records are cut into *splits*, one per map task, and map tasks run
   independently on different machines.
2. **shuffle**: every pair goes to the reduce *partition* its key hashes to,
   so all the values of one key meet in one place. This is the step that
   crosses the network; its size is counted here in bytes, as the text
   ``"key<TAB>value<NEWLINE>"`` Hadoop Streaming would send.
3. **reduce**: ``reducer(key, values)`` turns all the values of one key into
   the output for that key.

An optional ``combiner(key, values)`` runs on each map task's own output
before the shuffle and returns one partial value per key. It only saves
network bytes: the reducer must give the same answer whether it gets raw
values or combined ones, so a combiner's value must look like a mapper's.

:func:`run_local` runs all of it in this process, one task after another.
The simulated cluster (:mod:`labsupport.dc.mrcluster`) and real processes
(:mod:`labsupport.dc.mrprocess`) use the same pieces and give the same output.

Example:
    >>> def mapper(line):
    ...     return [(word, 1) for word in line.split()]
    >>> def reducer(word, counts):
    ...     return sum(counts)
    >>> r = run_local(mapper, reducer, ["a b a", "b c", "a"], partitions=2)
    >>> r.output
    {'a': 3, 'b': 2, 'c': 1}
    >>> r  # doctest: +NORMALIZE_WHITESPACE
    <MapReduce 2 map tasks, 2 partitions: 3 records -> 6 pairs -> 3 keys;
     shuffled 6 pairs, 24 bytes>
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labsupport.errors import Invalid

__all__ = ["Mapper", "Reducer", "MapReduceResult", "run_local", "partition_of", "pair_bytes",
           "split_records", "map_task", "shuffle", "reduce_partition", "phase_plot"]

#: ``mapper(record) -> [(key, value), ...]`` (a list or a generator).
Mapper = Callable[[Any], Iterable[tuple[Hashable, Any]]]
#: ``reducer(key, values) -> value``; a combiner has the same shape.
Reducer = Callable[[Hashable, list[Any]], Any]


def partition_of(key: Hashable, partitions: int) -> int:
    """The reduce partition of ``key``: a hash of its text, modulo ``partitions``.

    Python's own ``hash`` of a string changes from process to process, so
    MapReduce systems use a hash of the key's bytes; so does this one, and a
    key lands in the same partition on every machine and every run.

    Example:
        >>> partition_of("the", 4), partition_of(12, 4), partition_of(12, 4)
        (3, 1, 1)
    """
    return zlib.crc32(repr(key).encode()) % partitions


def pair_bytes(key: Hashable, value: Any) -> int:
    """Bytes one pair takes on the wire, as the text line ``key<TAB>value<NEWLINE>``.

    Example:
        >>> pair_bytes("the", 1), pair_bytes(12, (17, 5))
        (6, 11)
    """
    return len(f"{key}\t{value}\n".encode())


def split_records(records: Sequence[Any], maps: int) -> list[list[Any]]:
    """Cut ``records`` into ``maps`` contiguous splits whose sizes differ by at most one.

    Example:
        >>> split_records(list(range(7)), 3)
        [[0, 1, 2], [3, 4], [5, 6]]
    """
    n = len(records)
    base, extra = divmod(n, maps)
    out, start = [], 0
    for i in range(maps):
        size = base + (1 if i < extra else 0)
        out.append(list(records[start:start + size]))
        start += size
    return out


def _pairs(mapper: Mapper, record: Any) -> list[tuple[Hashable, Any]]:
    name = getattr(mapper, "__name__", "mapper")
    try:
        emitted = mapper(record)
    except Invalid:
        raise
    if emitted is None:
        raise Invalid(f"{name}({_short(record)}) returned None; a mapper must return or yield "
                      "(key, value) pairs (did you forget `return` or `yield`?)")
    try:
        items = list(emitted)
    except TypeError:
        raise Invalid(f"{name}({_short(record)}) returned {_short(emitted)}; a mapper must "
                      "return a list of (key, value) pairs or yield them") from None
    for pair in items:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise Invalid(f"{name}({_short(record)}) produced {_short(pair)}; each item must "
                          "be a (key, value) pair")
        try:
            hash(pair[0])
        except TypeError:
            raise Invalid(f"{name}({_short(record)}) used the key {_short(pair[0])}, which "
                          "cannot be a key (lists and dicts cannot; use a tuple or a "
                          "string)") from None
    return items


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _group(pairs: Iterable[tuple[Hashable, Any]]) -> dict[Hashable, list[Any]]:
    groups: dict[Hashable, list[Any]] = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return groups


def map_task(mapper: Mapper, records: Sequence[Any], partitions: int,
             combiner: Reducer | None = None) -> tuple[int, list[list[tuple[Hashable, Any]]]]:
    """Run one map task: map every record, combine per key if asked, bucket by partition.

    Returns:
        ``(pairs the mapper emitted, buckets)``: ``buckets[p]`` are the pairs
        bound for reduce partition ``p``, in the order they were made.

    Example:
        >>> add = lambda key, values: sum(values)
        >>> n, buckets = map_task(lambda s: [(s, 1)], ["x", "y", "x"], 2, combiner=add)
        >>> n, buckets
        (3, [[('x', 2)], [('y', 1)]])
    """
    pairs = [pair for record in records for pair in _pairs(mapper, record)]
    emitted = len(pairs)
    if combiner is not None:
        pairs = [(key, combiner(key, values)) for key, values in _group(pairs).items()]
    buckets: list[list[tuple[Hashable, Any]]] = [[] for _ in range(partitions)]
    for key, value in pairs:
        buckets[partition_of(key, partitions)].append((key, value))
    return emitted, buckets


def shuffle(outputs: Sequence[Sequence[Sequence[tuple[Hashable, Any]]]],
            partitions: int) -> list[list[tuple[Hashable, Any]]]:
    """Gather, for each partition, its pairs from every map task (map task order).

    Example:
        >>> shuffle([[[("a", 1)], [("b", 1)]], [[("a", 2)], []]], 2)
        [[('a', 1), ('a', 2)], [('b', 1)]]
    """
    return [[pair for out in outputs for pair in out[p]] for p in range(partitions)]


def _ordered(keys: Iterable[Hashable]) -> list[Hashable]:
    keys = list(keys)
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


def reduce_partition(reducer: Reducer,
                     pairs: Sequence[tuple[Hashable, Any]]) -> dict[Hashable, Any]:
    """Run one reduce task: group its pairs by key and call ``reducer(key, values)`` per key.

    Example:
        >>> reduce_partition(lambda k, v: sum(v), [("b", 1), ("a", 2), ("b", 3)])
        {'a': 2, 'b': 4}
    """
    groups = _group(pairs)
    return {key: reducer(key, groups[key]) for key in _ordered(groups)}


@dataclass(frozen=True)
class MapReduceResult:
    """The output of a MapReduce job and what its shuffle moved.

    Attributes:
        output: ``{key: reducer's value}``, keys in sorted order.
        records: how many input records.
        maps: how many map tasks (splits).
        partitions: how many reduce partitions (reduce tasks).
        map_pairs: pairs the mappers emitted.
        shuffle_pairs: pairs that went into the shuffle (after the combiner).
        shuffle_bytes: bytes of those pairs (see :func:`pair_bytes`).
        bytes_matrix: ``bytes_matrix[m][p]``: bytes map task ``m`` sent to
            partition ``p``.
        pairs_by_partition: pairs each reduce partition receives.
        combiner: whether a combiner ran.
        times: measured or simulated seconds per phase (empty for
            :func:`run_local`).
    """

    output: dict[Hashable, Any]
    records: int
    maps: int
    partitions: int
    map_pairs: int
    shuffle_pairs: int
    shuffle_bytes: int
    bytes_matrix: tuple[tuple[int, ...], ...]
    pairs_by_partition: tuple[int, ...] = ()
    combiner: bool = False
    times: dict[str, float] = field(default_factory=dict)

    @property
    def bytes_by_partition(self) -> list[int]:
        """Shuffle bytes that each reduce partition receives."""
        return [sum(row[p] for row in self.bytes_matrix) for p in range(self.partitions)]

    def plot(self, title: str | None = None) -> Any:
        """Draw the shuffle: bytes each map task sends to each reduce task, and the totals.

        Returns:
            A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
        """
        from labsupport.viz.figures import new_figure
        from labsupport.viz.style import FONT, describe, style_axes

        fig = new_figure(min(9.0, 3.2 + 0.55 * self.partitions + 2.6), 0.32 * self.maps + 2.0)
        grid = fig.add_gridspec(1, 2, width_ratios=(max(self.partitions, 2), 2.2))
        ax, bx = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        ax.imshow(self.bytes_matrix, cmap="Oranges", aspect="auto", vmin=0)
        peak = max((b for row in self.bytes_matrix for b in row), default=0)
        for m, row in enumerate(self.bytes_matrix):
            for p, b in enumerate(row):
                ax.text(p, m, f"{b:,}", ha="center", va="center", fontsize=FONT["small"],
                        color="white" if b > 0.6 * peak else "black")
        ax.set_xticks(range(self.partitions), [f"r{p}" for p in range(self.partitions)])
        ax.set_yticks(range(self.maps), [f"map {m}" for m in range(self.maps)])
        style_axes(ax, xlabel="to reduce task", title="bytes sent")
        ax.grid(False)
        totals = self.bytes_by_partition
        bx.barh(range(self.partitions), totals, color="#dd8452")
        bx.set_yticks(range(self.partitions), [f"r{p}" for p in range(self.partitions)])
        bx.invert_yaxis()
        style_axes(bx, xlabel="bytes received", title=f"total {self.shuffle_bytes:,} bytes")
        if title:
            fig.suptitle(title, fontsize=FONT["title"])
        return describe(fig, (
            f"The shuffle of {self.maps} map tasks into {self.partitions} reduce tasks: "
            f"{self.shuffle_pairs:,} pairs, {self.shuffle_bytes:,} bytes; each reduce task "
            f"receives {', '.join(f'{b:,}' for b in totals)} bytes."))

    def __repr__(self) -> str:
        return (f"<MapReduce {self.maps} map tasks, {self.partitions} partitions: "
                f"{self.records:,} records -> {self.map_pairs:,} pairs -> {len(self.output):,} "
                f"keys; shuffled {self.shuffle_pairs:,} pairs, {self.shuffle_bytes:,} bytes>")


def _check_counts(partitions: Any, maps: Any) -> None:
    for name, value in (("partitions", partitions), ("maps", maps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise Invalid(f"{name} must be a whole number of at least 1, got {value!r}")


def summarise(outputs: Sequence[tuple[int, list[list[tuple[Hashable, Any]]]]],
              output: dict[Hashable, Any], records: int, partitions: int, combiner: bool,
              times: dict[str, float] | None = None) -> MapReduceResult:
    """Build a :class:`MapReduceResult` from each map task's ``(emitted, buckets)``."""
    matrix = tuple(tuple(sum(pair_bytes(k, v) for k, v in bucket) for bucket in buckets)
                   for _emitted, buckets in outputs)
    return MapReduceResult(
        output=output, records=records, maps=len(outputs), partitions=partitions,
        map_pairs=sum(e for e, _b in outputs),
        shuffle_pairs=sum(len(b) for _e, buckets in outputs for b in buckets),
        shuffle_bytes=sum(map(sum, matrix)), bytes_matrix=matrix,
        pairs_by_partition=tuple(sum(len(buckets[p]) for _e, buckets in outputs)
                                 for p in range(partitions)),
        combiner=combiner,
        times=dict(times or {}))


def run_local(mapper: Mapper, reducer: Reducer, records: Sequence[Any], *, partitions: int = 4,
              combiner: Reducer | None = None, maps: int | None = None) -> MapReduceResult:
    """Run a MapReduce job in this process: the reference every other run must match.

    Args:
        mapper: ``mapper(record)`` returns or yields ``(key, value)`` pairs.
        reducer: ``reducer(key, values)`` returns the output for ``key``.
        records: the input, e.g. lines of text or rating dicts.
        partitions: how many reduce partitions (reduce tasks).
        combiner: ``combiner(key, values)`` returns one partial value per key
            of each map task, before the shuffle; None for no combiner.
        maps: how many map tasks (splits); ``partitions`` by default.

    Returns:
        a :class:`MapReduceResult`.

    Raises:
        Invalid: a mapper that does not produce ``(key, value)`` pairs, or
            bad ``partitions``/``maps``.

    Example:
        >>> ratings = [{"movie": 1, "rating": 4}, {"movie": 2, "rating": 3},
        ...            {"movie": 1, "rating": 5}]
        >>> r = run_local(lambda r: [(r["movie"], r["rating"])],
        ...               lambda movie, stars: sum(stars) / len(stars), ratings, partitions=2)
        >>> r.output, r.shuffle_bytes
        ({1: 4.5, 2: 3.0}, 12)
    """
    maps = partitions if maps is None else maps
    _check_counts(partitions, maps)
    records = list(records)
    outputs = [map_task(mapper, split, partitions, combiner)
               for split in split_records(records, maps)]
    output: dict[Hashable, Any] = {}
    for bucket in shuffle([b for _e, b in outputs], partitions):
        output.update(reduce_partition(reducer, bucket))
    return summarise(outputs, {k: output[k] for k in _ordered(output)}, len(records),
                     partitions, combiner is not None)


def phase_plot(runs: dict[str, MapReduceResult], title: str | None = None) -> Any:
    """Compare the phase times of several runs (simulated or measured) as stacked bars.

    Args:
        runs: ``{label: result}``; each result's ``times`` has ``map`` and
            ``reduce`` seconds (and ``start`` for real processes).
        title: a title above the picture.

    Returns:
        A :class:`~labsupport.viz.figures.LabFigure`, with alt text.
    """
    from labsupport.viz.figures import new_figure
    from labsupport.viz.style import FONT, describe, style_axes

    if not runs or any(not r.times for r in runs.values()):
        raise Invalid("phase_plot needs results with times: from run_cluster(...).result "
                      "or run_processes(...)")
    colours = {"start": "#b0b0b0", "map": "#2b6cb0", "reduce": "#2e9e4f"}
    names = {"start": "starting processes", "map": "map", "reduce": "shuffle + reduce"}
    fig = new_figure(8.0, 0.5 * len(runs) + 1.6)
    ax = fig.add_subplot()
    labels = list(runs)
    drawn: set[str] = set()
    for row, label in enumerate(labels):
        left = 0.0
        for phase, colour in colours.items():
            width = runs[label].times.get(phase, 0.0)
            if width <= 0:
                continue
            ax.barh(row, width, left=left, color=colour, edgecolor="white",
                    label=None if phase in drawn else names[phase])
            drawn.add(phase)
            left += width
        ax.annotate(f"{left:.2f} s", (left, row), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=FONT["small"])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    style_axes(ax, xlabel="seconds", title=title)
    ax.legend(fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False)
    totals = {label: sum(r.times.get(p, 0.0) for p in colours) for label, r in runs.items()}
    return describe(fig, "Time per phase: " + "; ".join(
        f"{label} {t:.2f} s" for label, t in totals.items()) + ".")
