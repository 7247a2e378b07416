"""Label selectors: ``"app=web,tier!=db"`` strings and LabelSelector objects.

Kubernetes finds the pods of a ReplicaSet or a Service by their labels. This
module parses kubectl's selector syntax and the API's ``matchLabels`` /
``matchExpressions`` form into one :class:`Selector` that tests a label map.

Example:
    >>> from labsupport.selectors import Selector
    >>> s = Selector.parse("app=web,tier in (front, edge),!canary")
    >>> s.matches({"app": "web", "tier": "edge"}), s.matches({"app": "web", "tier": "db"})
    (True, False)
    >>> Selector.from_label_selector({"matchLabels": {"app": "web"}}).matches({"app": "web"})
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from labsupport.errors import Invalid

__all__ = ["Selector", "Requirement"]

_OPS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


@dataclass(frozen=True)
class Requirement:
    """One condition on one label key."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when ``labels`` meet this requirement."""
        op = self.operator
        if op == "In":
            return self.key in labels and labels[self.key] in self.values
        if op == "NotIn":
            return labels.get(self.key) not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        value = labels.get(self.key)
        try:
            number = int(value) if value is not None else None
        except ValueError:
            return False
        if number is None:
            return False
        return number > int(self.values[0]) if op == "Gt" else number < int(self.values[0])


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """True when every requirement holds for ``labels``."""
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True for the selector that matches everything."""
        return not self.requirements

    def equality_labels(self) -> dict[str, str]:
        """The ``key=value`` requirements as a dict (used to index pods)."""
        return {
            r.key: r.values[0]
            for r in self.requirements
            if r.operator == "In" and len(r.values) == 1
        }

    def __str__(self) -> str:
        parts = []
        for r in self.requirements:
            if r.operator == "In" and len(r.values) == 1:
                parts.append(f"{r.key}={r.values[0]}")
            elif r.operator == "NotIn" and len(r.values) == 1:
                parts.append(f"{r.key}!={r.values[0]}")
            elif r.operator == "Exists":
                parts.append(r.key)
            elif r.operator == "DoesNotExist":
                parts.append(f"!{r.key}")
            elif r.operator in ("Gt", "Lt"):
                parts.append(f"{r.key}{'>' if r.operator == 'Gt' else '<'}{r.values[0]}")
            else:
                parts.append(f"{r.key} {r.operator.lower()} ({','.join(r.values)})")
        return ",".join(parts)

    @classmethod
    def from_label_selector(cls, sel: Mapping | None) -> Selector:
        """Build from an API LabelSelector (``matchLabels``, ``matchExpressions``).

        Raises:
            Invalid: an operator that Kubernetes does not know.
        """
        if not sel:
            return cls()
        reqs = [
            Requirement(k, "In", (str(v),))
            for k, v in sorted((sel.get("matchLabels") or {}).items())
        ]
        for expr in sel.get("matchExpressions") or ():
            op = expr.get("operator")
            if op not in _OPS:
                raise Invalid(f"selector operator {op!r} is not one of {', '.join(_OPS)}")
            reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
        return cls(tuple(reqs))

    @classmethod
    def from_map(cls, labels: Mapping[str, str] | None) -> Selector:
        """A Service-style selector: every ``key: value`` must match."""
        return cls(
            tuple(Requirement(k, "In", (str(v),)) for k, v in sorted((labels or {}).items()))
        )

    @classmethod
    def parse(cls, text: str | None) -> Selector:
        """Parse kubectl's selector syntax.

        Supports ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``,
        ``k notin (a,b)``, ``k>3`` and ``k<3``, joined by commas.

        Raises:
            Invalid: the text is not a selector; the message shows the part
                that could not be read.
        """
        if text is None or not str(text).strip():
            return cls()
        reqs: list[Requirement] = []
        for part in _split(str(text)):
            reqs.append(_parse_one(part))
        return cls(tuple(reqs))


def _split(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


_SET_RE = re.compile(r"^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$")
_CMP_RE = re.compile(r"^([\w./-]+)\s*(==|=|!=|>|<)\s*([\w.-]*)$")
_KEY_RE = re.compile(r"^(!?)\s*([\w./-]+)$")


def _parse_one(part: str) -> Requirement:
    m = _SET_RE.match(part)
    if m:
        values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
        return Requirement(m.group(1), "In" if m.group(2) == "in" else "NotIn", values)
    m = _CMP_RE.match(part)
    if m:
        key, op, value = m.groups()
        if op in ("=", "=="):
            return Requirement(key, "In", (value,))
        if op == "!=":
            return Requirement(key, "NotIn", (value,))
        if not value.isdigit():
            raise Invalid(f"selector {part!r}: {op} needs a whole number")
        return Requirement(key, "Gt" if op == ">" else "Lt", (value,))
    m = _KEY_RE.match(part)
    if m:
        return Requirement(m.group(2), "DoesNotExist" if m.group(1) else "Exists")
    raise Invalid(
        f"cannot read the selector part {part!r}; write it like app=web, tier!=db, "
        "env in (prod,staging), or !canary"
    )
