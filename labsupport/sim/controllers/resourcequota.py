"""The ResourceQuota controller: keeps each quota's ``status`` current.

``status.hard`` copies ``spec.hard``; ``status.used`` is what the objects of
the namespace count against it. Admission charges a quota at once when it
lets an object in; this controller recalculates when a quota changes and
*replenishes* it when objects go away or pods finish
(pkg/controller/resourcequota/resource_quota_controller.go: ``syncResourceQuota``,
replenishment by the quota monitors).

It watches the store for the namespaces that have a quota; writes anywhere
else cost one dictionary lookup.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
    ...              "spec": {"hard": {"configmaps": "5"}}})
    >>> _ = c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    >>> c.get("resourcequota/q")["status"]
    {'hard': {'configmaps': '5'}, 'used': {'configmaps': '1'}}
    >>> c.delete("configmap/a"); c.advance(1)
    >>> c.get("resourcequota/q")["status"]["used"]
    {'configmaps': '0'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.admission import live_usage
from labsupport.sim.admission.resourcequota import format_amount
from labsupport.sim.controllers.base import SimController
from labsupport.sim.store import WatchEvent

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["ResourceQuotaController", "COMPONENT"]

COMPONENT = "resourcequota-controller"
_QUOTA = type_for_kind("ResourceQuota")


class ResourceQuotaController(SimController):
    """Syncs the quotas of one namespace at a time (the key is the namespace)."""

    name = COMPONENT

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        #: namespace -> number of ResourceQuotas in it.
        self._namespaces: dict[str, int] = {}
        sim.store.watch("/registry/", self._changed)

    def _changed(self, ev: WatchEvent) -> None:
        obj = ev.object
        ns = obj["metadata"].get("namespace")
        if ns is None:
            return
        if obj["kind"] == "ResourceQuota":
            if ev.type == "ADDED":
                self._namespaces[ns] = self._namespaces.get(ns, 0) + 1
            elif ev.type == "DELETED":
                self._namespaces[ns] -= 1
                if not self._namespaces[ns]:
                    del self._namespaces[ns]
                return
            elif (ev.old or {}).get("spec") == obj.get("spec"):
                return  # a status write (ours, or admission's charge)
            self.enqueue(ns)
            return
        if ns not in self._namespaces:
            return
        if ev.type == "DELETED":
            self.enqueue(ns)
        elif obj["kind"] == "Pod" and ev.type == "MODIFIED":
            before = ((ev.old or {}).get("status") or {}).get("phase")
            after = (obj.get("status") or {}).get("phase")
            if before != after and after in ("Succeeded", "Failed"):
                self.enqueue(ns)  # a finished pod no longer counts

    def sync(self, key: str) -> None:
        """Recalculate ``status`` of every ResourceQuota in namespace ``key``."""
        for quota in self.api.list(_QUOTA, key):
            hard = dict((quota.get("spec") or {}).get("hard") or {})
            used = live_usage(self.api, quota)
            status = {"hard": hard, "used": {k: format_amount(k, used.get(k, 0.0)) for k in hard}}
            self.api.update_status(quota, status, COMPONENT)
