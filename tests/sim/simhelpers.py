"""Manifests and recorders shared by the simulator's tests."""

from __future__ import annotations


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.27", *,
               cpu: str | None = None, memory: str | None = None, annotations: dict | None = None,
               strategy: dict | None = None, container_extra: dict | None = None,
               pod_extra: dict | None = None, namespace: str | None = None) -> dict:
    container = {"name": "app", "image": image, **(container_extra or {})}
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if req:
        container["resources"] = {"requests": req}
    meta = {"labels": {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, **({"namespace": namespace} if namespace else {})},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": meta,
                               "spec": {"containers": [container], **(pod_extra or {})}}}}
    if strategy:
        d["spec"]["strategy"] = strategy
    return d


def pod(name: str = "p", image: str = "nginx:1.27", *, annotations: dict | None = None,
        **spec) -> dict:
    containers = spec.pop("containers", None) or [{"name": "app", "image": image}]
    meta = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": containers, **spec}}


class ContainerStarts:
    """Records the virtual times at which a container (re)starts running."""

    def __init__(self, cluster, pod_name: str, container: str = "app") -> None:
        self.times: list[float] = []
        self._last = None
        self.cluster = cluster

        def on(ev):
            if ev.object["kind"] != "Pod" or ev.object["metadata"]["name"] != pod_name:
                return
            for cs in ev.object.get("status", {}).get("containerStatuses") or ():
                if cs["name"] != container:
                    continue
                running = cs["state"].get("running")
                stamp = running and running["startedAt"]
                key = (stamp, cs["restartCount"])
                if running and key != self._last:
                    self._last = key
                    self.times.append(cluster.now)

        cluster.store.watch("/registry/pods/", on)
