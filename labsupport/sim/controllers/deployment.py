"""The Deployment controller: ReplicaSets per template, rolling updates, history.

A Deployment owns one ReplicaSet per version of its pod template (named
``<deployment>-<pod-template-hash>``). When the template changes it scales
the new ReplicaSet up and the old ones down within ``maxSurge`` (extra pods
allowed above ``replicas``, rounded up) and ``maxUnavailable`` (pods that may
be missing, rounded down), following pkg/controller/deployment/rolling.go;
or, with the Recreate strategy, removes all old pods first. Old ReplicaSets
are kept at zero replicas for rollback, up to ``revisionHistoryLimit``.
``status.terminatingReplicas`` (Kubernetes 1.35+, KEP-3973) adds up the
terminating pods of all its ReplicaSets; it is for you to read: the rollout
itself does not look at it (the Deployment ``podReplacementPolicy`` that
would, KEP-5882, is alpha and off in 1.37).

Example:
    >>> from labsupport.sim.controllers.deployment import resolve_fenceposts
    >>> resolve_fenceposts("25%", "25%", 10)      # surge rounds up, unavailable down
    (3, 2)
    >>> resolve_fenceposts(0, 0, 3)               # both zero: unavailable becomes 1
    (0, 1)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.clock import EPOCH, stamp
from labsupport.sim.controllers.base import SimController, owner_key
from labsupport.sim.controllers.podutil import compact_status, controller_ref, owner_reference
from labsupport.sim.jsoncopy import json_copy
from labsupport.sim.naming import template_hash
from labsupport.views import parse_time

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["DeploymentController", "resolve_fenceposts", "REVISION"]

COMPONENT = "deployment-controller"
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
_RS = type_for_kind("ReplicaSet")


def _scaled(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def resolve_fenceposts(
    max_surge: int | str, max_unavailable: int | str, replicas: int
) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` as pod counts for ``replicas`` pods."""
    surge = _scaled(max_surge, replicas, True)
    unavailable = _scaled(max_unavailable, replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _template_without_hash(template: dict) -> dict:
    t = json_copy(template)
    labels = (t.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return t


class DeploymentController(SimController):
    """Reconciles Deployments."""

    name = COMPONENT
    kind = "Deployment"
    watches = ("Deployment", "ReplicaSet", "Pod")
    owns = ("ReplicaSet",)

    def watched(self, ev: WatchEvent, owner: dict | None) -> None:
        """A pod was deleted: sync the Deployment above its ReplicaSet.

        deployment_controller.go ``deletePod``: a Recreate rollout waits until
        the old pods are gone, so the controller hears pod deletions.
        """
        if ev.type != "DELETED" or owner is None or owner.get("kind") != "ReplicaSet":
            return
        rs = self.sim.store.peek(owner_key(owner, ev.object["metadata"]["namespace"]))
        dep = controller_ref(rs) if rs is not None else None
        if dep is not None and dep.get("kind") == "Deployment":
            self.enqueue(owner_key(dep, rs["metadata"]["namespace"]))

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        self._collisions: dict[str, int] = {}

    # --- helpers ---------------------------------------------------------------
    def _replicasets(self, d: dict) -> list[dict]:
        return [o for o in self.sim._owned(d["metadata"]["uid"]) if o["kind"] == "ReplicaSet"]

    def _scale(self, d: dict, rs: dict, replicas: int) -> dict:
        old = rs["spec"].get("replicas", 0)
        if old == replicas:
            return rs
        spec = dict(rs["spec"], replicas=replicas)
        surge, _ = resolve_fenceposts(*self._strategy_values(d), d["spec"]["replicas"])
        meta = dict(rs["metadata"])
        meta["annotations"] = dict(
            meta.get("annotations") or {},
            **{
                "deployment.kubernetes.io/desired-replicas": str(d["spec"]["replicas"]),
                "deployment.kubernetes.io/max-replicas": str(d["spec"]["replicas"] + surge),
            },
        )
        new = self.api.patch(rs, COMPONENT, spec=spec, metadata=meta)
        verb = "up" if replicas > old else "down"
        self.api.event(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {rs['metadata']['name']} from {old} to {replicas}",
            COMPONENT,
        )
        return new

    @staticmethod
    def _strategy_values(d: dict) -> tuple[int | str, int | str]:
        ru = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        return ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%")

    def _new_rs(self, d: dict, rss: list[dict], replicas: int) -> dict:
        template = _template_without_hash(d["spec"]["template"])
        h = template_hash(template)
        max_rev = max((_revision(rs) for rs in rss), default=0)
        for rs in rss:
            if _template_without_hash(rs["spec"]["template"]) == template:
                if _revision(rs) != max_rev or max_rev == 0:
                    meta = dict(rs["metadata"])
                    meta["annotations"] = dict(
                        meta.get("annotations") or {}, **{REVISION: str(max_rev + 1)}
                    )
                    rs = self.api.patch(rs, COMPONENT, metadata=meta)
                return rs
        collisions = (d.get("status") or {}).get("collisionCount", 0)
        name = f"{d['metadata']['name']}-{h}"
        while self.api.get(_RS, d["metadata"]["namespace"], name) is not None:
            # A ReplicaSet of that name belongs to someone else (say, a deleted
            # Deployment not yet garbage-collected): hash again with collisionCount.
            collisions += 1
            h = template_hash(template, collisions)
            name = f"{d['metadata']['name']}-{h}"
        if collisions:
            self._collisions[self.api.key_of(d)] = collisions
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        selector = json_copy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = h
        labels = dict(template["metadata"]["labels"])
        surge, _ = resolve_fenceposts(*self._strategy_values(d), d["spec"]["replicas"])
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": d["metadata"]["namespace"],
                "labels": labels,
                "annotations": {
                    REVISION: str(max_rev + 1),
                    "deployment.kubernetes.io/desired-replicas": str(d["spec"]["replicas"]),
                    "deployment.kubernetes.io/max-replicas": str(d["spec"]["replicas"] + surge),
                },
                "ownerReferences": [owner_reference(d)],
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": d["spec"].get("minReadySeconds", 0),
                "selector": selector,
                "template": template,
            },
        }
        created = self.api.create(rs, component=COMPONENT)
        self.api.event(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {name} from 0 to {replicas}",
            COMPONENT,
        )
        return created

    # --- sync -------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """Reconcile one Deployment: its ReplicaSets, the rollout step, history and status."""
        d = self.sim.store.peek(key)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        rss = self._replicasets(d)
        new = self._find_new(d, rss)
        olds = [rs for rs in rss if rs is not new]
        if new is not None:
            max_rev = max((_revision(rs) for rs in olds), default=0)
            if _revision(new) <= max_rev:
                # A rollback reuses an old ReplicaSet: it becomes the newest revision.
                meta = dict(new["metadata"])
                meta["annotations"] = dict(
                    meta.get("annotations") or {}, **{REVISION: str(max_rev + 1)}
                )
                new = self.api.patch(new, COMPONENT, metadata=meta)
        if not d["spec"].get("paused"):
            strategy = (d["spec"].get("strategy") or {}).get("type", "RollingUpdate")
            if strategy == "Recreate":
                new = self._recreate(d, rss, new, olds)
            else:
                new = self._rolling(d, rss, new, olds)
            if new is not None:
                self._revision_to_deployment(d, new)
        self._cleanup(key)
        self._status(key)

    def _revision_to_deployment(self, d: dict, new: dict) -> None:
        d = self.sim.store.peek(self.api.key_of(d)) or d
        rev = (new["metadata"].get("annotations") or {}).get(REVISION)
        ann = d["metadata"].get("annotations") or {}
        if rev and ann.get(REVISION) != rev:
            meta = dict(d["metadata"], annotations=dict(ann, **{REVISION: rev}))
            self.api.patch(d, COMPONENT, metadata=meta)

    def _recreate(
        self, d: dict, rss: list[dict], new: dict | None, olds: list[dict]
    ) -> dict | None:
        for rs in olds:
            if rs["spec"].get("replicas", 0):
                self._scale(d, rs, 0)
        if any(
            p["status"].get("phase") not in ("Succeeded", "Failed")
            for rs in olds
            for p in self.sim._owned(rs["metadata"]["uid"])
        ):
            return new  # wait until every old pod is gone, terminating ones included
        if new is None:
            return self._new_rs(d, rss, d["spec"]["replicas"])
        return self._scale(d, new, d["spec"]["replicas"])

    def _rolling(self, d: dict, rss: list[dict], new: dict | None, olds: list[dict]) -> dict:
        replicas = d["spec"]["replicas"]
        surge, unavailable = resolve_fenceposts(*self._strategy_values(d), replicas)
        active_olds = [rs for rs in olds if rs["spec"].get("replicas", 0) > 0]
        # A scaling event with no rollout under way: resize the one active ReplicaSet.
        if new is not None and not active_olds:
            self._scale(d, new, replicas)
            return self.sim.store.peek(self.api.key_of(new)) or new
        total = sum(rs["spec"].get("replicas", 0) for rs in rss)
        if new is None:
            want = min(max(replicas + surge - total, 0), replicas)
            new = self._new_rs(d, rss, want)
        else:
            cur = new["spec"].get("replicas", 0)
            if cur > replicas:
                new = self._scale(d, new, replicas)
            elif total < replicas + surge:
                up = min(replicas + surge - total, replicas - cur)
                if up > 0:
                    new = self._scale(d, new, cur + up)
        # reconcileOldReplicaSets
        olds = sorted(active_olds, key=lambda rs: (_revision(rs), rs["metadata"]["name"]))
        if not olds:
            return new
        all_count = sum(rs["spec"].get("replicas", 0) for rs in [new, *olds])
        min_available = replicas - unavailable
        new_unavailable = new["spec"].get("replicas", 0) - (new.get("status") or {}).get(
            "availableReplicas", 0
        )
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return new
        # cleanupUnhealthyReplicas: old pods that are not available go first.
        cleaned = 0
        fresh_olds = []
        for rs in olds:
            if cleaned >= max_scaled_down:
                fresh_olds.append(rs)
                continue
            spec_r = rs["spec"].get("replicas", 0)
            unhealthy = spec_r - (rs.get("status") or {}).get("availableReplicas", 0)
            down = min(max_scaled_down - cleaned, max(unhealthy, 0))
            if down > 0:
                rs = self._scale(d, rs, spec_r - down)
                cleaned += down
            fresh_olds.append(rs)
        # scaleDownOldReplicaSetsForRollingUpdate: keep minAvailable available.
        available = sum(
            (rs.get("status") or {}).get("availableReplicas", 0) for rs in [new, *fresh_olds]
        )
        budget = available - min_available - 0
        if budget <= 0:
            return new
        for rs in fresh_olds:
            if budget <= 0:
                break
            spec_r = rs["spec"].get("replicas", 0)
            down = min(spec_r, budget)
            if down > 0:
                self._scale(d, rs, spec_r - down)
                budget -= down
        return new

    def _find_new(self, d: dict, rss: list[dict]) -> dict | None:
        """The ReplicaSet whose template is the Deployment's (whatever its collision count)."""
        want = _template_without_hash(d["spec"]["template"])
        for rs in rss:
            if _template_without_hash(rs["spec"]["template"]) == want:
                return rs
        return None

    def _cleanup(self, key: str) -> None:
        d = self.sim.store.peek(key)
        if d is None:
            return
        limit = d["spec"].get("revisionHistoryLimit", 10)
        rss = self._replicasets(d)
        new = self._find_new(d, rss)
        idle = [
            rs
            for rs in rss
            if rs["spec"].get("replicas", 0) == 0
            and not (rs.get("status") or {}).get("replicas")
            and rs is not new
        ]
        idle.sort(key=_revision)
        for rs in idle[: max(0, len(idle) - limit)]:
            self.api.delete(
                _RS, rs["metadata"]["namespace"], rs["metadata"]["name"], component=COMPONENT
            )

    def _status(self, key: str) -> None:
        d = self.sim.store.peek(key)
        if d is None:
            return
        rss = self._replicasets(d)
        new = self._find_new(d, rss)
        st = lambda rs, k: (rs.get("status") or {}).get(k, 0)  # noqa: E731
        replicas = d["spec"]["replicas"]
        _, unavailable = resolve_fenceposts(*self._strategy_values(d), replicas)
        status = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(st(rs, "replicas") for rs in rss),
            "updatedReplicas": st(new, "replicas") if new else 0,
            "readyReplicas": sum(st(rs, "readyReplicas") for rs in rss),
            "availableReplicas": sum(st(rs, "availableReplicas") for rs in rss),
        }
        status["unavailableReplicas"] = max(replicas - status["availableReplicas"], 0)
        # KEP-3973 (DeploymentReplicaSetTerminatingReplicas, beta and on by default
        # since 1.35): calculateStatus in pkg/controller/deployment/sync.go sums the
        # ReplicaSets' status.terminatingReplicas (GetTerminatingReplicaCountForReplicaSets).
        # A pointer field, so 0 is written too. Status only: the KEP's non-goals
        # exclude any change to scaling or rollouts, and the Deployment
        # podReplacementPolicy that would use it (KEP-5882) is alpha, off by default.
        if self.sim.feature_gates["DeploymentReplicaSetTerminatingReplicas"]:
            status["terminatingReplicas"] = sum(st(rs, "terminatingReplicas") for rs in rss)
        if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            unavailable = replicas
        now = stamp(self.env.now)
        old_conds = {c["type"]: c for c in (d.get("status") or {}).get("conditions") or ()}

        def cond(type_: str, ok: bool, reason: str, message: str, progress: bool = False) -> dict:
            prev = old_conds.get(type_)
            c = {
                "type": type_,
                "status": "True" if ok else "False",
                "reason": reason,
                "message": message,
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            }
            if prev is not None and prev.get("status") == c["status"]:
                c["lastTransitionTime"] = prev.get("lastTransitionTime", now)
                if prev.get("reason") == reason and prev.get("message") == message:
                    c["lastUpdateTime"] = prev.get("lastUpdateTime", now)
            return c

        has_min = status["availableReplicas"] >= replicas - unavailable
        conds = [
            cond(
                "Available",
                has_min,
                "MinimumReplicasAvailable" if has_min else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if has_min
                else "Deployment does not have minimum availability.",
            )
        ]
        complete = (
            new is not None
            and status["updatedReplicas"] == replicas
            and status["replicas"] == replicas
            and status["availableReplicas"] == replicas
        )
        name = new["metadata"]["name"] if new else ""
        prev = old_conds.get("Progressing")
        if complete:
            conds.append(
                cond(
                    "Progressing",
                    True,
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{name}" has successfully progressed.',
                )
            )
        else:
            deadline = d["spec"].get("progressDeadlineSeconds", 600)
            progressed = self._progressed(d, status)
            since = parse_time((prev or {}).get("lastUpdateTime")) if prev else None
            stalled = (
                prev is not None
                and not progressed
                and since is not None
                and self.env.now - (since - EPOCH) >= deadline
                and prev.get("reason") != "NewReplicaSetAvailable"
            )
            if (
                stalled
                or (prev or {}).get("reason") == "ProgressDeadlineExceeded"
                and not progressed
            ):
                conds.append(
                    cond(
                        "Progressing",
                        False,
                        "ProgressDeadlineExceeded",
                        f'ReplicaSet "{name}" has timed out progressing.',
                    )
                )
            else:
                c = cond(
                    "Progressing", True, "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
                )
                if progressed:
                    c["lastUpdateTime"] = now
                conds.append(c)
                self.enqueue(key, delay=deadline + 0.01)
        status["conditions"] = conds
        collisions = self._collisions.get(key) or (d.get("status") or {}).get("collisionCount")
        if collisions:
            status["collisionCount"] = collisions
        status = compact_status(status, keep=("observedGeneration", "replicas",
                                              "terminatingReplicas"))
        if (d.get("status") or {}) != status:
            self.api.update_status(d, status, COMPONENT)

    @staticmethod
    def _progressed(d: dict, status: dict) -> bool:
        old = d.get("status") or {}
        return any(
            status.get(k, 0) != old.get(k, 0)
            for k in ("updatedReplicas", "availableReplicas", "readyReplicas", "replicas")
        )
