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

from labsupport.errors import Invalid

__all__ = ["rollout_status", "RolloutFailed"]


class RolloutFailed(Invalid):
    """The Deployment exceeded its progress deadline (ProgressDeadlineExceeded)."""


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
