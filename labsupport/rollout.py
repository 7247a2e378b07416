"""When is a rollout finished? kubectl's rule, shared by both backends.

``kubectl rollout status`` (kubectl/pkg/polymorphichelpers/rollout_status.go)
calls a Deployment rolled out when the controller has seen the latest spec
(``status.observedGeneration >= metadata.generation``) and every replica is
updated and available with no old replica left:
``updatedReplicas == replicas == availableReplicas``. The messages below are
the ones kubectl prints while it waits.

Example:
    >>> from labsupport.rollout import rollout_status
    >>> dep = {"kind": "Deployment", "metadata": {"name": "web", "generation": 2},
    ...        "spec": {"replicas": 3},
    ...        "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3,
    ...                   "availableReplicas": 3}}
    >>> done, message = rollout_status(dep)
    >>> done, message.split(": ")[1]
    (False, '1 old replicas are pending termination...')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from labsupport.errors import Invalid, _with_reasons
from labsupport.selectors import Selector
from labsupport.views import PodInfo

__all__ = ["rollout_status", "RolloutFailed", "WaitReason", "wait_reasons"]


class RolloutFailed(Invalid):
    """The Deployment exceeded its progress deadline (ProgressDeadlineExceeded).

    Args:
        message: kubectl's words for the failure.
        reasons: the :class:`WaitReason` of each pod that kept it from finishing.
    """

    def __init__(self, message: str, reasons: tuple = ()) -> None:
        self.problem = message
        self.reasons = tuple(reasons)
        super().__init__(message + _with_reasons(self.reasons))


@dataclass(frozen=True)
class WaitReason:
    """Why one pod (or its owner) keeps a wait from finishing.

    Attributes:
        object: ``"pod/web-7f9c-x2"``, or the ReplicaSet that cannot create pods.
        namespace: its namespace.
        status: what kubectl's STATUS column shows, e.g. ``"Pending"``.
        reason: the reason of its latest Warning event (``"FailedScheduling"``,
            ``"BackOff"``, ``"Failed"``, ``"Unhealthy"``), ``""`` when none.
        message: that event's message.
        more: the call that explains more, e.g. ``'c.explain_scheduling("pod/web-7f9c-x2")'``.

    Example:
        >>> print(WaitReason("pod/web-1", "default", "Pending", "FailedScheduling",
        ...                  "0/3 nodes are available: 3 Insufficient cpu.", "c.events()"))
        pod/web-1 Pending: FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu. More: c.events()
    """  # noqa: E501

    object: str
    namespace: str
    status: str
    reason: str
    message: str
    more: str

    def __str__(self) -> str:
        if self.reason:
            why = f"{self.reason}: {self.message.rstrip()}"
        else:
            why = "no warning event yet"
        if not why.endswith("."):
            why += "."
        status = f" {self.status}" if self.status else ""
        return f"{self.object}{status}: {why} More: {self.more}"


def wait_reasons(workload: dict | None, pods: Iterable[dict], events: Iterable,
                 more: Callable[[str, str, str], str], owners: Iterable[dict] = ()
                 ) -> tuple[WaitReason, ...]:
    """The pods of ``workload`` that are not ready, each with its latest Warning event.

    Args:
        workload: a Deployment, StatefulSet or DaemonSet; None for every pod given.
        pods: Pod dicts to look at (those the workload selects are kept).
        events: :class:`~labsupport.views.EventInfo` views, oldest first.
        more: ``more(object, namespace, reason)`` gives the call that explains more.
        owners: the workload and its ReplicaSets: their Warning events count
            too (a quota that refuses new pods).

    Example:
        >>> from labsupport.views import EventInfo
        >>> pod = {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "default",
        ...        "labels": {"app": "web"}}, "status": {"phase": "Pending"}}
        >>> ev = EventInfo(1.0, "Warning", "FailedScheduling", "pod/web-1",
        ...                "0/1 nodes are available: 1 Insufficient cpu.", "default-scheduler")
        >>> dep = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        ...        "spec": {"selector": {"matchLabels": {"app": "web"}}}}
        >>> [r.reason for r in wait_reasons(dep, [pod], [ev], lambda o, ns, r: "c.events()")]
        ['FailedScheduling']
    """
    namespace = None
    selected = Selector()
    if workload is not None:
        namespace = (workload.get("metadata") or {}).get("namespace", "default")
        selected = Selector.from_label_selector((workload.get("spec") or {}).get("selector"))
    latest = {}
    for event in events:
        if event.type == "Warning":
            latest[(event.namespace, event.object)] = event
    out = []
    for owner in owners:
        meta = owner.get("metadata") or {}
        ref = f"{str(owner.get('kind', '')).lower()}/{meta.get('name')}"
        event = latest.get((meta.get("namespace", "default"), ref))
        if event is not None:
            out.append(WaitReason(ref, event.namespace, "", event.reason, event.message,
                                  more(ref, event.namespace, event.reason)))
    for pod in pods:
        meta = pod.get("metadata") or {}
        if namespace is not None and meta.get("namespace", "default") != namespace:
            continue
        if meta.get("deletionTimestamp") or not selected.matches(meta.get("labels")):
            continue
        view = PodInfo.from_object(pod)
        if view.ready or view.phase in ("Succeeded", "Failed"):
            continue
        ref = f"pod/{view.name}"
        event = latest.get((view.namespace, ref))
        reason, message = (event.reason, event.message) if event is not None else ("", "")
        out.append(WaitReason(ref, view.namespace, view.status or view.phase, reason, message,
                              more(ref, view.namespace, reason)))
    return tuple(out)


def rollout_status(obj: dict) -> tuple[bool, str]:
    """Return ``(done, message)`` for a Deployment, StatefulSet or DaemonSet.

    Raises:
        RolloutFailed: the Deployment's Progressing condition says
            ProgressDeadlineExceeded, as kubectl reports it.
        Invalid: the object is of a kind that has no rollout.
    """
    kind = obj.get("kind")
    name = (obj.get("metadata") or {}).get("name", "")
    gen = (obj.get("metadata") or {}).get("generation", 0) or 0
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    if kind == "Deployment":
        if gen > (st.get("observedGeneration") or 0):
            return False, "Waiting for deployment spec update to be observed..."
        for cond in st.get("conditions") or ():
            if (
                cond.get("type") == "Progressing"
                and cond.get("reason") == "ProgressDeadlineExceeded"
            ):
                raise RolloutFailed(f'deployment "{name}" exceeded its progress deadline')
        want = spec.get("replicas", 1)
        updated = st.get("updatedReplicas") or 0
        replicas = st.get("replicas") or 0
        available = st.get("availableReplicas") or 0
        prefix = f'Waiting for deployment "{name}" rollout to finish: '
        if updated < want:
            return False, f"{prefix}{updated} out of {want} new replicas have been updated..."
        if replicas > updated:
            return False, f"{prefix}{replicas - updated} old replicas are pending termination..."
        if available < updated:
            return False, f"{prefix}{available} of {updated} updated replicas are available..."
        return True, f'deployment "{name}" successfully rolled out'
    if kind == "StatefulSet":
        if gen > (st.get("observedGeneration") or 0):
            return False, "Waiting for statefulset spec update to be observed..."
        want = spec.get("replicas", 1)
        ready = st.get("readyReplicas") or 0
        if ready < want:
            return False, f"Waiting for {want - ready} pods to be ready..."
        if st.get("updateRevision") and st.get("currentRevision") != st.get("updateRevision"):
            return False, "waiting for statefulset rolling update to complete..."
        return (
            True,
            f"statefulset rolling update complete {ready} pods at revision "
            f"{st.get('currentRevision', '')}...",
        )
    if kind == "DaemonSet":
        if gen > (st.get("observedGeneration") or 0):
            return False, "Waiting for daemon set spec update to be observed..."
        want = st.get("desiredNumberScheduled") or 0
        updated = st.get("updatedNumberScheduled") or 0
        available = st.get("numberAvailable") or 0
        if updated < want:
            return False, (
                f'Waiting for daemon set "{name}" rollout to finish: {updated} out '
                f"of {want} new pods have been updated..."
            )
        if available < want:
            return False, (
                f'Waiting for daemon set "{name}" rollout to finish: {available} of '
                f"{want} updated pods are available..."
            )
        return True, f'daemon set "{name}" successfully rolled out'
    raise Invalid(f"{kind} has no rollout; use a Deployment, StatefulSet or DaemonSet")
