"""Argument checks for the public cluster API, with messages for a learner.

Each check takes the value and the parameter's name, returns the value in
the form the code wants, and raises :class:`~labsupport.errors.Invalid` (or
:class:`~labsupport.errors.ObjectNotFound` for an unknown node) whose
message quotes the bad value and says what to write instead. The checks are
cheap, since :meth:`Cluster.advance` calls one in every step of a wait.

Example:
    >>> from labsupport import arguments
    >>> arguments.seconds(30, "seconds")
    30.0
    >>> arguments.seconds("30", "seconds")
    Traceback (most recent call last):
    ...
    labsupport.errors.Invalid: seconds must be a number of seconds, such as 30; got '30' (text). Write the number without quotes: 30
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import Any

from labsupport.errors import Invalid, ObjectNotFound

__all__ = [
    "number",
    "seconds",
    "count",
    "text",
    "namespace",
    "selector",
    "function",
    "choice",
    "cpu",
    "memory",
    "node",
    "cluster",
]

_TYPE_WORDS = {str: "text", bool: "a bool", type(None): "None", list: "a list",
               dict: "a dict", tuple: "a tuple", set: "a set"}


def number(value: Any, name: str, *, positive: bool = False, unit: str = "") -> float:
    """A real, finite number, zero or more (more than zero with ``positive``).

    Ints, floats and numpy numbers are accepted; bools, text, NaN and
    infinities are not.

    Args:
        value: what the caller passed.
        name: the parameter's name, for the message.
        positive: refuse zero too.
        unit: the unit in words (``"seconds"``), for the message.

    Returns:
        The value as a float.

    Raises:
        Invalid: the value is not such a number.

    Example:
        >>> number(2, "rps", positive=True)
        2.0
        >>> number(0, "rps", positive=True)
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: rps must be a number greater than 0; got 0
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:  # an int beyond the range of floats
            result = math.inf
    elif isinstance(value, Real) and not isinstance(value, bool):  # numpy numbers, Fraction
        result = float(value)
    else:
        raise Invalid(_not_a_number(value, name, unit))
    if (result > 0.0 if positive else result >= 0.0) and result != math.inf:
        return result
    raise Invalid(_out_of_range(value, result, name, positive, unit))


def seconds(value: Any, name: str, *, positive: bool = False) -> float:
    """A duration in seconds: :func:`number` with ``unit="seconds"``.

    Example:
        >>> seconds(1.5, "timeout")
        1.5
        >>> seconds(float("inf"), "timeout")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: timeout must be a finite number of seconds, such as 600; got inf
    """
    return number(value, name, positive=positive, unit="seconds")


def count(value: Any, name: str, minimum: int | None = 0, maximum: int | None = None) -> int:
    """A whole number (int or numpy integer, not bool) within the bounds given.

    Args:
        value: what the caller passed.
        name: the parameter's name, for the message.
        minimum: the smallest allowed value (None: no lower bound).
        maximum: the largest allowed value (None: no upper bound).

    Raises:
        Invalid: not a whole number, or out of bounds.

    Example:
        >>> count(3, "replicas")
        3
        >>> count(2.0, "replicas")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: replicas must be a whole number, zero or more; got 2.0 (a float). Write 2
    """  # noqa: E501
    if isinstance(value, Integral) and not isinstance(value, bool):
        result = int(value)
        if (minimum is None or result >= minimum) and (maximum is None or result <= maximum):
            return result
    if minimum is None and maximum is None:
        wanted = "a whole number"
    elif maximum is None:
        wanted = f"a whole number, {'zero' if minimum == 0 else minimum} or more"
    elif minimum is None:
        wanted = f"a whole number, at most {maximum}"
    else:
        wanted = f"a whole number from {minimum} to {maximum}"
    message = f"{name} must be {wanted}; got {_show(value)}"
    if isinstance(value, float) and value.is_integer():
        message += f". Write {int(value)}"
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        message += f". Write the number without quotes: {value.strip()}"
    raise Invalid(message)


def text(value: Any, name: str, *, example: str = "web") -> str:
    """A non-empty string, such as a name.

    Example:
        >>> text("web", "name")
        'web'
        >>> text(None, "name", example="node-1")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: name must be text such as "node-1"; got None
    """
    if isinstance(value, str) and value:
        return value
    raise Invalid(f'{name} must be text such as "{example}"; got {_show(value)}')


def namespace(value: Any, *, all_allowed: bool = False) -> str | None:
    """A namespace's name, or None (all namespaces) where ``all_allowed``.

    Example:
        >>> namespace(None, all_allowed=True) is None
        True
        >>> namespace(3)
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: namespace must be the name of a namespace, such as "default"; got 3 (an int)
    """  # noqa: E501
    if isinstance(value, str) and value or value is None and all_allowed:
        return value
    also = ", or None for all namespaces" if all_allowed else ""
    raise Invalid(
        f'namespace must be the name of a namespace, such as "default"{also}; got {_show(value)}'
    )


def selector(value: Any) -> str | None:
    """A label selector in kubectl's syntax, or None (everything).

    Example:
        >>> selector("app=web")
        'app=web'
        >>> selector({"app": "web"})
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: selector must be text such as "app=web", or None for all; got {'app': 'web'} (a dict)
    """  # noqa: E501
    if value is None or isinstance(value, str):
        return value
    raise Invalid(f'selector must be text such as "app=web", or None for all; got {_show(value)}')


