"""How a simulated container behaves: pull time, start time, exits, probes, load.

A simulated container runs no code, so something must say how long its
image takes to pull, when it is up, whether it exits, whether its probes
pass, and how it answers requests: how long each takes, the CPU and memory
it costs, and whether it crashes. The rules, most specific first:

1. Annotations on the pod (set them in the pod template), all optional:

   ==========================================  ==========================================
   annotation                                  meaning (seconds unless said)
   ==========================================  ==========================================
   ``sim.labsupport.io/pull-seconds``          image pull time on a node without it
   ``sim.labsupport.io/pull-error``            pulls of the image fail: ``not-found``,
                                               ``unauthorized`` or ``timeout``
   ``sim.labsupport.io/start-seconds``         from start until the app answers
   ``sim.labsupport.io/exit-after``            the container exits (crashes) this long
                                               after start
   ``sim.labsupport.io/exit-code``             its exit code (default 1 with exit-after)
   ``sim.labsupport.io/fail-liveness-after``   liveness probes fail from then on
   ``sim.labsupport.io/fail-readiness-after``  readiness probes fail from then on
   ``sim.labsupport.io/never-ready``           "true": readiness probes always fail
   ``sim.labsupport.io/ignore-sigterm``        "true": runs until the grace period ends
   ``sim.labsupport.io/service-time``          time to serve one request, a distribution:
                                               ``exponential:0.02``, ``constant:0.05``,
                                               ``lognormal:0.02,0.5``, ``uniform:0.01,0.03``
   ``sim.labsupport.io/cpu-per-request``       CPU seconds one request uses
   ``sim.labsupport.io/cpu-idle``              CPU used with no requests (``"2m"``)
   ``sim.labsupport.io/memory-baseline``       memory with no requests (``"32Mi"``)
   ``sim.labsupport.io/memory-per-request``    memory per request in flight (``"256Ki"``)
   ``sim.labsupport.io/crash-probability``     chance that one request crashes the
                                               container (``"0.001"``)
   ``sim.labsupport.io/concurrency``           requests served at once (workers)
   ``sim.labsupport.io/queue-limit``           requests that may wait for a worker;
                                               more are refused with 503
   ``sim.labsupport.io/listen-ports``          ports the app listens on (``"8080,9090"``);
                                               see :mod:`labsupport.sim.listening`
   ==========================================  ==========================================

   A key may name one container: ``sim.labsupport.io/exit-after.web``.
   :func:`annotation_table` gives the same table, with the allowed forms and
   defaults, as rows a lesson can show.
2. How the container ends (exits, runs, or waits) is decided by the first
   rule of this table that applies (:data:`RULES`; :func:`decide`):

   ======================  ======================================  ================================
   rule                    when                                    how the container ends
   ======================  ======================================  ================================
   annotation              ``sim.labsupport.io/exit-after`` is     exits that long after start with
                           set (or ``exit-code`` on a container    ``exit-code`` (default 1)
                           that exits)
   one-shot program        ``echo``, ``true``, ``false``,          exits with 0 (``false``: 1; a
                           ``printenv``, ``date``, ``env``,        one-liner's ``exit(N)``: N); a
                           ``cat``, ``ls``, ``hostname``,          one-liner after 1 s
                           ``uname``, a
                           ``perl``/``python``/``node``
                           one-liner, one
                           ``curl``/``wget``/``nslookup``
   script                  a shell script whose outcome is         exits after its sleeps with its
                           certain: ``exit 3``, ``sleep 5``,       exit code
                           ``sleep 5; exit 1``, ``echo hi &&
                           sleep 10``
   retry loop              a loop retrying ``nslookup`` or         retries at its ``sleep``
                           ``getent`` (the name must resolve), or  interval; exits 0 once the name
                           ``wget``, ``curl``, ``nc``,             is ready; a counted ``for`` loop
                           ``pg_isready`` (the Service must have   gives up
                           ready endpoints)
   server                  ``nginx``, ``httpd``, ``python -m       runs until stopped
                           http.server``, ``sleep infinity``,
                           ``tail -f``, ``while true``
   shell without a script  ``sh``, ``bash``, ``python``,           exits with 0 at once (no
                           ``perl``, ``node`` with no script       terminal: end of input)
   image                   no command, no args: the image's own    servers run; shells exit with 0
                           command                                 at once; ``curlimages/curl``
                           (:mod:`labsupport.sim.images`), read    exits with 2
                           by the rules above
   default                 anything else: an unknown image         init container or Job's pod
                           without a command, ``sh run.sh``,       (``restartPolicy``
                           ``python app.py``                       Never/OnFailure): exits 0 after
                                                                   1 s; else runs
   ======================  ======================================  ================================

   A native sidecar (an init container with ``restartPolicy: Always``) is
   read like an app container. :func:`workload` shows the rule and why.
   docs/CONTAINERS.md has the same table with examples.
3. The image's start time (databases initialise first) comes from the
   catalogue. Server images have request profiles (:data:`IMAGE_PROFILES`):
   nginx answers in about 2 ms, the HPA walkthrough's ``hpa-example`` burns
   CPU for 50 ms.
4. Otherwise the defaults of :data:`ANNOTATIONS`. A container serves
   one request at a time per 100m of CPU it requests (at least one), and by
   default a busy worker uses 100m of CPU, so a pod at full load uses about
   its CPU request.

Example:
    >>> from labsupport.sim.workloads import behaviour
    >>> pod = {"metadata": {"annotations": {"sim.labsupport.io/start-seconds": "4"}},
    ...        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
    >>> b = behaviour(pod, pod["spec"]["containers"][0])
    >>> b.start_seconds, b.exit_after
    (4.0, None)
    >>> b.service_time, b.concurrency
    (Distribution('exponential:0.002'), 1)
    >>> c = {"name": "job", "image": "busybox:1.36", "command": ["sh", "-c", "exit 3"]}
    >>> behaviour({"spec": {}}, c).exit_after, behaviour({"spec": {}}, c).exit_code
    (0.0, 3)
"""

