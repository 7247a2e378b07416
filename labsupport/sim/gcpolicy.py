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

What the run made is mostly long-lived (pods, their workers, the store's
history). Left in the young generation, it would all be scanned by the first
collection after the run, then again by the next older one; instead it is
moved straight to the oldest generation (``gc.freeze()`` then
``gc.unfreeze()``, two constant-time list moves), where only the rare full
collections look at it, as they would at any old object. This is skipped if
the program froze objects itself (``gc.get_freeze_count()``), so a freeze made
before a fork is left alone.

Example:
    >>> import gc
    >>> from labsupport.sim.gcpolicy import paused_gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    >>> gc.get_freeze_count()
    0
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
        if gc.get_freeze_count() == 0:
            gc.freeze()  # everything tracked -> the permanent generation
            gc.unfreeze()  # ... -> the oldest generation; the young ones are empty
        gc.enable()
