"""``metrics.k8s.io/v1beta1``: the resource metrics API that ``kubectl top`` reads.

On a real cluster metrics-server registers this API with the aggregator (an
APIService) and answers it from what it scraped from the kubelets. The
simulator computes the same numbers itself (:meth:`~labsupport.sim.metrics.Metrics.pod_metrics`
and :meth:`~labsupport.sim.metrics.Metrics.node_metrics`: usage over the last
complete 15 s window), so the served API answers them directly. Two
resources, read-only, as metrics-server serves them
(``sigs.k8s.io/metrics-server/pkg/api``): ``nodes`` (NodeMetrics,
cluster-scoped) and ``pods`` (PodMetrics, namespaced), each with ``get`` and
``list`` and a label selector.

Example:
    >>> import labsupport as ls
    >>> from labsupport.sim.httpapi.routes import parse
    >>> c = ls.connect(nodes=1)
    >>> c.advance(30)
    >>> code, body = answer(c, parse("/apis/metrics.k8s.io/v1beta1/nodes"), {})
    >>> code, body["kind"], [m["metadata"]["name"] for m in body["items"]]
    (200, 'NodeMetricsList', ['node-1'])
    >>> answer(c, parse("/apis/metrics.k8s.io/v1beta1/nodes/node-9"), {})
    Traceback (most recent call last):
    ...
    labsupport.sim.httpapi.status.ApiStatus: 404 NotFound: nodes.metrics.k8s.io "node-9" not found
"""

from __future__ import annotations

from typing import Any

from labsupport.errors import Invalid
from labsupport.selectors import Selector
from labsupport.sim.httpapi.routes import Route
from labsupport.sim.httpapi.status import not_found, status

__all__ = ["GROUP", "VERSION", "RESOURCES", "answer", "resource_list", "aggregated_group"]

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
#: plural -> (kind, namespaced), as metrics-server's APIResourceList names them.
RESOURCES = {"nodes": ("NodeMetrics", False), "pods": ("PodMetrics", True)}
_VERBS = ["get", "list"]


def resource_list() -> dict:
    """``/apis/metrics.k8s.io/v1beta1`` (``APIResourceList``)."""
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{GROUP}/{VERSION}",
            "resources": [{"name": plural, "singularName": "", "namespaced": namespaced,
                           "kind": kind, "verbs": list(_VERBS)}
                          for plural, (kind, namespaced) in RESOURCES.items()]}


def aggregated_group() -> dict:
    """The group's entry in the aggregated discovery document of ``/apis``."""
    resources = [{"resource": plural,
                  "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                  "scope": "Namespaced" if namespaced else "Cluster",
                  "singularResource": "", "verbs": list(_VERBS)}
                 for plural, (kind, namespaced) in RESOURCES.items()]
    return {"metadata": {"name": GROUP, "creationTimestamp": None},
            "versions": [{"version": VERSION, "resources": resources, "freshness": "Current"}]}


def _with_node_labels(sim: Any, items: list[dict]) -> list[dict]:
    # metrics-server copies the node's labels into its NodeMetrics (pkg/api/node.go).
    out = []
    for m in items:
        node = _node(sim, m["metadata"]["name"])
        labels = dict(((node or {}).get("metadata") or {}).get("labels") or {})
        out.append({**m, "metadata": {**m["metadata"], "labels": labels}})
    return out


def _node(sim: Any, name: str) -> dict | None:
    from labsupport.kinds import resource_type

    return sim.api.get(resource_type("Node"), None, name)


def answer(sim: Any, route: Route, query: dict) -> tuple[int, dict]:
    """A GET on the metrics API: a list or one object (call it holding the cluster's lock).

    Raises:
        ApiStatus: 404 for an unknown resource or object, 405 for a subresource.
    """
    if route.resource not in RESOURCES or route.version != VERSION:
        raise status(404, "NotFound", "the server could not find the requested resource")
    if route.subresource is not None:
        raise status(405, "MethodNotAllowed",
                     "the server does not allow this method on the requested resource")
    kind, namespaced = RESOURCES[route.resource]
    try:
        labels = Selector.parse(query.get("labelSelector"))
    except Invalid as err:
        raise status(400, "BadRequest", f"unable to parse requirement: {err}") from None
    if namespaced:
        items = sim.metrics.pod_metrics(route.namespace)
    else:
        items = _with_node_labels(sim, sim.metrics.node_metrics())
    if not labels.empty:
        items = [m for m in items if labels.matches(m["metadata"].get("labels"))]
    if route.name is not None:
        for m in items:
            if m["metadata"]["name"] == route.name:
                return 200, m
        raise not_found(route.resource, route.name, GROUP)
    return 200, {"kind": f"{kind}List", "apiVersion": f"{GROUP}/{VERSION}",
                 "metadata": {}, "items": items}
