"""What a name means inside the cluster: does it resolve, does it answer?

A retry loop in a container (``until nslookup db; do sleep 2; done``) waits
for a name. Cluster DNS (docs: concepts/services-networking/dns-pod-service)
gives every Service ``<service>.<namespace>.svc.cluster.local``; a pod finds
it by its short name in its own namespace, or as ``<service>.<namespace>``
(the search path of its ``/etc/resolv.conf``). A Service with a ClusterIP
resolves as soon as it exists; a headless Service (``clusterIP: None``)
resolves to its ready endpoints only, and ``<host>.<service>`` to one of
them, where ``<host>`` is the endpoint's ``hostname`` (a pod whose
``subdomain`` is the Service) or its IP with dashes (``10-244-1-5``).
A connection (``wget``, ``curl``, ``nc``) needs an endpoint kube-proxy would
use: a ready one, or, when none is ready, a serving terminating one.
Names outside the cluster (``example.com``) and IP addresses are taken as
reachable.

Like CoreDNS's kubernetes plugin (since CoreDNS 1.8.1), the endpoints are
read from the Service's EndpointSlices (label ``kubernetes.io/service-name``),
not from the v1 Endpoints object: plugin/kubernetes/object/endpoint.go
``EndpointSliceToEndpoints`` keeps the endpoints whose ``ready`` condition is
true or unset, and kubernetes.go ``endpointHostname`` names them (kind's
Corefile has no ``endpoint_pod_names``, so pod names are not used).

Example:
    >>> import labsupport as ls
    >>> from labsupport.sim.clusterdns import ready
    >>> c = ls.connect(nodes=1, seed=0)
    >>> store = c.store
    >>> ready(store, "db", "default", "dns"), ready(store, "example.com", "default", "dns")
    (False, True)
"""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ["ready", "CLUSTER_DOMAIN"]

#: kind's (and kubeadm's) cluster domain.
CLUSTER_DOMAIN = "cluster.local"
SERVICE_NAME = "kubernetes.io/service-name"
NAMESPACE_MARK = "<namespace>"


def ready(store: Any, name: str, namespace: str, check: str) -> bool:
    """Whether ``name``, looked up from a pod in ``namespace``, is ready.

    Args:
        store: the simulator's store (``peek(key)``).
        name: a Service name, ``svc.ns``, ``svc.ns.svc[.cluster.local]``,
            ``pod.svc.ns.svc.cluster.local``, an outside name or an IP address.
        namespace: the pod's namespace (also replaces ``<namespace>``).
        check: ``"dns"``: it must resolve; ``"connect"``: it must have a ready endpoint.
    """
    name = name.replace(NAMESPACE_MARK, namespace).lower().rstrip(".")
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        pass
    labels = name.split(".")
    if name.endswith(".svc." + CLUSTER_DOMAIN):
        labels = labels[:-3]
    elif name.endswith(".svc"):
        labels = labels[:-1]
    elif len(labels) == 2 and store.peek(f"/registry/namespaces/{labels[1]}") is None:
        return True  # not svc.namespace: a name outside the cluster
    elif len(labels) > 2:
        return True
    if len(labels) == 1:
        labels.append(namespace)
    if len(labels) == 2:
        return _service_ready(store, labels[1], labels[0], None, check)
    if len(labels) == 3:
        return _service_ready(store, labels[2], labels[1], labels[0], check)
    return False


def _service_ready(store: Any, namespace: str, service: str, host: str | None,
                   check: str) -> bool:
    svc = store.peek(f"/registry/services/specs/{namespace}/{service}")
    if svc is None:
        return False
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return True
    if check == "dns" and host is None and spec.get("clusterIP") not in (None, "None"):
        return True
    endpoints = [ep for s in _slices(store, namespace, service) for ep in s.get("endpoints") or ()]
    ready = [ep for ep in endpoints if (ep.get("conditions") or {}).get("ready") is not False]
    if host is not None:
        return any(host in (ep.get("hostname"), _dashed(a))
                   for ep in ready for a in ep.get("addresses") or ())
    if ready or check == "dns":
        return bool(ready)
    if spec.get("clusterIP") in (None, "", "None"):
        return False  # a headless name resolves to ready endpoints only
    # kube-proxy (KEP-1669): with no ready endpoint, serving terminating ones are used.
    return any((ep.get("conditions") or {}).get("serving")
               and (ep.get("conditions") or {}).get("terminating") for ep in endpoints)


def _slices(store: Any, namespace: str, service: str) -> list[dict]:
    """The EndpointSlices labelled ``kubernetes.io/service-name: <service>``."""
    prefix = f"/registry/endpointslices/{namespace}/"
    return [s for k, s in store.table("endpointslices").items() if k.startswith(prefix)
            and (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == service]


def _dashed(address: str) -> str:
    """An endpoint's IP as a DNS label (``10.244.1.5`` -> ``10-244-1-5``)."""
    return address.replace(".", "-").replace(":", "-")
