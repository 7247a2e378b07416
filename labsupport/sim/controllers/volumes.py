"""PersistentVolumes and their claims: binding, provisioning, reclaiming, and the data.

:class:`VolumeBinder` is the PV controller of kube-controller-manager
(pkg/controller/volume/persistentvolume/pv_controller.go), kind's one
provisioner (rancher's local-path provisioner, an external provisioner in
``local-path-storage``), and the files written to every volume, so a lesson
can show that data on a PersistentVolume survives its pod while an
emptyDir's data does not.

The rules (see :mod:`labsupport.sim.controllers.pvbinding` for the matching):

- ``syncUnboundClaim``: a claim that names a volume (``spec.volumeName``)
  binds it if it fits, else stays Pending with ``VolumeMismatch``; otherwise
  the best Available volume binds; otherwise a class in
  ``WaitForFirstConsumer`` mode waits (``WaitForFirstConsumer`` or
  ``WaitForPodScheduled``) until the scheduler picks a node, a claim with a
  class is provisioned, and a claim without one waits (``FailedBinding``).
- ``provisionClaim``: a missing class or an in-tree provisioner that does not
  exist fails (``ProvisioningFailed``); any other provisioner is external:
  the controller says so (``ExternalProvisioning``) and waits. Only
  ``rancher.io/local-path`` runs on kind; it provisions a hostPath volume on
  the node in the claim's ``volume.kubernetes.io/selected-node``.
- ``syncBoundClaim``: a bound claim whose volume is gone is ``Lost``.
- ``syncVolume``: a volume whose claim is gone is ``Released``, then
  reclaimed: ``Delete`` removes it (the provisioner deletes what it made),
  ``Retain`` leaves it Released for an administrator.

The controller re-syncs unbound claims every 15 s
(``--pvclaimbinder-sync-period``), so their events repeat as on a cluster.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
    ...              "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
    ...              "resources": {"requests": {"storage": "1Gi"}}}})
    >>> c.advance(1)
    >>> c.get("pvc/data")["status"]["phase"], c.events()[-1].reason
    ('Pending', 'WaitForFirstConsumer')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.controllers.base import Controller
from labsupport.sim.controllers.pvbinding import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_PROVISIONED_BY,
    ANN_SELECTED_NODE,
    ANN_STORAGE_CLASS,
    ANN_STORAGE_PROVISIONER,
    check_volume_satisfies_claim,
    claim_class,
    claim_names,
    find_best_match,
    is_bound_to_claim,
)

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["VolumeBinder", "PROVISIONER", "COMPONENT", "RESYNC_SECONDS", "CSI_MIGRATED",
           "BIND_TIMEOUT_SECONDS", "default_class"]

COMPONENT = "persistentvolume-controller"
#: The provisioner of kind's ``standard`` class (kubernetes-sigs/kind, local-path-storage).
PROVISIONER = "rancher.io/local-path"
#: kube-controller-manager --pvclaimbinder-sync-period (default 15 s).
RESYNC_SECONDS = 15.0
#: VolumeBindingArgs bindTimeoutSeconds (default 600): how long PreBind waits.
BIND_TIMEOUT_SECONDS = 600.0
#: The in-tree provisioners whose volumes CSI drivers took over (CSI migration,
#: k8s.io/csi-translation-lib plugins): a class naming one waits for that driver.
CSI_MIGRATED = {
    "kubernetes.io/aws-ebs": "ebs.csi.aws.com",
    "kubernetes.io/gce-pd": "pd.csi.storage.gke.io",
    "kubernetes.io/azure-disk": "disk.csi.azure.com",
    "kubernetes.io/azure-file": "file.csi.azure.com",
    "kubernetes.io/cinder": "cinder.csi.openstack.org",
    "kubernetes.io/vsphere-volume": "csi.vsphere.vmware.com",
    "kubernetes.io/portworx-volume": "pxd.portworx.com",
}
_ANN_DEFAULT = "storageclass.kubernetes.io/is-default-class"
_PVC = type_for_kind("PersistentVolumeClaim")
_PV = type_for_kind("PersistentVolume")
_CLASS = type_for_kind("StorageClass")
_POD = type_for_kind("Pod")


def default_class(classes: list[dict]) -> dict | None:
    """``GetDefaultClass``: the newest class annotated as default (ties: by name).

    Example:
        >>> default_class([{"metadata": {"name": "standard", "annotations": {
        ...     "storageclass.kubernetes.io/is-default-class": "true"}}}])["metadata"]["name"]
        'standard'
    """
    marked = [c for c in classes
              if ((c.get("metadata") or {}).get("annotations") or {}).get(_ANN_DEFAULT) == "true"]
    if not marked:
        return None
    marked.sort(key=lambda c: (c["metadata"].get("creationTimestamp") or "",
                               c["metadata"]["name"]), reverse=True)
    return marked[0]


def _annotated(obj: dict, **pairs: str) -> dict:
    meta = dict(obj["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), **pairs}
    return meta


class VolumeBinder(Controller):
    """The PV controller, kind's local-path provisioner, and the data in every volume."""

    name = COMPONENT

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim.env)
        self.sim = sim
        self.api = sim.api
        self.data: dict[str, dict[str, str]] = {}
        self._resyncing = False
        sim.store.watch("/registry/persistentvolumeclaims/", self._claim_event)
        sim.store.watch("/registry/persistentvolumes/", self._volume_event)
        sim.store.watch("/registry/storageclasses/", self._class_event)

    # --- watches --------------------------------------------------------------------------
    def claim_created(self, pvc: dict) -> None:
        """A new claim is synced (the watch below already queued it)."""
        self.enqueue(("claim", pvc["metadata"]["namespace"], pvc["metadata"]["name"]))

    def _claim_event(self, ev: WatchEvent) -> None:
        # VolumeBinding and VolumeRestrictions register claim, volume and class
        # events (EventsToRegister): a pod waiting on them is tried again.
        self.sim.scheduler.queue.cluster_changed()
        pvc = ev.object
        meta = pvc["metadata"]
        if ev.type == "DELETED":
            volume = (pvc.get("spec") or {}).get("volumeName")
            if volume:
                self.enqueue(("volume", volume))
            return
        self.enqueue(("claim", meta["namespace"], meta["name"]))

    def _volume_event(self, ev: WatchEvent) -> None:
        self.sim.scheduler.queue.cluster_changed()
        if ev.type != "DELETED":
            self.enqueue(("volume", ev.object["metadata"]["name"]))
        ref = (ev.object.get("spec") or {}).get("claimRef")
        if ref:
            self.enqueue(("claim", ref.get("namespace", "default"), ref.get("name", "")))

    def _class_event(self, ev: WatchEvent) -> None:
        self.sim.scheduler.queue.cluster_changed()
        if ev.type != "DELETED":
            self._schedule_resync()

    def _schedule_resync(self) -> None:
        if not self._resyncing:
            self._resyncing = True
            self.env.process(self._resync())

    def _resync(self):
        """The periodic sync of unbound claims and released volumes, while there are any."""
        while True:
            yield self.env.timeout(RESYNC_SECONDS)
            waiting = [p for p in self.api.list(_PVC)
                       if (p.get("status") or {}).get("phase") != "Bound"]
            released = [v for v in self.api.list(_PV)
                        if (v.get("status") or {}).get("phase") in ("Released", "Available")]
            if not waiting and not released:
                self._resyncing = False
                return
            for p in waiting:
                self.enqueue(("claim", p["metadata"]["namespace"], p["metadata"]["name"]))
            for v in released:
                self.enqueue(("volume", v["metadata"]["name"]))

    def sync(self, key: tuple) -> None:
        """Run ``syncClaim`` or ``syncVolume`` for one key."""
        if key[0] == "claim":
            pvc = self.api.get(_PVC, key[1], key[2])
            if pvc is not None and not pvc["metadata"].get("deletionTimestamp"):
                self.sync_claim(pvc)
        else:
            pv = self.api.get(_PV, None, key[1])
            if pv is not None:
                self.sync_volume(pv)

    # --- claims (syncClaim) ---------------------------------------------------------------
    def sync_claim(self, pvc: dict) -> None:
        """``syncClaim``: an unbound claim looks for a volume, a bound one checks its volume."""
        if ANN_BIND_COMPLETED in (pvc["metadata"].get("annotations") or {}):
            self._sync_bound_claim(pvc)
        else:
            self._sync_unbound_claim(pvc)

    def _pending(self, pvc: dict) -> dict:
        self._schedule_resync()
        status = dict(pvc.get("status") or {}, phase="Pending")
        status.pop("accessModes", None)
        status.pop("capacity", None)
        return self.api.update_status(pvc, status, COMPONENT)

    def _sync_unbound_claim(self, pvc: dict) -> None:
        spec = pvc.get("spec") or {}
        name = spec.get("volumeName")
        if not name:
            # RetroactiveDefaultStorageClass (GA 1.28): a claim that never chose a
            # class gets the default one once there is a default.
            annotations = pvc["metadata"].get("annotations") or {}
            if "storageClassName" not in spec and ANN_STORAGE_CLASS not in annotations:
                default = default_class(self.api.list(_CLASS))
                if default is not None:
                    self.api.patch(pvc, COMPONENT, spec=dict(
                        spec, storageClassName=default["metadata"]["name"]))
                    return
            cls = self._class_of(pvc)
            delay = cls is not None and cls.get("volumeBindingMode") == "WaitForFirstConsumer"
            pv = find_best_match(pvc, self.api.list(_PV), delay_binding=delay)
            if pv is not None:
                self.bind(pv, pvc)
                return
            selected = (pvc["metadata"].get("annotations") or {}).get(ANN_SELECTED_NODE)
            if delay and not selected:
                self._wait_for_consumer(pvc)
            elif claim_class(pvc):
                self._pending(pvc)
                self._provision(pvc, cls)
                return
            else:
                self.api.event(pvc, "Normal", "FailedBinding", "no persistent volumes available "
                               "for this claim and no storage class is set", COMPONENT)
            self._pending(pvc)
            return
        pv = self.api.get(_PV, None, name)
        if pv is None:
            self._pending(pvc)  # asked for a volume that does not exist (yet)
        elif not (pv.get("spec") or {}).get("claimRef"):
            why = check_volume_satisfies_claim(pv, pvc)
            if why is None:
                self.bind(pv, pvc)
            else:
                self.api.event(pvc, "Warning", "VolumeMismatch",
                               f'Cannot bind to requested volume "{name}": {why}', COMPONENT)
                self._pending(pvc)
        elif is_bound_to_claim(pv, pvc):
            self.bind(pv, pvc)
        else:
            self._pending(pvc)  # the volume is claimed by someone else: retry later

    def _wait_for_consumer(self, pvc: dict) -> None:
        """``emitEventForUnboundDelayBindingClaim``."""
        ns, claim = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        # findNonScheduledPodsByPVC: unscheduled, non-terminated pods, by name only.
        waiting = [p["metadata"]["name"] for p in self.api.list(_POD, ns)
                   if not p["spec"].get("nodeName") and claim in claim_names(p)
                   and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        if not waiting:
            self.api.event(pvc, "Normal", "WaitForFirstConsumer",
                           "waiting for first consumer to be created before binding", COMPONENT)
        elif len(waiting) == 1:
            self.api.event(pvc, "Normal", "WaitForPodScheduled",
                           f"waiting for pod {waiting[0]} to be scheduled", COMPONENT)
        else:
            self.api.event(pvc, "Normal", "WaitForPodScheduled",
                           f"waiting for pods {','.join(waiting)} to be scheduled", COMPONENT)

    def _sync_bound_claim(self, pvc: dict) -> None:
        name = (pvc.get("spec") or {}).get("volumeName")
        pv = self.api.get(_PV, None, name) if name else None
        if not name:
            self._lost(pvc, "ClaimLost", "Bound claim has lost reference to PersistentVolume. "
                       "Data on the volume is lost!")
        elif pv is None:
            self._lost(pvc, "ClaimLost",
                       "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
        else:
            ref = (pv.get("spec") or {}).get("claimRef")
            if not ref or ref.get("uid") == pvc["metadata"].get("uid"):
                self.bind(pv, pvc)
            else:
                self._lost(pvc, "ClaimMisbound",
                           "Two claims are bound to the same volume, this one is bound incorrectly")

    def _lost(self, pvc: dict, reason: str, message: str) -> None:
        if (pvc.get("status") or {}).get("phase") != "Lost":
            self.api.update_status(pvc, {"phase": "Lost"}, COMPONENT)
            self.api.event(pvc, "Warning", reason, message, COMPONENT)

    def bind(self, pv: dict, pvc: dict) -> None:
        """``bind``: claimRef on the volume, volumeName on the claim, both Bound."""
        meta = pvc["metadata"]
        spec = dict(pv.get("spec") or {})
        if not is_bound_to_claim(pv, pvc) or not (spec.get("claimRef") or {}).get("uid"):
            pv_meta = pv["metadata"]
            if not spec.get("claimRef"):
                pv_meta = _annotated(pv, **{ANN_BOUND_BY_CONTROLLER: "yes"})
            spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                                "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
                                "resourceVersion": meta.get("resourceVersion", "")}
            pv = self.api.patch(pv, COMPONENT, metadata=pv_meta, spec=spec)
        pv = self.api.update_status(pv, dict(pv.get("status") or {}, phase="Bound"), COMPONENT)
        pvc_spec = dict(pvc.get("spec") or {})
        pairs = {ANN_BIND_COMPLETED: "yes"}
        if not pvc_spec.get("volumeName"):
            pairs[ANN_BOUND_BY_CONTROLLER] = "yes"
        if pvc_spec.get("volumeName") != pv["metadata"]["name"] or any(
                (meta.get("annotations") or {}).get(k) != v for k, v in pairs.items()):
            pvc_spec["volumeName"] = pv["metadata"]["name"]
            pvc = self.api.patch(pvc, COMPONENT, metadata=_annotated(pvc, **pairs),
                                 spec=pvc_spec)
        self.api.update_status(pvc, {
            **(pvc.get("status") or {}), "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or ()),
            "capacity": dict(spec.get("capacity") or {})}, COMPONENT)

    # --- provisioning (provisionClaim) ------------------------------------------------------
    def _class_of(self, pvc: dict) -> dict | None:
        name = claim_class(pvc)
        return self.api.get(_CLASS, None, name) if name else None

    def _provision(self, pvc: dict, cls: dict | None) -> None:
        """``provisionClaimOperation``: in-tree plugin, external provisioner, or failure."""
        if cls is None:
            self.api.event(pvc, "Warning", "ProvisioningFailed",
                           f'storageclass.storage.k8s.io "{claim_class(pvc)}" not found', COMPONENT)
            return
        provisioner = str(cls.get("provisioner") or "")
        name = CSI_MIGRATED.get(provisioner, provisioner)
        if provisioner.startswith("kubernetes.io/") and provisioner not in CSI_MIGRATED:
            # findProvisionablePlugin: no in-tree plugin of that name is left.
            self.api.event(pvc, "Warning", "ProvisioningFailed",
                           f"no volume plugin matched name: {provisioner}", COMPONENT)
            return
        annotations = pvc["metadata"].get("annotations") or {}
        if annotations.get(ANN_STORAGE_PROVISIONER) != name:
            pvc = self.api.patch(pvc, COMPONENT, metadata=_annotated(pvc, **{
                ANN_STORAGE_PROVISIONER: name, ANN_BETA_STORAGE_PROVISIONER: name}))
        self.api.event(pvc, "Normal", "ExternalProvisioning",
                       f"Waiting for a volume to be created either by the external provisioner "
                       f"'{name}' or manually by the system administrator. If volume creation "
                       "is delayed, please verify that the provisioner is running and correctly "
                       "registered.", COMPONENT)
        if name == PROVISIONER:
            self._local_path(pvc, cls)

    def _local_path(self, pvc: dict, cls: dict) -> None:
        """The local-path provisioner (rancher): a hostPath directory on the selected node."""
        meta = pvc["metadata"]
        node = (meta.get("annotations") or {}).get(ANN_SELECTED_NODE)
        ns, claim = meta["namespace"], meta["name"]
        if not node:
            # local-path-provisioner provisioner.go Provision: volumes are per node, so
            # without a selected node it fails (ProvisioningReschedule), after the
            # external-provisioner library's "Provisioning" event.
            self.api.event(pvc, "Normal", "Provisioning", "External provisioner is provisioning "
                           f'volume for claim "{ns}/{claim}"', PROVISIONER)
            self.api.event(pvc, "Warning", "ProvisioningFailed",
                           "failed to provision volume with StorageClass "
                           f'"{cls["metadata"]["name"]}": configuration error, no node was '
                           "specified", PROVISIONER)
            return
        pv_name = f"pvc-{meta['uid']}"
        if self.api.get(_PV, None, pv_name) is not None:
            return
        self.api.event(pvc, "Normal", "Provisioning",
                       f'External provisioner is provisioning volume for claim "{ns}/{claim}"',
                       PROVISIONER)
        size = ((pvc["spec"].get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {
                ANN_PROVISIONED_BY: PROVISIONER, "local.path.provisioner/selected-node": node}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": list(pvc["spec"].get("accessModes") or ["ReadWriteOnce"]),
                "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy") or "Delete",
                "storageClassName": cls["metadata"]["name"],
                "volumeMode": pvc["spec"].get("volumeMode") or "Filesystem",
                "hostPath": {"path": f"/var/local-path-provisioner/{pv_name}_{ns}_{claim}",
                             "type": "DirectoryOrCreate"},
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": claim,
                             "uid": meta["uid"], "apiVersion": "v1",
                             "resourceVersion": meta.get("resourceVersion", "")},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
            },
        }
        self.api.create(pv, component=PROVISIONER)
        self.api.event(pvc, "Normal", "ProvisioningSucceeded",
                       f"Successfully provisioned volume {pv_name}", PROVISIONER)

    # --- volumes (syncVolume) ---------------------------------------------------------------
    def sync_volume(self, pv: dict) -> None:
        """``syncVolume``: Available, Bound, or Released and reclaimed."""
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef")
        if not ref or not ref.get("uid"):
            self._phase(pv, "Available")  # unused, or pre-bound by its creator
            return
        pvc = self.api.get(_PVC, ref.get("namespace", "default"), ref.get("name", ""))
        if pvc is not None and pvc["metadata"].get("uid") != ref.get("uid"):
            pvc = None  # the claim was deleted and another made with its name
        if pvc is None:
            pv = self._phase(pv, "Released")
            self._reclaim(pv)
        elif not (pvc.get("spec") or {}).get("volumeName"):
            self.enqueue(("claim", pvc["metadata"]["namespace"], pvc["metadata"]["name"]))
        elif pvc["spec"]["volumeName"] == pv["metadata"]["name"]:
            self._phase(pv, "Bound")
        elif (pv["metadata"].get("annotations") or {}).get(ANN_PROVISIONED_BY) and \
                spec.get("persistentVolumeReclaimPolicy") == "Delete":
            self._reclaim(self._phase(pv, "Released"))
        else:
            # unbindVolume: the controller undoes its own claimRef; a user's loses its uid.
            new_spec = dict(spec)
            if (pv["metadata"].get("annotations") or {}).get(ANN_BOUND_BY_CONTROLLER):
                new_spec.pop("claimRef", None)
            else:
                new_spec["claimRef"] = {k: v for k, v in ref.items() if k != "uid"}
            pv = self.api.patch(pv, COMPONENT, spec=new_spec)
            self._phase(pv, "Available")

    def _phase(self, pv: dict, phase: str) -> dict:
        if (pv.get("status") or {}).get("phase") == phase:
            return pv
        return self.api.update_status(pv, dict(pv.get("status") or {}, phase=phase), COMPONENT)

    def _reclaim(self, pv: dict) -> None:
        """``reclaimVolume``: Retain keeps it Released; Delete removes it."""
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        provisioned_by = (pv["metadata"].get("annotations") or {}).get(ANN_PROVISIONED_BY)
        if policy == "Delete" and provisioned_by == PROVISIONER:
            # The external provisioner deletes the directory, then the PersistentVolume.
            self.data.pop("pv:" + pv["metadata"]["name"], None)
            self.api.delete(_PV, None, pv["metadata"]["name"], component=PROVISIONER)

    # --- what the scheduler and the kubelet ask ---------------------------------------------
    def bound(self, namespace: str, claim: str) -> bool:
        """True when the claim is Bound."""
        pvc = self.api.get(_PVC, namespace, claim)
        return pvc is not None and (pvc.get("status") or {}).get("phase") == "Bound"

    def pre_bind(self, pod: dict, node: str, bind: Callable[[], None],
                 fail: Callable[[str], None]) -> None:
        """VolumeBinding Reserve and PreBind (``AssumePodVolumes``, ``BindPodVolumes``).

        Unbound ``WaitForFirstConsumer`` claims of the pod get the volume the
        scheduler found on ``node`` (its claimRef is written) or the
        ``volume.kubernetes.io/selected-node`` annotation, which asks the PV
        controller to provision. Then ``bind`` is called once every claim is
        Bound: at once when they are, else at the next poll (every second) that
        finds them so; after ``bindTimeoutSeconds`` (600 s) ``fail`` is called
        with the scheduler's message instead.
        """
        from labsupport.sim.scheduler.plugins.volumebinding import (
            find_pod_volumes,
            pod_claims,
        )

        ns = pod["metadata"].get("namespace", "default")
        names = claim_names(pod)
        if not names:
            bind()
            return
        listers = self.sim.scheduler.table.listers
        claims = pod_claims(pod, ns, listers)
        node_obj = self.sim.store.peek(f"/registry/minions/{node}") or {}
        labels = (node_obj.get("metadata") or {}).get("labels") or {}
        _, static, provision = find_pod_volumes(claims, node, labels, listers)
        for pv, pvc in static:  # BindPodVolumes: pre-bind the volume to the claim
            meta = pvc["metadata"]
            spec = dict(pv["spec"], claimRef={
                "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
                "resourceVersion": meta.get("resourceVersion", "")})
            self.api.patch(pv, "default-scheduler", spec=spec,
                           metadata=_annotated(pv, **{ANN_BOUND_BY_CONTROLLER: "yes"}))
        for pvc in provision:
            if (pvc["metadata"].get("annotations") or {}).get(ANN_SELECTED_NODE) != node:
                self.api.patch(pvc, "default-scheduler",
                               metadata=_annotated(pvc, **{ANN_SELECTED_NODE: node}))
        if all(self.bound(ns, n) for n in names):
            bind()
            return
        self.env.process(self._wait_bound(ns, names, bind, fail))

    def _wait_bound(self, namespace: str, names: list[str], bind: Callable[[], None],
                    fail: Callable[[str], None]):
        deadline = self.env.now + BIND_TIMEOUT_SECONDS
        while self.env.now < deadline:
            yield self.env.timeout(1.0)  # wait.PollUntilContextTimeout, every second
            if all(self.bound(namespace, n) for n in names):
                bind()
                return
        fail('running PreBind plugin "VolumeBinding": binding volumes: '
             "context deadline exceeded")

    def volume_id(self, pod: dict, volume: str) -> str:
        """Where a pod's volume keeps its data: the PV for a claim, the pod for an emptyDir."""
        for vol in pod["spec"].get("volumes") or ():
            if vol.get("name") != volume:
                continue
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                pvc = self.api.get(_PVC, pod["metadata"].get("namespace", "default"), claim)
                if pvc is None or not pvc["spec"].get("volumeName"):
                    return ""
                return "pv:" + pvc["spec"]["volumeName"]
            return f"pod:{pod['metadata']['uid']}:{volume}"
        return ""

    def forget_pod(self, pod: dict) -> None:
        """A deleted pod's emptyDir volumes go with it."""
        prefix = f"pod:{pod['metadata']['uid']}:"
        for key in [k for k in self.data if k.startswith(prefix)]:
            del self.data[key]
