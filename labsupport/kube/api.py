"""The REST layer of the real backend: URLs, requests and errors.

Every call of :class:`~labsupport.kube.cluster.KubeCluster` becomes one HTTP
request to the API server, made through the official ``kubernetes`` client's
``ApiClient`` (which handles certificates, tokens and proxies from the
kubeconfig). Objects go out and come back as plain JSON dicts, so what a
learner sees is what ``kubectl get -o yaml`` shows.

Failures become labsupport errors that say what to do: 404 ObjectNotFound,
403 Forbidden (with the RBAC command to check), 422 InvalidManifest (with
the field path), an unreachable server ClusterUnavailable.

Example:
    >>> resource_path("apps/v1", "deployments", "shop", "web")
    '/apis/apps/v1/namespaces/shop/deployments/web'
    >>> resource_path("v1", "namespaces", None, "shop")
    '/api/v1/namespaces/shop'
    >>> resource_path("apps/v1", "deployments", "shop", "web", "scale")
    '/apis/apps/v1/namespaces/shop/deployments/web/scale'
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from labsupport.deprecations import warn, warning_texts
from labsupport.errors import (
    AlreadyExists,
    ClusterUnavailable,
    Conflict,
    Forbidden,
    Invalid,
    InvalidManifest,
    LabSupportError,
    ObjectNotFound,
    TooManyRequests,
)

__all__ = ["Api", "resource_path", "error_for_status"]

#: Content types of the PATCH flavours the backend uses.
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"


def resource_path(api_version: str, plural: str, namespace: str | None = None,
                  name: str | None = None, subresource: str | None = None) -> str:
    """The URL path of a collection, an object, or an object's subresource.

    Core objects live under ``/api/v1``, the others under
    ``/apis/<group>/<version>``; namespaced ones under ``namespaces/<ns>/``.
    """
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(plural)
    if name:
        parts.append(quote(name, safe=":@"))  # "system:metrics-server" as kubectl sends it
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


class Api:
    """Sends requests to one API server with the client's configuration.

    Args:
        configuration: a ``kubernetes.client.Configuration`` (host,
            certificates, token), as the kubeconfig loader fills it.
        timeout: seconds to wait for the server to answer one request.
        unreachable_fix: the command that fixes an unreachable server,
            shown in :class:`ClusterUnavailable`.
    """

    def __init__(self, configuration: Any, timeout: float = 30.0,
                 unreachable_fix: str | None = None) -> None:
        from kubernetes.client import ApiClient

        self.configuration = configuration
        self.host: str = configuration.host.rstrip("/")
        self.timeout = timeout
        self.unreachable_fix = (unreachable_fix
                                or "check the cluster is running: kubectl cluster-info")
        self._client = ApiClient(configuration)

    def close(self) -> None:
        """Release the connection pool."""
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing must never fail a lesson
            pass

    def request(self, method: str, path: str, query: dict[str, Any] | None = None,
                body: Any = None, content_type: str | None = None,
                what: str | None = None, raw: bool = False) -> Any:
        """Send one request and return the decoded JSON answer (or text if ``raw``).

        Args:
            method: GET, PATCH, DELETE...
            path: the URL path, e.g. from :func:`resource_path`.
            query: query parameters; None values are left out.
            body: a JSON-able body.
            content_type: the body's content type (JSON when omitted).
            what: the object concerned, ``"Deployment/web"``, for error messages.
            raw: return the body as text instead of decoding JSON.

        Raises:
            ClusterUnavailable: the server cannot be reached or failed.
            Forbidden, ObjectNotFound, InvalidManifest, AlreadyExists, Invalid:
                the server refused the request (see :func:`error_for_status`).
        """
        import urllib3
        from kubernetes.client.exceptions import ApiException

        params = {k: _q(v) for k, v in (query or {}).items() if v is not None}
        url_path = path + ("?" + urlencode(params) if params else "")
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            method_, url, headers_, body_, post = self._client.param_serialize(
                method=method, resource_path=url_path, header_params=headers, body=body,
                auth_settings=["BearerToken"])
            resp = self._client.call_api(method_, url, header_params=headers_, body=body_,
                                         post_params=post,
                                         _request_timeout=(min(self.timeout, 10.0),
                                                           self.timeout))
            data = resp.read()
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as err:
            raise ClusterUnavailable(
                f"cannot reach the Kubernetes API server at {self.host} ({_reason(err)})",
                self.unreachable_fix) from None
        for text in warning_texts(_header(resp, "Warning")):
            warn(text, stacklevel=4)  # deprecated APIs and the like, as kubectl shows them
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
        if not 200 <= resp.status < 300:
            raise error_for_status(resp.status, text, method=method, path=path, what=what,
                                   fix=self.unreachable_fix)
        if raw:
            return text
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError:
            raise ClusterUnavailable(f"the API server at {self.host} answered {method} {path} "
                                     "with something that is not JSON",
                                     "check the kubeconfig points at a Kubernetes API "
                                     "server") from None


def _header(resp: Any, name: str) -> str:
    """All values of one response header, joined as HTTP allows (``a, b``)."""
    headers = getattr(resp, "headers", None) or {}
    try:
        values = headers.get_all(name) if hasattr(headers, "get_all") else None
    except Exception:  # noqa: BLE001 - a header we cannot read is no warning
        values = None
    if values is None:
        value = headers.get(name) if hasattr(headers, "get") else None
        values = [value] if value else []
    return ", ".join(str(v) for v in values)


def _q(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    text = str(reason or err)
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "timed out" in low or "timeout" in low:
        return "timed out"
    if "name or service not known" in low or "nodename nor servname" in low:
        return "unknown host name"
    return text if len(text) < 200 else text[:197] + "..."


def _status_body(text: str) -> dict:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# How the authorizer's refusal reads (apiserver/pkg/endpoints/handlers/responsewriters/
# errors.go, forbiddenMessage): 'User "<name>" cannot <verb> resource "<r>" ...'.
_RBAC_REFUSAL = re.compile(r'User "[^"]*" cannot ')

# Verbs of `kubectl auth can-i` for each HTTP method.
_VERBS = {"GET": "get", "PATCH": "patch", "DELETE": "delete", "POST": "create", "PUT": "update"}


def error_for_status(status: int, text: str, method: str = "GET", path: str = "",
                     what: str | None = None, fix: str | None = None) -> LabSupportError:
    """Turn an error answer of the API server into a labsupport error.

    Args:
        status: the HTTP status code.
        text: the answer's body (a ``Status`` object, usually).
        method: the request's method, for the RBAC hint.
        path: the request's path, for the RBAC hint.
        what: ``"Deployment/web"`` when known.
        fix: how to fix an unreachable or failing server.

    Example:
        >>> body = json.dumps({"kind": "Status", "code": 403, "reason": "Forbidden",
        ...                    "message": 'deployments.apps "web" is forbidden: User "ann" '
        ...                    'cannot delete resource "deployments" in API group "apps" in '
        ...                    'the namespace "shop"'})
        >>> err = error_for_status(403, body, "DELETE",
        ...                        "/apis/apps/v1/namespaces/shop/deployments/web")
        >>> type(err).__name__, err.reason
        ('Forbidden', 'Forbidden')
        >>> print(err)  # doctest: +NORMALIZE_WHITESPACE
        deployments.apps "web" is forbidden: User "ann" cannot delete resource "deployments"
        in API group "apps" in the namespace "shop". RBAC does not allow this user to delete
        deployments in namespace "shop"; check with: kubectl auth can-i delete deployments
        -n shop (and ask the cluster's admin for a Role that allows it)
    """
    st = _status_body(text)
    message = st.get("message") or text.strip()[:300] or f"HTTP {status}"
    details = st.get("details") or {}
    if status == 404:
        plural = _plural_in(path)
        kind = details.get("kind") or plural or "object"
        name = details.get("name") or path.split("?")[0].rstrip("/").rpartition("/")[2]
        # A missing namespace (applying into "x" before it exists) names the
        # namespace, which lives in no namespace itself.
        same = kind == plural or kind.split(".")[0] == plural
        return ObjectNotFound(_singular(kind.split(".")[0]), name,
                              _namespace_in(path) if same else None)
    if status == 403:
        low = message.lower()
        if "exceeded quota" in low:
            return Forbidden(message, reason="ExceededQuota")
        if not _RBAC_REFUSAL.search(message):
            # An admission plugin refused (PodSecurity, Priority...): its message says why.
            return Forbidden(message, reason=st.get("reason") or "Forbidden")
        verb = _VERBS.get(method.upper(), method.lower())
        resource = _plural_in(path) or details.get("kind") or "that resource"
        ns = _namespace_in(path)
        where = f' in namespace "{ns}"' if ns else ""
        flag = f" -n {ns}" if ns else ""
        hint = (f"RBAC does not allow this user to {verb} {resource}{where}; check with: "
                f"kubectl auth can-i {verb} {resource}{flag} (and ask the cluster's admin "
                "for a Role that allows it)")
        return Forbidden(f"{message.rstrip('.')}. {hint}", reason=st.get("reason") or "Forbidden")
    if status == 401:
        return ClusterUnavailable("the API server did not accept the kubeconfig's credentials "
                                  "(401 Unauthorized)",
                                  fix or "get fresh credentials for this cluster")
    if status == 409:
        # 409 is both AlreadyExists (a create) and Conflict (a stale resourceVersion).
        if st.get("reason") == "Conflict" or "the object has been modified" in message:
            group = details.get("group")
            resource = (_plural_in(path) or details.get("kind") or "object") + (
                f".{group}" if group else "")
            name = details.get("name") or path.split("?")[0].rstrip("/").rpartition("/")[2]
            return Conflict(resource, name, message)
        return AlreadyExists(message)
    if status == 422:
        causes = details.get("causes") or []
        field = causes[0].get("field") if causes else None
        problem = causes[0].get("message") if causes else message
        kind, name = details.get("kind"), details.get("name")
        if kind and name and causes:
            # As kubectl prints it: The Deployment "web" is invalid: spec.selector: ...
            lines = tuple(f"{c.get('field')}: {c.get('message')}" if c.get("field")
                          else str(c.get("message")) for c in causes)
            return InvalidManifest(problem or message, obj=what, field=field,
                                   refused=(kind, name), causes=lines)
        return InvalidManifest(problem or message, obj=what, field=field)
    if status == 429:
        # The Eviction API refusing to break a PodDisruptionBudget (eviction.go).
        causes = tuple(str(c.get("message")) for c in details.get("causes") or ()
                       if c.get("message"))
        return TooManyRequests(message, causes, int(details.get("retryAfterSeconds") or 0))
    if status in (400, 405, 406, 415):
        return Invalid(f"the API server refused {method} {path}: {message}")
    return ClusterUnavailable(f"the API server answered {status} to {method} {path}: {message}",
                              fix or "try again in a few seconds; check the control plane with: "
                              "kubectl get --raw /readyz")


def _plural_in(path: str) -> str | None:
    parts = [p for p in path.split("?")[0].split("/") if p]
    # /api/v1/[namespaces/ns/]plural[/name[/sub]]  or  /apis/g/v/[namespaces/ns/]plural...
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    return rest[0] if rest else None


def _namespace_in(path: str) -> str | None:
    parts = [p for p in path.split("?")[0].split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        return rest[1]
    return None


def _singular(kind: str) -> str:
    low = kind.lower()
    if low.endswith("ies"):
        return low[:-3] + "y"
    if low.endswith(("sses", "ches", "shes", "xes")):
        return low[:-2]
    if low.endswith("s") and not low.endswith("ss"):
        return low[:-1]
    return low
