"""The garbage collector pauses while the simulation runs.

A large simulated cluster holds millions of small dicts. Python's cyclic
garbage collector rescans the young ones over and over as new objects are
made: in the 150,000-pod benchmark that was about a tenth of the run time,
for nothing, because the simulator makes no reference cycles while it runs
(a pod's worker, its processes and its status are freed by reference
counting when the pod goes; ``tests/sim/test_gcpolicy.py`` checks that a run
with scaling, rolling updates and deletions leaves no cyclic garbage).

So :meth:`SimCluster.advance` pauses the collector while it runs and resumes
it when it returns: the rest of the notebook, and any cycles a discarded
cluster leaves behind, are collected as usual. A collector the user turned
off stays off.

What the run made stays in the young generation, so the collections after
the run scan it once more (about 2 % of the 150,000-pod benchmark). Moving it
straight to the oldest generation (``gc.freeze()`` + ``gc.unfreeze()``) would
save that, but was tried and dropped: objects moved that way are not counted
by the rule that triggers full collections, so the clusters of a seed sweep
(``for seed in ...: c = ls.connect(seed=seed)``) were never freed.

Example:
    >>> import gc
    >>> from labsupport.sim.gcpolicy import paused_gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause automatic garbage collection for the duration of the block."""
    if not gc.isenabled():  # nested call, or turned off by the user
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
