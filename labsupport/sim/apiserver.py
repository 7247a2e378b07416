"""The simulated kube-apiserver: the only component that writes to the store.

Everything that changes the cluster goes through here, as in Kubernetes:
``kubectl apply`` from a student, and the controllers, scheduler and kubelets
inside the simulator. The API server fills in what nobody wrote (uid,
resourceVersion, generation, creationTimestamp, defaults), runs admission
(the namespace must exist, LimitRange, ResourceQuota: :mod:`labsupport.sim.admission`),
refuses updates of fields fixed at creation (:mod:`labsupport.sim.updates`) and
stale ones (resourceVersion conflicts), keeps ``status`` apart from ``spec``,
and records every write for :meth:`SimCluster.trace`.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> cm = c.api.create({"apiVersion": "v1", "kind": "ConfigMap",
    ...                    "metadata": {"name": "settings"}, "data": {"x": "1"}})
    >>> cm["metadata"]["namespace"], cm["metadata"]["resourceVersion"] == str(c.store.revision)
    ('default', True)
"""

from __future__ import annotations

import ipaddress
import random
from collections import deque
from collections.abc import Callable

import simpy

from labsupport.errors import AlreadyExists, Conflict, Forbidden, Invalid, ObjectNotFound
from labsupport.featuregates import resolve as resolve_gates
from labsupport.kinds import ResourceType, type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.admission import Admission
from labsupport.sim.admission.limitranger import default_limit_range
from labsupport.sim.admission.resourcequota import qos_class
from labsupport.sim.clock import stamp
from labsupport.sim.cronvalidation import validate_cronjob
from labsupport.sim.defaults import apply_defaults
from labsupport.sim.deletion import delete_during_update, delete_object, finalizer_errors
from labsupport.sim.events import EventLog
from labsupport.sim.fielderrors import refused
from labsupport.sim.jsoncopy import json_copy
from labsupport.sim.naming import new_uid, random_suffix
from labsupport.sim.store import Store, WatchEvent
from labsupport.sim.updates import validate_update

__all__ = ["APIServer", "SYSTEM_NAMESPACES"]

SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
# pkg/apis/core/types.go: the default NodePort range; kube-apiserver
# --service-cluster-ip-range default on kind: 10.96.0.0/16.
NODE_PORT_RANGE = (30000, 32767)
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
# Kinds whose writes do not keep metadata.generation. Pods have one since
# Kubernetes 1.35 (KEP-5067, Pod Generation, GA): 1 at creation, one more for
# each change of the spec and when a graceful deletion starts.
_NO_GENERATION = {
    "Event",
    "ConfigMap",
    "Secret",
    "Node",
    "Namespace",
    "Endpoints",
    "ServiceAccount",
    "Lease",
}


