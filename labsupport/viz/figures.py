"""What every picture shares: a figure that shows itself, and the colours of pod states.

Pictures are :class:`matplotlib.figure.Figure` objects made without pyplot,
so drawing one changes no global matplotlib state (no backend is chosen, no
figure is kept open) and works headless. In a notebook a returned figure
shows itself as a PNG image.

Example:
    >>> from labsupport.viz.figures import new_figure, pod_state
    >>> fig = new_figure(4, 3)
    >>> fig.savefig(__import__("io").BytesIO(), format="png")    # headless
    >>> pod_state({"metadata": {}, "status": {"phase": "Running", "conditions": [
    ...     {"type": "Ready", "status": "True"}]}})
    'Ready'
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from matplotlib.figure import Figure

__all__ = ["LabFigure", "new_figure", "pod_state", "STATE_COLOURS", "STATES"]

#: Pod states in the pictures, in legend order, with their colours.
STATE_COLOURS: dict[str, str] = {
    "Pending": "#b0b0b0",       # waiting: unscheduled, pulling, creating
    "NotReady": "#f2b134",      # running but failing readiness (or restarting)
    "Ready": "#2e9e4f",         # running and ready: receives Service traffic
    "Terminating": "#8e6bbf",   # being deleted, still on its node
    "Succeeded": "#4a7fc1",     # all containers exited 0
    "Failed": "#d64541",        # a container failed and will not restart
    "Unknown": "#404040",       # its node stopped reporting
}
STATES = tuple(STATE_COLOURS)


class LabFigure(Figure):
    """A matplotlib figure that displays as a PNG image with alt text in a notebook.

    Attributes:
        alt: one or two sentences saying what the picture shows. A notebook
            gets the PNG, an HTML ``<img>`` carrying the alt text (what
            exported notebooks and screen readers use) and the alt text as
            plain text.
    """

    alt: str = ""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()

    def alt_text(self) -> str:
        """The alt text, or one made from the titles when the picture has none."""
        if self.alt:
            return self.alt
        titles = [ax.get_title() for ax in self.axes if ax.get_title()]
        return "A picture: " + "; ".join(titles) if titles else "A picture."

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        png = base64.b64encode(self._repr_png_()).decode("ascii")
        alt = self.alt_text()
        img = f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt, quote=True)}"/>'
        return {"image/png": png, "text/html": img, "text/plain": alt}


def new_figure(width: float = 8.0, height: float = 4.0,
               layout: str | None = "constrained") -> LabFigure:
    """A new figure of ``width`` x ``height`` inches, with no pyplot involved.

    ``layout=None`` leaves the placing of the axes to the caller.
    """
    return LabFigure(figsize=(width, height), layout=layout)


def pod_state(pod: dict) -> str:
    """The picture state of a Pod dict: one of :data:`STATES`.

    Example:
        >>> pod_state({"metadata": {"deletionTimestamp": "2025-01-01T00:00:09Z"},
        ...            "status": {"phase": "Running"}})
        'Terminating'
    """
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        return "Terminating"
    if phase == "Running":
        for cond in status.get("conditions") or ():
            if cond.get("type") == "Ready":
                return "Ready" if cond.get("status") == "True" else "NotReady"
        return "NotReady"
    return phase if phase in STATE_COLOURS else "Unknown"


def legend_handles(states: tuple[str, ...] = STATES) -> list:
    """Coloured patches naming pod states, for a legend."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=STATE_COLOURS[s], edgecolor="none", label=s) for s in states]
