"""A running recommender: the five services as real processes on loopback."""

from __future__ import annotations

import pytest

from labsupport.apps.launch import Stack

DATA = {"users": 120, "movies": 40, "ratings": 2400, "seed": 0}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with Stack(tmp_path_factory.mktemp("recommender")) as s:
        assert s.post("ingestion", "/generate", json=DATA).status_code == 201
        assert s.post("features", "/build").status_code == 200
        assert s.post("training", "/train").status_code == 201
        s.wait_ready = lambda name: _wait_ready(s, name)
        s.wait_ready("serving")
        yield s


def _wait_ready(s, name, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while s.get(name, "/readyz").status_code != 200:
        assert time.monotonic() < deadline, s.get(name, "/readyz").json()
        time.sleep(0.05)
