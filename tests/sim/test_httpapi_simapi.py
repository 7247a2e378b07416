"""The simulator's own endpoints (/labsupport/v1) and KubeCluster using them over HTTPS."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

import labsupport as ls
from labsupport.sim.httpapi.simapi import proof


@pytest.fixture(scope="module")
def served():
    c = ls.connect(nodes=2, seed=0)
    c.serve(speed=0)
    yield c
    c.close()


def _call(c, method: str, path: str, body: dict | None = None, token: bool = True):
    server = c._server
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {server.token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10, context=server.client_context()) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_identity_proves_the_token_and_needs_it(served):
    nonce = "a1" * 16
    code, answer = _call(served, "GET", f"/labsupport/v1/identity?nonce={nonce}")
    assert code == 200 and answer["kind"] == "SimulatorIdentity"
    assert answer["proof"] == proof(served._server.token, nonce)
    assert answer["proof"] != proof("another-token", nonce)
    code, answer = _call(served, "GET", f"/labsupport/v1/identity?nonce={nonce}", token=False)
    assert (code, answer["reason"]) == (401, "Unauthorized")
    code, answer = _call(served, "GET", "/labsupport/v1/identity?nonce=short")
    assert (code, answer["reason"]) == (400, "BadRequest")


def test_the_clock_advances_on_request_and_refuses_nonsense(served):
    code, before = _call(served, "GET", "/labsupport/v1/clock")
    assert code == 200 and before["speed"] == 0
    asked = time.time()
    code, after = _call(served, "POST", "/labsupport/v1/clock", {"advance": 90})
    answered = time.time()
    assert code == 200 and after["now"] == pytest.approx(before["now"] + 90)
    # the server's timestamps show the wall clock's now (labsupport/sim/httpapi/walltime.py),
    # read while it answered (2 s of drift allowed)
    assert asked - 3 <= after["unixNow"] <= answered + 3
    for bad in ({"advance": -1}, {"advance": "ten"}, {"advance": 1e9}, {}):
        code, answer = _call(served, "POST", "/labsupport/v1/clock", bad)
        assert code == 400 and "advance" in answer["message"]
    code, answer = _call(served, "DELETE", "/labsupport/v1/clock")
    assert code == 404 and answer["message"] == \
        'the simulator does not serve DELETE "/labsupport/v1/clock"'


def test_kubecluster_on_a_served_simulator_moves_its_clock_and_fails_its_nodes(served):
    k = ls.connect("kubeconfig", kubeconfig=served.kubeconfig, display=False)
    try:
        assert k._served is not None
        start = served.now
        k.advance(120)
        assert served.now == pytest.approx(start + 120) and k.now == pytest.approx(120)
        k.fail_node("node-2")   # proven ours: no allow_destructive needed
        k.wait_until(lambda c: next(n for n in c.nodes() if n.name == "node-2").ready is None,
                     timeout=120)
        k.restore_node("node-2")
        k.wait_until(lambda c: next(n for n in c.nodes() if n.name == "node-2").ready,
                     timeout=60)
        code, answer = _call(served, "POST", "/labsupport/v1/nodes/nope/fail")
        assert (code, answer["reason"]) == (404, "NotFound")
    finally:
        k.close()
