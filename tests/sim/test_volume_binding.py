"""VolumeBinding and VolumeRestrictions: the fast path agrees with the reference cycle.

A Scheduler over in-memory listers (claims, volumes, classes), hypothesis-built
pods whose claims are missing, bound to local volumes, or waiting for their
first consumer; and the pure binding rules of pvbinding.py.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport.sim.controllers.pvbinding import (
    check_volume_satisfies_claim,
    find_best_match,
    node_affinity_matches,
)
from labsupport.sim.scheduler import NodeTable, Scheduler
from labsupport.sim.scheduler.reference import schedule_one


def node(i, zone):
    name = f"n{i:03d}"
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "topology.kubernetes.io/zone": zone}},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def pv(name, size, on=None, cls="local", claim=None):
    spec = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": cls, "local": {"path": "/mnt"}}
    if on is not None:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [on]}]}]}}
    if claim is not None:
        spec["claimRef"] = {"namespace": "default", "name": claim, "uid": f"uid-{claim}"}
    return {"kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec,
            "status": {"phase": "Bound" if claim else "Available"}}


def pvc(name, size="1Gi", cls="local", volume=None):
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    spec = {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
            "resources": {"requests": {"storage": size}}}
    status = {"phase": "Pending"}
    if volume:
        spec["volumeName"] = volume
        meta["annotations"] = {"pv.kubernetes.io/bind-completed": "yes"}
        status = {"phase": "Bound"}
    return {"kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec, "status": status}


CLASSES = [
    {"kind": "StorageClass", "metadata": {"name": "local"},
     "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"},
    {"kind": "StorageClass", "metadata": {"name": "standard"},
     "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
    {"kind": "StorageClass", "metadata": {"name": "ebs"}, "provisioner": "ebs.csi.aws.com",
     "volumeBindingMode": "Immediate"},
]

claim_st = st.sampled_from(["missing", "bound-far", "bound-near", "local", "standard", "ebs",
                            None])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 140), st.integers(0, 139), st.lists(st.integers(0, 139), max_size=4),
       st.lists(claim_st, min_size=1, max_size=8), st.integers(0, 3))
def test_fast_path_agrees_with_the_reference_for_pods_with_claims(n, near, local_on, claims,
                                                                  seed):
    tables = [NodeTable(), NodeTable()]
    objects = [*CLASSES, pv("far", "5Gi", on="elsewhere", cls="", claim="bound-far"),
               pv("near", "5Gi", on=f"n{near % n:03d}", cls="", claim="bound-near"),
               pvc("bound-far", cls="", volume="far"), pvc("bound-near", cls="", volume="near"),
               pvc("local"), pvc("standard", cls="standard"), pvc("ebs", cls="ebs")]
    objects += [pv(f"disk{i}", f"{i + 1}Gi", on=f"n{k % n:03d}") for i, k in enumerate(local_on)]
    for t in tables:
        for i in range(n):
            t.upsert_node(node(i, "abc"[i % 3]))
        for obj in objects:
            t.listers.add(obj)
    fast, ref = (Scheduler(t, seed=seed) for t in tables)
    for i, name in enumerate(claims):
        volumes = [] if name is None else [{"name": "d", "persistentVolumeClaim": {
            "claimName": name}}]
        p = {"metadata": {"name": f"p{i}", "namespace": "default"},
             "spec": {"containers": [{"name": "a"}], "volumes": volumes}}
        got, want = fast.schedule(p), schedule_one(ref, p)
        assert (got.node, got.message, got.nodes_checked, got.feasible) == (
            want.node, want.message, want.nodes_checked, want.feasible)
        if name == "bound-near" and want.node is not None:
            assert want.node == f"n{near % n:03d}"
        if name in ("missing", "bound-far", "ebs"):
            assert want.node is None
        if want.node is not None:
            for t in tables:
                t.add_pod(dict(p, spec=dict(p["spec"], nodeName=want.node)), want.node)


def test_find_best_match_prefers_the_fewest_access_modes_then_the_smallest():
    many = pv("many", "1Gi", cls="")
    many["spec"]["accessModes"] = ["ReadWriteOnce", "ReadOnlyMany"]
    claim = pvc("c", "1Gi", cls="")
    assert find_best_match(claim, [many, pv("big", "9Gi", cls="")])["metadata"]["name"] == "big"
    # WaitForFirstConsumer: the PV controller binds only a volume pre-bound to the claim.
    assert find_best_match(claim, [pv("big", "9Gi", cls="")], delay_binding=True) is None
    pre = pv("mine", "2Gi", cls="", claim="c")
    assert find_best_match(claim, [pv("a", "1Gi", cls=""), pre])["metadata"]["name"] == "mine"
    # On the scheduler's path the volume's node affinity must admit the node.
    local = pv("l", "1Gi", on="n001")
    assert find_best_match(pvc("c"), [local], delay_binding=True,
                           node=("n002", {"kubernetes.io/hostname": "n002"})) is None
    assert node_affinity_matches(local, "n001", {"kubernetes.io/hostname": "n001"})


def test_check_volume_satisfies_claim_texts():
    claim = pvc("c", "2Gi", cls="")
    assert check_volume_satisfies_claim(pv("v", "1Gi", cls=""), claim) == \
        "requested PV is too small"
    assert check_volume_satisfies_claim(pv("v", "2Gi", cls="x"), claim) == \
        "storageClassName does not match"
    block = pv("v", "2Gi", cls="")
    block["spec"]["volumeMode"] = "Block"
    assert check_volume_satisfies_claim(block, claim) == "incompatible volumeMode"
    rox = pv("v", "2Gi", cls="")
    rox["spec"]["accessModes"] = ["ReadOnlyMany"]
    assert check_volume_satisfies_claim(rox, claim) == "incompatible accessMode"
    assert check_volume_satisfies_claim(pv("v", "2Gi", cls=""), claim) is None
