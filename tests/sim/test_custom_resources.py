from __future__ import annotations

import pytest

import labsupport as ls

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
             "names": {"kind": "ServiceMonitor", "plural": "servicemonitors", "singular": "servicemonitor",
                       "shortNames": ["smon"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}
CR = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
      "metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}},
                                            "endpoints": [{"port": "http", "interval": "15s"}]}}


def test_custom_resource_needs_its_definition_first(sim):
    with pytest.raises(ls.InvalidManifest):
        sim.apply(CR)
    assert sim.apply(CRD) == ["customresourcedefinition/servicemonitors.monitoring.coreos.com"]
    assert sim.apply(CR) == ["servicemonitor/web"]
    got = sim.get("smon/web")
    assert got["spec"]["endpoints"][0]["interval"] == "15s"
    assert [o["metadata"]["name"] for o in sim.list("servicemonitors")] == ["web"]
    assert "/registry/monitoring.coreos.com/servicemonitors/default/web" in sim.store.keys()
    sim.delete("servicemonitor/web")
    assert sim.list("servicemonitors") == []
