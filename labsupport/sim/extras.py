"""What only a simulation can show: traces, scheduling tables, volume files, rollouts.

These methods join :class:`~labsupport.sim.cluster.SimCluster` as a mixin;
they read the simulator's internals (the audit log, the scheduler's last
decisions, the volumes' data), which a real cluster does not expose.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(1)
    >>> c.explain_scheduling("p").node
    'node-1'
"""

from __future__ import annotations

from typing import Any

from labsupport import arguments
from labsupport.errors import Invalid, ObjectNotFound
from labsupport.kinds import type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.jsoncopy import json_copy
from labsupport.sim.trace import Trace, build_trace

__all__ = ["SimExtrasMixin"]


class SimExtrasMixin:
    """Trace, scheduling decisions, volume files and rollout history of a SimCluster."""

    def trace(self, ref: str, namespace: str = "default") -> Trace:
        """Every step that followed one object's apply, component by component."""
        rt, name = self._parse_ref(ref)
        arguments.namespace(namespace)
        obj = self.api.get(rt, namespace, name)
        if obj is None:
            raise ObjectNotFound(rt.singular, name, namespace if rt.namespaced else None)
        return build_trace(self, obj)

    def explain_scheduling(self, pod: str, namespace: str = "default") -> Any:
        """The scheduler's filter and score table for its last decision about ``pod``.

        Args:
            pod: ``"pod/web-7f9c-x2"`` or the pod's name.
            namespace: the pod's namespace.

        Raises:
            Invalid: ``pod`` names an object of another kind (the message
                lists its pods to pick from).
            ObjectNotFound: no such pod, or no decision kept (clusters of more
                than 100 nodes keep none).
        """
        arguments.text(pod, "pod", example="pod/web-7f9c-x2")
        arguments.namespace(namespace)
        if "/" in pod:
            rt, name = self._parse_ref(pod)
            if rt.kind != "Pod":
                raise Invalid(self._not_a_pod(rt, name, namespace))
        else:
            name = pod
        key = f"/registry/pods/{namespace}/{name}"
        decision = self.scheduler.decisions.get(key)
        if decision is not None:
            return decision
        if self.store.peek(key) is None:
            raise ObjectNotFound("pod", name, namespace)
        raise ObjectNotFound("scheduling decision for pod", name, namespace, hint=(
            "The scheduler has not tried to place it yet (let time pass with c.advance(1)), "
            "the pod names its node itself, or the cluster has more than "
            "100 nodes (no decision is kept then)"))

    def add_scheduler_plugin(self, plugin: Any, weight: int | None = None) -> None:
        """Add a scheduler plugin you wrote; pods scheduled from now on use it.

        Args:
            plugin: a :class:`~labsupport.SchedulerPlugin` (a class with
                ``score(self, pod, node) -> int`` from 0 to 100 and/or
                ``filter(self, pod, node) -> bool | str``), or a function
                ``score(pod, node) -> int``.
            weight: how much its score counts (default: the plugin's ``weight``, or 1).

        It runs after the default plugins and shows as a column of
        :meth:`explain_scheduling`. If it raises or returns something else
        than it should, the pod stays Pending with a FailedScheduling event
        that names the plugin, the pod and the node.

        Raises:
            Invalid: not a plugin, or a bad name or weight.

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(nodes=2, seed=0)
            >>> def prefer_node_2(pod, node):
            ...     return 100 if node.name == "node-2" else 0
            >>> c.add_scheduler_plugin(prefer_node_2, weight=5)
            >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
            >>> c.advance(1)
            >>> d = c.explain_scheduling("p")
            >>> d.node, [(r["node"], r["prefer_node_2"]) for r in d.table]
            ('node-2', [('node-1', 0), ('node-2', 100)])
        """
        self.scheduler.add_plugin(plugin, weight)  # type: ignore[attr-defined]

    def _not_a_pod(self, rt: Any, name: str, namespace: str) -> str:
        """The message for ``explain_scheduling("deployment/web")``: it explains one pod."""
        message = (f'explain_scheduling explains the scheduling of one pod, and '
                   f'"{rt.singular}/{name}" is a {rt.kind}')
        obj = self.api.get(rt, namespace, name)
        selector = ((obj or {}).get("spec") or {}).get("selector")
        pods: list[str] = []
        if isinstance(selector, dict) and selector:
            if "matchLabels" in selector or "matchExpressions" in selector:
                chosen = Selector.from_label_selector(selector)
            else:  # a Service's (or ReplicationController's) plain map of labels
                chosen = Selector.from_map(selector)
            pods = [p["metadata"]["name"]
                    for p in self.api.list(type_for_kind("Pod"), namespace, chosen)]
        if not pods:
            return message + '. Pick a pod from c.pods() and call c.explain_scheduling("pod/NAME")'
        shown = ", ".join(pods[:10]) + (f" and {len(pods) - 10} more" if len(pods) > 10 else "")
        return (f"{message}. Pick one of its pods: {shown}; for instance "
                f'c.explain_scheduling("pod/{pods[0]}")')

    def _more_about(self, obj: str, namespace: str, reason: str) -> str:
        """On the simulator, a pod that failed scheduling is explained by its decision table."""
        if reason == "FailedScheduling" and obj.startswith("pod/"):
            where = "" if namespace == "default" else f', namespace="{namespace}"'
            return f'c.explain_scheduling("{obj}"{where})'
        return super()._more_about(obj, namespace, reason)  # type: ignore[misc]

    def files(self, pod: str, volume: str, namespace: str = "default") -> dict[str, str]:
        """The files in one volume of a pod, as a dict you can read and write.

        Data in a PersistentVolumeClaim's volume outlives the pod; an
        emptyDir's goes with the pod.
        """
        arguments.text(pod, "pod", example="pod/web-0")
        arguments.text(volume, "volume", example="data")
        arguments.namespace(namespace)
        name = pod.split("/", 1)[1] if "/" in pod else pod
        obj = self.api.get(type_for_kind("Pod"), namespace, name)
        if obj is None:
            raise ObjectNotFound("pod", name, namespace)
        vid = self.volumes.volume_id(obj, volume)
        if not vid:
            raise Invalid(f'pod "{name}" has no mounted volume named "{volume}"')
        return self.volumes.data.setdefault(vid, {})

    def rollout_history(self, ref: str, namespace: str = "default") -> list[dict]:
        """The revisions of a Deployment: ``[{"revision": 1, "replicaset": ..., "image": ...}]``."""
        from labsupport.sim.controllers.deployment import REVISION

        rt, name = self._parse_ref(ref)
        arguments.namespace(namespace)
        d = self.api.get(rt, namespace, name)
        if d is None or rt.kind != "Deployment":
            raise ObjectNotFound(rt.singular, name, namespace)
        out = []
        for rs in self._owned(d["metadata"]["uid"]):
            images = [
                c.get("image") for c in rs["spec"]["template"]["spec"].get("containers") or ()
            ]
            out.append(
                {
                    "revision": int(rs["metadata"].get("annotations", {}).get(REVISION, 0)),
                    "replicaset": rs["metadata"]["name"],
                    "images": images,
                }
            )
        return sorted(out, key=lambda r: r["revision"])

    def rollout_undo(
        self, ref: str, to_revision: int | None = None, namespace: str = "default"
    ) -> None:
        """Roll a Deployment back to an earlier revision (``kubectl rollout undo``)."""
        from labsupport.sim.controllers.deployment import HASH_LABEL

        if to_revision is not None:
            arguments.count(to_revision, "to_revision", minimum=1)
        history = self.rollout_history(ref, namespace)
        if len(history) < 2 and to_revision is None:
            raise Invalid(f"{ref} has no previous revision to roll back to")
        target_rev = to_revision if to_revision is not None else history[-2]["revision"]
        match = [h for h in history if h["revision"] == target_rev]
        if not match:
            raise Invalid(
                f"{ref} has no revision {target_rev}; revisions kept: "
                f"{[h['revision'] for h in history]}"
            )
        rt, name = self._parse_ref(ref)
        d = self.api.get(rt, namespace, name)
        rs = self.api.get(type_for_kind("ReplicaSet"), namespace, match[0]["replicaset"])
        template = json_copy(rs["spec"]["template"])
        template["metadata"].get("labels", {}).pop(HASH_LABEL, None)
        self.api.patch(d, "kubectl", spec=dict(d["spec"], template=template))
