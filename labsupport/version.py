"""The one Kubernetes version the course teaches, and what follows from it.

Everything that names a Kubernetes release reads it from here: the schema the
manifests are checked against, what the simulated API server says ``/version``
is, the ``kubeletVersion`` each simulated node reports, the kind release and
node image in ``clusters/kind/``, the kubectl the tests run, and the docs.
``tests/test_version.py`` checks that all of them agree with this module.

The course follows what a student who installs kind today gets. kind v0.33.0
(released 2026-08-26) makes clusters of Kubernetes v1.37.0 by default (its
pull request 4248 bumped the default image to kindest/node:v1.37.0). Its
release notes (github.com/kubernetes-sigs/kind/releases/tag/v0.33.0) publish
the node image with its digest. That page cannot be opened from the machines
this course is built on, so the digest below was taken from public projects
that pin kind v0.33.0, one of which reads it from the release itself; all of
them agree. Compare it with the release notes when moving to another kind
release. kind pulls the image by digest, so a config that names it gets
exactly the build made for that kind release.

Example:
    >>> from labsupport.version import KUBERNETES_VERSION, server_version
    >>> KUBERNETES_VERSION
    '1.37'
    >>> v = server_version()
    >>> (v["major"], v["minor"], v["gitVersion"])
    ('1', '37', 'v1.37.0')
    >>> minor_of("v1.36.4"), minor_of("1.37")
    ((1, 36), (1, 37))
"""

from __future__ import annotations

import re

from labsupport.errors import Invalid

__all__ = [
    "KUBERNETES_VERSION", "KUBERNETES_RELEASE", "KIND_VERSION", "KIND_NODE_IMAGE",
    "KUBECTL_SKEW", "minor_of", "server_version", "kubectl_supported",
]

#: The Kubernetes minor release the course teaches: schemas, simulator, docs.
KUBERNETES_VERSION = "1.37"

#: The exact release the simulated cluster reports, and kind's node image runs.
KUBERNETES_RELEASE = "v1.37.0"

#: The kind release whose default node image is :data:`KUBERNETES_RELEASE`.
KIND_VERSION = "v0.33.0"

#: The node image kind v0.33.0's release notes publish for Kubernetes v1.37.0.
KIND_NODE_IMAGE = ("kindest/node:v1.37.0@sha256:"
                   "a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5")

#: kubectl is supported within one minor version of the API server, older or
#: newer (kubernetes.io/releases/version-skew-policy, "kubectl").
KUBECTL_SKEW = 1

# What the API server of kind's v1.37.0 node image answers at /version
# (k8s.io/apimachinery/pkg/version.Info; the emulation and minimum
# compatibility fields came with compatibility versions, KEP-4330, in 1.33).
# The commit and build date are those of the v1.37.0 release build.
_GIT_COMMIT = "f54c212e3a2f75d674b717a9b29052b20b60aefc"
_BUILD_DATE = "2026-08-26T10:44:25Z"
_GO_VERSION = "go1.26.6"


def minor_of(version: str) -> tuple[int, int]:
    """The ``(major, minor)`` of a version such as ``"1.37"``, ``"v1.37.0"``.

    Raises:
        Invalid: the text is not a Kubernetes version.

    Example:
        >>> minor_of("v1.37.0-rc.1")
        (1, 37)
    """
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$", str(version).strip())
    if not m:
        raise Invalid(f'a Kubernetes version looks like "{KUBERNETES_VERSION}" or '
                      f'"{KUBERNETES_RELEASE}", got {version!r}')
    return int(m.group(1)), int(m.group(2))


def server_version() -> dict[str, str]:
    """The ``/version`` answer of the simulated API server.

    The keys are the ones a real server returns (``version.Info``), so
    ``kubectl version`` and the official client read it unchanged.

    Example:
        >>> server_version()["platform"]
        'linux/amd64'
    """
    major, minor = minor_of(KUBERNETES_RELEASE)
    return {
        "major": str(major), "minor": str(minor), "emulationMajor": str(major),
        "emulationMinor": str(minor), "minCompatibilityMajor": str(major),
        "minCompatibilityMinor": str(minor - 1), "gitVersion": KUBERNETES_RELEASE,
        "gitCommit": _GIT_COMMIT, "gitTreeState": "clean", "buildDate": _BUILD_DATE,
        "goVersion": _GO_VERSION, "compiler": "gc", "platform": "linux/amd64",
    }


def kubectl_supported(client_version: str, server: str = KUBERNETES_VERSION) -> bool:
    """True when a kubectl of ``client_version`` may talk to ``server``.

    Example:
        >>> kubectl_supported("v1.36.4"), kubectl_supported("v1.32.4")
        (True, False)
    """
    client, srv = minor_of(client_version), minor_of(server)
    return client[0] == srv[0] and abs(client[1] - srv[1]) <= KUBECTL_SKEW
