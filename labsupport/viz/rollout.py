"""A rolling update drawn over time: old and new ReplicaSets, ready pods, the bounds.

A Deployment's rolling update moves pods from the old ReplicaSet to the new
one in steps. Two numbers bound every step (the Deployment controller's
``resolveFenceposts``, ``pkg/controller/deployment/util/deployment_util.go``):
there are never more than ``replicas + maxSurge`` pods, and never fewer than
``replicas - maxUnavailable`` available ones. :func:`rollout_series` reads
the ReplicaSets' history from the simulator's store and :func:`rollout_plot`
draws it, with both bounds as dashed lines.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    ...        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    ...                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
    ...                     "containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    >>> _ = c.apply(dep)
    >>> _ = c.wait_for_rollout("deployment/web")
    >>> dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    >>> _ = c.apply(dep)
    >>> _ = c.wait_for_rollout("deployment/web")
    >>> s = rollout_series(c)
    >>> [rs["image"] for rs in s.replicasets], s.max_pods, s.min_available
    (['nginx:1.27', 'nginx:1.28'], 4, 3)
    >>> max(s.pods), min(r for t, r in zip(s.times, s.ready) if t >= s.since)
    (4, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labsupport.errors import Invalid
from labsupport.kinds import parse_ref
from labsupport.viz.figures import new_figure
from labsupport.viz.style import FONT, describe, mark_moments, style_axes
from labsupport.viz.timeline import object_history

if TYPE_CHECKING:
    from labsupport.cluster import Cluster
    from labsupport.viz.figures import LabFigure

__all__ = ["RolloutSeries", "rollout_series", "rollout_plot"]

_COLOURS = ("#9aa5b1", "#4a7fc1", "#2e9e4f", "#b0803a", "#8e6bbf", "#d64541")
_BOUND = "#c0392b"


@dataclass
class RolloutSeries:
    """What a Deployment's ReplicaSets held at each change, as step series.

    Attributes:
        times: the instants something changed (seconds of virtual time), then now.
        replicasets: per ReplicaSet, oldest revision first: ``name``, ``revision``,
            ``image`` and the series ``pods`` (``status.replicas``) and ``ready``
            (``status.readyReplicas``), one value per time.
        pods: all ReplicaSets' pods at each time.
        ready: all ReplicaSets' ready pods at each time.
        replicas: the Deployment's ``spec.replicas`` now.
        max_pods: ``replicas + maxSurge`` (pods may not exceed it during a rollout).
        min_available: ``replicas - maxUnavailable`` (available pods may not fall below it).
        since: when the last change of the Deployment's spec began (its rollout).
    """

    times: list[float]
    replicasets: list[dict] = field(default_factory=list)
    pods: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    replicas: int = 0
    max_pods: int = 0
    min_available: int = 0
    since: float = 0.0


def _value_at(versions: list[tuple[float, dict | None]], t: float, what: str) -> int:
    value = 0
    for when, obj in versions:
        if when > t:
            break
        value = 0 if obj is None else int((obj.get("status") or {}).get(what) or 0)
    return value


def rollout_series(cluster: Cluster, ref: str = "deployment/web",
                   namespace: str = "default") -> RolloutSeries:
    """Read a Deployment's ReplicaSets over time from the simulator's history.

    Raises:
        Invalid: not a Deployment, not found, or a real cluster (only the
            simulator keeps every version of every object).
    """
    from labsupport.sim.controllers.deployment import REVISION, resolve_fenceposts

    rt, name = parse_ref(ref)
    if rt.kind != "Deployment":
        raise Invalid(f"rollout_series draws a Deployment's rollout, not a {rt.kind}; "
                      f'pass e.g. "deployment/{name}"')
    dkey = f"/registry/{rt.registry}/{namespace}/{name}"
    dversions = [(t, o) for t, o in object_history(cluster, dkey).get(dkey, []) if o is not None]
    if not dversions:
        raise Invalid(f'deployment "{name}" has no history in namespace "{namespace}"; '
                      "apply it first")
    dep = dversions[-1][1]
    uid = dep["metadata"]["uid"]
    spec = dep.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge, unavailable = resolve_fenceposts(ru.get("maxSurge", "25%"),
                                            ru.get("maxUnavailable", "25%"), replicas)
    if (spec.get("strategy") or {}).get("type") == "Recreate":
        surge, unavailable = 0, replicas
    # The spec's generation changes when the template (or replicas) changes.
    since, generation = dversions[0][0], None
    for t, o in dversions:
        g = o["metadata"].get("generation")
        if generation is not None and g != generation:
            since = t
        generation = g
    owned: dict[str, list[tuple[float, dict | None]]] = {}
    for key, versions in object_history(cluster, f"/registry/replicasets/{namespace}/").items():
        first = next((o for _, o in versions if o is not None), None)
        refs = (first or {}).get("metadata", {}).get("ownerReferences") or ()
        if any(r.get("uid") == uid for r in refs):
            owned[key] = versions
    times = sorted({t for versions in owned.values() for t, _ in versions} | {cluster.now})
    series = RolloutSeries(times=times, replicas=replicas, max_pods=replicas + surge,
                           min_available=replicas - unavailable, since=since)
    rows = []
    for versions in owned.values():
        last = next(o for _, o in reversed(versions) if o is not None)
        meta = last["metadata"]
        containers = last["spec"]["template"]["spec"].get("containers") or [{}]
        rows.append({"name": meta["name"], "revision": int((meta.get("annotations") or {})
                                                            .get(REVISION, 0)),
                     "first": versions[0][0], "image": containers[0].get("image", ""),
                     "pods": [_value_at(versions, t, "replicas") for t in times],
                     "ready": [_value_at(versions, t, "readyReplicas") for t in times]})
    rows.sort(key=lambda r: (r["first"], r["name"]))
    series.replicasets = rows
    series.pods = [sum(r["pods"][i] for r in rows) for i in range(len(times))]
    series.ready = [sum(r["ready"][i] for r in rows) for i in range(len(times))]
    return series


def rollout_plot(cluster: Cluster, ref: str = "deployment/web", namespace: str = "default",
                 *, since: float | None = None,
                 marks: dict[str, float] | None = None) -> LabFigure:
    """Draw a rolling update: each ReplicaSet's ready pods stacked, all pods, and the bounds.

    Args:
        cluster: a simulated cluster (from ``ls.connect()``).
        ref: the Deployment, ``"deployment/<name>"``.
        namespace: its namespace.
        since: start the time axis here (default: the first ReplicaSet's creation).
        marks: moments to mark, label to time (``{"set image": 30.0}``).

    Returns:
        A figure with the ready pods of each ReplicaSet stacked (labelled with
        its revision and image, so the top of the stack is all ready pods), all
        pods as a dotted line, and dashed lines at ``replicas + maxSurge`` and
        ``replicas - maxUnavailable``.
    """
    s = rollout_series(cluster, ref, namespace)
    start = s.times[0] if since is None else since
    # Only the ReplicaSets that had pods in the window drawn.
    shown = [rs for rs in s.replicasets
             if any(p for t, p in zip(s.times, rs["pods"], strict=True) if t >= start)
             or rs["pods"][-1]]
    fig = new_figure(8.4, 4.0)
    ax = fig.add_subplot()
    if shown:
        ax.stackplot(s.times, *[rs["ready"] for rs in shown], step="post", alpha=0.85,
                     colors=[_COLOURS[s.replicasets.index(rs) % len(_COLOURS)] for rs in shown],
                     labels=[f"rev {rs['revision']} ready ({rs['image']})"
                             + ("" if max(rs["ready"]) else ": none") for rs in shown])
    ax.step(s.times, s.pods, where="post", color="#111111", linewidth=1.6, linestyle=":",
            label="all pods (ready or not)")
    ax.axhline(s.max_pods, color=_BOUND, linestyle="--", linewidth=1.2, gid="bound:max")
    ax.axhline(s.min_available, color=_BOUND, linestyle="-.", linewidth=1.2, gid="bound:min")
    ax.set_xlim(start, cluster.now)
    top = max([s.max_pods, *s.pods]) + 1.6
    ax.set_ylim(0, top)
    for value, label, dy in ((s.max_pods, f"replicas + maxSurge = {s.max_pods}", 3),
                             (s.min_available, f"replicas - maxUnavailable = {s.min_available}",
                              -11)):
        ax.annotate(label, (0.0, value), xycoords=("axes fraction", "data"), xytext=(4, dy),
                    textcoords="offset points", fontsize=FONT["small"], color=_BOUND)
    name = parse_ref(ref)[1]
    style_axes(ax, xlabel="time (s)", ylabel="pods",
               title=f"deployment/{name}: rolling update")
    ax.legend(fontsize=FONT["legend"], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    mark_moments(ax, marks)
    peak = max(p for t, p in zip(s.times, s.pods, strict=True) if t >= start)
    lo = min(r for t, r in zip(s.times, s.ready, strict=True) if t >= min(s.since, s.times[-1]))
    revs = "; ".join(f"revision {r['revision']} ({r['image']}) ends with {r['ready'][-1]} ready"
                     for r in shown)
    alt = (f"Pods of deployment/{name} from {start:.0f} to {cluster.now:.0f} s: {revs}. "
           f"All pods peak at {peak} against the bound of {s.max_pods}; ready pods "
           f"during the last rollout fall to {lo} against the bound of {s.min_available}.")
    return describe(fig, alt)