from __future__ import annotations

import html
import math
import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from labsupport.errors import Invalid, InvalidManifest
from labsupport.quantity import cpu_cores, memory_bytes
from labsupport.sim import images
from labsupport.sim.commands import DNS, RETRY_SECONDS, Outcome, read_command
from labsupport.sim.distribution import Distribution
from labsupport.sim.images import ImageInfo
from labsupport.sim.registry import PULL_ERRORS

# Distribution (labsupport.sim.distribution) is re-exported: annotations are written in it.
__all__ = ["Behaviour", "behaviour", "decide", "workload", "Distribution", "ANNOTATION_PREFIX",
           "ANNOTATIONS", "IMAGE_PROFILES", "RULES", "annotation_table", "validate_annotations"]

ANNOTATION_PREFIX = "sim.labsupport.io/"

# Defaults: a pull of a typical image on kind takes seconds; an app needs a
# moment before it answers. Both are the simulator's choices, not Kubernetes'.
DEFAULT_PULL_SECONDS = 2.0
DEFAULT_START_SECONDS = 1.0
#: How long a container whose command the simulator cannot read runs, when
#: it is expected to finish (an init container, a Job's pod): its choice.
DEFAULT_RUN_SECONDS = 1.0
ANNOTATION_RULE, IMAGE_RULE, DEFAULT_RULE = "annotation", "image", "default"
# One worker per 100m of requested CPU (at least one); a busy worker uses 100m
# unless cpu-per-request says otherwise. The simulator's model, not Kubernetes'.
CPU_PER_WORKER = 0.1
DEFAULT_QUEUE_LIMIT = 1000
INF = math.inf

