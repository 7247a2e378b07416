"""LimitRanger admission: a namespace's LimitRange defaults and bounds.

A LimitRange fills in the requests and limits a container left out
(``defaultRequest``, ``default``) and refuses pods and claims outside its
``min``, ``max`` and ``maxLimitRequestRatio``, per Container, per Pod and per
PersistentVolumeClaim. The texts are upstream's
(plugin/pkg/admission/limitranger/admission.go: ``minConstraint``,
``maxConstraint``, ``maxRequestConstraint``, ``limitRequestRatioConstraint``).

Example:
    >>> lr = {"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}
    >>> default_limit_range(lr)
    >>> lr["spec"]["limits"][0]["default"], lr["spec"]["limits"][0]["defaultRequest"]
    ({'cpu': '1'}, {'cpu': '1'})
    >>> pod = {"spec": {"containers": [{"name": "web", "resources": {"limits": {"cpu": "2"}}}]}}
    >>> validate_pod(lr, pod)
    ['maximum cpu usage per Container is 1, but limit is 2']
"""

from __future__ import annotations

from labsupport.quantity import canonical, parse_quantity
from labsupport.sim.jsoncopy import json_copy

__all__ = ["ANNOTATION", "default_limit_range", "mutate_pod", "validate_pod", "validate_claim",
           "aggregate"]

#: The annotation that says what the plugin filled in.
ANNOTATION = "kubernetes.io/limit-ranger"


def default_limit_range(lr: dict) -> None:
    """``SetDefaults_LimitRangeItem``: default limit = max; defaultRequest = default, else min.

    (pkg/apis/core/v1/defaults.go; only for items of type Container.)
    """
    for item in (lr.get("spec") or {}).get("limits") or ():
        if item.get("type") != "Container":
            continue
        default = item.setdefault("default", {})
        request = item.setdefault("defaultRequest", {})
        for k, v in (item.get("max") or {}).items():
            default.setdefault(k, v)
        for k, v in default.items():
            request.setdefault(k, v)
        for k, v in (item.get("min") or {}).items():
            request.setdefault(k, v)
        if not default:
            del item["default"]
        if not request:
            del item["defaultRequest"]


def _containers(pod: dict) -> list[tuple[str, dict]]:
    spec = pod.get("spec") or {}
    return ([("container", c) for c in spec.get("containers") or ()]
            + [("init container", c) for c in spec.get("initContainers") or ()])


def mutate_pod(lr: dict, pod: dict) -> str | None:
    """Fill in missing requests and limits from ``lr``; return what was set, or None.

    ``mergeContainerResources``: per container, the missing names of
    ``defaultRequest`` and ``default``, recorded in the pod's annotation.
    """
    requests: dict = {}
    limits: dict = {}
    for item in (lr.get("spec") or {}).get("limits") or ():
        if item.get("type") == "Container":
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    if not requests and not limits:
        return None
    # A controller's pod shares its containers with the stored pod template
    # (replicaset.pod_from_template): copy them before writing, or the template
    # changes too and the Deployment controller sees a new template every time.
    spec = pod.setdefault("spec", {})
    for field in ("containers", "initContainers"):
        if spec.get(field):
            spec[field] = [json_copy(c) for c in spec[field]]
    notes: list[str] = []
    for label, c in _containers(pod):
        res = c.setdefault("resources", {})
        set_req, set_lim = [], []
        for k, v in limits.items():
            lim = res.setdefault("limits", {})
            if k not in lim:
                lim[k] = v
                set_lim.append(k)
        for k, v in requests.items():
            req = res.setdefault("requests", {})
            if k not in req:
                req[k] = v
                set_req.append(k)
        if set_req:
            notes.append(f"{', '.join(sorted(set_req))} request for {label} {c.get('name')}")
        if set_lim:
            notes.append(f"{', '.join(sorted(set_lim))} limit for {label} {c.get('name')}")
    if not notes:
        return None
    text = "LimitRanger plugin set: " + "; ".join(notes)
    pod["metadata"].setdefault("annotations", {})[ANNOTATION] = text
    return text


def _milli(value) -> int:
    return round(parse_quantity(value) * 1000)


def _min(kind: str, name: str, enforced, request: dict, limit: dict) -> str | None:
    if name not in request:
        return (f"minimum {name} usage per {kind} is {canonical(enforced)}.  "
                "No request is specified")
    if _milli(request[name]) < _milli(enforced):
        return (f"minimum {name} usage per {kind} is {canonical(enforced)}, "
                f"but request is {canonical(request[name])}")
    if name in limit and _milli(limit[name]) < _milli(enforced):
        return (f"minimum {name} usage per {kind} is {canonical(enforced)}, "
                f"but limit is {canonical(limit[name])}")
    return None


