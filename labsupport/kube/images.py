"""Build the course image and load it into a kind cluster.

The course's own services (the movie recommender of the microservices
lessons) run from one image built from clusters/images/Dockerfile. kind nodes
cannot see the images of the local docker, so ``kind load docker-image``
copies it into every node. Its tag is not ``latest``, so pods use the loaded
copy instead of pulling (imagePullPolicy defaults to IfNotPresent).

Example:
    >>> COURSE_IMAGE
    'labsupport/course:0.1.0'
    >>> DOCKERFILE.name
    'Dockerfile'
"""

from __future__ import annotations

from pathlib import Path

from labsupport.kube.kind import DEFAULT_NAME, Kind

__all__ = ["COURSE_IMAGE", "DOCKERFILE", "build_course_image", "load_course_image"]

_ROOT = Path(__file__).resolve().parents[2]
#: The Dockerfile of the course image.
DOCKERFILE = _ROOT / "clusters" / "images" / "Dockerfile"
#: The course image's name and tag (never "latest": see the module doc).
COURSE_IMAGE = "labsupport/course:0.1.0"


def build_course_image(kind: Kind | None = None, tag: str = COURSE_IMAGE) -> str:
    """Build the course image with docker (the course folder is the build context).

    Raises:
        ClusterUnavailable: docker is missing, not running, or the build failed.
    """
    kind = kind or Kind()
    kind.check_docker()
    kind.build_image(tag, _ROOT, DOCKERFILE)
    return tag


def load_course_image(name: str = DEFAULT_NAME, kind: Kind | None = None,
                      tag: str = COURSE_IMAGE, build: bool = True) -> str:
    """Make the course image available on every node of the kind cluster ``name``.

    Args:
        name: the kind cluster.
        kind: the kind/docker wrapper.
        tag: the image.
        build: build it first when the local docker does not have it.

    Raises:
        ClusterUnavailable: docker or kind is missing, or a step failed.
    """
    kind = kind or Kind()
    kind.require()
    if build and not kind.image_exists(tag):
        build_course_image(kind, tag)
    kind.load_image(tag, name)
    return tag