#: Every annotation: (name, allowed form, default, meaning).
ANNOTATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("pull-seconds", "seconds", "2", "image pull time on a node that lacks the image"),
    ("pull-error", '"not-found", "unauthorized" or "timeout"', "none (pulls succeed)",
     "every pull of the image fails so (ErrImagePull, then ImagePullBackOff)"),
    ("start-seconds", "seconds", "1", "from container start until the app answers"),
    ("exit-after", "seconds", "never (servers)",
     "the container exits (crashes) this long after start"),
    ("exit-code", "whole number", "1 with exit-after", "the exit code when it exits"),
    ("fail-liveness-after", "seconds", "never", "liveness probes fail from then on (restarts)"),
    ("fail-readiness-after", "seconds", "never",
     "readiness probes fail from then on (leaves the Service, no restart)"),
    ("never-ready", '"true" or "false"', "false", "readiness probes always fail"),
    ("ignore-sigterm", '"true" or "false"', "false", "runs until the grace period ends"),
    ("service-time", "exponential:MEAN, constant:S, lognormal:MEAN,SIGMA, uniform:LOW,HIGH",
     "by image; else exponential:0.02", "time one worker needs to serve one request"),
    ("cpu-per-request", "CPU seconds", "a tenth of the mean service time",
     "CPU one request uses (so a busy worker uses 100m)"),
    ("cpu-idle", "CPU quantity", "1m", "CPU the container uses with no requests"),
    ("memory-baseline", "memory quantity", "by image; else 32Mi", "memory with no requests"),
    ("memory-per-request", "memory quantity", "256Ki", "extra memory per request in flight"),
    ("crash-probability", "number from 0 to 1", "0",
     "chance that one request crashes the container"),
    ("concurrency", "whole number, 1 or more", "1 per 100m of CPU request (at least 1)",
     "requests served at once (workers)"),
    ("queue-limit", "whole number, 0 or more", str(DEFAULT_QUEUE_LIMIT),
     "requests that may wait for a worker; more are refused with 503"),
    # Read by labsupport.sim.listening (probes and Services on a closed port are refused).
    ("listen-ports", "port numbers separated by commas", "by image; unknown: every port",
     "the ports the app listens on"),
)
_FORMS = {name: form for name, form, _, _ in ANNOTATIONS}

#: How a container ends, first rule first: (rule, when, how it ends). The table above.
RULES: tuple[tuple[str, str, str], ...] = (
    ("annotation", "sim.labsupport.io/exit-after is set (or exit-code on a container that exits)",
     "exits that long after start with exit-code (default 1)"),
    ("one-shot program", "the command runs echo, true, false, printenv, date, env, cat, ls, "
     "hostname, uname, a perl/python/node one-liner, one curl/wget/nslookup",
     "exits with 0 (false: 1; a one-liner's exit(N): N), a one-liner after 1 s"),
    ("script", "a shell script whose outcome is certain: exit 3, sleep 5, sleep 5; exit 1, "
     "echo hi && sleep 10", "exits after its sleeps with its exit code"),
    ("retry loop", "a loop retrying nslookup/getent (the name must resolve) or wget/curl/nc/"
     "pg_isready (the Service must have ready endpoints) against a Service or DNS name",
     "retries at its sleep interval; goes on (exits 0) once the name resolves or the Service "
     "has ready endpoints; a counted for loop gives up after its tries"),
    ("server", "nginx, httpd, python -m http.server, sleep infinity, tail -f, while true",
     "runs until stopped"),
    ("shell without a script", "sh, bash, python, perl, node with no script",
     "exits with 0 at once: without a terminal it reads end of input"),
    ("image", "no command and no args: the image's own command (labsupport.sim.images), read by "
     "the rules above", "server images run, shell images exit with 0 at once, "
     "curlimages/curl exits with 2"),
    ("default", "anything else (an image the catalogue does not know without a command, "
     "sh run.sh, python app.py)", "an init container or a Job's pod (restartPolicy Never or "
     "OnFailure) exits with 0 after 1 s; others run until stopped"),
)

