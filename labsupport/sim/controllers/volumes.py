"""PersistentVolumeClaims: provisioning, binding, and data that outlives pods.

kind ships one StorageClass, ``standard`` (rancher's local-path
provisioner), with ``volumeBindingMode: WaitForFirstConsumer``: a claim
stays Pending until a pod that uses it is scheduled, then a volume is
provisioned on that pod's node and bound. The simulator does the same, and
keeps the files written to every volume, so a lesson can show that data on a
PersistentVolume survives its pod while an emptyDir's data does not.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
    ...              "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
    ...              "resources": {"requests": {"storage": "1Gi"}}}})
    >>> c.get("pvc/data")["status"]["phase"]
    'Pending'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["VolumeBinder", "PROVISIONER"]

COMPONENT = "persistentvolume-controller"
PROVISIONER = "rancher.io/local-path"
_PVC = type_for_kind("PersistentVolumeClaim")
_PV = type_for_kind("PersistentVolume")


class VolumeBinder:
    """Provisions and binds claims when their first pod is scheduled; holds volume data."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.api = sim.api
        self.data: dict[str, dict[str, str]] = {}

    def claim_created(self, pvc: dict) -> None:
        """A new claim waits for its first consumer."""
        if not pvc.get("status"):
            pvc = self.api.update_status(pvc, {"phase": "Pending"}, COMPONENT)
        self.api.event(
            pvc,
            "Normal",
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            COMPONENT,
        )

    def pod_scheduled(self, pod: dict, node: str) -> None:
        """Provision and bind the pod's Pending claims on its node."""
        ns = pod["metadata"].get("namespace", "default")
        for vol in pod["spec"].get("volumes") or ():
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.api.get(_PVC, ns, claim)
            if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
                continue
            pv_name = f"pvc-{pvc['metadata']['uid']}"
            size = ((pvc["spec"].get("resources") or {}).get("requests") or {}).get(
                "storage", "1Gi"
            )
            pv = {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {
                    "name": pv_name,
                    "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
                },
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": pvc["spec"].get("accessModes", ["ReadWriteOnce"]),
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": pvc["spec"].get("storageClassName", "standard"),
                    "volumeMode": "Filesystem",
                    "hostPath": {
                        "path": f"/var/local-path-provisioner/{pv_name}_{ns}_{claim}",
                        "type": "DirectoryOrCreate",
                    },
                    "claimRef": {
                        "kind": "PersistentVolumeClaim",
                        "namespace": ns,
                        "name": claim,
                        "uid": pvc["metadata"]["uid"],
                    },
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": "kubernetes.io/hostname",
                                            "operator": "In",
                                            "values": [node],
                                        }
                                    ]
                                }
                            ]
                        }
                    },
                },
                "status": {"phase": "Bound"},
            }
            self.api.create(pv, component=PROVISIONER)
            self.api.event(
                pvc,
                "Normal",
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {pv_name}",
                PROVISIONER,
            )
            spec = dict(pvc["spec"], volumeName=pv_name)
            pvc = self.api.patch(pvc, COMPONENT, spec=spec)
            self.api.update_status(
                pvc,
                {
                    "phase": "Bound",
                    "accessModes": spec.get("accessModes", []),
                    "capacity": {"storage": size},
                },
                COMPONENT,
            )

    def bound(self, namespace: str, claim: str) -> bool:
        """True when the claim is Bound."""
        pvc = self.api.get(_PVC, namespace, claim)
        return pvc is not None and (pvc.get("status") or {}).get("phase") == "Bound"

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
