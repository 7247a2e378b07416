"""Kubernetes resource quantities: ``"500m"`` CPU, ``"128Mi"`` memory.

Example:
    >>> from labsupport.quantity import cpu_cores, memory_bytes
    >>> cpu_cores("250m"), cpu_cores(2), memory_bytes("1Gi"), memory_bytes("200M")
    (0.25, 2.0, 1073741824, 200000000)
"""

from __future__ import annotations

import re

from labsupport.errors import Invalid

__all__ = ["parse_quantity", "cpu_cores", "memory_bytes", "format_cpu", "format_memory"]

_SUFFIX = {
    "": 1,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_RE = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)


def parse_quantity(value: str | int | float) -> float:
    """Parse a quantity into a plain number (cores for CPU, bytes for memory).

    Raises:
        Invalid: not a Kubernetes quantity; the message shows the allowed form.

    Example:
        >>> parse_quantity("1.5k")
        1500.0
    """
    if isinstance(value, bool):
        raise Invalid(f"quantity {value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    m = _RE.match(str(value).strip())
    if not m:
        raise Invalid(
            f"quantities must match the regular expression of Kubernetes quantities, "
            f'e.g. "500m", "2", "128Mi", "1Gi"; got {value!r}'
        )
    return float(m.group(1)) * _SUFFIX[m.group(2) or ""]


def cpu_cores(value: str | int | float) -> float:
    """CPU quantity in cores (``"100m"`` -> 0.1)."""
    return parse_quantity(value)


def memory_bytes(value: str | int | float) -> int:
    """Memory quantity in bytes (``"1Mi"`` -> 1048576)."""
    return int(round(parse_quantity(value)))


def format_cpu(cores: float) -> str:
    """Format cores the way kubectl does: whole cores or millicores.

    Example:
        >>> format_cpu(0.25), format_cpu(4)
        ('250m', '4')
    """
    milli = round(cores * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def format_memory(nbytes: float) -> str:
    """Format bytes with the largest exact binary suffix.

    Example:
        >>> format_memory(8 * 2**30), format_memory(1500)
        ('8Gi', '1500')
    """
    n = int(nbytes)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIX[suffix]
        if n and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)
