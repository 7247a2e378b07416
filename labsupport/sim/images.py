"""Container images: reading an image reference, and a catalogue of well-known images.

A container's ``image`` is a *reference*: an optional registry host, a
repository path, an optional tag and an optional digest. The kubelet parses
it with the grammar of the distribution project (``reference/regexp.go`` and
``reference/normalize.go`` in github.com/distribution/reference) and, when it
cannot, sets the container's waiting reason to ``InvalidImageName``
(``pkg/kubelet/images/image_manager.go``). A short name such as ``nginx``
means ``docker.io/library/nginx``; without a tag or digest the kubelet pulls
``latest``.

The catalogue says what the simulator knows about the images the course and
the Kubernetes docs use: whether the image runs a *server* (runs until
stopped), a *one-shot* program (does its work and exits) or a *shell* (an
interactive program that, started without a terminal, reads the end of its
input and exits at once with 0), how long it takes to start, the ports it
listens on, its default command (``ENTRYPOINT`` + ``CMD``) and the tags that
exist. An image that is not in the catalogue is assumed to exist.

Example:
    >>> parse_reference("nginx:1.27")
    Reference(registry='docker.io', repository='library/nginx', tag='1.27', digest=None)
    >>> info = lookup("nginx:1.27")
    >>> info.kind, info.ports, info.command[1:]
    ('server', (80,), ('nginx', '-g', 'daemon off;'))
    >>> tag_exists("nginx:1.27"), tag_exists("nginx:1.99"), tag_exists("example.com/app:1")
    (True, False, None)
    >>> near_miss("ngnix:1.27")
    'nginx'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from labsupport.errors import Invalid

__all__ = ["Reference", "InvalidReference", "parse_reference", "ImageInfo", "CATALOGUE",
           "lookup", "tag_exists", "near_miss", "DEFAULT_REGISTRY", "DEFAULT_TAG",
           "SERVER", "ONE_SHOT", "SHELL"]

#: The registry of a name without a host (``nginx`` -> ``docker.io/library/nginx``).
DEFAULT_REGISTRY = "docker.io"
#: The tag the kubelet pulls when a reference has neither tag nor digest.
DEFAULT_TAG = "latest"
SERVER, ONE_SHOT, SHELL = "server", "one-shot", "shell"

# The distribution reference grammar (github.com/distribution/reference, regexp.go).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")
_NAME_MAX = 255
_DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Reference:
    """An image reference, normalised as the kubelet reads it.

    Attributes:
        registry: the registry host (``docker.io`` when the name has none).
        repository: the path inside the registry (``library/nginx``).
        tag: the tag, or None when the reference has none.
        digest: ``sha256:...``, or None.

    Example:
        >>> ref = parse_reference("registry.k8s.io/pause:3.10")
        >>> ref.name, ref.short_name, str(ref)
        ('registry.k8s.io/pause', 'pause', 'registry.k8s.io/pause:3.10')
        >>> parse_reference("busybox").pull_tag
        'latest'
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """Registry and repository: ``docker.io/library/nginx``."""
        return f"{self.registry}/{self.repository}"

    @property
    def short_name(self) -> str:
        """The last part of the repository: ``nginx``, ``curl``, ``agnhost``."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def pull_tag(self) -> str | None:
        """The tag the kubelet pulls: the tag, ``latest`` without tag or digest, else None."""
        if self.tag is None and self.digest is None:
            return DEFAULT_TAG
        return self.tag

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += ":" + self.tag
        if self.digest is not None:
            text += "@" + self.digest
        return text


class InvalidReference(Invalid):
    """An image reference the kubelet cannot parse (waiting reason ``InvalidImageName``).

    Attributes:
        image: the reference as written.
        problem: what is wrong with it.

    Example:
        >>> try:
        ...     parse_reference("Nginx:1.27")
        ... except InvalidReference as err:
        ...     print(err)
        Failed to apply default image tag "Nginx:1.27": couldn't parse image name "Nginx:1.27": \
invalid reference format: repository name (library/Nginx) must be lowercase
    """

    def __init__(self, image: str, problem: str) -> None:
        self.image = image
        self.problem = problem
        # The kubelet's event text (pkg/kubelet/images/image_manager.go, applyDefaultImageTag).
        super().__init__(f'Failed to apply default image tag "{image}": '
                         f'couldn\'t parse image name "{image}": {problem}')


def parse_reference(image: str) -> Reference:
    """Parse ``image`` as the kubelet does (``ParseNormalizedNamed``).

    Raises:
        InvalidReference: the reference breaks the grammar; the message says how.

    Example:
        >>> parse_reference("localhost:5000/team/app@sha256:" + "a" * 64).registry
        'localhost:5000'
        >>> parse_reference("bitnami/redis:7.2").repository
        'bitnami/redis'
        >>> parse_reference("index.docker.io/nginx").name
        'docker.io/library/nginx'
        >>> for bad in ("nginx:", "nginx:1.27 ", "", "ubuntu@sha256:abc"):
        ...     try:
        ...         parse_reference(bad)
        ...     except InvalidReference as err:
        ...         print(repr(bad), err.problem)
        'nginx:' invalid reference format
        'nginx:1.27 ' invalid reference format
        '' repository name must have at least one component
        'ubuntu@sha256:abc' invalid reference format
    """
    text = str(image)
    if _IDENTIFIER.fullmatch(text):
        raise InvalidReference(text, f"invalid repository name ({text}), "
                                     "cannot specify 64-byte hexadecimal strings")
    registry, remainder = _split_registry(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(text, f"invalid reference format: repository name ({remote}) "
                                     "must be lowercase")
    full = f"{registry}/{remainder}"
    match = _REFERENCE.fullmatch(full)
    if match is None:
        if not text:
            raise InvalidReference(text, "repository name must have at least one component")
        raise InvalidReference(text, "invalid reference format")
    name, tag, digest = match.groups()
    if len(name) > _NAME_MAX:
        raise InvalidReference(text, f"repository name must not be more than {_NAME_MAX} "
                                     "characters")
    if digest is not None:
        algorithm, hexpart = digest.split(":", 1)
        if algorithm not in _DIGEST_HEX:
            raise InvalidReference(text, "unsupported digest algorithm")
        if len(hexpart) != _DIGEST_HEX[algorithm]:
            raise InvalidReference(text, "invalid checksum digest length")
    return Reference(registry, name[len(registry) + 1:], tag, digest)


def _split_registry(name: str) -> tuple[str, str]:
    """Split off the registry host as ``splitDockerDomain`` (normalize.go) does."""
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"
                     and first.lower() == first):
        registry, remainder = DEFAULT_REGISTRY, name
    else:
        registry, remainder = first, rest
    if registry == "index.docker.io":
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in remainder:
        remainder = "library/" + remainder
    return registry, remainder


@dataclass(frozen=True)
class ImageInfo:
    """What the simulator knows about one image of the catalogue.

    Attributes:
        name: the image's usual short name (``nginx``, ``curlimages/curl``).
        kind: ``"server"`` (runs until stopped), ``"one-shot"`` (does its
            work and exits) or ``"shell"`` (exits at once without a terminal).
        start_seconds: typical time from container start until it serves.
        ports: the ports it listens on (``EXPOSE``).
        command: its default command, ``ENTRYPOINT`` followed by ``CMD``.
        tags: the tags that exist, or None when any tag is accepted.
        entrypoint: the part of ``command`` that is its ``ENTRYPOINT``: a
            container's ``args`` alone replace the rest (``CMD``).
    """

    name: str
    kind: str
    start_seconds: float
    ports: tuple[int, ...]
    command: tuple[str, ...]
    tags: frozenset[str] | None
    entrypoint: tuple[str, ...] = ()


def _versions(series: dict[str, int], suffixes: Iterable[str] = ("",),
              extra: Iterable[str] = ()) -> frozenset[str]:
    """Tags ``X.Y`` and ``X.Y.0`` .. ``X.Y.last`` for each series, with each suffix."""
    tags = set(extra)
    majors = set()
    for series_name, last in series.items():
        majors.add(series_name.split(".", 1)[0])
        names = [series_name] + [f"{series_name}.{p}" for p in range(last + 1)]
        tags.update(n + s for n in names for s in suffixes)
    tags.update(m + s for m in majors for s in suffixes)
    return frozenset(tags)


# Tags as published on Docker Hub / registry.k8s.io in 2025 (the common lines,
# not every historic tag). Series maps "major.minor" to its last patch release.
_NGINX = _versions(
    {"1.14": 2, "1.15": 12, "1.16": 1, "1.17": 10, "1.18": 0, "1.19": 10, "1.20": 2,
     "1.21": 6, "1.22": 1, "1.23": 4, "1.24": 0, "1.25": 5, "1.26": 3, "1.27": 5,
     "1.28": 0, "1.29": 1},
    ("", "-alpine", "-perl", "-alpine-slim", "-bookworm"),
    ("latest", "alpine", "perl", "alpine-slim", "stable", "mainline", "stable-alpine",
     "mainline-alpine", "stable-perl", "mainline-perl", "bookworm", "1.7.9"))
_HTTPD = _versions({"2.4": 65}, ("", "-alpine", "-bookworm"), ("latest", "alpine", "bookworm"))
_REDIS = _versions(
    {"6.0": 20, "6.2": 19, "7.0": 15, "7.2": 10, "7.4": 5, "8.0": 3, "8.2": 1},
    ("", "-alpine", "-bookworm"), ("latest", "alpine", "bookworm", "5.0.14", "5.0"))
_POSTGRES = _versions(
    {"12": 22, "13": 22, "14": 19, "15": 14, "16": 10, "17": 6, "18": 0},
    ("", "-alpine", "-bookworm", "-bullseye"), ("latest", "alpine", "bookworm"))
_MYSQL = _versions(
    {"5.6": 51, "5.7": 44, "8.0": 43, "8.4": 6, "9.0": 1, "9.1": 0, "9.2": 0, "9.3": 0,
     "9.4": 0}, ("", "-debian", "-oracle", "-oraclelinux9"), ("latest", "lts", "innovation",
                                                             "oracle", "debian"))
_MONGO = _versions({"4.4": 29, "5.0": 31, "6.0": 25, "7.0": 23, "8.0": 12},
                   ("", "-jammy", "-noble"), ("latest", "jammy", "noble"))
_BUSYBOX = _versions({"1.28": 4, "1.29": 3, "1.30": 1, "1.31": 1, "1.32": 1, "1.33": 1,
                      "1.34": 1, "1.35": 0, "1.36": 1, "1.37": 0},
                     ("", "-glibc", "-musl", "-uclibc"),
                     ("latest", "stable", "glibc", "musl", "uclibc", "stable-glibc",
                      "stable-musl", "1.27.2", "1.24"))
_ALPINE = _versions({"3.12": 12, "3.13": 12, "3.14": 10, "3.15": 11, "3.16": 9, "3.17": 10,
                     "3.18": 12, "3.19": 8, "3.20": 7, "3.21": 4, "3.22": 1},
                    extra=("latest", "edge"))
_UBUNTU = frozenset({"latest", "rolling", "devel", "16.04", "18.04", "20.04", "22.04", "24.04",
                     "24.10", "25.04", "25.10", "xenial", "bionic", "focal", "jammy", "noble",
                     "oracular", "plucky", "questing"})
_DEBIAN = frozenset({f"{n}{s}" for n in ("latest", "stable", "testing", "unstable", "oldstable",
                                         "10", "11", "12", "13", "buster", "bullseye",
                                         "bookworm", "trixie", "sid")
                     for s in ("", "-slim")})
_PYTHON = _versions({"3.8": 20, "3.9": 23, "3.10": 18, "3.11": 13, "3.12": 11, "3.13": 7,
                     "3.14": 0},
                    ("", "-slim", "-alpine", "-bookworm", "-slim-bookworm", "-bullseye",
                     "-slim-bullseye"),
                    ("latest", "slim", "alpine", "bookworm", "slim-bookworm", "2.7", "2.7.18"))
_PERL = _versions({"5.32": 1, "5.34": 3, "5.36": 3, "5.38": 4, "5.40": 2, "5.42": 0},
                  ("", "-slim", "-threaded", "-bookworm", "-slim-bookworm"),
                  ("latest", "slim", "threaded", "stable", "bookworm"))
_AGNHOST = frozenset(f"2.{n}" for n in range(20, 57))
_PAUSE = frozenset({"3.1", "3.2", "3.3", "3.4.1", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10",
                    "3.10.1"})


def _course_image() -> tuple[str, str]:
    from labsupport.kube.images import COURSE_IMAGE  # noqa: PLC0415 (kube is heavier)

    name, _, tag = COURSE_IMAGE.rpartition(":")
    return name, tag


_COURSE_NAME, _ = _course_image()

#: The catalogue, by normalised name (``docker.io/library/nginx``). Commands
#: and ports from each image's Dockerfile (``ENTRYPOINT``, ``CMD``, ``EXPOSE``).
#: Start times are the simulator's: 1 s (container start included) unless the
#: image initialises data on its first start.
CATALOGUE: dict[str, ImageInfo] = {
    info.name if "." in info.name.split("/", 1)[0] else parse_reference(info.name).name: info
    for info in (
        ImageInfo("nginx", SERVER, 1.0, (80,),
                  ("/docker-entrypoint.sh", "nginx", "-g", "daemon off;"), _NGINX,
                  ("/docker-entrypoint.sh",)),
        ImageInfo("httpd", SERVER, 1.0, (80,), ("httpd-foreground",), _HTTPD),
        ImageInfo("redis", SERVER, 1.0, (6379,), ("docker-entrypoint.sh", "redis-server"),
                  _REDIS, ("docker-entrypoint.sh",)),
        # postgres and mysql initialise a database on their first start.
        ImageInfo("postgres", SERVER, 3.0, (5432,), ("docker-entrypoint.sh", "postgres"),
                  _POSTGRES, ("docker-entrypoint.sh",)),
        ImageInfo("mysql", SERVER, 10.0, (3306, 33060), ("docker-entrypoint.sh", "mysqld"),
                  _MYSQL, ("docker-entrypoint.sh",)),
        ImageInfo("mongo", SERVER, 2.0, (27017,), ("docker-entrypoint.sh", "mongod"), _MONGO,
                  ("docker-entrypoint.sh",)),
        ImageInfo("busybox", SHELL, 1.0, (), ("sh",), _BUSYBOX),
        ImageInfo("alpine", SHELL, 1.0, (), ("/bin/sh",), _ALPINE),
        ImageInfo("ubuntu", SHELL, 1.0, (), ("/bin/bash",), _UBUNTU),
        ImageInfo("debian", SHELL, 1.0, (), ("bash",), _DEBIAN),
        ImageInfo("centos", SHELL, 1.0, (), ("/bin/bash",), None),
        ImageInfo("fedora", SHELL, 1.0, (), ("/bin/bash",), None),
        # Interpreters start a read-eval-print loop, which exits at end of input.
        ImageInfo("python", SHELL, 1.0, (), ("python3",), _PYTHON),
        ImageInfo("perl", SHELL, 1.0, (), ("perl", "-de0"), _PERL),
        ImageInfo("node", SHELL, 1.0, (), ("docker-entrypoint.sh", "node"), None,
                  ("docker-entrypoint.sh",)),
        ImageInfo("golang", SHELL, 1.0, (), ("bash",), None),
        # curl without a URL prints a hint and exits with 2.
        ImageInfo("curlimages/curl", ONE_SHOT, 1.0, (), ("/entrypoint.sh", "curl"), None,
                  ("/entrypoint.sh", "curl")),
        # agnhost runs what its first argument names (netexec, serve-hostname, ...).
        ImageInfo("registry.k8s.io/e2e-test-images/agnhost", SERVER, 1.0, (8080,),
                  ("/agnhost",), _AGNHOST, ("/agnhost",)),
        ImageInfo("registry.k8s.io/pause", SERVER, 1.0, (), ("/pause",), _PAUSE, ("/pause",)),
        # The HPA walkthrough's php-apache image.
        ImageInfo("registry.k8s.io/hpa-example", SERVER, 1.0, (80,), ("apache2-foreground",),
                  frozenset({"latest"})),
        # The course's own image: students build and load new versions of it
        # (lessons 05 and 11), so every tag is taken to exist, as for any image
        # the catalogue does not know.
        ImageInfo(_COURSE_NAME, SERVER, 2.0, (8080,),
                  ("python", "-m", "labsupport.apps.monolith"), None),
    )
}
# Registries that serve the same images under another host.
_ALIASES = {"k8s.gcr.io": "registry.k8s.io", "mirror.gcr.io": DEFAULT_REGISTRY}


def _entry(ref: Reference) -> ImageInfo | None:
    registry = _ALIASES.get(ref.registry, ref.registry)
    return CATALOGUE.get(f"{registry}/{ref.repository}")


def lookup(image: str) -> ImageInfo | None:
    """The catalogue entry of ``image``, or None when the catalogue does not know it.

    An unknown image is assumed to exist; an invalid reference is unknown.

    Example:
        >>> lookup("docker.io/library/redis:7.2").kind
        'server'
        >>> lookup("busybox").command
        ('sh',)
        >>> lookup("example.com/team/app:1") is None
        True
    """
    try:
        return _entry(parse_reference(image))
    except InvalidReference:
        return None


def tag_exists(image: str) -> bool | None:
    """Whether the tag of ``image`` exists (``latest`` when it has none).

    Returns:
        True or False for a catalogue image whose tags are known; None for an
        image the catalogue does not know, an image whose tags it does not
        list, a reference pinned by digest, or an invalid reference.

    Example:
        >>> tag_exists("nginx"), tag_exists("nginx:1.14.2"), tag_exists("busybox:1.28")
        (True, True, True)
        >>> tag_exists("nginx:1.277"), tag_exists("node:22"), tag_exists("nginx@sha256:" + "0" * 64)
        (False, None, None)
    """
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return None
    info = _entry(ref)
    if info is None or info.tags is None or ref.digest is not None:
        return None
    return ref.pull_tag in info.tags


def near_miss(image: str) -> str | None:
    """The catalogue image that ``image`` is probably a typo of, or None.

    A near miss is one letter off (a letter added, dropped, changed, or two
    neighbours swapped) from a catalogue name of four letters or more, on
    the same registry.

    Example:
        >>> near_miss("ngnix:1.27"), near_miss("docker.io/library/bussybox")
        ('nginx', 'busybox')
        >>> near_miss("nginx:1.27") is None, near_miss("example.com/ngnix") is None
        (True, True)
    """
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return None
    if _entry(ref) is not None or ref.name in _REAL_NEIGHBOURS:
        return None
    registry = _ALIASES.get(ref.registry, ref.registry)
    for key, info in CATALOGUE.items():
        known_registry, _, known_repo = key.partition("/")
        if known_registry != registry or len(info.name.rsplit("/", 1)[-1]) < 4:
            continue
        if _one_edit(ref.repository, known_repo):
            return info.name
    return None


# Real images one letter away from a catalogue image: never a typo.
_REAL_NEIGHBOURS = frozenset({"docker.io/library/mono"})


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one edit or one swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]
