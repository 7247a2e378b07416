"""SimCluster: a Kubernetes cluster that runs inside the notebook.

It wires the simulated components together on one simpy environment, as a
real cluster wires them over the network: the API server in front of an
etcd-like store, the scheduler, a kubelet per node, and the controllers,
each reacting to watches of the store. Time is virtual: nothing happens
until :meth:`advance` (or a wait) lets it pass, so a lesson can show a
ten-minute failure in a fraction of a second, and the same seed always gives
the same names, events and timings. ``labsupport/sim/README.md`` maps each
component to its file.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> c.apply('''
    ... apiVersion: apps/v1
    ... kind: Deployment
    ... metadata: {name: web}
    ... spec:
    ...   replicas: 3
    ...   selector: {matchLabels: {app: web}}
    ...   template:
    ...     metadata: {labels: {app: web}}
    ...     spec: {containers: [{name: web, image: "nginx:1.27"}]}
    ... ''')
    ['deployment/web']
    >>> c.wait_for_rollout("deployment/web")
    'deployment "web" successfully rolled out'
    >>> sorted(p.node for p in c.pods())
    ['node-1', 'node-2', 'node-3']
"""

from __future__ import annotations

import random

import simpy

from labsupport import arguments
from labsupport.cluster import Cluster, Source
from labsupport.deprecations import deprecation_of, warn
from labsupport.errors import Invalid, InvalidManifest, ObjectNotFound
from labsupport.featuregates import resolve as resolve_gates
from labsupport.kinds import parse_ref, resource_type, type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.admission.priority import system_priority_classes
from labsupport.sim.apiserver import SYSTEM_NAMESPACES, APIServer
from labsupport.sim.clock import EPOCH, micro_stamp, stamp
from labsupport.sim.controllers.base import routes
from labsupport.sim.controllers.cronjob import CronJobController
from labsupport.sim.controllers.daemonset import DaemonSetController
from labsupport.sim.controllers.deployment import DeploymentController
from labsupport.sim.controllers.disruption import DisruptionController
from labsupport.sim.controllers.endpoints import EndpointsController
from labsupport.sim.controllers.endpointslice import EndpointSliceController
from labsupport.sim.controllers.endpointslicemirroring import EndpointSliceMirroringController
from labsupport.sim.controllers.gc import GarbageCollector
from labsupport.sim.controllers.hpa import HorizontalPodAutoscalerController
from labsupport.sim.controllers.job import JobController
from labsupport.sim.controllers.nodelifecycle import (
    LEASE_DURATION_SECONDS,
    NODE_MONITOR_GRACE_PERIOD,
    NodeLifecycleController,
)
from labsupport.sim.controllers.podutil import controller_uid
from labsupport.sim.controllers.replicaset import ReplicaSetController
from labsupport.sim.controllers.replication import ReplicationManager
from labsupport.sim.controllers.resourcequota import ResourceQuotaController
from labsupport.sim.controllers.statefulset import StatefulSetController
from labsupport.sim.controllers.tainteviction import TaintEvictionController
from labsupport.sim.controllers.volumes import VolumeBinder
from labsupport.sim.dataplane import DataPlaneMixin
from labsupport.sim.events import EventLog
from labsupport.sim.extras import SimExtrasMixin
from labsupport.sim.gcpolicy import paused_gc
from labsupport.sim.httpapi.serving import ServingMixin
from labsupport.sim.jsoncopy import json_copy
from labsupport.sim.kubelet import Kubelet
from labsupport.sim.naming import new_uid
from labsupport.sim.nodes import healthy_condition, node_object
from labsupport.sim.scheduler.kubescheduler import KubeScheduler
from labsupport.sim.scheduler.profile import Profile
from labsupport.sim.store import Store, WatchEvent
from labsupport.version import server_version
from labsupport.views import EventInfo, ViewList

__all__ = ["SimCluster"]

# kubelet --max-pods default
MAX_PODS = 110
# The largest cluster Kubernetes supports ("Considerations for large clusters",
# https://kubernetes.io/docs/setup/best-practices/cluster-large/).
MAX_NODES = 5000
# spec.replicas and the kubelet's maxPods are int32 in the API.
INT32_MAX = 2**31 - 1