def function(value: Any, name: str, *, example: str) -> Callable[..., Any]:
    """Something callable, such as a ``lambda``.

    Example:
        >>> function(print, "condition", example="lambda c: ...") is print
        True
        >>> function(True, "condition", example="lambda c: len(c.pods()) == 3")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: condition must be a function, such as lambda c: len(c.pods()) == 3; got True (a bool)
    """  # noqa: E501
    if callable(value):
        return value
    raise Invalid(f"{name} must be a function, such as {example}; got {_show(value)}")


def choice(value: Any, name: str, allowed: Iterable[str], *, or_else: str = "") -> str:
    """One of the ``allowed`` strings (``or_else``: words for other forms accepted).

    Example:
        >>> choice("spike", "pattern", ("constant", "spike"))
        'spike'
        >>> choice("spiky", "pattern", ("constant", "spike"))
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: pattern must be one of "constant", "spike"; got 'spiky' (text)
    """
    allowed = tuple(allowed)
    if isinstance(value, str) and value in allowed:
        return value
    options = ", ".join(f'"{a}"' for a in allowed)
    raise Invalid(f"{name} must be one of {options}{or_else}; got {_show(value)}")


def cpu(value: Any, name: str) -> float:
    """A CPU quantity (``"4"``, ``"500m"``, ``2``), zero or more; return cores.

    Example:
        >>> cpu("500m", "node_cpu")
        0.5
        >>> cpu("-1", "node_cpu")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: node_cpu must be a CPU quantity, zero or more, such as "4" or "500m"; got '-1' (text)
    """  # noqa: E501
    from labsupport.quantity import cpu_cores

    return _quantity(value, name, cpu_cores, 'a CPU quantity, zero or more, such as "4" or "500m"')


def memory(value: Any, name: str) -> int:
    """A memory quantity (``"8Gi"``, ``"512Mi"``, bytes as an int), zero or more; return bytes.

    Example:
        >>> memory("1Gi", "node_memory")
        1073741824
        >>> memory(float("nan"), "node_memory")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: node_memory must be a memory quantity, zero or more, such as "8Gi" or "512Mi"; got nan (a float)
    """  # noqa: E501
    from labsupport.quantity import memory_bytes

    return _quantity(value, name, memory_bytes,
                     'a memory quantity, zero or more, such as "8Gi" or "512Mi"')


def node(value: Any, nodes: Iterable[str], name: str = "name") -> str:
    """The name of one of ``nodes``.

    Raises:
        Invalid: not text.
        ObjectNotFound: no node of that name; the message lists the nodes.

    Example:
        >>> node("node-2", ["node-1", "node-2"])
        'node-2'
        >>> node("node-9", ["node-1", "node-2"])
        Traceback (most recent call last):
        ...
        labsupport.errors.ObjectNotFound: node "node-9" not found. The nodes are: node-1, node-2
    """
    text(value, name, example="node-1")
    names = list(nodes)
    if value in names:
        return value
    hint = f"The nodes are: {', '.join(names)}" if names else "The cluster has no nodes"
    raise ObjectNotFound("node", value, hint=hint)


def cluster(value: Any, name: str = "cluster") -> Any:
    """A cluster made by ``ls.connect()`` (any backend).

    Example:
        >>> import labsupport as ls
        >>> c = ls.connect(nodes=1)
        >>> cluster(c) is c
        True
        >>> cluster("c")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: cluster must be a cluster made by ls.connect(), such as c = ls.connect(); got 'c' (text)
    """  # noqa: E501
    from labsupport.cluster import Cluster

    if isinstance(value, Cluster):
        return value
    raise Invalid(
        f"{name} must be a cluster made by ls.connect(), such as c = ls.connect(); "
        f"got {_show(value)}"
    )


# --- messages (built only when a check fails) -----------------------------------------------
def _show(value: Any) -> str:
    """The value as Python writes it (cut at 60 characters), and what it is."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if value is None:
        return shown
    kind = _TYPE_WORDS.get(type(value))
    if kind is None:
        kind_name = type(value).__name__
        kind = f"{'an' if kind_name[:1].lower() in 'aeiou' else 'a'} {kind_name}"
    return f"{shown} ({kind})"


def _not_a_number(value: Any, name: str, unit: str) -> str:
    what = f"a number of {unit}" if unit else "a number"
    message = f"{name} must be {what}, such as 30; got {_show(value)}"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return message
        return message + f". Write the number without quotes: {value.strip()}"
    if isinstance(value, bool):
        return message + ". True and False are not numbers"
    return message


def _out_of_range(value: Any, result: float, name: str, positive: bool, unit: str) -> str:
    of_unit = f" of {unit}" if unit else ""
    if math.isnan(result):
        return (f"{name} must be a number{of_unit}; got nan (not a number). "
                "Check the calculation that gave it")
    if math.isinf(result):
        shown = repr(value) if isinstance(value, float) else "a number too large for a float"
        return f"{name} must be a finite number{of_unit}, such as 600; got {shown}"
    if positive:
        return f"{name} must be a number greater than 0; got {value!r}"
    return f"{name} must be zero or more{' ' + unit if unit else ''}; got {value!r}"


def _quantity(value: Any, name: str, parse: Callable[[Any], Any], wanted: str) -> Any:
    if isinstance(value, (str, Real)) and not isinstance(value, bool):
        try:
            result = parse(value)
        except (Invalid, OverflowError, ValueError):
            pass
        else:
            if math.isfinite(result) and result >= 0:
                return result
    raise Invalid(f"{name} must be {wanted}; got {_show(value)}")
