"""The Job controller: run pods to completion, retry failures with back-off.

A Job wants ``completions`` pods to succeed, running at most ``parallelism``
at a time. A pod that fails (``restartPolicy: Never``) is replaced after a
back-off of 10 s, doubling with every failure since the last success; the
Job fails when more than ``backoffLimit`` (6) pods failed, or, with
``restartPolicy: OnFailure`` (the kubelet restarts the container in place),
when the containers restarted ``backoffLimit`` times. ``activeDeadlineSeconds``
bounds the whole Job's run. With ``completionMode: Indexed`` every pod gets an
index from 0 to completions - 1 (annotation, label, hostname and the
``JOB_COMPLETION_INDEX`` variable) and each index must succeed once.

As in Kubernetes 1.37 (unchanged since 1.31, KEP-4368), a Job first gets the
interim condition ``SuccessCriteriaMet`` (reason CompletionsReached) or
``FailureTarget`` (BackoffLimitExceeded, DeadlineExceeded), and ``Complete``
or ``Failed`` once none of its pods is still terminating.
``status.terminating`` counts its pods that are being deleted and not yet
finished (KEP-3939, GA in 1.34); ``spec.podReplacementPolicy`` says whether
such a pod is replaced at once (TerminatingOrFailed, the default) or only once
it has Failed (Failed, the default when ``podFailurePolicy`` is set). A Job
whose ``spec.managedBy`` names another controller is left alone (KEP-4368,
GA in 1.35). ``ttlSecondsAfterFinished`` deletes a finished Job (the
ttl-after-finished controller). Rules and messages follow
pkg/controller/job/job_controller.go and backoff_utils.go.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
    ...     "spec": {"completions": 3, "parallelism": 2, "template": {"spec": {
    ...         "restartPolicy": "Never", "containers": [{"name": "pi", "image": "busybox:1.36",
    ...                                               "command": ["sh", "-c", "sleep 5"]}]}}}})
    >>> c.advance(30)
    >>> status = c.get("job/pi")["status"]
    >>> status["succeeded"], [cond["type"] for cond in status["conditions"]]
    (3, ['SuccessCriteriaMet', 'Complete'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import LabSupportError
from labsupport.kinds import type_for_kind
from labsupport.sim.clock import EPOCH, stamp
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import is_active, is_ready
from labsupport.sim.controllers.replicaset import (
    ReplicaSetController,
    is_terminating,
    pod_from_template,
)
from labsupport.sim.defaults import default_pod_replacement_policy
from labsupport.sim.jsoncopy import json_copy
from labsupport.views import parse_time

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster

__all__ = ["JobController", "backoff_delay", "format_indexes", "pod_replacement_policy",
           "DEFAULT_POD_FAILURE_BACKOFF", "MAX_POD_FAILURE_BACKOFF", "JOB_CONTROLLER_NAME"]

COMPONENT = "job-controller"
# k8s.io/api/batch/v1: JobControllerName, the spec.managedBy value of the built-in
# controller (KEP-4368 JobManagedBy: alpha 1.30, beta 1.32, GA 1.35).
JOB_CONTROLLER_NAME = "kubernetes.io/job-controller"
TTL_COMPONENT = "ttl-after-finished-controller"
# job_controller.go: DefaultJobPodFailureBackOff 10 s, MaxJobPodFailureBackOff 10 min.
# (Older releases had MaxJobBackOff = 360 s, the "six minutes" the Job docs still
# quote; with the default backoffLimit of 6 the longest wait is 320 s either way.)
DEFAULT_POD_FAILURE_BACKOFF = 10.0
MAX_POD_FAILURE_BACKOFF = 600.0
# job_controller.go: MaxPodCreateDeletePerSync.
MAX_POD_CREATE_DELETE_PER_SYNC = 500
# k8s.io/api/batch/v1: the labels the API server puts on a Job's pod template.
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
# JobCompletionIndexAnnotation (also the label, feature PodIndexLabel) and its variable.
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
_POD = type_for_kind("Pod")
_JOB = type_for_kind("Job")
_BACKOFF_LIMIT = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
_DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
_COMPLETIONS = ("CompletionsReached", "Reached expected number of succeeded pods")


def backoff_delay(failures: int) -> float:
    """Seconds between the last failure and the next pod (getRemainingTimeForFailuresCount).

    Example:
        >>> [backoff_delay(n) for n in range(8)]
        [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0]
    """
    if failures <= 0:
        return 0.0
    return min(DEFAULT_POD_FAILURE_BACKOFF * 2 ** (failures - 1), MAX_POD_FAILURE_BACKOFF)


def pod_replacement_policy(spec: dict) -> str:
    """``spec.podReplacementPolicy`` of a Job, or the default the API server writes.

    KEP-3939 JobPodReplacementPolicy (alpha 1.28, beta 1.29, GA 1.34),
    pkg/apis/batch/v1/defaults.go: Failed when ``podFailurePolicy`` is set
    (validation allows nothing else then), else TerminatingOrFailed.

    Example:
        >>> pod_replacement_policy({}), pod_replacement_policy({"podFailurePolicy": {"rules": []}})
        ('TerminatingOrFailed', 'Failed')
    """
    return spec.get("podReplacementPolicy") or default_pod_replacement_policy(spec)


def _only_replace_failed(spec: dict) -> bool:
    """Replace only Failed pods (onlyReplaceFailedPods in job_controller.go)."""
    return pod_replacement_policy(spec) == "Failed" or spec.get("podFailurePolicy") is not None


def format_indexes(indexes: list[int]) -> str:
    """``status.completedIndexes`` as the API writes it: ranges of consecutive indexes.

    Example:
        >>> format_indexes([0, 1, 2, 4, 6, 7])
        '0-2,4,6-7'
    """
    parts: list[str] = []
    ordered = sorted(dict.fromkeys(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def _parse_indexes(text: str | None, completions: int) -> list[int]:
    out: list[int] = []
    for part in (text or "").split(","):
        first, _, last = part.partition("-")
        if first.strip().isdigit():
            end = int(last) if last.strip().isdigit() else int(first)
            out.extend(i for i in range(int(first), end + 1) if i < completions)
    return out


def _index(pod: dict) -> int | None:
    raw = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
    return int(raw) if raw is not None and str(raw).isdigit() else None


def _seconds(text: str | None) -> float | None:
    t = parse_time(text)
    return None if t is None else t - EPOCH


def _finished_at(pod: dict) -> float:
    """When a pod finished (getFinishedTime): containers, Ready=False, deletion, creation."""
    st = pod.get("status") or {}
    ends = [((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")
            for cs in st.get("containerStatuses") or ()]
    if ends and all(ends):
        return max(_seconds(e) or 0.0 for e in ends)
    for cond in st.get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("status") == "False":
            t = _seconds(cond.get("lastTransitionTime"))
            if t is not None:
                return t
    meta = pod["metadata"]
    if meta.get("deletionTimestamp"):
        grace = float(meta.get("deletionGracePeriodSeconds", 0))
        return (_seconds(meta["deletionTimestamp"]) or 0.0) - grace
    return _seconds(meta.get("creationTimestamp")) or 0.0


def _condition(status: dict, type_: str) -> dict | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == type_ and cond.get("status") == "True":
            return cond
    return None


class _Tracking:
    """What the job-tracking finalizer and the back-off store keep for one Job."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.counted: dict[str, None] = {}   # pods already in status.succeeded / failed
        self.known: dict[str, None] = {}     # pods seen alive (a vanished one counts as failed)
        self.failures = 0                    # failuresAfterLastSuccess
        self.last_failure: float | None = None