class APIServer:
    """CRUD, defaulting and admission over a :class:`Store`.

    Reads (:meth:`get`, :meth:`list`) return the stored dicts themselves, for
    the simulator's components, which must not change them; the cluster's
    public methods copy them for people.
    """

    def __init__(
        self, env: simpy.Environment, store: Store, events: EventLog, rng: random.Random,
        feature_gates: dict[str, bool] | None = None,
    ) -> None:
        self.env = env
        #: The cluster's feature gates (labsupport.featuregates); the defaults of 1.37.
        self.feature_gates = feature_gates or resolve_gates()
        self.store = store
        self.events = events
        self.rng = rng
        # (time, component, action, key, detail): every write and event, for traces.
        self.audit: deque[tuple[float, str, str, str, str]] = deque(maxlen=200_000)
        self._prefixes: dict[str, tuple[str, bool]] = {}
        #: Custom resources served because their CustomResourceDefinition is stored.
        self.custom_types: dict[str, ResourceType] = {}
        self._node_ports: set[int] = set()
        self._cluster_ips: set[str] = set()
        #: The admission chain (LimitRanger, PersistentVolumeClaimResize, ResourceQuota).
        self.admission = Admission(self)
        # Custom kinds whose CRD declares a status subresource: only there is a
        # status sent with the object ignored.
        self._custom_status: set[str] = set()

    # --- keys and reads -------------------------------------------------------
    @property
    def now(self) -> float:
        """Virtual seconds since the cluster started."""
        return self.env.now

    def type_of(self, kind: str, api_version: str | None = None) -> ResourceType:
        """The type of a kind: a built-in one, or a custom resource whose CRD is stored."""
        custom = self.custom_types.get(kind)
        return custom if custom is not None else type_for_kind(kind, api_version)

    def register_crd(self, crd: dict, present: bool = True) -> None:
        """Serve (or stop serving) the custom resource a CustomResourceDefinition defines."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        kind = names.get("kind")
        if not kind:
            return
        if not present:
            self.custom_types.pop(kind, None)
            self._prefixes.pop(kind, None)
            self._custom_status.discard(kind)
            return
        versions = spec.get("versions") or [{}]
        if any("status" in (v.get("subresources") or {}) for v in versions):
            self._custom_status.add(kind)
        else:
            self._custom_status.discard(kind)
        version = next(
            (v.get("name") for v in versions if v.get("storage")), versions[0].get("name", "v1")
        )
        self.custom_types[kind] = ResourceType(
            kind,
            names.get("plural") or kind.lower() + "s",
            f"{spec.get('group', '')}/{version}",
            spec.get("scope", "Namespaced") == "Namespaced",
            tuple(names.get("shortNames") or ()),
            f"{spec.get('group', '')}/{names.get('plural') or kind.lower() + 's'}",
        )
        self._prefixes.pop(kind, None)

    def key(self, rt: ResourceType, namespace: str | None, name: str) -> str:
        """The etcd key of an object of type ``rt``."""
        if rt.namespaced and namespace:
            return f"/registry/{rt.registry}/{namespace}/{name}"
        return f"/registry/{rt.registry}/{name}"

    def key_of(self, obj: dict) -> str:
        """The etcd key of an object dict."""
        kind = obj["kind"]
        entry = self._prefixes.get(kind)
        if entry is None:
            rt = self.type_of(kind, obj.get("apiVersion"))
            entry = self._prefixes[kind] = (f"/registry/{rt.registry}/", rt.namespaced)
        meta = obj["metadata"]
        prefix, namespaced = entry
        ns = meta.get("namespace") if namespaced else None
        return f"{prefix}{ns}/{meta['name']}" if ns else prefix + meta["name"]

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict | None:
        """The stored object, or None (read-only)."""
        return self.store.peek(self.key(rt, namespace, name))

    def list(
        self, rt: ResourceType, namespace: str | None = None, selector: Selector | None = None
    ) -> list[dict]:
        """Stored objects of one type, sorted by namespace and name (read-only)."""
        table = self.store.table(rt.registry)
        if namespace is not None and rt.namespaced:
            prefix = f"/registry/{rt.registry}/{namespace}/"
            items = [o for k, o in table.items() if k.startswith(prefix)]
        else:
            items = list(table.values())
        if selector is not None and not selector.empty:
            items = [o for o in items if selector.matches(o["metadata"].get("labels"))]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def watch(self, rt: ResourceType, callback: Callable[[WatchEvent], None]) -> Callable[[], None]:
        """Call ``callback`` at every change of objects of type ``rt``."""
        return self.store.watch(f"/registry/{rt.registry}/", callback)

    # --- writes ---------------------------------------------------------------
    def _record(self, component: str, verb: str, key: str, detail: str = "") -> None:
        self.audit.append((self.env.now, component, verb, key, detail))

    def create(self, obj: dict, component: str = "kubectl") -> dict:
        """Create an object; return the stored dict.

        The caller hands over ``obj``: it is defaulted and stored as it is.

        Raises:
            AlreadyExists: an object with that name exists.
            ObjectNotFound: its namespace does not exist.
            Forbidden: a ResourceQuota refuses it.
            Invalid: it has neither name nor generateName.
        """
        kind = obj.get("kind", "")
        rt = self.type_of(kind, obj.get("apiVersion"))
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            ns = meta.setdefault("namespace", "default")
            ns_obj = self.get(_NAMESPACE, None, ns)
            if kind != "Namespace" and ns_obj is None:
                raise ObjectNotFound("namespace", ns)
            if ns_obj is not None and (ns_obj.get("status") or {}).get("phase") == "Terminating":
                raise Forbidden(
                    f'{rt.plural} "{meta.get("name") or meta.get("generateName")}" is forbidden: '
                    f"unable to create new content in namespace {ns} because it is being "
                    "terminated",
                    reason="NamespaceTerminating",
                )
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise Invalid(f"{kind}: metadata.name or metadata.generateName is required")
            for _ in range(10):
                meta["name"] = meta["generateName"] + random_suffix(self.rng)
                if self.get(rt, meta.get("namespace"), meta["name"]) is None:
                    break
        key = self.key(rt, meta.get("namespace"), meta["name"])
        if key in self.store:
            raise AlreadyExists(
                f'{rt.plural} "{meta["name"]}" already exists'
                + (f' in namespace "{meta.get("namespace")}"' if rt.namespaced else "")
            )
        apply_defaults(obj, self.feature_gates)
        if kind == "LimitRange":
            default_limit_range(obj)
        if component == "kubectl" and self._has_status_subresource(rt):
            obj.pop("status", None)  # status is the cluster's to write (PrepareForCreate)
        self._admit(obj, None, key)
        if kind == "Pod":
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj["spec"])}
        if kind == "Service":
            self._allocate_service(obj)
        meta["uid"] = new_uid(self.rng)
        meta["creationTimestamp"] = stamp(self.env.now)
        if kind not in _NO_GENERATION and "spec" in obj and (
                kind != "HorizontalPodAutoscaler" or self.feature_gates["HPAGeneration"]):
            # An HPA has a generation only with the HPAGeneration gate (alpha in 1.37).
            meta["generation"] = 1
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        if kind == "Service" and obj["spec"].get("type") == "LoadBalancer":
            # No cloud provider (as on kind): the external IP stays <pending>.
            obj.setdefault("status", {"loadBalancer": {}})
        self.store.put(key, obj)
        self._record(component, "create", key)
        self.admission.commit()
        if kind == "Namespace":
            self._namespace_created(meta["name"])
        return obj

    def _has_status_subresource(self, rt: ResourceType) -> bool:
        return rt.kind not in self.custom_types or rt.kind in self._custom_status

    def _admit(self, obj: dict, old: dict | None, key: str) -> None:
        """Mutating admission, update validation, then validating admission (in order)."""
        self.admission.discard()  # charges of an earlier write that failed after admission
        for plugin, note in self.admission.mutate(obj, old):
            self._record("kube-apiserver", "admission", key, f"{plugin}: {note}")
        if old is not None:
            errors = validate_update(old, obj)
            if errors:
                self.admission.discard()
                raise refused(obj["kind"], obj["metadata"]["name"], errors)
        if obj["kind"] == "CronJob":
            # pkg/apis/batch/validation: ValidateCronJobCreate / ValidateCronJobUpdate.
            errors = validate_cronjob(obj, old)
            if errors:
                self.admission.discard()
                raise refused(obj["kind"], obj["metadata"]["name"], errors)
        try:
            notes = self.admission.validate(obj, old)
        except Forbidden as err:
            self._record("kube-apiserver", "admission", key,
                         f"{getattr(err, 'plugin', 'admission')}: {err}")
            raise
        for plugin, note in notes:
            self._record("kube-apiserver", "admission", key, f"{plugin}: {note}")

    def update(self, obj: dict, component: str = "kubectl") -> dict:
        """Replace an object's metadata and spec (not its status); return the stored dict.

        A ``status`` sent with the object is ignored (only the status
        subresource writes it); fields fixed at creation are checked
        (:mod:`labsupport.sim.updates`); a ``metadata.resourceVersion`` that
        is not the stored one is a conflict.

        Raises:
            ObjectNotFound: it does not exist.
            Conflict: ``metadata.resourceVersion`` is not the current one.
            InvalidManifest: it changes a field that may not change.
            Forbidden: admission (LimitRange, ResourceQuota) refuses it.
        """
        key = self.key_of(obj)
        old = self.store.peek(key)
        rt = self.type_of(obj["kind"], obj.get("apiVersion"))
        if old is None:
            raise ObjectNotFound(
                rt.singular, obj["metadata"]["name"], obj["metadata"].get("namespace")
            )
        sent_version = obj["metadata"].get("resourceVersion")
        if (component == "kubectl" and sent_version
                and sent_version != old["metadata"].get("resourceVersion")):
            # Optimistic concurrency (registry/generic/registry/store.go: Update).
            raise Conflict(rt.plural + (f".{rt.group}" if rt.group else ""),
                           obj["metadata"]["name"])
        apply_defaults(obj, self.feature_gates)
        if obj["kind"] == "LimitRange":
            default_limit_range(obj)
        if obj["kind"] == "Pod":
            # The Priority plugin keeps a pod's priority on update (it is set at creation).
            for field in ("priority", "preemptionPolicy"):
                if field in old["spec"]:
                    obj["spec"][field] = old["spec"][field]
        meta = obj["metadata"]
        old_meta = old["metadata"]
        for field in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        if "generation" in old_meta:
            changed = obj.get("spec") != old.get("spec")
            meta["generation"] = old_meta["generation"] + (1 if changed else 0)
        if self._has_status_subresource(rt):
            # PrepareForUpdate: the status comes from the stored object.
            if "status" in old:
                obj["status"] = old["status"]
            else:
                obj.pop("status", None)
        if obj["kind"] == "Service":
            self._keep_service_allocation(obj, old)
        errors = finalizer_errors(old, obj)  # none added once the deletion started
        if errors:
            raise refused(obj["kind"], meta["name"], errors)
        self._admit(obj, old, key)
        if obj["kind"] == "Service":
            self._service_type_changed(obj, old)
        self.store.put(key, obj)
        self._record(component, "update", key)
        self.admission.commit()
        if delete_during_update(old, obj):  # the last finalizer went: the deletion ends
            self.remove(obj, component)
        return obj

    def update_status(
        self, obj: dict, status: dict, component: str, key: str | None = None
    ) -> dict:
        """Write a new ``status`` (the status subresource); return the stored dict.

        ``key`` may be given when the caller knows it (a hot path for kubelets).
        """
        if obj.get("status") == status:
            return obj
        new = dict(obj)
        new["metadata"] = dict(obj["metadata"])
        new["status"] = status
        key = key or self.key_of(new)
        if key not in self.store:
            return new
        self.store.put(key, new)
        self._record(component, "update-status", key)
        return new

    def bind(self, pod: dict, component: str) -> None:
        """The pods/binding subresource: store ``pod``, already given its node.

        The scheduler builds the bound pod (``spec.nodeName``, the PodScheduled
        condition, the topology labels); the write is audited as ``bind``.
        """
        key = self.key_of(pod)
        self.store.put(key, pod)
        self._record(component, "bind", key)

    def patch(self, obj: dict, component: str, **changes: object) -> dict:
        """Write a shallow copy of ``obj`` with top-level ``metadata`` / ``spec`` changes."""
        new = dict(obj)
        for field, value in changes.items():
            new[field] = value
        new["metadata"] = dict(new["metadata"])
        if (
            "spec" in changes
            and "generation" in new["metadata"]
            and changes["spec"] != obj.get("spec")
        ):
            new["metadata"]["generation"] += 1
        key = self.key_of(new)
        if key not in self.store:
            return new
        self.store.put(key, new)
        self._record(component, "patch", key)
        return new

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        grace: int | None = None,
        propagation_policy: str | None = None,
        component: str = "kubectl",
    ) -> dict:
        """Delete an object as ``Store.Delete`` does (:mod:`labsupport.sim.deletion`).

        A pod on a node is marked with a ``deletionTimestamp`` and terminates
        gracefully first; an object with finalizers stays, marked, until the
        last one is removed; the propagation policy adds the garbage
        collector's ``orphan`` or ``foregroundDeletion`` finalizer.

        Args:
            rt: the object's type.
            namespace: its namespace (ignored for cluster-scoped types).
            name: its name.
            grace: ``gracePeriodSeconds``: seconds of graceful termination for
                a pod; None uses its terminationGracePeriodSeconds; 0 removes
                it at once (force deletion).
            propagation_policy: ``"Background"``, ``"Foreground"``,
                ``"Orphan"`` or None (the object's finalizers, then the type's default).
            component: who asks, for the audit log and traces.

        Raises:
            ObjectNotFound: it does not exist.
            Invalid: an unknown propagation policy.
        """
        key = self.key(rt, namespace, name)
        obj = self.store.peek(key)
        if obj is None:
            raise ObjectNotFound(rt.singular, name, namespace if rt.namespaced else None)
        if rt.kind == "Namespace":
            return self._delete_namespace(obj, component)
        return delete_object(self, rt, obj, grace=grace, policy=propagation_policy,
                             component=component)

    def remove(self, obj: dict, component: str) -> None:
        """Remove an object from the store now (the end of a deletion)."""
        key = self.key_of(obj)
        if self.store.delete(key) is None:
            return
        self._record(component, "delete", key)
        if obj["kind"] == "Service":
            self._release_service(obj)

    # --- namespaces -----------------------------------------------------------
    def _namespace_created(self, name: str) -> None:
        # The service account controller gives every namespace a "default" ServiceAccount.
        if self.get(_SERVICE_ACCOUNT, name, "default") is None:
            self.create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": name},
                },
                component="serviceaccount-controller",
            )

    def _delete_namespace(self, ns_obj: dict, component: str) -> dict:
        name = ns_obj["metadata"]["name"]
        if name in SYSTEM_NAMESPACES:
            raise Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                reason="Forbidden",
            )
        new = dict(ns_obj)
        new["metadata"] = dict(ns_obj["metadata"], deletionTimestamp=stamp(self.env.now))
        new["status"] = {"phase": "Terminating"}
        key = self.key_of(new)
        self.store.put(key, new)
        self._record(component, "delete", key)
        # The namespace controller deletes everything inside, then the namespace.
        prefixes = [k for k in self.store.keys() if f"/{name}/" in k]
        for k in prefixes:
            obj = self.store.peek(k)
            if obj is None or obj["metadata"].get("namespace") != name:
                continue
            rt = self.type_of(obj["kind"], obj.get("apiVersion"))
            self.delete(rt, name, obj["metadata"]["name"], component="namespace-controller")
        self.env.process(self._finish_namespace(new))
        return new

    def _finish_namespace(self, ns_obj: dict):
        name = ns_obj["metadata"]["name"]
        while any(
            o["metadata"].get("namespace") == name for o in self.store.table("pods").values()
        ) or self._held_in(name):
            yield self.env.timeout(1)
        self.remove(ns_obj, "namespace-controller")

    def _held_in(self, namespace: str) -> bool:
        """Whether an object of ``namespace`` is still there (finalizers keep it)."""
        for key in self.store.keys():
            if f"/{namespace}/" in key:
                obj = self.store.peek(key)
                if obj is not None and obj["metadata"].get("namespace") == namespace:
                    return True
        return False

    # --- services -------------------------------------------------------------
    def _allocate_service(self, svc: dict) -> None:
        spec = svc["spec"]
        if spec.get("type") == "ExternalName":
            # An ExternalName Service is a DNS CNAME: no cluster IP, no ports allocated.
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(field, None)
            return
        if spec.get("clusterIP") in (None, ""):
            spec["clusterIP"] = self._new_cluster_ip()
        elif spec["clusterIP"] != "None":
            if spec["clusterIP"] in self._cluster_ips:
                raise Invalid(
                    f'spec.clusterIP: Invalid value: "{spec["clusterIP"]}": '
                    "provided IP is already allocated"
                )
            self._cluster_ips.add(spec["clusterIP"])
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for i, port in enumerate(spec.get("ports") or ()):
                wanted = port.get("nodePort")
                if wanted:
                    lo, hi = NODE_PORT_RANGE
                    if not lo <= wanted <= hi:
                        raise Invalid(
                            f"spec.ports[{i}].nodePort: Invalid value: {wanted}: "
                            f"provided port is not in the valid range. "
                            f"The range of valid ports is {lo}-{hi}"
                        )
                    if wanted in self._node_ports:
                        raise Invalid(
                            f"spec.ports[{i}].nodePort: Invalid value: {wanted}: "
                            "provided port is already allocated"
                        )
                else:
                    wanted = self._new_node_port()
                    port["nodePort"] = wanted
                self._node_ports.add(wanted)

    def _keep_service_allocation(self, svc: dict, old: dict) -> None:
        spec, old_spec = svc["spec"], old["spec"]
        if spec.get("type") == "ExternalName":
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(field, None)  # none of these for a DNS name (see _allocate_service)
            return
        if old_spec.get("type") == "ExternalName":
            return  # allocated in _service_type_changed
        spec.setdefault("clusterIP", old_spec.get("clusterIP"))
        if not spec.get("clusterIPs") or (spec["clusterIP"] != old_spec.get("clusterIP")
                                          and spec["clusterIPs"] == old_spec.get("clusterIPs")):
            # normalizeClusterIPs: a changed clusterIP with untouched clusterIPs
            # becomes the new primary (and then fails validation).
            spec["clusterIPs"] = [spec["clusterIP"]]
        old_ports = {
            (p.get("port"), p.get("protocol")): p.get("nodePort")
            for p in old_spec.get("ports") or ()
        }
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or ():
                if not port.get("nodePort"):
                    kept = old_ports.get((port.get("port"), port.get("protocol")))
                    port["nodePort"] = kept or self._new_node_port()
                    self._node_ports.add(port["nodePort"])

    def _service_type_changed(self, svc: dict, old: dict) -> None:
        """Allocate or release a cluster IP when the type changes to or from ExternalName."""
        new_type, old_type = svc["spec"].get("type"), old["spec"].get("type")
        if new_type == old_type:
            return
        if new_type == "ExternalName":
            # dropTypeDependentFields: the IP and node ports go back to the pools.
            self._release_service(old)
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                svc["spec"].pop(field, None)
            for port in svc["spec"].get("ports") or ():
                port.pop("nodePort", None)
        elif old_type == "ExternalName":
            svc["spec"].setdefault("ipFamilies", ["IPv4"])
            svc["spec"].setdefault("ipFamilyPolicy", "SingleStack")
            self._allocate_service(svc)
        elif new_type == "ClusterIP":
            # LoadBalancer / NodePort -> ClusterIP: node ports are released.
            for port in svc["spec"].get("ports") or ():
                if port.get("nodePort"):
                    self._node_ports.discard(port.pop("nodePort"))

    def _release_service(self, svc: dict) -> None:
        self._cluster_ips.discard(svc["spec"].get("clusterIP"))
        for port in svc["spec"].get("ports") or ():
            self._node_ports.discard(port.get("nodePort"))

    def _new_cluster_ip(self) -> str:
        size = SERVICE_CIDR.num_addresses
        while True:
            ip = str(SERVICE_CIDR[self.rng.randrange(10, size - 1)])
            if ip not in self._cluster_ips:
                self._cluster_ips.add(ip)
                return ip

    def _new_node_port(self) -> int:
        lo, hi = NODE_PORT_RANGE
        if len(self._node_ports) > hi - lo:
            raise Forbidden("no NodePort left in 30000-32767", reason="ServiceUnavailable")
        while True:
            port = self.rng.randint(lo, hi)
            if port not in self._node_ports:
                return port

    # --- events ---------------------------------------------------------------
    def event(
        self,
        obj: dict,
        type_: str,
        reason: str,
        message: str,
        component: str,
        host: str = "",
        key: str | None = None,
        field_path: str = "",
    ) -> None:
        """Record an event about ``obj`` (whose etcd ``key`` may be given, to save work).

        ``field_path`` is the event's ``involvedObject.fieldPath``, e.g.
        ``spec.containers{web}`` for an event about one container.
        """
        meta = obj["metadata"]
        now = self.env.now
        self.events.record(
            now,
            type_,
            reason,
            (obj["kind"], meta.get("namespace", ""), meta["name"]),
            message,
            component,
            host,
            field_path,
            meta.get("uid", ""),
        )
        self.audit.append((now, component, reason, key or self.key_of(obj), message))

    def copy(self, obj: dict) -> dict:
        """A deep copy for people (what ``kubectl get -o yaml`` would show)."""
        return json_copy(obj)


_NAMESPACE = type_for_kind("Namespace")
_SERVICE_ACCOUNT = type_for_kind("ServiceAccount")