def _profile(scheduler: Profile | dict | None, percentage_of_nodes_to_score: int | None,
             scoring_strategy: str | None) -> Profile:
    """The scheduler profile from ``scheduler=`` or the two shorthand options."""
    if scheduler is None:
        return Profile(scoring_strategy=scoring_strategy or "LeastAllocated",
                       percentage_of_nodes_to_score=percentage_of_nodes_to_score)
    given = [name for name, v in (("percentage_of_nodes_to_score", percentage_of_nodes_to_score),
                                  ("scoring_strategy", scoring_strategy)) if v is not None]
    if given:
        raise Invalid(f"give {', '.join(given)} inside scheduler=ls.SchedulerProfile(...), "
                      f"not next to it")
    if isinstance(scheduler, dict):
        return Profile(**scheduler)
    if not isinstance(scheduler, Profile):
        raise Invalid("scheduler must be an ls.SchedulerProfile, e.g. scheduler=ls."
                      'SchedulerProfile(scoring_strategy="MostAllocated"), or a dict of its '
                      f"arguments; got {type(scheduler).__name__} {scheduler!r:.60}")
    return scheduler


class SimCluster(ServingMixin, DataPlaneMixin, SimExtrasMixin, Cluster):
    """A simulated Kubernetes cluster.

    Args:
        nodes: how many worker nodes (named node-1, node-2, ...).
        node_cpu: CPU of each node, a quantity such as ``"4"`` or ``"3500m"``.
        node_memory: memory of each node, such as ``"8Gi"``.
        seed: the random seed; the same seed gives the same run.
        max_pods: pods per node (kubelet's --max-pods, 110 by default).
        node_monitor_grace_period: seconds of silence before a node is
            marked Unknown (50 s, as in Kubernetes v1.37). A lesson that
            shortens it must say so on screen.
        percentage_of_nodes_to_score: the scheduler's setting (None: adaptive).
        scoring_strategy: ``"LeastAllocated"`` (default), ``"MostAllocated"``
            or ``"RequestedToCapacityRatio"``.
        scheduler: the scheduler's profile: a :class:`~labsupport.SchedulerProfile`
            (plugins disabled or added, weights, scoring strategy), or the same
            as a dict of its arguments; instead of the two options above.
        proxy_mode: kube-proxy's mode: ``"iptables"`` (default), ``"nftables"``,
            ``"ipvs"`` (round robin), ``"ipvs-lc"`` (least connection).
        feature_gates: gates to turn on or off, such as ``{"HPAGeneration": True}``;
            the others keep their Kubernetes 1.37 defaults
            (:data:`labsupport.featuregates.DEFAULTS`).
    """

    backend = "sim"

    def __init__(
        self,
        nodes: int = 3,
        node_cpu: str | int | float = "4",
        node_memory: str | int = "8Gi",
        seed: int = 0,
        *,
        max_pods: int = MAX_PODS,
        node_monitor_grace_period: float = NODE_MONITOR_GRACE_PERIOD,
        percentage_of_nodes_to_score: int | None = None,
        scoring_strategy: str | None = None,
        scheduler: Profile | dict | None = None,
        proxy_mode: str = "iptables",
        feature_gates: dict[str, bool] | None = None,
    ) -> None:
        nodes = arguments.count(nodes, "nodes", maximum=MAX_NODES)
        arguments.cpu(node_cpu, "node_cpu")
        arguments.memory(node_memory, "node_memory")
        seed = arguments.count(seed, "seed", minimum=None)
        max_pods = arguments.count(max_pods, "max_pods", maximum=INT32_MAX)
        arguments.seconds(node_monitor_grace_period, "node_monitor_grace_period", positive=True)
        if scoring_strategy is not None:
            arguments.text(scoring_strategy, "scoring_strategy", example="LeastAllocated")
        profile = _profile(scheduler, percentage_of_nodes_to_score, scoring_strategy)
        arguments.text(proxy_mode, "proxy_mode", example="iptables")
        #: The feature gates of this cluster: name -> on (1.37 defaults unless set).
        self.feature_gates = resolve_gates(feature_gates)
        self.seed = seed
        self.rng = random.Random(seed)
        self.env = simpy.Environment()
        self.store = Store()
        self.event_log = EventLog()
        self.api = APIServer(self.env, self.store, self.event_log, self.rng,
                             self.feature_gates)
        self.uids: dict[str, str] = {}
        # Indexes keep insertion order (dicts, not sets): iteration must not
        # depend on string hashing, or the same seed would not give the same run.
        self._by_owner: dict[str, dict[str, None]] = {}
        self._on_node: dict[str, dict[str, None]] = {}
        self.kubelets: dict[str, Kubelet] = {}
        #: kube-scheduler: its profile, node table, queue and decisions.
        self.scheduler = KubeScheduler(self, profile)
        self.replicasets = ReplicaSetController(self)
        self.deployments = DeploymentController(self)
        self.endpoints = EndpointsController(self)
        self.gc = GarbageCollector(self)
        self.node_lifecycle = NodeLifecycleController(self, node_monitor_grace_period)
        self.volumes = VolumeBinder(self)
        self.hpa = HorizontalPodAutoscalerController(self)
        self.statefulsets = StatefulSetController(self)
        self.daemonsets = DaemonSetController(self)
        self.jobs = JobController(self)
        self.cronjobs = CronJobController(self)
        self.quotas = ResourceQuotaController(self)
        #: The disruption controller: PodDisruptionBudget status (it watches the store).
        self.disruption = DisruptionController(self)
        self.replication = ReplicationManager(self)
        self.endpointslices = EndpointSliceController(self)
        #: Mirrors hand-written Endpoints of selector-less Services into EndpointSlices.
        self.endpointslice_mirroring = EndpointSliceMirroringController(self)
        #: The taint eviction controller: pods leave nodes with NoExecute taints.
        self.taint_eviction = TaintEvictionController(self)
        #: The controllers that hear store events, routed by the kinds each
        #: declares (``kind``, ``watches``, ``owns``); the order is the order
        #: in which one event reaches them.
        self.controllers = (self.replicasets, self.replication, self.deployments,
                            self.statefulsets, self.daemonsets, self.jobs, self.cronjobs,
                            self.endpoints, self.endpointslices,
                            self.endpointslice_mirroring, self.hpa,
                            self.taint_eviction)
        self._own_routes, self._owned_routes, self._other_routes = routes(self.controllers)
        self.max_pods = max_pods
        self._init_dataplane(proxy_mode)  # watches the store before the controllers do
        self.store.watch("/registry/", self._dispatch)
        for ns in SYSTEM_NAMESPACES:
            self.api.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                component="kube-apiserver",
            )
        self.api.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": "10.96.0.1",
                    "ports": [{"name": "https", "port": 443, "targetPort": 6443}],
                },
            },
            component="kube-apiserver",
        )
        self.api.create(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "standard",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "rancher.io/local-path",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
            },
            component="kube-apiserver",
        )
        # The API server's post-start hook makes the two system PriorityClasses.
        # Their uids come from a generator of their own, so that the names and
        # uids the cluster's rng gives every later object stay what they were.
        rng_state, own = self.rng.getstate(), random.Random(f"priorityclasses-{seed}")
        for pc in system_priority_classes():
            self.api.create(pc, component="kube-apiserver")["metadata"]["uid"] = new_uid(own)
        self.rng.setstate(rng_state)
        for _ in range(nodes):
            self.add_node(cpu=node_cpu, memory=node_memory)
        self._closed = False

    # --- nodes ----------------------------------------------------------------------
    def _node_condition(self, type_: str, now: str) -> dict:
        """A healthy node condition as the kubelet reports it."""
        return healthy_condition(type_, now)

    def add_node(
        self,
        name: str | None = None,
        *,
        cpu: str | int | float = "4",
        memory: str | int = "8Gi",
        labels: dict | None = None,
        taints: list[dict] | None = None,
        extended: dict | None = None,
    ) -> str:
        """Add a worker node; return its name.

        ``extended`` gives the node extended resources, as a device plugin
        advertises them in ``status.capacity`` and ``status.allocatable``
        (e.g. ``{"nvidia.com/gpu": 2}``); pods request them in whole units.

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(nodes=0)
            >>> c.add_node(cpu="2", memory="4Gi", labels={"disktype": "ssd"})
            'node-1'
            >>> c.add_node("gpu-1", extended={"nvidia.com/gpu": 2})
            'gpu-1'
            >>> c.get("node/gpu-1")["status"]["allocatable"]["nvidia.com/gpu"]
            '2'
        """
        if name is not None:
            arguments.text(name, "name", example="node-4")
        arguments.cpu(cpu, "cpu")
        arguments.memory(memory, "memory")
        index = len(self.kubelets) + 1
        name = name or f"node-{index}"
        if name in self.kubelets:
            raise Invalid(f'a node named "{name}" already exists')
        node = node_object(name, index, cpu=cpu, memory=memory, max_pods=self.max_pods,
                           labels=labels, taints=taints, now=stamp(self.env.now),
                           extended=extended)
        self.kubelets[name] = Kubelet(self, name, index)
        self.api.create(node, component="kubelet")
        self.api.create(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name, "namespace": "kube-node-lease"},
                "spec": {
                    "holderIdentity": name,
                    "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                    # A MicroTime, as the kubelet's lease controller writes it
                    # (component-helpers/apimachinery/lease/controller.go, newLease);
                    # it sets no acquireTime.
                    "renewTime": micro_stamp(self.env.now),
                },
            },
            component="kubelet",
        )
        self.node_lifecycle.lease_phase(name)
        return name

    def _node(self, name: str) -> Kubelet:
        return self.kubelets[arguments.node(name, self.kubelets)]

    # --- indexes (what informers give real controllers) --------------------------------
    def _dispatch(self, ev: WatchEvent) -> None:
        obj = ev.object
        meta = obj["metadata"]
        uid = meta.get("uid")
        key = ev.key
        if ev.type == "DELETED":
            self.uids.pop(uid, None)
        elif ev.type == "ADDED":
            self.uids[uid] = key
        refs = meta.get("ownerReferences")
        if refs and (ev.old is None or ev.old["metadata"].get("ownerReferences") is not refs):
            for ref in refs:
                owners = self._by_owner.setdefault(ref.get("uid"), {})
                if ev.type == "DELETED":
                    owners.pop(key, None)
                else:
                    owners[key] = None
        kind = obj["kind"]
        if kind == "Pod":
            self._pod_event(ev)
        elif kind == "Node":
            self.scheduler.on_node(ev)
        elif kind == "CustomResourceDefinition":
            self.api.register_crd(obj, present=ev.type != "DELETED")
        elif kind == "PersistentVolumeClaim" and ev.type == "ADDED":
            self.volumes.claim_created(obj)
        self._route(ev, kind, refs)
        if kind == "Pod" and ev.type == "DELETED":
            self.volumes.forget_pod(obj)
        # The garbage collector's graph builder hears every change (controllers/gc.py).
        self.gc.observe(ev)

    def _pod_event(self, ev: WatchEvent) -> None:
        pod = ev.object
        key = ev.key
        deleted = ev.type == "DELETED"
        node = pod["spec"].get("nodeName")
        if node:
            on = self._on_node.get(node)
            if on is None:
                on = self._on_node[node] = {}
            if deleted:
                on.pop(key, None)
            else:
                on[key] = None
        self.scheduler.on_pod(ev)
        if node:
            kubelet = self.kubelets.get(node)
            if kubelet is not None:
                kubelet.handle(pod, deleted, key)

    def _route(self, ev: WatchEvent, kind: str, refs: list | None) -> None:
        """Hand a store event to the controllers that declared they watch its kind.

        In order: the controllers reconciling the kind (``changed``), the one
        controlling the object (``owned_changed``), then the others watching
        it (``watched``); see :class:`~labsupport.sim.controllers.base.SimController`.
        """
        for ctl in self._own_routes.get(kind, ()):
            ctl.changed(ev)
        owner = _controller_ref(ev.object) if refs else None
        if owner is not None:
            for ctl in self._owned_routes.get((kind, owner.get("kind")), ()):
                ctl.owned_changed(ev, owner)
        for ctl in self._other_routes.get(kind, ()):
            ctl.watched(ev, owner)

    def _owned(self, uid: str, controller_only: bool = True) -> list[dict]:
        """Objects whose ownerReferences name ``uid`` (read-only, for controllers)."""
        out = []
        for key in list(self._by_owner.get(uid, ())):
            obj = self.store.peek(key)
            if obj is None:
                continue
            if controller_only and controller_uid(obj) != uid:
                continue
            out.append(obj)
        return out

    def _pods_on(self, node: str) -> list[dict]:
        """The pods bound to ``node`` (read-only)."""
        return [p for k in list(self._on_node.get(node, ())) if (p := self.store.peek(k))]

    def _pvc_bound(self, namespace: str, claim: str) -> bool:
        """Whether a PersistentVolumeClaim is Bound (the kubelet waits for it)."""
        return self.volumes.bound(namespace, claim)

    def _resource_type(self, name: str):
        """A built-in type by any of its names, or a custom resource's."""
        try:
            return resource_type(name)
        except Invalid:
            low = name.lower()
            for rt in self.api.custom_types.values():
                if low in (rt.kind.lower(), rt.plural, *rt.short_names):
                    return rt
            raise

    def _parse_ref(self, ref: str):
        """Like :func:`labsupport.kinds.parse_ref`, custom resources included."""
        if not isinstance(ref, str) or ref.count("/") != 1 or not ref.partition("/")[2]:
            parse_ref(ref)  # raises the clear error about the form
        type_name, _, name = ref.partition("/")
        return self._resource_type(type_name), name

    # --- the contract ----------------------------------------------------------------
    @property
    def now(self) -> float:
        """Virtual seconds since the cluster started."""
        return self.env.now

    def _start_time(self) -> float:
        return EPOCH

    def server_version(self) -> dict[str, str]:
        """The simulated API server's ``/version``: the release the course teaches.

        Example:
            >>> import labsupport as ls
            >>> ls.connect("sim").server_version()["gitVersion"]
            'v1.37.0'
        """
        return server_version()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass.

        Raises:
            Invalid: ``seconds`` is negative, not a number, NaN or infinite.
        """
        if isinstance(seconds, (int, float)) and seconds < 0:
            raise Invalid(f"cannot go back in time: advance({seconds}) needs zero or more seconds")
        step = arguments.seconds(seconds, "seconds")
        until = self.env.now + (seconds if isinstance(seconds, int) else step)
        if until > self.env.now:  # a step too small to move the clock is no step
            with paused_gc():
                self.env.run(until=until)

    def apply(self, source: Source, namespace: str = "default") -> list[str]:
        """Create or update objects, like ``kubectl apply -f``; see :meth:`Cluster.apply`."""
        from labsupport.manifests import load
        from labsupport.sim.workloads import validate_annotations

        arguments.namespace(namespace)
        custom = {(rt.group, kind) for kind, rt in self.api.custom_types.items()}
        objs = load(source, namespace=namespace, custom_kinds=custom)
        for i, obj in enumerate(objs, 1):
            # The simulator's own annotations are checked before anything is applied.
            try:
                validate_annotations(obj)
            except InvalidManifest as err:
                raise err.located(document=i if len(objs) > 1 else None) from None
        objs.sort(key=lambda o: 0 if o.get("kind") == "Namespace" else 1)
        refs = []
        for obj in objs:
            rt = self.api.type_of(obj["kind"], obj.get("apiVersion"))
            _warn_if_deprecated(obj.get("apiVersion", rt.api_version), rt.kind)
            if not rt.namespaced:
                obj.get("metadata", {}).pop("namespace", None)
            meta = obj.setdefault("metadata", {})
            if rt.namespaced:
                meta.setdefault("namespace", namespace)
            current = self.store.peek(self.api.key_of(obj)) if meta.get("name") else None
            if current is None:
                stored = self.api.create(obj, component="kubectl")
            else:
                stored = self.api.update(_merge_for_apply(current, obj), component="kubectl")
            refs.append(f"{rt.singular}/{stored['metadata']['name']}")
        return refs

    def get(self, ref: str, namespace: str = "default") -> dict:
        """One object as the API shows it; see :meth:`Cluster.get`."""
        rt, name = self._parse_ref(ref)
        arguments.namespace(namespace)
        _warn_if_deprecated(rt.api_version, rt.kind)
        obj = self.api.get(rt, namespace, name)
        if obj is None:
            raise ObjectNotFound(rt.singular, name, namespace if rt.namespaced else None)
        obj = json_copy(obj)
        if rt.kind == "Lease" and namespace == "kube-node-lease" and name in self.kubelets:
            obj["spec"]["renewTime"] = micro_stamp(self.node_lifecycle.last_renewal(name))
        return obj

    def list(
        self, resource: str, namespace: str | None = None, selector: str | None = None
    ) -> list[dict]:
        """Objects of one type; see :meth:`Cluster.list`."""
        rt = self._resource_type(arguments.text(resource, "resource", example="pods"))
        arguments.namespace(namespace, all_allowed=True)
        arguments.selector(selector)
        _warn_if_deprecated(rt.api_version, rt.kind)
        sel = Selector.parse(selector)
        if rt.kind == "Event":
            return [
                e
                for e in self.event_log.objects(namespace)
                if sel.matches(e["metadata"].get("labels"))
            ]
        with paused_gc():  # a copy per object: see sim/gcpolicy.py
            return [json_copy(o) for o in self.api.list(rt, namespace, sel)]

    def delete(self, ref: str, namespace: str = "default", *,
               propagation_policy: str = "Background", grace_period: int | None = None,
               force: bool = False, wait: bool = False) -> None:
        """Delete an object, like ``kubectl delete``; see :meth:`Cluster.delete`.

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(nodes=1, seed=0)
            >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
            >>> c.advance(5); c.delete("pod/p"); c.pods()
            [<Pod p Terminating ready on node-1>]
            >>> c.advance(1); c.pods()
            []
        """
        from labsupport.deleteoptions import delete_options

        rt, name = self._parse_ref(ref)
        arguments.namespace(namespace)
        options = delete_options(propagation_policy, grace_period, force)
        if not isinstance(wait, bool):
            raise Invalid(f"wait must be True or False, got {wait!r}")
        obj = self.api.delete(rt, namespace, name, grace=options.get("gracePeriodSeconds"),
                              propagation_policy=options["propagationPolicy"])
        if wait:
            self._wait_deleted(ref, namespace, obj["metadata"].get("uid"))

    def scale(self, ref: str, replicas: int, namespace: str = "default") -> None:
        """Set ``spec.replicas``, like ``kubectl scale``.

        Raises:
            Invalid: a negative count, or a kind that has no replicas.
        """
        rt, name = self._parse_ref(ref)
        if rt.kind not in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"):
            raise Invalid(
                f"{rt.kind} cannot be scaled; scale a Deployment, ReplicaSet or StatefulSet"
            )
        replicas = arguments.count(replicas, "replicas", maximum=INT32_MAX)
        arguments.namespace(namespace)
        obj = self.api.get(rt, namespace, name)
        if obj is None:
            raise ObjectNotFound(rt.singular, name, namespace)
        self.api.patch(obj, "kubectl", spec=dict(obj["spec"], replicas=replicas))

    def patch(self, ref: str, patch, namespace: str = "default",
              type: str = "strategic") -> dict:  # noqa: A002 - kubectl's --type
        """Patch an object, like ``kubectl patch --type``; see :meth:`Cluster.patch`.

        The patch is applied by :mod:`labsupport.patching`, the result checked
        as the API server checks an update (schema, fields fixed at creation,
        a stale ``metadata.resourceVersion``: ``Conflict``).

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(nodes=1, seed=0)
            >>> _ = c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"},
            ...              "data": {"a": "1", "b": "2"}})
            >>> c.patch("configmap/s", {"data": {"a": None, "c": "3"}}, type="merge")["data"]
            {'b': '2', 'c': '3'}
        """
        from labsupport.manifests import load
        from labsupport.patching import apply_patch

        rt, name = self._parse_ref(ref)
        arguments.namespace(namespace)
        obj = self.api.get(rt, namespace, name)
        if obj is None:
            raise ObjectNotFound(rt.singular, name, namespace if rt.namespaced else None)
        custom = rt.kind in self.api.custom_types
        new = apply_patch(json_copy(obj), patch, type, custom=custom)
        if not isinstance(new, dict):
            raise Invalid(f"the patch left no object to store: {new!r:.60}")
        kinds = {(t.group, k) for k, t in self.api.custom_types.items()}
        load(json_copy(new), custom_kinds=kinds)  # the schema, as the API server checks it
        stored = self.api.update(new, component="kubectl")
        return json_copy(stored)

    def evict(self, pod: str, namespace: str = "default") -> None:
        """Evict a pod through the Eviction API (see :mod:`labsupport.sim.eviction`)."""
        from labsupport.sim.eviction import evict

        name = pod.split("/", 1)[1] if pod.startswith(("pod/", "pods/")) else pod
        arguments.text(name, "pod", example="web-7f9c-x2")
        arguments.namespace(namespace)
        evict(self.api, name, namespace)

    def logs(self, pod: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None, previous: bool = False) -> str:
        """A container's log, as ``kubectl logs`` prints it (see :mod:`labsupport.sim.logs`).

        Example:
            >>> import labsupport as ls
            >>> c = ls.connect(nodes=1, seed=0)
            >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            ...              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
            >>> c.advance(5)
            >>> print(c.logs("web", tail=2), end="")
            2025/01/01 00:00:02 [notice] 1#1: start worker processes
            2025/01/01 00:00:02 [notice] 1#1: start worker process 29
        """
        from labsupport.sim.logs import read_log

        return read_log(self, pod, namespace, container, tail, previous)

    def kill_pod(self, name: str, namespace: str = "default") -> None:
        """Remove a pod at once (``kubectl delete pod --grace-period=0 --force``)."""
        arguments.text(name, "name", example="web-7f9c-x2")
        arguments.namespace(namespace)
        self.api.delete(type_for_kind("Pod"), namespace, name, grace=0)

    def fail_node(self, name: str) -> None:
        """The node goes silent: its kubelet stops reporting and renewing its Lease."""
        kubelet = self._node(name)
        self._dataplane_node_failed(name)
        if not kubelet.alive:
            return
        kubelet.fail()
        self.node_lifecycle.node_silent(name)

    def restore_node(self, name: str) -> None:
        """The node's kubelet comes back and reports again."""
        kubelet = self._node(name)
        if not self._dataplane_node_restored(name):
            return  # still cut off by a partition
        if kubelet.alive:
            return
        kubelet.restore()
        self.node_lifecycle.node_back(name)

    def _raw_events(self, namespace: str | None) -> list[dict]:
        return list(self.event_log.objects(namespace))

    def events(self, namespace: str | None = None) -> ViewList:
        """Events with their exact virtual times, oldest first."""
        arguments.namespace(namespace, all_allowed=True)
        rows = []
        for r in self.event_log.rows():
            first, last, type_, reason, kind, ns, name, message, component, count = r[:10]
            if namespace is not None and ns != namespace:
                continue
            rows.append(
                EventInfo(
                    time=round(last, 3),
                    type=type_,
                    reason=reason,
                    object=f"{kind.lower()}/{name}",
                    message=message,
                    component=component,
                    count=count,
                    namespace=ns or "default",
                )
            )
        rows.sort(key=lambda e: e.time)
        return ViewList(rows)

    def close(self) -> None:
        """Free the simulation's state (and stop serving its API, if served)."""
        self.stop_serving()
        self._closed = True

    def __repr__(self) -> str:
        return (
            f"<SimCluster nodes={len(self.kubelets)} seed={self.seed} "
            f"t={self.env.now:g}s revision={self.store.revision}>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<p>SimCluster: {len(self.kubelets)} nodes, seed {self.seed}, "
            f"t = {self.env.now:g} s</p>" + self.nodes()._repr_html_()
        )