class JobController(SimController):
    """Reconciles Jobs (and deletes finished ones after ttlSecondsAfterFinished)."""

    name = COMPONENT
    kind = "Job"
    watches = ("Job", "Pod")
    owns = ("Pod",)

    def __init__(self, sim: SimCluster) -> None:
        super().__init__(sim)
        self._tracking: dict[str, _Tracking] = {}

    # --- sync -------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """Reconcile one Job: count finished pods, create or delete pods, conditions."""
        job = self.sim.store.peek(key)
        if job is None:
            self._tracking.pop(key, None)
            return
        uid = job["metadata"]["uid"]
        tr = self._tracking.get(key)
        if tr is None or tr.uid != uid:
            tr = self._tracking[key] = _Tracking(uid)
        status = json_copy(job.get("status") or {})
        if _condition(status, "Complete") or _condition(status, "Failed"):
            # The ttl-after-finished controller deletes finished Jobs whoever managed them.
            self._expire(key, job, status)
            return
        spec = job["spec"]
        managed_by = spec.get("managedBy")
        if managed_by is not None and managed_by != JOB_CONTROLLER_NAME:
            # KEP-4368 JobManagedBy (GA in 1.35): managedByExternalController in
            # pkg/controller/job/job_controller.go; syncJob skips such a Job
            # entirely: no pods, no status, no conditions.
            self._tracking.pop(key, None)
            return
        policy = (spec.get("template", {}).get("spec") or {}).get("restartPolicy")
        if policy not in ("Never", "OnFailure"):
            self.api.event(job, "Warning", "FailedCreate",
                           f'Error creating: Job.batch "{job["metadata"]["name"]}" is invalid: '
                           f'spec.template.spec.restartPolicy: Unsupported value: "{policy}": '
                           'supported values: "OnFailure", "Never"', COMPONENT)
            return
        now = self.env.now
        suspended = bool(spec.get("suspend"))
        if not status.get("startTime") and not suspended:
            status["startTime"] = stamp(now)
        pods = [p for p in self.sim._owned(uid) if p["kind"] == "Pod"]
        self._count(job, tr, pods, status)
        interim = _condition(status, "SuccessCriteriaMet") or _condition(status, "FailureTarget")
        deadline = spec.get("activeDeadlineSeconds")
        started = _seconds(status.get("startTime"))
        if interim is None:
            reason = None
            if status.get("failed", 0) > spec.get("backoffLimit", 6) or \
                    _past_backoff_limit_on_failure(spec, pods):
                reason = _BACKOFF_LIMIT
            elif deadline is not None and started is not None and not suspended \
                    and now - started >= deadline:
                reason = _DEADLINE
            elif deadline is not None and started is not None and not suspended:
                self.enqueue(key, delay=deadline - (now - started))
            if reason is not None:
                interim = self._add_condition(status, "FailureTarget", *reason)
        active = [p for p in pods if is_active(p)]
        if interim is not None:
            # Every pod still running is stopped; for a failed Job it counts as failed.
            failing = interim["type"] == "FailureTarget"
            self._delete(job, tr, active, count_failed=failing, status=status)
            active = []
        else:
            active = self._manage(key, job, tr, active, pods, status)
            completions = spec.get("completions")
            done = (status.get("succeeded", 0) > 0 if completions is None
                    else status.get("succeeded", 0) >= completions)
            if done and not active:
                interim = self._add_condition(status, "SuccessCriteriaMet", *_COMPLETIONS)
        # KEP-3939 (GA in 1.34): status.terminating, controller.CountTerminatingPods;
        # a pointer field, written even when 0.
        terminating = sum(1 for p in self.sim._owned(uid)
                          if p["kind"] == "Pod" and is_terminating(p))
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = terminating
        final = None
        if interim is not None and terminating == 0:
            final = "Complete" if interim["type"] == "SuccessCriteriaMet" else "Failed"
            cond = self._add_condition(status, final, interim["reason"], interim["message"])
            if final == "Complete":
                status["completionTime"] = cond["lastTransitionTime"]
        self._write(job, status)
        if final == "Complete":
            self.api.event(job, "Normal", "Completed", "Job completed", COMPONENT)
        elif final == "Failed":
            self.api.event(job, "Warning", interim["reason"], interim["message"], COMPONENT)
        if final is not None:
            self._expire(key, self.sim.store.peek(key) or job, status)

    def _count(self, job: dict, tr: _Tracking, pods: list[dict], status: dict) -> None:
        """Count newly finished pods in status and in the back-off record."""
        spec = job["spec"]
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions") or 0
        # isPodFailed: with TerminatingOrFailed a pod counts as failed as soon as it
        # is terminating; with Failed (KEP-3939) only once its phase is Failed.
        only_failed = _only_replace_failed(spec)
        present: dict[str, None] = {}
        succeeded, failed = [], []
        for pod in pods:
            puid = pod["metadata"]["uid"]
            present[puid] = None
            phase = pod["status"].get("phase")
            if phase not in ("Succeeded", "Failed"):
                tr.known[puid] = None
            if puid in tr.counted:
                continue
            if indexed and ((i := _index(pod)) is None or i >= completions):
                continue  # getValidPodsWithFilter: only pods with a valid index count
            if phase == "Succeeded":
                succeeded.append(pod)
            elif phase == "Failed" or (not only_failed
                                       and pod["metadata"].get("deletionTimestamp")):
                failed.append(pod)  # isPodFailed: a deleted pod counts as failed
        vanished = [u for u in tr.known if u not in present and u not in tr.counted]
        for p in succeeded + failed:
            tr.counted[p["metadata"]["uid"]] = None
        for u in vanished:
            tr.counted[u] = None
        for u in [u for u in tr.known if u in tr.counted]:
            del tr.known[u]
        fail_times = sorted([_finished_at(p) for p in failed] + [self.env.now] * len(vanished))
        if indexed:
            done = _parse_indexes(status.get("completedIndexes"), completions)
            done += [i for p in pods if p["status"].get("phase") == "Succeeded"
                     and (i := _index(p)) is not None and i < completions]
            status["completedIndexes"] = format_indexes(done)
            status["succeeded"] = len(dict.fromkeys(done))
        else:
            status["succeeded"] = status.get("succeeded", 0) + len(succeeded)
        status["failed"] = status.get("failed", 0) + len(fail_times)
        # newBackoffRecord: failures since the last success, and the last failure's time.
        if succeeded:
            last_success = max(_finished_at(p) for p in succeeded)
            after = [t for t in fail_times if t > last_success]
            tr.failures, tr.last_failure = len(after), (after[-1] if after else None)
        elif fail_times:
            tr.failures += len(fail_times)
            tr.last_failure = fail_times[-1]

    # --- manageJob --------------------------------------------------------------------
    def _manage(self, key: str, job: dict, tr: _Tracking, active: list[dict], pods: list[dict],
                status: dict) -> list[dict]:
        """Create or delete pods towards min(parallelism, remaining completions)."""
        spec = job["spec"]
        if spec.get("suspend"):
            self._delete(job, tr, active, count_failed=False, status=status)
            self._suspended(job, status, True)
            return []
        if _condition(status, "Suspended"):
            self._suspended(job, status, False)
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions")
        succeeded = status.get("succeeded", 0)
        if completions is None:
            want = len(active) if succeeded > 0 else parallelism
        else:
            want = max(0, min(completions - succeeded, parallelism))
        indexed = spec.get("completionMode") == "Indexed"
        remove: list[dict] = []
        keep = active
        if indexed:
            remove, keep = _duplicate_indexes(active, completions or 0)
        extra = len(active) - want - len(remove)
        if extra > 0:
            remove += ReplicaSetController._rank_for_deletion(keep)[:extra]  # controller.ActivePods
        if remove:
            remove = remove[:MAX_POD_CREATE_DELETE_PER_SYNC]
            self._delete(job, tr, remove, count_failed=False, status=status)
            gone = {p["metadata"]["uid"] for p in remove}
            return [p for p in active if p["metadata"]["uid"] not in gone]
        terminating = 0
        if _only_replace_failed(spec):
            # KEP-3939 podReplacementPolicy Failed: manageJob subtracts the terminating
            # pods, so a replacement waits until the old pod has fully terminated.
            terminating = sum(1 for p in pods if is_terminating(p))
        diff = min(want - terminating - len(active), MAX_POD_CREATE_DELETE_PER_SYNC)
        if diff <= 0:
            return active
        remaining = 0.0
        if tr.last_failure is not None:
            remaining = backoff_delay(tr.failures) - (self.env.now - tr.last_failure)
        if remaining > 0:
            self.enqueue(key, delay=remaining)
            return active
        indexes: list[int | None] = [None] * diff
        if indexed:
            busy = {i: None for p in active if (i := _index(p)) is not None}
            done = _parse_indexes(status.get("completedIndexes"), completions or 0)
            busy.update(dict.fromkeys(done))
            indexes = [i for i in range(completions or 0) if i not in busy][:diff]
        return active + self._create(job, tr, indexes)

    def _create(self, job: dict, tr: _Tracking, indexes: list[int | None]) -> list[dict]:
        """Create pods in slow-start batches 1, 2, 4, ...; an error stops the rest."""
        name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        template = json_copy(job["spec"]["template"])
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update({CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name,
                       LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name})
        if job["spec"].get("completionMode") == "Indexed":
            env = {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}}
            tspec = template.setdefault("spec", {})
            for c in (tspec.get("initContainers") or []) + (tspec.get("containers") or []):
                if not any(e.get("name") == COMPLETION_INDEX_ENV for e in c.get("env") or ()):
                    c["env"] = list(c.get("env") or ()) + [dict(env)]
        made: list[dict] = []
        batch = 1
        while len(made) < len(indexes):
            for index in indexes[len(made):len(made) + batch]:
                pod = pod_from_template(job, template, name)
                if index is not None:
                    pod["metadata"]["generateName"] = f"{name}-{index}-"
                    pod["metadata"].setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
                    pod["metadata"]["labels"][COMPLETION_INDEX] = str(index)
                    pod["spec"]["hostname"] = f"{name}-{index}"
                try:
                    created = self.api.create(pod, component=COMPONENT)
                except LabSupportError as err:
                    self.api.event(job, "Warning", "FailedCreate", f"Error creating: {err}",
                                   COMPONENT)
                    self.enqueue(self.api.key_of(job), delay=DEFAULT_POD_FAILURE_BACKOFF)
                    return made
                tr.known[created["metadata"]["uid"]] = None
                self.api.event(job, "Normal", "SuccessfulCreate",
                               f"Created pod: {created['metadata']['name']}", COMPONENT)
                made.append(created)
            batch *= 2
        return made

    def _delete(self, job: dict, tr: _Tracking, pods: list[dict], count_failed: bool,
                status: dict) -> None:
        """Delete pods; when the Job fails, each one counts as a failed pod."""
        for pod in pods:
            meta = pod["metadata"]
            if self.api.get(_POD, meta["namespace"], meta["name"]) is None:
                continue
            self.api.delete(_POD, meta["namespace"], meta["name"], component=COMPONENT)
            self.api.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}",
                           COMPONENT)
            if meta["uid"] not in tr.counted:
                tr.counted[meta["uid"]] = None
                if count_failed:
                    status["failed"] = status.get("failed", 0) + 1

    # --- conditions and status ---------------------------------------------------------
    def _add_condition(self, status: dict, type_: str, reason: str, message: str) -> dict:
        now = stamp(self.env.now)
        cond = {"type": type_, "status": "True", "lastProbeTime": now,
                "lastTransitionTime": now, "reason": reason, "message": message}
        conds = status.setdefault("conditions", [])
        for i, old in enumerate(conds):
            if old.get("type") == type_:
                if (old.get("status"), old.get("reason"), old.get("message")) != \
                        ("True", reason, message):
                    conds[i] = cond
                return conds[i]
        conds.append(cond)
        return cond

    def _suspended(self, job: dict, status: dict, suspended: bool) -> None:
        """The Suspended condition, its events, and a fresh startTime on resume."""
        reason, message, event = (("JobSuspended", "Job suspended", "Suspended") if suspended
                                  else ("JobResumed", "Job resumed", "Resumed"))
        old = next((c for c in status.get("conditions") or ()
                    if c.get("type") == "Suspended"), None)
        want = "True" if suspended else "False"
        if old is not None and old.get("status") == want or old is None and not suspended:
            return
        now = stamp(self.env.now)
        cond = {"type": "Suspended", "status": want, "lastProbeTime": now,
                "lastTransitionTime": now, "reason": reason, "message": message}
        conds = [c for c in status.get("conditions") or () if c.get("type") != "Suspended"]
        status["conditions"] = conds + [cond]
        if not suspended:
            status["startTime"] = now  # the deadline counts from the resume
        self.api.event(job, "Normal", event, message, COMPONENT)

    def _write(self, job: dict, status: dict) -> None:
        order = ("conditions", "startTime", "completionTime", "active", "succeeded", "failed",
                 "terminating", "completedIndexes", "uncountedTerminatedPods", "ready")
        status["uncountedTerminatedPods"] = {}
        out = {k: status[k] for k in order if k in status}
        for k in ("active", "succeeded", "failed", "completedIndexes"):  # omitempty
            if not out.get(k):
                out.pop(k, None)
        if (job.get("status") or {}) != out:
            self.api.update_status(job, out, COMPONENT)

    def _expire(self, key: str, job: dict, status: dict) -> None:
        """Delete the finished Job ttlSecondsAfterFinished after it finished."""
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        cond = _condition(status, "Complete") or _condition(status, "Failed") or {}
        finished = _seconds(status.get("completionTime") or cond.get("lastTransitionTime"))
        if finished is None:
            return
        wait = finished + ttl - self.env.now
        if wait > 0:
            self.enqueue(key, delay=wait)
            return
        meta = job["metadata"]
        if self.api.get(_JOB, meta["namespace"], meta["name"]) is not None:
            self.api.delete(_JOB, meta["namespace"], meta["name"], component=TTL_COMPONENT)


