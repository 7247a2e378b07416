"""Small facts about pods that several controllers need.

Example:
    >>> from labsupport.sim.controllers.podutil import is_ready, is_active
    >>> pod = {"metadata": {}, "status": {"phase": "Running",
    ...        "conditions": [{"type": "Ready", "status": "True"}]}}
    >>> is_ready(pod), is_active(pod)
    (True, True)
"""

from __future__ import annotations

from labsupport.sim.clock import EPOCH
from labsupport.views import parse_time

__all__ = ["is_ready", "is_active", "ready_since", "is_available", "controller_uid",
           "controller_ref", "owner_reference", "compact_status"]


def _ready_condition(pod: dict) -> dict | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond
    return None


def is_ready(pod: dict) -> bool:
    """The pod's Ready condition is True."""
    cond = _ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def is_active(pod: dict) -> bool:
    """Not finished and not being deleted: counts towards a controller's replicas."""
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def ready_since(pod: dict) -> float | None:
    """Virtual time at which the pod last became Ready, or None."""
    cond = _ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    t = parse_time(cond.get("lastTransitionTime"))
    return None if t is None else t - EPOCH


def is_available(pod: dict, min_ready_seconds: float, now: float) -> bool:
    """Ready for at least ``minReadySeconds`` (Kubernetes' "available")."""
    since = ready_since(pod)
    return since is not None and now - since >= min_ready_seconds


def controller_uid(obj: dict) -> str | None:
    """The uid of the object's controller (its ownerReference with controller: true)."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("uid")
    return None


def controller_ref(obj: dict) -> dict | None:
    """The object's ownerReference with ``controller: true`` (metav1.GetControllerOf)."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: dict) -> dict:
    """An ownerReference to ``owner`` that makes it the controller."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def compact_status(status: dict, keep: tuple[str, ...] = ()) -> dict:
    """Drop zero counts, as the API omits empty optional fields (``omitempty``).

    Example:
        >>> compact_status({"replicas": 0, "readyReplicas": 0, "observedGeneration": 1},
        ...                keep=("replicas",))
        {'replicas': 0, 'observedGeneration': 1}
    """
    return {k: v for k, v in status.items() if v or k in keep}