#: Request profiles of well-known images (by the last part of the image name).
IMAGE_PROFILES: dict[str, dict[str, str]] = {
    "nginx": {"service-time": "exponential:0.002", "memory-baseline": "8Mi"},
    "httpd": {"service-time": "exponential:0.003", "memory-baseline": "12Mi"},
    "caddy": {"service-time": "exponential:0.002", "memory-baseline": "16Mi"},
    "traefik": {"service-time": "exponential:0.002", "memory-baseline": "32Mi"},
    "redis": {"service-time": "exponential:0.0005", "memory-baseline": "8Mi"},
    "memcached": {"service-time": "exponential:0.0005", "memory-baseline": "4Mi"},
    # registry.k8s.io/hpa-example (php-apache): each request computes square roots.
    "hpa-example": {"service-time": "constant:0.05", "cpu-per-request": "0.025",
                    "memory-baseline": "16Mi"},
}
_DEFAULT_PROFILE = {"service-time": "exponential:0.02", "memory-baseline": "32Mi"}


@dataclass(frozen=True)
class Behaviour:
    """What one container does in the simulator."""

    pull_seconds: float = DEFAULT_PULL_SECONDS
    #: A forced pull failure (labsupport.sim.registry.PULL_ERRORS), or None.
    pull_error: str | None = None
    start_seconds: float = DEFAULT_START_SECONDS
    exit_after: float | None = None
    exit_code: int = 0
    fail_liveness_after: float | None = None
    fail_readiness_after: float | None = None
    never_ready: bool = False
    ignore_sigterm: bool = False
    service_time: Distribution = field(default_factory=lambda: Distribution("exponential", (0.02,)))
    cpu_per_request: float = 0.002
    cpu_idle: float = 0.001
    memory_baseline: int = 32 * 2**20
    memory_per_request: int = 256 * 2**10
    crash_probability: float = 0.0
    concurrency: int = 1
    queue_limit: int = DEFAULT_QUEUE_LIMIT
    #: Service or DNS names a retry loop waits for before it goes on (see
    #: :mod:`labsupport.sim.commands`); ``exit_after`` then counts from the end of the wait.
    waits_for: tuple[str, ...] = ()
    #: ``"dns"``: the names must resolve; ``"connect"``: they must answer.
    wait_check: str = DNS
    #: The retry loop's interval between tries (its own ``sleep``).
    retry_seconds: float = RETRY_SECONDS
    #: The loop gives up after this long (None: never), with ``give_up_code``.
    give_up_after: float | None = None
    give_up_code: int = 1
    #: Which rule of the table above decided how the container ends, and why.
    rule: str = DEFAULT_RULE
    why: str = ""

    @property
    def runs_until_stopped(self) -> bool:
        """True when the container never exits by itself (a server, or a wait then a server)."""
        return self.exit_after is None and (not self.waits_for or self.give_up_after is None)

    def _repr_html_(self) -> str:
        ends = ("runs until stopped" if self.exit_after is None
                else f"exits with {self.exit_code} after {self.exit_after:g} s")
        if self.waits_for:
            ends = f"waits for {', '.join(self.waits_for)}, then {ends}"
        rows = (("rule", self.rule), ("why", self.why), ("ends", ends),
                ("start seconds", f"{self.start_seconds:g}"),
                ("capacity (requests/s)", f"{self.capacity:.4g}"))
        body = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table>{body}</table>"

    @property
    def capacity(self) -> float:
        """Requests per second the container serves at most (workers / mean service time)."""
        mean = self.service_time.mean
        return math.inf if mean <= 0 else self.concurrency / mean


def _image_name(container: dict) -> str:
    return str(container.get("image", "")).rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]


def _catalogue_entry(image: str) -> ImageInfo | None:
    """The catalogue entry of ``image``, or of its last name part (``bitnami/redis``)."""
    info = images.lookup(image)
    if info is None:
        short = _image_name({"image": image})
        info = images.lookup(short) if short else None
    return info


