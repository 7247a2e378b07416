"""labsupport.quantity: Kubernetes resource quantities."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsupport.errors import Invalid
from labsupport.quantity import (
    cpu_cores,
    format_cpu,
    format_memory,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize("text, value", [
    ("1", 1.0), ("250m", 0.25), ("1.5", 1.5), (".5", 0.5), ("+2", 2.0), ("-1", -1.0),
    ("100n", 100e-9), ("10u", 10e-6), ("1k", 1e3), ("1M", 1e6), ("1G", 1e9), ("1T", 1e12),
    ("1P", 1e15), ("1E", 1e18), ("1Ki", 1024), ("1Mi", 2**20), ("1Gi", 2**30),
    ("1Ti", 2**40), ("1Pi", 2**50), ("1Ei", 2**60), ("1e3", 1000.0), ("1.5k", 1500.0),
    (" 2 ", 2.0),
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("number", [0, 3, 0.5, 2.25])
def test_numbers_pass_through(number):
    assert parse_quantity(number) == float(number)


@pytest.mark.parametrize("bad", ["lots", "", "1 Gi", "1gi", "Mi", "1.2.3", "1KiB", "m"])
def test_bad_quantities_say_what_is_allowed(bad):
    with pytest.raises(Invalid, match='e.g. "500m", "2", "128Mi", "1Gi"'):
        parse_quantity(bad)


@pytest.mark.parametrize("flag", [True, False])
def test_booleans_are_not_quantities(flag):
    with pytest.raises(Invalid, match="is not a number"):
        parse_quantity(flag)


def test_cpu_and_memory():
    assert cpu_cores("100m") == pytest.approx(0.1)
    assert cpu_cores(2) == 2.0
    assert memory_bytes("1Mi") == 1048576
    assert memory_bytes("200M") == 200_000_000
    assert memory_bytes("1.5Gi") == 1610612736
    assert isinstance(memory_bytes("1k"), int)


@pytest.mark.parametrize("cores, text", [
    (0.25, "250m"), (4, "4"), (1.5, "1500m"), (0.1, "100m"), (0, "0"), (2.0, "2"),
])
def test_format_cpu(cores, text):
    assert format_cpu(cores) == text


@pytest.mark.parametrize("nbytes, text", [
    (8 * 2**30, "8Gi"), (1500, "1500"), (0, "0"), (2**20 * 3, "3Mi"), (1024, "1Ki"),
    (2**20 + 1, "1048577"), (2**60, "1Ei"),
])
def test_format_memory(nbytes, text):
    assert format_memory(nbytes) == text


@settings(database=None)
@given(st.integers(min_value=0, max_value=10**6))
def test_cpu_round_trip(millicores):
    assert round(cpu_cores(format_cpu(millicores / 1000)) * 1000) == millicores


@settings(database=None)
@given(st.integers(min_value=0, max_value=2**50))
def test_memory_round_trip(nbytes):
    assert memory_bytes(format_memory(nbytes)) == nbytes
