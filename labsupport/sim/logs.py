"""Container logs: what ``kubectl logs`` would print for a simulated container.

A simulated container runs no program, so its log is written from what the
simulator knows about it, and only when someone reads it: the lines an
image prints when it starts (nginx's ``/docker-entrypoint.sh`` lines and
notices, a shell's ``echo`` and ``printenv`` output, a generic app's start
lines), the requests it served while traffic flowed (one access-log line per
request for nginx, one summary line per second for other apps, from the
data plane's per-second counts), the warnings an app logs when its health
check starts failing, and its last words: a graceful shutdown, or the error
before a crash. Nothing is stored as the simulation runs, so 150,000 pods
cost no log memory; reading is bounded by :data:`LOG_LINES`, the ring of
lines each instance keeps.

As the kubelet does, only two instances of a container have logs: the
current one and the previous one (``previous=True``); the kubelet's rules
for which one a read means, and its errors, are those of
``validateContainerLogStatus`` in kubernetes ``pkg/kubelet/kubelet_pods.go``.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hello"},
    ...              "spec": {"restartPolicy": "Never", "containers": [{
    ...                  "name": "app", "image": "busybox:1.36",
    ...                  "env": [{"name": "WHO", "value": "world"}],
    ...                  "command": ["sh", "-c", "echo hello $WHO; sleep 2"]}]}})
    >>> c.advance(10)
    >>> print(c.logs("hello"), end="")
    hello world
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from labsupport.sim.clock import EPOCH
from labsupport.sim.configrefs import expand
from labsupport.sim.workloads import behaviour

__all__ = ["LOG_LINES", "Run", "instance_lines", "container_log", "read_log"]

#: Lines kept per container instance (the simulator's ring; a real kubelet
#: rotates files at ``containerLogMaxSize``, 10Mi, and keeps 5 of them).
LOG_LINES = 1000
#: Where requests come from in access logs (kube-proxy's view of the client).
CLIENT_IP = "10.244.0.1"
USER_AGENT = "labsupport-traffic/1.0"
NGINX_WORKER_PID = 29
#: Images whose default program is a shell: they print only what their command echoes.
SHELL_IMAGES = ("busybox", "alpine", "ubuntu", "debian", "centos", "fedora")

#: What one instance was: (container spec, image, started at, environment).
Run = tuple[dict, str, float, Any]
#: Requests per whole second: ``requests(from, to)`` -> [(second, count), ...].
Requests = Callable[[float, float], Sequence[tuple[int, float]]]


def _kind(image: str) -> str:
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    if name in ("nginx", "nginx-unprivileged"):
        return "nginx"
    return "shell" if name in SHELL_IMAGES else "app"


def _when(t: float) -> datetime:
    return datetime.fromtimestamp(EPOCH + t, tz=timezone.utc)


def _rfc3339(t: float) -> str:
    return _when(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(stamp: str) -> float:
    """Virtual seconds of an RFC 3339 stamp the simulator wrote."""
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return when.timestamp() - EPOCH


def _nginx_version(image: str) -> str:
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", tag)
    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}" if m else "1.27.5"


def _nginx_start(image: str, t: float) -> list[tuple[float, str]]:
    """What the official nginx image prints when it starts (docker-entrypoint.sh, then nginx)."""
    entry = "/docker-entrypoint.sh"
    ipv6 = "10-listen-on-ipv6-by-default.sh"
    lines = [f"{entry}: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
             f"{entry}: Looking for shell scripts in /docker-entrypoint.d/",
             f"{entry}: Launching /docker-entrypoint.d/{ipv6}",
             f"{ipv6}: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
             f"{ipv6}: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
             f"{entry}: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
             f"{entry}: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
             f"{entry}: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
             f"{entry}: Configuration complete; ready for start up"]
    out = [(t, line) for line in lines]
    notice = _when(t).strftime("%Y/%m/%d %H:%M:%S") + " [notice] 1#1: "
    for text in ('using the "epoll" event method', f"nginx/{_nginx_version(image)}",
                 "built by gcc 12.2.0 (Debian 12.2.0-14)",
                 "OS: Linux 6.8.0-kind #1 SMP PREEMPT_DYNAMIC x86_64",
                 "getrlimit(RLIMIT_NOFILE): 1048576:1048576", "start worker processes",
                 f"start worker process {NGINX_WORKER_PID}"):
        out.append((t, notice + text))
    return out


def _nginx_stop(t: float) -> list[tuple[float, str]]:
    """The graceful stop of nginx, whose image's STOPSIGNAL is SIGQUIT."""
    head = _when(t).strftime("%Y/%m/%d %H:%M:%S") + " [notice] "
    w = f"{NGINX_WORKER_PID}#{NGINX_WORKER_PID}: "
    return [(t, head + text) for text in (
        "1#1: signal 3 (SIGQUIT) received, shutting down", w + "gracefully shutting down",
        w + "exiting", w + "exit", f"1#1: signal 17 (SIGCHLD) received from {NGINX_WORKER_PID}",
        f"1#1: worker process {NGINX_WORKER_PID} exited with code 0", "1#1: exit")]


