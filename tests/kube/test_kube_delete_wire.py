"""KubeCluster.delete's options on the wire: the DeleteOptions body kubectl would send."""

from __future__ import annotations

import pytest

from labsupport.errors import Invalid

POD = "/api/v1/namespaces/default/pods/web"


def _body(fake_api):
    (req,) = fake_api.seen("DELETE")
    return req.path, req.body


def test_the_default_is_background_without_a_grace_period(connect, fake_api):
    connect().delete("pod/web")
    assert _body(fake_api) == (POD, {"kind": "DeleteOptions", "apiVersion": "v1",
                                     "propagationPolicy": "Background"})


@pytest.mark.parametrize(("kwargs", "sent"), [
    ({"propagation_policy": "Orphan"}, {"propagationPolicy": "Orphan"}),
    ({"propagation_policy": "foreground"}, {"propagationPolicy": "Foreground"}),
    ({"grace_period": 5}, {"propagationPolicy": "Background", "gracePeriodSeconds": 5}),
    ({"grace_period": 0}, {"propagationPolicy": "Background", "gracePeriodSeconds": 1}),
    ({"force": True}, {"propagationPolicy": "Background", "gracePeriodSeconds": 0}),
    ({"force": True, "grace_period": 0}, {"propagationPolicy": "Background",
                                          "gracePeriodSeconds": 0}),
])
def test_options_go_in_the_delete_options_body(connect, fake_api, kwargs, sent):
    connect().delete("pod/web", **kwargs)
    assert _body(fake_api) == (POD, {"kind": "DeleteOptions", "apiVersion": "v1", **sent})


def test_bad_options_are_refused_before_any_request(connect, fake_api):
    c = connect()
    with pytest.raises(Invalid, match="cannot be given together"):
        c.delete("pod/web", force=True, grace_period=3)
    with pytest.raises(Invalid, match='propagation_policy must be one of "Background"'):
        c.delete("pod/web", propagation_policy="all")
    assert fake_api.seen("DELETE") == []


def test_wait_polls_until_the_object_is_gone(connect, fake_api):
    fake_api.on("DELETE", POD, {"kind": "Pod", "apiVersion": "v1",
                                "metadata": {"name": "web", "uid": "u-1",
                                             "deletionTimestamp": "2025-01-01T00:00:30Z"}})
    fake_api.on("GET", POD, {"kind": "Pod", "metadata": {"name": "web", "uid": "u-1"}},
                (404, {"kind": "Status", "code": 404, "reason": "NotFound",
                       "message": 'pods "web" not found', "details": {"name": "web",
                                                                    "kind": "pods"}}))
    c = connect()
    c.poll_interval = 0.01
    c.delete("pod/web", wait=True)
    assert len(fake_api.seen("GET", POD)) == 2
