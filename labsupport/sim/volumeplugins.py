"""Which volume types a kind node can mount, and how the kubelet fails on the others.

A kind node runs no cloud and no storage driver: no CSI driver is registered
(local-path volumes are plain hostPath volumes), and the in-tree cloud
plugins are gone from the kubelet since CSI migration finished (1.26-1.31).
The kubelet's volume manager (pkg/kubelet/volumemanager) then fails in one of
three ways, each a ``FailedMount`` event while the pod stays
``ContainerCreating``:

- no plugin at all (``rbd``, ``cephfs``, ``glusterfs`` and other removed
  plugins): the desired-state populator cannot add the volume
  (``FindPluginBySpec``), and ``WaitForAttachAndMount`` returns that error at
  once: ``Unable to attach or mount volumes: unmounted volumes=[v],
  unattached volumes=[], failed to process volumes=[v]: failed to get Plugin
  from volumeSpec for volume "v" err=no volume plugin matched``;
- an attachable cloud disk (``gcePersistentDisk``, ``awsElasticBlockStore``,
  ``azureDisk``, ``cinder``, ``vsphereVolume``, ``portworxVolume``): the
  kubelet and the attach/detach controller translate it to the CSI driver
  that took it over (pkg/volume/csimigration, k8s.io/csi-translation-lib),
  and as no CSIDriver object says otherwise it must be attached. The
  controller's CSI attacher creates a VolumeAttachment that no
  external-attacher ever handles, and after 2 min says so in a
  ``FailedAttachVolume`` event: ``AttachVolume.Attach failed for volume
  "pd.csi.storage.gke.io-d1" : timed out waiting for external-attacher of
  pd.csi.storage.gke.io CSI driver to attach volume
  projects/UNSPECIFIED/zones/UNSPECIFIED/disks/d1`` (csi_attacher.go,
  operationexecutor ``GenerateError``), retried with back-off. The kubelet's
  own wait then times out in silence: since 1.28 SyncPod records no
  ``Unable to attach or mount volumes`` event when the wait was interrupted
  by its timeout (pkg/kubelet/kubelet.go, ``wait.Interrupted``);
- a ``csi`` volume (or ``azureFile``, whose driver is file.csi.azure.com)
  of a driver that is not registered: ``MountVolume.SetUp failed for volume
  "v" : kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver
  name D not found in the list of registered CSI drivers``, retried with the
  mount back-off like a missing ConfigMap.

hostPath, emptyDir, configMap, secret, downwardAPI, projected,
persistentVolumeClaim, local, nfs-free types like these mount as before.

Example:
    >>> pod = {"spec": {"volumes": [{"name": "disk", "gcePersistentDisk": {"pdName": "d"}},
    ...                             {"name": "c", "csi": {"driver": "x.example.com"}}]}}
    >>> [(v, kind) for v, kind, _ in unmountable(pod)]
    [('disk', 'unattached'), ('c', 'setup')]
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["NO_PLUGIN", "UNATTACHABLE", "CSI_DRIVERS", "REGISTERED_CSI_DRIVERS",
           "ATTACH_TIMEOUT", "unmountable", "setup_errors", "blocked_message",
           "attach_failures"]

#: pkg/volume/csi csiTimeout: how long the CSI attacher waits for a VolumeAttachment.
ATTACH_TIMEOUT = 120.0

#: Volume types whose in-tree plugin was removed without a CSI migration.
NO_PLUGIN = ("rbd", "cephfs", "glusterfs", "flocker", "quobyte", "storageos", "scaleIO",
             "photonPersistentDisk")
#: Attachable in-tree cloud disks and the CSI driver now serving each (csi-translation-lib).
UNATTACHABLE = {
    "gcePersistentDisk": "pd.csi.storage.gke.io",
    "awsElasticBlockStore": "ebs.csi.aws.com",
    "azureDisk": "disk.csi.azure.com",
    "cinder": "cinder.csi.openstack.org",
    "vsphereVolume": "csi.vsphere.vmware.com",
    "portworxVolume": "pxd.portworx.com",
}
#: Mounted through a CSI driver (no attach): the type and its driver.
CSI_DRIVERS = {"azureFile": "file.csi.azure.com"}
#: The CSI drivers registered on a kind node: none.
REGISTERED_CSI_DRIVERS: frozenset[str] = frozenset()


def unmountable(pod: Mapping) -> list[tuple[str, str, str]]:
    """``(volume, how, detail)`` for each volume the node cannot mount.

    ``how`` is ``"no-plugin"``, ``"unattached"`` or ``"setup"`` (the
    ``MountVolume.SetUp`` error text is ``detail``).
    """
    out = []
    for vol in (pod.get("spec") or {}).get("volumes") or ():
        name = str(vol.get("name", ""))
        driver = ""
        if vol.get("csi"):
            driver = str(vol["csi"].get("driver", ""))
        for kind, csi in CSI_DRIVERS.items():
            if vol.get(kind):
                driver = csi
        if driver and driver not in REGISTERED_CSI_DRIVERS:
            out.append((name, "setup", "kubernetes.io/csi: mounter.SetUpAt failed to get CSI "
                        f"client: driver name {driver} not found in the list of registered "
                        "CSI drivers"))
        elif any(vol.get(kind) for kind in NO_PLUGIN):
            out.append((name, "no-plugin", f'failed to get Plugin from volumeSpec for volume '
                        f'"{name}" err=no volume plugin matched'))
        elif any(vol.get(kind) for kind in UNATTACHABLE):
            out.append((name, "unattached", ""))
    return out


def setup_errors(pod: Mapping) -> list[tuple[str, str]]:
    """The ``MountVolume.SetUp`` failures: ``(volume, why)``, like a missing ConfigMap's."""
    return [(name, detail) for name, how, detail in unmountable(pod) if how == "setup"]


