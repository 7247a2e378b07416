"""Timestamps in wall time while served, so that kubectl's ages read right.

The simulation's clock starts at 2025-01-01T00:00:00Z
(:data:`labsupport.sim.clock.EPOCH`), and every timestamp it writes
(``creationTimestamp``, condition times, event times) counts from there.
kubectl computes some ages on its own, from *its* wall clock: the Age of the
events in ``kubectl describe``, ``Start Time``, ``kubectl get -o yaml`` read
by a person. Against a simulation that started "in 2025" they read ``701d``.

So while served, the server moves every timestamp it sends by one offset,
``wall time now - simulated time now`` (whole seconds), and moves the
timestamps of request bodies back by the same offset: what the simulation
calls "now" is the wall clock's now in every answer, and ages computed on
either side agree. The ages in server-side Tables are computed by the server
from simulated time and need no offset. At ``speed=1`` the offset stays
constant; at other speeds the clocks part, and the server takes a new offset
when they have drifted more than :data:`DRIFT` seconds from the one it uses
(so kubectl's own ages are at most that much too old, and an object read
and written back at once keeps its timestamps exactly). It is never larger
than the true difference, so no timestamp is shown in the future. The
simulation itself, ``c.get()`` and the notebook keep simulated time
(docs/SERVE.md, "Time while served").

The timestamps are found in the encoded JSON (a quoted RFC 3339 UTC time,
with or without fractional seconds), which is fast and leaves every other
string alone.

Example:
    >>> shift_json(b'{"t":"2025-01-01T00:00:00Z","m":"2025-01-01T00:00:01.500000Z"}', 90)
    b'{"t":"2025-01-01T00:01:30Z","m":"2025-01-01T00:01:31.500000Z"}'
    >>> shift_json(b'{"name":"2025-01-01"}', 90)
    b'{"name":"2025-01-01"}'
"""

from __future__ import annotations

import calendar
import math
import re
import time

__all__ = ["shift_json", "offset_now", "DRIFT"]

#: How far (seconds) the clocks may drift apart before the server takes a new offset.
DRIFT = 2

_STAMP = re.compile(rb'"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?Z"')


def offset_now(simulated_unix: float) -> int:
    """Whole seconds from the simulated time (Unix seconds) to the wall clock's now.

    Rounded down, so an age kubectl computes (it truncates) is never a second short.
    """
    return math.floor(time.time() - simulated_unix)


def shift_json(data: bytes, seconds: int) -> bytes:
    """Every quoted UTC timestamp in ``data`` moved by ``seconds``."""
    if not seconds:
        return data

    done: dict[bytes, bytes] = {}  # a list of pods repeats the same few seconds

    def moved(m: re.Match) -> bytes:
        found = done.get(m.group(0))
        if found is None:
            y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
            when = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) + seconds
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)).encode()
            found = done[m.group(0)] = b'"' + text + (m.group(7) or b"") + b'Z"'
        return found

    return _STAMP.sub(moved, data)
