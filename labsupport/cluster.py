"""The Cluster contract that the simulated and the real backends both keep.

A lesson talks to a cluster only through these methods, so the same notebook
runs on the simulator and on kind. Objects go in and come out as plain dicts
in the exact shape of the Kubernetes API.

Backends implement the abstract methods; this base class builds the rest on
top of them (views, waiting, the context manager), so both backends wait and
display in the same way.

Example:
    >>> import labsupport as ls
    >>> issubclass(ls.SimCluster, ls.Cluster)
    True
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

from labsupport import arguments
from labsupport.errors import LabSupportError, WaitTimeout
from labsupport.kinds import parse_ref
from labsupport.rollout import RolloutFailed, WaitReason, rollout_status, wait_reasons
from labsupport.views import EventInfo, NodeInfo, PodInfo, ViewList

__all__ = ["Cluster", "Source"]

#: What ``apply`` accepts: a path, YAML text, one object dict, or a list of them.
Source = Any


class Cluster(abc.ABC):
    """A Kubernetes cluster, simulated or real.

    Subclasses implement :meth:`apply`, :meth:`get`, :meth:`list`,
    :meth:`delete`, :meth:`scale`, :meth:`logs`, :meth:`advance`, :attr:`now`,
    :meth:`kill_pod`, :meth:`fail_node`, :meth:`restore_node` and
    :meth:`_raw_events`; the views and waits below come for free.
    """

    #: "sim", "kind" or "kubeconfig".
    backend: str = ""

    # --- objects -----------------------------------------------------------
    @abc.abstractmethod
    def apply(self, source: Source, namespace: str = "default") -> list[str]:
        """Create or update objects; return their references (``"deployment/web"``).

        Args:
            source: a file or folder path, YAML text (several documents
                allowed), one object dict, or a list of dicts.
            namespace: where objects without ``metadata.namespace`` go.

        Raises:
            InvalidManifest: an object is not valid; nothing was applied.
            Forbidden: admission refused an object (e.g. a ResourceQuota).
        """

    @abc.abstractmethod
    def get(self, ref: str, namespace: str = "default") -> dict:
        """Return one object as the API shows it (spec and status).

        Args:
            ref: ``"type/name"``; the type may be a kind, plural or short name.
            namespace: ignored for cluster-scoped types (nodes, namespaces).

        Raises:
            ObjectNotFound: no such object.
        """

    @abc.abstractmethod
    def list(self, resource: str, namespace: str | None = None,
             selector: str | None = None) -> list[dict]:
        """Return the objects of one type, sorted by namespace and name.

        Args:
            resource: a kind, plural or short name, e.g. ``"pods"``.
            namespace: one namespace, or None for all namespaces.
            selector: a label selector such as ``"app=web,tier!=db"``.
        """

    @abc.abstractmethod
    def delete(self, ref: str, namespace: str = "default", *,
               propagation_policy: str = "Background", grace_period: int | None = None,
               force: bool = False, wait: bool = False) -> None:
        """Delete an object, like ``kubectl delete`` (:mod:`labsupport.deleteoptions`).

        The API server may keep it a while: a pod terminates gracefully
        (``Terminating``, with a ``deletionTimestamp``), and an object with
        ``metadata.finalizers`` stays until the last one is removed.

        Args:
            ref: ``"kind/name"``, e.g. ``"deployment/web"``.
            namespace: its namespace.
            propagation_policy: what happens to the objects it owns
                (kubectl's ``--cascade``): ``"Background"`` (it goes at once,
                the garbage collector deletes them after), ``"Foreground"``
                (it stays until those with ``blockOwnerDeletion`` are gone)
                or ``"Orphan"`` (they stay, without the ownerReference).
            grace_period: seconds a pod has to stop (``--grace-period``);
                None: its ``terminationGracePeriodSeconds``; 0 means 1.
            force: remove it from the API at once (``--force``, grace period 0).
            wait: return only once it is gone (``--wait``; 300 s at most).

        Raises:
            ObjectNotFound: no such object.
            Invalid: an unknown policy, a bad grace period, or ``force``
                with a grace period above 0.
            WaitTimeout: ``wait`` and it was still there after 300 s.
        """

    def _wait_deleted(self, ref: str, namespace: str, uid: str | None,
                      timeout: float = 300) -> None:
        """Wait until the object ``ref`` with ``uid`` is gone (kubectl delete ``--wait``)."""
        from labsupport.errors import ObjectNotFound

        def gone(c: Cluster) -> bool:
            try:
                now = c.get(ref, namespace=namespace)["metadata"].get("uid")
                return uid is not None and now != uid  # a new object of the same name
            except ObjectNotFound:
                return True

        self._wait(gone, timeout, f"{ref} to be deleted")

    @abc.abstractmethod
    def scale(self, ref: str, replicas: int, namespace: str = "default") -> None:
        """Set ``spec.replicas`` of a Deployment, ReplicaSet or StatefulSet."""

    @abc.abstractmethod
    def server_version(self) -> dict[str, str]:
        """What the API server says it is (``/version``, as ``kubectl version`` shows).

        The keys are Kubernetes' own (``major``, ``minor``, ``gitVersion``,
        ...). The course teaches :data:`labsupport.version.KUBERNETES_VERSION`;
        a real cluster of another release answers with its own.
        """

    @abc.abstractmethod
    def logs(self, pod: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None, previous: bool = False) -> str:
        """The log of one container of a pod, as ``kubectl logs`` prints it.

        Args:
            pod: the pod's name (or ``"pod/name"``).
            namespace: its namespace.
            container: which container; needed when the pod has several.
            tail: only the last ``tail`` lines (None: all).
            previous: the log of the previous instance of the container (the
                one that crashed), as ``kubectl logs --previous``.

        Raises:
            ObjectNotFound: no such pod.
            Invalid: Kubernetes refused: the pod has several containers and
                none was named, no previous instance, or the container is
                still waiting to start (its message is Kubernetes' own).
        """

    # --- patches and kubectl verbs (labsupport/patching.py, patchverbs.py) --
    def patch(self, ref: str, patch: Any, namespace: str = "default",
              type: str = "strategic") -> dict:  # noqa: A002 - kubectl's --type
        """Patch an object, as ``kubectl patch --type``; return the object after it.

        Args:
            ref: ``"type/name"``.
            patch: a dict (``"strategic"``, ``"merge"``) or a list of operations (``"json"``).
            namespace: ignored for cluster-scoped types.
            type: ``"strategic"`` (strategic merge patch, the default: lists of
                containers, ports, volumes... merge by their key), ``"merge"``
                (RFC 7386 JSON merge patch: lists are replaced, ``None`` deletes)
                or ``"json"`` (RFC 6902 operations on JSON pointers).

        Raises:
            ObjectNotFound: no such object.
            Conflict: the patch carries a ``metadata.resourceVersion`` that is not current.
            Invalid: a JSON patch operation that does not apply, or a strategic
                patch of a custom resource (they take ``merge`` and ``json``).
            InvalidManifest: the patched object is not valid.
        """
        raise NotImplementedError(f"{self.__class__.__name__} cannot patch")

    def evict(self, pod: str, namespace: str = "default") -> None:
        """Evict a pod through the Eviction API, which respects PodDisruptionBudgets.

        Raises:
            ObjectNotFound: no such pod.
            TooManyRequests: its PodDisruptionBudget allows no disruption now
                (429: "Cannot evict pod as it would violate the pod's disruption budget.").
        """
        raise NotImplementedError(f"{self.__class__.__name__} cannot evict")

    def label(self, ref: str, labels: dict | None = None, *, namespace: str = "default",
              overwrite: bool = False, **more: str | None) -> str:
        """Set or remove labels, as ``kubectl label``; return kubectl's line.

        ``c.label("pod/web", tier="front")``, ``c.label("node/node-1",
        {"disktype": "ssd"})``; a value of None removes the label. Changing an
        existing label needs ``overwrite=True``.

        Raises:
            Invalid: a label has another value and ``overwrite`` is False
                (kubectl's "'app' already has a value (web), and --overwrite is false").
        """
        from labsupport.patchverbs import verb_metadata

        return verb_metadata(self, ref, namespace, "labels", {**(labels or {}), **more},
                             overwrite)

    def annotate(self, ref: str, annotations: dict | None = None, *,
                 namespace: str = "default", overwrite: bool = False,
                 **more: str | None) -> str:
        """Set or remove annotations, as ``kubectl annotate``; see :meth:`label`."""
        from labsupport.patchverbs import verb_metadata

        return verb_metadata(self, ref, namespace, "annotations",
                             {**(annotations or {}), **more}, overwrite)

    def cordon(self, node: str) -> str:
        """Mark a node unschedulable (``kubectl cordon``); return kubectl's line."""
        from labsupport.patchverbs import set_unschedulable

        return set_unschedulable(self, node, True)

    def uncordon(self, node: str) -> str:
        """Let pods be scheduled on a node again (``kubectl uncordon``)."""
        from labsupport.patchverbs import set_unschedulable

        return set_unschedulable(self, node, False)

    def taint(self, node: str, *taints: str, overwrite: bool = False) -> str:
        """Add or remove taints, as ``kubectl taint nodes NODE ...``; return kubectl's line.

        ``c.taint("node-1", "dedicated=gpu:NoSchedule")`` adds one;
        ``c.taint("node-1", "dedicated:NoSchedule-")`` removes it (``"dedicated-"``
        removes every effect).

        Raises:
            Invalid: a spec kubectl refuses, a taint that exists (without
                ``overwrite``) or one to remove that is not there, in kubectl's words.
        """
        from labsupport.patchverbs import verb_taint

        return verb_taint(self, node, list(taints), overwrite)

    def drain(self, node: str, ignore_daemonsets: bool = True,
              delete_emptydir_data: bool = False, force: bool = False,
              timeout: float = 300) -> list[str]:
        """Cordon a node and evict its pods, as ``kubectl drain``; return kubectl's output lines.

        Pods are evicted through the Eviction API: one its PodDisruptionBudget
        protects is refused (429) and tried again every 5 s, until ``timeout``.

        Raises:
            Invalid: pods kubectl refuses to drain: without a controller (unless
                ``force``), of a DaemonSet (unless ``ignore_daemonsets``), with
                an emptyDir (unless ``delete_emptydir_data``); kubectl's texts.
            WaitTimeout: the pods were not gone within ``timeout``; its ``last``
                is kubectl's "There are pending pods in node ... when an error
                occurred: ... global timeout reached: ..." and its ``reasons``
                the pods left.
        """
        from labsupport.draining import drain

        return drain(self, node, ignore_daemonsets=ignore_daemonsets,
                     delete_emptydir_data=delete_emptydir_data, force=force, timeout=timeout)

    # --- time --------------------------------------------------------------
    @abc.abstractmethod
    def advance(self, seconds: float) -> None:
        """Let time pass: virtual time on the simulator, wall time on a real cluster."""

    @property
    @abc.abstractmethod
    def now(self) -> float:
        """Seconds since the cluster (or this connection) started."""

    # --- faults ------------------------------------------------------------
    @abc.abstractmethod
    def kill_pod(self, name: str, namespace: str = "default") -> None:
        """Kill a pod at once, as a crash would (no graceful termination)."""

    @abc.abstractmethod
    def fail_node(self, name: str) -> None:
        """Make a node go silent, as if it lost power or its network."""

    @abc.abstractmethod
    def restore_node(self, name: str) -> None:
        """Bring a failed node back."""

    @abc.abstractmethod
    def _raw_events(self, namespace: str | None) -> list[dict]:
        """Event objects of one namespace or all (backend hook for :meth:`events`)."""

    def _start_time(self) -> float:
        """Seconds since the epoch at which :attr:`now` was 0."""
        return 0.0

    def _more_about(self, obj: str, namespace: str, reason: str) -> str:
        """The call that tells more about why ``obj`` is not ready (backend hook)."""
        where = "" if namespace == "default" else f'"{namespace}"'
        return f"c.events({where})"

    # --- views -------------------------------------------------------------
    def pods(self, namespace: str | None = None, selector: str | None = None) -> ViewList:
        """The pods as :class:`PodInfo` views, sorted by namespace and name."""
        arguments.namespace(namespace, all_allowed=True)
        arguments.selector(selector)
        return ViewList(PodInfo.from_object(p) for p in self.list("pods", namespace, selector))

    def nodes(self) -> ViewList:
        """The nodes as :class:`NodeInfo` views with what their pods request."""
        pods = self.list("pods")
        return ViewList(NodeInfo.from_object(n, pods) for n in self.list("nodes"))

    def events(self, namespace: str | None = None) -> ViewList:
        """Events, oldest first, as :class:`EventInfo` views."""
        arguments.namespace(namespace, all_allowed=True)
        start = self._start_time()
        views = [EventInfo.from_object(e, start) for e in self._raw_events(namespace)]
        views.sort(key=lambda e: e.time)
        return ViewList(views)

    # --- waiting -----------------------------------------------------------
    #: How often waits look again, in (virtual or wall) seconds.
    poll_interval: float = 1.0

    def wait_until(self, condition: Callable[[Cluster], Any], timeout: float = 300,
                   what: str = "the condition") -> Any:
        """Let time pass until ``condition(cluster)`` is true; return its value.

        Args:
            condition: called with this cluster; truthy means done.
            timeout: seconds of cluster time to wait at most.
            what: words for the error message.

        Raises:
            WaitTimeout: the condition did not hold within ``timeout``; its
                message and ``reasons`` list the pods that are not ready.
            Invalid: ``condition`` is not a function, or ``timeout`` not a
                number of seconds.
        """
        arguments.function(condition, "condition", example="lambda c: len(c.pods()) == 3")
        arguments.seconds(timeout, "timeout")
        arguments.text(what, "what", example="3 pods")
        try:
            return self._wait(condition, timeout, what)
        except WaitTimeout as err:
            raise WaitTimeout(err.what, err.timeout, err.last, self._wait_reasons()) from None

    def _wait(self, condition: Callable[[Cluster], Any], timeout: float, what: str) -> Any:
        deadline = self.now + timeout
        while True:
            value = condition(self)
            if value:
                return value
            left = deadline - self.now
            if left <= 1e-9:
                raise WaitTimeout(what, timeout)
            self.advance(min(self.poll_interval, left))

    def _wait_reasons(self, ref: str | None = None,
                      namespace: str = "default") -> tuple[WaitReason, ...]:
        """The not-ready pods of workload ``ref`` (None: of the cluster), with their warnings."""
        try:
            workload = self.get(ref, namespace=namespace) if ref else None
            where = namespace if ref else None
            owners = []
            if workload is not None:
                owners.append(workload)
                if workload.get("kind") == "Deployment":
                    uid = workload["metadata"].get("uid")
                    owners += [rs for rs in self.list("replicasets", where) if any(
                        o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or ())]
            return wait_reasons(workload, self.list("pods", where), self.events(where),
                                self._more_about, owners)
        except LabSupportError:  # the diagnosis must not hide the timeout
            return ()

    def wait_for_rollout(self, ref: str, timeout: float = 300,
                         namespace: str = "default") -> str:
        """Wait until a rollout is complete, by kubectl's definition.

        Returns:
            kubectl's closing message, e.g. ``'deployment "web" successfully rolled out'``.

        Raises:
            WaitTimeout: not complete within ``timeout``; says what it waited on,
                and lists the pods that are not ready with their latest
                warning event (also as ``reasons``).
            RolloutFailed: the progress deadline was exceeded (with ``reasons`` too).
        """
        parse_ref(ref)
        arguments.seconds(timeout, "timeout")
        arguments.namespace(namespace)
        last = [""]

        def done(c: Cluster) -> str | None:
            ok, msg = rollout_status(c.get(ref, namespace=namespace))
            last[0] = msg
            return msg if ok else None

        try:
            return self._wait(done, timeout, what=f"rollout of {ref}")
        except WaitTimeout as err:
            reasons = self._wait_reasons(ref, namespace)
            raise WaitTimeout(err.what, err.timeout, last[0], reasons) from None
        except RolloutFailed as err:
            raise RolloutFailed(err.problem, self._wait_reasons(ref, namespace)) from None

    # --- lifetime ----------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Release what the connection holds (the simulator frees its state)."""

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
