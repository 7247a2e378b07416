"""The DaemonSet controller: one pod on every eligible node.

A node is eligible when it matches the pod template's ``nodeSelector`` and
required node affinity, and has no taint of effect NoSchedule or NoExecute
that the pod does not tolerate (NodeShouldRunDaemonPod upstream). DaemonSet
pods tolerate more than other pods: the controller adds tolerations without
``tolerationSeconds`` for ``node.kubernetes.io/not-ready`` and
``unreachable`` (NoExecute: the node lifecycle controller never evicts them)
and for the memory-, disk- and pid-pressure and unschedulable taints
(NoSchedule: they run on cordoned nodes too).

The controller does not bind a pod to its node itself: it gives the pod a
required node affinity on ``metadata.name`` and lets the scheduler place it,
as upstream does since v1.12. A new node gets its pod as soon as it
registers. A changed template is rolled out node by node with
``maxUnavailable`` (1 by default) or, with ``maxSurge``, by starting the new
pod before the old one stops. Rules and names follow
pkg/controller/daemon/daemon_controller.go and update.go.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=3, seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
    ...     "spec": {"selector": {"matchLabels": {"app": "agent"}},
    ...              "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
    ...                  "containers": [{"name": "a", "image": "fluentd:v1.16"}]}}}})
    >>> c.wait_for_rollout("daemonset/agent")
    'daemon set "agent" successfully rolled out'
    >>> sorted(p.node for p in c.pods())
    ['node-1', 'node-2', 'node-3']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsupport.errors import LabSupportError
from labsupport.kinds import type_for_kind
from labsupport.sim.controllers import history
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import compact_status, is_available, is_ready, ready_since
from labsupport.sim.controllers.replicaset import pod_from_template
from labsupport.sim.jsoncopy import json_copy
from labsupport.sim.scheduler.podinfo import Toleration

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["DaemonSetController", "daemon_pod_tolerations", "node_should_run",
           "node_name_affinity", "DAEMON_TOLERATIONS"]

COMPONENT = "daemonset-controller"
# daemon_controller.go: BurstReplicas, the most pods created or deleted in one sync.
BURST_REPLICAS = 250
# cmd/kube-controller-manager/app/apps.go: flowcontrol.NewBackOff(1s, 15min) between
# deletions of a failed daemon pod on the same node.
FAILED_POD_BACKOFF_INITIAL = 1.0
FAILED_POD_BACKOFF_MAX = 900.0
# k8s.io/api/extensions/v1beta1: DaemonSetTemplateGenerationKey (still set on pods).
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
#: util.AddOrUpdateDaemonPodTolerations (pkg/controller/daemon/util/daemonset_util.go).
DAEMON_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
_NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", "NoSchedule")
_POD = type_for_kind("Pod")
_NODE = type_for_kind("Node")
_DS = type_for_kind("DaemonSet")


def daemon_pod_tolerations(spec: dict) -> list[dict]:
    """The pod spec's tolerations plus the DaemonSet ones (AddOrUpdateDaemonPodTolerations).

    A toleration of the same key, operator, value and effect is replaced (so
    a ``tolerationSeconds`` on it goes); ``hostNetwork`` pods also tolerate
    ``node.kubernetes.io/network-unavailable``.

    Example:
        >>> tols = daemon_pod_tolerations({})
        >>> [(t["key"].split("/")[1], t["effect"]) for t in tols][:2]
        [('not-ready', 'NoExecute'), ('unreachable', 'NoExecute')]
        >>> "tolerationSeconds" in tols[0]
        False
    """
    out = [dict(t) for t in spec.get("tolerations") or ()]
    extra = list(DAEMON_TOLERATIONS) + ([_NETWORK_UNAVAILABLE] if spec.get("hostNetwork") else [])
    for key, effect in extra:
        new = {"key": key, "operator": "Exists", "effect": effect}
        for i, old in enumerate(out):
            if (old.get("key"), old.get("operator") or "Equal", old.get("value") or "",
                    old.get("effect") or "") == (key, "Exists", "", effect):
                out[i] = new  # MatchToleration: same key, operator, value, effect
                break
        else:
            out.append(new)
    return out


def node_name_affinity(affinity: dict | None, node: str) -> dict:
    """``affinity`` whose required node affinity selects only ``node``.

    ReplaceDaemonSetPodNodeNameNodeAffinity: the required terms are replaced
    (the controller already checked them against the node); preferred terms
    and pod affinities stay.

    Example:
        >>> na = node_name_affinity(None, "node-2")["nodeAffinity"]
        >>> na["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        [{'matchFields': [{'key': 'metadata.name', 'operator': 'In', 'values': ['node-2']}]}]
    """
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    new = json_copy(affinity or {})
    na = new.setdefault("nodeAffinity", {})
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    return new


def _requirement(req: dict, labels: dict) -> bool:
    # labels.Requirement.Matches, as nodeSelectorRequirementsAsSelector builds it.
    key, op, values = req.get("key"), req.get("operator"), [str(v) for v in req.get("values") or ()]
    present = key in labels
    if op == "In":
        return bool(values) and present and labels[key] in values
    if op == "NotIn":
        return bool(values) and (not present or labels[key] not in values)
    if op == "Exists":
        return not values and present
    if op == "DoesNotExist":
        return not values and not present
    if op in ("Gt", "Lt") and len(values) == 1 and present:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _term(term: dict, node: dict) -> bool:
    exprs, fields = term.get("matchExpressions") or (), term.get("matchFields") or ()
    if not exprs and not fields:
        return False  # an empty term selects no node
    labels = node["metadata"].get("labels") or {}
    if not all(_requirement(r, labels) for r in exprs):
        return False
    name = node["metadata"]["name"]
    for f in fields:  # only metadata.name In / NotIn with one value is valid
        values = f.get("values") or ()
        if f.get("key") != "metadata.name" or f.get("operator") not in ("In", "NotIn") \
                or len(values) != 1:
            return False
        if (name == values[0]) != (f["operator"] == "In"):
            return False
    return True


def _fits_affinity(spec: dict, node: dict) -> bool:
    """GetRequiredNodeAffinity(pod).Match(node): nodeSelector and the required terms."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    return any(_term(t or {}, node) for t in required.get("nodeSelectorTerms") or ())


def _untolerated(taints: list[dict], tolerations: list[Toleration],
                 effects: tuple[str, ...]) -> bool:
    """FindMatchingUntoleratedTaint over the taints of the given effects."""
    for taint in taints:
        effect = taint.get("effect", "")
        if effect not in effects:
            continue
        if not any(t.tolerates(taint.get("key", ""), str(taint.get("value") or ""), effect)
                   for t in tolerations):
            return True
    return False


def _tolerations(template_spec: dict) -> list[Toleration]:
    return [Toleration(str(t.get("key") or ""), str(t.get("operator") or ""),
                       str(t.get("value") or ""), str(t.get("effect") or ""))
            for t in daemon_pod_tolerations(template_spec)]


def node_should_run(node: dict, template_spec: dict,
                    tolerations: list[Toleration] | None = None) -> tuple[bool, bool]:
    """``(shouldRun, shouldContinueRunning)`` of a DaemonSet's pod on ``node``.

    ``tolerations`` may be given, already parsed, when many nodes are checked.

    Example:
        >>> node = {"metadata": {"name": "n1", "labels": {}},
        ...         "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]}}
        >>> node_should_run(node, {})          # not tolerated, but NoSchedule keeps running pods
        (False, True)
        >>> node_should_run(node, {"tolerations": [{"key": "gpu", "operator": "Exists"}]})
        (True, True)
    """
    if template_spec.get("nodeName") and template_spec["nodeName"] != node["metadata"]["name"]:
        return False, False
    if not _fits_affinity(template_spec, node):
        return False, False
    if tolerations is None:
        tolerations = _tolerations(template_spec)
    taints = (node.get("spec") or {}).get("taints") or []
    if _untolerated(taints, tolerations, ("NoSchedule", "NoExecute")):
        return False, not _untolerated(taints, tolerations, ("NoExecute",))
    return True, True


def _target_node(pod: dict) -> str | None:
    """GetTargetNodeName: spec.nodeName, or the node of the metadata.name affinity."""
    if pod["spec"].get("nodeName"):
        return pod["spec"]["nodeName"]
    required = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for f in (term or {}).get("matchFields") or ():
            if f.get("key") == "metadata.name" and f.get("operator") == "In" \
                    and len(f.get("values") or ()) == 1:
                return f["values"][0]
    return None


def _by_age(pods: list[dict]) -> list[dict]:
    """podByCreationTimestampAndPhase: scheduled first, then oldest, then by name."""
    return sorted(pods, key=lambda p: (0 if p["spec"].get("nodeName") else 1,
                                       p["metadata"].get("creationTimestamp", ""),
                                       p["metadata"]["name"]))


def _scaled(value: int | str | None, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent, rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value or 0)


class DaemonSetController(SimController):
    """Reconciles DaemonSets."""

    name = COMPONENT
    kind = "DaemonSet"
    watches = ("DaemonSet", "Pod", "Node")
    owns = ("Pod",)

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        # failedPodsBackoff: "<ds uid>/<observedGeneration>/<node>" -> (delay, last update)
        self._backoff: dict[str, tuple[float, float]] = {}

    # --- watches --------------------------------------------------------------------
    def watched(self, ev: WatchEvent, owner: dict | None) -> None:
        """Nodes: see :meth:`node_changed`."""
        self.node_changed(ev)

    def node_changed(self, ev: WatchEvent) -> None:
        """A node was added or changed: sync the DaemonSets it matters to (addNode, updateNode)."""
        node = ev.object
        if ev.type == "DELETED":
            return
        old = ev.old if ev.type == "MODIFIED" else None
        if old is not None and old["metadata"].get("labels") == node["metadata"].get("labels") \
                and (old.get("spec") or {}).get("taints") == (node.get("spec") or {}).get("taints"):
            return  # shouldIgnoreNodeUpdate: only labels and taints matter
        for ds in self.api.list(_DS):
            tspec = ds["spec"]["template"].get("spec") or {}
            tols = _tolerations(tspec)
            now = node_should_run(node, tspec, tols)
            if old is None:
                changed = now[0]
            else:
                changed = node_should_run(old, tspec, tols) != now
            if changed:
                self.enqueue(self.api.key_of(ds))

    # --- sync -------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """Reconcile one DaemonSet: revisions, pods per node, rolling update, status."""
        ds = self.sim.store.peek(key)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        current, old, generation = self._history(ds)
        hash_ = (current["metadata"].get("labels") or {}).get(history.REVISION_LABEL, "")
        nodes = self.api.list(_NODE)
        self._manage(ds, nodes, hash_, generation)
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            self._rolling_update(ds, nodes, hash_, generation)
        self._cleanup_history(ds, old)
        self._status(key, nodes, hash_, generation)

    def _history(self, ds: dict) -> tuple[dict, list[dict], int]:
        """The current revision (created if new), the old ones, and the template generation."""
        revisions = history.revisions_of(self.sim, ds)
        data = history.revision_data(ds["spec"]["template"])
        current = [r for r in revisions if r.get("data") == data]
        old = [r for r in revisions if r.get("data") != data]
        number = history.next_revision(old)
        if not current:
            labels = (ds["spec"]["template"].get("metadata") or {}).get("labels") or {}
            collisions = (ds.get("status") or {}).get("collisionCount", 0) or 0
            cur, _ = history.create_revision(self.sim, ds, data, number, labels, collisions,
                                             COMPONENT, hash_label=history.REVISION_LABEL)
        else:
            cur = current[-1]
            if cur.get("revision", 0) < number:
                cur = history.renumber(self.sim, cur, number, COMPONENT)
        # The template generation counts template versions; the revision number does too.
        return cur, old, cur.get("revision", 1)

    def _node_to_pods(self, ds: dict) -> dict[str, list[dict]]:
        """Pods by target node, less finished pods being deleted (getNodesToDaemonPods)."""
        out: dict[str, list[dict]] = {}
        for pod in self.sim._owned(ds["metadata"]["uid"]):
            if pod["kind"] != "Pod":
                continue
            if pod["status"].get("phase") in ("Succeeded", "Failed") \
                    and pod["metadata"].get("deletionTimestamp"):
                continue
            node = _target_node(pod)
            if node is not None:
                out.setdefault(node, []).append(pod)
        return out

    @staticmethod
    def _updated(pod: dict, hash_: str, generation: int) -> bool:
        labels = pod["metadata"].get("labels") or {}  # util.IsPodUpdated
        return labels.get(history.REVISION_LABEL) == hash_ or \
            labels.get(TEMPLATE_GENERATION_LABEL) == str(generation)

    def _surge(self, ds: dict, desired: int) -> tuple[int, int]:
        """``(maxSurge, maxUnavailable)`` as pod counts (updatedDesiredNodeCounts)."""
        ru = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
        surge = _scaled(ru.get("maxSurge", 0), desired)
        unavailable = _scaled(ru.get("maxUnavailable", 1), desired)
        if desired > 0 and surge == 0 and unavailable == 0:
            unavailable = 1  # an impossible configuration: accept one unavailable pod
        return surge, unavailable

    # --- manage -----------------------------------------------------------------------
    def _manage(self, ds: dict, nodes: list[dict], hash_: str, generation: int) -> None:
        by_node = self._node_to_pods(ds)
        tspec = ds["spec"]["template"].get("spec") or {}
        tols = _tolerations(tspec)
        surging = (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == \
            "RollingUpdate" and self._surge(ds, 1)[0] > 0
        create: list[str] = []
        delete: list[dict] = []
        names = {}
        for node in nodes:
            name = node["metadata"]["name"]
            names[name] = None
            should_run, should_continue = node_should_run(node, tspec, tols)
            pods = by_node.get(name)
            if should_run and not pods:
                create.append(name)
            elif should_continue and pods:
                running = []
                for pod in pods:
                    if pod["metadata"].get("deletionTimestamp"):
                        continue
                    phase = pod["status"].get("phase")
                    if phase == "Failed":
                        if self._failed_pod(ds, name, pod):
                            delete.append(pod)
                    elif phase == "Succeeded":
                        self.api.event(ds, "Normal", "SucceededDaemonPod",
                                       f"Found succeeded daemon pod {pod['metadata']['namespace']}/"
                                       f"{pod['metadata']['name']} on node {name}, will try to "
                                       "delete it", COMPONENT)
                        delete.append(pod)
                    else:
                        running.append(pod)
                if not surging:
                    delete.extend(_by_age(running)[1:])  # keep the oldest
                elif not running:
                    if should_run:
                        create.append(name)
                else:
                    delete.extend(self._surge_extra(ds, running, hash_, generation))
            elif not should_continue and pods:
                delete.extend(p for p in pods if not p["metadata"].get("deletionTimestamp"))
        # Unscheduled pods meant for nodes that no longer exist.
        for node, pods in by_node.items():
            if node not in names:
                delete.extend(p for p in pods if not p["spec"].get("nodeName"))
        self._sync_nodes(ds, delete, create, hash_, generation)

    def _surge_extra(self, ds: dict, running: list[dict], hash_: str,
                     generation: int) -> list[dict]:
        """With surge, keep the oldest new and oldest old pod until the new one is available."""
        extra, newest, oldest = [], None, None
        for pod in _by_age(running):
            if self._updated(pod, hash_, generation):
                if newest is None:
                    newest = pod
                    continue
            elif oldest is None:
                oldest = pod
                continue
            extra.append(pod)
        min_ready = ds["spec"].get("minReadySeconds", 0) or 0
        if newest is not None and oldest is not None and (
                not is_ready(oldest) or is_available(newest, min_ready, self.env.now)):
            extra.append(oldest)
        return extra

    def _failed_pod(self, ds: dict, node: str, pod: dict) -> bool:
        """Whether to delete a failed pod now, or wait out its back-off (failedPodsBackoff)."""
        gen = (ds.get("status") or {}).get("observedGeneration", 0)
        key = f"{ds['metadata']['uid']}/{gen}/{node}"
        now = self.env.now
        entry = self._backoff.get(key)
        if entry is not None and now - entry[1] < entry[0]:
            self.enqueue(self.api.key_of(ds), delay=entry[0] - (now - entry[1]))
            return False
        if entry is None or now - entry[1] > 2 * FAILED_POD_BACKOFF_MAX:
            delay = FAILED_POD_BACKOFF_INITIAL
        else:
            delay = min(entry[0] * 2, FAILED_POD_BACKOFF_MAX)
        self._backoff[key] = (delay, now)
        self.api.event(ds, "Warning", "FailedDaemonPod",
                       f"Found failed daemon pod {pod['metadata']['namespace']}/"
                       f"{pod['metadata']['name']} on node {node}, will try to kill it", COMPONENT)
        return True

    def _sync_nodes(self, ds: dict, delete: list[dict], create: list[str], hash_: str,
                    generation: int) -> None:
        """Delete pods and create one pod per node, at most BurstReplicas each (syncNodes)."""
        create, delete = create[:BURST_REPLICAS], delete[:BURST_REPLICAS]
        if create:
            template = json_copy(ds["spec"]["template"])
            labels = template.setdefault("metadata", {}).setdefault("labels", {})
            labels[TEMPLATE_GENERATION_LABEL] = str(generation)
            labels[history.REVISION_LABEL] = hash_
            spec = template.setdefault("spec", {})
            spec["tolerations"] = daemon_pod_tolerations(spec)
        # Slow start: batches of 1, 2, 4, ...; a failed batch stops the rest until the next sync.
        batch, done = 1, 0
        while done < len(create):
            for node in create[done:done + batch]:
                pod = pod_from_template(ds, template, ds["metadata"]["name"])
                pod["spec"]["affinity"] = node_name_affinity(pod["spec"].get("affinity"), node)
                try:
                    made = self.api.create(pod, component=COMPONENT)
                except LabSupportError as err:
                    self.api.event(ds, "Warning", "FailedCreate", f"Error creating: {err}",
                                   COMPONENT)
                    self.enqueue(self.api.key_of(ds), delay=10)
                    create = []
                    break
                self.api.event(ds, "Normal", "SuccessfulCreate",
                               f"Created pod: {made['metadata']['name']}", COMPONENT)
            done += batch
            batch *= 2
        for pod in delete:
            meta = pod["metadata"]
            if self.api.get(_POD, meta["namespace"], meta["name"]) is None:
                continue
            self.api.delete(_POD, meta["namespace"], meta["name"], component=COMPONENT)
            self.api.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}",
                           COMPONENT)

    # --- rolling update -----------------------------------------------------------------
    def _rolling_update(self, ds: dict, nodes: list[dict], hash_: str, generation: int) -> None:
        """Replace old pods within maxUnavailable, or maxSurge (rollingUpdate in update.go)."""
        by_node = self._node_to_pods(ds)
        tspec = ds["spec"]["template"].get("spec") or {}
        tols = _tolerations(tspec)
        should = {n["metadata"]["name"]: node_should_run(n, tspec, tols)[0] for n in nodes}
        desired = sum(1 for run in should.values() if run)
        surge, max_unavailable = self._surge(ds, desired)
        min_ready = ds["spec"].get("minReadySeconds", 0) or 0
        now = self.env.now
        unavailable = surged = 0
        replace: list[dict] = []      # old pods that are not available: always replaced
        candidates: list[dict] = []   # old available pods, replaced within the budget
        new_nodes: list[str] = []
        candidate_nodes: list[str] = []
        for node in sorted(by_node):
            new = old = None
            ok = True
            for pod in by_node[node]:
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                if self._updated(pod, hash_, generation):
                    ok, new = new is None and ok, pod
                else:
                    ok, old = old is None and ok, pod
            if not ok:  # more pods than expected: the manage loop cleans up first
                unavailable += 1
                surged += 1
                continue
            if surge == 0:
                if (old is None) == (new is None):
                    unavailable += 1
                elif new is not None:
                    unavailable += not is_available(new, min_ready, now)
                elif not is_available(old, min_ready, now):
                    replace.append(old)
                elif unavailable < max_unavailable:
                    candidates.append(old)
            elif old is not None and new is None:
                if not should.get(node, False):
                    replace.append(old)
                elif not is_available(old, min_ready, now):
                    new_nodes.append(node)
                elif surged < surge:
                    candidate_nodes.append(node)
            elif old is not None and new is not None:
                if is_available(new, min_ready, now):
                    replace.append(old)
                else:
                    surged += 1
        if surge == 0:
            budget = min(max(max_unavailable - unavailable, 0), len(candidates))
            self._sync_nodes(ds, replace + candidates[:budget], [], hash_, generation)
        else:
            budget = min(max(surge - surged, 0), len(candidate_nodes))
            self._sync_nodes(ds, replace, new_nodes + candidate_nodes[:budget], hash_, generation)

    # --- status and history -------------------------------------------------------------
    def _cleanup_history(self, ds: dict, old: list[dict]) -> None:
        """Delete old revisions beyond revisionHistoryLimit that no pod uses (cleanupHistory)."""
        limit = ds["spec"].get("revisionHistoryLimit", 10)
        extra = len(old) - (limit if limit is not None else 10)
        if extra <= 0:
            return
        live = {}
        for pod in self.sim._owned(ds["metadata"]["uid"]):
            if pod["kind"] == "Pod":
                live[(pod["metadata"].get("labels") or {}).get(history.REVISION_LABEL)] = None
        for revision in old:
            if extra <= 0:
                break
            if (revision["metadata"].get("labels") or {}).get(history.REVISION_LABEL) in live:
                continue
            history.delete_revision(self.sim, revision, COMPONENT)
            extra -= 1

    def _status(self, key: str, nodes: list[dict], hash_: str, generation: int) -> None:
        ds = self.sim.store.peek(key)
        if ds is None:
            return
        by_node = self._node_to_pods(ds)
        tspec = ds["spec"]["template"].get("spec") or {}
        min_ready = ds["spec"].get("minReadySeconds", 0) or 0
        now = self.env.now
        tols = _tolerations(tspec)
        desired = current = misscheduled = ready = updated = available = 0
        waits = []
        for node in nodes:
            should_run, _ = node_should_run(node, tspec, tols)
            pods = by_node.get(node["metadata"]["name"])
            if not should_run:
                misscheduled += bool(pods)
                continue
            desired += 1
            if not pods:
                continue
            current += 1
            pod = _by_age(pods)[0]
            if is_ready(pod):
                ready += 1
                if is_available(pod, min_ready, now):
                    available += 1
                else:
                    waits.append(min_ready - (now - (ready_since(pod) or now)))
            updated += self._updated(pod, hash_, generation)
        status = {"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
                  "desiredNumberScheduled": desired, "numberReady": ready,
                  "observedGeneration": ds["metadata"].get("generation", 1),
                  "updatedNumberScheduled": updated, "numberAvailable": available,
                  "numberUnavailable": desired - available}
        status = compact_status(status, keep=("currentNumberScheduled", "numberMisscheduled",
                                              "desiredNumberScheduled", "numberReady"))
        collisions = (ds.get("status") or {}).get("collisionCount")
        if collisions:
            status["collisionCount"] = collisions
        if waits:
            self.enqueue(key, delay=max(0.01, min(waits) + 0.01))
        if (ds.get("status") or {}) != status:
            self.api.update_status(ds, status, COMPONENT)
