"""The simulated clock: virtual seconds and the timestamps objects carry.

Every simulated cluster starts at the same instant, so the same seed gives
the same creationTimestamps, names and events.

Example:
    >>> from labsupport.sim.clock import stamp
    >>> stamp(0), stamp(61.5)
    ('2025-01-01T00:00:00Z', '2025-01-01T00:01:01Z')
    >>> micro_stamp(61.5)
    '2025-01-01T00:01:01.500000Z'
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["EPOCH", "stamp", "micro_stamp"]

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


def micro_stamp(now: float) -> str:
    """RFC 3339 time with microseconds (a ``MicroTime``) of virtual time ``now``.

    Leases (``renewTime``, ``acquireTime``) and events.k8s.io's ``eventTime``
    are ``metav1.MicroTime``: always six fractional digits
    (apimachinery/pkg/apis/meta/v1/micro_time.go, ``RFC3339Micro``); clients
    refuse to parse a whole-second time there.
    """
    micros = round(now * 1_000_000)
    return datetime.fromtimestamp(EPOCH + micros // 1_000_000, tz=timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S") + f".{micros % 1_000_000:06d}Z"
