"""The defaults the API server writes into objects, as real Kubernetes does.

``kubectl get -o yaml`` shows fields nobody wrote: ``strategy``,
``revisionHistoryLimit``, probe periods, ``imagePullPolicy``... They come
from the API server's defaulting (pkg/apis/*/v1/defaults.go) and from
admission plugins (DefaultTolerationSeconds). The simulator applies the same
ones so the objects a student reads look like a real cluster's.

Example:
    >>> from labsupport.sim.defaults import apply_defaults
    >>> d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
    ...      "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {
    ...          "metadata": {"labels": {"app": "w"}},
    ...          "spec": {"containers": [{"name": "w", "image": "nginx:1.27"}]}}}}
    >>> apply_defaults(d)
    >>> d["spec"]["replicas"], d["spec"]["strategy"]["rollingUpdate"]
    (1, {'maxSurge': '25%', 'maxUnavailable': '25%'})
    >>> d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
    'IfNotPresent'
"""

from __future__ import annotations

from collections.abc import Callable

from labsupport.featuregates import resolve as resolve_gates

__all__ = ["apply_defaults", "default_pod_spec", "add_default_tolerations",
           "DEFAULT_TOLERATION_SECONDS", "TERMINATION_GRACE_PERIOD_SECONDS"]

# pkg/apis/core/v1/defaults.go: SetDefaults_Pod / SetDefaults_PodSpec
TERMINATION_GRACE_PERIOD_SECONDS = 30
# plugin/pkg/admission/defaulttolerationseconds: 300 s for not-ready and unreachable
DEFAULT_TOLERATION_SECONDS = 300
# pkg/apis/core/v1/defaults.go: SetDefaults_Probe
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                  "failureThreshold": 3}
# pkg/apis/apps/v1/defaults.go: SetDefaults_Deployment
DEPLOYMENT_MAX_SURGE = "25%"
DEPLOYMENT_MAX_UNAVAILABLE = "25%"
REVISION_HISTORY_LIMIT = 10
PROGRESS_DEADLINE_SECONDS = 600


def _image_pull_policy(image: str) -> str:
    # SetDefaults_Container: Always for ":latest" or no tag, else IfNotPresent.
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    if "@" in image:
        return "IfNotPresent"
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _container(c: dict) -> None:
    # Containers made from an already defaulted pod template come back here;
    # defaulting is idempotent, and the checks below keep that case cheap.
    if "imagePullPolicy" not in c:
        c["imagePullPolicy"] = _image_pull_policy(c.get("image", ""))
    if "terminationMessagePath" not in c:
        c["terminationMessagePath"] = "/dev/termination-log"
    if "terminationMessagePolicy" not in c:
        c["terminationMessagePolicy"] = "File"
    res = c.get("resources")
    if res is None:
        res = c["resources"] = {}
    # Requests default to limits when only limits are set (SetDefaults_ResourceList path).
    limits = res.get("limits")
    if limits:
        req = res.get("requests")
        if req is None:
            req = res["requests"] = {}
        for k, v in limits.items():
            if k not in req:
                req[k] = v
    for p in c.get("ports") or ():
        if "protocol" not in p:
            p["protocol"] = "TCP"
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(probe_name)
        if probe is not None:
            for k, v in PROBE_DEFAULTS.items():
                if k not in probe:
                    probe[k] = v
            if probe_name != "readinessProbe" and not probe.get("successThreshold"):
                probe["successThreshold"] = 1
            http = probe.get("httpGet")
            if http is not None:
                if "scheme" not in http:
                    http["scheme"] = "HTTP"
                if "path" not in http:
                    http["path"] = "/"


