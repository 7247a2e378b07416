"""How a simulated container behaves: pull time, start time, exits, probes.

A simulated container runs no code, so something must say how long its
image takes to pull, when it is up, whether it exits, and whether its probes
pass. The rules, most specific first:

1. Annotations on the pod (set them in the pod template), all optional:

   ========================================  =======================================
   annotation                                meaning (seconds unless said)
   ========================================  =======================================
   ``sim.labsupport.io/pull-seconds``        image pull time on a node without it
   ``sim.labsupport.io/start-seconds``       from start until the app answers probes
   ``sim.labsupport.io/exit-after``          the container exits this long after start
   ``sim.labsupport.io/exit-code``           its exit code (default 1 with exit-after)
   ``sim.labsupport.io/fail-liveness-after`` liveness probes fail from then on
   ``sim.labsupport.io/never-ready``         "true": readiness probes always fail
   ``sim.labsupport.io/ignore-sigterm``      "true": runs until the grace period ends
   ========================================  =======================================

   A key may name one container: ``sim.labsupport.io/exit-after.web``.
2. The container's command, read as a shell would for the usual test
   commands: ``exit 3`` exits at once with code 3, ``sleep 5`` exits with 0
   after 5 s, ``sleep infinity`` and servers run until stopped.
3. The image: a shell image (busybox, alpine, ubuntu, ...) without a command
   runs its shell, which exits at once with 0, as on a real cluster.

Example:
    >>> from labsupport.sim.workloads import behaviour
    >>> pod = {"metadata": {"annotations": {"sim.labsupport.io/start-seconds": "4"}},
    ...        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
    >>> b = behaviour(pod, pod["spec"]["containers"][0])
    >>> b.start_seconds, b.exit_after
    (4.0, None)
    >>> c = {"name": "job", "image": "busybox:1.36", "command": ["sh", "-c", "exit 3"]}
    >>> behaviour({"spec": {}}, c).exit_after, behaviour({"spec": {}}, c).exit_code
    (0.0, 3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labsupport.errors import InvalidManifest

__all__ = ["Behaviour", "behaviour", "ANNOTATION_PREFIX"]

ANNOTATION_PREFIX = "sim.labsupport.io/"

# Defaults: a pull of a typical image on kind takes seconds; an app needs a
# moment before it answers. Both are the simulator's choices, not Kubernetes'.
DEFAULT_PULL_SECONDS = 2.0
DEFAULT_START_SECONDS = 1.0
DEFAULT_INIT_RUN_SECONDS = 1.0
SHELL_IMAGES = ("busybox", "alpine", "ubuntu", "debian", "centos", "fedora")


@dataclass(frozen=True)
class Behaviour:
    """What one container does in the simulator."""

    pull_seconds: float = DEFAULT_PULL_SECONDS
    start_seconds: float = DEFAULT_START_SECONDS
    exit_after: float | None = None
    exit_code: int = 0
    fail_liveness_after: float | None = None
    never_ready: bool = False
    ignore_sigterm: bool = False


_EXIT_RE = re.compile(r"(?:^|[;&|]\s*|\s)exit\s+(\d+)\s*$")
_SLEEP_RE = re.compile(r"^sleep\s+(\d+(?:\.\d+)?)\s*$")


def _from_command(container: dict) -> tuple[float | None, int] | None:
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    if not words:
        return None
    text = words[-1].strip() if len(words) >= 2 and words[-2] in ("-c", "-ec") else " ".join(words)
    if "infinity" in text or "while true" in text or "tail -f" in text:
        return None
    m = _EXIT_RE.search(text)
    if m:
        sleep = re.search(r"sleep\s+(\d+(?:\.\d+)?)", text)
        return (float(sleep.group(1)) if sleep else 0.0), int(m.group(1))
    m = _SLEEP_RE.match(text) or _SLEEP_RE.match(" ".join(words))
    if m:
        return float(m.group(1)), 0
    if words[0] in ("true", "/bin/true"):
        return 0.0, 0
    if words[0] in ("false", "/bin/false"):
        return 0.0, 1
    return None


def _annotation(annotations: dict, name: str, container: str) -> str | None:
    specific = annotations.get(f"{ANNOTATION_PREFIX}{name}.{container}")
    return specific if specific is not None else annotations.get(ANNOTATION_PREFIX + name)


def _seconds(annotations: dict, name: str, container: str) -> float | None:
    raw = _annotation(annotations, name, container)
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0:
        raise InvalidManifest(
            "must be a number of seconds, zero or more, written as a string",
            field=f"metadata.annotations[{ANNOTATION_PREFIX}{name}]", value=raw,
            hint=f'Write it like {ANNOTATION_PREFIX}{name}: "5"')
    return value


def _flag(annotations: dict, name: str, container: str) -> bool:
    raw = _annotation(annotations, name, container)
    if raw is None:
        return False
    if str(raw).lower() not in ("true", "false"):
        raise InvalidManifest('must be "true" or "false"',
                              field=f"metadata.annotations[{ANNOTATION_PREFIX}{name}]", value=raw)
    return str(raw).lower() == "true"


def behaviour(pod: dict, container: dict, *, init: bool = False) -> Behaviour:
    """The behaviour of ``container`` in ``pod``.

    Raises:
        InvalidManifest: an annotation has a value of the wrong form.
    """
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    name = container.get("name", "")
    exit_after: float | None = None
    exit_code = 0
    cmd = _from_command(container)
    if cmd is not None:
        exit_after, exit_code = cmd
    elif not container.get("command") and not container.get("args"):
        image = container.get("image", "").rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        if image in SHELL_IMAGES:
            exit_after, exit_code = 0.0, 0
    if init and exit_after is None:
        exit_after, exit_code = DEFAULT_INIT_RUN_SECONDS, 0
    annotated_exit = _seconds(ann, "exit-after", name)
    if annotated_exit is not None:
        exit_after = annotated_exit
        exit_code = 1
    code = _annotation(ann, "exit-code", name)
    if code is not None:
        try:
            exit_code = int(code)
        except ValueError:
            raise InvalidManifest("must be a whole number such as \"1\"",
                                  field=f"metadata.annotations[{ANNOTATION_PREFIX}exit-code]",
                                  value=code) from None
    pull = _seconds(ann, "pull-seconds", name)
    start = _seconds(ann, "start-seconds", name)
    return Behaviour(
        pull_seconds=DEFAULT_PULL_SECONDS if pull is None else pull,
        start_seconds=DEFAULT_START_SECONDS if start is None else start,
        exit_after=exit_after,
        exit_code=exit_code,
        fail_liveness_after=_seconds(ann, "fail-liveness-after", name),
        never_ready=_flag(ann, "never-ready", name),
        ignore_sigterm=_flag(ann, "ignore-sigterm", name),
    )
