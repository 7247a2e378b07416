"""A "try it" control: sliders and menus for a function's arguments, redrawn on each change.

``explore(draw, workers=(1, 32), policy=["greedy", "static"])`` shows one
control per argument (ipywidgets, like ``interact``) above what ``draw``
returns (a picture, a table). Each change calls ``draw`` again and replaces
the result in place. The result is an ordinary output, not a widget's: a
notebook exported to HTML, or read without the widget manager, still shows
it as it last was. Without a notebook frontend (a script, CI), or with
``display=False``, ``explore`` simply returns ``draw()`` with its defaults.

Controls are given as ``interact`` abbreviates them:

- ``(min, max)`` or ``(min, max, step)``: a slider (whole numbers when all
  are ints);
- a list of values: a menu;
- ``True``/``False``: a checkbox.

The starting value of each control is ``draw``'s default for that argument.

Example:
    >>> def square(n=3):
    ...     return n * n
    >>> explore(square, n=(1, 10), display=False)      # headless: the default's result
    9
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from labsupport.errors import Invalid

__all__ = ["explore", "Explorer"]


def _defaults(draw: Callable[..., Any], controls: dict[str, Any]) -> dict[str, Any]:
    try:
        params = inspect.signature(draw).parameters
    except (TypeError, ValueError):
        raise Invalid(f"explore needs a function to call, got {draw!r}") from None
    values = {}
    for name in controls:
        p = params.get(name)
        if p is None and not any(q.kind is q.VAR_KEYWORD for q in params.values()):
            raise Invalid(f"{getattr(draw, '__name__', 'the function')} has no argument "
                          f"{name!r}; its arguments are {', '.join(params) or 'none'}")
        if p is None or p.default is inspect.Parameter.empty:
            raise Invalid(f"give {name!r} a default value in the function's definition "
                          f"(def {getattr(draw, '__name__', 'draw')}(..., {name}=...)): it is "
                          "where the control starts and what a run without widgets uses")
        values[name] = p.default
    return values


class Explorer:
    """The controls of one :func:`explore` call and the output they redraw.

    Attributes:
        draw: the function called with the controls' values.
        controls: the widgets, by argument name.
    """

    def __init__(self, draw: Callable[..., Any], controls: dict[str, Any],
                 defaults: dict[str, Any]) -> None:
        import ipywidgets as w

        self.draw = draw
        self.controls = {}
        for name, abbrev in controls.items():
            widget = w.interactive.widget_from_abbrev(abbrev, defaults[name])
            if widget is None:
                raise Invalid(f"cannot make a control for {name}={abbrev!r}; give (min, max), "
                              "(min, max, step), a list of choices or True/False")
            widget.description = name
            widget.style = {"description_width": "initial"}
            widget.observe(lambda _change: self.refresh(), names="value")
            self.controls[name] = widget
        self.widget = w.HBox(list(self.controls.values()))
        self._handle: Any = None

    def values(self) -> dict[str, Any]:
        """The controls' current values."""
        return {name: widget.value for name, widget in self.controls.items()}

    def result(self) -> Any:
        """What ``draw`` returns for the current values."""
        return self.draw(**self.values())

    def refresh(self) -> None:
        """Call ``draw`` again and show its result in place of the last one."""
        if self._handle is not None:
            self._handle.update(self.result())

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        self._handle = display(self.result(), display_id=True)


def explore(draw: Callable[..., Any], *, display: bool = True, **controls: Any) -> Any:
    """Controls for ``draw``'s arguments in a notebook, or ``draw()`` where there is none.

    Args:
        draw: a function whose arguments have defaults; it returns what to show.
        display: False always returns ``draw()`` (for CI and scripts).
        **controls: one abbreviation per argument: ``(min, max[, step])``, a
            list of choices, or a bool.

    Returns:
        An :class:`Explorer` in a notebook with a frontend, else ``draw()``.

    Raises:
        Invalid: ``draw`` is not a function, or an argument has no default.
    """
    from labsupport.viz.dashboard import has_frontend

    if not callable(draw):
        raise Invalid(f"explore needs a function to call, got {draw!r}")
    defaults = _defaults(draw, controls)
    if display and has_frontend():
        return Explorer(draw, controls, defaults)
    return draw(**defaults)
