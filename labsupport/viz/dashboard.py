"""A live dashboard: let time pass, fail and restore nodes, and watch the cluster.

In a notebook with a frontend (JupyterLab), :func:`dashboard` shows buttons
that advance the clock and fail or restore a node, above the cluster
picture, which is redrawn after each click. The same output also carries the
picture as an ordinary image, which exported notebooks and viewers without
widgets show instead. Without a frontend (a script, a test, CI), or with
``display=False``, it returns the static picture.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> fig = ls.viz.dashboard(c, display=False)      # headless: a static picture
    >>> len(fig.axes[0].patches)
    3
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from labsupport.viz.graph import cluster_graph

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["Dashboard", "dashboard", "has_frontend"]

_STEPS = (("+15 s", 15.0), ("+1 min", 60.0), ("+5 min", 300.0))


def has_frontend() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed."""
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def summary(cluster: Cluster) -> str:
    """One line: the time, nodes ready and pods ready.

    Example:
        >>> import labsupport as ls
        >>> summary(ls.connect(seed=0))
        't = 0 s: 3/3 nodes Ready, 0/0 pods ready'
    """
    nodes = cluster.nodes()
    pods = [p for p in cluster.pods() if p.namespace not in ("kube-system",)]
    return (f"t = {cluster.now:g} s: {sum(1 for n in nodes if n.ready)}/{len(nodes)} nodes "
            f"Ready, {sum(1 for p in pods if p.ready)}/{len(pods)} pods ready")


class Dashboard:
    """The widgets of a live dashboard for one cluster.

    The buttons and the status line are widgets; the picture is an ordinary
    image output below them, redrawn in place (a display handle) after each
    click. So a viewer without the widget manager (an exported notebook,
    nbconvert to HTML, GitHub) still shows the picture as it last was.

    Attributes:
        cluster: the cluster shown.
        widget: the ipywidgets box of buttons and status (shown with the dashboard).
    """

    def __init__(self, cluster: Cluster, namespace: str | None = None) -> None:
        import ipywidgets as w

        self.cluster = cluster
        self.namespace = namespace
        self._picture: Any = None          # the display handle, once shown
        self._status = w.HTML()
        steps = []
        for label, seconds in _STEPS:
            b = w.Button(description=label, tooltip=f"let {seconds:g} s pass")
            b.on_click(lambda _b, s=seconds: self.advance(s))
            steps.append(b)
        names = [n.name for n in cluster.nodes()]
        self._node = w.Dropdown(options=names, description="node", layout={"width": "180px"})
        fail = w.Button(description="fail node", button_style="danger")
        fail.on_click(lambda _b: self._act(cluster.fail_node))
        restore = w.Button(description="restore node", button_style="success")
        restore.on_click(lambda _b: self._act(cluster.restore_node))
        self.widget = w.VBox([w.HBox(steps), w.HBox([self._node, fail, restore]),
                              self._status])
        self.refresh()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on the cluster, then redraw."""
        self.cluster.advance(seconds)
        self.refresh()

    def _act(self, action: Any) -> None:
        if self._node.value:
            action(self._node.value)
        self.refresh()

    def figure(self) -> LabFigure:
        """The picture the dashboard shows now."""
        return cluster_graph(self.cluster, self.namespace)

    def refresh(self) -> None:
        """Redraw the picture (when shown) and the status line."""
        self._status.value = f"<b>{html.escape(summary(self.cluster))}</b>"
        if self._picture is not None:
            self._picture.update(self.figure())

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        self._picture = display(self.figure(), display_id=True)


def dashboard(cluster: Cluster, display: bool = True,
              namespace: str | None = None) -> Dashboard | LabFigure:
    """A live dashboard in a notebook, or the static cluster picture.

    Args:
        cluster: the cluster to show.
        display: False always returns the static picture (for CI and scripts).
        namespace: show only this namespace.

    Returns:
        A :class:`Dashboard` when a notebook frontend can show widgets, else
        the figure of :func:`~labsupport.viz.cluster_graph`.
    """
    if display and has_frontend():
        return Dashboard(cluster, namespace)
    return cluster_graph(cluster, namespace)
