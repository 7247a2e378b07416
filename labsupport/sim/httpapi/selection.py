"""Which objects a list or watch returns: field selectors and pages.

A *field selector* (``?fieldSelector=spec.nodeName=node-1``) filters on a
few fields the API server indexes for each resource: ``metadata.name`` and
``metadata.namespace`` everywhere, more for some kinds (the
``AddFieldLabelConversionFunc`` calls of ``pkg/apis/*/v1/conversion.go``).
Any other field is refused with ``field label not supported``.

A *page* (``?limit=500``) ends with a ``continue`` token that the next request
sends back. Here the token holds the resourceVersion of the first page and
the last key returned (as the real token does); the next page is read from
the current state after that key, which is what a real server does once the
first page's revision is no longer in its watch cache.

Example:
    >>> sel = FieldSelector.parse("status.phase!=Running,spec.nodeName=node-1", "Pod")
    >>> sel.matches({"spec": {"nodeName": "node-1"}, "status": {"phase": "Pending"},
    ...              "metadata": {"name": "a"}})
    True
    >>> token = continue_token(12, "default/web-2")
    >>> read_continue(token)
    (12, 'default/web-2')
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from labsupport.sim.httpapi.status import status

__all__ = ["FieldSelector", "continue_token", "read_continue", "FIELDS"]

_COMMON = ("metadata.name", "metadata.namespace")
#: Field selector labels each kind supports beside metadata.name and metadata.namespace.
FIELDS: dict[str, tuple[str, ...]] = {
    # pkg/apis/core/v1/conversion.go: AddFieldLabelConversionsForPod
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
            "status.podIPs", "status.nominatedNodeName"),
    "Node": ("spec.unschedulable",),
    "Namespace": ("status.phase",),
    "Secret": ("type",),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion",
              "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
              "reportingComponent", "source", "type"),
    "ReplicaSet": ("status.replicas",),
    "ReplicationController": ("status.replicas",),
    "Job": ("status.successful",),
}


def _value(obj: dict, label: str) -> str:
    if label == "source":
        return str((obj.get("source") or {}).get("component", ""))
    if label == "status.podIPs":
        ips = (obj.get("status") or {}).get("podIPs") or ()
        return ips[0].get("ip", "") if ips else ""
    here: object = obj
    for part in label.split("."):
        here = here.get(part) if isinstance(here, dict) else None
    if isinstance(here, bool):
        return "true" if here else "false"
    return "" if here is None else str(here)


@dataclass(frozen=True)
class FieldSelector:
    """Requirements ``(label, operator, value)`` that all must hold."""

    terms: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def parse(cls, text: str | None, kind: str) -> FieldSelector:
        """Read ``a=b,c!=d`` for objects of ``kind``; raise a 400 Status when it is wrong."""
        terms = []
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            for op in ("!=", "==", "="):
                label, sep, value = part.partition(op)
                if sep:
                    break
            else:
                raise status(400, "BadRequest", f'invalid selector: "{text}"; can\'t understand '
                             f'"{part}"')
            label = label.strip()
            if label not in _COMMON + FIELDS.get(kind, ()):
                # The conversion functions' error for an unknown label.
                raise status(400, "BadRequest", f"field label not supported: {label}")
            terms.append((label, "!=" if op == "!=" else "=", value.strip()))
        return cls(tuple(terms))

    @property
    def empty(self) -> bool:
        """True when it selects everything."""
        return not self.terms

    def matches(self, obj: dict) -> bool:
        """Whether ``obj`` meets every requirement."""
        for label, op, value in self.terms:
            if (_value(obj, label) == value) != (op == "="):
                return False
        return True

    def name(self) -> str | None:
        """The one name asked for with ``metadata.name=``, if any (a watch of one object)."""
        for label, op, value in self.terms:
            if label == "metadata.name" and op == "=":
                return value
        return None


def continue_token(revision: int, last: str) -> str:
    """The ``continue`` token after the object ``namespace/name`` (or ``name``)."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": last + "\x00"},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def read_continue(token: str) -> tuple[int, str]:
    """(revision, last key) of a token; a 400 Status when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        start = data["start"]
        if data.get("v") != "meta.k8s.io/v1" or not start.endswith("\x00"):
            raise ValueError("unknown version")
        return int(data["rv"]), start[:-1]
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as err:
        raise status(400, "BadRequest", f"continue key is not valid: {err}") from None
