"""Storage on the simulated kind cluster: the PV controller, provisioners, reclaim, mounts.

Each rule cites the upstream source in labsupport/sim/controllers/volumes.py,
pvbinding.py, admission/defaultstorageclass.py and volumeplugins.py.
"""

from __future__ import annotations

import pytest

import labsupport as ls

WFFC = "WaitForFirstConsumer"


@pytest.fixture
def c():
    cluster = ls.connect(nodes=3, seed=0)
    yield cluster
    cluster.close()


def claim(name, size="1Gi", cls=None, modes=("ReadWriteOnce",), **spec):
    body = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": body}


def volume(name, size="5Gi", cls="", modes=("ReadWriteOnce",), labels=None, node=None,
           policy="Retain", **spec):
    body = {"capacity": {"storage": size}, "accessModes": list(modes),
            "storageClassName": cls, "persistentVolumeReclaimPolicy": policy,
            "hostPath": {"path": f"/data/{name}"}, **spec}
    if node:
        body["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": labels or {}}, "spec": body}


def storage_class(name, provisioner, mode="Immediate", policy="Delete"):
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name}, "provisioner": provisioner,
            "volumeBindingMode": mode, "reclaimPolicy": policy}


def pod(name, *volumes, image="nginx:1.27"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": image}], "volumes": list(volumes)}}


def uses(claim_name, volume_name="data"):
    return {"name": volume_name, "persistentVolumeClaim": {"claimName": claim_name}}


def events(c, reason, obj=None):
    return [e.message for e in c.events()
            if e.reason == reason and (obj is None or e.object == obj)]


def phase(c, what):
    return (c.get(what).get("status") or {}).get("phase")


# -- kind's StorageClass and the DefaultStorageClass admission -------------------------------
def test_kind_ships_standard_as_the_default_class(c):
    sc = c.get("storageclass/standard")
    assert sc["provisioner"] == "rancher.io/local-path"
    assert sc["volumeBindingMode"] == WFFC
    assert sc["reclaimPolicy"] == "Delete"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_a_claim_without_a_class_gets_the_default_one_and_an_empty_class_stays_empty(c):
    c.apply([claim("auto"), claim("none", cls="")])
    assert c.get("pvc/auto")["spec"]["storageClassName"] == "standard"
    assert c.get("pvc/none")["spec"]["storageClassName"] == ""
    steps = [s.detail for s in c.trace("pvc/auto") if s.action == "admission"]
    assert 'DefaultStorageClass: set storageClassName "standard" on persistentvolumeclaim "auto"' \
        in steps


def test_without_a_default_class_the_claim_gets_one_when_a_default_appears(c):
    sc = c.get("storageclass/standard")
    sc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "false"}
    c.apply(sc)
    c.apply(claim("later"))
    assert "storageClassName" not in c.get("pvc/later")["spec"]
    c.advance(1)
    assert events(c, "FailedBinding", "persistentvolumeclaim/later") == [
        "no persistent volumes available for this claim and no storage class is set"]
    sc = c.get("storageclass/standard")
    sc["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    c.apply(sc)
    c.advance(16)  # the PV controller's resync (RetroactiveDefaultStorageClass)
    assert c.get("pvc/later")["spec"]["storageClassName"] == "standard"


# -- binding static volumes (findBestMatchForClaim, checkVolumeSatisfyClaim) -------------------
def test_the_smallest_volume_that_fits_binds(c):
    c.apply([volume("big", "10Gi"), volume("small", "2Gi"), volume("tiny", "500Mi"),
             claim("data", "1Gi", cls="")])
    c.advance(1)
    pvc = c.get("pvc/data")
    assert pvc["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                             "capacity": {"storage": "2Gi"}}
    assert pvc["spec"]["volumeName"] == "small"
    ann = pvc["metadata"]["annotations"]
    assert ann["pv.kubernetes.io/bind-completed"] == "yes"
    assert ann["pv.kubernetes.io/bound-by-controller"] == "yes"
    pv = c.get("pv/small")
    assert pv["status"]["phase"] == "Bound"
    assert pv["spec"]["claimRef"]["name"] == "data"
    assert pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    assert phase(c, "pv/big") == "Available" and phase(c, "pv/tiny") == "Available"


def test_access_modes_class_and_selector_must_match(c):
    c.apply([volume("rwo", "5Gi"), volume("fast", "5Gi", cls="manual"),
             volume("labelled", "5Gi", labels={"tier": "gold"}),
             claim("shared", modes=("ReadWriteMany",), cls=""),
             claim("gold", cls="", selector={"matchLabels": {"tier": "gold"}})])
    c.advance(1)
    assert phase(c, "pvc/shared") == "Pending"
    assert events(c, "FailedBinding", "persistentvolumeclaim/shared") == [
        "no persistent volumes available for this claim and no storage class is set"]
    assert c.get("pvc/gold")["spec"]["volumeName"] == "labelled"
    assert phase(c, "pv/fast") == "Available"  # class "manual" is not class ""


def test_a_claim_naming_its_volume_binds_it_or_says_why_not(c):
    c.apply([volume("static", "5Gi"), claim("mine", "1Gi", cls="", volumeName="static")])
    c.advance(1)
    assert phase(c, "pvc/mine") == "Bound"
    assert "pv.kubernetes.io/bound-by-controller" not in c.get("pvc/mine")["metadata"].get(
        "annotations", {})
    # The default class "standard" is not the volume's class "": on a real cluster the claim
    # stays Pending; nothing is provisioned in its place.
    c.apply([volume("other", "5Gi"), claim("wrong", "1Gi", volumeName="other"),
             volume("small", "1Gi"), claim("toobig", "3Gi", cls="", volumeName="small")])
    c.advance(1)
    assert phase(c, "pvc/wrong") == "Pending"
    assert events(c, "VolumeMismatch", "persistentvolumeclaim/wrong") == [
        'Cannot bind to requested volume "other": storageClassName does not match']
    assert events(c, "VolumeMismatch", "persistentvolumeclaim/toobig") == [
        'Cannot bind to requested volume "small": requested PV is too small']
    assert [pv["metadata"]["name"] for pv in c.list("pv")] == ["other", "small", "static"]


# -- provisioners: only rancher.io/local-path runs on kind --------------------------------------
def test_an_external_provisioner_that_does_not_run_leaves_the_claim_pending(c):
    c.apply([storage_class("ebs", "ebs.csi.aws.com"), claim("data", cls="ebs")])
    c.advance(20)
    assert phase(c, "pvc/data") == "Pending"
    assert c.list("pv") == []
    assert events(c, "ExternalProvisioning", "persistentvolumeclaim/data") == [
        "Waiting for a volume to be created either by the external provisioner "
        "'ebs.csi.aws.com' or manually by the system administrator. If volume creation is "
        "delayed, please verify that the provisioner is running and correctly registered."]
    ann = c.get("pvc/data")["metadata"]["annotations"]
    assert ann["volume.kubernetes.io/storage-provisioner"] == "ebs.csi.aws.com"


def test_in_tree_provisioners_are_migrated_or_missing(c):
    c.apply([storage_class("gce", "kubernetes.io/gce-pd"), claim("pd", cls="gce"),
             storage_class("local", "kubernetes.io/no-provisioner"), claim("loc", cls="local"),
             claim("ghost", cls="nope")])
    c.advance(1)
    assert "'pd.csi.storage.gke.io'" in events(c, "ExternalProvisioning",
                                               "persistentvolumeclaim/pd")[0]
    assert events(c, "ProvisioningFailed", "persistentvolumeclaim/loc") == [
        "no volume plugin matched name: kubernetes.io/no-provisioner"]
    assert events(c, "ProvisioningFailed", "persistentvolumeclaim/ghost") == [
        'storageclass.storage.k8s.io "nope" not found']
    assert {phase(c, f"pvc/{n}") for n in ("pd", "loc", "ghost")} == {"Pending"}


def test_wait_for_first_consumer_provisions_on_the_pods_node(c):
    c.apply(claim("data"))
    c.advance(1)
    assert events(c, "WaitForFirstConsumer", "persistentvolumeclaim/data") == [
        "waiting for first consumer to be created before binding"]
    c.apply(pod("app", uses("data")))
    c.advance(10)
    node = c.pods()[0].node
    pvc = c.get("pvc/data")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    pv = c.get(f"pv/{pvc['spec']['volumeName']}")
    assert pv["metadata"]["name"] == f"pvc-{pvc['metadata']['uid']}"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == \
        "rancher.io/local-path"
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == [node]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["status"]["phase"] == "Bound"
    assert events(c, "Provisioning", "persistentvolumeclaim/data") == [
        'External provisioner is provisioning volume for claim "default/data"']
    assert events(c, "ProvisioningSucceeded", "persistentvolumeclaim/data") == [
        f"Successfully provisioned volume {pv['metadata']['name']}"]
    # The pod is bound only once its claim is: Scheduled comes after the provisioning.
    order = [e.reason for e in c.events() if e.reason in ("ProvisioningSucceeded", "Scheduled")]
    assert order == ["ProvisioningSucceeded", "Scheduled"]
    assert c.pods()[0].phase == "Running"


def test_a_wait_for_first_consumer_claim_names_the_pod_it_waits_for(c):
    c.apply([storage_class("manual", "kubernetes.io/no-provisioner", mode=WFFC),
             claim("data", cls="manual"), pod("app", uses("data"))])
    c.advance(20)
    assert c.pods()[0].node is None
    assert "waiting for pod app to be scheduled" in events(c, "WaitForPodScheduled")
    message = events(c, "FailedScheduling", "pod/app")[0]
    assert message.startswith(
        "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind.")


# -- reclaim: Delete and Retain; a lost volume ---------------------------------------------------
def test_delete_removes_the_volume_and_retain_keeps_it_released(c):
    c.apply([storage_class("keep", "rancher.io/local-path", mode=WFFC, policy="Retain"),
             claim("gone"), claim("kept", cls="keep"),
             pod("app", uses("gone", "a"), uses("kept", "b"))])
    c.advance(10)
    gone, kept = (c.get(f"pvc/{n}")["spec"]["volumeName"] for n in ("gone", "kept"))
    c.delete("pod/app")
    c.advance(40)
    c.delete("pvc/gone")
    c.delete("pvc/kept")
    c.advance(1)
    names = [pv["metadata"]["name"] for pv in c.list("pv")]
    assert gone not in names and kept in names
    assert phase(c, f"pv/{kept}") == "Released"
    # A new claim of the same name does not get the released volume (another uid).
    c.apply(claim("kept", cls="", volumeName=kept))
    c.advance(1)
    assert phase(c, "pvc/kept") == "Pending"


def test_a_bound_claim_whose_volume_is_deleted_is_lost(c):
    c.apply([volume("v"), claim("data", cls="")])
    c.advance(1)
    c.delete("pv/v")
    c.advance(1)
    assert phase(c, "pvc/data") == "Lost"
    assert events(c, "ClaimLost", "persistentvolumeclaim/data") == [
        "Bound claim has lost its PersistentVolume. Data on the volume is lost!"]
    c.apply(pod("app", uses("data")))
    c.advance(2)
    assert 'persistentvolumeclaim "data" bound to non-existent persistentvolume "v"' in \
        events(c, "FailedScheduling", "pod/app")[0]


# -- the scheduler: VolumeBinding and VolumeRestrictions ---------------------------------------
def test_a_pod_whose_claim_does_not_exist_is_not_scheduled(c):
    c.apply(pod("app", uses("missing")))
    c.advance(2)
    assert c.pods()[0].node is None
    assert events(c, "FailedScheduling")[0].startswith(
        '0/3 nodes are available: persistentvolumeclaim "missing" not found.')
    cond = c.get("pod/app")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "PodScheduled", "False", "Unschedulable")


def test_a_pod_waits_for_its_unbound_immediate_claim(c):
    c.apply([storage_class("ebs", "ebs.csi.aws.com"), claim("data", cls="ebs"),
             pod("app", uses("data"))])
    c.advance(2)
    assert events(c, "FailedScheduling", "pod/app")[0].startswith(
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.")


def test_a_local_volume_pins_the_pod_to_its_node(c):
    c.apply([storage_class("local", "kubernetes.io/no-provisioner", mode=WFFC),
             volume("disk", cls="local", node="node-2"), claim("data", cls="local"),
             pod("app", uses("data"))])
    c.advance(5)
    assert c.pods()[0].node == "node-2"
    assert c.get("pvc/data")["spec"]["volumeName"] == "disk"
    assert c.get("pv/disk")["metadata"]["annotations"][
        "pv.kubernetes.io/bound-by-controller"] == "yes"


def test_a_bound_volume_on_a_missing_node_is_a_node_affinity_conflict(c):
    c.apply([volume("far", node="node-9"), claim("data", cls=""), pod("app", uses("data"))])
    c.advance(3)
    assert events(c, "FailedScheduling", "pod/app")[-1].startswith(
        "0/3 nodes are available: 3 node(s) had volume node affinity conflict.")


def test_read_write_once_pod_claims_serve_one_pod(c):
    c.apply([claim("solo", modes=("ReadWriteOncePod",)), pod("first", uses("solo"))])
    c.advance(10)
    c.apply(pod("second", uses("solo")))
    c.advance(2)
    assert {p.name: p.node is not None for p in c.pods()} == {"first": True, "second": False}
    assert events(c, "FailedScheduling", "pod/second")[0].startswith(
        "0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with the same name "
        "and ReadWriteOncePod access mode.")


def test_a_provisioner_that_never_answers_times_out_in_pre_bind(c):
    c.apply([storage_class("slow", "example.com/nowhere", mode=WFFC), claim("data", cls="slow"),
             pod("app", uses("data"))])
    c.advance(30)
    assert c.pods()[0].node is None
    assert "'example.com/nowhere'" in events(c, "ExternalProvisioning")[0]
    c.advance(600)
    assert 'running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded' \
        in events(c, "FailedScheduling", "pod/app")


# -- the kubelet: volume types a kind node cannot mount -----------------------------------------
def test_volumes_without_a_plugin_or_driver_never_mount(c):
    c.apply([pod("gce", {"name": "disk", "gcePersistentDisk": {"pdName": "d1"}}),
             pod("ceph", {"name": "img", "rbd": {"monitors": ["m"], "image": "i"}}),
             pod("csi", {"name": "secrets", "csi": {"driver": "secrets-store.csi.k8s.io"}}),
             pod("fine", {"name": "tmp", "emptyDir": {}}, {"name": "host", "hostPath": {
                 "path": "/tmp"}})])
    c.advance(130)
    phases = {p.name: p.phase for p in c.pods()}
    assert phases == {"ceph": "Pending", "csi": "Pending", "fine": "Running", "gce": "Pending"}
    assert events(c, "FailedMount", "pod/ceph")[0] == (
        "Unable to attach or mount volumes: unmounted volumes=[img], unattached volumes=[], "
        'failed to process volumes=[img]: failed to get Plugin from volumeSpec for volume "img" '
        "err=no volume plugin matched")
    # The disk is translated to the pd.csi.storage.gke.io driver; nobody attaches it, and
    # only the attach/detach controller says so (the kubelet's timeout is silent).
    assert events(c, "FailedMount", "pod/gce") == []
    assert events(c, "FailedAttachVolume", "pod/gce") == [
        'AttachVolume.Attach failed for volume "pd.csi.storage.gke.io-d1" : timed out waiting '
        "for external-attacher of pd.csi.storage.gke.io CSI driver to attach volume "
        "projects/UNSPECIFIED/zones/UNSPECIFIED/disks/d1"]
    assert [e.component for e in c.events() if e.reason == "FailedAttachVolume"] == [
        "attachdetach-controller"]
    assert events(c, "FailedMount", "pod/csi")[0] == (
        'MountVolume.SetUp failed for volume "secrets" : kubernetes.io/csi: mounter.SetUpAt '
        "failed to get CSI client: driver name secrets-store.csi.k8s.io not found in the list "
        "of registered CSI drivers")
    statuses = c.get("pod/gce")["status"]["containerStatuses"]
    assert statuses[0]["state"]["waiting"]["reason"] == "ContainerCreating"


def test_local_path_with_immediate_binding_has_no_node_to_provision_on(c):
    # local-path-provisioner Provision: "configuration error, no node was specified".
    c.apply([storage_class("now", "rancher.io/local-path"), claim("data", cls="now")])
    c.advance(1)
    assert phase(c, "pvc/data") == "Pending"
    assert events(c, "Provisioning", "persistentvolumeclaim/data") == [
        'External provisioner is provisioning volume for claim "default/data"']
    assert events(c, "ProvisioningFailed", "persistentvolumeclaim/data") == [
        'failed to provision volume with StorageClass "now": configuration error, '
        "no node was specified"]
