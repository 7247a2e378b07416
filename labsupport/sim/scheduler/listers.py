"""What kube-scheduler's informers list, beyond nodes and pods.

PodTopologySpread's default constraints select the pods of the pod's
Services, ReplicaSet, StatefulSet or ReplicationController
(plugins/helper/spread.go ``DefaultSelector``); InterPodAffinity's
``namespaceSelector`` needs the Namespaces' labels. :class:`Listers` keeps
such objects in memory (for a :class:`~labsupport.sim.scheduler.scheduler.Scheduler`
without a cluster: add them with :meth:`Listers.add`); :class:`StoreListers`
reads them from a SimCluster's store, as informers would.

Example:
    >>> from labsupport.sim.scheduler.listers import Listers
    >>> ls_ = Listers()
    >>> ls_.add({"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
    ...          "spec": {"selector": {"app": "web"}}})
    >>> ls_.services("default")
    [{'app': 'web'}]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import count
from typing import Any

__all__ = ["Listers", "StoreListers"]

_CONTROLLER_KINDS = ("ReplicaSet", "StatefulSet", "ReplicationController")
_CLUSTER_SCOPED = ("Namespace", "PersistentVolume", "StorageClass")
#: Services versions: unique across all listers, so a cache may mix listers.
_VERSIONS = count(1)


class Listers:
    """Services, controllers and Namespaces, kept in memory."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._services_version = next(_VERSIONS)

    @property
    def services_version(self) -> int:
        """A number that changes whenever a Service is added, replaced or removed.

        Numbers are never reused, not even by other listers. Caches of what
        :meth:`services` answers (PodTopologySpread's default selectors) key on it.

        Example:
            >>> ls_ = Listers()
            >>> v = ls_.services_version
            >>> ls_.add({"kind": "Service", "metadata": {"name": "web"}, "spec": {}})
            >>> ls_.services_version != v
            True
        """
        return self._services_version

    def add(self, obj: dict) -> None:
        """Add or replace an object the plugins ask about.

        Services, ReplicaSets, StatefulSets, ReplicationControllers, Namespaces,
        PersistentVolumeClaims, PersistentVolumes, StorageClasses and Pods.
        """
        meta = obj.get("metadata") or {}
        ns = ("" if obj.get("kind") in _CLUSTER_SCOPED
              else str(meta.get("namespace") or "default"))
        self._objects[(str(obj.get("kind")), ns, str(meta.get("name")))] = obj
        if obj.get("kind") == "Service":
            self._services_version = next(_VERSIONS)

    def remove(self, kind: str, namespace: str, name: str) -> None:
        """Forget an object (unknown ones are ignored)."""
        self._objects.pop((kind, namespace, name), None)
        if kind == "Service":
            self._services_version = next(_VERSIONS)

    def _list(self, kind: str, namespace: str | None = None) -> Iterator[dict]:
        for (k, ns, _), obj in self._objects.items():
            if k == kind and (namespace is None or ns == namespace):
                yield obj

    def _get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self._objects.get((kind, namespace, name))

    # -- what the plugins ask ---------------------------------------------------------------
    def services(self, namespace: str) -> list[Mapping[str, str]]:
        """``spec.selector`` of the Services in a namespace (nil selectors left out)."""
        return [s["spec"]["selector"] for s in self._list("Service", namespace)
                if (s.get("spec") or {}).get("selector") is not None]

    def controller(self, kind: str, namespace: str, name: str) -> dict | None:
        """A ReplicaSet, StatefulSet or ReplicationController by name, or None."""
        return self._get(kind, namespace, name) if kind in _CONTROLLER_KINDS else None

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        """A Namespace's labels (None when it is not known)."""
        obj = self._get("Namespace", "", namespace)
        return None if obj is None else (obj.get("metadata") or {}).get("labels") or {}

    def namespaces(self) -> list[tuple[str, Mapping[str, str]]]:
        """Every Namespace: ``(name, labels)``."""
        return [(str(o["metadata"]["name"]), o["metadata"].get("labels") or {})
                for o in self._list("Namespace")]

    # -- storage (VolumeBinding, VolumeRestrictions) -----------------------------------------
    def persistent_volume_claim(self, namespace: str, name: str) -> dict | None:
        """A PersistentVolumeClaim by name, or None."""
        return self._get("PersistentVolumeClaim", namespace, name)

    def persistent_volume(self, name: str) -> dict | None:
        """A PersistentVolume by name, or None."""
        return self._get("PersistentVolume", "", name)

    def persistent_volumes(self) -> list[dict]:
        """Every PersistentVolume."""
        return list(self._list("PersistentVolume"))

    def storage_class(self, name: str) -> dict | None:
        """A StorageClass by name, or None."""
        return self._get("StorageClass", "", name)

    def pvc_used_by_pods(self, namespace: str, claim: str) -> bool:
        """``StorageInfos.IsPVCUsedByPods``: a pod on a node uses the claim."""
        return any(_uses_claim(p, namespace, claim) for p in self._list("Pod", namespace))

    # -- preemption (DefaultPreemption) ------------------------------------------------------
    def pod(self, namespace: str, name: str) -> dict | None:
        """The latest copy of a Pod (added with :meth:`add`), or None."""
        return self._get("Pod", namespace, name)

    def pod_disruption_budgets(self) -> list[dict]:
        """Every PodDisruptionBudget (``getPodDisruptionBudgets``)."""
        return list(self._list("PodDisruptionBudget"))


