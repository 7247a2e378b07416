"""``Status`` objects: how the API server says that a request failed.

Every refusal of a Kubernetes API server is a JSON ``Status`` (kind
``Status``, apiVersion ``v1``) with an HTTP code, a machine-readable
``reason`` and a ``message``; kubectl prints the message, client libraries
branch on the reason. This module builds them, and maps the errors of
:mod:`labsupport.errors` raised by the simulator to the Status the real API
server sends for the same failure (``k8s.io/apimachinery/pkg/api/errors``:
``NewNotFound``, ``NewAlreadyExists``, ``NewConflict``, ``NewInvalid``,
``NewForbidden``, ``NewBadRequest``, ``NewResourceExpired``).

Example:
    >>> from labsupport.errors import AlreadyExists
    >>> s = status_for(AlreadyExists('pods "web" already exists'), "pods", "web")
    >>> s.code, s.body["reason"], s.body["message"]
    (409, 'AlreadyExists', 'pods "web" already exists')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labsupport.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    InvalidManifest,
    LabSupportError,
    ObjectNotFound,
    ResourceExpired,
    TooManyRequests,
)

__all__ = ["ApiStatus", "status", "status_for", "not_found", "success"]


@dataclass
class ApiStatus(Exception):
    """A failed request: the HTTP code and the Status body to send.

    Raised inside request handling and turned into the response by the handler.
    """

    code: int
    body: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.body.get('reason', '')}: {self.body.get('message', '')}"


def status(code: int, reason: str, message: str, details: dict | None = None) -> ApiStatus:
    """A Status of failure, as ``metav1.Status`` serializes it.

    Example:
        >>> status(405, "MethodNotAllowed", "no").body["status"]
        'Failure'
    """
    body: dict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason}
    if details:
        body["details"] = details
    body["code"] = code
    return ApiStatus(code, body)


def success(name: str, kind: str, uid: str | None = None) -> dict:
    """The Status a DELETE answers when the object went at once.

    Example:
        >>> success("web", "configmaps")["status"]
        'Success'
    """
    details: dict = {"name": name, "kind": kind}
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


def not_found(resource: str, name: str, group: str = "") -> ApiStatus:
    """404 NotFound for one object (``errors.NewNotFound``).

    Example:
        >>> not_found("deployments", "web", "apps").body["message"]
        'deployments.apps "web" not found'
    """
    qualified = f"{resource}.{group}" if group else resource
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return status(404, "NotFound", f'{qualified} "{name}" not found', details)


def _plural(kind: str) -> str:
    from labsupport.kinds import resource_type

    try:
        return resource_type(kind).plural
    except Invalid:
        return kind if kind.endswith("s") else kind + "s"


def _causes(err: InvalidManifest) -> list[dict]:
    """The ``details.causes`` of a 422: one per field error."""
    causes = []
    lines = err.causes or ((f"{err.field}: " if err.field else "")
                           + (f"Invalid value: {_quoted(err.value)}: " if err._has_value else "")
                           + err.problem,)
    for line in lines:
        field_path, sep, message = line.partition(": ")
        if not sep or " " in field_path:
            field_path, message = "", line
        reason = ("FieldValueRequired" if message.startswith("Required value") else
                  "FieldValueForbidden" if message.startswith("Forbidden") else
                  "FieldValueNotSupported" if message.startswith("Unsupported value") else
                  "FieldValueInvalid")
        causes.append({"reason": reason, "message": message, "field": field_path})
    return causes


def _quoted(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def status_for(err: LabSupportError, resource: str = "", name: str = "",
               group: str = "", kind: str = "") -> ApiStatus:
    """The Status the real API server answers for the failure ``err`` names.

    Args:
        err: an error the simulator raised.
        resource: the plural of the resource the request was about.
        name: the object's name, when there is one.
        group: the resource's API group.
        kind: the object's kind (a 422 names the kind, not the resource).
    """
    if isinstance(err, ObjectNotFound):
        if err.kind.lower() in (kind.lower(), resource, resource.rstrip("s")):
            return not_found(resource or _plural(err.kind), err.name, group)
        return not_found(_plural(err.kind), err.name)
    if isinstance(err, AlreadyExists):
        details = {"name": name, "kind": resource}
        if group:
            details["group"] = group
        # errors.NewAlreadyExists: '<resource>.<group> "<name>" already exists'
        qualified = f"{resource}.{group}" if group else resource
        text = f'{qualified} "{name}" already exists' if resource and name else str(err)
        return status(409, "AlreadyExists", text, details)
    if isinstance(err, Conflict):
        text = str(err).split(". Read it again")[0]
        details = {"name": err.name, "kind": resource}
        if group:
            details["group"] = group
        return status(409, "Conflict", text, details)
    if isinstance(err, InvalidManifest):
        # errors.NewInvalid: '<Kind>.<group> "<name>" is invalid: <field errors>'.
        shown = f"{kind}.{group}" if group else kind
        causes = _causes(err)
        text = "; ".join(f"{c['field']}: {c['message']}" if c["field"] else c["message"]
                         for c in causes)
        details = {"name": name, "kind": kind, "causes": causes}
        if group:
            details["group"] = group
        return status(422, "Invalid", f'{shown} "{name}" is invalid: {text}', details)
    if isinstance(err, Forbidden):
        return status(403, "Forbidden", str(err), {"name": name, "kind": resource})
    if isinstance(err, TooManyRequests):
        # registry/core/pod/storage/eviction.go: the budget refuses (429, DisruptionBudget).
        causes = [{"reason": "DisruptionBudget", "message": c} for c in err.causes]
        return status(429, "TooManyRequests", err.message, {"causes": causes} if causes else None)
    if isinstance(err, ResourceExpired):
        # storage/cacher: errors.NewResourceExpired (410, reason Expired).
        return status(410, "Expired",
                      f"too old resource version: {err.revision} ({err.oldest})")
    return status(400, "BadRequest", str(err))
