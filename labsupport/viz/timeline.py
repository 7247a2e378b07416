"""Pictures over time: each pod's states, and a Deployment's replicas.

On the simulator the history is exact: the store keeps every version of
every object and the API server's audit log says when each was written, so
the pictures show each change at its virtual time. On a real cluster
:func:`pod_timeline` reads the events instead (Scheduled, Started,
Killing), which is coarser.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> c.advance(10)
    >>> [s for _, _, s in pod_segments(c)["pod/default/p"]]
    ['Pending', 'Ready']
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from labsupport.errors import Invalid
from labsupport.kinds import parse_ref
from labsupport.selectors import Selector
from labsupport.viz.figures import STATE_COLOURS, new_figure, pod_state
from labsupport.viz.style import (
    FONT,
    MAX_WIDTH,
    describe,
    mark_moments,
    moments,
    natural_key,
    shorten,
    state_legend,
    style_axes,
)

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["pod_timeline", "replicas_plot", "object_history", "pod_segments"]

# API server audit verbs that wrote the store (one store revision each).
_WRITES = frozenset({"create", "update", "update-status", "patch", "delete", "bind"})
_MAX_PODS = 60


def object_history(cluster: Cluster, prefix: str) -> dict[str, list[tuple[float, dict | None]]]:
    """Every kept version of the objects under an etcd key ``prefix``, with its time.

    Returns:
        ``{key: [(time, object or None once removed), ...]}``, oldest first.

    Raises:
        Invalid: the cluster keeps no history (only the simulator does).
    """
    store = getattr(cluster, "store", None)
    api = getattr(cluster, "api", None)
    if store is None or not hasattr(api, "audit"):
        raise Invalid("only the simulator keeps the history of every object; on a real "
                      "cluster read events with cluster.events() or use Prometheus")
    times: dict[str, list[float]] = defaultdict(list)
    for t, _component, verb, key, _detail in api.audit:
        if verb in _WRITES and key.startswith(prefix):
            times[key].append(t)
    versions: dict[str, list[dict | None]] = defaultdict(list)
    for ev in store.history(prefix, since=store.oldest_revision):
        versions[ev.key].append(None if ev.type == "DELETED" else ev.object)
    out = {}
    for key, objs in versions.items():
        ts = times.get(key, [])
        # The audit log reaches further back than the compacted history: pair from the end.
        n = min(len(ts), len(objs))
        if n:
            out[key] = list(zip(ts[-n:], objs[-n:], strict=True))
    return out


def _segments(changes: list[tuple[float, str | None]],
              end: float) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []
    for i, (t, state) in enumerate(changes):
        if state is None:
            continue
        stop = changes[i + 1][0] if i + 1 < len(changes) else end
        if out and out[-1][2] == state and out[-1][1] == t:
            out[-1] = (out[-1][0], stop, state)
        else:
            out.append((t, stop, state))
    return [s for s in out if s[1] > s[0] or s[1] == end]


def pod_segments(cluster: Cluster, selector: str | None = None,
                 namespace: str | None = None) -> dict[str, list[tuple[float, float, str]]]:
    """Each pod's ``(start, end, state)`` segments, keyed ``"pod/<namespace>/<name>"``."""
    sel = Selector.parse(selector)
    now = cluster.now
    out: dict[str, list[tuple[float, float, str]]] = {}
    if getattr(cluster, "store", None) is not None:
        prefix = f"/registry/pods/{namespace}/" if namespace else "/registry/pods/"
        for key, versions in object_history(cluster, prefix).items():
            last = next((o for _, o in reversed(versions) if o is not None), None)
            if last is None or not sel.matches(last["metadata"].get("labels")):
                continue
            changes = [(t, None if o is None else pod_state(o)) for t, o in versions]
            _, ns, name = key.rsplit("/", 2)
            out[f"pod/{ns}/{name}"] = _segments(changes, now)
        return out
    return _segments_from_events(cluster, sel, namespace, now)