def _words(spec: dict, env: Any) -> list[str]:
    # The kubelet expands $(VAR) in command and args from the container's environment.
    return [expand(str(w), dict(env)) for w in
            (spec.get("command") or []) + (spec.get("args") or [])]


_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def _shell_output(spec: dict, env: Any, pod_name: str) -> list[str]:
    """What ``echo``, ``printenv`` and ``env`` in the container's command print."""
    words = _words(spec, env)
    if not words:
        return []
    variables = {"HOSTNAME": pod_name, **dict(env)}
    script = words[-1] if len(words) >= 2 and words[-2] in ("-c", "-ec") else shlex.join(words)
    out = []
    for part in re.split(r"\s*(?:;|&&|\|\||\n)\s*", script):
        text = _VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), part)
        try:
            argv = shlex.split(text)
        except ValueError:
            continue
        if not argv:
            continue
        if argv[0] == "echo":
            out.append(" ".join(a for a in argv[1:] if a != "-n"))
        elif argv[0] in ("printenv", "env") and len(argv) == 1:
            out.extend(f"{k}={v}" for k, v in variables.items())
        elif argv[0] == "printenv":
            out.extend(variables[a] for a in argv[1:] if a in variables)
    return out


def _app_start(spec: dict, image: str, t: float, up: float) -> list[tuple[float, str]]:
    ports = [p.get("containerPort") for p in spec.get("ports") or () if p.get("containerPort")]
    out = [(t, f"{_rfc3339(t)} INFO starting {spec.get('name', 'app')} ({image})")]
    if ports:
        out.append((up, f"{_rfc3339(up)} INFO listening on :{ports[0]}"))
    out.append((up, f"{_rfc3339(up)} INFO ready"))
    return out


def _requests(kind: str, counts: Iterable[tuple[int, float]]) -> list[tuple[float, str]]:
    """Request lines, newest last, at most :data:`LOG_LINES` of them."""
    out: list[tuple[float, str]] = []
    for second, n in sorted(counts, reverse=True):
        n = int(round(n))
        if n <= 0:
            continue
        if kind == "nginx":
            stamp = _when(second).strftime("[%d/%b/%Y:%H:%M:%S +0000]")
            line = (f'{CLIENT_IP} - - {stamp} "GET / HTTP/1.1" 200 615 "-" '
                    f'"{USER_AGENT}" "-"')
            out.extend([(second + (i + 0.5) / n, line) for i in range(min(n, LOG_LINES))])
        else:
            out.append((second + 0.999, f"{_rfc3339(second)} INFO served {n} "
                                        f"request{'s' if n != 1 else ''} (200 OK)"))
        if len(out) >= LOG_LINES:
            break
    out.sort()
    return out[-LOG_LINES:]


def _end(kind: str, spec: dict, end: dict | None, ignore_sigterm: bool) -> list[tuple[float, str]]:
    """The last words of an instance that ended (``end``: its ``terminated`` state)."""
    if not end:
        return []
    t, code, reason = _seconds(end["finishedAt"]), end.get("exitCode", 0), end.get("reason")
    if reason == "OOMKilled" or (code == 137 and not ignore_sigterm):
        return []  # killed by the kernel, or by SIGKILL: the app writes nothing
    if code == 0:
        if kind == "nginx":
            return _nginx_stop(t)
        if kind == "app":
            return [(t, f"{_rfc3339(t)} INFO received SIGTERM, shutting down"),
                    (t, f"{_rfc3339(t)} INFO bye")]
        return []
    if kind == "shell":
        return []
    if kind == "nginx":
        stamp = _when(t).strftime("%Y/%m/%d %H:%M:%S")
        return [(t, f"{stamp} [alert] 1#1: worker process {NGINX_WORKER_PID} exited on signal 6"),
                (t, f"{stamp} [emerg] 1#1: unrecoverable error, exiting")]
    return [(t, f"{_rfc3339(t)} ERROR unhandled error in request handler"),
            (t, f"{_rfc3339(t)} FATAL exiting with code {code}")]


def instance_lines(pod: dict, run: Run, end: dict | None, now: float,
                   requests: Requests | None = None) -> list[str]:
    """The log lines of one container instance, oldest first (at most :data:`LOG_LINES`).

    Args:
        pod: the pod (its annotations shape the container's behaviour).
        run: what the instance was: (spec, image, started at, environment).
        end: its ``terminated`` state once it ended, else None.
        now: virtual time of the read.
        requests: the data plane's requests per second of this pod, if any.
    """
    spec, image, started, env = run
    b = behaviour(pod, spec)
    kind = _kind(image)
    finished = _seconds(end["finishedAt"]) if end else now
    up = started + b.start_seconds
    entries: list[tuple[float, str]] = []
    if kind == "nginx":
        entries += _nginx_start(image, started)
    elif kind == "app" and not spec.get("command"):
        entries += [e for e in _app_start(spec, image, started, up) if e[0] <= finished]
    name = (pod.get("metadata") or {}).get("name", "")
    entries += [(started, line) for line in _shell_output(spec, env, name)]
    for after, text in ((b.fail_readiness_after, "WARN not ready: a dependency is unavailable"),
                        (b.fail_liveness_after, "WARN health check failing: the app stopped "
                                                "answering")):
        if after is not None and kind != "shell" and started + after <= finished:
            entries.append((started + after, f"{_rfc3339(started + after)} {text}"))
    if requests is not None and finished > up:
        entries += _requests(kind, requests(up, finished))
    entries += _end(kind, spec, end, b.ignore_sigterm)
    entries.sort(key=lambda e: e[0])
    return [text for _, text in entries[-LOG_LINES:]]


