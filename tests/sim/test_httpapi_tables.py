"""kubectl's columns for claims, volumes and EndpointSlices (printers.go), served as Tables."""

from __future__ import annotations

from labsupport.sim.clock import EPOCH
from labsupport.sim.httpapi.tables import columns_for, row_cells

T0 = "2025-01-01T00:00:00Z"


def test_claim_columns_and_cells_pending_then_bound():
    assert [c["name"] for c in columns_for("PersistentVolumeClaim") if c["priority"] == 0] == [
        "Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
        "VolumeAttributesClass", "Age"]
    pending = {"metadata": {"name": "data", "creationTimestamp": T0},
               "spec": {"storageClassName": "standard", "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}},
               "status": {"phase": "Pending"}}
    # No volume named yet: capacity and access modes stay empty, as kubectl shows them.
    assert row_cells(pending, "PersistentVolumeClaim", EPOCH + 5) == [
        "data", "Pending", "", "", "", "standard", "<unset>", "5s", "<unset>"]
    bound = {**pending, "spec": {**pending["spec"], "volumeName": "pv-1",
                                 "volumeMode": "Filesystem"},
             "status": {"phase": "Bound", "capacity": {"storage": "1024Mi"},
                        "accessModes": ["ReadWriteOncePod", "ReadWriteOnce"]}}
    assert row_cells(bound, "PersistentVolumeClaim", EPOCH + 65) == [
        "data", "Bound", "pv-1", "1Gi", "RWO,RWOP", "standard", "<unset>", "65s", "Filesystem"]


def test_volume_cells_name_the_claim_and_show_terminating():
    pv = {"metadata": {"name": "pv-1", "creationTimestamp": T0, "deletionTimestamp": T0},
          "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany"],
                   "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                   "claimRef": {"namespace": "shop", "name": "data"}},
          "status": {"phase": "Bound"}}
    assert row_cells(pv, "PersistentVolume", EPOCH + 120) == [
        "pv-1", "5Gi", "RWX", "Retain", "Terminating", "shop/data", "", "<unset>", "", "2m",
        "<unset>"]


def test_endpoint_slice_lists_three_addresses_then_counts_the_rest():
    eps = {"metadata": {"name": "web-abcde", "creationTimestamp": T0}, "addressType": "IPv4",
           "ports": [{"name": "http", "port": 80}, {"name": "metrics"}],
           "endpoints": [{"addresses": [f"10.244.1.{i}"]} for i in range(1, 6)]}
    assert row_cells(eps, "EndpointSlice", EPOCH + 3) == [
        "web-abcde", "IPv4", "80,metrics", "10.244.1.1,10.244.1.2,10.244.1.3 + 2 more...", "3s"]
    empty = {"metadata": {"name": "web-empty", "creationTimestamp": T0}, "addressType": "IPv4"}
    assert row_cells(empty, "EndpointSlice", EPOCH + 3)[2:4] == ["<unset>", "<unset>"]
