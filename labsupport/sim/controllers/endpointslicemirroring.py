"""The EndpointSlice mirroring controller: hand-written Endpoints become slices.

A Service without a selector gets no endpoints from the controllers: people
write its v1 Endpoints object themselves (an outside database, say). Since
kube-proxy and CoreDNS read EndpointSlices only, kube-controller-manager
mirrors each such Endpoints object into EndpointSlices named
``<endpoints>-<random>``, owned by the Endpoints object, with the Endpoints'
labels plus ``kubernetes.io/service-name: <name>`` and
``endpointslice.kubernetes.io/managed-by:
endpointslicemirroring-controller.k8s.io``. An address becomes an endpoint
with ``ready: true``, a not-ready address one with ``ready: false``; the
ports are copied. Endpoints labelled
``endpointslice.kubernetes.io/skip-mirror: "true"``, Endpoints of a Service
with a selector (the EndpointSlice controller serves those) and Endpoints
without a Service are not mirrored, and their mirrored slices are deleted.

Sources: pkg/controller/endpointslicemirroring (endpointslicemirroring_controller.go
``syncEndpoints``, utils.go ``newEndpointSlice``, ``addressToEndpoint``,
``epPortsToEpsPorts``, reconciler.go); --mirroring-max-endpoints-per-subset 1000.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply('''
    ... apiVersion: v1
    ... kind: Service
    ... metadata: {name: db}
    ... spec: {ports: [{port: 5432}]}
    ... ---
    ... apiVersion: v1
    ... kind: Endpoints
    ... metadata: {name: db}
    ... subsets: [{addresses: [{ip: 192.168.10.5}], ports: [{port: 5432}]}]
    ... ''')
    >>> c.advance(1)
    >>> [s] = c.list("endpointslices", selector="kubernetes.io/service-name=db")
    >>> s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
    'endpointslicemirroring-controller.k8s.io'
    >>> s["endpoints"]
    [{'addresses': ['192.168.10.5'], 'conditions': {'ready': True}}]
    >>> s["ports"]
    [{'name': '', 'protocol': 'TCP', 'port': 5432}]
"""

from __future__ import annotations

import ipaddress
import random
from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.endpointslice import MANAGED_BY, SERVICE_NAME
from labsupport.sim.controllers.podutil import owner_reference
from labsupport.sim.naming import random_suffix

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["EndpointSliceMirroringController", "MIRROR_CONTROLLER_NAME", "address_to_endpoint"]

COMPONENT = "endpointslicemirroring-controller"
#: The managed-by value of mirrored slices (endpointslicemirroring_controller.go ControllerName).
MIRROR_CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"  # discovery.LabelSkipMirror
LEADER_ELECTION = "control-plane.alpha.kubernetes.io/leader"
# Annotations not copied to the slices (utils.go newEndpointSlice).
_NOT_COPIED = ("endpoints.kubernetes.io/last-change-trigger-time",
               "kubectl.kubernetes.io/last-applied-configuration")
MAX_ENDPOINTS_PER_SUBSET = 1000
_SVC = type_for_kind("Service")
_EP = type_for_kind("Endpoints")


def address_to_endpoint(address: dict, ready: bool) -> tuple[dict, str] | None:
    """A slice endpoint and its address type for one Endpoints address (None: not an IP).

    Example:
        >>> address_to_endpoint({"ip": "10.0.0.7", "hostname": "a"}, False)
        ({'addresses': ['10.0.0.7'], 'conditions': {'ready': False}, 'hostname': 'a'}, 'IPv4')
        >>> address_to_endpoint({"ip": "db.example.com"}, True) is None
        True
    """
    try:
        ip = ipaddress.ip_address(address.get("ip", ""))
    except ValueError:
        return None
    ep: dict = {"addresses": [str(ip)], "conditions": {"ready": ready}}
    if address.get("hostname"):
        ep["hostname"] = address["hostname"]
    if address.get("targetRef"):
        ep["targetRef"] = address["targetRef"]
    if address.get("nodeName"):
        ep["nodeName"] = address["nodeName"]
    return ep, "IPv6" if ip.version == 6 else "IPv4"


def _ports(subset: dict) -> list[dict]:
    """utils.go ``epPortsToEpsPorts`` (JSON field order of discovery/v1 EndpointPort)."""
    out = []
    for p in subset.get("ports") or ():
        port = {"name": p.get("name", ""), "protocol": p.get("protocol", "TCP"),
                "port": p.get("port")}
        if p.get("appProtocol"):
            port["appProtocol"] = p["appProtocol"]
        out.append(port)
    return out