def container_log(pod: dict, state: Any, previous: bool, now: float,
                  requests: Requests | None = None) -> list[str] | str:
    """The lines ``kubectl logs`` shows for one container, or the kubelet's refusal.

    Args:
        pod: the pod.
        state: the kubelet's :class:`~labsupport.sim.podstatus.ContainerState`.
        previous: the previous instance (``kubectl logs --previous``).
        now: virtual time of the read.
        requests: the data plane's requests per second of this pod, if any.

    Returns:
        The lines, or a string: the kubelet's error message (validateContainerLogStatus).
    """
    name, pod_name = state.name, pod["metadata"]["name"]
    current, last = state.state, (state.last_state or {}).get("terminated")
    if previous:
        # lastState.terminated names the previous instance; while waiting to
        # restart, that is the instance that just ended.
        run = state.run if "waiting" in current else state.previous_run
        if not last or run is None:
            return f'previous terminated container "{name}" in pod "{pod_name}" not found'
        return instance_lines(pod, run, last, now, requests)
    if "running" in current or "terminated" in current:
        return instance_lines(pod, state.run, current.get("terminated"), now, requests)
    if last and state.run is not None:  # waiting to restart: the last instance's log
        return instance_lines(pod, state.run, last, now, requests)
    reason = current.get("waiting", {}).get("reason", "")
    why = {"ErrImagePull": "image can't be pulled",
           "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
    return f'container "{name}" in pod "{pod_name}" is waiting to start: {why}'


def read_log(sim: Any, pod: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None, previous: bool = False) -> str:
    """``kubectl logs``, on the simulator: see :meth:`labsupport.cluster.Cluster.logs`.

    Raises:
        ObjectNotFound: no such pod.
        Invalid: no container named and the pod has several, an unknown
            container, no previous instance, or a container still waiting to
            start; the message is Kubernetes' own.
    """
    from labsupport import arguments
    from labsupport.errors import Invalid, ObjectNotFound

    name = pod.split("/", 1)[1] if pod.startswith(("pod/", "pods/", "po/")) else pod
    arguments.text(name, "pod", example="web-7f9c-x2")
    arguments.namespace(namespace)
    if tail is not None and (isinstance(tail, bool) or not isinstance(tail, int)):
        raise Invalid(f"tail must be a whole number of lines, got {tail!r}")
    key = f"/registry/pods/{namespace}/{name}"
    obj = sim.store.peek(key)
    if obj is None:
        raise ObjectNotFound("pod", name, namespace)
    spec = obj["spec"]
    names = [c["name"] for c in spec.get("containers") or ()]
    inits = [c["name"] for c in spec.get("initContainers") or ()]
    where = f"GET /api/v1/namespaces/{namespace}/pods/{name}/log"
    if container is None:
        if len(names) != 1:
            # pkg/registry/core/pod/strategy.go (LogLocation), kubectl's own check alike
            msg = f"a container name must be specified for pod {name}, choose one of: " \
                  f"[{' '.join(names)}]"
            if inits:
                msg += f" or one of the init containers: [{' '.join(inits)}]"
            raise Invalid(f"the API server refused {where}: {msg}")
        container = names[0]
    if container not in names and container not in inits:
        raise Invalid(f"the API server refused {where}: "
                      f"container {container} is not valid for pod {name}")
    kubelet = sim.kubelets.get(spec.get("nodeName") or "")
    worker = kubelet.workers.get(key) if kubelet is not None else None
    state = None
    if worker is not None and worker.uid == obj["metadata"]["uid"]:
        state = next((c for c in worker.apps + worker.inits if c.name == container), None)
    if state is None:  # not bound yet, or the kubelet has not met it
        waiting = "ContainerCreating" if spec.get("nodeName") else "PodInitializing"
        raise Invalid(f"the API server refused {where}: "
                      f'container "{container}" in pod "{name}" is waiting to start: {waiting}')
    requests = None
    if not state.init and hasattr(sim, "_pod_requests"):
        requests = sim._pod_requests(namespace, name, container)
    lines = container_log(obj, state, previous, sim.env.now, requests)
    if isinstance(lines, str):
        raise Invalid(f"the API server refused {where}: {lines}")
    if tail is not None and tail >= 0:
        lines = lines[len(lines) - tail:] if tail else []
    return "".join(line + "\n" for line in lines)
