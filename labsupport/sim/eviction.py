"""The Eviction API (``pods/eviction``): a deletion that asks the pod's budget first.

``kubectl drain`` does not delete pods: it POSTs a policy/v1 ``Eviction`` to
each pod's ``eviction`` subresource, and the API server decides
(pkg/registry/core/pod/storage/eviction.go, ``EvictionREST.Create``):

1. A pod that is Pending, finished, or already being deleted goes at once
   (``canIgnorePDB``).
2. More than one PodDisruptionBudget selecting the pod: refused (500).
3. A pod that is not Ready goes without using up the budget when the PDB's
   ``unhealthyPodEvictionPolicy`` is ``AlwaysAllow``, or when the budget is
   met anyway (``currentHealthy >= desiredHealthy > 0``, the
   ``IfHealthyBudget`` default).
4. Otherwise ``checkAndDecrement``: a status not yet observed, or no
   ``disruptionsAllowed`` left, answers 429 Too Many Requests; else the
   budget is decremented and the pod written into ``status.disruptedPods``.
5. The pod gets the ``DisruptionTarget`` condition and is deleted gracefully.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    ...              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    >>> c.advance(5)
    >>> c.evict("web")
    >>> c.get("pod/web")["metadata"]["deletionGracePeriodSeconds"]
    30
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import Forbidden, Invalid, ObjectNotFound, TooManyRequests
from labsupport.kinds import type_for_kind
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.disruption import (
    pdbs_for_pod,
    update_disruption_allowed_condition,
)
from labsupport.sim.controllers.podutil import is_ready

if TYPE_CHECKING:
    from labsupport.sim.apiserver import APIServer

__all__ = ["evict", "VIOLATES_BUDGET", "MULTIPLE_BUDGETS", "MAX_DISRUPTED_POD_SIZE"]

_POD = type_for_kind("Pod")
#: eviction.go: the 429 message.
VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget."
#: eviction.go: the 500 message for a pod selected by several PDBs.
MULTIPLE_BUDGETS = ("This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.")
#: eviction.go MaxDisruptedPodSize.
MAX_DISRUPTED_POD_SIZE = 2000


def evict(api: APIServer, name: str, namespace: str, component: str = "kubectl") -> None:
    """Evict pod ``namespace/name`` as the eviction subresource does.

    Raises:
        ObjectNotFound: no such pod.
        TooManyRequests: its PodDisruptionBudget allows no disruption now (429).
        Invalid: several PodDisruptionBudgets select it (the server answers 500).
        Forbidden: the budget's status is broken (negative, too many pending evictions).
    """
    pod = api.get(_POD, namespace, name)
    if pod is None:
        raise ObjectNotFound("pod", name, namespace)
    if _can_ignore_pdb(pod):
        _delete(api, pod, component)
        return
    pdbs = pdbs_for_pod(api, pod)
    if len(pdbs) > 1:
        raise Invalid(f"the API server refused to evict pod {namespace}/{name}: "
                      f"{MULTIPLE_BUDGETS} Make one PodDisruptionBudget select it.")
    if pdbs:
        pdb = pdbs[0]
        if not _spends_budget(pod, pdb):
            _delete(api, pod, component)
            return
        _check_and_decrement(api, pdb, name)
    _delete(api, pod, component)


def _can_ignore_pdb(pod: dict) -> bool:
    """canIgnorePDB: the pod is Pending, finished, or already being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp"))


def _spends_budget(pod: dict, pdb: dict) -> bool:
    """False for an unready pod the PDB lets go for free (unhealthyPodEvictionPolicy)."""
    if is_ready(pod):
        return True
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return False
    status = pdb.get("status") or {}
    desired = status.get("desiredHealthy", 0)
    # IfHealthyBudget (the default): free while the application is not disrupted.
    return not (status.get("currentHealthy", 0) >= desired and desired > 0)


def _check_and_decrement(api: APIServer, pdb: dict, pod_name: str) -> None:
    """checkAndDecrement: refuse (429) or use one disruption of the budget."""
    name = pdb["metadata"]["name"]
    status = dict(pdb.get("status") or {})
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 0):
        raise TooManyRequests(VIOLATES_BUDGET, (
            f"The disruption budget {name} is still being processed by the server.",), 10)
    allowed = status.get("disruptionsAllowed", 0)
    if allowed < 0:
        raise Forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: pdb disruptions '
                        "allowed is negative")
    disrupted = dict(status.get("disruptedPods") or {})
    if len(disrupted) > MAX_DISRUPTED_POD_SIZE:
        raise Forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: DisruptedPods map '
                        "too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise TooManyRequests(VIOLATES_BUDGET, (
            f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy "
            f"pods and has {status.get('currentHealthy', 0)} currently",))
    status["disruptionsAllowed"] = allowed - 1
    if status["disruptionsAllowed"] == 0:
        update_disruption_allowed_condition(status, api.now)
    # The disruption controller must not count the pod as healthy while it goes.
    disrupted[pod_name] = stamp(api.now)
    status["disruptedPods"] = disrupted
    api.update_status(pdb, {k: status[k] for k in sorted(status)}, "kube-apiserver")


def _delete(api: APIServer, pod: dict, component: str) -> None:
    """addConditionAndDeletePod: the DisruptionTarget condition, then a graceful delete."""
    meta = pod["metadata"]
    if not meta.get("deletionTimestamp"):
        status = dict(pod.get("status") or {})
        conditions = [c for c in status.get("conditions") or ()
                      if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True",
                           "observedGeneration": meta.get("generation", 1),
                           "lastProbeTime": None, "lastTransitionTime": stamp(api.now),
                           "reason": "EvictionByEvictionAPI",
                           "message": "Eviction API: evicting"})
        status["conditions"] = conditions
        api.update_status(pod, status, "kube-apiserver")
    api.delete(_POD, meta["namespace"], meta["name"], component=component)
