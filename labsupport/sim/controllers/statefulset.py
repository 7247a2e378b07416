"""The StatefulSet controller: pods with stable names, their own volumes, in order.

A StatefulSet named ``web`` with 3 replicas owns the pods ``web-0``,
``web-1`` and ``web-2``: a deleted pod comes back with the same name, the same
labels ``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index``,
the hostname ``web-0`` under the headless Service ``spec.serviceName``, and
the same PersistentVolumeClaims: one per entry of ``volumeClaimTemplates``,
named ``<claim>-web-0``. Claims outlive their pods (and, by default, scale
downs and the StatefulSet itself), so the data of ``web-0`` is still there
when ``web-0`` comes back.

With ``podManagementPolicy: OrderedReady`` (the default) the controller
creates ``web-<i+1>`` only once ``web-0`` .. ``web-<i>`` are Running and Ready,
and scales down from the highest ordinal, one pod at a time; ``Parallel``
creates and deletes them all at once. A changed pod template is rolled out
from the highest ordinal down to ``rollingUpdate.partition``, by default one
pod at a time, each replacement waiting for the previous one to be Ready
(``updateStrategy: OnDelete`` waits for you to delete the pods).
``rollingUpdate.maxUnavailable`` (Kubernetes 1.37, KEP-961) lets the update
take down up to that many pods at once: with ``OrderedReady`` in batches (the
next batch waits until every pod is available again), with ``Parallel`` as a
sliding window. The rules follow
pkg/controller/statefulset/stateful_set_control.go.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
    ...     "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
    ...              "template": {"metadata": {"labels": {"app": "db"}},
    ...                           "spec": {"containers": [{"name": "db", "image": "redis:7.2"}]}}}})
    >>> c.wait_for_rollout("statefulset/db").split(" at revision")[0]
    'statefulset rolling update complete 3 pods'
    >>> [p.name for p in c.pods()]
    ['db-0', 'db-1', 'db-2']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from labsupport.errors import LabSupportError
from labsupport.kinds import type_for_kind
from labsupport.sim.controllers import history
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import (
    compact_status,
    is_available,
    is_ready,
    owner_reference,
    ready_since,
)
from labsupport.sim.controllers.replicaset import pod_from_template
from labsupport.sim.jsoncopy import json_copy

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["StatefulSetController", "ordinal_of", "claim_name", "max_unavailable",
           "POD_NAME_LABEL", "POD_INDEX_LABEL"]

COMPONENT = "statefulset-controller"
# k8s.io/api/apps/v1: StatefulSetPodNameLabel, and PodIndexLabel (feature gate
# PodIndexLabel, on by default since v1.28).
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
# stateful_set_utils.go: statefulPodRegex, "<parent>-<ordinal>".
_ORDINAL = re.compile(r"(.*)-([0-9]+)$")
_POD = type_for_kind("Pod")
_PVC = type_for_kind("PersistentVolumeClaim")


def ordinal_of(name: str) -> tuple[str, int]:
    """The parent StatefulSet's name and the ordinal in a pod name (getParentNameAndOrdinal).

    Example:
        >>> ordinal_of("web-12"), ordinal_of("web"), ordinal_of("my-db-0")
        (('web', 12), ('', -1), ('my-db', 0))
    """
    m = _ORDINAL.fullmatch(name)
    if m is None:
        return "", -1
    number = int(m.group(2))
    # strconv.ParseInt(..., 10, 32): an ordinal that does not fit an int32 is no ordinal.
    return m.group(1), number if number < 2**31 else -1


def claim_name(claim_template: str, statefulset: str, ordinal: int) -> str:
    """The PersistentVolumeClaim of one pod: ``<claim>-<statefulset>-<ordinal>``.

    Example:
        >>> claim_name("www", "web", 0)
        'www-web-0'
    """
    return f"{claim_template}-{statefulset}-{ordinal}"  # getPersistentVolumeClaimName


def max_unavailable(value: int | str | None, replicas: int) -> int:
    """``rollingUpdate.maxUnavailable`` as a pod count (getStatefulSetMaxUnavailable).

    KEP-961 (feature MaxUnavailableStatefulSet): alpha in 1.24, beta and on by
    default in 1.35, off by default again in 1.36 (kubernetes/kubernetes#137904,
    after the Parallel regression #137409), on by default in 1.37 (#139466).
    Unset means 1, today's one-pod-at-a-time update. A percentage of
    ``spec.replicas`` is rounded *down* (intstr.GetScaledValueFromIntOrPercent
    with roundUp=false, as pkg/controller/statefulset/stateful_set_utils.go
    calls it; the API reference's "rounding up" is wrong) and is at least 1.

    Example:
        >>> max_unavailable(None, 6), max_unavailable(2, 6), max_unavailable("50%", 5)
        (1, 2, 2)
        >>> max_unavailable("10%", 5)     # 0.5 rounds down to 0, then at least 1
        1
    """
    if value is None:
        return 1
    if isinstance(value, str) and value.endswith("%"):
        count = math.floor(int(value[:-1]) * replicas / 100)
    else:
        count = int(value)
    return max(count, 1)


def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase", "")


def _terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _running_and_ready(pod: dict) -> bool:
    return _phase(pod) == "Running" and is_ready(pod)  # isRunningAndReady


def _revision(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(history.REVISION_LABEL, "")


class StatefulSetController(SimController):
    """Reconciles StatefulSets."""

    name = COMPONENT
    kind = "StatefulSet"
    watches = ("StatefulSet", "Pod")
    owns = ("Pod",)

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)

    # --- sync --------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """Reconcile one StatefulSet: revisions, pods in order, rolling update, status."""
        sts = self.sim.store.peek(key)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        current, update, collisions = self._revisions(sts)
        pods = [p for p in self.sim._owned(sts["metadata"]["uid"]) if p["kind"] == "Pod"]
        self._update(sts, pods, current, update)
        self._status(key, current, update, collisions)
        self._truncate_history(key, current, update)

    def _revisions(self, sts: dict) -> tuple[dict, dict, int]:
        """The current and update ControllerRevisions (getStatefulSetRevisions)."""
        revisions = history.revisions_of(self.sim, sts)
        data = history.revision_data(sts["spec"]["template"])
        collisions = (sts.get("status") or {}).get("collisionCount", 0) or 0
        equal = history.find_equal(revisions, data)
        number = history.next_revision(revisions)
        if equal and equal[-1] is revisions[-1]:
            update = revisions[-1]  # the template has not changed
        elif equal:
            # Back to an earlier template (a rollback): that revision becomes the newest.
            update = history.renumber(self.sim, equal[-1], number, COMPONENT)
        else:
            labels = (sts["spec"]["template"].get("metadata") or {}).get("labels") or {}
            update, collisions = history.create_revision(self.sim, sts, data, number, labels,
                                                         collisions, COMPONENT)
        wanted = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == wanted), update)
        if current["metadata"]["name"] == update["metadata"]["name"]:
            current = update
        return current, update, collisions

    # --- updateStatefulSet ----------------------------------------------------------
    def _update(self, sts: dict, pods: list[dict], current: dict, update: dict) -> None:
        spec = sts["spec"]
        name = sts["metadata"]["name"]
        count = spec.get("replicas", 1)
        start = (spec.get("ordinals") or {}).get("start", 0) or 0
        min_ready = spec.get("minReadySeconds", 0) or 0
        now = self.env.now
        replicas: list[dict | None] = [None] * count
        condemned = []
        for pod in pods:
            parent, ordinal = ordinal_of(pod["metadata"]["name"])
            if parent != name or ordinal < 0:
                continue  # not one of ours by name: ignored, as upstream
            if start <= ordinal < start + count:
                replicas[ordinal - start] = pod
            else:
                condemned.append(pod)
        condemned.sort(key=lambda p: -ordinal_of(p["metadata"]["name"])[1])

        def unavailable(pod: dict | None) -> bool:  # isUnavailable
            return pod is None or not is_available(pod, min_ready, now) or _terminating(pod)

        # The first unavailable pod: replicas in order, then condemned in ascending order.
        first_unavailable = next((p for p in replicas if unavailable(p)), None)
        if first_unavailable is None:
            first_unavailable = next((p for p in reversed(condemned) if unavailable(p)), None)
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"

        for i in range(count):
            if self._process_replica(sts, monotonic, replicas, i, start + i, current, update,
                                     min_ready) and monotonic:
                return
        for pod in condemned:
            self._fix_claims(sts, pod, scaled_down=True)
        for pod in condemned:
            if self._process_condemned(sts, pod, first_unavailable, monotonic, min_ready) \
                    and monotonic:
                return
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "OnDelete":
            return  # pods get the new template when you delete them
        ru = strategy.get("rollingUpdate") or {}
        self._rolling_update(sts, replicas, update["metadata"]["name"],
                             ru.get("partition", 0) or 0,
                             max_unavailable(ru.get("maxUnavailable"), count)
                             if self.sim.feature_gates["MaxUnavailableStatefulSet"] else 1,
                             parallel=not monotonic, unavailable=unavailable)

    def _rolling_update(self, sts: dict, replicas: list[dict | None], update_name: str,
                        partition: int, budget: int, parallel: bool,
                        unavailable: Callable[[dict | None], bool]) -> None:
        """Replace old pods from the highest ordinal, at most ``budget`` unavailable at once.

        Kubernetes 1.37 (KEP-961 MaxUnavailableStatefulSet on by default again,
        kubernetes/kubernetes#139466): updateStatefulSetAfterInvariantEstablished in
        pkg/controller/statefulset/stateful_set_control.go. Every pod of
        ordinals ``0 .. replicas-1`` that is missing, not Ready for
        ``minReadySeconds`` or terminating counts as unavailable (partition or
        not); the controller deletes ``maxUnavailable - unavailable`` more old
        pods, highest ordinal first, down to the partition. With OrderedReady
        it gets here only when every pod is Running and available, so it
        deletes a batch of ``maxUnavailable`` pods, recreates them one by one
        in ordinal order and starts the next batch once all are available
        again (the KEP's "choice 1"). With Parallel the deletions follow a
        sliding window (the KEP's "choice 2"); since kubernetes/kubernetes#137666
        (the fix that let 1.37 turn the feature back on) old-revision pods that
        are already unavailable are not charged to the budget: they are
        replaced first, up to ``maxUnavailable`` per sync, so a broken old
        revision cannot stall the update.
        """
        count = len(replicas)

        def old(pod: dict | None) -> bool:
            return pod is not None and _revision(pod) != update_name and not _terminating(pod)

        # #137666: in Parallel mode, old unavailable pods the update may replace are
        # "already broken", not disruption of this update.
        broken = {i for i in range(partition, count)
                  if parallel and old(replicas[i]) and unavailable(replicas[i])}
        down = sum(1 for i, pod in enumerate(replicas) if unavailable(pod) and i not in broken)
        deleted = 0
        for target in sorted(broken, reverse=True)[:budget]:  # phase 1 (Parallel only)
            self._delete_pod(sts, replicas[target])
            deleted += 1
        room = budget - down - deleted
        for target in range(count - 1, partition - 1, -1):
            if room <= 0:
                return  # waiting for the unavailable pods to be updated and available
            pod = replicas[target]
            if old(pod) and target not in broken:
                self._delete_pod(sts, pod)
                room -= 1

    def _process_replica(self, sts: dict, monotonic: bool, replicas: list[dict | None], i: int,
                         ordinal: int, current: dict, update: dict, min_ready: float) -> bool:
        """Bring one ordinal's pod towards the spec; True means "stop here" (OrderedReady)."""
        pod = replicas[i]
        if pod is not None and _phase(pod) in ("Failed", "Succeeded"):
            # A finished pod is deleted; the next sync creates it again.
            if not _terminating(pod):
                self._delete_pod(sts, pod)
            return True
        if pod is None:
            pod = replicas[i] = self._create_pod(sts, ordinal, current, update)
            if monotonic:
                return True
        if _phase(pod) == "Pending":
            self._create_claims(sts, pod["metadata"]["name"], ordinal)
        if _terminating(pod) and monotonic:
            return True  # waiting for the pod to terminate
        if not _running_and_ready(pod) and monotonic:
            return True  # waiting for the pod to be Running and Ready
        if not is_available(pod, min_ready, self.env.now) and monotonic:
            return True  # waiting for minReadySeconds
        self._fix_claims(sts, pod, scaled_down=False)
        return False

    def _process_condemned(self, sts: dict, pod: dict, first_unavailable: dict | None,
                           monotonic: bool, min_ready: float) -> bool:
        """Scale down one pod beyond ``replicas`` (processCondemned)."""
        if _terminating(pod):
            return monotonic  # OrderedReady waits for it to be gone
        if monotonic and pod is not first_unavailable and (
                not _running_and_ready(pod) or not is_available(pod, min_ready, self.env.now)):
            return True  # waiting for the first unhealthy pod
        self._delete_pod(sts, pod)
        return True

    # --- pods and claims --------------------------------------------------------------
    def _create_pod(self, sts: dict, ordinal: int, current: dict, update: dict) -> dict:
        """newVersionedStatefulSetPod, its claims first (CreateStatefulPod)."""
        spec = sts["spec"]
        name = sts["metadata"]["name"]
        start = (spec.get("ordinals") or {}).get("start", 0) or 0
        strategy = spec.get("updateStrategy") or {}
        ru = strategy.get("rollingUpdate")
        current_replicas = (sts.get("status") or {}).get("currentReplicas", 0) or 0
        # Pods below the partition keep the current revision (Go's && binds before ||).
        at_current = ((strategy.get("type", "RollingUpdate") == "RollingUpdate" and ru is None
                       and ordinal < start + current_replicas)
                      or (ru is not None and ordinal < start + (ru.get("partition", 0) or 0)))
        revision = current if at_current else update
        pod_name = f"{name}-{ordinal}"
        pod = pod_from_template(sts, history.revision_template(revision), name)
        meta = pod["metadata"]
        meta.pop("generateName", None)
        meta["name"] = pod_name
        meta["labels"].update({POD_NAME_LABEL: pod_name, POD_INDEX_LABEL: str(ordinal),
                               history.REVISION_LABEL: revision["metadata"]["name"]})
        pspec = pod["spec"]
        pspec["hostname"] = pod_name
        if spec.get("serviceName"):
            pspec["subdomain"] = spec["serviceName"]
        templates = spec.get("volumeClaimTemplates") or ()
        names = [t["metadata"]["name"] for t in templates]
        claims = [{"name": n, "persistentVolumeClaim": {"claimName": claim_name(n, name, ordinal)}}
                  for n in names]
        pspec["volumes"] = claims + [v for v in pspec.get("volumes") or ()
                                     if v.get("name") not in names]
        if not pspec["volumes"]:
            del pspec["volumes"]
        try:
            self._create_claims(sts, pod_name, ordinal)
            created = self.api.create(pod, component=COMPONENT)
        except LabSupportError as err:
            self.api.event(sts, "Warning", "FailedCreate",
                           f"create Pod {pod_name} in StatefulSet {name} failed error: {err}",
                           COMPONENT)
            raise
        self.api.event(sts, "Normal", "SuccessfulCreate",
                       f"create Pod {pod_name} in StatefulSet {name} successful", COMPONENT)
        return created

    def _create_claims(self, sts: dict, pod_name: str, ordinal: int) -> None:
        """Create the pod's missing claims (createPersistentVolumeClaims)."""
        name = sts["metadata"]["name"]
        ns = sts["metadata"]["namespace"]
        when_deleted, _ = _retention(sts)
        selector_labels = (sts["spec"].get("selector") or {}).get("matchLabels") or {}
        for template in sts["spec"].get("volumeClaimTemplates") or ():
            tmeta = template.get("metadata") or {}
            pvc_name = claim_name(tmeta["name"], name, ordinal)
            if self.api.get(_PVC, ns, pvc_name) is not None:
                continue
            meta: dict = {"name": pvc_name, "namespace": ns,
                          "labels": dict(tmeta.get("labels") or {}, **selector_labels)}
            if tmeta.get("annotations"):
                meta["annotations"] = dict(tmeta["annotations"])
            if when_deleted == "Delete":
                meta["ownerReferences"] = [owner_reference(sts)]
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                   "spec": json_copy(template.get("spec") or {})}
            self.api.create(pvc, component=COMPONENT)
            self.api.event(sts, "Normal", "SuccessfulCreate",
                           f"create Claim {pvc_name} Pod {pod_name} in StatefulSet {name} success",
                           COMPONENT)

    def _fix_claims(self, sts: dict, pod: dict, scaled_down: bool) -> None:
        """Owner references on the pod's claims, as persistentVolumeClaimRetentionPolicy says.

        Retain/Retain: none; whenDeleted Delete: the StatefulSet owns them;
        whenScaled Delete: a scaled-down pod owns its claims, so the garbage
        collector deletes them with it (updateClaimOwnerRefForSetAndPod).
        """
        when_deleted, when_scaled = _retention(sts)
        if when_deleted == "Retain" and when_scaled == "Retain":
            return
        name = sts["metadata"]["name"]
        ns = sts["metadata"]["namespace"]
        _, ordinal = ordinal_of(pod["metadata"]["name"])
        mine = (sts["metadata"]["uid"], pod["metadata"]["uid"])
        for template in sts["spec"].get("volumeClaimTemplates") or ():
            pvc = self.api.get(_PVC, ns, claim_name(template["metadata"]["name"], name, ordinal))
            if pvc is None or pvc["metadata"].get("deletionTimestamp"):
                continue
            old = pvc["metadata"].get("ownerReferences") or []
            refs = [r for r in old if r.get("uid") not in mine]
            if when_scaled == "Delete" and scaled_down:
                refs.append(owner_reference(pod))
            elif when_deleted == "Delete":
                refs.append(owner_reference(sts))
            if refs != old:
                meta = dict(pvc["metadata"])
                if refs:
                    meta["ownerReferences"] = refs
                else:
                    meta.pop("ownerReferences", None)
                self.api.patch(pvc, COMPONENT, metadata=meta)

    def _delete_pod(self, sts: dict, pod: dict) -> None:
        name = pod["metadata"]["name"]
        if self.api.get(_POD, pod["metadata"]["namespace"], name) is None:
            return
        self.api.delete(_POD, pod["metadata"]["namespace"], name, component=COMPONENT)
        self.api.event(sts, "Normal", "SuccessfulDelete",
                       f"delete Pod {name} in StatefulSet {sts['metadata']['name']} successful",
                       COMPONENT)

    # --- status and history -------------------------------------------------------------
    def _status(self, key: str, current: dict, update: dict, collisions: int) -> None:
        sts = self.sim.store.peek(key)
        if sts is None:
            return
        spec = sts["spec"]
        want = spec.get("replicas", 1)
        min_ready = spec.get("minReadySeconds", 0) or 0
        now = self.env.now
        counts = dict.fromkeys(("replicas", "ready", "available", "current", "updated"), 0)
        waits = []
        for pod in self.sim._owned(sts["metadata"]["uid"]):
            parent, ordinal = ordinal_of(pod["metadata"]["name"])
            if pod["kind"] != "Pod" or parent != sts["metadata"]["name"] or ordinal < 0:
                continue
            counts["replicas"] += 1
            if _running_and_ready(pod):
                counts["ready"] += 1
                if is_available(pod, min_ready, now):
                    counts["available"] += 1
                else:
                    waits.append(min_ready - (now - (ready_since(pod) or now)))
            if not _terminating(pod):
                counts["current"] += _revision(pod) == current["metadata"]["name"]
                counts["updated"] += _revision(pod) == update["metadata"]["name"]
        current_name = current["metadata"]["name"]
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        if rolling and counts["updated"] == counts["ready"] == counts["replicas"] == want:
            # completeRollingUpdate: the update revision becomes the current one.
            counts["current"], current_name = counts["updated"], update["metadata"]["name"]
        status = {"observedGeneration": sts["metadata"].get("generation", 1),
                  "replicas": counts["replicas"], "readyReplicas": counts["ready"],
                  "currentReplicas": counts["current"], "updatedReplicas": counts["updated"],
                  "currentRevision": current_name, "updateRevision": update["metadata"]["name"],
                  "collisionCount": collisions, "availableReplicas": counts["available"]}
        status = compact_status(status, keep=("observedGeneration", "replicas", "collisionCount",
                                              "availableReplicas"))
        for cond in (sts.get("status") or {}).get("conditions") or ():
            status.setdefault("conditions", []).append(cond)
        if waits:
            self.enqueue(key, delay=max(0.01, min(waits) + 0.01))
        if (sts.get("status") or {}) != status:
            self.api.update_status(sts, status, COMPONENT)

    def _truncate_history(self, key: str, current: dict, update: dict) -> None:
        """Delete unused revisions beyond revisionHistoryLimit, oldest first (truncateHistory)."""
        sts = self.sim.store.peek(key)
        if sts is None:
            return
        limit = sts["spec"].get("revisionHistoryLimit", 10)
        live = {current["metadata"]["name"]: None, update["metadata"]["name"]: None}
        live[(sts.get("status") or {}).get("currentRevision", "")] = None
        for obj in self.sim._owned(sts["metadata"]["uid"]):
            if obj["kind"] == "Pod":
                live[_revision(obj)] = None
        old = [r for r in history.revisions_of(self.sim, sts) if r["metadata"]["name"] not in live]
        if limit is None or limit < 0 or len(old) <= limit:
            return
        for revision in old[: len(old) - limit]:
            history.delete_revision(self.sim, revision, COMPONENT)


def _retention(sts: dict) -> tuple[str, str]:
    """``(whenDeleted, whenScaled)`` of persistentVolumeClaimRetentionPolicy (Retain by default)."""
    policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted", "Retain"), policy.get("whenScaled", "Retain")
