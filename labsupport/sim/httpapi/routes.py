"""Reading a request path: which resource, namespace, object and subresource.

The API's URLs have few shapes (``apiserver/pkg/endpoints/installer.go``)::

    /api/v1/<resource>[/<name>[/<subresource>]]
    /api/v1/namespaces/<namespace>/<resource>[/<name>[/<subresource>]]
    /apis/<group>/<version>/...                (the same, for a named group)

``/api/v1/namespaces/<name>`` is the Namespace object itself.

Example:
    >>> r = parse("/apis/apps/v1/namespaces/shop/deployments/web/scale")
    >>> (r.group, r.version, r.namespace, r.resource, r.name, r.subresource)
    ('apps', 'v1', 'shop', 'deployments', 'web', 'scale')
    >>> parse("/api/v1/namespaces/shop").resource, parse("/api/v1/namespaces/shop").name
    ('namespaces', 'shop')
    >>> parse("/healthz") is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["Route", "parse"]


@dataclass(frozen=True)
class Route:
    """One resource request's coordinates."""

    group: str
    version: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None

    @property
    def api_version(self) -> str:
        """``v1`` or ``<group>/<version>``."""
        return f"{self.group}/{self.version}" if self.group else self.version


def parse(path: str) -> Route | None:
    """The route of a resource path, or None when it is not one."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) >= 3 and parts[0] == "api" and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if not all(rest) or len(rest) > 3:
        return None
    return Route(group, version, rest[0], namespace, *rest[1:])
