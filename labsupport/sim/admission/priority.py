"""The Priority admission plugin and the PriorityClass rules of the API server.

A PriorityClass (``scheduling.k8s.io/v1``, cluster-scoped) gives a name to an
integer: the higher, the more important the pods that name it in
``spec.priorityClassName``. When a pod is *created*, the Priority plugin
(plugin/pkg/admission/priority/admission.go, ``admitPod``) writes the class's
value into ``spec.priority`` and its ``preemptionPolicy`` into
``spec.preemptionPolicy``; the scheduler reads only those two fields. A pod
without a class gets the ``globalDefault`` class, or priority 0 and
``PreemptLowerPriority`` when there is none. On update the plugin keeps what
it set at creation.

Every cluster has two classes of its own, made by the API server at start
(pkg/apis/scheduling/v1/helpers.go ``systemPriorityClasses``):
``system-cluster-critical`` (2000000000) and ``system-node-critical``
(2000001000). A user class may go up to 1000000000 and may not use the
``system-`` prefix (pkg/apis/scheduling/validation ``ValidatePriorityClass``).

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
    ...              "metadata": {"name": "high"}, "value": 1000})
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"priorityClassName": "high",
    ...                       "containers": [{"name": "app", "image": "nginx:1.27"}]}})
    >>> spec = c.get("pod/p")["spec"]
    >>> spec["priority"], spec["preemptionPolicy"]
    (1000, 'PreemptLowerPriority')
    >>> sorted(pc["metadata"]["name"] for pc in c.list("priorityclasses"))
    ['high', 'system-cluster-critical', 'system-node-critical']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.kinds import type_for_kind
from labsupport.sim.fielderrors import IMMUTABLE, FieldError

if TYPE_CHECKING:
    from labsupport.sim.apiserver import APIServer

__all__ = [
    "PLUGIN", "SYSTEM_CLUSTER_CRITICAL", "SYSTEM_NODE_CRITICAL", "SYSTEM_PRIORITY_CLASSES",
    "HIGHEST_USER_DEFINABLE_PRIORITY", "PREEMPT_LOWER_PRIORITY", "PREEMPT_NEVER",
    "system_priority_classes", "default_priority_class", "resolve", "admit_pod",
    "validate_priority_class", "check_global_default", "pod_priority",
]

PLUGIN = "Priority"
# pkg/apis/scheduling/types.go: the system classes, the user ceiling and the
# prefix reserved for the system.
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"
SYSTEM_NODE_CRITICAL = "system-node-critical"
SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_PREFIX = "system-"
#: name -> (value, description), as pkg/apis/scheduling/v1/helpers.go makes them.
SYSTEM_PRIORITY_CLASSES = {
    SYSTEM_NODE_CRITICAL: (
        SYSTEM_CRITICAL_PRIORITY + 1000,
        "Used for system critical pods that must not be moved from their current node."),
    SYSTEM_CLUSTER_CRITICAL: (
        SYSTEM_CRITICAL_PRIORITY,
        "Used for system critical pods that must run in the cluster, but can be moved "
        "to another node if necessary."),
}
# k8s.io/api/core/v1: PreemptionPolicy values.
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"

_PRIORITY_CLASS = type_for_kind("PriorityClass")


def system_priority_classes() -> list[dict]:
    """The two PriorityClass objects the API server creates at start (defaulted).

    Example:
        >>> [(pc["metadata"]["name"], pc["value"]) for pc in system_priority_classes()]
        [('system-node-critical', 2000001000), ('system-cluster-critical', 2000000000)]
    """
    return [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
             "metadata": {"name": name}, "value": value, "description": description,
             "preemptionPolicy": PREEMPT_LOWER_PRIORITY}
            for name, (value, description) in SYSTEM_PRIORITY_CLASSES.items()]


def pod_priority(pod: dict) -> int:
    """``corev1helpers.PodPriority``: ``spec.priority``, 0 when unset."""
    return int((pod.get("spec") or {}).get("priority") or 0)


def default_priority_class(api: APIServer) -> dict | None:
    """admission.go ``getDefaultPriorityClass``: the globalDefault class.

    Should two exist (created in a race), the one with the lowest value wins.
    """
    best = None
    for pc in api.list(_PRIORITY_CLASS, None):
        if pc.get("globalDefault") and (best is None or pc.get("value", 0) < best.get("value", 0)):
            best = pc
    return best


def resolve(api: APIServer, class_name: str) -> tuple[str, int, str] | None:
    """``(class name, priority, preemptionPolicy)`` for a pod naming ``class_name``.

    An empty name gives the globalDefault class, or ``("", 0,
    "PreemptLowerPriority")`` when there is none; an unknown name gives None.
    """
    if not class_name:
        pc = default_priority_class(api)
        if pc is None:
            return "", 0, PREEMPT_LOWER_PRIORITY
    else:
        pc = api.get(_PRIORITY_CLASS, None, class_name)
        if pc is None:
            return None
    return (pc["metadata"]["name"], int(pc.get("value") or 0),
            pc.get("preemptionPolicy") or PREEMPT_LOWER_PRIORITY)


def admit_pod(api: APIServer, pod: dict) -> tuple[str | None, str]:
    """``admitPod`` on create: set priority and preemptionPolicy from the class.

    Returns:
        ``(refusal, note)``: the reason the pod is forbidden (None when
        admitted) and a note for the audit log ("" without a PriorityClass).
    """
    spec = pod.setdefault("spec", {})
    name = spec.get("priorityClassName") or ""
    found = resolve(api, name)
    if found is None:
        return f"no PriorityClass with name {name} was found", ""
    class_name, priority, policy = found
    if class_name:
        spec["priorityClassName"] = class_name
    given = spec.get("priority")
    if given is not None and given != priority:
        return (f"the integer value of priority ({given}) must not be provided in pod spec; "
                f"priority admission controller computed {priority} from the given "
                "PriorityClass name"), ""
    spec["priority"] = priority
    given_policy = spec.get("preemptionPolicy")
    if given_policy is not None and given_policy != policy:
        return (f"the string value of PreemptionPolicy ({given_policy}) must not be provided "
                f"in pod spec; priority admission controller computed {policy} from the "
                "given PriorityClass name"), ""
    spec["preemptionPolicy"] = policy
    if not class_name:
        return None, ""  # priority 0: nothing worth a line in the trace
    return None, f"priority {priority} from PriorityClass {class_name}, preemptionPolicy {policy}"


def validate_priority_class(pc: dict, old: dict | None) -> list[FieldError]:
    """API validation of a PriorityClass (``ValidatePriorityClass`` / ``...Update``)."""
    errors: list[FieldError] = []
    name = (pc.get("metadata") or {}).get("name") or ""
    value = pc.get("value")
    if not isinstance(value, int) or isinstance(value, bool):
        return [FieldError.required("value")] if value is None else [
            FieldError.invalid("value", value, "must be an integer")]
    if name.startswith(SYSTEM_PREFIX):
        problem = _known_system_class(name, value, bool(pc.get("globalDefault")))
        if problem:
            errors.append(FieldError.forbidden(
                "metadata.name", f"priority class names with '{SYSTEM_PREFIX}' prefix are "
                f"reserved for system use only. error: {problem}"))
    elif value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errors.append(FieldError.forbidden(
            "value", "maximum allowed value of a user defined priority is "
                     f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    policy = pc.get("preemptionPolicy")
    if policy not in (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER):
        errors.append(FieldError("Unsupported value", "preemptionPolicy",
                                 f'supported values: "{PREEMPT_LOWER_PRIORITY}", "{PREEMPT_NEVER}"',
                                 policy, True))
    if old is not None:
        if value != old.get("value"):
            errors.append(FieldError.forbidden("value", "may not be changed in an update."))
        if policy != old.get("preemptionPolicy"):
            errors.append(FieldError.invalid("preemptionPolicy", policy, IMMUTABLE))
    return errors


def _known_system_class(name: str, value: int, global_default: bool) -> str:
    # pkg/apis/scheduling/v1/helpers.go IsKnownSystemPriorityClass.
    if name not in SYSTEM_PRIORITY_CLASSES:
        return f"{name} is not a known system priority class"
    want = SYSTEM_PRIORITY_CLASSES[name][0]
    if value != want:
        return f"value of {name} PriorityClass must be {want}"
    if global_default:
        return f"globalDefault of {name} PriorityClass must be false"
    return ""


def check_global_default(api: APIServer, pc: dict, old: dict | None) -> str | None:
    """``validatePriorityClass`` (the plugin): only one globalDefault class may exist."""
    if not pc.get("globalDefault"):
        return None
    current = default_priority_class(api)
    if current is None:
        return None
    if old is None or current["metadata"]["name"] != pc["metadata"]["name"]:
        return (f"PriorityClass {current['metadata']['name']} is already marked as default. "
                "Only one default can exist")
    return None
