"""Shared fixtures: a seed and a small simulated cluster."""

from __future__ import annotations

import pytest


@pytest.fixture
def seed() -> int:
    return 0


@pytest.fixture
def sim(seed):
    import labsupport as ls

    c = ls.connect("sim", nodes=3, seed=seed)
    yield c
    c.close()
