"""Which ports a simulated container listens on, and a probe's or Service's named ports.

A real kubelet probes the port a probe names, and a real kube-proxy sends a
connection to the endpoint's port: if nothing in the pod listens there, the
connection is refused (``dial tcp 10.244.1.5:8080: connect: connection
refused``). A ``containerPort`` in the pod spec is only information: nginx
listens on 80 whatever the spec declares. The simulator decides, first rule
first:

1. The annotation ``sim.labsupport.io/listen-ports`` (or
   ``sim.labsupport.io/listen-ports.CONTAINER``): a comma-separated list of
   port numbers, the ports the app listens on.
2. A container that runs its image's own command (no ``command``, no
   ``args``) of an image in the catalogue (:mod:`labsupport.sim.images`):
   the image's ports (nginx 80, redis 6379, the course's image 8080). An
   image of the catalogue without ports (busybox) listens on none.
3. Anything else (an unknown image, or a command the simulator does not
   read): the simulator cannot know, and assumes the app listens on every
   port, as before.

A named port (``port: http``) is the ``containerPort`` of the container's
port of that name, as the kubelet resolves it (pkg/probe/util.go
``ResolveContainerPort`` / ``findPortByName``).

Example:
    >>> pod = {"metadata": {}, "spec": {"containers": [
    ...     {"name": "web", "image": "nginx:1.27",
    ...      "ports": [{"name": "http", "containerPort": 80}]}]}}
    >>> c = pod["spec"]["containers"][0]
    >>> resolve_port(c, "http"), resolve_port(c, 8080), resolve_port(c, "metrics")
    (80, 8080, 'metrics')
    >>> listens(pod, c, 80), listens(pod, c, 8080)
    (True, False)
    >>> listens({"metadata": {}}, {"name": "a", "image": "example.com/app:1"}, 8080)
    True
"""

from __future__ import annotations

import re

from labsupport.sim import images

__all__ = ["ANNOTATION", "resolve_port", "listen_ports", "listens", "pod_listens"]

#: The annotation that says which ports an app listens on.
ANNOTATION = "sim.labsupport.io/listen-ports"
_PORTS = re.compile(r"\s*\d{1,5}\s*(,\s*\d{1,5}\s*)*")


def resolve_port(container: dict, port: int | str | None) -> int | str | None:
    """The port number ``port`` names in ``container`` (a name not found stays as it is).

    pkg/probe/util.go ``ResolveContainerPort``: an int is itself; a string is
    the ``containerPort`` of the container's port with that name, else (the
    last resort of ``findPortByName``'s caller) a number written as a string.
    """
    if isinstance(port, str):
        for p in container.get("ports") or ():
            if p.get("name") == port and isinstance(p.get("containerPort"), int):
                return p["containerPort"]
        return int(port) if port.isdigit() else port
    return port


def listen_ports(pod: dict, container: dict) -> frozenset[int] | None:
    """The ports ``container`` listens on, or None when the simulator cannot know."""
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    raw = ann.get(f"{ANNOTATION}.{container.get('name', '')}", ann.get(ANNOTATION))
    if isinstance(raw, str) and _PORTS.fullmatch(raw):
        return frozenset(int(p) for p in raw.split(","))
    if container.get("command") or container.get("args"):
        return None  # its own program: which port it opens is not read
    info = images.lookup(str(container.get("image", "")))
    if info is None or info.kind != images.SERVER:
        return None if info is None else frozenset()
    return frozenset(info.ports)


def listens(pod: dict, container: dict, port: int | str | None) -> bool:
    """Whether a connection to ``port`` of ``container`` is accepted (True when unknown)."""
    number = resolve_port(container, port)
    ports = listen_ports(pod, container)
    return ports is None or not isinstance(number, int) or number in ports


def pod_listens(pod: dict, port: int | str | None) -> bool:
    """Whether any app container of ``pod`` listens on ``port`` (the pod's IP is shared).

    Example:
        >>> pod_listens({"metadata": {}, "spec": {"containers": [
        ...     {"name": "a", "image": "redis:7.2"}, {"name": "b", "image": "nginx:1.27"}]}}, 80)
        True
    """
    if not isinstance(port, int):
        return True
    return any(listens(pod, c, port) for c in (pod.get("spec") or {}).get("containers") or ())
