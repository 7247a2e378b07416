"""The EndpointSlice controller: a Service's pods, in slices of at most 100.

For every Service with a selector the controller keeps ``discovery.k8s.io/v1``
EndpointSlices named ``<service>-<random>`` (``generateName``), labelled
``kubernetes.io/service-name: <service>`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io``,
owned by the Service (so they go when it goes). Each endpoint is one pod
with an IP that has not finished: its address, its ``conditions``
(``serving``: the pod is Ready; ``terminating``: it is being deleted;
``ready``: serving and not terminating, or always with
``publishNotReadyAddresses``), its ``nodeName``, the node's zone when the
node has one, and a ``targetRef`` to the pod. Pods whose Service ports
resolve to the same numbers share a slice group with those ``ports``; a
group fills slices up to ``--max-endpoints-per-slice`` (100) and then opens
another. A Service without endpoints keeps one empty placeholder slice.

kube-proxy reads these slices (:mod:`labsupport.sim.proxy`): it sends
traffic to ``ready`` endpoints, or, when none is ready, to those still
``serving`` while ``terminating`` (KEP-1669). The v1 Endpoints object is
still written by :mod:`.endpoints` for old readers.

Sources: staging/src/k8s.io/endpointslice (reconciler.go ``reconcile``,
utils.go ``newEndpointSlice``, ``podToEndpoint``, ``getEndpointPorts``),
pkg/controller/endpointslice/endpointslice_controller.go, and
endpointslice/util ``ShouldPodBeInEndpoints`` (terminating pods included).

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
    >>> [s] = c.list("endpointslices", selector="kubernetes.io/service-name=web")
    >>> s["metadata"]["name"].startswith("web-"), s["addressType"], s["ports"]
    (True, 'IPv4', [{'name': '', 'protocol': 'TCP', 'port': 80}])
    >>> s["endpoints"][0]["addresses"], s["endpoints"][0]["conditions"]
    (['10.244.2.2'], {'ready': True, 'serving': True, 'terminating': False})
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.endpoints import _relevant, _target_port
from labsupport.sim.controllers.podutil import is_ready, owner_reference
from labsupport.sim.naming import random_suffix

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["EndpointSliceController", "SERVICE_NAME", "MANAGED_BY", "CONTROLLER_NAME",
           "MAX_ENDPOINTS_PER_SLICE", "pod_to_endpoint"]

COMPONENT = "endpointslice-controller"
# k8s.io/api/discovery/v1: LabelServiceName and LabelManagedBy; the value the
# controller writes (endpointslice_controller.go ControllerName).
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
# kube-controller-manager --max-endpoints-per-slice (default 100).
MAX_ENDPOINTS_PER_SLICE = 100
ZONE = "topology.kubernetes.io/zone"
HEADLESS = "service.kubernetes.io/headless"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
_SVC = type_for_kind("Service")
_POD = type_for_kind("Pod")
_NODE = type_for_kind("Node")


def pod_to_endpoint(pod: dict, service: dict, zone: str | None = None) -> dict:
    """One endpoint of a slice for ``pod`` (utils.go ``podToEndpoint``).

    Example:
        >>> pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u1",
        ...                     "deletionTimestamp": "2025-01-01T00:01:00Z"},
        ...        "spec": {"nodeName": "node-1"},
        ...        "status": {"podIP": "10.244.1.5", "conditions": [
        ...            {"type": "Ready", "status": "True"}]}}
        >>> pod_to_endpoint(pod, {"spec": {}})["conditions"]
        {'ready': False, 'serving': True, 'terminating': True}
    """
    serving = is_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    # A terminating pod is never "ready", unless the Service publishes not-ready addresses.
    ready = bool((service.get("spec") or {}).get("publishNotReadyAddresses")) or \
        (serving and not terminating)
    meta = pod["metadata"]
    ep: dict = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    }
    spec = pod.get("spec") or {}
    svc_name = (service.get("metadata") or {}).get("name")
    svc_ns = (service.get("metadata") or {}).get("namespace", "default")
    if spec.get("hostname") and spec.get("subdomain") == svc_name and \
            svc_ns == meta.get("namespace", "default"):
        ep["hostname"] = spec["hostname"]  # endpointutil.ShouldSetHostname (any Service type)
    ep["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace", "default"),
                       "name": meta["name"], "uid": meta.get("uid", "")}
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    if zone:
        ep["zone"] = zone
    return ep


def _ports(service: dict, pod: dict) -> tuple[tuple, ...]:
    """The slice ports of ``pod`` for ``service`` (utils.go ``getEndpointPorts``)."""
    out = []
    for p in (service.get("spec") or {}).get("ports") or ():
        number = _target_port(p, pod)
        if number is None:
            continue  # FindPort failed: a named port the pod does not have
        out.append((p.get("name", ""), p.get("protocol", "TCP"), number, p.get("appProtocol")))
    return tuple(out)


def _port_dicts(ports: tuple[tuple, ...]) -> list[dict]:
    out = []
    for name, protocol, number, app in ports:
        port = {"name": name, "protocol": protocol, "port": number}
        if app:
            port["appProtocol"] = app
        out.append(port)
    return out


def _ports_key(slice_: dict) -> tuple | None:
    """The group a stored slice belongs to (None: the placeholder)."""
    if not slice_.get("endpoints") and not slice_.get("ports"):
        return None
    return tuple((p.get("name", ""), p.get("protocol", "TCP"), p.get("port"),
                  p.get("appProtocol")) for p in slice_.get("ports") or ())


class EndpointSliceController(SimController):
    """Reconciles the EndpointSlices of Services (keys are ``(namespace, name)``)."""

    name = COMPONENT
    kind = "Service"
    watches = ("Service", "Pod", "EndpointSlice")
    owns = ("EndpointSlice",)

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        self.max_endpoints_per_slice = MAX_ENDPOINTS_PER_SLICE
        # The slices' generated names come from a generator of their own, seeded
        # from the cluster's seed: the same seed gives the same names, and the
        # draws of the other components (pod names, timings) stay as they were.
        self._rng = random.Random(f"endpointslice/{sim.seed}")
        self._selectors: dict[str, dict[str, Selector]] = {}
        # (namespace, service) -> keys of its slices (the informer's index).
        self._slices: dict[tuple[str, str], dict[str, None]] = {}
        # service uid -> (its spec, pod uid -> (pod object, zone, endpoint)): stored
        # objects are replaced, never changed, so an unchanged pod of an unchanged
        # Service reuses its endpoint dict.
        self._endpoints: dict[str, tuple[dict | None, dict[str, tuple]]] = {}

    # --- watches -------------------------------------------------------------------
    def changed(self, ev: WatchEvent) -> None:
        """A Service changed: index its selector and sync it."""
        svc = ev.object
        ns = svc["metadata"].get("namespace", "default")
        name = svc["metadata"]["name"]
        selectors = self._selectors.setdefault(ns, {})
        sel = (svc.get("spec") or {}).get("selector")
        if ev.type == "DELETED" or not sel:
            selectors.pop(name, None)
            self._endpoints.pop(svc["metadata"].get("uid"), None)
        else:
            selectors[name] = Selector.from_map(sel)
        self.enqueue((ns, name))

    def owned_changed(self, ev: WatchEvent, owner: dict) -> None:
        """One of its slices changed: index it; sync the Service if it was deleted."""
        meta = ev.object["metadata"]
        ns = meta.get("namespace", "default")
        index = self._slices.setdefault((ns, owner["name"]), {})
        if ev.type == "DELETED":
            index.pop(ev.key, None)
            self.enqueue((ns, owner["name"]))
        else:
            index[ev.key] = None

    def watched(self, ev: WatchEvent, owner: dict | None) -> None:
        """A pod changed: sync the Services that select it, before or after the change."""
        pod, old = ev.object, ev.old
        ns = pod["metadata"].get("namespace", "default")
        selectors = self._selectors.get(ns)
        if not selectors:
            return
        if old is not None and _relevant(old) == _relevant(pod) and \
                old["spec"].get("nodeName") == pod["spec"].get("nodeName"):
            return
        labels = pod["metadata"].get("labels") or {}
        old_labels = (old or {}).get("metadata", {}).get("labels") or {}
        for name, s in selectors.items():
            if s.matches(labels) or (old is not None and s.matches(old_labels)):
                self.enqueue((ns, name))

    def slices_of(self, namespace: str, service: str) -> list[dict]:
        """The stored EndpointSlices of a Service (read-only), in creation order."""
        store = self.sim.store
        return [s for k in list(self._slices.get((namespace, service), ()))
                if (s := store.peek(k)) is not None]

    # --- reconcile -------------------------------------------------------------------
    def sync(self, key: tuple[str, str]) -> None:
        """Rewrite the slices of one Service from its pods (reconciler.go ``reconcile``)."""
        ns, name = key
        svc = self.api.get(_SVC, ns, name)
        if svc is None:
            return  # the garbage collector removes slices owned by a deleted Service
        selector = svc["spec"].get("selector")
        if not selector:
            return  # slices of a Service without selector are written by people
        labels = self._labels(svc)
        desired: dict[tuple, dict[str, dict]] = {}
        seen_spec, cache = self._endpoints.get(svc["metadata"]["uid"], (None, {}))
        if seen_spec is not svc.get("spec"):
            cache = {}  # publishNotReadyAddresses or the ports may have changed
        fresh: dict[str, tuple] = {}
        self._endpoints[svc["metadata"]["uid"]] = (svc.get("spec"), fresh)
        pods = self.api.list(_POD, ns, Selector.from_map(selector))
        for pod in sorted(pods, key=lambda p: _ip_key(p["status"].get("podIP") or "")):
            # ShouldPodBeInEndpoints(pod, includeTerminating=true)
            if not pod["status"].get("podIP"):
                continue
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                continue
            node = self.api.get(_NODE, None, pod["spec"].get("nodeName") or "")
            if node is None and not svc["spec"].get("publishNotReadyAddresses"):
                # reconcileByAddressType: a pod on a Node that does not exist is left
                # out (and the Service retried), unless not-ready addresses are published.
                continue
            zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE)
            uid = pod["metadata"]["uid"]
            cached = cache.get(uid)
            if cached is not None and cached[0] is pod and cached[1] == zone:
                ep = cached[2]
            else:
                ep = pod_to_endpoint(pod, svc, zone)
            fresh[uid] = (pod, zone, ep)
            desired.setdefault(_ports(svc, pod), {})[uid] = ep
        mine = [s for s in self.slices_of(ns, name)
                if (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER_NAME]
        existing: dict[tuple | None, list[dict]] = {}
        for s in mine:
            existing.setdefault(_ports_key(s), []).append(s)
        placeholders = existing.pop(None, [])
        to_write: list[tuple[dict, list[dict], tuple | None]] = []
        to_create: list[tuple[tuple, list[dict]]] = []
        to_delete: list[dict] = []
        for ports, want in desired.items():
            kept = []
            for s in existing.pop(ports, []):
                eps = [want.pop(uid) for uid in
                       ((ep.get("targetRef") or {}).get("uid") for ep in s.get("endpoints") or ())
                       if uid in want]
                kept.append([s, eps])
            new = list(want.values())
            for entry in kept:  # fill slices with room before opening new ones
                room = self.max_endpoints_per_slice - len(entry[1])
                if room > 0 and new:
                    entry[1], new = entry[1] + new[:room], new[room:]
            for s, eps in kept:
                if not eps:
                    to_delete.append(s)
                elif eps != s.get("endpoints") or (s["metadata"].get("labels") or {}) != labels:
                    to_write.append((s, eps, None))
            for i in range(0, len(new), self.max_endpoints_per_slice):
                to_create.append((ports, new[i:i + self.max_endpoints_per_slice]))
        for slices in existing.values():
            to_delete.extend(slices)
        survivors = len(mine) - len(placeholders) - len(to_delete)
        if survivors == 0 and not to_create:
            # A Service with no endpoints keeps one placeholder slice.
            if placeholders:
                to_delete.extend(placeholders[1:])
                if (placeholders[0]["metadata"].get("labels") or {}) != labels:
                    to_write.append((placeholders[0], [], None))
            else:
                to_create.append(((), []))
        else:
            to_delete.extend(placeholders)
        # reconciler.go finalize: a slice to create instead rewrites a slice that was
        # to be deleted (it keeps that slice's name): the placeholder becomes the first
        # real slice, and the last slice becomes the placeholder again.
        while to_create and to_delete:
            ports, eps = to_create.pop()
            to_write.append((to_delete.pop(0), eps, ports))
        for s, eps, ports in to_write:
            self._write(s, eps, labels, ports)
        if not svc["metadata"].get("deletionTimestamp"):
            # finalize: no new slices for a Service pending deletion (the garbage
            # collector is removing them).
            for ports, eps in to_create:
                self._create(svc, ports, eps, labels)
        for s in to_delete:
            self.api.remove(s, COMPONENT)

    def _labels(self, svc: dict) -> dict[str, str]:
        # utils.go setEndpointSliceLabels: the Service's labels, then the two reserved ones.
        labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items()
                  if k not in (SERVICE_NAME, MANAGED_BY, HEADLESS)}
        if not _ip_set(svc):
            labels[HEADLESS] = ""
        labels[SERVICE_NAME] = svc["metadata"]["name"]
        labels[MANAGED_BY] = CONTROLLER_NAME
        return labels

    def _create(self, svc: dict, ports: tuple, eps: list[dict], labels: dict) -> None:
        name = svc["metadata"]["name"]
        ns = svc["metadata"]["namespace"]
        while True:  # the API server's generateName, with this controller's draws
            generated = f"{name}-{random_suffix(self._rng)}"
            if self.sim.store.peek(f"/registry/endpointslices/{ns}/{generated}") is None:
                break
        self.api.create({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": generated,
                "generateName": f"{name}-",
                "namespace": ns,
                "labels": dict(labels),
                "annotations": {TRIGGER_TIME: stamp(self.env.now)},
                "ownerReferences": [owner_reference(svc)],
            },
            "addressType": "IPv4",
            # An empty placeholder's lists are nil in Go: null in JSON.
            "endpoints": eps or None,
            "ports": _port_dicts(ports) or None,
        }, component=COMPONENT)

    def _write(self, current: dict, eps: list[dict] | None, labels: dict,
               ports: tuple | None = None) -> None:
        meta = dict(current["metadata"], labels=dict(labels),
                    annotations=dict(current["metadata"].get("annotations") or {},
                                     **{TRIGGER_TIME: stamp(self.env.now)}))
        if "generation" in meta:
            meta["generation"] = meta["generation"] + 1
        new = dict(current, metadata=meta, endpoints=eps or None)
        if ports is not None:
            new["ports"] = _port_dicts(ports) or None
        key = self.api.key_of(new)
        self.sim.store.put(key, new)
        self.api._record(COMPONENT, "update", key)


def _ip_set(service: dict) -> bool:
    """utils.go ``isServiceIPSet``: a ClusterIP other than ``None`` or empty."""
    return (service.get("spec") or {}).get("clusterIP") not in (None, "", "None")


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(x) for x in ip.split(".")) if ip else ()