def _segments_from_events(cluster: Cluster, sel: Selector, namespace: str | None,
                          now: float) -> dict[str, list[tuple[float, float, str]]]:
    labels = {(p["metadata"].get("namespace"), p["metadata"]["name"]): p["metadata"].get("labels")
              for p in cluster.list("pods", namespace=namespace)}
    step = {"Scheduled": "Pending", "Started": "Ready", "Killing": "Terminating",
            "BackOff": "NotReady", "Unhealthy": "NotReady"}
    changes: dict[str, list[tuple[float, str | None]]] = defaultdict(list)
    for e in cluster.events(namespace):
        kind, _, name = e.object.partition("/")
        if kind != "pod" or e.reason not in step:
            continue
        if (e.namespace, name) in labels and not sel.matches(labels[(e.namespace, name)]):
            continue
        changes[f"pod/{e.namespace}/{name}"].append((e.time, step[e.reason]))
    return {k: _segments(sorted(v), now) for k, v in changes.items()}


def pod_timeline(cluster: Cluster, selector: str | None = None,
                 namespace: str | None = None, *,
                 marks: dict[str, float] | None = None) -> LabFigure:
    """Draw each pod's states over time, one row per pod, with the moments that matter.

    Node failures and recoveries and evictions (from the events) are marked
    with dotted lines; ``marks`` adds your own, e.g. ``{"node-2 fails": 63.0}``.

    Args:
        cluster: a cluster from :func:`labsupport.connect`.
        selector: only pods with these labels, e.g. ``"app=web"``.
        namespace: only this namespace (None: all).
        marks: more moments to mark, label to time in seconds.

    Returns:
        A matplotlib figure; each bar has the gid ``"<pod key>:<state>"``.
    """
    _check_cluster(cluster, "pod_timeline")
    segments = pod_segments(cluster, selector, namespace)
    rows = sorted(segments.items(),
                  key=lambda kv: (kv[1][0][0] if kv[1] else 0.0, natural_key(kv[0])))
    hidden = max(0, len(rows) - _MAX_PODS)
    rows = rows[-_MAX_PODS:]
    fig = new_figure(MAX_WIDTH, 1.6 + 0.3 * max(len(rows), 2))
    ax = fig.add_subplot()
    present = set()
    end = max(cluster.now, 1.0)
    for i, (key, segs) in enumerate(rows):
        for start, stop, state in segs:
            present.add(state)
            width = max(stop - start, end * 0.003)
            bars = ax.barh(i, width, left=start, height=0.7, color=STATE_COLOURS[state],
                           edgecolor="white", linewidth=0.4)
            bars.patches[0].set_gid(f"{key}:{state}")
    ax.set_yticks(range(len(rows)), [shorten(k.rsplit("/", 1)[1]) for k, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, end)
    title = f"pods over time{f' ({selector})' if selector else ''}"
    if hidden:
        title += f"; {hidden} older pods not shown"
    style_axes(ax, xlabel="time (s)")
    ax.set_title(title, fontsize=FONT["title"], pad=8 + 12 * _moment_levels(cluster, marks))
    ax.tick_params(axis="y", labelsize=FONT["small"])
    ax.grid(False, axis="y")
    state_legend(ax, present)
    mark_moments(ax, _all_moments(cluster, marks))
    return describe(fig, _timeline_alt(rows, selector, end, hidden))


def _check_cluster(cluster: Any, what: str) -> None:
    if not callable(getattr(cluster, "events", None)) or not hasattr(cluster, "now"):
        raise Invalid(f"{what} draws a cluster (from ls.connect()), got "
                      f"{type(cluster).__name__}; pass the cluster, e.g. ls.viz.{what}(c)")


def _all_moments(cluster: Cluster, marks: dict[str, float] | None) -> list:
    return moments(cluster, since=0.0, until=cluster.now, extra=marks)


def _moment_levels(cluster: Cluster, marks: dict[str, float] | None) -> int:
    """How many lines of moment labels to leave room for above the axes."""
    found = _all_moments(cluster, marks)
    return min(3, len(found)) if found else 0


def _timeline_alt(rows: list, selector: str | None, end: float, hidden: int) -> str:
    parts = []
    for key, segs in rows[:12]:
        steps = ", ".join(f"{state} from {start:.0f} s" for start, _, state in segs)
        parts.append(f"{key.rsplit('/', 1)[1]}: {steps}")
    text = (f"Timeline of {len(rows)} pods{f' ({selector})' if selector else ''} from 0 to "
            f"{end:.0f} s. " + "; ".join(parts))
    if len(rows) > 12:
        text += f"; and {len(rows) - 12} more pods"
    if hidden:
        text += f"; {hidden} older pods not shown"
    return text + "."


def replicas_plot(cluster: Cluster, ref: str = "deployment/web",
                  namespace: str = "default") -> LabFigure:
    """Draw a Deployment's (or ReplicaSet's) desired and ready replicas over time.

    Rescales by a HorizontalPodAutoscaler are marked with triangles.

    Returns:
        A matplotlib figure with the lines ``"desired"`` and ``"ready"``.

    Raises:
        Invalid: not a Deployment, ReplicaSet or StatefulSet, or a real
            cluster (only the simulator keeps the history).
    """
    rt, name = parse_ref(ref)
    if rt.kind not in ("Deployment", "ReplicaSet", "StatefulSet"):
        raise Invalid("replicas_plot draws a Deployment, ReplicaSet or StatefulSet, "
                      f"not a {rt.kind}")
    key = f"/registry/{rt.registry}/{namespace}/{name}"
    versions = object_history(cluster, key).get(key)
    if not versions:
        raise Invalid(f'{rt.singular} "{name}" has no history in namespace "{namespace}"; '
                      f"apply it first")
    times, desired, ready = [], [], []
    for t, obj in versions:
        if obj is None:
            continue
        times.append(t)
        desired.append((obj.get("spec") or {}).get("replicas", 1))
        ready.append((obj.get("status") or {}).get("readyReplicas", 0))
    times.append(cluster.now)
    desired.append(desired[-1])
    ready.append(ready[-1])
    fig = new_figure(8.0, 3.8)
    ax = fig.add_subplot()
    ax.step(times, desired, where="post", label="desired", color="#4a7fc1", linewidth=1.8)
    ax.step(times, ready, where="post", label="ready", color=STATE_COLOURS["Ready"],
            linewidth=1.4, linestyle="--")
    scalers = {f"horizontalpodautoscaler/{h['metadata']['name']}"
               for h in cluster.list("horizontalpodautoscalers", namespace=namespace)
               if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name}
    rescales = [e for e in cluster.events(namespace)
                if e.reason == "SuccessfulRescale" and e.object in scalers]
    if rescales:
        ax.plot([e.time for e in rescales],
                [int(e.message.split(";")[0].split(":")[1]) for e in rescales],
                "v", color="#8e6bbf", label="HPA rescale", markersize=6)
    style_axes(ax, xlabel="time (s)", ylabel="replicas",
               title=f"{rt.singular}/{name}: replicas over time")
    ax.set_ylim(0, max(desired + ready) + 1)
    ax.legend(fontsize=FONT["legend"], loc="best")
    changes = ", ".join(f"{d} at {t:.0f} s" for t, d in _changes(times, desired))
    alt = (f"Desired and ready replicas of {rt.singular}/{name} from 0 to {cluster.now:.0f} s: "
           f"desired {changes}; ready ends at {ready[-1]}")
    if rescales:
        alt += f"; the HorizontalPodAutoscaler rescaled it {len(rescales)} times"
    return describe(fig, alt + ".")


def _changes(times: list[float], values: list[int]) -> list[tuple[float, int]]:
    out: list[tuple[float, int]] = []
    for t, v in zip(times, values, strict=True):
        if not out or out[-1][1] != v:
            out.append((t, v))
    return out[:8]
