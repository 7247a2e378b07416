"""How a container stops: the preStop hook, SIGTERM, and SIGKILL at the deadline.

When a pod is deleted, the kubelet stops each running container
(pkg/kubelet/kuberuntime/kuberuntime_container.go, ``killContainer``):

1. it records the event ``Killing`` ``Stopping container NAME``;
2. it runs the container's ``lifecycle.preStop`` hook, if any, for at most the
   grace period (``executePreStopHook``); a hook that fails gives the event
   ``FailedPreStopHook`` ``PreStopHook failed``; the whole seconds the hook
   took are taken off the grace period;
3. it asks the runtime to stop the container with what is left, but at least
   ``minimumGracePeriodInSeconds`` (2 s): the runtime sends the stop signal
   (SIGTERM, or the image's ``STOPSIGNAL``), and SIGKILL when that time is up.

What the process does with the signal decides the exit code. PID 1 of a
container gets no signal it has no handler for (the kernel drops it), so a
``sleep``, a shell script or ``tail -f`` ignores SIGTERM and is killed at the
deadline: exit code 137 (128 + 9). A server that handles its stop signal
(nginx quits on its image's SIGQUIT, Apache on SIGWINCH, Redis, PostgreSQL,
uvicorn on SIGTERM) finishes quickly with 0. With ``shareProcessNamespace``
the pause process is PID 1, so a program without a handler dies of SIGTERM
at once: 143 (128 + 15). The annotation ``sim.labsupport.io/ignore-sigterm``
overrides the guess.

Example:
    >>> pod = {"spec": {"containers": [
    ...     {"name": "web", "image": "nginx:1.27",
    ...      "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 20"]}}}}]}}
    >>> plan = stop_plan(pod, pod["spec"]["containers"][0], 30)
    >>> plan.hook_seconds, plan.sigterm_at, plan.exit_at, plan.exit_code
    (20.0, 20.0, 20.5, 0)
    >>> sleeper = {"name": "s", "image": "busybox:1.36", "command": ["sleep", "3600"]}
    >>> plan = stop_plan({"spec": {"containers": [sleeper]}}, sleeper, 30)
    >>> plan.exit_at, plan.exit_code, plan.reason
    (30.0, 137, 'Error')
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from labsupport.sim import images
from labsupport.sim.commands import read_command

__all__ = ["MINIMUM_GRACE_PERIOD", "SIGTERM_EXIT_SECONDS", "StopResponse", "PreStopHook",
           "StopPlan", "stop_response", "pre_stop_hook", "stop_plan"]

#: kuberuntime_container.go: minimumGracePeriodInSeconds, the shortest stop window.
MINIMUM_GRACE_PERIOD = 2
#: How long a process that handles its stop signal takes to exit (the simulator's choice).
SIGTERM_EXIT_SECONDS = 0.5
_ANNOTATION = "sim.labsupport.io/ignore-sigterm"
#: Programs that handle their image's stop signal and exit with 0.
_HANDLERS = {
    "nginx": "nginx quits gracefully on its image's STOPSIGNAL (SIGQUIT)",
    "httpd-foreground": "Apache stops gracefully on its image's STOPSIGNAL (SIGWINCH)",
    "apache2-foreground": "Apache stops gracefully on its image's STOPSIGNAL (SIGWINCH)",
    "httpd": "Apache stops gracefully on its image's STOPSIGNAL (SIGWINCH)",
    "redis-server": "Redis saves and exits on SIGTERM",
    "postgres": "PostgreSQL shuts down on its image's STOPSIGNAL (SIGINT)",
    "mysqld": "MySQL shuts down on SIGTERM",
    "mongod": "MongoDB shuts down on SIGTERM",
    "pause": "the pause process exits on SIGTERM",
    "uvicorn": "uvicorn shuts down on SIGTERM",
    "gunicorn": "gunicorn shuts down on SIGTERM",
}
#: Programs that install no SIGTERM handler.
_NO_HANDLER = {"sleep", "tail", "sh", "bash", "ash", "dash", "python", "python3", "perl", "node",
               "cat", "top", "yes", "watch", "busybox"}
_WRAPPERS = {"docker-entrypoint.sh", "entrypoint.sh", "tini", "dumb-init", "exec", "env"}


@dataclass(frozen=True)
class StopResponse:
    """What a container's process does with the stop signal.

    Attributes:
        exits: whether it exits by itself (else SIGKILL ends it at the deadline).
        seconds: how long it takes to exit after the signal.
        exit_code: its exit code when it exits by itself.
        why: one sentence for a student.
    """

    exits: bool
    seconds: float
    exit_code: int
    why: str


def _words(container: dict) -> list[str]:
    """The command line the container runs (its command and args, or the image's)."""
    command, args = container.get("command"), container.get("args")
    info = images.lookup(str(container.get("image", "")))
    if command:
        return [str(w) for w in list(command) + list(args or ())]
    if info is None:
        return [str(w) for w in args or ()]
    if args:
        return list(info.entrypoint) + [str(w) for w in args]
    return list(info.command)


def _program(words: list[str]) -> str | None:
    """The program that ends up as PID 1: wrappers and ``sh -c "exec X"`` are looked through."""
    while words:
        base = PurePosixPath(words[0]).name
        if base in _WRAPPERS:
            words = words[1:]
            continue
        if base in ("sh", "bash", "ash", "dash") and len(words) >= 3 and words[1] == "-c":
            try:
                inner = shlex.split(words[2])
            except ValueError:
                return base
            if inner and inner[0] == "exec" or (inner and ";" not in words[2]
                                                 and "&&" not in words[2]
                                                 and PurePosixPath(inner[0]).name in _HANDLERS):
                words = inner[1:] if inner[0] == "exec" else inner
                continue
            return base
        if base.startswith("python") and "-m" in words:
            module = words[words.index("-m") + 1] if words.index("-m") + 1 < len(words) else ""
            if module.startswith(("labsupport", "uvicorn", "gunicorn")):
                return "uvicorn"
        return base
    return None


def stop_response(pod: dict, container: dict) -> StopResponse:
    """How ``container`` of ``pod`` reacts to its stop signal.

    Example:
        >>> stop_response({"spec": {}}, {"name": "w", "image": "nginx:1.27"}).exit_code
        0
        >>> r = stop_response({"spec": {"shareProcessNamespace": True}},
        ...                   {"name": "s", "image": "busybox", "command": ["sleep", "99"]})
        >>> r.exits, r.exit_code
        (True, 143)
    """
    ann = ((pod.get("metadata") or {}).get("annotations") or {})
    flag = ann.get(f"{_ANNOTATION}.{container.get('name', '')}", ann.get(_ANNOTATION))
    if flag is not None:
        if str(flag).lower() == "true":
            return StopResponse(False, 0.0, 137, f"the annotation {_ANNOTATION} says it "
                                "ignores SIGTERM")
        return StopResponse(True, SIGTERM_EXIT_SECONDS, 0,
                            f"the annotation {_ANNOTATION} says it exits on SIGTERM")
    program = _program(_words(container))
    if program in _HANDLERS:
        return StopResponse(True, SIGTERM_EXIT_SECONDS, 0, _HANDLERS[program])
    if program in _NO_HANDLER:
        if (pod.get("spec") or {}).get("shareProcessNamespace"):
            return StopResponse(True, 0.0, 143, f"{program} has no SIGTERM handler and is not "
                                "PID 1 (shareProcessNamespace): SIGTERM kills it")
        return StopResponse(False, 0.0, 137, f"{program} is PID 1 without a SIGTERM handler: "
                            "the signal is dropped and SIGKILL ends it at the deadline")
    return StopResponse(True, SIGTERM_EXIT_SECONDS, 0,
                        "the simulator's default: an app that exits on SIGTERM")


@dataclass(frozen=True)
class PreStopHook:
    """A container's ``lifecycle.preStop`` as the simulator runs it.

    Attributes:
        action: ``exec``, ``httpGet``, ``sleep`` or ``tcpSocket``.
        seconds: how long it runs (None: until it is stopped).
        fails: whether it fails (a non-zero exit, a refused connection).
    """

    action: str
    seconds: float | None
    fails: bool


def pre_stop_hook(pod: dict, container: dict) -> PreStopHook | None:
    """The container's preStop hook, or None.

    Example:
        >>> c = {"name": "w", "lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}
        >>> pre_stop_hook({"spec": {"containers": [c]}}, c)
        PreStopHook(action='sleep', seconds=5.0, fails=False)
        >>> c = {"name": "w", "image": "busybox",
        ...      "lifecycle": {"preStop": {"httpGet": {"path": "/quit", "port": 8080}}}}
        >>> pre_stop_hook({"spec": {"containers": [c]}}, c).fails
        True
    """
    hook = (container.get("lifecycle") or {}).get("preStop")
    if not hook:
        return None
    if "sleep" in hook:  # the Sleep action (PodLifecycleSleepAction, GA in 1.34)
        return PreStopHook("sleep", float((hook["sleep"] or {}).get("seconds", 0)), False)
    if "exec" in hook:
        command = list((hook["exec"] or {}).get("command") or ())
        outcome = read_command(command) if command else None
        if command and PurePosixPath(str(command[0])).name == "nginx" and "-s" in command:
            return PreStopHook("exec", 0.0, False)  # nginx -s quit: signals the server, returns
        if outcome is None:
            return PreStopHook("exec", 0.0, False)  # unreadable: taken to succeed at once
        return PreStopHook("exec", outcome.exit_after, outcome.exit_after is not None
                           and outcome.exit_code != 0)
    if "httpGet" in hook:
        return PreStopHook("httpGet", 0.0, not _serves(pod, container, hook["httpGet"]))
    return PreStopHook("tcpSocket", 0.0, False)


def _serves(pod: dict, container: dict, get: dict) -> bool:
    """Whether something in the pod listens on the hook's port (else: connection refused)."""
    port = get.get("port")
    ports: set = set()
    for c in (pod.get("spec") or {}).get("containers") or ():
        for p in c.get("ports") or ():
            ports.add(p.get("containerPort"))
            if p.get("name"):
                ports.add(p["name"])
        info = images.lookup(str(c.get("image", "")))
        if info is not None and c.get("command") is None:
            ports.update(info.ports)
    return port in ports


@dataclass(frozen=True)
class StopPlan:
    """When each step of stopping one container happens, in seconds from the start.

    Attributes:
        hook: the preStop hook (None: none runs).
        hook_seconds: how long the hook runs before SIGTERM.
        hook_failed_at: when FailedPreStopHook is recorded (None: it is not).
        sigterm_at: when the stop signal is sent.
        exit_at: when the container has exited.
        exit_code: 0 or 143 when it exits by itself, 137 when SIGKILL ends it.
        reason: ``Completed`` for 0, else ``Error``.
        why: how it reacted to the signal, for a student.
    """

    hook: PreStopHook | None
    hook_seconds: float
    hook_failed_at: float | None
    sigterm_at: float
    exit_at: float
    exit_code: int
    reason: str
    why: str


def stop_plan(pod: dict, container: dict, grace: float) -> StopPlan:
    """How ``container`` stops with ``grace`` seconds (``killContainer``).

    Example:
        >>> c = {"name": "w", "image": "busybox", "command": ["sleep", "3600"],
        ...      "lifecycle": {"preStop": {"exec": {"command": ["sleep", "40"]}}}}
        >>> p = stop_plan({"spec": {"containers": [c]}}, c, 30)
        >>> p.hook_seconds, p.sigterm_at, p.exit_at, p.exit_code, p.hook_failed_at
        (30.0, 30.0, 32.0, 137, 32.0)
    """
    hook = pre_stop_hook(pod, container)
    period = float(grace)
    hook_seconds, failed_at, overran = 0.0, None, False
    if hook is not None and period > 0:
        # executePreStopHook waits at most the grace period; the hook's whole seconds come off.
        if hook.seconds is None or hook.seconds >= period:
            hook_seconds, overran = period, True
        else:
            hook_seconds = hook.seconds
            if hook.fails:
                failed_at = hook_seconds
        period -= int(hook_seconds)
    period = max(period, MINIMUM_GRACE_PERIOD)
    response = stop_response(pod, container)
    if response.exits and response.seconds <= period:
        exit_at, code = hook_seconds + response.seconds, response.exit_code
    else:
        exit_at, code = hook_seconds + period, 137
    if overran and hook is not None and hook.action == "exec":
        failed_at = exit_at  # the hook's process dies with the container: the exec fails
    return StopPlan(hook, hook_seconds, failed_at, hook_seconds, exit_at, code,
                    "Completed" if code == 0 else "Error", response.why)
