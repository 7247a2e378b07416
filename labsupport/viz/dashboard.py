"""A live dashboard: watch the cluster, and scale, kill, fail, send traffic and let time pass.

In a notebook with a frontend (JupyterLab), :func:`dashboard` shows controls
above a panel and two pictures:

* controls: let time pass (+15 s, +1 min, +5 min), scale a Deployment, kill
  a pod, fail or restore a node, send traffic to a Service;
* the panel (:func:`~labsupport.viz.dashboard_panel.panel_html`): each node
  with its pods and resource use, the Deployments, the Services and the
  most recent events;
* the cluster picture (:func:`~labsupport.viz.cluster_graph`) and a live
  plot of ready pods, desired replicas and Ready nodes over time, both
  redrawn in place after every click.

The pictures are ordinary image outputs, so an exported notebook or a viewer
without widgets still shows them as they last were. Controls a backend
cannot carry out are disabled, with a tooltip that says why
(:func:`~labsupport.viz.dashboard_panel.capabilities`); an action the
cluster refuses shows the refusal in the status line. Without a frontend
(a script, a test, CI, nbconvert without a kernel), or with
``display=False``, :func:`dashboard` returns the static cluster picture and
never waits for a click.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> fig = ls.viz.dashboard(c, display=False)      # headless: a static picture
    >>> len(fig.axes[0].patches)
    3
    >>> board = ls.viz.Dashboard(c)                   # the widgets work without a browser
    >>> board.controls["+1 min"].click()
    >>> c.now
    60.0
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from labsupport.errors import LabSupportError
from labsupport.viz.dashboard_panel import History, capabilities, history_plot, panel_html
from labsupport.viz.graph import SYSTEM_NAMESPACES, cluster_graph

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["Dashboard", "dashboard", "has_frontend", "summary"]

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


def _set_options(dropdown: Any, options: list[tuple[str, Any]]) -> None:
    """Replace a dropdown's choices, keeping the chosen one when it is still there."""
    old = dropdown.value
    if [o for o in dropdown.options] != options:
        dropdown.options = options
    values = [v for _, v in options]
    dropdown.value = old if old in values else (values[0] if values else None)


