"""Field errors as the API server words them (``field.Error`` in apimachinery).

A validation error names a field path, a type (``Invalid value``,
``Forbidden``, ``Required value``...), the bad value and a detail. kubectl
prints the list as ``The Deployment "web" is invalid: spec.selector: Invalid
value: {"matchLabels":{"app":"web2"}}: field is immutable``. Since Kubernetes
1.34 a bad value that is not a string, number or bool is printed as compact
JSON (before, Go's ``%#v``: ``v1.LabelSelector{MatchLabels:...}``).

Source: staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go
(``ErrorBody``); kubectl's ``The %s %q is invalid`` head with one ``* `` line
per cause when there are several.

Example:
    >>> e = FieldError.invalid("spec.selector", {"matchLabels": {"app": "web2"}},
    ...                        "field is immutable")
    >>> str(e)
    'spec.selector: Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable'
    >>> print(refused("Deployment", "web", [e]))  # doctest: +NORMALIZE_WHITESPACE
    The Deployment "web" is invalid: spec.selector:
    Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from labsupport.errors import InvalidManifest

__all__ = ["FieldError", "refused", "render_value", "IMMUTABLE"]

#: apimachinery/pkg/api/validation: FieldImmutableErrorMsg.
IMMUTABLE = "field is immutable"


def render_value(value: Any) -> str:
    """How ``field.Error`` prints a bad value: strings quoted, structures as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class FieldError:
    """One validation error: ``field: Type: value: detail``."""

    type: str
    field: str
    detail: str = ""
    value: Any = None
    show_value: bool = False

    @classmethod
    def invalid(cls, field: str, value: Any, detail: str) -> FieldError:
        """``field.Invalid``: the value is shown."""
        return cls("Invalid value", field, detail, value, True)

    @classmethod
    def forbidden(cls, field: str, detail: str) -> FieldError:
        """``field.Forbidden``: no value."""
        return cls("Forbidden", field, detail)

    @classmethod
    def required(cls, field: str, detail: str = "") -> FieldError:
        """``field.Required``: no value."""
        return cls("Required value", field, detail)

    @property
    def body(self) -> str:
        """The message without the field (``ErrorBody``)."""
        text = self.type
        if self.show_value:
            text += f": {render_value(self.value)}"
        return text + (f": {self.detail}" if self.detail else "")

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


def refused(kind: str, name: str, errors: list[FieldError]) -> InvalidManifest:
    """The error for an object the API server refused, as kubectl prints it."""
    first = errors[0]
    return InvalidManifest(first.body, obj=f"{kind}/{name}", field=first.field,
                           refused=(kind, name), causes=tuple(str(e) for e in errors))


def selector_value(selector: dict | None) -> dict | None:
    """A label selector in the field order of ``metav1.LabelSelector`` (for JSON)."""
    if selector is None:
        return None
    out: dict = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(sorted(selector["matchLabels"].items()))
    if selector.get("matchExpressions"):
        out["matchExpressions"] = selector["matchExpressions"]
    return out
