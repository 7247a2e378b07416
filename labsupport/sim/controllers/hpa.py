"""The HorizontalPodAutoscaler controller (autoscaling/v2), as in Kubernetes 1.37.

It reconciles an HPA at once when the HPA is created, and again when its
spec changes if HPAs have a ``metadata.generation`` (the HPAGeneration gate,
alpha and off in 1.37), and then every 15 s. Each time it reads
the scale of its target (a Deployment's ``spec.replicas`` and selector),
asks the metrics for each of
``spec.metrics`` how many replicas would meet its target (the largest answer
wins), stabilizes and limits that number (see
:mod:`labsupport.sim.controllers.hpascaling`), writes it to the target's
``spec.replicas`` and reports what it saw in ``status`` (currentReplicas,
desiredReplicas, currentMetrics, observedGeneration, and the AbleToScale,
ScalingActive and ScalingLimited conditions) and in events such as
``SuccessfulRescale``. It follows upstream ``pkg/controller/podautoscaler/horizontal.go``.

Kubernetes 1.33 to 1.37 changed it in these ways, all modelled here:

* per-HPA tolerances ``spec.behavior.scaleUp.tolerance`` and
  ``spec.behavior.scaleDown.tolerance`` (KEP-4951, GA in 1.37; see
  :func:`~labsupport.sim.controllers.hpascaling.tolerances`);
* a new HPA, or one whose spec changed, is reconciled at once instead of
  after the 15 s resync period (kubernetes/kubernetes#138294);
* ``status.observedGeneration`` is the ``metadata.generation`` the controller
  last reconciled (kubernetes/kubernetes#138228), and each condition it sets
  carries that ``observedGeneration`` too (kubernetes/kubernetes#138653).

As upstream, the reason in ``SuccessfulRescale`` compares the metrics'
answer with the current replicas *before* stabilization and limits, so a
rescale made only because of an earlier recommendation still in the window
says ``reason: `` with nothing after it (kubernetes/kubernetes#107647).

Metrics come from ``cluster.metrics`` (a
:class:`~labsupport.sim.controllers.replicacalc.MetricsSource`): PodMetrics
for Resource metrics (cpu, memory) and per-pod rates for Pods metrics such
as ``http_requests_per_second``. Tests may set :attr:`source` instead.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    ...     "metadata": {"name": "web"},
    ...     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
    ...                                 "name": "web"}, "maxReplicas": 5}})
    >>> c.advance(1)        # reconciled at once since 1.37 (#138294); no such Deployment
    >>> status = c.get("hpa/web")["status"]
    >>> cond = status["conditions"][0]
    >>> cond["type"], cond["status"], cond["reason"]
    ('AbleToScale', 'False', 'FailedGetScale')

    With the HPAGeneration gate (alpha in 1.37, off by default) the HPA also
    has a generation, and its status says which one it reflects:

    >>> c = ls.connect(seed=0, feature_gates={"HPAGeneration": True})
    >>> _ = c.apply({"apiVersion": "autoscaling/v2",
    ...     "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
    ...     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
    ...                                 "name": "web"}, "maxReplicas": 5}})
    >>> c.advance(1)
    >>> c.get("hpa/web")["status"]["observedGeneration"]
    1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import Invalid, LabSupportError
from labsupport.kinds import type_for_kind
from labsupport.selectors import Selector
from labsupport.sim.clock import stamp
from labsupport.sim.controllers.base import SimController
from labsupport.sim.controllers.hpascaling import (
    DOWNSCALE_STABILIZATION,
    Recorder,
    normalize,
    scaling_rules,
    tolerances,
)
from labsupport.sim.controllers.replicacalc import (
    CPU_INITIALIZATION_PERIOD,
    INITIAL_READINESS_DELAY,
    TOLERANCE,
    MetricsError,
    MetricsSource,
    Tolerances,
    format_milli,
    milli,
    plain_replicas,
    pods_metric,
    resource_metrics,
    resource_replicas,
)

if TYPE_CHECKING:
    from labsupport.sim.cluster import SimCluster
    from labsupport.sim.store import WatchEvent

__all__ = ["HorizontalPodAutoscalerController", "SYNC_PERIOD", "COMPONENT"]

COMPONENT = "horizontal-pod-autoscaler"
# --horizontal-pod-autoscaler-sync-period (cmd/kube-controller-manager/app/options/hpacontroller.go)
SYNC_PERIOD = 15.0
# pkg/apis/autoscaling: DefaultCPUUtilization, the target when spec.metrics is empty.
DEFAULT_CPU_UTILIZATION = 80
_POD = type_for_kind("Pod")
_SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


class _MetricFailed(Exception):
    def __init__(self, reason: str, message: str, condition_message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.condition_message = condition_message or message


class _Sync:
    """One reconcile: the HPA being worked on and the status it will get."""

    def __init__(self, hpa: dict, now: float, tolerances: Tolerances) -> None:
        self.hpa = hpa
        self.now = now
        self.tolerances = tolerances
        # The generation this reconcile acts on (None only for an object the API
        # server gave none, which the simulated one never does for an HPA).
        self.generation: int | None = hpa["metadata"].get("generation")
        old = hpa.get("status") or {}
        self.conditions = [dict(c) for c in old.get("conditions") or ()]
        self.last_scale = old.get("lastScaleTime")
        self.old_desired = old.get("desiredReplicas", 0)

    def condition(self, type_: str, ok: bool, reason: str, message: str) -> None:
        """``setCondition``: the transition time changes only when the status does."""
        status = "True" if ok else "False"
        for c in self.conditions:
            if c["type"] == type_:
                if c["status"] != status:
                    c["lastTransitionTime"] = stamp(self.now)
                c.update(status=status, reason=reason, message=message)
                self._observed(c)
                return
        c = {"type": type_, "status": status, "lastTransitionTime": stamp(self.now),
             "reason": reason, "message": message}
        self._observed(c)
        self.conditions.append(c)

    def _observed(self, c: dict) -> None:
        # HorizontalPodAutoscalerCondition.observedGeneration (kubernetes/kubernetes#138653,
        # 1.37): the generation the condition was set for.
        if self.generation is not None:
            c["observedGeneration"] = self.generation


class HorizontalPodAutoscalerController(SimController):
    """Reconciles HorizontalPodAutoscalers every :attr:`sync_period` seconds.

    The attributes below are kube-controller-manager's flags, with their
    defaults; a lesson that changes one must say so.

    Attributes:
        source: the metrics to read; None reads ``cluster.metrics``.
        sync_period: seconds between two periodic syncs of one HPA (15).
        tolerance: the cluster-wide tolerance (0.1): no change while the ratio
            is within ``[1 - tolerance, 1 + tolerance]``; an HPA's own
            ``spec.behavior.scaleUp.tolerance`` / ``scaleDown.tolerance``
            replaces it in that direction (KEP-4951).
        downscale_stabilization: the scale-down window in seconds (300).
        cpu_initialization_period: seconds after a pod starts during which a
            CPU sample counts only if taken a whole window after the pod
            became ready (300).
        initial_readiness_delay: seconds after start during which a not-ready
            pod is taken as never ready yet (30).
    """

    name = COMPONENT
    kind = "HorizontalPodAutoscaler"
    watches = ("HorizontalPodAutoscaler",)

    def __init__(self, sim: SimCluster, source: MetricsSource | None = None) -> None:
        super().__init__(sim)
        self.source = source
        self.sync_period = SYNC_PERIOD
        self.tolerance = TOLERANCE
        self.downscale_stabilization = DOWNSCALE_STABILIZATION
        self.cpu_initialization_period = CPU_INITIALIZATION_PERIOD
        self.initial_readiness_delay = INITIAL_READINESS_DELAY
        self._recorders: dict[str, Recorder] = {}
        # The metadata.generation last seen per HPA (what the informer cache holds).
        self._generations: dict[str, int | None] = {}

    # --- watch and timing -------------------------------------------------------
    def changed(self, ev: WatchEvent) -> None:
        """See :meth:`hpa_changed`."""
        self.hpa_changed(ev)

    def hpa_changed(self, ev: WatchEvent) -> None:
        """Sync a new HPA, or one whose spec changed, at once; forget a deleted one.

        Kubernetes 1.37 (kubernetes/kubernetes#138294, pkg/controller/podautoscaler/
        horizontal.go ``enqueueHPA`` / ``updateHPA``): a created HPA is queued with
        ``queue.Add`` (no delay) instead of ``AddRateLimited`` (one sync period),
        and an update that changes ``metadata.generation`` (a spec change) is
        queued at once too. Updates that leave the generation alone, such as the
        controller's own status writes, wait for the periodic sync, so they cause
        no hot loop. The 15 s cadence itself is unchanged.
        """
        meta = ev.object["metadata"]
        if ev.type == "ADDED":
            self._generations[ev.key] = meta.get("generation")
            self.enqueue(ev.key)
            self.env.process(self._ticks(ev.key, meta["uid"]))
        elif ev.type == "MODIFIED":
            generation = meta.get("generation")
            if generation != self._generations.get(ev.key, generation):
                self.enqueue(ev.key)
            self._generations[ev.key] = generation
        elif ev.type == "DELETED":
            self._recorders.pop(ev.key, None)
            self._generations.pop(ev.key, None)

    def _ticks(self, key: str, uid: str):
        # After each reconcile upstream re-queues the HPA with a fixed delay of one
        # sync period (FixedItemIntervalRateLimiter); a key already waiting keeps its
        # earlier time, so an extra reconcile after a spec change does not move the
        # periodic ones: they stay at creation + n * sync_period.
        while True:
            yield self.env.timeout(self.sync_period)
            obj = self.sim.store.peek(key)
            if obj is None or obj["metadata"]["uid"] != uid:
                return
            self.enqueue(key)

    @property
    def metrics(self) -> MetricsSource | None:
        """The metrics in use: :attr:`source`, else the cluster's."""
        return self.source if self.source is not None else getattr(self.sim, "metrics", None)

    # --- reconcile ----------------------------------------------------------------
    def sync(self, key: str) -> None:
        """Reconcile one HPA (upstream ``reconcileAutoscaler``)."""
        hpa = self.sim.store.peek(key)
        if hpa is None or hpa["metadata"].get("deletionTimestamp"):
            return
        spec = _v2_spec(hpa)
        try:
            tol = tolerances(spec.get("behavior"), self.tolerance)
        except Invalid:                     # refused at apply; kept for a hand-made object
            tol = Tolerances(self.tolerance, self.tolerance)
        s = _Sync(hpa, self.env.now, tol)
        ns = hpa["metadata"]["namespace"]
        ref = spec.get("scaleTargetRef") or {}
        try:
            target = self._scale_target(ns, ref)
        except MetricsError as err:
            self.api.event(hpa, "Warning", "FailedGetScale", str(err), COMPONENT)
            s.condition("AbleToScale", False, "FailedGetScale",
                        f"the HPA controller was unable to get the target's current scale: {err}")
            old = hpa.get("status") or {}
            self._write(s, old.get("currentReplicas", 0), s.old_desired,
                        old.get("currentMetrics"))
            return
        s.condition("AbleToScale", True, "SucceededGetScale",
                    "the HPA controller was able to get the target's current scale")
        current = target["spec"].get("replicas", 1)
        recorder = self._recorders.setdefault(key, Recorder())
        recorder.record_initial(current, s.now)
        low = spec.get("minReplicas", 1)
        high = spec.get("maxReplicas", low)
        rules = None
        statuses: list[dict] = []
        desired = 0
        reason = ""
        rescale = True
        if current == 0 and low != 0:
            rescale = False
            s.condition("ScalingActive", False, "ScalingDisabled",
                        "scaling is disabled since the replica count of the target is zero")
        elif current > high:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", high
        elif current < low:
            reason, desired = "Current number of replicas below Spec.MinReplicas", low
        else:
            proposal, metric, statuses, error = self._compute(s, spec, target, current)
            if proposal < 0:
                self._write(s, current, s.old_desired, statuses)
                self.api.event(hpa, "Warning", "FailedComputeMetricsReplicas", error, COMPONENT)
                return
            desired = proposal
            if desired > current:
                reason = f"{metric} above target"
            elif desired < current:
                reason = "All metrics below target"
            try:
                rules = scaling_rules(spec.get("behavior"), self.downscale_stabilization)
            except Invalid as err:
                s.condition("ScalingActive", False, "InvalidBehavior", str(err))
                self._write(s, current, s.old_desired, statuses)
                return
            n = normalize(recorder, rules, current, desired, low, high, s.now,
                          self.downscale_stabilization)
            s.condition("AbleToScale", True, n.able_reason, n.able_message)
            s.condition("ScalingLimited", n.limited, n.limited_reason, n.limited_message)
            desired = n.replicas
            rescale = desired != current
        if rescale:
            self.api.patch(target, COMPONENT, spec=dict(target["spec"], replicas=desired))
            s.condition("AbleToScale", True, "SucceededRescale",
                        f"the HPA controller was able to update the target scale to {desired}")
            self.api.event(hpa, "Normal", "SuccessfulRescale",
                           f"New size: {desired}; reason: {reason}", COMPONENT)
            recorder.store_scale_event(rules, current, desired, s.now)
            s.last_scale = stamp(s.now)
        else:
            desired = current
        self._write(s, current, desired, statuses)

    def _scale_target(self, namespace: str, ref: dict) -> dict:
        kind = ref.get("kind") or ""
        group = (ref.get("apiVersion") or "").rpartition("/")[0]
        try:
            rt = type_for_kind(kind, ref.get("apiVersion"))
        except LabSupportError:
            raise MetricsError(f'no matches for kind "{kind}" in group "{group}"') from None
        resource = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
        if rt.kind not in _SCALABLE:
            raise MetricsError(f'{resource} "{ref.get("name")}" has no scale subresource; an '
                               f"HPA scales a {', '.join(_SCALABLE)}")
        obj = self.api.get(rt, namespace, ref.get("name") or "")
        if obj is None:
            raise MetricsError(f'{resource} "{ref.get("name")}" not found')
        return obj

    def _write(self, s: _Sync, current: int, desired: int, metrics: list[dict] | None) -> None:
        hpa = s.hpa
        # status.observedGeneration (kubernetes/kubernetes#138228, 1.37; horizontal.go
        # setStatus): every status the controller writes records the generation it
        # reconciled. autoscaling/v1 has the field too.
        head = {} if s.generation is None else {"observedGeneration": s.generation}
        if hpa.get("apiVersion") == "autoscaling/v1":
            status = {**head, "currentReplicas": current, "desiredReplicas": desired}
            for m in metrics or ():
                util = ((m.get("resource") or {}).get("current") or {}).get("averageUtilization")
                if m.get("type") == "Resource" and util is not None:
                    status["currentCPUUtilizationPercentage"] = util
        else:
            status = {**head, "currentReplicas": current, "desiredReplicas": desired}
            if metrics:
                status["currentMetrics"] = metrics
            status["conditions"] = s.conditions
        if not status["currentReplicas"]:
            del status["currentReplicas"]       # omitempty
        if s.last_scale:
            status["lastScaleTime"] = s.last_scale
        self.api.update_status(hpa, status, COMPONENT)

    # --- metrics --------------------------------------------------------------------
    def _compute(self, s: _Sync, spec: dict, target: dict,
                 current: int) -> tuple[int, str, list[dict], str]:
        """``computeReplicasForMetrics``: (replicas or -1, metric, statuses, error)."""
        hpa = s.hpa
        selector = (target.get("spec") or {}).get("selector")
        if not selector:
            self.api.event(hpa, "Warning", "SelectorRequired", "selector is required", COMPONENT)
            s.condition("ScalingActive", False, "InvalidSelector",
                        "the HPA target's scale is missing a selector")
            return -1, "", [], "selector is required"
        sel = Selector.from_label_selector(selector)
        pods = self.api.list(_POD, hpa["metadata"]["namespace"], sel)
        specs = spec.get("metrics") or _default_metrics()
        statuses: list[dict] = []
        replicas, metric = 0, ""
        invalid = 0
        first: _MetricFailed | None = None
        for m in specs:
            try:
                proposal, name, status = self._one(hpa, m, pods, current, s.now, s.tolerances)
            except _MetricFailed as f:
                self.api.event(hpa, "Warning", f.reason, f.condition_message, COMPONENT)
                statuses.append({"type": ""})
                invalid += 1
                first = first or f
                continue
            statuses.append(status)
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        if first is not None and (invalid >= len(specs) or replicas < current):
            s.condition("ScalingActive", False, first.reason,
                        f"the HPA was unable to compute the replica count: "
                        f"{first.condition_message}")
            return -1, "", statuses, (f"invalid metrics ({invalid} invalid out of {len(specs)}), "
                                      f"first error is: {first}")
        s.condition("ScalingActive", True, "ValidMetricFound",
                    f"the HPA was able to successfully calculate a replica count from {metric}")
        return replicas, metric, statuses, ""

    def _one(self, hpa: dict, m: dict, pods: list[dict], current: int,
             now: float, tol: Tolerances) -> tuple[int, str, dict]:
        """One metric: (replicas, metric name for messages, MetricStatus)."""
        ns = hpa["metadata"]["namespace"]
        kind = m.get("type")
        opts = {"tolerance": tol,
                "cpu_initialization_period": self.cpu_initialization_period,
                "initial_readiness_delay": self.initial_readiness_delay}
        if kind in ("Resource", "ContainerResource"):
            field = "resource" if kind == "Resource" else "containerResource"
            src = m.get(field) or {}
            res, container = src.get("name", ""), src.get("container")
            target = src.get("target") or {}
            reason = f"FailedGet{kind}Metric"
            what = "" if kind == "Resource" else " container"
            status_src = {"name": res, **({"container": container} if container else {})}
            try:
                usage = self._resource_usage(ns, pods, res, container)
                if target.get("averageValue") is not None:
                    try:
                        n, raw = plain_replicas(current, milli(target["averageValue"]), pods, usage,
                                                now, resource=res, **opts)
                    except MetricsError as err:
                        raise MetricsError(f"failed to get {res} usage: {err}") from None
                    return n, f"{res}{what} resource", {
                        "type": kind, field: {**status_src, "current": {
                            "averageValue": format_milli(raw)}}}
                if target.get("averageUtilization") is None:
                    raise MetricsError(f"invalid {field} metric source: neither an average "
                                       "utilization target nor an average value target was set")
                try:
                    goal = int(target["averageUtilization"])
                    n, util, raw = resource_replicas(current, goal, res, pods, usage, now,
                                                     container=container, **opts)
                except MetricsError as err:
                    raise MetricsError(f"failed to get {res} utilization: {err}") from None
            except MetricsError as err:
                raise _MetricFailed(reason, str(err)) from None
            return n, f"{res}{what} resource utilization (percentage of request)", {
                "type": kind, field: {**status_src, "current": {
                    "averageValue": format_milli(raw), "averageUtilization": util}}}
        if kind == "Pods":
            src = m.get("pods") or {}
            name = (src.get("metric") or {}).get("name", "")
            target = src.get("target") or {}
            try:
                if target.get("averageValue") is None:
                    raise MetricsError("invalid pods metric source: no average value target "
                                       "was set")
                values = self._pods_values(ns, pods, name, now)
                n, usage = plain_replicas(current, milli(target["averageValue"]), pods, values,
                                          now, **opts)
            except MetricsError as err:
                raise _MetricFailed("FailedGetPodsMetric",
                                    f"failed to get pods metric value: {err}", str(err)) from None
            return n, f"pods metric {name}", {
                "type": "Pods", "pods": {"metric": {"name": name},
                                         "current": {"averageValue": format_milli(usage)}}}
        if kind in ("Object", "External"):
            raise _MetricFailed(f"FailedGet{kind}Metric",
                                f"the simulator has no {kind} metrics; use a Resource metric "
                                "(cpu, memory) or a Pods metric such as "
                                "http_requests_per_second")
        raise _MetricFailed("InvalidMetricSourceType", f'unknown metric source type "{kind}"')

    def _resource_usage(self, ns: str, pods: list[dict], resource: str,
                        container: str | None) -> dict:
        source = self.metrics
        if source is None:
            raise MetricsError(f"unable to get metrics for resource {resource}: unable to fetch "
                               "metrics from resource metrics API: the server could not find "
                               "the requested resource (get pods.metrics.k8s.io)")
        try:
            return resource_metrics(source, ns, pods, resource, container)
        except MetricsError as err:
            raise MetricsError(f"unable to get metrics for resource {resource}: {err}") from None

    def _pods_values(self, ns: str, pods: list[dict], name: str, now: float) -> dict:
        source = self.metrics
        if source is None:
            raise MetricsError(f"unable to get metric {name}: unable to fetch metrics from "
                               f"custom metrics API: the server could not find the metric "
                               f"{name} for pods")
        try:
            return pods_metric(source, ns, pods, name, now)
        except MetricsError as err:
            raise MetricsError(f"unable to get metric {name}: {err}") from None


def _default_metrics() -> list[dict]:
    return [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]


def _v2_spec(hpa: dict) -> dict:
    """The spec in autoscaling/v2 form (an autoscaling/v1 HPA has one CPU target)."""
    spec = hpa.get("spec") or {}
    if hpa.get("apiVersion") != "autoscaling/v1":
        return spec
    out = {k: v for k, v in spec.items() if k != "targetCPUUtilizationPercentage"}
    util = spec.get("targetCPUUtilizationPercentage")
    if util is not None:
        out["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": util}}}]
    return out
