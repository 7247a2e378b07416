"""What the API server checks beyond the schema: names, labels, ports, values.

The OpenAPI schema says which fields exist and their types. The API server
checks more: name syntax, port ranges, allowed values, requests <= limits.
This module holds the checks a learner meets most often, in three forms:

- field rules (:data:`FIELD_RULES`, :data:`KEY_RULES`), keyed by the short
  type name (``PodSpec``) and field; the compiled schema
  (:mod:`labsupport.schema`) runs them as it walks an object;
- hooks (:data:`HOOKS`), run on a whole value of one type, such as
  ``ResourceRequirements`` (requests <= limits);
- checks that :mod:`labsupport.manifests` runs after the walk:
  :func:`check_name` (by the naming rule of the kind) and
  :func:`check_volume_mounts`.

Every check reports a :class:`Fail`: the problem, the bad value, a hint, and a
field path that grows as the walk unwinds.

Example:
    >>> from labsupport.rules import FIELD_RULES, Fail, check_name
    >>> FIELD_RULES[("ContainerPort", "containerPort")](70000).problem
    'must be between 1 and 65535, inclusive'
    >>> try:
    ...     check_name("Service", {"name": "1web"})
    ... except Fail as e:
    ...     print(e.field(), repr(e.value), e.hint, sep=" | ")
    metadata.name | '1web' | Try "web"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from labsupport.errors import Invalid, InvalidManifest
from labsupport.quantity import parse_quantity

__all__ = [
    "Fail", "fail_at", "FIELD_RULES", "KEY_RULES", "EXTRA_REQUIRED", "HOOKS", "required_problem",
    "suggest_name", "dns1123_subdomain", "dns1123_label", "dns1035_label", "path_segment_name",
    "label_key", "one_of", "quantity_rule", "base64_rule",
    "check_name", "check_volume_mounts",
]

_NO_VALUE = object()


class Fail(Exception):
    """A problem found while walking an object; the path grows as it unwinds.

    ``path`` holds the segments leaf first: field names, ``"[0]"`` for list
    items and ``"[key]"`` for map keys.
    """

    def __init__(self, problem: str, value: Any = _NO_VALUE, hint: str | None = None,
                 path: list[str] | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.value = value
        self.hint = hint
        self.path = path if path is not None else []

    def field(self) -> str:
        """The Kubernetes-style field path, e.g. ``spec.containers[0].image``."""
        out = ""
        for seg in reversed(self.path):
            if seg.startswith("["):
                out += seg
            else:
                out += ("." + seg) if out else seg
        return out

    def to_error(self, prefix: str = "") -> InvalidManifest:
        """The InvalidManifest a learner sees."""
        field = self.field()
        if prefix:
            field = prefix + ("." + field if field and not field.startswith("[") else field)
        extra = {} if self.value is _NO_VALUE else {"value": self.value}
        return InvalidManifest(self.problem, field=field or None, hint=self.hint, **extra)


def fail_at(fields: tuple, problem: str, value: Any = _NO_VALUE,
            hint: str | None = None) -> Fail:
    """A Fail located by a forward path such as ``("containers", 0, "image")``."""
    segs = [f"[{f}]" if isinstance(f, int) else f for f in fields]
    return Fail(problem, value, hint, segs[::-1])


# ---- names and labels -------------------------------------------------------------------

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PERCENT = re.compile(r"^[0-9]+%$")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def suggest_name(name: str, rule: Callable[[str], str | None] | None = None) -> str | None:
    """A name close to ``name`` that passes ``rule`` (DNS-1123 subdomain), or None.

    Example:
        >>> suggest_name("My_App.v2"), suggest_name("1web", dns1035_label)
        ('my-app.v2', 'web')
    """
    rule = rule or dns1123_subdomain
    fixed = re.sub(r"[^a-z0-9.-]+", "-", name.lower())
    fixed = re.sub(r"-{2,}", "-", fixed).strip("-.")[:63].strip("-.")
    for candidate in (fixed, fixed.replace(".", "-"), fixed.lstrip("0123456789-.")):
        if candidate and rule(candidate) is None:
            return candidate
    return None


def dns1123_subdomain(name: str) -> str | None:
    """The problem with ``name`` as a DNS-1123 subdomain (most object names), or None.

    Example:
        >>> dns1123_subdomain("web-1.prod") is None, dns1123_subdomain("Web") is not None
        (True, True)
    """
    if len(name) > 253:
        return "must be no more than 253 characters"
    if not _DNS_SUBDOMAIN.match(name):
        return ('a lowercase RFC 1123 subdomain must consist of lower case letters, digits, '
                "'-' or '.', and must start and end with a letter or digit")
    return None


def dns1123_label(name: str) -> str | None:
    """The problem with ``name`` as a DNS-1123 label (namespaces, containers), or None."""
    if len(name) > 63:
        return "must be no more than 63 characters"
    if not _DNS_LABEL.match(name):
        return ("a lowercase RFC 1123 label must consist of lower case letters, digits "
                "or '-', and must start and end with a letter or digit")
    return None


def dns1035_label(name: str) -> str | None:
    """The problem with ``name`` as a DNS-1035 label (Service names), or None."""
    if len(name) > 63:
        return "must be no more than 63 characters"
    if not _DNS_1035.match(name):
        return ("a DNS-1035 label must consist of lower case letters, digits or '-', "
                "must start with a letter and end with a letter or digit")
    return None


def path_segment_name(name: str) -> str | None:
    """The problem with ``name`` as a path segment (RBAC object names), or None."""
    if name in (".", "..") or "/" in name or "%" in name:
        return "may not be '.' or '..' and may not contain '/' or '%'"
    return None


def label_key(key: str) -> str | None:
    """The problem with a label or annotation key, or None.

    Example:
        >>> label_key("app.kubernetes.io/name") is None, label_key("my app") is not None
        (True, True)
    """
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or dns1123_subdomain(prefix)):
        return ("the prefix before '/' must be a DNS subdomain such as example.com "
                "(lower case letters, digits, '-' and '.')")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return ("a key must be 63 characters or less, made of letters, digits, '-', '_' or "
                "'.', and start and end with a letter or digit, with an optional prefix "
                "such as example.com/")
    return None


def _label_key_rule(key: str) -> Fail | None:
    problem = label_key(key)
    return None if problem is None else Fail(problem, key)


def _label_value_rule(value: str) -> Fail | None:
    if value == "" or (len(value) <= 63 and _LABEL_NAME.match(value)):
        return None
    return Fail("a label value must be empty or 63 characters or less, made of letters, "
                "digits, '-', '_' or '.', and start and end with a letter or digit", value)


def _name_rule(check: Callable[[str], str | None]) -> Callable[[str], Fail | None]:
    def rule(value: str) -> Fail | None:
        problem = check(value)
        if problem is None:
            return None
        fixed = suggest_name(value, check)
        return Fail(problem, value, f'Try "{fixed}"' if fixed else None)
    return rule


# ---- values -----------------------------------------------------------------------------

def _port_name(value: str) -> str | None:
    if (len(value) > 15 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value)
            or "--" in value or not re.search(r"[a-z]", value)):
        return ("a port name must be no more than 15 characters, made of lower case "
                "letters, digits and '-', with at least one letter")
    return None


def _port_rule(low: int) -> Callable[[Any], Fail | None]:
    def rule(value: Any) -> Fail | None:
        if isinstance(value, str):
            problem = _port_name(value)
            return None if problem is None else Fail(problem, value)
        if not low <= value <= 65535:
            return Fail(f"must be between {max(low, 1)} and 65535, inclusive", value)
        return None
    return rule


def _at_least(low: int) -> Callable[[int], Fail | None]:
    def rule(value: int) -> Fail | None:
        return None if value >= low else Fail(f"must be greater than or equal to {low}", value)
    return rule


def _int_or_percent(value: Any) -> Fail | None:
    if isinstance(value, int):
        return None if value >= 0 else Fail("must be greater than or equal to 0", value)
    if _PERCENT.match(value):
        return None
    return Fail("must be an integer or a percentage such as \"25%\"", value)


def one_of(values: tuple[str, ...]) -> Callable[[str], Fail | None]:
    """A rule accepting only ``values`` (Kubernetes' "Unsupported value")."""
    allowed = frozenset(values)

    def rule(value: str) -> Fail | None:
        if value in allowed:
            return None
        close = difflib.get_close_matches(value, values, n=1, cutoff=0.5)
        hint = f'Did you mean "{close[0]}"?' if close else None
        listed = ", ".join(f'"{v}"' for v in values)
        return Fail(f"Unsupported value: supported values: {listed}", value, hint)
    return rule


def quantity_rule(value: Any) -> Fail | None:
    """Check a quantity string such as ``"500m"``; numbers are always fine."""
    if type(value) is not str:
        return None
    try:
        parse_quantity(value)
    except Invalid:
        return Fail('must be a quantity such as "500m" (half a CPU), "2", "128Mi" or "1Gi"',
                    value)
    return None


def base64_rule(value: str) -> Fail | None:
    """Check that a Secret's ``data`` value is base64."""
    import base64
    import binascii

    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return Fail("must be base64-encoded", value,
                    "Encode it (echo -n 'value' | base64), or put the plain text under "
                    "stringData instead of data")
    return None


def _config_key(key: str) -> Fail | None:
    if len(key) <= 253 and _CONFIG_KEY.match(key):
        return None
    return Fail("a key must consist of letters, digits, '-', '_' or '.'", key)


def _resource_name(key: str) -> Fail | None:
    if key in _STANDARD_RESOURCES or key.startswith("hugepages-") or "/" in key:
        return None
    close = difflib.get_close_matches(key, _STANDARD_RESOURCES, n=1, cutoff=0.5)
    return Fail("must be a standard resource type (cpu, memory, ephemeral-storage) or "
                "fully qualified (example.com/gpu)", key,
                f'Did you mean "{close[0]}"?' if close else None)


# ---- the tables the schema compiles in --------------------------------------------------

_PORT = _port_rule(1)  # a number 1-65535, or (for int-or-string fields) a port name
_NON_NEGATIVE = _at_least(0)

FIELD_RULES: dict[tuple[str, str], Callable[[Any], Fail | None]] = {
    ("ObjectMeta", "namespace"): _name_rule(dns1123_label),
    ("ObjectMeta", "labels{}"): _label_value_rule,
    ("LabelSelector", "matchLabels{}"): _label_value_rule,
    ("ServiceSpec", "selector{}"): _label_value_rule,
    ("ReplicationControllerSpec", "selector{}"): _label_value_rule,
    ("PodSpec", "nodeSelector{}"): _label_value_rule,
    ("Container", "name"): _name_rule(dns1123_label),
    ("Volume", "name"): _name_rule(dns1123_label),
    ("ContainerPort", "containerPort"): _PORT,
    ("ContainerPort", "hostPort"): _port_rule(0),
    ("ContainerPort", "name"): _PORT,
    ("ServicePort", "port"): _PORT,
    ("ServicePort", "targetPort"): _PORT,
    ("ServicePort", "nodePort"): _port_rule(0),
    ("ServicePort", "name"): _name_rule(dns1123_label),
    ("HTTPGetAction", "port"): _PORT,
    ("TCPSocketAction", "port"): _PORT,
    ("GRPCAction", "port"): _PORT,
    ("DeploymentSpec", "replicas"): _NON_NEGATIVE,
    ("ReplicaSetSpec", "replicas"): _NON_NEGATIVE,
    ("StatefulSetSpec", "replicas"): _NON_NEGATIVE,
    ("ReplicationControllerSpec", "replicas"): _NON_NEGATIVE,
    ("PodSpec", "terminationGracePeriodSeconds"): _NON_NEGATIVE,
    ("Probe", "initialDelaySeconds"): _NON_NEGATIVE,
    ("Probe", "periodSeconds"): _NON_NEGATIVE,
    ("Probe", "timeoutSeconds"): _NON_NEGATIVE,
    ("Probe", "successThreshold"): _NON_NEGATIVE,
    ("Probe", "failureThreshold"): _NON_NEGATIVE,
    ("RollingUpdateDeployment", "maxSurge"): _int_or_percent,
    ("RollingUpdateDeployment", "maxUnavailable"): _int_or_percent,
    ("RollingUpdateDaemonSet", "maxSurge"): _int_or_percent,
    ("RollingUpdateDaemonSet", "maxUnavailable"): _int_or_percent,
    ("RollingUpdateStatefulSetStrategy", "maxUnavailable"): _int_or_percent,
    ("PodDisruptionBudgetSpec", "minAvailable"): _int_or_percent,
    ("PodDisruptionBudgetSpec", "maxUnavailable"): _int_or_percent,
    ("Container", "imagePullPolicy"): one_of(("Always", "IfNotPresent", "Never")),
    ("Container", "terminationMessagePolicy"): one_of(("File", "FallbackToLogsOnError")),
    ("PodSpec", "restartPolicy"): one_of(("Always", "OnFailure", "Never")),
    ("PodSpec", "dnsPolicy"): one_of(("ClusterFirst", "ClusterFirstWithHostNet",
                                      "Default", "None")),
    ("ContainerPort", "protocol"): one_of(("TCP", "UDP", "SCTP")),
    ("ServicePort", "protocol"): one_of(("TCP", "UDP", "SCTP")),
    ("ServiceSpec", "type"): one_of(("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    ("ServiceSpec", "sessionAffinity"): one_of(("None", "ClientIP")),
    ("ServiceSpec", "externalTrafficPolicy"): one_of(("Cluster", "Local")),
    ("ServiceSpec", "internalTrafficPolicy"): one_of(("Cluster", "Local")),
    ("HTTPGetAction", "scheme"): one_of(("HTTP", "HTTPS")),
    ("DeploymentStrategy", "type"): one_of(("RollingUpdate", "Recreate")),
    ("DaemonSetUpdateStrategy", "type"): one_of(("RollingUpdate", "OnDelete")),
    ("StatefulSetUpdateStrategy", "type"): one_of(("RollingUpdate", "OnDelete")),
    ("StatefulSetSpec", "podManagementPolicy"): one_of(("OrderedReady", "Parallel")),
    ("LabelSelectorRequirement", "operator"): one_of(("In", "NotIn", "Exists",
                                                      "DoesNotExist")),
    ("Toleration", "operator"): one_of(("Equal", "Exists")),
    ("Toleration", "effect"): one_of(("NoSchedule", "PreferNoSchedule", "NoExecute")),
    ("Taint", "effect"): one_of(("NoSchedule", "PreferNoSchedule", "NoExecute")),
    ("PersistentVolumeClaimSpec", "accessModes[]"): one_of(
        ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")),
    ("HTTPIngressPath", "pathType"): one_of(("Exact", "Prefix", "ImplementationSpecific")),
    ("MetricSpec", "type"): one_of(("ContainerResource", "External", "Object", "Pods",
                                    "Resource")),
    ("MetricTarget", "type"): one_of(("AverageValue", "Utilization", "Value")),
    ("CronJobSpec", "concurrencyPolicy"): one_of(("Allow", "Forbid", "Replace")),
    ("JobSpec", "completionMode"): one_of(("NonIndexed", "Indexed")),
}

KEY_RULES: dict[tuple[str, str], Callable[[str], Fail | None]] = {
    ("ObjectMeta", "labels"): _label_key_rule,
    ("ObjectMeta", "annotations"): _label_key_rule,
    ("LabelSelector", "matchLabels"): _label_key_rule,
    ("ServiceSpec", "selector"): _label_key_rule,
    ("ReplicationControllerSpec", "selector"): _label_key_rule,
    ("PodSpec", "nodeSelector"): _label_key_rule,
    ("ResourceRequirements", "requests"): _resource_name,
    ("ResourceRequirements", "limits"): _resource_name,
    ("ConfigMap", "data"): _config_key,
    ("ConfigMap", "binaryData"): _config_key,
    ("Secret", "data"): _config_key,
    ("Secret", "stringData"): _config_key,
}

# Fields the schema leaves optional (for server-side apply) but validation requires.
EXTRA_REQUIRED: dict[str, tuple[str, ...]] = {"Container": ("image",)}

_REQUIRED_WHY = {
    ("Container", "image"): "every container needs an image to run, e.g. image: nginx:1.27",
    ("Container", "name"): "every container needs a name, e.g. name: web",
    ("PodSpec", "containers"): "a Pod needs at least one container",
    ("DeploymentSpec", "selector"): ("a Deployment needs a selector that matches its "
                                     "template's labels, e.g. matchLabels: {app: web}"),
    ("DeploymentSpec", "template"): "a Deployment needs a Pod template",
    ("ContainerPort", "containerPort"): "each entry of ports needs a containerPort number",
    ("ServicePort", "port"): "each entry of ports needs a port number",
}


def required_problem(short: str, key: str) -> str:
    """The "Required value" message for a missing field."""
    why = _REQUIRED_WHY.get((short, key))
    return f"Required value: {why}" if why else "Required value"


# ---- hooks: rules over a whole value of one type ----------------------------------------

def _pod_spec_hook(spec: dict) -> None:
    containers = spec.get("containers")
    if not containers:
        raise fail_at(("containers",), required_problem("PodSpec", "containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or ()):
            name = c.get("name") if isinstance(c, dict) else None
            if name in seen:
                raise fail_at((group, i, "name"), "Duplicate value: container names must be "
                              "unique within a Pod", name)
            seen.add(name)


def _resources_hook(res: dict) -> None:
    requests = res.get("requests") or {}
    limits = res.get("limits") or {}
    for part, values in (("requests", requests), ("limits", limits)):
        for name, value in values.items():
            if value is not None and parse_quantity(value) < 0:
                raise fail_at((part, f"[{name}]"), "must be greater than or equal to 0", value)
    # pkg/apis/core/validation ValidateResourceRequirements. Extended resources
    # (nvidia.com/gpu) and hugepages cannot be overcommitted (helper.IsOvercommitAllowed):
    # a request needs a limit, and equal to it. Extended resources are whole numbers.
    for part, values in (("requests", requests), ("limits", limits)):
        for name, value in values.items():
            if value is not None and _is_extended(name) and \
                    parse_quantity(value) != int(parse_quantity(value)):
                raise fail_at((part, f"[{name}]"), "must be an integer", value)
    for name, value in requests.items():
        limit = limits.get(name)
        fixed = _is_extended(name) or name.startswith("hugepages-")
        if value is None:
            continue
        if limit is None:
            if fixed:
                raise fail_at(("limits",), "Required value: Limit must be set for non "
                              "overcommitable resources")
        elif fixed and parse_quantity(value) != parse_quantity(limit):
            raise fail_at(("requests",), f"must be equal to {name} limit of {limit}", value)
        elif parse_quantity(value) > parse_quantity(limit):
            raise fail_at(("requests",),
                          f"must be less than or equal to {name} limit of {limit}", value)
    names = set(requests) | set(limits)
    if any(n.startswith("hugepages-") for n in names) and not names & {"cpu", "memory"}:
        raise fail_at((), "Forbidden: HugePages require cpu or memory")


def _is_extended(name: str) -> bool:
    """v1helper.IsExtendedResourceName (labsupport.sim.scheduler.podinfo has the details)."""
    from labsupport.sim.scheduler.podinfo import is_extended_resource_name

    return is_extended_resource_name(name)


def _service_spec_hook(spec: dict) -> None:
    ports = spec.get("ports") or []
    if not ports and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
        raise fail_at(("ports",), "Required value: a Service needs at least one port, "
                      "e.g. ports: [{port: 80, targetPort: 8080}]")
    if len(ports) > 1:
        names: set[str] = set()
        for i, port in enumerate(ports):
            name = port.get("name") if isinstance(port, dict) else None
            if not name:
                raise fail_at(("ports", i, "name"), "Required value: a Service with more "
                              "than one port must name every port")
            if name in names:
                raise fail_at(("ports", i, "name"), "Duplicate value", name)
            names.add(name)


def _hpa_spec_hook(spec: dict) -> None:
    low = spec.get("minReplicas")
    high = spec.get("maxReplicas")
    if low is not None and low < 1:
        raise fail_at(("minReplicas",), "must be greater than or equal to 1", low)
    if high is not None and high < max(low or 1, 1):
        raise fail_at(("maxReplicas",), "must be greater than or equal to minReplicas "
                      f"({low or 1})", high)


def _claim_spec_hook(spec: dict) -> None:
    if not spec.get("accessModes"):
        raise fail_at(("accessModes",), "Required value: at least one access mode, e.g. "
                      "accessModes: [ReadWriteOnce]")
    requests = (spec.get("resources") or {}).get("requests") or {}
    if requests.get("storage") is None:
        raise fail_at(("resources", "[storage]"), "Required value: how much storage to "
                      "claim, e.g. resources: {requests: {storage: 1Gi}}")


def _job_spec_hook(spec: dict) -> None:
    # pkg/apis/batch/validation: a Job's pods restart "OnFailure" or "Never"; the
    # PodSpec default "Always" would never let the Job finish.
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        shown = policy if policy is not None else "Always"
        raise fail_at(("template", "spec", "restartPolicy"),
                      'Unsupported value: supported values: "OnFailure", "Never"', shown,
                      'A Job\'s pods must end: set restartPolicy: Never (or OnFailure) in '
                      "the pod template" + (" (Always is the default when it is left out)"
                                            if policy is None else ""))


HOOKS: dict[str, Callable[[dict], None]] = {
    "JobSpec": _job_spec_hook,
    "PersistentVolumeClaimSpec": _claim_spec_hook,
    "PodSpec": _pod_spec_hook,
    "ResourceRequirements": _resources_hook,
    "ServiceSpec": _service_spec_hook,
    "HorizontalPodAutoscalerSpec": _hpa_spec_hook,
}

# ---- object names and volume mounts -----------------------------------------------------

# Object names follow DNS-1123 subdomain rules, except for these kinds.
_NAME_RULES = {
    "Namespace": dns1123_label,
    "Service": dns1035_label,
    "Role": path_segment_name,
    "ClusterRole": path_segment_name,
    "RoleBinding": path_segment_name,
    "ClusterRoleBinding": path_segment_name,
}


def check_name(kind: str, meta: Any) -> None:
    """Check ``metadata.name`` (or ``generateName``) by the naming rule of ``kind``.

    Raises:
        Fail: located at ``metadata.name`` (or ``metadata.generateName``).

    Example:
        >>> check_name("Role", {"name": "pod:reader"}) is None
        True
    """
    if not isinstance(meta, dict):
        raise Fail("must be a mapping of fields (name: value lines)", meta, path=["metadata"])
    name = meta.get("name")
    rule = _NAME_RULES.get(kind, dns1123_subdomain)
    if name is None or name == "":
        gen = meta.get("generateName")
        if not gen:
            raise Fail("Required value: name or generateName is required",
                       path=["name", "metadata"])
        if not isinstance(gen, str):
            raise Fail("must be a string", gen, path=["generateName", "metadata"])
        problem = rule(gen[:-1] + "a" if gen.endswith("-") else gen)
        if problem:
            raise Fail(problem, gen, path=["generateName", "metadata"])
        return
    if not isinstance(name, str):
        raise Fail("must be a string", name, f'put it in quotes: "{name}"',
                   path=["name", "metadata"])
    problem = rule(name)
    if problem:
        fixed = suggest_name(name, rule)
        raise Fail(problem, name, f'Try "{fixed}"' if fixed else None, path=["name", "metadata"])


def check_volume_mounts(spec: dict, claim_templates: tuple[str, ...] = ()) -> None:
    """Every volumeMount names a volume of the Pod (or a StatefulSet's claim template).

    Raises:
        Fail: located inside the Pod spec, e.g. ``containers[0].volumeMounts[1].name``.
    """
    volumes = {v.get("name") for v in spec.get("volumes") or () if isinstance(v, dict)}
    volumes.update(claim_templates)
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or ()):
            for j, mount in enumerate((c or {}).get("volumeMounts") or ()):
                if isinstance(mount, dict) and mount.get("name") not in volumes:
                    raise fail_at((group, i, "volumeMounts", j, "name"),
                                  "Not found: no volume with this name in the Pod's volumes",
                                  mount.get("name"))
