"""Pictures of a cluster and its metrics, and a live dashboard.

Every function returns a :class:`matplotlib.figure.Figure` (which shows
itself in a notebook) and works headless: nothing here uses pyplot, chooses
a matplotlib backend or changes global settings. ``import labsupport``
does not import this package; ``ls.viz`` does, on first use.

=========================  =================================================
``cluster_graph(c)``       nodes, their pods coloured by state, Services
``pod_timeline(c)``        each pod's states over time
``replicas_plot(c, ref)``  desired and ready replicas of a Deployment
``rollout_plot(c, ref)``   a rolling update: ReplicaSets, ready pods, bounds
``metric_plot(c, name)``   one time series of the simulator's metrics
``latency_histogram(r)``   latencies of a traffic run, with p50/p95/p99
``traffic_plot(r)``        requests and errors per second of a traffic run
``scheduling_table(d)``    the scheduler's filter and score table
``sequence_diagram(t)``    one apply's writes, component by component, in time
``dashboard(c)``           live: scale, kill a pod, fail a node, send traffic,
                           let time pass; resource use, events, a live plot
``explore(draw, n=(1, 9))``  a "try it" control: sliders redraw a picture
=========================  =================================================

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> type(ls.viz.cluster_graph(c)).__mro__[1].__name__
    'Figure'
"""

from __future__ import annotations

from labsupport.viz.dashboard import Dashboard, dashboard
from labsupport.viz.explore import Explorer, explore
from labsupport.viz.figures import STATE_COLOURS, STATES, LabFigure, new_figure, pod_state
from labsupport.viz.graph import cluster_graph
from labsupport.viz.plots import latency_histogram, metric_plot, scheduling_table, traffic_plot
from labsupport.viz.rollout import rollout_plot, rollout_series
from labsupport.viz.sequence import sequence_diagram
from labsupport.viz.style import FONT, describe, style_axes, target_line
from labsupport.viz.timeline import pod_timeline, replicas_plot

__all__ = [
    "cluster_graph",
    "pod_timeline",
    "replicas_plot",
    "rollout_plot",
    "rollout_series",
    "metric_plot",
    "latency_histogram",
    "traffic_plot",
    "scheduling_table",
    "sequence_diagram",
    "dashboard",
    "Dashboard",
    "explore",
    "Explorer",
    "LabFigure",
    "pod_state",
    "STATE_COLOURS",
    "STATES",
    "new_figure",
    "describe",
    "style_axes",
    "target_line",
    "FONT",
]
