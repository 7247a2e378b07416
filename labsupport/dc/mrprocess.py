"""MapReduce for real: map and reduce tasks in a pool of processes on this machine.

The simulated cluster shows what *would* happen on many machines; this runs
the same job in ``processes`` operating-system processes, each with its own
Python interpreter and memory, and measures the wall time of each phase. The
shuffle goes through the parent process: each map task sends its buckets
back, the parent gathers each partition's pairs and hands them to a reduce
task. The output is exactly :func:`~labsupport.dc.mapreduce.run_local`'s.

**Sending functions to processes.** A process cannot see the notebook's
variables. On Linux the pool starts with ``fork``: each process is a copy of
this one, so it already has your ``mapper`` and ``reducer``, even ones made
in a notebook cell or with ``lambda``. Where ``fork`` does not exist
(Windows, and macOS by default), processes start fresh (``spawn``) and the
functions must be *picklable*: defined at the top level of an importable
``.py`` module. :func:`run_processes` says so clearly when they are not.

Example:
    >>> from labsupport.dc.mapreduce import run_local
    >>> def mapper(line):
    ...     return [(w, 1) for w in line.split()]
    >>> def reducer(word, counts):
    ...     return sum(counts)
    >>> lines = ["a b a", "b c", "a"] * 10
    >>> real = run_processes(mapper, reducer, lines, processes=2, partitions=2)
    >>> real.output == run_local(mapper, reducer, lines, partitions=2).output
    True
    >>> sorted(real.times)
    ['map', 'reduce', 'start', 'total']
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from collections.abc import Hashable, Sequence
from typing import Any

from labsupport.dc.mapreduce import (
    Mapper,
    MapReduceResult,
    Reducer,
    _check_counts,
    _ordered,
    map_task,
    reduce_partition,
    shuffle,
    split_records,
    summarise,
)
from labsupport.errors import Invalid

__all__ = ["run_processes", "start_method"]

# The job a pool process works on, set once per process by _setup.
_JOB: tuple[Mapper, Reducer, Reducer | None, int] | None = None


def _setup(mapper: Mapper, reducer: Reducer, combiner: Reducer | None, partitions: int) -> None:
    global _JOB
    _JOB = (mapper, reducer, combiner, partitions)


def _map_in_process(records: list[Any]) -> tuple[int, list[list[tuple[Hashable, Any]]]]:
    assert _JOB is not None
    mapper, _reducer, combiner, partitions = _JOB
    return map_task(mapper, records, partitions, combiner)


def _reduce_in_process(pairs: list[tuple[Hashable, Any]]) -> dict[Hashable, Any]:
    assert _JOB is not None
    return reduce_partition(_JOB[1], pairs)


def start_method() -> str:
    """How pool processes start here: ``"fork"`` where it exists (Linux), else ``"spawn"``.

    Example:
        >>> start_method() in ("fork", "spawn")
        True
    """
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _require_picklable(functions: dict[str, Any]) -> None:
    for role, fn in functions.items():
        if fn is None:
            continue
        try:
            pickle.dumps(fn)
        except Exception:  # noqa: BLE001 - pickling can fail in many ways
            name = getattr(fn, "__qualname__", repr(fn))
            raise Invalid(
                f"the {role} {name} cannot be sent to worker processes: this system starts "
                "them with 'spawn' (no 'fork'), so functions must be defined at the top level "
                "of a .py module and imported (not a lambda, not a notebook cell); or use "
                "run_local") from None


def run_processes(mapper: Mapper, reducer: Reducer, records: Sequence[Any], *,
                  processes: int = 2, partitions: int | None = None,
                  combiner: Reducer | None = None, maps: int | None = None) -> MapReduceResult:
    """Run a MapReduce job in a pool of ``processes`` processes and time each phase.

    Args:
        mapper: ``mapper(record)`` returns or yields ``(key, value)`` pairs.
        reducer: ``reducer(key, values)`` returns the output for ``key``.
        records: the input.
        processes: how many processes work at once.
        partitions: reduce partitions; ``processes`` by default.
        combiner: optional, as in :func:`~labsupport.dc.mapreduce.run_local`.
        maps: map tasks; ``2 * processes`` by default.

    Returns:
        a :class:`~labsupport.dc.mapreduce.MapReduceResult` whose ``times``
        are measured wall-clock seconds: ``start`` (starting the processes),
        ``map`` (map tasks, combiner included), ``reduce`` (shuffle and
        reduce tasks) and ``total``. They differ from run to run.

    Raises:
        Invalid: bad counts, or functions that cannot reach ``spawn``-ed
            processes.
    """
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise Invalid(f"processes must be a whole number of at least 1, got {processes!r}")
    partitions = processes if partitions is None else partitions
    maps = 2 * processes if maps is None else maps
    _check_counts(partitions, maps)
    records = list(records)
    method = start_method()
    if method == "spawn":
        _require_picklable({"mapper": mapper, "reducer": reducer, "combiner": combiner})
    context = multiprocessing.get_context(method)
    began = time.perf_counter()
    with context.Pool(processes, initializer=_setup,
                      initargs=(mapper, reducer, combiner, partitions)) as pool:
        pool.apply(time.perf_counter)       # wait until the processes are up
        started = time.perf_counter()
        outputs = pool.map(_map_in_process, split_records(records, maps), chunksize=1)
        mapped = time.perf_counter()
        parts = pool.map(_reduce_in_process, shuffle([b for _e, b in outputs], partitions),
                         chunksize=1)
        reduced = time.perf_counter()
    output: dict[Hashable, Any] = {}
    for part in parts:
        output.update(part)
    times = {"start": started - began, "map": mapped - started, "reduce": reduced - mapped,
             "total": reduced - began}
    return summarise(outputs, {k: output[k] for k in _ordered(output)}, len(records),
                     partitions, combiner is not None, times)
