"""Label selectors, pod affinity terms and topology spread constraints, parsed.

What InterPodAffinity and PodTopologySpread read from a pod, parsed once:

- :class:`Selector`: ``metav1.LabelSelectorAsSelector`` (k8s.io/apimachinery
  pkg/apis/meta/v1/helpers.go). A missing selector (``nil``) selects nothing;
  an empty one (``{}``) selects everything. ``matchLabels`` are ``In`` with
  one value.
- :class:`AffinityTerm`: ``fwk.AffinityTerm`` (pkg/scheduler/framework/types.go
  ``newAffinityTerm``): the namespaces (the pod's own when the term names
  none and has no ``namespaceSelector``), the namespace selector, the label
  selector and the topology key. ``matchLabelKeys`` / ``mismatchLabelKeys``
  (KEP-3633, GA) are merged into the label selector as ``In`` / ``NotIn`` the
  pod's own value of each key, as kube-apiserver does when the pod is created
  (pkg/registry/core/pod/strategy.go ``applyMatchLabelKeysAndMismatchLabelKeys``;
  nothing is merged into a term without a label selector).
- :class:`PodAffinity`: the four lists of a pod (required and preferred,
  affinity and anti-affinity), as ``PodInfo`` keeps them.
- :class:`SpreadConstraint`: one ``topologySpreadConstraints`` entry with the
  defaults of podtopologyspread/common.go ``filterTopologySpreadConstraints``:
  minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore, and
  ``matchLabelKeys`` merged into the selector.

Example:
    >>> s = Selector.parse({"matchLabels": {"app": "web"},
    ...                     "matchExpressions": [{"key": "tier", "operator": "Exists"}]})
    >>> s.matches({"app": "web", "tier": "front"}), s.matches({"app": "web"})
    (True, False)
    >>> Selector.parse(None).matches({}), Selector.parse({}).matches({})
    (False, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Selector", "AffinityTerm", "PodAffinity", "SpreadConstraint", "pod_affinity_of",
           "spread_constraints_of", "NO_AFFINITY", "NOTHING", "EVERYTHING"]

_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Selector:
    """A parsed label selector: requirements ANDed; ``nothing`` selects no object.

    Attributes:
        requirements: ``(key, operator, values)`` with operator In, NotIn,
            Exists or DoesNotExist, sorted (equal selectors are equal tuples).
        nothing: ``labels.Nothing()`` (a missing or invalid selector).
    """

    requirements: tuple[tuple[str, str, frozenset[str]], ...] = ()
    nothing: bool = False

    @staticmethod
    def parse(raw: Mapping | None) -> Selector:
        """``LabelSelectorAsSelector``: None selects nothing, ``{}`` everything."""
        if raw is None:
            return NOTHING
        reqs: list[tuple[str, str, frozenset[str]]] = []
        for key, val in (raw.get("matchLabels") or {}).items():
            reqs.append((str(key), "In", frozenset((str(val),))))
        for expr in raw.get("matchExpressions") or ():
            op = expr.get("operator")
            values = frozenset(str(v) for v in expr.get("values") or ())
            if op not in _OPS or ((op in ("In", "NotIn")) != bool(values)):
                return NOTHING  # upstream: an error; the API server rejects such pods
            reqs.append((str(expr.get("key", "")), op, values))
        return Selector(tuple(sorted(reqs, key=lambda r: (r[0], r[1], sorted(r[2])))))

    @staticmethod
    def of_set(labels: Mapping[str, str]) -> Selector:
        """``labels.SelectorFromSet``: each label must be equal."""
        return Selector.parse({"matchLabels": dict(labels)})

    def add(self, *reqs: tuple[str, str, frozenset[str]]) -> Selector:
        """This selector with more requirements (``Selector.Add``)."""
        if self.nothing:
            return self
        merged = self.requirements + tuple(reqs)
        return Selector(tuple(sorted(set(merged), key=lambda r: (r[0], r[1], sorted(r[2])))))

    @property
    def empty(self) -> bool:
        """``Selector.Empty()``: no requirements (it selects everything)."""
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected."""
        if self.nothing:
            return False
        labels = labels or {}
        for key, op, values in self.requirements:
            if op == "In":
                if labels.get(key) not in values or key not in labels:
                    return False
            elif op == "NotIn":
                if key in labels and labels[key] in values:
                    return False
            elif op == "Exists":
                if key not in labels:
                    return False
            elif key in labels:  # DoesNotExist
                return False
        return True

    def anchor(self) -> tuple[str, str] | None:
        """A label ``(key, value)`` every selected object has, if there is one."""
        for key, op, values in self.requirements:
            if op == "In" and len(values) == 1:
                return key, next(iter(values))
        return None


NOTHING = Selector(nothing=True)
EVERYTHING = Selector()


@dataclass(frozen=True)
class AffinityTerm:
    """One pod (anti-)affinity term (``fwk.AffinityTerm``).

    Attributes:
        namespaces: the namespaces named (or the pod's own).
        namespace_selector: namespaces selected by their labels.
        selector: which pods the term is about.
        topology_key: the node label that defines "together".
    """

    namespaces: frozenset[str]
    namespace_selector: Selector
    selector: Selector
    topology_key: str

    def matches(self, namespace: str, labels: Mapping[str, str] | None,
                namespace_labels: Mapping[str, str] | None) -> bool:
        """``AffinityTerm.Matches``: the pod's namespace is in scope and its labels match."""
        if namespace in self.namespaces or self.namespace_selector.matches(namespace_labels):
            return self.selector.matches(labels)
        return False

    def merged(self, namespaces_selected: frozenset[str]) -> AffinityTerm:
        """``mergeAffinityTermNamespacesIfNotEmpty``: selected namespaces become names.

        Only for a selector that is neither everything nor nothing; the
        caller lists the namespaces it selects.
        """
        return AffinityTerm(self.namespaces | namespaces_selected, NOTHING, self.selector,
                            self.topology_key)