def _past_backoff_limit_on_failure(spec: dict, pods: list[dict]) -> bool:
    """OnFailure: container restarts of running and pending pods reach backoffLimit."""
    if (spec.get("template", {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = sum(cs.get("restartCount", 0)
                   for p in pods if p["status"].get("phase") in ("Running", "Pending")
                   for cs in (p["status"].get("initContainerStatuses") or [])
                   + (p["status"].get("containerStatuses") or []))
    limit = spec.get("backoffLimit", 6)
    return restarts > 0 if limit == 0 else restarts >= limit


def _duplicate_indexes(active: list[dict], completions: int) -> tuple[list[dict], list[dict]]:
    """Pods with a bad or repeated index to remove, and the rest.

    appendDuplicatedIndexPodsForRemoval: of pods sharing an index, the most
    advanced one stays.
    """
    remove: list[dict] = []
    by_index: dict[int, list[dict]] = {}
    for pod in active:
        i = _index(pod)
        if i is None or i >= completions:
            remove.append(pod)
        else:
            by_index.setdefault(i, []).append(pod)
    keep = []
    for i in sorted(by_index):
        ranked = ReplicaSetController._rank_for_deletion(by_index[i])
        remove.extend(ranked[:-1])
        keep.append(ranked[-1])
    return remove, keep
