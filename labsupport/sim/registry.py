"""The simulated registry: what one pull of an image returns on a node.

The kubelet asks the container runtime (containerd 2.x in kind) to pull an
image; the runtime asks the registry. This module decides the answer, with
the texts the runtime and the kubelet write, so that the kubelet
(:mod:`labsupport.sim.kubelet`) only has to follow the kubelet's image
manager (``pkg/kubelet/images/image_manager.go``).

A pull fails when:

* the node cannot reach the registry (see below), or the pod forces it with
  ``sim.labsupport.io/pull-error: timeout``: the runtime's DNS lookup times
  out after :data:`TIMEOUT_SECONDS`;
* the pod forces ``not-found`` or ``unauthorized``;
* the name is one letter off a catalogue image (``ngnix``): that repository
  does not exist (:func:`labsupport.sim.images.near_miss`);
* the catalogue knows the repository's tags and not this one (``nginx:1.999``).

An image the catalogue does not know is assumed to exist (a course's own
images). A reference that does not parse never reaches the registry: that
is ``InvalidImageName``, see :func:`invalid_reference`.

Where the registry is: outside the cluster, on the control plane's side of a
network partition (the way out of a kind cluster is the host's network, as
for the API server). A node cut off from the control plane, or failed,
cannot pull. The simulator looks at the network when a pull starts and when
it would end; a partition that comes and goes in between goes unnoticed.

Example:
    >>> pull("nginx:1.27", pull_seconds=2.0, reachable=True)
    PullResult(error=None, seconds=2.0)
    >>> r = pull("ngnix:1.27", pull_seconds=2.0, reachable=True)
    >>> print(r.error)
    failed to pull and unpack image "docker.io/library/ngnix:1.27": failed to resolve image: \
pull access denied, repository does not exist or may require authorization: server message: \
insufficient_scope: authorization failed
    >>> print(pull("nginx:1.999", pull_seconds=2.0, reachable=True).error)
    rpc error: code = NotFound desc = failed to pull and unpack image \
"docker.io/library/nginx:1.999": failed to resolve image: docker.io/library/nginx:1.999: not found
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from labsupport.sim.images import (
    DEFAULT_REGISTRY,
    InvalidReference,
    Reference,
    near_miss,
    parse_reference,
    tag_exists,
)

__all__ = ["PullResult", "pull", "invalid_reference", "full_name", "go_duration",
           "default_pull_policy",
           "PULL_ERRORS", "TIMEOUT_SECONDS", "REFUSED_SECONDS", "CACHED_PULL_SECONDS"]

#: Values of the ``sim.labsupport.io/pull-error`` annotation.
PULL_ERRORS = ("not-found", "unauthorized", "timeout")
#: An unreachable registry: the runtime's DNS lookup of the registry host gives
#: up after 2 attempts of 5 s (the resolv.conf(5) defaults Go's resolver uses).
TIMEOUT_SECONDS = 10.0
#: A registry that answers "no" (token request, then HEAD of the manifest):
#: about a second in real ``kubectl describe`` outputs. The simulator's choice.
REFUSED_SECONDS = 1.0
#: imagePullPolicy Always with the image already on the node: the runtime only
#: resolves the manifest and finds every layer present. The simulator's choice.
CACHED_PULL_SECONDS = 0.5
# Docker Hub's registry host (containerd's default host for docker.io).
_DOCKER_HUB_HOST = "registry-1.docker.io"
# containerd 2.x, core/transfer/local/pull.go and the CRI image service
# (internal/cri/server/images/image_pull.go) wrap the registry's error so:
_UNPACK = 'failed to pull and unpack image "{name}": failed to resolve image: '
# Docker Hub answers 401 for a repository that does not exist, and for a
# private one without credentials (real kubectl describe outputs, e.g.
# "docker.io/wazuh/wazuh-certs-tool:4.7.2"); other registries' token servers
# say "authorization failed: no basic auth credentials" (e.g. Amazon ECR).
_DENIED = "pull access denied, repository does not exist or may require authorization: "
_HUB_DENIED = "server message: insufficient_scope: authorization failed"
_OTHER_DENIED = "authorization failed: no basic auth credentials"


@dataclass(frozen=True)
class PullResult:
    """The answer to one pull.

    Attributes:
        error: None when the image was pulled; else the runtime's error as the
            kubelet reports it (``Failed to pull image "x": <error>``, and the
            container's ``waiting.message``).
        seconds: how long the attempt took.
    """

    error: str | None
    seconds: float


def full_name(ref: Reference) -> str:
    """The name containerd pulls: registry, repository, and tag (``latest`` if none).

    Example:
        >>> full_name(parse_reference("busybox"))
        'docker.io/library/busybox:latest'
    """
    text = ref.name
    if ref.pull_tag is not None:
        text += ":" + ref.pull_tag
    if ref.digest is not None:
        text += "@" + ref.digest
    return text


@lru_cache(maxsize=4096)  # many pods share an image: parse it once
def invalid_reference(image: str) -> str | None:
    """The kubelet's message for a reference it cannot parse, or None when it parses.

    The kubelet reports it as an ``InspectFailed`` event and as the
    ``waiting.message`` of reason ``InvalidImageName``
    (``applyDefaultImageTag`` in ``pkg/kubelet/images/image_manager.go``;
    the "couldn't parse image name" wording is from kubernetes PR 116231).

    Example:
        >>> print(invalid_reference("nginx:1.27:1"))
        Failed to apply default image tag "nginx:1.27:1": couldn't parse image name \
"nginx:1.27:1": invalid reference format
        >>> invalid_reference("nginx:1.27") is None
        True
    """
    try:
        parse_reference(image)
    except InvalidReference as err:
        return str(err)
    return None


def pull(image: str, *, pull_seconds: float, reachable: bool, cached: bool = False,
         forced: str | None = None) -> PullResult:
    """Pull ``image`` (a reference that parses) on a node, as the registry answers.

    Args:
        image: the container's ``image``.
        pull_seconds: how long a full pull takes (``sim.labsupport.io/pull-seconds``).
        reachable: whether the node reaches the registry now.
        cached: whether the node has the image already (imagePullPolicy Always
            pulls anyway, and fast: :data:`CACHED_PULL_SECONDS`).
        forced: a value of ``sim.labsupport.io/pull-error``, or None.

    Example:
        >>> pull("busybox", pull_seconds=2.0, reachable=True, cached=True)
        PullResult(error=None, seconds=0.5)
        >>> r = pull("nginx:1.27", pull_seconds=2.0, reachable=False)
        >>> r.seconds
        10.0
        >>> print(r.error)
        failed to pull and unpack image "docker.io/library/nginx:1.27": failed to resolve image: \
failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/1.27": \
dial tcp: lookup registry-1.docker.io: i/o timeout
        >>> print(pull("ghcr.io/team/app:1", pull_seconds=2.0, reachable=True,
        ...            forced="unauthorized").error)
        failed to pull and unpack image "ghcr.io/team/app:1": failed to resolve image: \
pull access denied, repository does not exist or may require authorization: \
authorization failed: no basic auth credentials
    """
    if not reachable or forced == "timeout":
        return PullResult(_failure(image, "timeout"), TIMEOUT_SECONDS)
    problem = forced or _missing(image)
    if problem is not None:
        return PullResult(_failure(image, problem), REFUSED_SECONDS)
    return PullResult(None, min(pull_seconds, CACHED_PULL_SECONDS) if cached else pull_seconds)


@lru_cache(maxsize=4096)
def _missing(image: str) -> str | None:
    """Why the registry lacks ``image`` (a value of :data:`PULL_ERRORS`), or None.

    Docker Hub answers a repository that does not exist as it answers a
    private one: "unauthorized".
    """
    if near_miss(image) is not None:
        hub = parse_reference(image).registry == DEFAULT_REGISTRY
        return "unauthorized" if hub else "not-found"
    return "not-found" if tag_exists(image) is False else None


@lru_cache(maxsize=4096)
def _failure(image: str, problem: str) -> str:
    """The runtime's error for ``problem`` (a value of :data:`PULL_ERRORS`)."""
    ref = parse_reference(image)
    name = full_name(ref)
    if problem == "timeout":
        return _unreachable(ref, name)
    if problem == "unauthorized":
        denied = _HUB_DENIED if ref.registry == DEFAULT_REGISTRY else _OTHER_DENIED
        return _UNPACK.format(name=name) + _DENIED + denied
    # gRPC code NotFound: the kubelet keeps the "rpc error" prefix, which it
    # strips only for code Unknown (kubernetes PR 117612).
    return f"rpc error: code = NotFound desc = {_UNPACK.format(name=name)}{name}: not found"


def _unreachable(ref: Reference, name: str) -> str:
    host = _DOCKER_HUB_HOST if ref.registry == DEFAULT_REGISTRY else ref.registry
    what = ref.digest if ref.tag is None and ref.digest is not None else ref.pull_tag
    url = f"https://{host}/v2/{ref.repository}/manifests/{what}"
    # Go's net package: "dial tcp: lookup HOST: i/o timeout" (the host without its port).
    return (_UNPACK.format(name=name) + f'failed to do request: Head "{url}": '
            f"dial tcp: lookup {host.rsplit(':', 1)[0]}: i/o timeout")


def go_duration(seconds: float) -> str:
    """Seconds as Go's ``time.Duration`` prints them (truncated to milliseconds).

    Example:
        >>> go_duration(2.0), go_duration(0.5), go_duration(12.345), go_duration(75)
        ('2s', '500ms', '12.345s', '1m15s')
    """
    ms = int(round(seconds * 1000))
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{secs}" if minutes else secs


def default_pull_policy(image: str) -> str:
    """The imagePullPolicy the API server gives a container that sets none.

    ``SetDefaults_Container`` (pkg/apis/core/v1/defaults.go): Always for the
    tag ``latest`` or no tag (and no digest), else IfNotPresent.

    Example:
        >>> default_pull_policy("busybox"), default_pull_policy("nginx:1.27")
        ('Always', 'IfNotPresent')
    """
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return "IfNotPresent"
    return "Always" if ref.digest is None and ref.tag in (None, "latest") else "IfNotPresent"
