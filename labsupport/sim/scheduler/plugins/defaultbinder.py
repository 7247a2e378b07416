"""DefaultBinder: bind the pod to the chosen node through the API server.

Upstream: pkg/scheduler/framework/plugins/defaultbinder/default_binder.go: it
POSTs a ``Binding`` (pods/binding subresource), which sets ``spec.nodeName``.
In the simulated cluster the binding is written by
:meth:`labsupport.sim.scheduler.kubescheduler.KubeScheduler.bind`, after the
pod was assumed in the cache (Reserve: ``NodeTable.add_pod``).

Example:
    >>> from labsupport.sim.scheduler.plugins.defaultbinder import DefaultBinder
    >>> DefaultBinder().binding({"metadata": {"name": "web-1", "namespace": "shop"}}, "node-2")
    {'apiVersion': 'v1', 'kind': 'Binding', 'metadata': {'name': 'web-1', 'namespace': 'shop'}, 'target': {'apiVersion': 'v1', 'kind': 'Node', 'name': 'node-2'}}
"""  # noqa: E501

from __future__ import annotations

from labsupport.sim.scheduler.framework import BIND, Plugin

__all__ = ["DefaultBinder", "NAME"]

NAME = "DefaultBinder"


class DefaultBinder(Plugin):
    """Bind: the Binding object sent for the pod and node."""

    name = NAME
    extension_points = (BIND,)
    upstream = "pkg/scheduler/framework/plugins/defaultbinder"

    def binding(self, pod: dict, node: str) -> dict:
        """The ``v1.Binding`` default_binder.go sends."""
        meta = pod.get("metadata") or {}
        return {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta.get("name"),
                             "namespace": meta.get("namespace") or "default"},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
