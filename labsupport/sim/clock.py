"""The simulated clock: virtual seconds and the timestamps objects carry.

Every simulated cluster starts at the same instant, so the same seed gives
the same creationTimestamps, names and events.

Example:
    >>> from labsupport.sim.clock import stamp
    >>> stamp(0), stamp(61.5)
    ('2025-01-01T00:00:00Z', '2025-01-01T00:01:01Z')
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["EPOCH", "stamp"]

#: Seconds since the Unix epoch at which every simulated cluster starts.
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()


_STAMPS: dict[int, str] = {}


def stamp(now: float) -> str:
    """RFC 3339 time (whole seconds, as Kubernetes writes it) of virtual time ``now``."""
    second = int(now)
    text = _STAMPS.get(second)
    if text is None:
        if len(_STAMPS) > 100_000:
            _STAMPS.clear()
        text = _STAMPS[second] = datetime.fromtimestamp(
            EPOCH + second, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text
