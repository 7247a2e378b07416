"""The ``"scheduler"`` probe: schedule pods with a learner's scheduler plugin, note where they land.

Exercise 06 asks for a Score plugin. A check with ``probe="scheduler"``
gives, per case, a cluster to build (its nodes and the pods to create, in
order, and a seed); the probe builds it on the simulator, adds the plugin
with :meth:`~labsupport.sim.cluster.SimCluster.add_scheduler_plugin`,
creates the pods, lets the scheduler work, and writes down, as plain JSON,
which node each pod went to and, for each pod left Pending, the message of
its FailedScheduling event. The judge decides; the probe only observes.

An input looks like::

    {"seed": 3,
     "nodes": [{"name": "node-1", "cpu": "4", "memory": "8Gi", "labels": {}}],
     "pods": [{"name": "job-1", "cpu": "500m", "memory": "512Mi",
               "labels": {"team": "ml"}}]}

Example:
    >>> def prefer_first(pod, node):
    ...     return 100 if node.name == "node-1" else 0
    >>> case = {"seed": 0, "pods": [{"name": "p", "cpu": "100m", "memory": "64Mi"}],
    ...         "nodes": [{"name": "node-1", "cpu": "2", "memory": "4Gi"},
    ...                   {"name": "node-2", "cpu": "2", "memory": "4Gi"}]}
    >>> seen = observe_placements(prefer_first, [case])
    >>> seen[0]["value"]["placement"], seen[0]["value"]["weight"]
    ({'p': 'node-1'}, 1)
"""

from __future__ import annotations

from typing import Any

from labsupport.grading.jsonable import to_jsonable

__all__ = ["observe_placements", "place", "pod_manifest"]

#: Virtual seconds the scheduler gets to place the pods of one case.
SETTLE_SECONDS = 5.0


def pod_manifest(spec: dict[str, Any]) -> dict[str, Any]:
    """The Pod a case's pod row describes: one container requesting its cpu and memory.

    Example:
        >>> pod_manifest({"name": "p", "cpu": "250m", "memory": "128Mi"})["spec"]["containers"][0][
        ...     "resources"]
        {'requests': {'cpu': '250m', 'memory': '128Mi'}}
    """
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": spec["name"], "labels": dict(spec.get("labels") or {})},
            "spec": {"containers": [{
                "name": "app", "image": "nginx:1.27",
                "resources": {"requests": {"cpu": spec["cpu"], "memory": spec["memory"]}}}]}}


def place(case: dict[str, Any], plugin: Any = None) -> dict[str, Any]:
    """Build the case's cluster, add ``plugin`` (None: the default scheduler), place its pods.

    Returns:
        ``{"placement": {pod: node or None}, "pending": {pod: FailedScheduling
        message}, "weight": the plugin's weight (0 without one)}``.

    Raises:
        Invalid: the plugin cannot be added (not a plugin, bad name or weight).
    """
    import labsupport as ls

    c = ls.connect("sim", nodes=0, seed=int(case.get("seed", 0)))
    try:
        for node in case["nodes"]:
            c.add_node(node["name"], cpu=node["cpu"], memory=node["memory"],
                       labels=dict(node.get("labels") or {}))
        weight = 0
        if plugin is not None:
            from labsupport.sim.scheduler.student import as_plugin

            wrapped = as_plugin(plugin)
            c.add_scheduler_plugin(wrapped)
            weight = int(wrapped.weight)
        # One pod at a time, as a stream of arrivals: each is placed before the next comes.
        for spec in case["pods"]:
            c.apply(pod_manifest(spec))
            c.advance(0.5)
        c.advance(SETTLE_SECONDS)
        placement: dict[str, str | None] = {}
        pending: dict[str, str] = {}
        for spec in case["pods"]:
            node = c.get(f"pod/{spec['name']}")["spec"].get("nodeName")
            placement[spec["name"]] = node or None
            if not node:
                messages = [e.message for e in c.events()
                            if e.reason == "FailedScheduling" and e.object == f"pod/{spec['name']}"]
                pending[spec["name"]] = messages[-1] if messages else "not scheduled"
        return {"placement": placement, "pending": pending, "weight": weight}
    finally:
        c.close()


def observe_placements(answer: Any, inputs: list[Any]) -> list[dict[str, Any]]:
    """The probe: one observation per case, ``{"value": place(...)}`` or ``{"error": ...}``."""
    from labsupport.grading.probes import _error, _name
    from labsupport.grading.student import _is_placeholder

    if answer is Ellipsis:
        return [{"value": to_jsonable(answer)} for _ in inputs]
    if _is_placeholder(answer):
        stub = {"error": f"{_name(answer)} is still the exercise's placeholder",
                "type": "NotImplementedError"}
        return [dict(stub) for _ in inputs]
    out = []
    for spec in inputs:
        try:
            out.append({"value": to_jsonable(place(spec, answer))})
        except Exception as exc:  # noqa: BLE001 - a learner's plugin may raise anything
            out.append(_error(f"scheduling with {_name(answer)}", exc))
    return out
