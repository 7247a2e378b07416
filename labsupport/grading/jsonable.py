"""Turn a learner's answer into plain JSON data, the only thing the grader trusts.

Checks never look at a learner's objects directly: a *probe* first reduces
the answer to numbers, strings, lists and dicts, and the judge grades that.
The batch grader relies on it: the answer is probed in the submission's own
process and only the JSON crosses over to the grader.

Example:
    >>> to_jsonable({"b": (1, 2.5), 3: {"x", "a"}})
    {'b': [1, 2.5], '3': ['a', 'x']}
    >>> to_jsonable(...)
    {'$stub': True}
    >>> to_jsonable(object())["$type"]
    'object'
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["to_jsonable", "is_stub", "STUB", "STUB_TEXT", "MAX_ITEMS", "MAX_TEXT"]

#: What ``...`` (the "your answer here" placeholder) becomes.
STUB = {"$stub": True}
#: The text of the exercise builder's placeholders: ``name = ...  # your answer here``
#: and ``raise NotImplementedError("your answer here")``.
STUB_TEXT = "your answer here"
#: Longest list or dict kept; the rest is cut off.
MAX_ITEMS = 10_000
#: Longest string kept, in characters.
MAX_TEXT = 2_000
_MAX_DEPTH = 20


def is_stub(value: Any) -> bool:
    """Whether a probed value is the unanswered placeholder ``...``.

    Example:
        >>> is_stub(to_jsonable(...)), is_stub(0)
        (True, False)
    """
    return isinstance(value, dict) and value.get("$stub") is True and len(value) == 1


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Convert ``value`` to JSON data: numbers, strings, lists and dicts.

    Tuples and sets become lists (sets sorted), dict keys become strings,
    numpy scalars and arrays become numbers and lists, ``...`` becomes
    :data:`STUB`, and anything else becomes ``{"$type": ..., "$repr": ...}``.
    Very long or deep values are cut short rather than refused.
    """
    if _depth > _MAX_DEPTH:
        return {"$type": type(value).__name__, "$repr": "(too deeply nested)"}
    if value is None or isinstance(value, (bool, str)):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if value is Ellipsis:
        return dict(STUB)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, _depth + 1) for v in list(value)[:MAX_ITEMS]]
    if isinstance(value, (set, frozenset)):
        items = [to_jsonable(v, _depth + 1) for v in list(value)[:MAX_ITEMS]]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, dict):
        out = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                break
            out[_key(k)] = to_jsonable(v, _depth + 1)
        return out
    numeric = _numpy_like(value)
    if numeric is not _NOT:
        return to_jsonable(numeric, _depth + 1)
    return {"$type": type(value).__name__, "$repr": _safe_repr(value)}


_NOT = object()


def _numpy_like(value: Any) -> Any:
    """Numpy scalars and arrays (and anything with ``item``/``tolist``), duck-typed."""
    module = type(value).__module__ or ""
    if not module.startswith("numpy"):
        return _NOT
    for name in ("tolist", "item"):
        method = getattr(value, name, None)
        if callable(method):
            try:
                return method()
            except Exception:  # noqa: BLE001 - a learner's object may raise anything
                return _NOT
    return _NOT


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key[:MAX_TEXT]
    if isinstance(key, float) and key.is_integer() and math.isfinite(key):
        return str(int(key))
    if isinstance(key, (bool, int, float)) or key is None:
        return str(key)
    return _safe_repr(key)


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a learner's __repr__ may raise anything
        text = f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"
    if not isinstance(text, str):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:197] + "..."
