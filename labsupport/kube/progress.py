"""Wait on the wall clock with a progress bar, in a notebook or a terminal.

On a real cluster ``advance(60)`` really waits a minute. A bar shows that the
notebook is not stuck: an ipywidgets bar when a notebook frontend is
attached, a line of text in a terminal, and nothing at all with
``display=False`` (headless runs, CI) or for short waits.

Example:
    >>> sleep_with_progress(0.01, display=False)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["sleep_with_progress", "text_bar", "MIN_BAR_SECONDS"]

#: Waits shorter than this show no bar (the polls of a wait are 1 s each).
MIN_BAR_SECONDS = 3.0


def text_bar(done: float, total: float, width: int = 30) -> str:
    """One line of a text progress bar.

    Example:
        >>> text_bar(15, 60, width=10)
        'waiting [##........] 15/60 s'
    """
    frac = 0.0 if total <= 0 else min(1.0, max(0.0, done / total))
    filled = int(frac * width)
    return f"waiting [{'#' * filled}{'.' * (width - filled)}] {done:.0f}/{total:.0f} s"


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


def _widget_bar(total: float) -> tuple[Callable[[float], None], Callable[[], None]] | None:
    try:
        import ipywidgets
        from IPython.display import display
    except ImportError:
        return None
    bar = ipywidgets.FloatProgress(value=0.0, min=0.0, max=float(total),
                                   description="waiting")
    label = ipywidgets.Label(f"0/{total:.0f} s")
    box = ipywidgets.HBox([bar, label])
    display(box)

    def update(done: float) -> None:
        bar.value = min(done, total)
        label.value = f"{done:.0f}/{total:.0f} s"

    def finish() -> None:
        box.close()

    return update, finish


def _text_progress(stream: Any, total: float) -> tuple[Callable[[float], None],
                                                        Callable[[], None]]:
    def update(done: float) -> None:
        stream.write("\r" + text_bar(done, total))
        stream.flush()

    def finish() -> None:
        stream.write("\r" + " " * (len(text_bar(total, total)) + 2) + "\r")
        stream.flush()

    return update, finish


def sleep_with_progress(seconds: float, display: bool | None = None,
                        sleep: Callable[[float], None] = time.sleep,
                        clock: Callable[[], float] = time.monotonic,
                        stream: Any = None) -> None:
    """Sleep ``seconds`` of wall time, showing a bar for longer waits.

    Args:
        seconds: how long to wait.
        display: True always shows a bar, False never, None shows one for
            waits of :data:`MIN_BAR_SECONDS` or more in a notebook or a terminal.
        sleep: the sleeping function (tests pass a fake).
        clock: the clock that measures the wait.
        stream: where a text bar goes (standard error by default).
    """
    if seconds <= 0:
        return
    out = stream if stream is not None else sys.stderr
    show = display if display is not None else (
        seconds >= MIN_BAR_SECONDS and (_in_notebook() or getattr(out, "isatty", bool)()))
    if not show:
        sleep(seconds)
        return
    handles = _widget_bar(seconds) if _in_notebook() else None
    update, finish = handles or _text_progress(out, seconds)
    start = clock()
    step = max(0.05, min(1.0, seconds / 100))
    try:
        while True:
            done = clock() - start
            update(done)
            left = seconds - done
            if left <= 0:
                break
            sleep(min(step, left))
    finally:
        finish()
