"""The CronJob controller: create a Job at every time of a cron schedule.

``spec.schedule`` is a standard five-field cron line (minute, hour, day of
month, month, day of week) or a macro such as ``@hourly``, read as
kube-controller-manager reads it (robfig/cron's ParseStandard), in UTC unless
``spec.timeZone`` names a zone. At each scheduled time the controller
creates the Job ``<cronjob>-<minutes since 1970>`` from ``jobTemplate``,
unless ``concurrencyPolicy: Forbid`` and a previous Job is still running
(``Replace`` deletes that Job instead), ``suspend`` is true, or the time is
more than ``startingDeadlineSeconds`` ago. It keeps the newest 3 succeeded and
1 failed Jobs (``successfulJobsHistoryLimit``, ``failedJobsHistoryLimit``)
and reports ``active``, ``lastScheduleTime`` and ``lastSuccessfulTime``.
Rules and messages follow pkg/controller/cronjob/cronjob_controllerv2.go and
utils.go.

Example:
    >>> from labsupport.sim.controllers.cronjob import CronSchedule
    >>> from datetime import datetime, timezone
    >>> s = CronSchedule.parse("30 9 * * 1-5")          # 09:30 on weekdays
    >>> s.next(datetime(2025, 1, 3, 10, 0, tzinfo=timezone.utc)).isoformat()   # a Friday
    '2025-01-06T09:30:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from labsupport.errors import AlreadyExists, Invalid, LabSupportError
from labsupport.kinds import type_for_kind
from labsupport.sim.clock import EPOCH, stamp
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.podutil import owner_reference
from labsupport.sim.jsoncopy import json_copy
from labsupport.views import parse_time

if TYPE_CHECKING:
    pass

__all__ = ["CronJobController", "CronSchedule"]

COMPONENT = "cronjob-controller"
# utils.go: nextScheduleDelta, added to the wait for the next scheduled time.
NEXT_SCHEDULE_DELTA = 0.1
# k8s.io/api/batch/v1: CronJobScheduledTimestampAnnotation, written on every
# Job a CronJob makes (KEP-4026, stable since v1.32; unchanged in v1.37).
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
# pkg/apis/batch/v1/defaults.go: SetDefaults_CronJob.
SUCCESSFUL_JOBS_HISTORY_LIMIT = 3
FAILED_JOBS_HISTORY_LIMIT = 1
_JOB = type_for_kind("Job")
# robfig/cron: the descriptors ParseStandard accepts.
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (min, max, names) of minute, hour, day of month, month, day of week.
_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}),
           (1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
           (0, 6, {n: i for i, n in enumerate(_DAYS)}))
_UTC = timezone.utc


def _int(text: str) -> int:
    """robfig/cron ``mustParseInt``, with Go's ``strconv.Atoi`` error text."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise Invalid(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": '
                      "invalid syntax")
    n = int(text)
    if n < 0:
        raise Invalid(f"negative number ({n}) not allowed: {text}")
    return n


