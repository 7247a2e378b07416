"""KubeCluster on a served simulator: the identity proof on the wire (kube/served.py)."""

from __future__ import annotations

import pytest

from labsupport.errors import UnsafeCluster
from labsupport.kube.served import expected_proof


def test_other_contexts_never_receive_the_simulators_paths(connect, fake_api):
    c = connect("prod", ours=False)
    assert c._served is None
    assert not [r for r in fake_api.requests if r.path.startswith("/labsupport/")]
    with pytest.raises(UnsafeCluster):
        c.fail_node("worker")


def test_a_wrong_proof_is_not_a_simulator_and_destructive_calls_stay_guarded(connect, fake_api):
    fake_api.on("GET", "/labsupport/v1/identity",
                {"kind": "SimulatorIdentity", "now": 0, "unixNow": 0, "proof": "0" * 64})
    c = connect("labsupport-sim", ours=False)
    assert c._served is None
    (seen,) = fake_api.seen("GET", "/labsupport/v1/identity")
    assert len(seen.query["nonce"]) == 32
    with pytest.raises(UnsafeCluster, match="not a kind context"):
        c.delete("configmap/x")


def test_a_server_without_the_endpoint_is_not_a_simulator(connect, fake_api):
    c = connect("labsupport-sim", ours=False)
    assert c._served is None


def test_the_right_proof_makes_advance_ask_the_simulator(connect, fake_api):
    nonces: list[str] = []

    def identity(req):
        nonces.append(req.query["nonce"])
        return 200, {"now": 30.0, "unixNow": 1735689630.0,
                     "proof": expected_proof("test-token", req.query["nonce"])}

    original = fake_api.answer

    def answer(req):
        if req.path == "/labsupport/v1/identity":
            fake_api.requests.append(req)
            return identity(req)
        return original(req)

    fake_api.answer = answer
    fake_api.on("POST", "/labsupport/v1/clock", {"now": 90.0, "unixNow": 1735689690.0})
    fake_api.on("GET", "/labsupport/v1/clock", {"now": 90.0, "unixNow": 1735689690.0})
    c = connect("labsupport-sim", ours=False)
    assert c._served is not None and len(nonces) == 1
    c.advance(60)
    (post,) = fake_api.seen("POST", "/labsupport/v1/clock")
    assert post.body == {"advance": 60.0}
    assert c.now == 60.0
    c.delete("configmap/x")  # proven ours: no refusal
