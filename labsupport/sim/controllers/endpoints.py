"""The Endpoints controller: which pod IPs stand behind each Service.

For every Service with a selector it keeps an Endpoints object of the same
name: the IPs of the matching pods that are Ready under ``addresses``, the
others under ``notReadyAddresses``. kube-proxy sends traffic only to
``addresses``, which is how a failing readiness probe takes a pod out of
rotation without killing it. Pods being deleted are left out.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply('''
    ... apiVersion: v1
    ... kind: Pod
    ... metadata: {name: p, labels: {app: web}}
    ... spec: {containers: [{name: web, image: "nginx:1.27"}]}
    ... ---
    ... apiVersion: v1
    ... kind: Service
    ... metadata: {name: web}
    ... spec: {selector: {app: web}, ports: [{port: 80}]}
    ... ''')
    >>> c.advance(5)
    >>> [a["ip"] for a in c.get("endpoints/web")["subsets"][0]["addresses"]]
    ['10.244.2.2']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import is_ready

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["EndpointsController"]

COMPONENT = "endpoint-controller"
_SVC = type_for_kind("Service")
_EP = type_for_kind("Endpoints")
_POD = type_for_kind("Pod")


def _target_port(port: dict, pod: dict) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in pod["spec"].get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == target:
                return p.get("containerPort")
    return None


class EndpointsController(SimController):
    """Reconciles the Endpoints of Services."""

    name = COMPONENT
    kind = "Service"
    watches = ("Service", "Pod")

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        self._selectors: dict[str, dict[str, Selector]] = {}

    def changed(self, ev: WatchEvent) -> None:
        """A Service changed: see :meth:`service_changed`."""
        self.service_changed(ev.object, ev.type == "DELETED")

    def watched(self, ev: WatchEvent, owner: dict | None) -> None:
        """A pod changed: see :meth:`pod_changed`."""
        self.pod_changed(ev.object, ev.old)

    def service_changed(self, svc: dict, deleted: bool) -> None:
        """Keep the per-namespace index of Service selectors, and sync the Service."""
        ns = svc["metadata"].get("namespace", "default")
        name = svc["metadata"]["name"]
        selectors = self._selectors.setdefault(ns, {})
        sel = (svc.get("spec") or {}).get("selector")
        if deleted or not sel:
            selectors.pop(name, None)
        else:
            selectors[name] = Selector.from_map(sel)
        self.enqueue((ns, name))

    def pod_changed(self, pod: dict, old: dict | None) -> None:
        """Enqueue the Services whose selector matches the pod (before or after).

        Only changes that can move an address matter: the pod's IP, readiness,
        labels, phase and deletion.
        """
        ns = pod["metadata"].get("namespace", "default")
        selectors = self._selectors.get(ns)
        if not selectors:
            return
        if old is not None and _relevant(old) == _relevant(pod):
            return
        labels = pod["metadata"].get("labels") or {}
        old_labels = (old or {}).get("metadata", {}).get("labels") or {}
        for name, s in selectors.items():
            if s.matches(labels) or (old is not None and s.matches(old_labels)):
                self.enqueue((ns, name))

    def sync(self, key: tuple[str, str]) -> None:
        """Rewrite the Endpoints of one Service (namespace, name) from its pods."""
        ns, name = key
        svc = self.api.get(_SVC, ns, name)
        current = self.api.get(_EP, ns, name)
        if svc is None:
            if (
                current is not None
                and current["metadata"].get("labels", {}).get("endpoints.kubernetes.io/managed-by")
                == COMPONENT
            ):
                self.api.remove(current, COMPONENT)
            return
        selector = svc["spec"].get("selector")
        if not selector:
            return  # Endpoints of a Service without selector are managed by people.
        pods = self.api.list(_POD, ns, Selector.from_map(selector))
        ports_of: dict[tuple, list] = {}
        for pod in pods:
            ip = pod["status"].get("podIP")
            if not ip or (pod["metadata"].get("deletionTimestamp")
                          and not svc["spec"].get("publishNotReadyAddresses")):
                continue  # ShouldPodBeInEndpoints(pod, publishNotReadyAddresses)
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                continue
            addr: dict = {"ip": ip}
            if pod["spec"].get("hostname") and pod["spec"].get("subdomain") == name:
                addr["hostname"] = pod["spec"]["hostname"]  # ShouldSetHostname
            addr["nodeName"] = pod["spec"].get("nodeName")
            addr["targetRef"] = {
                "kind": "Pod",
                "name": pod["metadata"]["name"],
                "namespace": ns,
                "uid": pod["metadata"]["uid"],
            }
            ports = tuple(
                (p.get("name"), _target_port(p, pod), p.get("protocol", "TCP"))
                for p in svc["spec"].get("ports") or ()
            )
            ports_of.setdefault(ports, [[], []])[
                0 if is_ready(pod) or svc["spec"].get("publishNotReadyAddresses") else 1
            ].append(addr)
        subsets = []
        for ports, (ok, bad) in ports_of.items():
            subset: dict = {}
            if ok:
                subset["addresses"] = sorted(ok, key=lambda a: _ip_key(a["ip"]))
            if bad:
                subset["notReadyAddresses"] = sorted(bad, key=lambda a: _ip_key(a["ip"]))
            subset["ports"] = [
                {k: v for k, v in (("name", n), ("port", p), ("protocol", pr)) if v is not None}
                for n, p, pr in ports
                if p is not None
            ]
            subsets.append(subset)
        labels = dict(svc["metadata"].get("labels") or {})
        labels["endpoints.kubernetes.io/managed-by"] = COMPONENT
        if svc["spec"].get("clusterIP") in (None, "", "None"):
            labels["service.kubernetes.io/headless"] = ""  # syncService: !IsServiceIPSet
        if current is None:
            self.api.create(
                {
                    "apiVersion": "v1",
                    "kind": "Endpoints",
                    "metadata": {
                        "name": name,
                        "namespace": ns,
                        "labels": labels,
                        "annotations": {
                            "endpoints.kubernetes.io/last-change-trigger-time": stamp(self.env.now)
                        },
                    },
                    "subsets": subsets,
                },
                component=COMPONENT,
            )
        elif current.get("subsets") != subsets:
            meta = dict(
                current["metadata"],
                labels=labels,
                annotations={
                    "endpoints.kubernetes.io/last-change-trigger-time": stamp(self.env.now)
                },
            )
            new = dict(current, metadata=meta, subsets=subsets)
            self.sim.store.put(self.api.key_of(new), new)
            self.api._record(COMPONENT, "update", self.api.key_of(new))


def _relevant(pod: dict) -> tuple:
    st = pod.get("status") or {}
    return (
        st.get("podIP"),
        is_ready(pod),
        st.get("phase") in ("Succeeded", "Failed"),
        bool(pod["metadata"].get("deletionTimestamp")),
        tuple(sorted((pod["metadata"].get("labels") or {}).items())),
    )


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(x) for x in ip.split("."))