def _controller_ref(obj: dict) -> dict | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def _merge_for_apply(current: dict, applied: dict) -> dict:
    """What ``kubectl apply`` leaves: the applied fields over the live object.

    Labels and annotations written by others (e.g. the revision annotation)
    are kept; ``spec.replicas`` left out of the manifest keeps its live value
    (so an autoscaler's choice survives a re-apply).
    """
    new = json_copy(applied)
    meta = new["metadata"]
    cur_meta = current["metadata"]
    for field in ("labels", "annotations"):
        merged = dict(cur_meta.get(field) or {})
        merged.update(meta.get(field) or {})
        if merged:
            meta[field] = merged
    for field in ("ownerReferences", "finalizers"):
        if field in cur_meta and field not in meta:
            meta[field] = cur_meta[field]
    spec = new.get("spec")
    if (
        isinstance(spec, dict)
        and "replicas" not in spec
        and "replicas" in (current.get("spec") or {})
    ):
        spec["replicas"] = current["spec"]["replicas"]
    if new.get("kind") == "Pod" and isinstance(spec, dict):
        # The scheduler set spec.nodeName, not the manifest: apply leaves it (and
        # the API server would refuse to change it on a bound pod).
        node = (current.get("spec") or {}).get("nodeName")
        if node and "nodeName" not in spec:
            spec["nodeName"] = node
    if new.get("kind") == "PersistentVolumeClaim" and isinstance(spec, dict):
        # The binder set spec.volumeName: apply leaves it, as for a pod's nodeName.
        volume = (current.get("spec") or {}).get("volumeName")
        if volume and "volumeName" not in spec:
            spec["volumeName"] = volume
    if new.get("kind") == "Service":
        cur_spec = current.get("spec") or {}
        for field in ("clusterIP", "clusterIPs"):
            if field in cur_spec and field not in spec:
                spec[field] = cur_spec[field]
    return new


def _warn_if_deprecated(api_version: str, kind: str) -> None:
    """Warn as the API server does for a deprecated type (the caller's line is shown)."""
    text = deprecation_of(api_version, kind)
    if text is not None:
        warn(text, stacklevel=4)
