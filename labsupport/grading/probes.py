"""Probes: run a learner's answer on a check's inputs and write down what happened.

A probe never decides anything; it only observes, and what it observes is
plain JSON (see :mod:`labsupport.grading.jsonable`). One observation per
input, each either ``{"value": ...}`` or ``{"error": "...", "type": "..."}``.

- ``"value"``: the answer itself (a number, a list, a dict);
- ``"call"``: call the answer (a function) with each input's ``args`` and
  ``kwargs``;
- ``"detector"``: build the answer (a failure-detector class) with each
  input's ``timeout``, feed it heartbeats and ask it for suspects;
- ``"scheduler"``: add the answer (a scheduler plugin) to a simulated
  cluster per input and note where its pods land (:mod:`.placement`).

A check may name the course library's own versions of its answer
(``library=("labsupport.dc.amdahl",)``). An answer that is one of them, a
subclass of one, or a function that calls one (``lambda p, n: dc.amdahl(p,
n)``) is marked with ``origin``: while the probe runs, every reference to the
library object (in its module, in any ``labsupport`` module that re-exports
it, and in the answer's globals and closure) is swapped for a spy that
records the call and then does the real work.

Inputs are JSON too; ``{"$job": {...}}`` inside ``args`` becomes a
:class:`labsupport.dc.Job`, so a check can call a function with a job, and
``{"$faults": {"seed": 3}}`` a simulated cluster with planted faults
(:func:`labsupport.sim.faults.build_cluster`).

Example:
    >>> def ratio(a, b):
    ...     return a / b
    >>> seen = observe("call", ratio, [{"args": [1, 2]}, {"args": [1, 0]}])
    >>> seen[0]
    {'value': 0.5}
    >>> seen[1]["error"]
    'ratio(1, 0) raised ZeroDivisionError: division by zero'
    >>> observe("value", (1, 2), [None])
    [{'value': [1, 2]}]
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from labsupport.errors import GradingError
from labsupport.grading.jsonable import to_jsonable

__all__ = ["observe", "PROBES", "describe_call"]


def observe(kind: str, answer: Any, inputs: list[Any],
            library: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Observe ``answer`` on each input with the probe called ``kind``.

    Args:
        kind: ``"value"``, ``"call"`` or ``"detector"``.
        answer: the learner's answer.
        inputs: one JSON input per case.
        library: dotted names of library objects the answer must not be,
            extend or call.

    Example:
        >>> import labsupport.dc as dc
        >>> seen = observe("call", lambda p, n: dc.amdahl(p, n), [{"args": [0.5, 2]}],
        ...                library=["labsupport.dc.amdahl"])
        >>> seen[0]["origin"], seen[0]["via"]
        ('labsupport.dc.amdahl', 'calls')
    """
    probe = PROBES.get(kind)
    if probe is None:
        raise GradingError(f"unknown probe {kind!r}; probes are {sorted(PROBES)}")
    if kind == "value" or not library:
        return probe(answer, inputs)
    own = _library_objects(library)
    for name, obj in own.items():
        if answer is obj:
            return _marked(probe(answer, inputs), name, "is")
        if isinstance(answer, type) and isinstance(obj, type) and issubclass(answer, obj):
            return _marked(probe(answer, inputs), name, "subclass")
    called: list[str] = []
    with _spies(own, answer, called):
        seen = probe(answer, inputs)
    return _marked(seen, called[0], "calls") if called else seen


def _library_objects(library: Sequence[str]) -> dict[str, Any]:
    import importlib

    found = {}
    for dotted in library:
        module, _, attr = dotted.rpartition(".")
        obj = getattr(importlib.import_module(module), attr, None)
        if obj is not None:
            found[dotted] = obj
    return found


def _marked(seen: list[dict[str, Any]], origin: str, via: str) -> list[dict[str, Any]]:
    return [{**s, "origin": origin, "via": via} if "value" in s else s for s in seen]


@contextmanager
def _spies(own: dict[str, Any], answer: Any, called: list[str]) -> Iterator[None]:
    """Swap each library object for a spy wherever the answer could reach it."""
    spies = {id(obj): _spy(name, obj, called) for name, obj in own.items()}
    homes: list[dict[str, Any]] = [vars(m) for n, m in list(sys.modules.items())
                                   if (n == "labsupport" or n.startswith("labsupport."))
                                   and m is not None]
    function = getattr(answer, "__func__", answer)
    scope = getattr(function, "__globals__", None)
    if isinstance(scope, dict):
        homes.append(scope)
    swapped: list[tuple[Any, str, Any]] = []
    for home in homes:
        for key, value in list(home.items()):
            if id(value) in spies and any(value is o for o in own.values()):
                swapped.append((home, key, value))
                home[key] = spies[id(value)]
    cells = [c for c in (getattr(function, "__closure__", None) or ())
             if _cell_holds(c, own)]
    olds = [c.cell_contents for c in cells]
    for c in cells:
        c.cell_contents = spies[id(c.cell_contents)]
    try:
        yield
    finally:
        for home, key, value in swapped:
            home[key] = value
        for c, old in zip(cells, olds, strict=True):
            c.cell_contents = old


