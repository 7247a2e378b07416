"""KubeCluster: the Cluster contract on a real Kubernetes cluster.

The same calls as the simulator, sent to a real API server: a kind cluster on
this machine (``ls.connect("kind")``), or any cluster in a kubeconfig
(``ls.connect("kubeconfig", context=...)``). Objects go in and out as plain
dicts in the API's own shape.

* ``apply`` is server-side apply (``kubectl apply --server-side``): each
  object is PATCHed with content type ``application/apply-patch+yaml`` and
  field manager ``labsupport``, Namespaces first, every object to the
  namespace its manifest names (or the ``namespace`` argument).
* ``advance`` waits on the wall clock; ``now`` counts seconds since connecting.
  On a simulator served by ``c.serve()`` that proves it is ours
  (:mod:`labsupport.kube.served`), both follow the simulated clock instead, and
  ``fail_node``/``restore_node`` fail the simulated node.
* ``kill_pod``, ``fail_node`` and ``delete`` refuse a cluster that is not
  provably a kind cluster of ours (see :mod:`labsupport.kube.safety`), before
  any request is sent, unless you pass ``allow_destructive=True``.

The ``kubernetes`` package is imported only when a KubeCluster is made.

Example:
    >>> from labsupport.kube.cluster import KubeCluster
    >>> KubeCluster.backend
    'kubeconfig'
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from labsupport.cluster import Cluster, Source
from labsupport.errors import (
    ClusterUnavailable,
    Forbidden,
    Invalid,
    InvalidManifest,
    ObjectNotFound,
    UnsafeCluster,
)
from labsupport.kinds import ResourceType, parse_ref, resource_type, type_for_kind
from labsupport.kube import safety, served
from labsupport.kube.api import APPLY_PATCH, MERGE_PATCH, Api, resource_path
from labsupport.kube.kind import DEFAULT_NAME, Kind, kubeconfig_path, missing_cluster
from labsupport.kube.progress import sleep_with_progress

__all__ = ["KubeCluster", "FIELD_MANAGER"]

#: The field manager of every server-side apply (``kubectl`` uses "kubectl").
FIELD_MANAGER = "labsupport"

# Applied before everything else, in this order: objects may live in them.
_FIRST = {"Namespace": 0, "CustomResourceDefinition": 1}
# Types with a scale subresource.
_SCALABLE = {"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"}
_PAGE = 500


class KubeCluster(Cluster):
    """A real Kubernetes cluster behind the Cluster contract.

    Make one with :meth:`from_kind` or :meth:`from_kubeconfig` (or
    ``ls.connect("kind")`` / ``ls.connect("kubeconfig")``); the constructor
    takes an already loaded client configuration.

    Args:
        configuration: a ``kubernetes.client.Configuration``.
        context: the kubeconfig context it came from, if any.
        kind_name: the kind cluster's name when it is one.
        kind: the kind/docker wrapper (for safety checks and fail_node).
        allow_destructive: skip the "is it ours?" checks for kill_pod,
            fail_node and delete. Only for clusters you may break.
        display: progress bars while waiting: None (automatic), True, False.
        poll_interval: seconds between looks while waiting.
    """

    backend = "kubeconfig"

    def __init__(self, configuration: Any, *, context: str | None = None,
                 kind_name: str | None = None, kind: Kind | None = None,
                 allow_destructive: bool = False, display: bool | None = None,
                 poll_interval: float = 1.0) -> None:
        self.context = context
        self.kind_name = kind_name or safety.kind_name_of_context(context)
        self.kind = kind
        self.allow_destructive = bool(allow_destructive)
        self.display = display
        self.poll_interval = poll_interval
        if self.kind_name:
            fix = (f"start the cluster: python -m labsupport cluster up --name "
                   f"{self.kind_name}")
        else:
            fix = f"check the cluster is running: kubectl --context {context} cluster-info" \
                if context else "check the cluster is running: kubectl cluster-info"
        self.api = Api(configuration, unreachable_fix=fix)
        self.host = self.api.host
        self._t0 = time.monotonic()
        self._epoch0 = time.time()
        self._proven = False
        self._types: dict[tuple[str, str], ResourceType] = {}
        # A simulator served by c.serve() that proves it is ours (labsupport/kube/served.py):
        # advance and fail_node then ask it rather than the wall clock and docker.
        self._served = served.probe(self.api, context)

    # --- making one --------------------------------------------------------
    @classmethod
    def from_kubeconfig(cls, context: str | None = None, kubeconfig: str | os.PathLike[str]
                        | None = None, *, allow_destructive: bool = False,
                        kind: Kind | None = None, display: bool | None = None,
                        poll_interval: float = 1.0) -> KubeCluster:
        """Connect to a cluster of a kubeconfig, without changing its current context.

        Args:
            context: the context to use; None uses the file's current context.
            kubeconfig: the file; None uses ``$KUBECONFIG`` or ``~/.kube/config``
                (or the pod's service account when running inside a cluster).
            allow_destructive: allow kill_pod, fail_node and delete on a
                cluster that is not provably a kind cluster of ours.
            kind: the kind/docker wrapper for the safety checks.
            display: progress bars while waiting (None: automatic).
            poll_interval: seconds between looks while waiting.

        Raises:
            ClusterUnavailable: no kubeconfig, or no such context.
        """
        from kubernetes import config as kconfig
        from kubernetes.client import Configuration

        cfg = Configuration()
        path = os.fspath(kubeconfig) if kubeconfig is not None else None
        in_cluster = (path is None and "KUBECONFIG" not in os.environ
                      and not (Path.home() / ".kube" / "config").exists()
                      and "KUBERNETES_SERVICE_HOST" in os.environ)
        if in_cluster:
            kconfig.load_incluster_config(client_configuration=cfg)
            return cls(cfg, context=None, kind=kind, allow_destructive=allow_destructive,
                       display=display, poll_interval=poll_interval)
        try:
            contexts, current = kconfig.list_kube_config_contexts(config_file=path)
            names = [c["name"] for c in contexts or ()]
            chosen = context or (current or {}).get("name")
            if context is not None and context not in names:
                raise ClusterUnavailable(
                    f'the kubeconfig has no context "{context}" (it has: '
                    f'{", ".join(names) or "none"})',
                    "list them with: kubectl config get-contexts")
            kconfig.load_kube_config(config_file=path, context=chosen,
                                     client_configuration=cfg, persist_config=False)
        except ClusterUnavailable:
            raise
        except Exception as err:  # ConfigException, OSError, a YAML error
            where = path or os.environ.get("KUBECONFIG") or "~/.kube/config"
            raise ClusterUnavailable(f"cannot use the kubeconfig {where}: {err}",
                                     "make a cluster with: python -m labsupport cluster up") \
                from None
        return cls(cfg, context=chosen, kind=kind or Kind(),
                   allow_destructive=allow_destructive, display=display,
                   poll_interval=poll_interval)

    @classmethod
    def from_kind(cls, name: str = DEFAULT_NAME, config: str | None = None, *,
                  create: bool = True, kind: Kind | None = None,
                  allow_destructive: bool = False, display: bool | None = None,
                  poll_interval: float = 1.0, wait: str = "120s") -> KubeCluster:
        """Connect to the kind cluster ``name``, creating it first if it is missing.

        Args:
            name: the kind cluster's name.
            config: the config to create it with: ``"labs"`` (default, one
                control plane and three workers), ``"single-node"``,
                ``"nodeport"`` or a path.
            create: create the cluster when it does not exist.
            kind: the kind/docker wrapper (tests inject a fake runner).
            allow_destructive: skip the safety checks (not needed on kind).
            display: progress bars while waiting (None: automatic).
            poll_interval: seconds between looks while waiting.
            wait: how long kind waits for the control plane when creating.

        Raises:
            ClusterUnavailable: docker or kind is missing or not running, or
                the cluster is missing and ``create`` is False.
        """
        kind = kind or Kind()
        kind.require()
        if not kind.exists(name):
            if not create:
                raise missing_cluster(name)
            kind.create(name, config=config, wait=wait)
        path = kind.write_kubeconfig(name)
        c = cls.from_kubeconfig(context=f"kind-{name}", kubeconfig=path, kind=kind,
                                allow_destructive=allow_destructive, display=display,
                                poll_interval=poll_interval)
        c.backend = "kind"
        c.kind_name = name
        return c

    def __repr__(self) -> str:
        if self.kind_name:
            return f'<KubeCluster kind "{self.kind_name}" {self.host}>'
        return f"<KubeCluster context {self.context!r} {self.host}>"

    # --- types and paths ---------------------------------------------------
    def _type_of(self, api_version: str, kind: str) -> ResourceType:
        """Plural and scope of a kind: the table of known types, else discovery."""
        key = (api_version, kind)
        if key in self._types:
            return self._types[key]
        rt = type_for_kind(kind, api_version)
        if kind not in _known_kinds():
            # A kind the table does not know (a custom resource):
            # ask the server for its plural and scope.
            rt = self._discover(api_version, kind) or rt
        self._types[key] = rt
        return rt

    def _discover(self, api_version: str, kind: str) -> ResourceType | None:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            listing = self.api.request("GET", base)
        except ObjectNotFound:
            raise Invalid(f"the cluster does not serve {api_version} (kind {kind}); is its "
                          "CustomResourceDefinition (or APIService) applied?") from None
        for res in listing.get("resources") or ():
            if res.get("kind") == kind and "/" not in res.get("name", "/"):
                return ResourceType(kind, res["name"], api_version, bool(res.get("namespaced")),
                                    tuple(res.get("shortNames") or ()))
        return None

    def _path(self, rt: ResourceType, namespace: str | None, name: str | None = None,
              sub: str | None = None) -> str:
        return resource_path(rt.api_version, rt.plural, namespace if rt.namespaced else None,
                             name, sub)

    # --- objects -----------------------------------------------------------
    def apply(self, source: Source, namespace: str = "default") -> list[str]:
        """Server-side apply every object of ``source``; return ``"kind/name"`` refs.

        Objects without ``metadata.namespace`` go to ``namespace``; Namespaces
        (and CustomResourceDefinitions) are applied before the rest.

        A custom resource is accepted when the cluster already has its
        CustomResourceDefinition: apply the definition first, in its own call
        (kubectl cannot apply both at once either).

        Raises:
            InvalidManifest: an object is not valid (nothing was applied when
                the manifest itself is bad; the server's own validation
                stops at the first object it refuses).
            Forbidden: RBAC or admission (a ResourceQuota) refused an object.
        """
        from labsupport.manifests import load

        try:
            objects = load(source)
        except InvalidManifest as err:
            # A custom resource: fine if the cluster has its CustomResourceDefinition.
            if err.field != "kind" or "custom resource" not in err.problem:
                raise
            custom = self._custom_kinds()
            if not custom:
                raise
            objects = load(source, custom_kinds=custom)
        order = sorted(range(len(objects)),
                       key=lambda i: (_FIRST.get(objects[i].get("kind", ""), 2), i))
        refs: dict[int, str] = {}
        for i in order:
            refs[i] = self._apply_one(objects[i], namespace)
        # Refs come back in the manifest's order, as kubectl prints them.
        return [refs[i] for i in range(len(objects))]

    def _custom_kinds(self) -> set[tuple[str, str]]:
        """(group, kind) of every CustomResourceDefinition the cluster has."""
        path = resource_path("apiextensions.k8s.io/v1", "customresourcedefinitions")
        try:
            crds = self.api.request("GET", path).get("items") or ()
        except (Forbidden, ObjectNotFound):
            return set()
        return {((c.get("spec") or {}).get("group", ""),
                 ((c.get("spec") or {}).get("names") or {}).get("kind", "")) for c in crds}

    def _apply_one(self, obj: dict, namespace: str) -> str:
        kind = obj.get("kind", "")
        api_version = obj.get("apiVersion", "v1")
        meta = dict(obj.get("metadata") or {})
        # An object read back with get() carries managedFields, which an apply
        # must leave out ("metadata.managedFields must be nil").
        meta.pop("managedFields", None)
        name = meta.get("name", "")
        rt = self._type_of(api_version, kind)
        if rt.namespaced:
            meta["namespace"] = meta.get("namespace") or namespace
            ns = meta["namespace"]
        else:
            meta.pop("namespace", None)
            ns = None
        body = {**obj, "metadata": meta}
        path = resource_path(api_version, rt.plural, ns, name)
        self.api.request("PATCH", path, {"fieldManager": FIELD_MANAGER, "force": True}, body,
                         APPLY_PATCH, what=f"{kind}/{name}")
        return f"{kind.lower()}/{name}"

    def get(self, ref: str, namespace: str = "default") -> dict:
        """Return one object as the API shows it (see :meth:`Cluster.get`)."""
        rt, name = parse_ref(ref)
        obj = self.api.request("GET", self._path(rt, namespace, name), what=ref)
        obj.setdefault("kind", rt.kind)
        obj.setdefault("apiVersion", rt.api_version)
        return obj

    def list(self, resource: str, namespace: str | None = None,
             selector: str | None = None) -> list[dict]:
        """Return objects of one type, sorted by namespace and name (see :meth:`Cluster.list`)."""
        rt = resource_type(resource)
        path = self._path(rt, namespace)
        items: list[dict] = []
        token: str | None = None
        while True:
            page = self.api.request("GET", path, {"labelSelector": selector or None,
                                                  "limit": _PAGE, "continue": token})
            for item in page.get("items") or ():
                # List answers leave kind and apiVersion out of each item.
                item.setdefault("kind", rt.kind)
                item.setdefault("apiVersion", rt.api_version)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                break
        items.sort(key=lambda o: ((o.get("metadata") or {}).get("namespace") or "",
                                  (o.get("metadata") or {}).get("name") or ""))
        return items

    def delete(self, ref: str, namespace: str = "default", *,
               propagation_policy: str = "Background", grace_period: int | None = None,
               force: bool = False, wait: bool = False,
               allow_destructive: bool = False) -> None:
        """Delete an object, like ``kubectl delete`` (see :meth:`Cluster.delete`).

        The options go in the request's ``DeleteOptions`` body
        (``propagationPolicy``, ``gracePeriodSeconds``), as kubectl sends them.

        Raises:
            UnsafeCluster: the cluster is not provably a kind cluster of ours.
            ObjectNotFound: no such object.
            Invalid: bad options (:func:`labsupport.deleteoptions.delete_options`).
        """
        from labsupport.deleteoptions import delete_options

        rt, name = parse_ref(ref)
        options = delete_options(propagation_policy, grace_period, force)
        if not isinstance(wait, bool):
            raise Invalid(f"wait must be True or False, got {wait!r}")
        self._guard("delete", allow_destructive)
        answer = self.api.request("DELETE", self._path(rt, namespace, name), body={
            "kind": "DeleteOptions", "apiVersion": "v1", **options}, what=ref)
        if wait:
            uid = ((answer or {}).get("metadata") or {}).get("uid") or (
                ((answer or {}).get("details") or {}).get("uid"))
            self._wait_deleted(ref, namespace, uid)

    def scale(self, ref: str, replicas: int, namespace: str = "default") -> None:
        """Set the replicas of a Deployment, ReplicaSet or StatefulSet (scale subresource)."""
        rt, name = parse_ref(ref)
        if rt.kind not in _SCALABLE:
            raise Invalid(f"{rt.kind} has no replicas to scale; scale a Deployment, "
                          "ReplicaSet or StatefulSet")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise Invalid(f"replicas must be a whole number 0 or more, got {replicas!r}")
        self.api.request("PATCH", self._path(rt, namespace, name, "scale"),
                         body={"spec": {"replicas": replicas}}, content_type=MERGE_PATCH,
                         what=ref)

    def patch(self, ref: str, patch: Any, namespace: str = "default",
              type: str = "strategic") -> dict:  # noqa: A002 - kubectl's --type
        """PATCH an object with the content type of ``type`` (see :meth:`Cluster.patch`).

        ``"strategic"`` goes as ``application/strategic-merge-patch+json``,
        ``"merge"`` as ``application/merge-patch+json``, ``"json"`` as
        ``application/json-patch+json``; the API server applies it.
        """
        from labsupport.patching import CONTENT_TYPES, PATCH_TYPES, PatchFailed

        if type not in CONTENT_TYPES:
            raise Invalid(f"type must be one of {', '.join(repr(t) for t in PATCH_TYPES)} "
                          f"(kubectl patch --type), got {type!r}")
        rt, name = parse_ref(ref)
        try:
            obj = self.api.request("PATCH", self._path(rt, namespace, name), body=patch,
                                   content_type=CONTENT_TYPES[type], what=ref)
        except InvalidManifest as err:
            if type == "json" and err.refused is None:
                raise PatchFailed(err.problem) from None  # an operation did not apply
            raise
        obj.setdefault("kind", rt.kind)
        obj.setdefault("apiVersion", rt.api_version)
        return obj

    def evict(self, pod: str, namespace: str = "default") -> None:
        """POST a policy/v1 Eviction to the pod's ``eviction`` subresource (kubectl drain's way).

        Raises:
            TooManyRequests: its PodDisruptionBudget allows no disruption now (429).
        """
        name = pod.split("/", 1)[1] if pod.startswith(("pod/", "pods/")) else pod
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace}}
        self.api.request("POST", resource_path("v1", "pods", namespace, name, "eviction"),
                         body=body, what=f"pod/{name}")

    def logs(self, pod: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None, previous: bool = False) -> str:
        """The log of a pod's container, as ``kubectl logs`` prints it.

        Args:
            pod: the pod's name (or ``"pod/name"``).
            namespace: its namespace.
            container: which container, needed when the pod has several.
            tail: only the last lines.
            previous: the log of the previous (crashed) container.
        """
        name = pod.split("/", 1)[1] if pod.startswith(("pod/", "pods/")) else pod
        path = resource_path("v1", "pods", namespace, name, "log")
        return self.api.request("GET", path, {"container": container, "tailLines": tail,
                                              "previous": previous or None},
                                what=f"pod/{name}", raw=True)

    def _raw_events(self, namespace: str | None) -> list[dict]:
        return self.list("events", namespace)

    # --- time --------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Wait ``seconds`` of wall time (with a progress bar for longer waits)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise Invalid(f"seconds must be zero or more, got {seconds!r}")
        if self._served is not None:
            self._served.advance(float(seconds))  # a served simulator: simulated time
            return
        sleep_with_progress(float(seconds), display=self.display)

    @property
    def now(self) -> float:
        """Seconds since this connection was made (simulated ones on a served simulator)."""
        if self._served is not None:
            return self._served.now()
        return time.monotonic() - self._t0

    def _start_time(self) -> float:
        return self._served.start_time() if self._served is not None else self._epoch0

    def server_version(self) -> dict[str, str]:
        """The real API server's ``/version`` answer (readable without credentials)."""
        answer = self.api.request("GET", "/version", what="the server version")
        return {str(k): str(v) for k, v in answer.items()} if isinstance(answer, dict) else {}

    # --- faults ------------------------------------------------------------
    def kill_pod(self, name: str, namespace: str = "default", *,
                 allow_destructive: bool = False) -> None:
        """Delete a pod at once (grace period 0), as a crash would; its controller replaces it.

        Raises:
            UnsafeCluster: the cluster is not provably a kind cluster of ours.
        """
        name = name.split("/", 1)[1] if name.startswith(("pod/", "pods/")) else name
        self._guard("kill_pod", allow_destructive)
        self.api.request("DELETE", resource_path("v1", "pods", namespace, name),
                         body={"kind": "DeleteOptions", "apiVersion": "v1",
                               "gracePeriodSeconds": 0, "propagationPolicy": "Background"},
                         what=f"pod/{name}")

    def fail_node(self, name: str, *, allow_destructive: bool = False) -> None:
        """Freeze a kind node's container (``docker pause``): its kubelet goes silent.

        The node turns Ready=Unknown after the node-monitor grace period
        (50 s, as since v1.32 and in v1.37), and its pods are evicted about 300 s later.

        Raises:
            UnsafeCluster: not a kind cluster of ours, or not one of its nodes.
            Invalid: the cluster is not a kind cluster (no container to pause).
        """
        self._guard("fail_node", allow_destructive)
        if self._served is not None:
            self._served.fail_node(name)  # a served simulator fails its simulated node
            return
        self._node_container(name, "fail_node").pause(name)

    def restore_node(self, name: str) -> None:
        """Thaw a node frozen by :meth:`fail_node` (``docker unpause``)."""
        if self._served is not None:
            self._served.restore_node(name)
            return
        self._node_container(name, "restore_node").unpause(name)

    def _node_container(self, name: str, action: str) -> Kind:
        if not self.kind_name or self.kind is None:
            raise Invalid(f"{action} works on kind clusters only (it pauses the node's "
                          "docker container); on other clusters stop the node's machine "
                          "or cordon and drain it: kubectl drain NODE --ignore-daemonsets")
        label = self.kind.label(name)
        if label != self.kind_name:
            nodes = ", ".join(self.kind.nodes(self.kind_name))
            raise UnsafeCluster(action, f'"{name}" is not a node container of kind cluster '
                                f'"{self.kind_name}" (its label io.x-k8s.kind.cluster is '
                                f"{label!r}); the nodes are: {nodes}",
                                "pass the name of one of those nodes")
        return self.kind

    def _guard(self, action: str, allow: bool) -> None:
        """Refuse a destructive action on a cluster that is not provably ours."""
        if allow or self.allow_destructive or self._proven or self._served is not None:
            return  # a served simulator proved it is ours (labsupport/kube/served.py)
        why = safety.why_not_ours(self.kind_name, self.host, self.kind)
        if why is not None:
            raise safety.refuse(action, why)
        self._proven = True

    # --- helpers for lessons -----------------------------------------------
    def install_metrics_server(self, timeout: float = 300) -> str:
        """Install metrics-server (with ``--kubelet-insecure-tls`` for kind) so HPA works."""
        from labsupport.kube.metrics_server import install_metrics_server

        return install_metrics_server(self, timeout=timeout)

    @property
    def kubeconfig(self) -> Path | None:
        """The private kubeconfig file of a kind cluster (for ``kubectl --kubeconfig``)."""
        return kubeconfig_path(self.kind_name) if self.kind_name else None

    def close(self) -> None:
        """Release the connection pool."""
        self.api.close()


def _known_kinds() -> set[str]:
    from labsupport.kinds import known_types

    return {t.kind for t in known_types()}