def _finishes(pod: dict, container: dict, init: bool) -> bool:
    """Whether the safe default is to finish: an init container or a Job's pod."""
    if init:
        return container.get("restartPolicy") != "Always"  # a sidecar runs on
    return (pod.get("spec") or {}).get("restartPolicy", "Always") != "Always"


def _ends(outcome: Outcome) -> str:
    if outcome.exit_after is None:
        return "runs until it is stopped."
    if outcome.rule == "shell without a script":
        return "reads the end of its input at once and exits with 0."
    return f"exits with {outcome.exit_code} after {outcome.exit_after:g} s."


def decide(pod: dict, container: dict, *, init: bool = False) -> Outcome:
    """How ``container`` ends, by the table above without the annotations.

    Example:
        >>> job = {"spec": {"restartPolicy": "Never"}}
        >>> print(decide(job, {"name": "a", "image": "example.com/batch:1"}).why)
        example.com/batch:1 has no command the simulator can read: as a Job's or init \
container it finishes with 0 after 1 s.
        >>> decide({"spec": {}}, {"name": "web", "image": "nginx:1.27"}).rule
        'image'
    """
    command, args = container.get("command"), container.get("args")
    info = _catalogue_entry(str(container.get("image", "")))
    if command or args or info is None:
        if command or (args and info is None):
            outcome = read_command(command, args)
        elif args and info is not None:
            outcome = read_command(None, args, entrypoint=info.entrypoint)
        else:
            outcome = None
    else:
        found = read_command(None, None, default=info.command)
        outcome = found and replace(
            found, rule=IMAGE_RULE,
            why=f"no command: the image's default command ({shlex.join(info.command)}) "
                + _ends(found))
    finishes = _finishes(pod, container, init)
    if outcome is None:
        image = container.get("image") or "this container"
        what = ("as a Job's or init container it finishes with 0 after "
                f"{DEFAULT_RUN_SECONDS:g} s" if finishes else "it runs until stopped")
        return Outcome(DEFAULT_RULE, f"{image} has no command the simulator can read: {what}.",
                       DEFAULT_RUN_SECONDS if finishes else None)
    if outcome.then_default:
        outcome = replace(outcome, exit_after=DEFAULT_RUN_SECONDS if finishes else None)
    return outcome