def _cell_holds(cell: Any, own: dict[str, Any]) -> bool:
    try:
        value = cell.cell_contents
    except ValueError:   # an empty cell
        return False
    return any(value is o for o in own.values())


def _spy(name: str, obj: Any, called: list[str]) -> Any:
    if isinstance(obj, type):
        class Spy(obj):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                called.append(name)
                super().__init__(*args, **kwargs)

        Spy.__name__ = Spy.__qualname__ = obj.__name__
        return Spy

    @functools.wraps(obj)
    def spy(*args: Any, **kwargs: Any) -> Any:
        called.append(name)
        return obj(*args, **kwargs)

    return spy


def _value(answer: Any, inputs: list[Any]) -> list[dict[str, Any]]:
    seen = {"value": to_jsonable(answer)}
    return [seen for _ in inputs]


def _name(answer: Any) -> str:
    name = getattr(answer, "__name__", None)
    return name if isinstance(name, str) else type(answer).__name__


def describe_call(name: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> str:
    """How a call looks in a message: ``amdahl_speedup(0.5, 2)``.

    Example:
        >>> describe_call("f", [1, "a"], {"seed": 2})
        "f(1, 'a', seed=2)"
    """
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def _short(value: Any) -> str:
    if isinstance(value, dict) and "$faults" in value:
        return "c"  # the cluster's seed stays with the grader
    if isinstance(value, dict) and "$job" in value:
        fields = value["$job"]
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"Job({inner})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$job"}:
            from labsupport.dc.job import Job

            return Job(**value["$job"])
        if set(value) == {"$faults"}:
            from labsupport.sim.faults import build_cluster

            return build_cluster(**value["$faults"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def _error(what: str, exc: BaseException) -> dict[str, Any]:
    text = str(exc)
    if len(text) > 300:
        text = text[:297] + "..."
    return {"error": f"{what} raised {type(exc).__name__}: {text}".rstrip(": "),
            "type": type(exc).__name__}


def _origin(answer: Any) -> dict[str, str]:
    """Where a function or class comes from, when it is the course library's own."""
    module = getattr(answer, "__module__", None)
    if not (isinstance(module, str) and module.startswith("labsupport.")):
        return {}
    home = sys.modules.get(module)
    if home is None or getattr(home, _name(answer), None) is not answer:
        return {}
    return {"origin": f"{module}.{_name(answer)}"}


def _call(answer: Any, inputs: list[Any]) -> list[dict[str, Any]]:
    name = _name(answer)
    if answer is Ellipsis:
        return [{"value": to_jsonable(answer)} for _ in inputs]
    if not callable(answer):
        msg = {"error": f"{name} should be a function, but it is {_short(answer)}",
               "type": "NotCallable"}
        return [msg for _ in inputs]
    out = []
    for spec in inputs:
        args = list((spec or {}).get("args", []))
        kwargs = dict((spec or {}).get("kwargs", {}))
        what = describe_call(name, args, kwargs)
        try:
            result = answer(*_decode(args), **_decode(kwargs))
        except Exception as exc:  # noqa: BLE001 - a learner's function may raise anything
            out.append(_error(what, exc))
            continue
        out.append({"value": to_jsonable(result), **_origin(answer)})
    return out


def _detector(answer: Any, inputs: list[Any]) -> list[dict[str, Any]]:
    name = _name(answer)
    if answer is Ellipsis:
        return [{"value": to_jsonable(answer)} for _ in inputs]
    if not callable(answer):
        msg = {"error": f"{name} should be a class, but it is {_short(answer)}",
               "type": "NotCallable"}
        return [msg for _ in inputs]
    out = []
    for spec in inputs:
        timeout = spec["timeout"]
        try:
            detector = answer(timeout)
        except Exception as exc:  # noqa: BLE001
            out.append(_error(f"{name}({timeout!r})", exc))
            continue
        answers: list[Any] = []
        failed = None
        for event in spec["events"]:
            try:
                if event[0] == "hb":
                    detector.heartbeat(event[1], event[2])
                else:
                    answers.append(to_jsonable(detector.suspects(event[1])))
            except Exception as exc:  # noqa: BLE001
                call = (f"heartbeat({event[1]!r}, {event[2]!r})" if event[0] == "hb"
                        else f"suspects({event[1]!r})")
                failed = _error(f"{call} (after {len(answers)} earlier questions)", exc)
                break
        out.append(failed if failed else {"value": answers, **_origin(answer)})
    return out


def _scheduler(answer: Any, inputs: list[Any]) -> list[dict[str, Any]]:
    """Schedule each case's pods with a learner's scheduler plugin (see :mod:`.placement`)."""
    from labsupport.grading.placement import observe_placements

    return observe_placements(answer, inputs)


PROBES: dict[str, Callable[[Any, list[Any]], list[dict[str, Any]]]] = {
    "value": _value, "call": _call, "detector": _detector, "scheduler": _scheduler}
