"""What the scheduler reads from a pod: requests, host ports, tolerations, node affinity.

The scheduler never looks at a whole pod twice. It boils the pod down to a
:class:`PodProfile` (integer milli-CPU and bytes, as kube-scheduler counts
them) and caches it by the pod's scheduling-relevant fields, so 150,000 pods
stamped from a handful of Deployment templates are parsed a handful of times.

Example:
    >>> from labsupport.sim.scheduler.podinfo import profile_of
    >>> p = profile_of({"spec": {"containers": [
    ...     {"resources": {"requests": {"cpu": "250m"}}}]}})
    >>> p.cpu, p.memory, p.nonzero_cpu, p.nonzero_memory
    (250, 0, 250, 209715200)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from labsupport.errors import Invalid

__all__ = [
    "DEFAULT_MILLI_CPU_REQUEST", "DEFAULT_MEMORY_REQUEST", "PodProfile", "Toleration",
    "Requirement", "Term", "NodeAffinity", "milli_value", "value", "quantity_at",
    "profile_of", "template_key", "parse_int64", "EPHEMERAL_STORAGE", "extra_requests",
    "is_extended_resource_name", "is_scalar_resource_name",
]

# pkg/scheduler/util/non_zero.go: DefaultMilliCPURequest = 100 (0.1 core) and
# DefaultMemoryRequest = 200 * 1024 * 1024 ("200 MB" in the upstream comment; it is
# 200 MiB). A container that sets no request for a resource is *scored* as if it
# asked for this much; Filter (NodeResourcesFit) still counts 0.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_MULTIPLIER = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}


@lru_cache(maxsize=4096)
def _exact(quantity: str | int | float) -> Decimal:
    if isinstance(quantity, bool):
        raise Invalid(f"quantity {quantity!r} is not a number")
    text = str(quantity).strip()
    m = _QUANTITY.match(text)
    if not m:
        raise Invalid(
            f'quantities must look like "500m", "2", "128Mi" or "1Gi" (a Kubernetes '
            f"resource quantity); got {quantity!r}")
    try:
        return Decimal(m.group(1)) * _MULTIPLIER[m.group(2) or ""]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise Invalid(f"quantity {quantity!r} is not a number") from exc


def milli_value(quantity: str | int | float) -> int:
    """Thousandths of a quantity, rounded up, like ``resource.Quantity.MilliValue()``.

    Example:
        >>> milli_value("250m"), milli_value("0.1"), milli_value(2), milli_value("1n")
        (250, 100, 2000, 1)
    """
    return math.ceil(_exact(quantity) * 1000)


def value(quantity: str | int | float) -> int:
    """A quantity as a whole number, rounded up, like ``resource.Quantity.Value()``.

    Example:
        >>> value("1Gi"), value("200M"), value("110")
        (1073741824, 200000000, 110)
    """
    return math.ceil(_exact(quantity))


@dataclass(frozen=True)
class Toleration:
    """One entry of ``spec.tolerations``."""

    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, key: str, value: str, effect: str) -> bool:
        """Whether this toleration tolerates the taint ``key=value:effect``.

        Follows ``Toleration.ToleratesTaint`` (k8s.io/api/core/v1/toleration.go):
        an empty effect matches every effect, an empty key (only valid with
        ``Exists``) matches every key, ``Equal`` (or no operator) compares values.

        Example:
            >>> Toleration("", "Exists", "", "").tolerates("any", "x", "NoExecute")
            True
            >>> gpu = Toleration("gpu", "Equal", "a100", "NoSchedule")
            >>> gpu.tolerates("gpu", "t4", "NoSchedule")
            False
        """
        if self.effect and self.effect != effect:
            return False
        if self.key and self.key != key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == value
        return self.operator == "Exists"


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` / ``matchFields`` entry of a node selector term."""

    key: str
    operator: str
    values: tuple[str, ...]
    number: int = 0  # the parsed value for Gt / Lt


@dataclass(frozen=True)
class Term:
    """A node selector term: its requirements are ANDed.

    ``valid`` is False when the term cannot be parsed (an unknown operator, a Gt
    value that is not an integer...): upstream ignores such a term, so it matches
    no node.
    """

    labels: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]
    valid: bool = True


