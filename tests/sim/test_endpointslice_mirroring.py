"""The EndpointSlice mirroring controller: Endpoints of selector-less Services."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.sim.clusterdns import ready

pytestmark = pytest.mark.filterwarnings("ignore:v1 Endpoints is deprecated")


def _svc(**spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
            "spec": {"ports": [{"port": 5432}], **spec}}


def _endpoints(labels=None, **subset):
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "db", "labels": labels or {"team": "a"},
                         "annotations": {"note": "outside"}},
            "subsets": [{"ports": [{"name": "pg", "port": 5432}], **subset}]}


def _slices(c):
    return c.list("endpointslices", selector="kubernetes.io/service-name=db")


@pytest.fixture
def c():
    return ls.connect(nodes=1, seed=0)


def test_endpoints_are_mirrored_with_labels_owner_and_conditions(c):
    c.apply([_svc(), _endpoints(addresses=[{"ip": "192.168.10.5", "hostname": "primary"}],
                                notReadyAddresses=[{"ip": "192.168.10.6"}])])
    c.advance(1)
    [s] = _slices(c)
    ep = c.get("endpoints/db")
    meta = s["metadata"]
    assert meta["generateName"] == "db-" and meta["name"].startswith("db-")
    assert meta["labels"] == {"team": "a", "kubernetes.io/service-name": "db",
                              "endpointslice.kubernetes.io/managed-by":
                                  "endpointslicemirroring-controller.k8s.io"}
    assert meta["annotations"] == {"note": "outside"}
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Endpoints", "name": "db",
                                        "uid": ep["metadata"]["uid"], "controller": True,
                                        "blockOwnerDeletion": True}]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "pg", "protocol": "TCP", "port": 5432}]
    assert s["endpoints"] == [
        {"addresses": ["192.168.10.5"], "conditions": {"ready": True}, "hostname": "primary"},
        {"addresses": ["192.168.10.6"], "conditions": {"ready": False}}]


def test_a_headless_selectorless_service_resolves_through_the_mirror(c):
    c.apply([_svc(clusterIP="None"), _endpoints(addresses=[{"ip": "192.168.10.5"}])])
    c.advance(1)
    assert ready(c.store, "db", "default", "dns")
    c.apply(_endpoints(notReadyAddresses=[{"ip": "192.168.10.5"}]))
    c.advance(1)
    assert not ready(c.store, "db", "default", "dns")


def test_no_mirror_with_skip_label_or_a_selector_or_without_the_endpoints(c):
    c.apply(_endpoints(labels={"endpointslice.kubernetes.io/skip-mirror": "true"},
                       addresses=[{"ip": "192.168.10.5"}]))
    c.apply(_svc())
    c.advance(1)
    assert _slices(c) == []
    c.delete("endpoints/db")
    c.apply(_endpoints(addresses=[{"ip": "192.168.10.5"}]))
    c.advance(1)
    assert len(_slices(c)) == 1
    c.delete("endpoints/db")
    c.advance(5)
    assert _slices(c) == []
    c.apply(_endpoints(addresses=[{"ip": "192.168.10.5"}]))
    c.advance(1)
    assert len(_slices(c)) == 1
    c.apply(_svc(selector={"app": "db"}))  # the EndpointSlice controller takes over
    c.advance(1)
    managers = {s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
                for s in _slices(c)}
    assert managers == {"endpointslice-controller.k8s.io"}
