"""How the API server validates a CronJob (pkg/apis/batch/validation).

``ValidateCronJobCreate`` and ``ValidateCronJobUpdate`` check, among others:

- ``spec.schedule``: required, and a schedule robfig/cron's ``ParseStandard``
  accepts (five fields or a descriptor such as ``@hourly``), the parser's
  own message as the detail; ``TZ=`` or ``CRON_TZ=`` in it is refused
  (``spec.timeZone`` says the zone), unless the old object already had it;
- ``spec.timeZone``, when set or changed: not empty, not ``Local``, made of
  IANA name parts, and known to the time zone database;
- ``spec.concurrencyPolicy``: ``Allow``, ``Forbid`` or ``Replace``;
- ``startingDeadlineSeconds`` and the two history limits: not negative;
- on create, ``metadata.name`` at most 52 characters (the Job names add 11).

Example:
    >>> cj = {"kind": "CronJob", "metadata": {"name": "tick"},
    ...       "spec": {"schedule": "every minute", "concurrencyPolicy": "Allow"}}
    >>> [str(e) for e in validate_cronjob(cj, None)]  # doctest: +NORMALIZE_WHITESPACE
    ['spec.schedule: Invalid value: "every minute": expected exactly 5 fields,
      found 2: [every minute]']
"""

from __future__ import annotations

import re
from typing import Any

from labsupport.errors import Invalid
from labsupport.sim.fielderrors import FieldError

__all__ = ["validate_cronjob", "validate_schedule", "validate_time_zone"]

# apimachinery validation: isNegativeErrorMsg.
NEGATIVE = "must be greater than or equal to 0"
# DNS1035LabelMaxLength (63) minus the 11 characters of "-<minutes since 1970>".
MAX_NAME = 52
POLICIES = ("Allow", "Forbid", "Replace")
# validation.go validTimeZoneCharacters: one part of an IANA name.
_ZONE_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")
# Go's time.ParseDuration units, for "@every <duration>".
_GO_DURATION = re.compile(r"^[+-]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[+-]?0$")


def _unsupported(field: str, value: Any, supported: tuple[str, ...]) -> FieldError:
    # field.NotSupported: `Unsupported value: "x": supported values: "a", "b"`.
    return FieldError("Unsupported value", field,
                      "supported values: " + ", ".join(f'"{v}"' for v in supported), value, True)


def validate_schedule(schedule: str, allow_tz: bool = False,
                      time_zone: str | None = None) -> list[FieldError]:
    """``validateScheduleFormat``: what robfig/cron refuses, then the TZ rule.

    Example:
        >>> [e.detail for e in validate_schedule("TZ=UTC 0 * * * *")]
        ['cannot use TZ or CRON_TZ in schedule, use timeZone field instead']
    """
    errors = []
    detail = _parse_error(schedule)
    if detail is not None:
        errors.append(FieldError.invalid("spec.schedule", schedule, detail))
    if allow_tz and "TZ" in schedule and time_zone is not None:
        errors.append(FieldError.invalid(
            "spec.schedule", schedule,
            "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
    elif not allow_tz and "TZ" in schedule:
        errors.append(FieldError.invalid(
            "spec.schedule", schedule,
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    return errors


def _parse_error(schedule: str) -> str | None:
    """robfig/cron v3 ``ParseStandard``'s error text, or None when it parses."""
    from labsupport.sim.controllers.cronjob import CronSchedule

    spec = schedule
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        zone = spec[spec.index("=") + 1: space if space >= 0 else len(spec)]
        if _unknown_zone(zone):
            return f"provided bad location {zone}: unknown time zone {zone}"
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@every "):
        duration = spec[len("@every "):]
        if not _GO_DURATION.match(duration):
            return f'failed to parse duration {spec}: time: invalid duration "{duration}"'
        return None
    try:
        CronSchedule.parse(spec)
    except Invalid as err:
        return str(err)
    return None


def _unknown_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name in ("UTC", ""):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return True
    return False


def validate_time_zone(time_zone: str | None) -> list[FieldError]:
    """``validateTimeZone``.

    Example:
        >>> [str(e) for e in validate_time_zone("Europe/Pariss")]
        ['spec.timeZone: Invalid value: "Europe/Pariss": unknown time zone Europe/Pariss']
    """
    field = "spec.timeZone"
    if time_zone is None:
        return []
    if time_zone == "":
        return [FieldError.invalid(field, time_zone, "timeZone must be nil or non-empty string")]
    for part in time_zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _ZONE_PART.match(part):
            return [FieldError.invalid(field, time_zone, f"unknown time zone {time_zone}")]
    errors = []
    if time_zone.lower() == "local":
        errors.append(FieldError.invalid(
            field, time_zone,
            "timeZone must be an explicit time zone as defined in "
            "https://www.iana.org/time-zones"))
    elif _unknown_zone(time_zone):
        # Go's time.LoadLocation error.
        errors.append(FieldError.invalid(field, time_zone, f"unknown time zone {time_zone}"))
    return errors


def validate_cronjob(obj: dict, old: dict | None) -> list[FieldError]:
    """``ValidateCronJobCreate`` (``old`` None) or ``ValidateCronJobUpdate``, for the spec.

    The job template is checked where the Job is created, not here.
    """
    spec = obj.get("spec") or {}
    old_spec = (old or {}).get("spec") or {} if old is not None else None
    errors: list[FieldError] = []
    schedule = spec.get("schedule")
    if not schedule:
        errors.append(FieldError.required("spec.schedule"))
    elif isinstance(schedule, str):
        allow_tz = old_spec is not None and "TZ" in str(old_spec.get("schedule") or "")
        errors += validate_schedule(schedule, allow_tz, spec.get("timeZone"))
    deadline = spec.get("startingDeadlineSeconds")
    if isinstance(deadline, int) and deadline < 0:
        errors.append(FieldError.invalid("spec.startingDeadlineSeconds", deadline, NEGATIVE))
    if old_spec is None or old_spec.get("timeZone") != spec.get("timeZone"):
        errors += validate_time_zone(spec.get("timeZone"))
    policy = spec.get("concurrencyPolicy")
    if not policy:
        errors.append(FieldError.required("spec.concurrencyPolicy"))
    elif policy not in POLICIES:
        errors.append(_unsupported("spec.concurrencyPolicy", policy, POLICIES))
    for limit in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        value = spec.get(limit)
        if isinstance(value, int) and value < 0:
            errors.append(FieldError.invalid(f"spec.{limit}", value, NEGATIVE))
    name = (obj.get("metadata") or {}).get("name") or ""
    if old is None and len(name) > MAX_NAME:
        errors.append(FieldError.invalid("metadata.name", name,
                                         f"must be no more than {MAX_NAME} characters"))
    return errors
