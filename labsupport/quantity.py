"""Kubernetes resource quantities: ``"500m"`` CPU, ``"128Mi"`` memory.

Example:
    >>> from labsupport.quantity import cpu_cores, memory_bytes
    >>> cpu_cores("250m"), cpu_cores(2), memory_bytes("1Gi"), memory_bytes("200M")
    (0.25, 2.0, 1073741824, 200000000)
"""

from __future__ import annotations

import re

from labsupport.errors import Invalid

__all__ = ["parse_quantity", "cpu_cores", "memory_bytes", "format_cpu", "format_memory",
           "canonical"]

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


_DECIMAL_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T",
                   15: "P", 18: "E"}
_BINARY_SUFFIX = ((60, "Ei"), (50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki"))


def canonical(value: str | int | float) -> str:
    """A quantity as the API server prints it (``resource.Quantity.String()``).

    Binary suffixes stay binary when the value is a whole number of at least
    1024; everything else is written with the largest decimal suffix that
    keeps the number whole (k8s.io/apimachinery/pkg/api/resource, CanonicalizeBytes).

    Example:
        >>> canonical("1024Mi"), canonical("0.5"), canonical("2000m"), canonical("1.5Gi")
        ('1Gi', '500m', '2', '1536Mi')
        >>> canonical(1000), canonical("32Mi"), canonical("500M"), canonical("100m")
        ('1k', '32Mi', '500M', '100m')
    """
    from decimal import Decimal

    parse_quantity(value)  # raises Invalid for what is not a quantity
    text = str(value).strip() if not isinstance(value, float) else repr(value)
    m = _RE.match(text)
    number = Decimal(m.group(1))
    suffix = m.group(2) or ""
    if suffix.endswith("i"):
        number *= 2 ** (10 * (("Ki", "Mi", "Gi", "Ti", "Pi", "Ei").index(suffix) + 1))
        if abs(number) >= 1024 and number == number.to_integral_value():
            whole = int(number)
            for shift, name in _BINARY_SUFFIX:
                if whole % (1 << shift) == 0:
                    return f"{whole >> shift}{name}"
            return str(whole)
    else:
        exponent = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
                    "E": 18}.get(suffix, 0)
        number = number.scaleb(exponent)
    if number == 0:
        return "0"
    # Round up to nanounits, then take the largest power of 1000 keeping it whole.
    nanos = int((number * 10**9).to_integral_value(rounding="ROUND_CEILING"))
    exp = -9
    while exp < 18 and nanos % 1000 == 0:
        nanos //= 1000
        exp += 3
    return f"{nanos}{_DECIMAL_SUFFIX[exp]}"