def default_pod_spec(spec: dict) -> None:
    """Fill in a PodSpec's defaults in place."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", TERMINATION_GRACE_PERIOD_SECONDS)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in spec.get("initContainers") or ():
        _container(c)
    for c in spec.get("containers") or ():
        _container(c)
    for v in spec.get("volumes") or ():
        if "emptyDir" in v and v["emptyDir"] is None:
            v["emptyDir"] = {}


def add_default_tolerations(spec: dict) -> None:
    """DefaultTolerationSeconds admission: tolerate not-ready / unreachable for 300 s.

    Example:
        >>> s = {}
        >>> add_default_tolerations(s)
        >>> [(t["key"], t["tolerationSeconds"]) for t in s["tolerations"]]
        [('node.kubernetes.io/not-ready', 300), ('node.kubernetes.io/unreachable', 300)]
    """
    tolerations = spec.setdefault("tolerations", [])
    for default in _DEFAULT_TOLERATIONS:
        key = default["key"]
        covered = False
        for t in tolerations:
            if ((t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists"))
                    and t.get("effect") in (None, "", "NoExecute")):
                covered = True
                break
        if not covered:
            # One dict shared by every pod: stored objects are never changed in place.
            tolerations.append(default)


_DEFAULT_TOLERATIONS = tuple(
    {"key": key, "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"))


def _template(spec: dict) -> None:
    tmpl = spec.get("template")
    if isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {})
        default_pod_spec(tmpl.setdefault("spec", {}))


def _pod(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("enableServiceLinks", True)
    # spec.priority and spec.preemptionPolicy come from the Priority admission
    # plugin (labsupport/sim/admission/priority.py), not from defaulting.
    add_default_tolerations(spec)


def _deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxSurge", DEPLOYMENT_MAX_SURGE)
        ru.setdefault("maxUnavailable", DEPLOYMENT_MAX_UNAVAILABLE)
    spec.setdefault("revisionHistoryLimit", REVISION_HISTORY_LIMIT)
    spec.setdefault("progressDeadlineSeconds", PROGRESS_DEADLINE_SECONDS)
    _template(spec)


def _replicaset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _template(spec)


def _replication_controller(obj: dict) -> None:
    # pkg/apis/core/v1/defaults.go SetDefaults_ReplicationController: the
    # template's labels become the selector and the object's labels when those
    # are empty; replicas defaults to 1.
    spec = obj.setdefault("spec", {})
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not obj.setdefault("metadata", {}).get("labels"):
            obj["metadata"]["labels"] = dict(labels)
    spec.setdefault("replicas", 1)
    _template(spec)


def _cronjob(obj: dict) -> None:
    # pkg/apis/batch/v1/defaults.go SetDefaults_CronJob; the generated
    # SetObjectDefaults_CronJob then defaults the pod template of jobTemplate
    # (not the Job's own fields: SetDefaults_Job runs when the Job is created).
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(job_spec, dict):
        _template(job_spec)


def _statefulset(obj: dict, gates: dict[str, bool]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", REVISION_HISTORY_LIMIT)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("partition", 0)
        # SetDefaults_StatefulSet: maxUnavailable 1 while the MaxUnavailableStatefulSet
        # gate is on (on again in 1.37, kubernetes PR 139466).
        if gates.get("MaxUnavailableStatefulSet"):
            rolling.setdefault("maxUnavailable", 1)
    _template(spec)


def _daemonset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", REVISION_HISTORY_LIMIT)
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": 0, "maxUnavailable": 1}})
    _template(spec)


def _job(obj: dict) -> None:
    # pkg/apis/batch/v1/defaults.go: completions and parallelism default to 1 only
    # when both are unset (a work-queue Job sets parallelism alone).
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", default_pod_replacement_policy(spec))
    _template(spec)


def default_pod_replacement_policy(spec: dict) -> str:
    """The ``podReplacementPolicy`` the API server writes into a Job that has none.

    KEP-3939 (JobPodReplacementPolicy, stable in 1.34): ``Failed`` when the Job
    has a ``podFailurePolicy`` (validation allows nothing else then), otherwise
    ``TerminatingOrFailed``.

    Example:
        >>> default_pod_replacement_policy({}), default_pod_replacement_policy(
        ...     {"podFailurePolicy": {"rules": []}})
        ('TerminatingOrFailed', 'Failed')
    """
    return "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"


def _service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        spec.setdefault("sessionAffinityConfig", {"clientIP": {"timeoutSeconds": 10800}})
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or ():
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))


def _namespace(obj: dict) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    name = obj["metadata"].get("name", "")
    obj["metadata"].setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", name)


def _hpa(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if obj.get("apiVersion") == "autoscaling/v1":
        return
    from labsupport.sim.controllers.hpascaling import default_behavior, scaling_rules

    # pkg/apis/autoscaling/v2/defaults.go: CPU at 80% when no metric is given, and a
    # given behavior filled in (scaling_rules checks it as the API server's validation).
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    if spec.get("behavior") is not None:
        scaling_rules(spec["behavior"])
        spec["behavior"] = default_behavior(spec["behavior"])


def _pvc(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    # storageClassName: the DefaultStorageClass admission plugin, not defaulting
    # (labsupport.sim.admission.defaultstorageclass).


def _priority_class(obj: dict) -> None:
    # pkg/apis/scheduling/v1/defaults.go SetDefaults_PriorityClass.
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


_BY_KIND: dict[str, Callable[[dict], None]] = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "ReplicationController": _replication_controller,
    "CronJob": _cronjob,
    "DaemonSet": _daemonset,
    "Job": _job,
    "Service": _service,
    "Namespace": _namespace,
    "HorizontalPodAutoscaler": _hpa,
    "PersistentVolumeClaim": _pvc,
    "PriorityClass": _priority_class,
}


def apply_defaults(obj: dict, feature_gates: dict[str, bool] | None = None) -> None:
    """Fill in the defaults of ``obj`` in place, by its kind.

    ``feature_gates`` are the cluster's (:mod:`labsupport.featuregates`); a
    StatefulSet's defaults depend on one of them.
    """
    kind = obj.get("kind", "")
    if kind == "StatefulSet":
        _statefulset(obj, feature_gates if feature_gates is not None else resolve_gates())
        return
    fn = _BY_KIND.get(kind)
    if fn is not None:
        fn(obj)