def _field(expr: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """One cron field: the values it allows, and whether it was a bare ``*``.

    robfig/cron v3 ``getField`` and ``getRange`` (what kube-apiserver and
    kube-controller-manager parse schedules with), with their error texts.
    """
    values: set[int] = set()
    star = False

    def number(text: str) -> int:  # parseIntOrName
        n = names.get(text.upper())
        return _int(text) if n is None else n

    for part in (p for p in expr.split(",") if p):
        range_and_step = part.split("/")
        low_high = range_and_step[0].split("-")
        is_star = low_high[0] in ("*", "?")
        if is_star:
            start, end = low, high
        else:
            start = number(low_high[0])
            if len(low_high) == 1:
                end = start
            elif len(low_high) == 2:
                end = number(low_high[1])
            else:
                raise Invalid(f"too many hyphens: {part}")
        if len(range_and_step) == 1:
            step = 1
        elif len(range_and_step) == 2:
            step = _int(range_and_step[1])
            if len(low_high) == 1:
                end = high  # "N/step" means "N-max/step"
        else:
            raise Invalid(f"too many slashes: {part}")
        if start < low:
            raise Invalid(f"beginning of range ({start}) below minimum ({low}): {part}")
        if end > high:
            raise Invalid(f"end of range ({end}) above maximum ({high}): {part}")
        if start > end:
            raise Invalid(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        if step == 0:
            raise Invalid(f"step of range should be a positive number: {part}")
        star = star or (is_star and step == 1)
        values.update(range(start, end + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron schedule; :meth:`next` gives the next time after a moment."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_star: bool
    weekdays_star: bool

    @classmethod
    def parse(cls, text: str) -> CronSchedule:
        """Read a five-field line or a macro.

        Raises:
            Invalid: the line is not a standard cron schedule; says why.

        Example:
            >>> CronSchedule.parse("@hourly") == CronSchedule.parse("0 * * * *")
            True
            >>> CronSchedule.parse("61 * * * *")
            Traceback (most recent call last):
            ...
            labsupport.errors.Invalid: end of range (61) above maximum (59): 61
        """
        if not text:
            raise Invalid("empty spec string")
        if text.startswith("@"):
            if text not in _MACROS:
                if text.startswith("@every "):
                    raise Invalid(f"{text}: @every schedules are not modelled by the simulator")
                raise Invalid(f"unrecognized descriptor: {text}")  # parseDescriptor
            text = _MACROS[text]
        parts = text.split()
        if len(parts) != 5:
            # normalizeFields; Go prints the fields as [a b c].
            raise Invalid(f"expected exactly 5 fields, found {len(parts)}: [{' '.join(parts)}]")
        parsed = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        return cls(parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], parsed[4][0],
                   parsed[2][1], parsed[4][1])

    def _day_matches(self, t: datetime) -> bool:
        # robfig/cron dayMatches: with a "*" in either day field both must match,
        # otherwise either one is enough ("1 * * 1" fires on the 1st and on Mondays).
        dom = t.day in self.days
        dow = (t.weekday() + 1) % 7 in self.weekdays
        return dom and dow if self.days_star or self.weekdays_star else dom or dow

    def next(self, after: datetime) -> datetime | None:
        """The first scheduled minute strictly after ``after`` (None within 5 years)."""
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = after + timedelta(days=5 * 366)
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None


def _zone(name: str | None) -> tzinfo:
    if not name:
        return _UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise Invalid(f"unknown time zone {name!r}") from err


def _finished(job: dict) -> str | None:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return None


class CronJobController(SimController):
    """Reconciles CronJobs."""

    name = COMPONENT
    kind = "CronJob"
    watches = ("CronJob", "Job")
    owns = ("Job",)


    def _datetime(self, seconds: float | None = None) -> datetime:
        return datetime.fromtimestamp(EPOCH + (self.env.now if seconds is None else seconds), _UTC)

    def sync(self, key: str) -> None:
        """Reconcile one CronJob: active list, history limits, and the Job due now."""
        cj = self.sim.store.peek(key)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return
        status = json_copy(cj.get("status") or {})
        jobs = [j for j in self.sim._owned(cj["metadata"]["uid"]) if j["kind"] == "Job"]
        self._reconcile_active(cj, status, jobs)
        wait = self._schedule(cj, status)
        self._cleanup(cj, status, jobs)
        if (cj.get("status") or {}) != status:
            self.api.update_status(cj, status, COMPONENT)
        if wait is not None:
            self.enqueue(key, delay=max(wait, 0.01))

    def _reconcile_active(self, cj: dict, status: dict, jobs: list[dict]) -> None:
        active = status.get("active") or []
        uids = [ref.get("uid") for ref in active]
        for job in jobs:
            done = _finished(job)
            juid = job["metadata"]["uid"]
            if juid in uids and done:
                active = [ref for ref in active if ref.get("uid") != juid]
                self.api.event(cj, "Normal", "SawCompletedJob",
                               f"Saw completed job: {job['metadata']['name']}, status: {done}",
                               COMPONENT)
            elif juid not in uids and not done:
                self.api.event(cj, "Warning", "UnexpectedJob", "Saw a job that the controller "
                               f"did not create or forgot: {job['metadata']['name']}", COMPONENT)
            if done == "Complete":
                completed = (job.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if completed and (last is None or parse_time(completed) > parse_time(last)):
                    status["lastSuccessfulTime"] = completed
        present = {j["metadata"]["uid"] for j in jobs}
        for ref in list(active):
            if ref.get("uid") not in present:
                self.api.event(cj, "Normal", "MissingJob",
                               f"Active job went missing: {ref.get('name')}", COMPONENT)
                active.remove(ref)
        if active:
            status["active"] = active
        else:
            status.pop("active", None)

    def _schedule(self, cj: dict, status: dict) -> float | None:
        """Create the Job due now, if any; return the seconds until the next time."""
        spec = cj["spec"]
        try:
            zone = _zone(spec.get("timeZone"))
        except Invalid as err:
            self.api.event(cj, "Warning", "UnknownTimeZone",
                           f"invalid timeZone: {spec.get('timeZone')!r}: {err}", COMPONENT)
            return None
        if spec.get("suspend"):
            return None
        try:
            schedule = CronSchedule.parse(spec.get("schedule", ""))
        except Invalid as err:
            self.api.event(cj, "Warning", "UnparseableSchedule",
                           f"unparseable schedule: {spec.get('schedule')!r} : {err}", COMPONENT)
            return None
        now = self._datetime().astimezone(zone)
        earliest = parse_time(status.get("lastScheduleTime") or
                              cj["metadata"].get("creationTimestamp")) or EPOCH
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, EPOCH + self.env.now - deadline)
        due = self._most_recent(cj, schedule, datetime.fromtimestamp(earliest, zone), now)
        upcoming = schedule.next(now)
        wait = None if upcoming is None else \
            (upcoming - now).total_seconds() + NEXT_SCHEDULE_DELTA
        if due is None:
            return wait
        name = f"{cj['metadata']['name']}-{int(due.timestamp()) // 60}"  # getJobName
        if any(ref.get("name") == name for ref in status.get("active") or ()) or \
                status.get("lastScheduleTime") == stamp(due.timestamp() - EPOCH):
            return wait  # already processed
        if spec.get("concurrencyPolicy", "Allow") == "Forbid" and status.get("active"):
            self.api.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior "
                           "execution is running and concurrency policy is Forbid", COMPONENT)
            return wait
        if spec.get("concurrencyPolicy", "Allow") == "Replace":
            for ref in list(status.get("active") or ()):
                self._delete_job(cj, status, ref.get("namespace"), ref.get("name"))
        template = spec.get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": name, "namespace": cj["metadata"]["namespace"],
                            "labels": dict(tmeta.get("labels") or {}),
                            "annotations": dict(tmeta.get("annotations") or {},
                                                **{SCHEDULED_TIMESTAMP: due.isoformat().replace(
                                                    "+00:00", "Z")}),
                            "ownerReferences": [owner_reference(cj)]},
               "spec": json_copy(template.get("spec") or {})}
        try:
            created = self.api.create(job, component=COMPONENT)
        except AlreadyExists:
            return wait
        except LabSupportError as err:
            self.api.event(cj, "Warning", "FailedCreate", f"Error creating job: {err}", COMPONENT)
            raise
        self.api.event(cj, "Normal", "SuccessfulCreate", f"Created job {name}", COMPONENT)
        status.setdefault("active", []).append(
            {"apiVersion": "batch/v1", "kind": "Job", "name": name,
             "namespace": created["metadata"]["namespace"], "uid": created["metadata"]["uid"],
             "resourceVersion": created["metadata"].get("resourceVersion", "")})
        status["lastScheduleTime"] = stamp(due.timestamp() - EPOCH)
        return wait

    def _most_recent(self, cj: dict, schedule: CronSchedule, earliest: datetime,
                     now: datetime) -> datetime | None:
        """The latest scheduled time in (earliest, now], or None (mostRecentScheduleTime)."""
        due, t, missed = None, earliest, 0
        while (t := schedule.next(t)) is not None and t <= now:
            due, missed = t, missed + 1
            if missed == 101:
                self.api.event(cj, "Warning", "TooManyMissedTimes", "too many missed start "
                               "times. Set or decrease .spec.startingDeadlineSeconds or check "
                               "clock skew", COMPONENT)
                # Skip ahead: start again from the shortest look-back that still has a time.
                for back in (60, 3600, 86400, 32 * 86400, 367 * 86400):
                    candidate = schedule.next(now - timedelta(seconds=back))
                    if candidate is not None and candidate <= now:
                        t = max(t, now - timedelta(seconds=back))
                        break
        return due

    def _cleanup(self, cj: dict, status: dict, jobs: list[dict]) -> None:
        """Keep the newest finished Jobs within the history limits (cleanupFinishedJobs)."""
        spec = cj["spec"]
        for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit",
                                                  SUCCESSFUL_JOBS_HISTORY_LIMIT)),
                            ("Failed", spec.get("failedJobsHistoryLimit",
                                                FAILED_JOBS_HISTORY_LIMIT))):
            if limit is None:
                continue
            done = [j for j in jobs if _finished(j) == kind]
            done.sort(key=lambda j: ((j.get("status") or {}).get("startTime") or "~",
                                     j["metadata"]["name"]))  # byJobStartTime
            for job in done[: max(0, len(done) - limit)]:
                self._delete_job(cj, status, job["metadata"]["namespace"], job["metadata"]["name"])

    def _delete_job(self, cj: dict, status: dict, namespace: str | None, name: str | None) -> None:
        if not name or self.api.get(_JOB, namespace, name) is None:
            return
        self.api.delete(_JOB, namespace, name, component=COMPONENT)
        active = [ref for ref in status.get("active") or () if ref.get("name") != name]
        if active:
            status["active"] = active
        else:
            status.pop("active", None)
        self.api.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}", COMPONENT)