class StoreListers(Listers):
    """The same questions, answered from a SimCluster's store."""

    _KEYS = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets",
             "ReplicationController": "controllers"}

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store = store
        self._watching_services = False

    @property
    def services_version(self) -> int:
        """Changes at every write of a Service in the store (watched from the first ask)."""
        if not self._watching_services:
            self._watching_services = True
            self.store.watch("/registry/services/specs/", self._service_changed)
        return self._services_version

    def _service_changed(self, _event: Any) -> None:
        self._services_version = next(_VERSIONS)

    def services(self, namespace: str) -> list[Mapping[str, str]]:
        """``spec.selector`` of the Services in a namespace, from the store."""
        prefix = f"/registry/services/specs/{namespace}/"
        return [svc["spec"]["selector"] for key, svc in self.store.table("services/specs").items()
                if key.startswith(prefix) and (svc.get("spec") or {}).get("selector") is not None]

    def controller(self, kind: str, namespace: str, name: str) -> dict | None:
        """A ReplicaSet, StatefulSet or ReplicationController from the store, or None."""
        table = self._KEYS.get(kind)
        return None if table is None else self.store.peek(f"/registry/{table}/{namespace}/{name}")

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        """A Namespace's labels from the store (None when it does not exist)."""
        obj = self.store.peek(f"/registry/namespaces/{namespace}")
        return None if obj is None else (obj.get("metadata") or {}).get("labels") or {}

    def namespaces(self) -> list[tuple[str, Mapping[str, str]]]:
        """Every Namespace in the store: ``(name, labels)``."""
        return [(str(o["metadata"]["name"]), o["metadata"].get("labels") or {})
                for o in self.store.table("namespaces").values()]

    def persistent_volume_claim(self, namespace: str, name: str) -> dict | None:
        """A PersistentVolumeClaim from the store, or None."""
        return self.store.peek(f"/registry/persistentvolumeclaims/{namespace}/{name}")

    def persistent_volume(self, name: str) -> dict | None:
        """A PersistentVolume from the store, or None."""
        return self.store.peek(f"/registry/persistentvolumes/{name}")

    def persistent_volumes(self) -> list[dict]:
        """Every PersistentVolume in the store (by name)."""
        table = self.store.table("persistentvolumes")
        return [table[k] for k in sorted(table)]

    def storage_class(self, name: str) -> dict | None:
        """A StorageClass from the store, or None."""
        return self.store.peek(f"/registry/storageclasses/{name}")

    def pvc_used_by_pods(self, namespace: str, claim: str) -> bool:
        """Whether a pod bound to a node uses the claim (a scan: asked for RWOP claims only)."""
        prefix = f"/registry/pods/{namespace}/"
        return any(_uses_claim(p, namespace, claim)
                   for k, p in self.store.table("pods").items() if k.startswith(prefix))

    def pod(self, namespace: str, name: str) -> dict | None:
        """The Pod from the store, or None."""
        return self.store.peek(f"/registry/pods/{namespace}/{name}")

    def pod_disruption_budgets(self) -> list[dict]:
        """Every PodDisruptionBudget in the store (by key)."""
        table = self.store.table("poddisruptionbudgets")
        return [table[k] for k in sorted(table)]


def _uses_claim(pod: Mapping, namespace: str, claim: str) -> bool:
    """A pod bound to a node, not finished, with a volume of the claim."""
    spec = pod.get("spec") or {}
    if not spec.get("nodeName") or not spec.get("volumes"):
        return False
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    if str((pod.get("metadata") or {}).get("namespace") or "default") != namespace:
        return False
    return any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim
               for v in spec["volumes"])