def blocked_message(pod: Mapping) -> tuple[str, bool] | None:
    """The ``Unable to attach or mount volumes`` text for volumes that never mount.

    Returns ``(message, at_once)``: a missing plugin fails the wait at once
    (``at_once`` is always True). None: no event (a disk nobody attaches only
    makes the wait time out, which the kubelet does not report).

    Example:
        >>> blocked_message({"spec": {"volumes": [{"name": "v", "rbd": {"image": "i"}}]}})[0]
        'Unable to attach or mount volumes: unmounted volumes=[v], unattached volumes=[], \
failed to process volumes=[v]: failed to get Plugin from volumeSpec for volume "v" err=no volume \
plugin matched'
    """
    found = unmountable(pod)
    missing = [(n, d) for n, how, d in found if how == "no-plugin"]
    unattached = sorted(n for n, how, _ in found if how == "unattached")
    if missing:
        names = " ".join(sorted(n for n, _ in missing))
        return (f"Unable to attach or mount volumes: unmounted volumes=[{names}], "
                f"unattached volumes=[{' '.join(unattached)}], failed to process "
                f"volumes=[{names}]: {'; '.join(d for _, d in missing)}", True)
    # Only disks nobody attaches: the wait ends by its timeout, and SyncPod records
    # no event for an interrupted wait (pkg/kubelet/kubelet.go, wait.Interrupted).
    return None


def _translated(vol: Mapping) -> tuple[str, str, str] | None:
    """``(spec name, driver, volume handle)`` of an inline cloud disk after translation.

    csi-translation-lib ``TranslateInTreeInlineVolumeToCSI``: the translated
    PersistentVolume is named ``DRIVER-ID`` (gce_pd.go, aws_ebs.go).
    """
    if vol.get("gcePersistentDisk"):
        pd = str(vol["gcePersistentDisk"].get("pdName", ""))
        driver = UNATTACHABLE["gcePersistentDisk"]
        # volIDZonalFmt with UnspecifiedValue for project and zone.
        return f"{driver}-{pd}", driver, f"projects/UNSPECIFIED/zones/UNSPECIFIED/disks/{pd}"
    if vol.get("awsElasticBlockStore"):
        # KubernetesVolumeIDToEBSVolumeID: aws://ZONE/vol-x becomes vol-x.
        handle = str(vol["awsElasticBlockStore"].get("volumeID", "")).rsplit("/", 1)[-1]
        driver = UNATTACHABLE["awsElasticBlockStore"]
        return f"{driver}-{handle}", driver, handle
    return None


def attach_failures(pod: Mapping) -> list[str]:
    """The attach/detach controller's ``FailedAttachVolume`` texts for the pod's cloud disks.

    Only ``gcePersistentDisk`` and ``awsElasticBlockStore`` are modelled (the
    translation of the others names volumes differently); their pods stay
    ContainerCreating all the same.

    Example:
        >>> attach_failures({"spec": {"volumes": [{"name": "v", "awsElasticBlockStore": {
        ...     "volumeID": "aws://us-east-1a/vol-1"}}]}})[0]
        'AttachVolume.Attach failed for volume "ebs.csi.aws.com-vol-1" : timed out waiting for \
external-attacher of ebs.csi.aws.com CSI driver to attach volume vol-1'
    """
    out = []
    for vol in (pod.get("spec") or {}).get("volumes") or ():
        found = _translated(vol)
        if found is not None:
            name, driver, handle = found
            out.append(f'AttachVolume.Attach failed for volume "{name}" : timed out waiting '
                       f"for external-attacher of {driver} CSI driver to attach volume {handle}")
    return out