@dataclass(frozen=True)
class NodeAffinity:
    """``spec.nodeSelector`` plus ``spec.affinity.nodeAffinity``, parsed.

    Attributes:
        node_selector: the ``nodeSelector`` labels (all must match).
        required: the required terms (ORed), or None when the pod sets none.
        preferred: ``(weight, term)`` pairs, or None when the pod sets none
            (then the NodeAffinity score plugin is skipped).
        node_names: the node names that ``matchFields metadata.name In`` terms
            allow (NodeAffinity PreFilter), or None when every node may match.
    """

    node_selector: tuple[tuple[str, str], ...]
    required: tuple[Term, ...] | None
    preferred: tuple[tuple[int, Term], ...] | None
    node_names: frozenset[str] | None

    @property
    def filters(self) -> bool:
        """Whether the NodeAffinity Filter has anything to check."""
        return bool(self.node_selector) or self.required is not None


_INT64 = re.compile(r"[+-]?[0-9]+")


def parse_int64(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``: None when it would fail.

    Example:
        >>> parse_int64("-12"), parse_int64("1.5"), parse_int64(str(2**63))
        (-12, None, None)
    """
    if not _INT64.fullmatch(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


def _parse_label_requirement(expr: dict) -> Requirement | None:
    # component-helpers/scheduling/corev1/nodeaffinity: nodeSelectorRequirementsAsSelector
    key = str(expr.get("key", ""))
    op = expr.get("operator", "")
    values = tuple(str(v) for v in (expr.get("values") or ()))
    if op in ("In", "NotIn"):
        return Requirement(key, op, values) if values else None
    if op in ("Exists", "DoesNotExist"):
        return None if values else Requirement(key, op, ())
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            return None
        number = parse_int64(values[0])
        return None if number is None else Requirement(key, op, values, number)
    return None


def _parse_field_requirement(expr: dict) -> Requirement | None:
    # nodeaffinity: nodeSelectorRequirementsAsFieldSelector accepts only
    # metadata.name with In / NotIn and exactly one value.
    key = expr.get("key", "")
    op = expr.get("operator", "")
    values = tuple(str(v) for v in (expr.get("values") or ()))
    if key != "metadata.name" or op not in ("In", "NotIn") or len(values) != 1:
        return None
    return Requirement(key, op, values)


def _parse_term(term: dict | None) -> Term | None:
    """None for an empty term (it selects no node); ``valid=False`` when broken."""
    term = term or {}
    exprs = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not exprs and not fields:
        return None
    labels = [_parse_label_requirement(e) for e in exprs]
    parsed_fields = [_parse_field_requirement(f) for f in fields]
    if any(r is None for r in labels) or any(r is None for r in parsed_fields):
        return Term((), (), valid=False)
    return Term(tuple(labels), tuple(parsed_fields))  # type: ignore[arg-type]


def _parse_affinity(spec: dict) -> NodeAffinity:
    selector = spec.get("nodeSelector") or {}
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = None
    node_names: frozenset[str] | None = None
    req = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if req is not None:
        raw_terms = (req or {}).get("nodeSelectorTerms") or []
        required = tuple(t for t in (_parse_term(r) for r in raw_terms) if t is not None)
        # pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go PreFilter:
        # metadata.name In terms narrow the nodes to check; an unnamed term widens
        # back to every node since terms are ORed.
        names: set[str] | None = None
        for raw in raw_terms:
            term_names: set[str] | None = None
            for f in (raw or {}).get("matchFields") or ():
                if f.get("key") == "metadata.name" and f.get("operator") == "In":
                    vals = {str(v) for v in f.get("values") or ()}
                    term_names = vals if term_names is None else term_names & vals
            if term_names is None:
                names = None
                break
            names = term_names if names is None else names | term_names
        if raw_terms and names is not None:
            node_names = frozenset(names)
    preferred = None
    pref = node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution")
    if pref is not None:
        parsed = []
        for p in pref:
            weight = int(p.get("weight") or 0)
            term = _parse_term(p.get("preference"))
            # nodeaffinity.NewPreferredSchedulingTerms skips weight 0 and empty terms.
            if weight == 0 or term is None:
                continue
            parsed.append((weight, term))
        preferred = tuple(parsed)
    return NodeAffinity(tuple(sorted((str(k), str(v)) for k, v in selector.items())),
                        required, preferred, node_names)


def quantity_at(field: str, quantity: str | int | float, *, milli: bool = False) -> int:
    """:func:`milli_value` or :func:`value`, naming the field when it is not a quantity."""
    try:
        return milli_value(quantity) if milli else value(quantity)
    except Invalid as exc:
        raise Invalid(f"{field}: {exc}") from None


def _requests(container: dict, nonzero: bool, where: str) -> tuple[int, int]:
    req = (container.get("resources") or {}).get("requests") or {}
    # applyNonMissing: a request that is absent gets the default; an explicit 0 stays 0.
    if "cpu" in req:
        cpu = quantity_at(f"{where}.resources.requests.cpu", req["cpu"], milli=True)
    else:
        cpu = DEFAULT_MILLI_CPU_REQUEST if nonzero else 0
    if "memory" in req:
        mem = quantity_at(f"{where}.resources.requests.memory", req["memory"])
    else:
        mem = DEFAULT_MEMORY_REQUEST if nonzero else 0
    return cpu, mem


def pod_requests(spec: dict, *, nonzero: bool = False) -> tuple[int, int]:
    """Milli-CPU and memory bytes a pod requests, with the init container rule.

    Follows ``resourcehelper.PodRequests`` (k8s.io/component-helpers/resource):
    app containers add up; each init container runs alone (plus the sidecars
    started before it), so the pod needs the larger of the two; sidecars
    (``restartPolicy: Always`` init containers) keep running and add to the app
    containers; ``spec.overhead`` is added last. With ``nonzero=True`` a missing
    request counts as 100m CPU / 200Mi memory (for scoring only).

    Example:
        >>> spec = {"initContainers": [{"resources": {"requests": {"cpu": "2"}}}],
        ...         "containers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}
        >>> pod_requests(spec)
        (2000, 1073741824)
    """
    cpu = mem = 0
    for i, c in enumerate(spec.get("containers") or ()):
        c_cpu, c_mem = _requests(c, nonzero, f"spec.containers[{i}]")
        cpu += c_cpu
        mem += c_mem
    init_cpu = init_mem = side_cpu = side_mem = 0
    for i, c in enumerate(spec.get("initContainers") or ()):
        c_cpu, c_mem = _requests(c, nonzero, f"spec.initContainers[{i}]")
        if c.get("restartPolicy") == "Always":
            cpu += c_cpu
            mem += c_mem
            side_cpu += c_cpu
            side_mem += c_mem
            use_cpu, use_mem = side_cpu, side_mem
        else:
            use_cpu, use_mem = c_cpu + side_cpu, c_mem + side_mem
        init_cpu = max(init_cpu, use_cpu)
        init_mem = max(init_mem, use_mem)
    cpu = max(cpu, init_cpu)
    mem = max(mem, init_mem)
    overhead = spec.get("overhead") or {}
    if "cpu" in overhead:
        cpu += quantity_at("spec.overhead.cpu", overhead["cpu"], milli=True)
    if "memory" in overhead:
        mem += quantity_at("spec.overhead.memory", overhead["memory"])
    return cpu, mem


# -- resources other than cpu and memory -----------------------------------------------------
#: ``v1.ResourceEphemeralStorage``: local scratch space; checked by NodeResourcesFit.
EPHEMERAL_STORAGE = "ephemeral-storage"
_HUGEPAGES_PREFIX = "hugepages-"        # v1.ResourceHugePagesPrefix
_NATIVE_PREFIX = "kubernetes.io/"       # v1.ResourceDefaultNamespacePrefix
_ATTACHABLE_PREFIX = "attachable-volumes-"
_QUALIFIED_PART = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def is_extended_resource_name(name: str) -> bool:
    """Whether ``name`` is an extended resource, like ``v1helper.IsExtendedResourceName``.

    pkg/apis/core/v1/helper/helpers.go: not a native resource (a name without
    a "/" or with the ``kubernetes.io/`` prefix), not starting with
    ``requests.``, and a qualified name once ``requests.`` is put in front.

    Example:
        >>> [is_extended_resource_name(n) for n in
        ...  ("nvidia.com/gpu", "cpu", "hugepages-2Mi", "kubernetes.io/foo")]
        [True, False, False, False]
    """
    if "/" not in name or _NATIVE_PREFIX in name or name.startswith("requests."):
        return False
    prefix, _, rest = f"requests.{name}".partition("/")
    return (len(prefix) <= 253 and bool(_DNS_SUBDOMAIN.match(prefix)) and "/" not in rest
            and bool(_QUALIFIED_PART.match(rest)))


def is_scalar_resource_name(name: str) -> bool:
    """A resource kept in ``framework.Resource.ScalarResources`` (schedutil.IsScalarResourceName).

    Extended resources, hugepages (``hugepages-<size>``), ``kubernetes.io/``
    prefixed native resources and attachable volume counts.

    Example:
        >>> [is_scalar_resource_name(n) for n in ("example.com/foo", "hugepages-1Gi", "pods")]
        [True, True, False]
    """
    return (is_extended_resource_name(name) or name.startswith(_HUGEPAGES_PREFIX)
            or _NATIVE_PREFIX in name or name.startswith(_ATTACHABLE_PREFIX))


def _extra_of(requests: dict, where: str) -> dict[str, int]:
    """The ephemeral-storage and scalar entries of a ``requests`` map, as integers."""
    out: dict[str, int] = {}
    for name, amount in requests.items():
        name = str(name)
        if name == EPHEMERAL_STORAGE or is_scalar_resource_name(name):
            out[name] = quantity_at(f"{where}[{name}]", amount)
    return out


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for name, amount in more.items():
        total[name] = total.get(name, 0) + amount


def extra_requests(spec: dict) -> tuple[tuple[str, int], ...]:
    """What a pod requests besides cpu and memory: ephemeral-storage and scalar resources.

    The same rule as :func:`pod_requests` (``resourcehelper.PodRequests``,
    k8s.io/component-helpers/resource/helpers.go), resource by resource: app
    containers and sidecars add up, each init container needs its own request
    plus the sidecars started before it, the pod needs the larger, then
    ``spec.overhead`` is added. Amounts are whole numbers (``Quantity.Value()``:
    bytes, devices). Resources requested as 0 are left out (fitsRequest skips
    them); the result is sorted: ephemeral-storage first, then by name.

    Example:
        >>> spec = {"initContainers": [{"resources": {"requests": {"nvidia.com/gpu": "2"}}}],
        ...         "containers": [{"resources": {"requests": {
        ...             "nvidia.com/gpu": "1", "ephemeral-storage": "1Gi"}}}]}
        >>> extra_requests(spec)
        (('ephemeral-storage', 1073741824), ('nvidia.com/gpu', 2))
    """
    total: dict[str, int] = {}
    for i, c in enumerate(spec.get("containers") or ()):
        req = (c.get("resources") or {}).get("requests") or {}
        _add(total, _extra_of(req, f"spec.containers[{i}].resources.requests"))
    init_max: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for i, c in enumerate(spec.get("initContainers") or ()):
        req = (c.get("resources") or {}).get("requests") or {}
        own = _extra_of(req, f"spec.initContainers[{i}].resources.requests")
        if c.get("restartPolicy") == "Always":
            _add(total, own)
            _add(sidecars, own)
            use = dict(sidecars)
        else:
            use = dict(own)
            _add(use, sidecars)
        for name, amount in use.items():
            init_max[name] = max(init_max.get(name, 0), amount)
    for name, amount in init_max.items():
        total[name] = max(total.get(name, 0), amount)
    _add(total, _extra_of(spec.get("overhead") or {}, "spec.overhead"))
    order = sorted(total, key=lambda n: (n != EPHEMERAL_STORAGE, n))
    return tuple((name, total[name]) for name in order if total[name] != 0)


def _host_ports(spec: dict) -> tuple[tuple[str, str, int], ...]:
    # pkg/scheduler/framework/plugins/nodeports/node_ports.go getContainerPorts:
    # app containers' ports with hostPort > 0; an empty hostIP means 0.0.0.0 and
    # an empty protocol means TCP (framework.HostPortInfo sanitize).
    ports = []
    for c in spec.get("containers") or ():
        for p in c.get("ports") or ():
            host_port = int(p.get("hostPort") or 0)
            if host_port > 0:
                ports.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP",
                              host_port))
    return tuple(ports)


@dataclass(frozen=True)
class PodProfile:
    """The scheduling-relevant facts of a pod (shared by pods of one template).

    Attributes:
        cpu: requested milli-CPU (what Filter and the node's "requested" count).
        memory: requested bytes.
        nonzero_cpu: milli-CPU with the 100m default per container (scoring).
        nonzero_memory: bytes with the 200Mi default per container (scoring).
        host_ports: ``(hostIP, protocol, hostPort)`` of ports bound on the node.
        tolerations: the pod's tolerations.
        affinity: nodeSelector and node affinity.
        placement_key: a key for everything the static filters depend on.
        preempt_never: ``preemptionPolicy: Never``.
        extra: ``(resource, amount)`` of the other resources it requests
            (:func:`extra_requests`): ephemeral-storage, extended resources,
            hugepages. Empty for most pods, which then cost nothing more.
    """

    cpu: int
    memory: int
    nonzero_cpu: int
    nonzero_memory: int
    host_ports: tuple[tuple[str, str, int], ...]
    tolerations: tuple[Toleration, ...]
    affinity: NodeAffinity
    placement_key: tuple
    preempt_never: bool
    extra: tuple[tuple[str, int], ...] = ()


def _tolerations(spec: dict) -> tuple[Toleration, ...]:
    out = []
    for t in spec.get("tolerations") or ():
        out.append(Toleration(str(t.get("key") or ""), str(t.get("operator") or ""),
                              str(t.get("value") or ""), str(t.get("effect") or "")))
    return tuple(out)


def template_key(spec: dict) -> tuple:
    """A hashable key of the fields the scheduler reads; equal pods share it."""
    init = spec.get("initContainers")
    na = (spec.get("affinity") or {}).get("nodeAffinity")
    return (
        tuple([(repr(c.get("resources")), repr(c.get("ports")))
               for c in spec.get("containers") or ()]),
        tuple([(repr(c.get("resources")), c.get("restartPolicy")) for c in init]) if init else (),
        repr(spec.get("overhead")),
        repr(spec.get("tolerations")),
        repr(spec.get("nodeSelector")),
        repr(na),
        spec.get("preemptionPolicy"),
    )


def _build_profile(spec: dict) -> PodProfile:
    cpu, mem = pod_requests(spec)
    nz_cpu, nz_mem = pod_requests(spec, nonzero=True)
    na = (spec.get("affinity") or {}).get("nodeAffinity")
    return PodProfile(
        cpu=cpu, memory=mem, nonzero_cpu=nz_cpu, nonzero_memory=nz_mem,
        host_ports=_host_ports(spec), tolerations=_tolerations(spec),
        affinity=_parse_affinity(spec),
        placement_key=(repr(spec.get("tolerations")), repr(spec.get("nodeSelector")), repr(na)),
        preempt_never=spec.get("preemptionPolicy") == "Never",
        extra=extra_requests(spec),
    )


def _read_objects(spec: dict) -> tuple:
    """The parts of ``spec`` that :func:`template_key` reads (whole containers)."""
    get = spec.get
    return (get("containers"), get("initContainers"), get("tolerations"), get("overhead"),
            get("nodeSelector"), (get("affinity") or {}).get("nodeAffinity"),
            get("preemptionPolicy"))


def _snapshot(obj: Any) -> Any:
    """A deep copy of nested dicts, lists and tuples (other values are shared)."""
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_snapshot(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_snapshot(v) for v in obj)
    return obj


class ProfileCache:
    """Profiles by template key, bounded so odd one-off pods cannot fill memory.

    Pods stamped from one template share their containers list (stored
    objects are never changed in place), so before building the template key
    the cache looks the pod up by the identity of that list (an entry holds
    the list, so its id cannot be reused while the entry exists) and takes the
    entry's profile if what :func:`template_key` reads still equals the deep
    copy kept when the entry was made: a pod changed in place since (by a
    caller outside the simulator) takes the slow way. Equal is not quite
    "same repr": an in-place change to an equal value of another type (``1``
    to ``1.0``) goes unnoticed; it gives the same profile, except ``True`` for
    a quantity, which the slow way rejects.

    Example:
        >>> cache = ProfileCache()
        >>> pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}}
        >>> cache.get(pod).cpu, cache.get(pod) is cache.get(pod)
        (1000, True)
        >>> pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "2"
        >>> cache.get(pod).cpu
        2000
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: dict[tuple, PodProfile] = {}
        # id of spec.containers -> (spec.containers, a deep copy of
        # _read_objects(spec), profile).
        self._by_identity: dict[int, tuple[Any, tuple, PodProfile]] = {}

    def get(self, pod: dict) -> PodProfile:
        """The profile of ``pod`` (a Pod object dict)."""
        if not isinstance(pod, dict):
            raise Invalid(f"a pod must be a Pod object dict; got {type(pod).__name__}")
        spec = pod.get("spec") or {}
        try:
            objs: tuple | None = _read_objects(spec)
        except Exception:  # not a well-formed spec: the slow way says what is wrong
            objs = None
        if objs is not None:
            containers = objs[0]
            hit = self._by_identity.get(id(containers))
            if hit is not None and hit[0] is containers and hit[1] == objs:
                return hit[2]
        key = template_key(spec)
        prof = self._items.get(key)
        if prof is None:
            prof = _build_profile(spec)
            if len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = prof
        if objs is not None:
            if len(self._by_identity) >= self._size:
                self._by_identity.pop(next(iter(self._by_identity)))
            self._by_identity[id(containers)] = (containers, _snapshot(objs), prof)
        return prof


_DEFAULT_CACHE = ProfileCache()


def profile_of(pod: dict[str, Any]) -> PodProfile:
    """The :class:`PodProfile` of a Pod object dict (cached by template)."""
    return _DEFAULT_CACHE.get(pod)