def _max(kind: str, name: str, enforced, request: dict, limit: dict) -> str | None:
    if name not in limit:
        return (f"maximum {name} usage per {kind} is {canonical(enforced)}.  "
                "No limit is specified")
    if _milli(limit[name]) > _milli(enforced):
        return (f"maximum {name} usage per {kind} is {canonical(enforced)}, "
                f"but limit is {canonical(limit[name])}")
    if name in request and _milli(request[name]) > _milli(enforced):
        return (f"maximum {name} usage per {kind} is {canonical(enforced)}, "
                f"but request is {canonical(request[name])}")
    return None


def _max_request(kind: str, name: str, enforced, request: dict) -> str | None:
    if name not in request:
        return (f"maximum {name} usage per {kind} is {canonical(enforced)}.  "
                "No request is specified")
    if _milli(request[name]) > _milli(enforced):
        return (f"maximum {name} usage per {kind} is {canonical(enforced)}, "
                f"but request is {canonical(request[name])}")
    return None


def _ratio(kind: str, name: str, enforced, request: dict, limit: dict) -> str | None:
    req = _milli(request[name]) if name in request else 0
    lim = _milli(limit[name]) if name in limit else 0
    head = f"{name} max limit to request ratio per {kind} is {canonical(enforced)}"
    if req == 0:
        return f"{head}, but no request is specified or request is 0"
    if lim == 0:
        return f"{head}, but no limit is specified or limit is 0"
    ratio = lim / req
    if ratio * 1000 > _milli(enforced):
        return f"{head}, but provided ratio is {ratio:f}"
    return None


def _check(item: dict, kind: str, request: dict, limit: dict) -> list[str]:
    errs: list[str | None] = []
    for name, v in sorted((item.get("min") or {}).items()):
        errs.append(_min(kind, name, v, request, limit))
    for name, v in sorted((item.get("max") or {}).items()):
        errs.append(_max(kind, name, v, request, limit))
    for name, v in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        errs.append(_ratio(kind, name, v, request, limit))
    return [e for e in errs if e]


def _pod_totals(pod: dict, field: str) -> dict:
    """Pod-level requests or limits: containers summed, init containers as a max."""
    spec = pod.get("spec") or {}
    total: dict[str, float] = {}
    for c in spec.get("containers") or ():
        for k, v in ((c.get("resources") or {}).get(field) or {}).items():
            total[k] = total.get(k, 0.0) + parse_quantity(v)
    for c in spec.get("initContainers") or ():
        for k, v in ((c.get("resources") or {}).get(field) or {}).items():
            total[k] = max(total.get(k, 0.0), parse_quantity(v))
    for k, v in (spec.get("overhead") or {}).items():
        if k in total:
            total[k] += parse_quantity(v)
    return {k: _as_quantity(k, v) for k, v in total.items()}


def _as_quantity(name: str, value: float) -> str:
    if name == "cpu" or value != int(value):
        return f"{round(value * 1000)}m"
    return str(int(value))


def validate_pod(lr: dict, pod: dict) -> list[str]:
    """``PodValidateLimitFunc``: what is wrong with ``pod`` under ``lr`` ([] when nothing)."""
    errs: list[str] = []
    for item in (lr.get("spec") or {}).get("limits") or ():
        if item.get("type") == "Container":
            for _label, c in _containers(pod):
                res = c.get("resources") or {}
                errs += _check(item, "Container", res.get("requests") or {},
                               res.get("limits") or {})
        elif item.get("type") == "Pod":
            errs += _check(item, "Pod", _pod_totals(pod, "requests"), _pod_totals(pod, "limits"))
    return errs


def validate_claim(lr: dict, claim: dict) -> list[str]:
    """``PersistentVolumeClaimValidateLimitFunc``: min and max of the requested storage."""
    request = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    errs: list[str | None] = []
    for item in (lr.get("spec") or {}).get("limits") or ():
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, v in sorted((item.get("min") or {}).items()):
            errs.append(_min("PersistentVolumeClaim", name, v, request, {}))
        for name, v in sorted((item.get("max") or {}).items()):
            errs.append(_max_request("PersistentVolumeClaim", name, v, request))
    return [e for e in errs if e]


def aggregate(errors: list[str]) -> str:
    """``utilerrors.NewAggregate(...).Error()``: one message, or ``[a, b]``."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
