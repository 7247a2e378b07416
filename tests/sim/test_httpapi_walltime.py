"""While served, timestamps are shown in wall time, so kubectl's own ages read right."""

from __future__ import annotations

import calendar
import json
import time

import pytest

import labsupport as ls
from labsupport.errors import ClusterUnavailable
from labsupport.sim.httpapi.walltime import shift_json

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}}


@pytest.fixture
def c():
    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    cluster = ls.connect(nodes=1, seed=0)
    cluster.apply(POD)
    cluster.advance(30)
    cluster.serve(speed=0)
    yield cluster
    cluster.close()


def _unix(stamp: str) -> int:
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def test_kubectl_ages_are_those_of_the_simulation(c):
    pods = c.kubectl("get pods").stdout.splitlines()
    assert pods[1].split() == ["p", "1/1", "Running", "0", "30s"]
    described = c.kubectl("describe pod p").stdout
    events = described.split("Events:")[1].splitlines()
    scheduled = next(line.split() for line in events if "Scheduled" in line)
    assert scheduled[:2] == ["Normal", "Scheduled"]
    assert scheduled[2] in ("30s", "31s", "32s")      # not "701d" (walltime.DRIFT: 2 s)
    asked = time.time()
    created = c.kubectl("get pod p -o jsonpath={.metadata.creationTimestamp}").stdout
    answered = time.time()
    # 30 s before the moment the server answered (whole seconds, walltime.DRIFT 2 s)
    assert asked - 30 - 3 <= _unix(created) <= answered - 30 + 3
    # the simulation keeps its own time
    assert c.get("pod/p")["metadata"]["creationTimestamp"] == "2025-01-01T00:00:00Z"


def test_timestamps_sent_back_are_moved_back(c, tmp_path):
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"},
             "data": {"when": "2025-01-01T00:00:10Z"}})
    asked = time.time()
    obj = json.loads(c.kubectl("get configmap m -o json").stdout)
    assert _unix(obj["data"]["when"]) > asked - 60      # shown in wall time, not in 2025
    obj["data"]["note"] = "edited"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(obj))
    assert c.kubectl(f"replace -f {path}").ok
    stored = c.get("configmap/m")
    assert stored["data"] == {"when": "2025-01-01T00:00:10Z", "note": "edited"}
    assert stored["metadata"]["creationTimestamp"].startswith("2025-01-01T00:00:")


def test_the_shift_touches_only_whole_timestamps():
    data = b'{"a":"x 2025-01-01T00:00:00Z","b":"2025-12-31T23:59:59Z"}'
    assert shift_json(data, 1) == b'{"a":"x 2025-01-01T00:00:00Z","b":"2026-01-01T00:00:00Z"}'
    assert shift_json(shift_json(data, 12345), -12345) == data
