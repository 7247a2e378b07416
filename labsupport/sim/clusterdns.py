"""What a name means inside the cluster: does it resolve, does it answer?

A retry loop in a container (``until nslookup db; do sleep 2; done``) waits
for a name. Cluster DNS (docs: concepts/services-networking/dns-pod-service)
gives every Service ``<service>.<namespace>.svc.cluster.local``; a pod finds
it by its short name in its own namespace, or as ``<service>.<namespace>``
(the search path of its ``/etc/resolv.conf``). A Service with a ClusterIP
resolves as soon as it exists; a headless Service (``clusterIP: None``)
resolves to its ready endpoints only, and ``<pod>.<service>`` to one of them.
A connection (``wget``, ``curl``, ``nc``) needs a ready endpoint behind the
Service. Names outside the cluster (``example.com``) and IP addresses are
taken as reachable.

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
    ep = store.peek(f"/registry/services/endpoints/{namespace}/{service}") or {}
    for subset in ep.get("subsets") or ():
        for address in subset.get("addresses") or ():
            if host is None or host in (address.get("hostname"),
                                        (address.get("targetRef") or {}).get("name")):
                return True
    return False