@dataclass(frozen=True)
class PodAffinity:
    """A pod's ``podAffinity`` and ``podAntiAffinity``, parsed (as ``PodInfo`` keeps them)."""

    required_affinity: tuple[AffinityTerm, ...] = ()
    required_anti_affinity: tuple[AffinityTerm, ...] = ()
    preferred_affinity: tuple[tuple[int, AffinityTerm], ...] = ()
    preferred_anti_affinity: tuple[tuple[int, AffinityTerm], ...] = ()

    @property
    def any(self) -> bool:
        """Whether the pod has any term (``PodsWithAffinity`` lists it)."""
        return bool(self.required_affinity or self.required_anti_affinity
                    or self.preferred_affinity or self.preferred_anti_affinity)


NO_AFFINITY = PodAffinity()


def _term(raw: Mapping, namespace: str, labels: Mapping[str, str]) -> AffinityTerm:
    raw_selector = raw.get("labelSelector")
    selector = Selector.parse(raw_selector)
    if raw_selector is not None:
        # strategy.go applyMatchLabelKeysAndMismatchLabelKeys (at pod creation).
        extra = [(str(k), "In", frozenset((labels[k],)))
                 for k in raw.get("matchLabelKeys") or () if k in labels]
        extra += [(str(k), "NotIn", frozenset((labels[k],)))
                  for k in raw.get("mismatchLabelKeys") or () if k in labels]
        if extra:
            selector = selector.add(*extra)
    names = raw.get("namespaces") or ()
    raw_ns_selector = raw.get("namespaceSelector")
    # types.go getNamespacesFromPodAffinityTerm.
    if not names and raw_ns_selector is None:
        namespaces = frozenset((namespace,))
    else:
        namespaces = frozenset(str(n) for n in names)
    return AffinityTerm(namespaces, Selector.parse(raw_ns_selector), selector,
                        str(raw.get("topologyKey") or ""))


@lru_cache(maxsize=4096)
def _parse_affinity(text: str, namespace: str, labels: tuple[tuple[str, str], ...]
                    ) -> PodAffinity:
    import json

    aff = json.loads(text)
    pod_labels = dict(labels)
    out: dict[str, list] = {"required_affinity": [], "required_anti_affinity": [],
                            "preferred_affinity": [], "preferred_anti_affinity": []}
    for field, suffix in (("podAffinity", "affinity"), ("podAntiAffinity", "anti_affinity")):
        part = aff.get(field) or {}
        for raw in part.get("requiredDuringSchedulingIgnoredDuringExecution") or ():
            out[f"required_{suffix}"].append(_term(raw, namespace, pod_labels))
        for raw in part.get("preferredDuringSchedulingIgnoredDuringExecution") or ():
            term = _term(raw.get("podAffinityTerm") or {}, namespace, pod_labels)
            out[f"preferred_{suffix}"].append((int(raw.get("weight") or 0), term))
    return PodAffinity(**{k: tuple(v) for k, v in out.items()})


def pod_affinity_of(pod: Mapping) -> PodAffinity:
    """The parsed pod affinity of a Pod object dict (:data:`NO_AFFINITY` when none)."""
    aff = (pod.get("spec") or {}).get("affinity")
    if not aff or not (aff.get("podAffinity") or aff.get("podAntiAffinity")):
        return NO_AFFINITY
    import json

    meta = pod.get("metadata") or {}
    part = {k: aff[k] for k in ("podAffinity", "podAntiAffinity") if aff.get(k)}
    labels = meta.get("labels") or {}
    return _parse_affinity(json.dumps(part, sort_keys=True),
                           str(meta.get("namespace") or "default"),
                           tuple(sorted((str(k), str(v)) for k, v in labels.items())))


@dataclass(frozen=True)
class SpreadConstraint:
    """One topology spread constraint (``topologySpreadConstraint``, common.go).

    Attributes:
        max_skew: ``maxSkew``.
        topology_key: ``topologyKey``.
        selector: ``labelSelector`` with ``matchLabelKeys`` merged in.
        min_domains: ``minDomains`` (1 when unset).
        honor_node_affinity: ``nodeAffinityPolicy`` Honor (the default).
        honor_node_taints: ``nodeTaintsPolicy`` Honor (default Ignore).
    """

    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int = 1
    honor_node_affinity: bool = True
    honor_node_taints: bool = False


def spread_constraints_of(pod: Mapping, action: str) -> tuple[SpreadConstraint, ...]:
    """The pod's own constraints whose ``whenUnsatisfiable`` is ``action``.

    ``filterTopologySpreadConstraints`` (podtopologyspread/common.go).
    """
    raw_list = (pod.get("spec") or {}).get("topologySpreadConstraints") or ()
    labels = (pod.get("metadata") or {}).get("labels") or {}
    out = []
    for c in raw_list:
        if (c.get("whenUnsatisfiable") or "DoNotSchedule") != action:
            continue
        selector = Selector.parse(c.get("labelSelector"))
        keys = {str(k): str(labels[k]) for k in c.get("matchLabelKeys") or () if k in labels}
        if keys:
            # mergeLabelSetWithSelector
            selector = Selector.of_set(keys).add(*selector.requirements) \
                if not selector.nothing else selector
        out.append(SpreadConstraint(
            int(c.get("maxSkew") or 1), str(c.get("topologyKey") or ""), selector,
            int(c["minDomains"]) if c.get("minDomains") is not None else 1,
            (c.get("nodeAffinityPolicy") or "Honor") == "Honor",
            (c.get("nodeTaintsPolicy") or "Ignore") == "Honor"))
    return tuple(out)
