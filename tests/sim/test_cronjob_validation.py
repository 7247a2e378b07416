"""CronJob validation and defaults, as kube-apiserver 1.37 applies them."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.sim.controllers.cronjob import CronSchedule
from labsupport.sim.cronvalidation import validate_cronjob


def cronjob(name="tick", schedule="*/5 * * * *", **spec):
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {"spec": {"template": {
                "spec": {"restartPolicy": "Never", "containers": [
                    {"name": "main", "image": "busybox:1.36"}]}}}}}}


@pytest.fixture
def sim():
    return ls.connect(seed=0)


@pytest.mark.parametrize("schedule,message", [
    ("every minute", 'spec.schedule: Invalid value: "every minute": '
                     "expected exactly 5 fields, found 2: [every minute]"),
    ("61 * * * *", 'spec.schedule: Invalid value: "61 * * * *": '
                   "end of range (61) above maximum (59): 61"),
    ("* * * * 7", 'spec.schedule: Invalid value: "* * * * 7": '
                  "end of range (7) above maximum (6): 7"),
    ("0 0 0 * *", 'spec.schedule: Invalid value: "0 0 0 * *": '
                  "beginning of range (0) below minimum (1): 0"),
    ("5-1 * * * *", 'spec.schedule: Invalid value: "5-1 * * * *": '
                    "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", 'spec.schedule: Invalid value: "*/0 * * * *": '
                    "step of range should be a positive number: */0"),
    ("x * * * *", 'spec.schedule: Invalid value: "x * * * *": failed to parse int from x: '
                  'strconv.Atoi: parsing "x": invalid syntax'),
    ("@fortnightly", 'spec.schedule: Invalid value: "@fortnightly": '
                     "unrecognized descriptor: @fortnightly"),
    ("TZ=UTC 0 * * * *", 'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": '
                         "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
    ("CRON_TZ=Europe/Paris 0 3 * * *", 'spec.schedule: Invalid value: '
     '"CRON_TZ=Europe/Paris 0 3 * * *": cannot use TZ or CRON_TZ in schedule, use timeZone '
     "field instead"),
])
def test_bad_schedules_are_refused_with_the_api_servers_message(sim, schedule, message):
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(cronjob(schedule=schedule))
    assert str(err.value) == f'The CronJob "tick" is invalid: {message}'
    assert err.value.field == "spec.schedule"
    assert sim.list("cronjobs") == []


@pytest.mark.parametrize("schedule", ["0 9 * * MON-FRI", "@hourly", "*/15 0-6 1,15 JAN *",
                                      "@every 90s", "0 0 29 2 ?"])
def test_good_schedules_are_stored(sim, schedule):
    assert sim.apply(cronjob(schedule=schedule)) == ["cronjob/tick"]


@pytest.mark.parametrize("zone,detail", [
    ("Europe/Pariss", "unknown time zone Europe/Pariss"),
    ("Local", "timeZone must be an explicit time zone as defined in "
              "https://www.iana.org/time-zones"),
    ("", "timeZone must be nil or non-empty string"),
    ("../etc/passwd", "unknown time zone ../etc/passwd"),
])
def test_time_zones_are_validated(sim, zone, detail):
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(cronjob(timeZone=zone))
    assert str(err.value) == (f'The CronJob "tick" is invalid: spec.timeZone: '
                              f'Invalid value: "{zone}": {detail}')


def test_a_known_time_zone_is_accepted(sim):
    sim.apply(cronjob(timeZone="Europe/Paris"))
    assert sim.get("cronjob/tick")["spec"]["timeZone"] == "Europe/Paris"


def test_defaults_are_stored(sim):
    sim.apply(cronjob())
    spec = sim.get("cronjob/tick")["spec"]
    # SetDefaults_CronJob (pkg/apis/batch/v1/defaults.go)
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    # The pod template of jobTemplate is defaulted; the Job's own fields are not.
    pod_spec = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    assert pod_spec["terminationGracePeriodSeconds"] == 30
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]


def test_explicit_values_are_kept(sim):
    sim.apply(cronjob(concurrencyPolicy="Forbid", suspend=True, successfulJobsHistoryLimit=0,
                      failedJobsHistoryLimit=5))
    spec = sim.get("cronjob/tick")["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Forbid", True, 0, 5)


def test_an_update_is_validated_too(sim):
    sim.apply(cronjob())
    with pytest.raises(ls.InvalidManifest, match="expected exactly 5 fields, found 1"):
        sim.apply(cronjob(schedule="hourly"))
    assert sim.get("cronjob/tick")["spec"]["schedule"] == "*/5 * * * *"


def test_a_long_name_is_refused_on_create():
    name = "n" * 53
    errors = validate_cronjob(cronjob(name=name, concurrencyPolicy="Allow"), None)
    assert [str(e) for e in errors] == [
        f'metadata.name: Invalid value: "{name}": must be no more than 52 characters']


def test_negative_numbers_and_an_old_tz_schedule():
    cj = cronjob(schedule="TZ=UTC 0 * * * *", concurrencyPolicy="Allow",
                 startingDeadlineSeconds=-1, failedJobsHistoryLimit=-2)
    assert [str(e) for e in validate_cronjob(cj, None)] == [
        'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in '
        "schedule, use timeZone field instead",
        "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
        "spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0"]
    # An object stored before the rule keeps its TZ= schedule on update...
    old = cronjob(schedule="TZ=UTC 0 * * * *", concurrencyPolicy="Allow")
    assert validate_cronjob(old, old) == []
    # ...but cannot add a timeZone next to it.
    both = cronjob(schedule="TZ=UTC 0 * * * *", concurrencyPolicy="Allow", timeZone="UTC")
    assert [e.detail for e in validate_cronjob(both, old)] == [
        "cannot use both timeZone field and TZ or CRON_TZ in schedule"]


def test_the_controller_parses_as_the_api_server_does():
    with pytest.raises(ls.Invalid, match=r"^beginning of range \(0\) below minimum \(1\): 0$"):
        CronSchedule.parse("0 0 0 * *")
    assert CronSchedule.parse("@daily") == CronSchedule.parse("0 0 * * *")