class Dashboard:
    """The widgets of a live dashboard for one cluster.

    Each control's button is in :attr:`controls` under its label, so a
    test (or a curious learner) can press it with ``.click()``.

    Attributes:
        cluster: the cluster shown.
        namespace: the namespace shown (None: all but the system ones).
        widget: the ipywidgets box of controls, status line and panel.
        controls: the buttons by label: ``"+15 s"``, ``"+1 min"``, ``"+5 min"``,
            ``"refresh"``, ``"scale"``, ``"kill pod"``, ``"fail node"``,
            ``"restore node"``, ``"send traffic"``.
        history: what the live plot draws (one sample per redraw).
        message: what the last action did (or why it could not), as plain text.
    """

    def __init__(self, cluster: Cluster, namespace: str | None = None) -> None:
        import ipywidgets as w

        self.cluster = cluster
        self.namespace = namespace
        self.history = History()
        self.message = ""
        self._pictures: list[Any] = []           # display handles, once shown
        self.can = capabilities(cluster)
        waits = ("virtual time on the simulator" if cluster.backend == "sim"
                 else "wall time: the kernel waits")
        self.controls: dict[str, Any] = {}

        def button(label: str, action: str, tooltip: str, style: str = "") -> Any:
            b = w.Button(description=label, button_style=style, tooltip=tooltip,
                         layout={"width": "auto"})
            why = self.can.get(action)
            if why is not None:
                b.disabled, b.tooltip = True, why
            self.controls[label] = b
            return b

        steps = []
        for label, seconds in _STEPS:
            b = button(label, "advance", f"let {seconds:g} s pass ({waits})")
            b.on_click(lambda _b, s=seconds: self.advance(s))
            steps.append(b)
        button("refresh", "advance", "read the cluster again and redraw").on_click(
            lambda _b: self.refresh())
        self._deployment = w.Dropdown(description="deployment", layout={"width": "220px"})
        self._replicas = w.BoundedIntText(value=1, min=0, max=500, description="replicas",
                                          layout={"width": "150px"})
        self._deployment.observe(lambda _change: self._show_replicas(), names="value")
        button("scale", "scale", "set the Deployment's spec.replicas (c.scale)").on_click(
            lambda _b: self._do(self._scale))
        self._pod = w.Dropdown(description="pod", layout={"width": "300px"})
        button("kill pod", "kill_pod", "kill the pod at once, as a crash would (c.kill_pod)",
               "warning").on_click(lambda _b: self._do(self._kill))
        self._node = w.Dropdown(description="node", layout={"width": "200px"})
        button("fail node", "fail_node", "make the node go silent (c.fail_node)",
               "danger").on_click(lambda _b: self._do(self._fail))
        button("restore node", "restore_node", "bring the failed node back (c.restore_node)",
               "success").on_click(lambda _b: self._do(self._restore))
        self._service = w.Dropdown(description="service", layout={"width": "220px"})
        self._rps = w.BoundedFloatText(value=20, min=0.1, max=10_000, description="req/s",
                                       layout={"width": "150px"})
        self._duration = w.BoundedFloatText(value=30, min=1, max=3600, description="for (s)",
                                            layout={"width": "150px"})
        button("send traffic", "traffic", "send requests to the Service; time passes while "
               "they flow (c.send_traffic)", "info").on_click(
            lambda _b: self._do(self._traffic))
        for action, boxes in (("fail_node", [self._node]),
                              ("traffic", [self._service, self._rps, self._duration])):
            for box in boxes:
                box.disabled = self.can[action] is not None
        c = self.controls
        self._status = w.HTML()
        self._panel = w.HTML()
        self.widget = w.VBox([
            w.HBox([*steps, c["refresh"]]),
            w.HBox([self._deployment, self._replicas, c["scale"]]),
            w.HBox([self._pod, c["kill pod"]]),
            w.HBox([self._node, c["fail node"], c["restore node"]]),
            w.HBox([self._service, self._rps, self._duration, c["send traffic"]]),
            self._status, self._panel])
        self.refresh()

    # --- the actions ---------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on the cluster, then redraw."""
        self._do(lambda: self._advance(seconds))

    def _advance(self, seconds: float) -> str:
        self.cluster.advance(seconds)
        return f"{seconds:g} s passed"

    def _scale(self) -> str:
        if self._deployment.value is None:
            return "no Deployment to scale: apply one first"
        ns, name = self._deployment.value
        self.cluster.scale(f"deployment/{name}", int(self._replicas.value), ns)
        return (f"deployment/{name} scaled to {int(self._replicas.value)} replicas "
                "(its desired state); let time pass to see the controllers act")

    def _show_replicas(self) -> None:
        """Put the chosen Deployment's spec.replicas in the replicas box."""
        if self._deployment.value is None:
            return
        ns, name = self._deployment.value
        try:
            spec = self.cluster.get(f"deployment/{name}", ns).get("spec") or {}
        except LabSupportError:
            return
        self._replicas.value = int(spec.get("replicas", 1))

    def _kill(self) -> str:
        if self._pod.value is None:
            return "no pod to kill"
        ns, name = self._pod.value
        self.cluster.kill_pod(name, ns)
        return f"pod/{name} killed; its controller (if any) makes a replacement"

    def _fail(self) -> str:
        if self._node.value is None:
            return "no node to fail"
        self.cluster.fail_node(self._node.value)
        return (f"{self._node.value} failed: its kubelet is silent; after the grace period "
                "the node turns Unknown")

    def _restore(self) -> str:
        if self._node.value is None:
            return "no node to restore"
        self.cluster.restore_node(self._node.value)
        return f"{self._node.value} restored: its kubelet reports again"

    def _traffic(self) -> str:
        if self._service.value is None:
            return "no Service to send traffic to: apply one first"
        ns, name = self._service.value
        send = self.cluster.send_traffic  # type: ignore[attr-defined]
        run = send(f"service/{name}", float(self._rps.value), float(self._duration.value),
                   namespace=ns)
        row = self.history.record_traffic(run, self.cluster.now)
        return (f"service/{name}: {row['requests']} requests over {self._duration.value:g} s, "
                f"{row['errors']} failed, p95 {run.p95 * 1000:.0f} ms")

    def _do(self, action: Any) -> None:
        """Run one action, note what it did (or the cluster's refusal), and redraw."""
        try:
            self.message = action()
        except LabSupportError as err:
            self.message = f"refused: {err}"
        self.refresh()

    # --- drawing ---------------------------------------------------------------
    def figure(self) -> LabFigure:
        """The cluster picture the dashboard shows now."""
        return cluster_graph(self.cluster, self.namespace)

    def plot(self) -> LabFigure:
        """The live plot: the cluster over the time this dashboard has watched it."""
        return history_plot(self.history)

    def _choices(self, resource: str) -> list[tuple[str, Any]]:
        objs = [o for o in self.cluster.list(resource, self.namespace)
                if o["metadata"].get("namespace") not in SYSTEM_NAMESPACES
                and not (resource == "services" and o["metadata"]["name"] == "kubernetes")]
        many = len({o["metadata"].get("namespace") for o in objs}) > 1
        return [((f"{o['metadata']['namespace']}/" if many else "") + o["metadata"]["name"],
                 (o["metadata"].get("namespace", "default"), o["metadata"]["name"]))
                for o in objs]

    def refresh(self) -> None:
        """Read the cluster again: choices, status line, panel, and both pictures."""
        _set_options(self._deployment, self._choices("deployments"))
        _set_options(self._pod, self._choices("pods"))
        _set_options(self._service, self._choices("services"))
        _set_options(self._node, [(n.name, n.name) for n in self.cluster.nodes()])
        self.history.sample(self.cluster, self.namespace)
        note = f"<br>{html.escape(self.message)}" if self.message else ""
        self._status.value = f"<b>{html.escape(summary(self.cluster))}</b>{note}"
        self._panel.value = panel_html(self.cluster, self.namespace)
        if self._pictures:
            self._pictures[0].update(self.figure())
            self._pictures[1].update(self.plot())

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        self._pictures = [display(self.figure(), display_id=True),
                          display(self.plot(), display_id=True)]


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
