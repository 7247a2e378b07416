r"""API warnings: what the API server says when a request uses a deprecated API.

Since Kubernetes 1.19 the API server answers a request for a deprecated type
with a ``Warning`` header, and kubectl prints it as ``Warning: ...`` above its
output. The course shows the same warning on both backends, as a Python
warning of class :class:`APIWarning`: the simulator raises it from its own
table (the texts of the release the course teaches), a real cluster from the
headers it sends.

Example:
    >>> from labsupport.deprecations import deprecation_of, warning_texts
    >>> deprecation_of("v1", "Endpoints")
    'v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice'
    >>> deprecation_of("v1", "Pod") is None
    True
    >>> warning_texts('299 - "v1 Endpoints is deprecated", 299 - "a \\"quoted\\" word"')
    ['v1 Endpoints is deprecated', 'a "quoted" word']
"""

from __future__ import annotations

import re
import warnings

__all__ = ["APIWarning", "deprecation_of", "warn", "warning_texts"]


class APIWarning(UserWarning):
    """A warning the Kubernetes API server sent with its answer."""


# The deprecated types of Kubernetes 1.37 that the course's lessons meet, with
# the server's own text. v1 Endpoints: deprecated in 1.33 in favour of
# EndpointSlices, still served and still kept up to date by the endpoints
# controller (KEP-4974).
_DEPRECATED = {
    ("v1", "Endpoints"): "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
                         "EndpointSlice",
}

_WARNING = re.compile(r'\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def deprecation_of(api_version: str, kind: str) -> str | None:
    """The API server's deprecation warning for ``apiVersion``/``kind``, or None."""
    return _DEPRECATED.get((api_version, kind))


def warning_texts(header: str) -> list[str]:
    """The texts of a ``Warning`` header (RFC 7234 code 299, as Kubernetes sends them)."""
    return [m.group(1).replace('\\"', '"') for m in _WARNING.finditer(header or "")]


def warn(text: str, stacklevel: int = 3) -> None:
    """Show ``text`` as kubectl would (``Warning: ...``), as an :class:`APIWarning`."""
    warnings.warn(APIWarning(text), stacklevel=stacklevel)