class EndpointSliceMirroringController(SimController):
    """Mirrors Endpoints of selector-less Services (keys are ``(namespace, name)``)."""

    name = COMPONENT
    kind = "Endpoints"
    watches = ("Endpoints", "Service", "EndpointSlice")
    owns = ("EndpointSlice",)

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        self._rng = random.Random(f"endpointslicemirroring/{sim.seed}")

    def changed(self, ev: WatchEvent) -> None:
        """An Endpoints object changed: sync it."""
        meta = ev.object["metadata"]
        self.enqueue((meta.get("namespace", "default"), meta["name"]))

    def owned_changed(self, ev: WatchEvent, owner: dict) -> None:
        """A mirrored slice was deleted: sync its Endpoints."""
        if ev.type == "DELETED":
            self.enqueue((ev.object["metadata"].get("namespace", "default"), owner["name"]))

    def watched(self, ev: WatchEvent, owner: dict | None) -> None:
        """A Service changed: sync the Endpoints of the same name."""
        if ev.object["kind"] == "Service":
            self.changed(ev)  # a selector added or removed changes what is mirrored

    def _mine(self, ns: str, name: str) -> list[dict]:
        prefix = f"/registry/endpointslices/{ns}/"
        return [s for k, s in self.sim.store.table("endpointslices").items()
                if k.startswith(prefix)
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == MIRROR_CONTROLLER_NAME
                and (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name]

    def sync(self, key: tuple[str, str]) -> None:
        """Rewrite the mirrored slices of one Endpoints object (``syncEndpoints``)."""
        ns, name = key
        svc = self.api.get(_SVC, ns, name)
        ep = self.api.get(_EP, ns, name)
        mine = self._mine(ns, name)
        if svc is None or (svc.get("spec") or {}).get("selector") or ep is None or \
                (ep["metadata"].get("labels") or {}).get(SKIP_MIRROR) == "true" or \
                LEADER_ELECTION in (ep["metadata"].get("annotations") or {}):
            for s in mine:
                self.api.remove(s, COMPONENT)
            return
        desired: dict[tuple, tuple[str, list[dict], list[dict]]] = {}
        for subset in ep.get("subsets") or ():
            ports = _ports(subset)
            count = 0
            for field, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(field) or ():
                    count += 1
                    if count > MAX_ENDPOINTS_PER_SUBSET:
                        break  # reconciler.go: the rest of the subset is not mirrored
                    got = address_to_endpoint(address, ready)
                    if got is None:
                        continue
                    endpoint, addr_type = got
                    group = (addr_type, repr(ports))
                    desired.setdefault(group, (addr_type, ports, []))[2].append(endpoint)
        labels = {**(ep["metadata"].get("labels") or {}), SERVICE_NAME: name,
                  MANAGED_BY: MIRROR_CONTROLLER_NAME}
        annotations = {k: v for k, v in (ep["metadata"].get("annotations") or {}).items()
                       if k not in _NOT_COPIED}
        by_group = {(s.get("addressType"), repr(s.get("ports") or [])): s for s in mine}
        for group, (addr_type, ports, endpoints) in desired.items():
            current = by_group.pop(group, None)
            body = {"addressType": addr_type, "endpoints": endpoints, "ports": ports or None}
            if current is None:
                self._create(ep, labels, annotations, body)
            elif any(current.get(k) != v for k, v in body.items()) or \
                    current["metadata"].get("labels") != labels:
                new = dict(current, metadata=dict(current["metadata"], labels=labels,
                                                  annotations=annotations), **body)
                self.sim.store.put(self.api.key_of(new), new)
                self.api._record(COMPONENT, "update", self.api.key_of(new))
        for s in by_group.values():
            self.api.remove(s, COMPONENT)

    def _create(self, ep: dict, labels: dict, annotations: dict, body: dict) -> None:
        ns, name = ep["metadata"].get("namespace", "default"), ep["metadata"]["name"]
        while True:  # the API server's generateName, with this controller's draws
            generated = f"{name}-{random_suffix(self._rng)}"
            if self.sim.store.peek(f"/registry/endpointslices/{ns}/{generated}") is None:
                break
        meta: dict = {"name": generated, "generateName": f"{name}-", "namespace": ns,
                      "labels": dict(labels), "ownerReferences": [owner_reference(ep)]}
        if annotations:
            meta["annotations"] = dict(annotations)
        self.api.create({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                         "metadata": meta, **body}, component=COMPONENT)