class _Reader:
    """Reads the annotations of one container, naming the exact key in errors."""

    def __init__(self, annotations: dict, container: str, profile: dict[str, str]) -> None:
        self.ann = annotations
        self.container = container
        self.profile = profile
        for key in annotations:
            if not key.startswith(ANNOTATION_PREFIX):
                continue
            name = key[len(ANNOTATION_PREFIX):].split(".", 1)[0]
            if name not in _FORMS:
                known = ", ".join(_FORMS)
                raise InvalidManifest(
                    "is not an annotation the simulator knows",
                    field=f"metadata.annotations[{key}]",
                    hint=f"Known names after {ANNOTATION_PREFIX}: {known}")

    def raw(self, name: str) -> tuple[str, str | None]:
        key = f"{ANNOTATION_PREFIX}{name}.{self.container}"
        if key in self.ann:
            return key, self.ann[key]
        key = ANNOTATION_PREFIX + name
        return key, self.ann.get(key, self.profile.get(name))

    def bad(self, key: str, raw: object, problem: str | None = None) -> InvalidManifest:
        name = key[len(ANNOTATION_PREFIX):].split(".", 1)[0]
        return InvalidManifest(problem or f"must be {_FORMS[name]}, written as a string",
                               field=f"metadata.annotations[{key}]", value=raw,
                               hint=f'Write it like {key}: "{_EXAMPLES[name]}"')

    def number(self, name: str, low: float = 0.0, high: float = math.inf) -> float | None:
        key, raw = self.raw(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not low <= value <= high:
            raise self.bad(key, raw)
        return value

    def whole(self, name: str, low: int) -> int | None:
        key, raw = self.raw(name)
        if raw is None:
            return None
        text = str(raw).strip()
        if not re.fullmatch(r"[+-]?\d+", text) or int(text) < low:
            raise self.bad(key, raw)
        return int(text)

    def flag(self, name: str) -> bool:
        key, raw = self.raw(name)
        if raw is None:
            return False
        if str(raw).lower() not in ("true", "false"):
            raise self.bad(key, raw, 'must be "true" or "false"')
        return str(raw).lower() == "true"

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        key, raw = self.raw(name)
        if raw is None:
            return None
        if raw not in allowed:
            raise self.bad(key, raw, "must be one of: " + ", ".join(allowed))
        return str(raw)

    def quantity(self, name: str, parse: Any) -> float | None:
        key, raw = self.raw(name)
        if raw is None:
            return None
        try:
            value = parse(raw)
        except Invalid:
            raise self.bad(key, raw) from None
        if value < 0:
            raise self.bad(key, raw)
        return value

    def distribution(self, name: str) -> Distribution:
        key, raw = self.raw(name)
        try:
            return Distribution.parse(str(raw))
        except Invalid:
            raise self.bad(key, raw, "must be a distribution of seconds: " + _FORMS[name]) from None


_EXAMPLES = {"pull-seconds": "5", "pull-error": "not-found", "start-seconds": "5",
             "exit-after": "60", "exit-code": "1",
             "fail-liveness-after": "60", "fail-readiness-after": "60", "never-ready": "true",
             "ignore-sigterm": "true", "service-time": "exponential:0.02",
             "cpu-per-request": "0.005", "cpu-idle": "2m", "memory-baseline": "64Mi",
             "memory-per-request": "512Ki", "crash-probability": "0.001", "concurrency": "4",
             "queue-limit": "100", "listen-ports": "8080"}


def _requested_cpu(container: dict) -> float:
    res = container.get("resources") or {}
    value = (res.get("requests") or {}).get("cpu", (res.get("limits") or {}).get("cpu"))
    try:
        return cpu_cores(value) if value is not None else 0.0
    except Invalid:
        return 0.0


def behaviour(pod: dict, container: dict, *, init: bool = False) -> Behaviour:
    """The behaviour of ``container`` in ``pod``.

    Raises:
        InvalidManifest: an unknown ``sim.labsupport.io/`` annotation, or one
            with a value of the wrong form; the message names the annotation
            and shows the allowed form.

    Example:
        >>> pod = {"metadata": {"annotations": {"sim.labsupport.io/concurrency": "many"}}}
        >>> try:
        ...     behaviour(pod, {"name": "app"})
        ... except InvalidManifest as err:
        ...     for part in (err.field, err.value, err.problem, err.hint):
        ...         print(part)
        metadata.annotations[sim.labsupport.io/concurrency]
        many
        must be whole number, 1 or more, written as a string
        Write it like sim.labsupport.io/concurrency: "4"
    """
    # Pods of one template share their behaviour: cache it by what it depends on.
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    key = (tuple(sorted((k, v) for k, v in ann.items() if k.startswith(ANNOTATION_PREFIX))),
           _container_key(container), init, (pod.get("spec") or {}).get("restartPolicy"))
    try:
        cached = _CACHE.get(key)
    except TypeError:  # an unhashable value somewhere: compute it every time
        return _behaviour(pod, container, init=init)
    if cached is None:
        if len(_CACHE) > 4096:
            _CACHE.clear()
        cached = _CACHE[key] = _behaviour(pod, container, init=init)
    return cached


_CACHE: dict[tuple, Behaviour] = {}


def _container_key(container: dict) -> tuple:
    res = container.get("resources") or {}
    return (container.get("name", ""), container.get("image", ""),
            container.get("restartPolicy"),
            tuple(container.get("command") or ()), tuple(container.get("args") or ()),
            tuple(sorted((res.get("requests") or {}).items())),
            tuple(sorted((res.get("limits") or {}).items())))


def _behaviour(pod: dict, container: dict, *, init: bool = False) -> Behaviour:
    """Compute a behaviour (see :func:`behaviour`, which caches it)."""
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    name = container.get("name", "")
    image = _image_name(container)
    r = _Reader(ann, name, IMAGE_PROFILES.get(image, _DEFAULT_PROFILE))
    outcome = decide(pod, container, init=init)
    exit_after, exit_code = outcome.exit_after, outcome.exit_code
    rule, why = outcome.rule, outcome.why
    annotated_exit = r.number("exit-after")
    if annotated_exit is not None:
        exit_after = annotated_exit
        exit_code = 1
    code = r.whole("exit-code", -(2**31))
    if code is not None:
        exit_code = code
    if annotated_exit is not None or (code is not None and exit_after is not None):
        rule = ANNOTATION_RULE
        why = (f"the annotations say it exits {exit_after:g} s after start with exit code "
               f"{exit_code} (its command alone: {outcome.why})")
    if annotated_exit is not None:
        outcome = replace(outcome, waits_for=())
    pull = r.number("pull-seconds")
    start = r.number("start-seconds")
    service = r.distribution("service-time")
    cpu_per_request = r.number("cpu-per-request")
    concurrency = r.whole("concurrency", 1)
    if concurrency is None:
        concurrency = max(1, int(_requested_cpu(container) / CPU_PER_WORKER + 1e-9))
    queue_limit = r.whole("queue-limit", 0)
    cpu_idle = r.quantity("cpu-idle", cpu_cores)
    mem_base = r.quantity("memory-baseline", memory_bytes)
    mem_req = r.quantity("memory-per-request", memory_bytes)
    return Behaviour(
        pull_seconds=DEFAULT_PULL_SECONDS if pull is None else pull,
        pull_error=r.choice("pull-error", PULL_ERRORS),
        start_seconds=DEFAULT_START_SECONDS if start is None else start,
        exit_after=exit_after,
        exit_code=exit_code,
        fail_liveness_after=r.number("fail-liveness-after"),
        fail_readiness_after=r.number("fail-readiness-after"),
        never_ready=r.flag("never-ready"),
        ignore_sigterm=r.flag("ignore-sigterm"),
        service_time=service,
        cpu_per_request=(CPU_PER_WORKER * service.mean if cpu_per_request is None
                         else cpu_per_request),
        cpu_idle=0.001 if cpu_idle is None else cpu_idle,
        memory_baseline=32 * 2**20 if mem_base is None else int(mem_base),
        memory_per_request=256 * 2**10 if mem_req is None else int(mem_req),
        crash_probability=r.number("crash-probability", 0.0, 1.0) or 0.0,
        concurrency=concurrency,
        queue_limit=DEFAULT_QUEUE_LIMIT if queue_limit is None else queue_limit,
        waits_for=outcome.waits_for,
        wait_check=outcome.check,
        retry_seconds=outcome.retry_seconds,
        give_up_after=outcome.give_up_after,
        give_up_code=outcome.give_up_code,
        rule=rule,
        why=why,
    )


def _start_seconds(container: dict) -> float:
    """The catalogue's start time of the image, else the simulator's default."""
    info = images.lookup(str(container.get("image", "")))
    return DEFAULT_START_SECONDS if info is None else info.start_seconds


def validate_annotations(obj: dict) -> None:
    """Check the simulator annotations of a Pod, or of the pod template of a workload.

    Raises:
        InvalidManifest: the first bad annotation, naming the object.

    Example:
        >>> p = {"kind": "Pod", "spec": {"containers": [{"name": "a"}]}, "metadata": {
        ...     "name": "p", "annotations": {"sim.labsupport.io/crash-probability": "2"}}}
        >>> try:
        ...     validate_annotations(p)
        ... except InvalidManifest as err:
        ...     for part in (err.obj, err.field, err.value, err.problem):
        ...         print(part)
        Pod/p
        metadata.annotations[sim.labsupport.io/crash-probability]
        2
        must be number from 0 to 1, written as a string
    """
    spec = obj.get("spec") or {}
    template = spec.get("template") if obj.get("kind") != "Pod" else obj
    if not isinstance(template, dict):
        return
    pod_spec = template.get("spec") or {}
    try:
        for c in pod_spec.get("initContainers") or ():
            behaviour(template, c, init=True)
        for c in pod_spec.get("containers") or ():
            behaviour(template, c)
    except InvalidManifest as err:
        name = (obj.get("metadata") or {}).get("name")
        raise err.located(obj=f"{obj.get('kind')}/{name}") from None


class AnnotationTable(list):
    """Rows of :data:`ANNOTATIONS` as dicts; shows itself as a table in a notebook."""

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{k}</th>" for k in ("annotation", "form", "default", "meaning"))
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[k]))}</td>" for k in
                                        ("annotation", "form", "default", "meaning")) + "</tr>"
                       for r in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def annotation_table() -> AnnotationTable:
    """Every annotation the simulator reads, with its allowed form and default.

    Example:
        >>> rows = annotation_table()
        >>> rows[0]["annotation"], rows[0]["default"]
        ('sim.labsupport.io/pull-seconds', '2')
        >>> [r["annotation"] for r in rows if "crash" in r["meaning"]][:2]
        ['sim.labsupport.io/exit-after', 'sim.labsupport.io/crash-probability']
    """
    return AnnotationTable({"annotation": ANNOTATION_PREFIX + name, "form": form,
                            "default": default, "meaning": meaning}
                           for name, form, default, meaning in ANNOTATIONS)


