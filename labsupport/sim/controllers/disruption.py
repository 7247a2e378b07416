"""The disruption controller: keeps each PodDisruptionBudget's ``status`` current.

A PodDisruptionBudget (PDB) says how many of a set of pods must stay up while
someone disrupts them on purpose (``kubectl drain``, a cluster upgrade). The
controller counts the pods the PDB selects and writes what the Eviction API
needs to decide (pkg/controller/disruption/disruption.go: ``trySync``):

* ``expectedPods``: how many pods there should be: the number selected for
  an integer ``minAvailable``, else the sum of the scales of their
  controllers (``getExpectedScale``);
* ``desiredHealthy``: ``minAvailable``, or ``expectedPods - maxUnavailable``;
  percentages are of ``expectedPods``, rounded up (``GetScaledValueFromIntOrPercent``);
* ``currentHealthy``: selected pods that are Ready, not being deleted and not
  just evicted (``countHealthyPods``);
* ``disruptionsAllowed``: ``currentHealthy - desiredHealthy``, at least 0,
  and 0 while no pods are expected (``updatePdbStatus``);
* ``disruptedPods``: pods the eviction subresource let go and that are not
  gone yet; an entry older than two minutes is dropped (``buildDisruptedPodMap``);
* ``observedGeneration`` and the ``DisruptionAllowed`` condition
  (component-helpers ``UpdateDisruptionAllowedCondition``).

The eviction subresource itself (check, decrement, delete) is
:func:`labsupport.sim.eviction.evict`.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    ...     "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    ...              "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
    ...                  "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    >>> _ = c.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
    ...              "metadata": {"name": "web"},
    ...              "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}})
    >>> c.advance(10)
    >>> s = c.get("pdb/web")["status"]
    >>> s["expectedPods"], s["desiredHealthy"], s["currentHealthy"], s["disruptionsAllowed"]
    (3, 2, 3, 1)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsupport.errors import Invalid
from labsupport.kinds import type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.clock import EPOCH, stamp
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import is_ready
from labsupport.sim.store import WatchEvent
from labsupport.views import parse_time

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["DisruptionController", "COMPONENT", "DELETION_TIMEOUT", "scaled_value",
           "pdbs_for_pod", "update_disruption_allowed_condition"]

COMPONENT = "controllermanager"  # events of the disruption controller come from it
#: disruption.go DeletionTimeout: how long an evicted pod may take to start terminating.
DELETION_TIMEOUT = 120.0

_PDB = type_for_kind("PodDisruptionBudget")
_POD = type_for_kind("Pod")
# The controllers whose scale a PDB's percentage is taken of (disruption.go: finders).
_SCALED = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


def scaled_value(value: int | str, total: int) -> int:
    """An int, or a percentage of ``total`` rounded up (``GetScaledValueFromIntOrPercent``).

    Example:
        >>> scaled_value("50%", 3), scaled_value("10%", 5), scaled_value(2, 9)
        (2, 1, 2)

    Raises:
        Invalid: a string that is not a percentage.
    """
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise Invalid(f'invalid value for IntOrString: invalid type: string is not a '
                      f'percentage: "{text}"')
    return math.ceil(int(text[:-1]) * total / 100)


def pdbs_for_pod(api, pod: dict) -> list[dict]:
    """The PDBs of the pod's namespace whose selector matches it (eviction.go rules).

    A PDB with an empty selector matches no pod here (``getPodDisruptionBudgets``).
    """
    labels = pod["metadata"].get("labels") or {}
    out = []
    for pdb in api.list(_PDB, pod["metadata"]["namespace"]):
        sel = (pdb.get("spec") or {}).get("selector")
        if not sel or not (sel.get("matchLabels") or sel.get("matchExpressions")):
            continue
        try:
            if Selector.from_label_selector(sel).matches(labels):
                out.append(pdb)
        except Invalid:
            continue  # an invalid selector matches nothing
    return out


def update_disruption_allowed_condition(status: dict, now: float) -> None:
    """Set the DisruptionAllowed condition from ``disruptionsAllowed`` (in place).

    component-helpers/apps/poddisruptionbudget ``UpdateDisruptionAllowedCondition``;
    the transition time changes only when the status does (``SetStatusCondition``).
    """
    allowed = status.get("disruptionsAllowed", 0) > 0
    _set_condition(status, "True" if allowed else "False",
                   "SufficientPods" if allowed else "InsufficientPods", "", now)


def _set_condition(status: dict, value: str, reason: str, message: str, now: float) -> None:
    conditions = [dict(c) for c in status.get("conditions") or ()]
    old = next((c for c in conditions if c.get("type") == "DisruptionAllowed"), None)
    new = {"type": "DisruptionAllowed", "status": value, "reason": reason, "message": message,
           "observedGeneration": status.get("observedGeneration", 0),
           "lastTransitionTime": stamp(now)}
    if old is not None:
        if old.get("status") == value:
            new["lastTransitionTime"] = old.get("lastTransitionTime", new["lastTransitionTime"])
        conditions[conditions.index(old)] = new
    else:
        conditions.append(new)
    status["conditions"] = conditions


class DisruptionController(SimController):
    """Syncs one PDB per key (its etcd key); watches PDBs, pods and scalable controllers."""

    name = COMPONENT

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        #: namespace -> keys of its PDBs (only these namespaces cost any work).
        self._by_namespace: dict[str, dict[str, None]] = {}
        sim.store.watch("/registry/", self._changed)

    # --- what wakes it (the informers' event handlers) ----------------------------
    def _changed(self, ev: WatchEvent) -> None:
        obj = ev.object
        ns = obj["metadata"].get("namespace")
        if ns is None:
            return
        kind = obj["kind"]
        if kind == "PodDisruptionBudget":
            keys = self._by_namespace.setdefault(ns, {})
            if ev.type == "DELETED":
                keys.pop(ev.key, None)
                if not keys:
                    del self._by_namespace[ns]
                return
            keys[ev.key] = None
            self.enqueue(ev.key)
            return
        keys = self._by_namespace.get(ns)
        if not keys:
            return
        if kind == "Pod":
            # addPod / updatePod / deletePod: the PDB of the pod (old labels too).
            for pod in (obj, ev.old):
                if pod is None:
                    continue
                labels = pod["metadata"].get("labels")
                for key in list(keys):
                    pdb = self.sim.store.peek(key)
                    if pdb is not None and _selects(pdb, labels):
                        self.enqueue(key)
        elif kind in _SCALED and (ev.old or {}).get("spec") != obj.get("spec"):
            for key in list(keys):  # a scale changed: percentages are of it
                self.enqueue(key)

    # --- the sync ---------------------------------------------------------------
    def sync(self, key: str) -> None:
        """Recount one PDB's pods and write its status (``trySync``, or ``failSafe``)."""
        pdb = self.sim.store.peek(key)
        if pdb is None:
            return
        pods = self._pods_for(pdb)
        if not pods:
            self.api.event(pdb, "Normal", "NoPods", "No matching pods found", COMPONENT, key=key)
        try:
            expected, desired, unmanaged = self._expected_pod_count(pdb, pods)
        except Invalid as err:
            self.api.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                           f"Failed to calculate the number of expected pods: {err}",
                           COMPONENT, key=key)
            self._fail_safe(pdb, str(err))
            return
        if unmanaged:
            sel = (pdb.get("spec") or {}).get("selector")
            self.api.event(
                pdb, "Warning", "UnmanagedPods",
                f"Pods selected by this PodDisruptionBudget (selector: "
                f"{Selector.from_label_selector(sel)}) were found to be unmanaged. As a result, "
                "the status of the PDB cannot be calculated correctly, which may result in "
                "undefined behavior. To account for these pods please set \".spec.minAvailable\" "
                "field of the PDB to an integer value.", COMPONENT, key=key)
        now = self.env.now
        disrupted, recheck = self._disrupted_pods(pdb, pods, now)
        healthy = _count_healthy(pods, disrupted, now)
        self._update_status(pdb, healthy, desired, expected, disrupted)
        if recheck is not None:
            self.enqueue(key, delay=max(recheck - now, 0.0))

    def _pods_for(self, pdb: dict) -> list[dict]:
        """getPodsForPdb: the pods of the namespace its selector matches."""
        try:
            sel = Selector.from_label_selector((pdb.get("spec") or {}).get("selector"))
        except Invalid:
            return []
        return self.api.list(_POD, pdb["metadata"]["namespace"], sel)

    def _expected_pod_count(self, pdb: dict, pods: list[dict]) -> tuple[int, int, list[str]]:
        """getExpectedPodCount: (expectedCount, desiredHealthy, unmanaged pod names)."""
        spec = pdb.get("spec") or {}
        unmanaged: list[str] = []
        if spec.get("maxUnavailable") is not None:
            expected, unmanaged = self._expected_scale(pods)
            max_unavailable = scaled_value(spec["maxUnavailable"], expected)
            return expected, max(expected - max_unavailable, 0), unmanaged
        if spec.get("minAvailable") is not None:
            value = spec["minAvailable"]
            if isinstance(value, int):
                return len(pods), value, unmanaged
            expected, unmanaged = self._expected_scale(pods)
            return expected, scaled_value(value, expected), unmanaged
        return 0, 0, unmanaged

    def _expected_scale(self, pods: list[dict]) -> tuple[int, list[str]]:
        """getExpectedScale: the summed scale of the pods' controllers.

        Raises:
            Invalid: a pod's controller has no scale (``found no controllers for pod``).
        """
        scales: dict[str, int] = {}
        unmanaged = []
        for pod in pods:
            ref = _controller_of(pod)
            if ref is None:
                unmanaged.append(pod["metadata"]["name"])
                continue
            if ref.get("uid") in scales:
                continue
            found = self._find_scale(ref, pod["metadata"]["namespace"])
            if found is None:
                raise Invalid(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            uid, scale = found
            scales[uid] = scale
        return sum(scales.values()), unmanaged

    def _find_scale(self, ref: dict, namespace: str) -> tuple[str, int] | None:
        """The finders (getPodReplicaSet, getPodDeployment, ...): (uid, spec.replicas)."""
        kind = ref.get("kind")
        if kind not in _SCALED:
            return None
        owner = self.api.get(type_for_kind(kind), namespace, ref.get("name", ""))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        if kind == "ReplicaSet":
            dep_ref = _controller_of(owner)
            if dep_ref is not None and dep_ref.get("kind") == "Deployment":
                dep = self.api.get(type_for_kind("Deployment"), namespace, dep_ref.get("name", ""))
                if dep is None or dep["metadata"].get("uid") != dep_ref.get("uid"):
                    return None
                owner = dep
        return owner["metadata"]["uid"], int((owner.get("spec") or {}).get("replicas", 1))

    def _disrupted_pods(self, pdb: dict, pods: list[dict],
                        now: float) -> tuple[dict[str, str], float | None]:
        """buildDisruptedPodMap: evictions not yet seen as deletions, and when to look again."""
        listed = (pdb.get("status") or {}).get("disruptedPods") or {}
        kept: dict[str, str] = {}
        recheck = None
        for pod in pods:
            name = pod["metadata"]["name"]
            if pod["metadata"].get("deletionTimestamp") or name not in listed:
                continue
            expected = _seconds(listed[name]) + DELETION_TIMEOUT
            if expected < now:
                self.api.event(pod, "Warning", "NotDeleted",
                               f"Pod was expected by PDB {pdb['metadata']['namespace']}/"
                               f"{pdb['metadata']['namespace']} to be deleted but it wasn't",
                               COMPONENT)  # upstream prints the namespace twice
            else:
                recheck = expected if recheck is None else min(recheck, expected)
                kept[name] = listed[name]
        return kept, recheck

    def _update_status(self, pdb: dict, healthy: int, desired: int, expected: int,
                       disrupted: dict[str, str]) -> None:
        """updatePdbStatus: write the counts and the condition when anything changed."""
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        old = pdb.get("status") or {}
        status: dict = {"currentHealthy": healthy, "desiredHealthy": desired,
                        "disruptionsAllowed": allowed, "expectedPods": expected}
        if disrupted:
            status["disruptedPods"] = disrupted
        generation = pdb["metadata"].get("generation", 0)
        if generation:
            status["observedGeneration"] = generation
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        update_disruption_allowed_condition(status, self.env.now)
        if status != old:
            self.api.update_status(pdb, _ordered(status), COMPONENT)

    def _fail_safe(self, pdb: dict, message: str) -> None:
        """failSafe: no disruptions allowed, the condition says why (SyncFailed)."""
        status = dict(pdb.get("status") or {})
        for field in ("currentHealthy", "desiredHealthy", "expectedPods"):
            status.setdefault(field, 0)
        status["disruptionsAllowed"] = 0
        _set_condition(status, "False", "SyncFailed", message, self.env.now)
        self.api.update_status(pdb, _ordered(status), COMPONENT)


def _ordered(status: dict) -> dict:
    """The status's fields in the order the API server writes them (alphabetical JSON)."""
    return {k: status[k] for k in sorted(status)}


def _selects(pdb: dict, labels: dict | None) -> bool:
    try:
        sel = Selector.from_label_selector((pdb.get("spec") or {}).get("selector"))
    except Invalid:
        return False
    return sel.matches(labels)


def _controller_of(obj: dict) -> dict | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def _count_healthy(pods: list[dict], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods: Ready, not being deleted, not evicted in the last two minutes."""
    healthy = 0
    for pod in pods:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        when = disrupted.get(meta["name"])
        if when is not None and _seconds(when) + DELETION_TIMEOUT > now:
            continue
        if is_ready(pod):
            healthy += 1
    return healthy


def _seconds(text: str) -> float:
    """Virtual seconds of a timestamp the simulator wrote."""
    t = parse_time(text)
    return 0.0 if t is None else t - EPOCH
