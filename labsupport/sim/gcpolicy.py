"""Fewer garbage-collector passes while the simulation runs.

A large simulated cluster holds millions of small dicts; Python's cyclic
garbage collector rescans them over and over as new objects are made, which
cost about a fifth of the run time of the 150,000-pod benchmark. While
:meth:`SimCluster.advance` runs, collections are made rarer; the previous
thresholds come back when it returns, so nothing changes for the rest of the
notebook.

Example:
    >>> import gc
    >>> from labsupport.sim.gcpolicy import relaxed_gc
    >>> before = gc.get_threshold()
    >>> with relaxed_gc():
    ...     gc.get_threshold()[0] > before[0]
    True
    >>> gc.get_threshold() == before
    True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["relaxed_gc"]

# Generation-0 collections after this many new container objects (default 700).
THRESHOLDS = (200_000, 50, 1000)


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the collector's thresholds for the duration of the block."""
    before = gc.get_threshold()
    if before[0] >= THRESHOLDS[0]:  # already relaxed (nested call) or set higher by the user
        yield
        return
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