def workload(template: dict, container: str | None = None) -> Behaviour:
    """How the simulator runs one container of a pod (or a Deployment's pod template).

    Shows which rule of the table in this module decided how the container
    ends, and why (``rule``, ``why``), and what the ``sim.labsupport.io/...``
    annotations set (see :func:`annotation_table`): start time, service time,
    CPU per request, concurrency; ``capacity`` is the requests per second it
    can serve. In a notebook the result shows itself as a table.

    Args:
        template: a Pod, a pod template, or a workload with one (a
            Deployment, a Job; a CronJob's job template too).
        container: the container's name (an app or an init container); the
            first app container by default.

    Raises:
        InvalidManifest: no such container, or a malformed annotation.

    Example:
        >>> pod = {"metadata": {"annotations": {"sim.labsupport.io/service-time": "0.01"}},
        ...        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
        >>> round(workload(pod).capacity, 1)
        100.0
        >>> b = workload(pod)
        >>> b.rule
        'image'
        >>> print(b.why)
        no command: the image's default command (/docker-entrypoint.sh nginx -g 'daemon off;') \
runs until it is stopped.
        >>> pi = {"name": "pi", "image": "perl:5.34.0",
        ...       "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}
        >>> job = {"kind": "Job", "spec": {"template": {"spec": {"restartPolicy": "Never",
        ...                                                      "containers": [pi]}}}}
        >>> workload(job).rule, workload(job).exit_after
        ('one-shot program', 1.0)
    """
    spec = template.get("spec") or {}
    if (spec.get("jobTemplate") or {}).get("spec"):
        spec = spec["jobTemplate"]["spec"]
    if spec.get("template"):
        template = spec["template"]
    pod_spec = template.get("spec") or {}
    containers = pod_spec.get("containers") or []
    inits = pod_spec.get("initContainers") or []
    chosen = [c for c in containers if container is None or c.get("name") == container]
    if chosen:
        return behaviour(template, chosen[0])
    chosen = [c for c in inits if container is not None and c.get("name") == container]
    if chosen:
        return behaviour(template, chosen[0], init=True)
    names = ", ".join(c.get("name", "?") for c in inits + containers) or "none"
    raise InvalidManifest(f"no container {container!r} in this pod; its containers: {names}")
