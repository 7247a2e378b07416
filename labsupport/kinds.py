"""Resource types: kinds, plurals, short names and scope, in one place.

Kubernetes names one type of object in several ways: ``Deployment`` (the
kind), ``deployments`` (the plural, used in URLs and etcd keys),
``deployment`` (the singular) and ``deploy`` (the short name used by
kubectl). Every part of labsupport resolves those names here.

Example:
    >>> from labsupport.kinds import resource_type, parse_ref
    >>> rt = resource_type("deploy")
    >>> rt.kind, rt.plural, rt.api_version, rt.namespaced
    ('Deployment', 'deployments', 'apps/v1', True)
    >>> parse_ref("svc/web")
    (ResourceType(kind='Service', plural='services'), 'web')
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field

from labsupport.errors import Invalid

__all__ = ["ResourceType", "resource_type", "type_for_kind", "parse_ref", "known_types", "ref_of"]


@dataclass(frozen=True)
class ResourceType:
    """One type of Kubernetes object.

    Attributes:
        kind: the CamelCase kind, e.g. ``"Deployment"``.
        plural: the lower-case plural used in URLs and etcd keys.
        api_version: the preferred ``group/version`` (``"v1"`` for the core group).
        namespaced: True for namespaced objects, False for cluster-scoped ones.
        short_names: kubectl's short names.
        etcd_prefix: the resource segment of the etcd key (``"minions"`` for
            nodes, as in real clusters).
    """

    kind: str
    plural: str
    api_version: str = field(default="v1", repr=False)
    namespaced: bool = field(default=True, repr=False)
    short_names: tuple[str, ...] = field(default=(), repr=False)
    etcd_prefix: str = field(default="", repr=False)

    @property
    def singular(self) -> str:
        """The lower-case singular name, e.g. ``"deployment"``."""
        return self.kind.lower()

    @property
    def group(self) -> str:
        """The API group, ``""`` for the core group."""
        return self.api_version.rpartition("/")[0]

    @property
    def registry(self) -> str:
        """The resource segment of etcd keys, e.g. ``"deployments"``."""
        if self.etcd_prefix:
            return self.etcd_prefix
        # Real clusters key objects of named groups by group/plural, e.g.
        # /registry/horizontalpodautoscalers/... for autoscaling; core and
        # apps objects use the bare plural. Keep the bare plural for all.
        return self.plural


def _t(kind: str, plural: str, api: str = "v1", namespaced: bool = True,
       short: tuple[str, ...] = (), etcd: str = "") -> ResourceType:
    return ResourceType(kind, plural, api, namespaced, short, etcd)


# Every built-in type of Kubernetes 1.37 (labsupport.version), grouped by API
# group, with its preferred apiVersion, scope and short names as `kubectl
# api-resources` lists them. Each is listed at its most stable version in the
# 1.37 API (tests/test_kinds.py checks this against the release's schema),
# whether or not a default cluster serves it: beta and alpha APIs stay off
# until a cluster enables them, but the names still resolve.
_RBAC = "rbac.authorization.k8s.io/v1"
_STORAGE = "storage.k8s.io/v1"
_ADMISSION = "admissionregistration.k8s.io/v1"
_FLOW = "flowcontrol.apiserver.k8s.io/v1"
_AUTHZ = "authorization.k8s.io/v1"
_DRA = "resource.k8s.io/v1"
_SCHED = "scheduling.k8s.io/v1beta1"
_TYPES: tuple[ResourceType, ...] = (
    # core (v1)
    _t("Pod", "pods", short=("po",)),
    _t("Service", "services", short=("svc",), etcd="services/specs"),
    _t("Endpoints", "endpoints", short=("ep",), etcd="services/endpoints"),
    _t("Namespace", "namespaces", namespaced=False, short=("ns",)),
    _t("Node", "nodes", namespaced=False, short=("no",), etcd="minions"),
    _t("ConfigMap", "configmaps", short=("cm",)),
    _t("Secret", "secrets"),
    _t("ServiceAccount", "serviceaccounts", short=("sa",)),
    _t("PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",)),
    _t("PersistentVolume", "persistentvolumes", namespaced=False, short=("pv",)),
    _t("ResourceQuota", "resourcequotas", short=("quota",)),
    _t("LimitRange", "limitranges", short=("limits",)),
    _t("Event", "events", short=("ev",)),
    _t("ReplicationController", "replicationcontrollers", short=("rc",),
       etcd="controllers"),
    _t("PodTemplate", "podtemplates"),
    _t("Binding", "bindings"),
    _t("ComponentStatus", "componentstatuses", namespaced=False, short=("cs",)),
    # workloads
    _t("Deployment", "deployments", "apps/v1", short=("deploy",)),
    _t("ReplicaSet", "replicasets", "apps/v1", short=("rs",)),
    _t("StatefulSet", "statefulsets", "apps/v1", short=("sts",)),
    _t("DaemonSet", "daemonsets", "apps/v1", short=("ds",)),
    _t("ControllerRevision", "controllerrevisions", "apps/v1"),
    _t("Job", "jobs", "batch/v1"),
    _t("CronJob", "cronjobs", "batch/v1", short=("cj",)),
    _t("HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling/v2",
       short=("hpa",)),
    _t("PodDisruptionBudget", "poddisruptionbudgets", "policy/v1", short=("pdb",)),
    _t("PriorityClass", "priorityclasses", "scheduling.k8s.io/v1", namespaced=False,
       short=("pc",)),
    # workload-aware (gang) scheduling, beta in 1.37
    _t("Workload", "workloads", _SCHED),
    _t("PodGroup", "podgroups", _SCHED),
    _t("CompositePodGroup", "compositepodgroups", "scheduling.k8s.io/v1alpha3"),
    _t("EvictionRequest", "evictionrequests", "lifecycle.k8s.io/v1alpha1"),
    _t("RuntimeClass", "runtimeclasses", "node.k8s.io/v1", namespaced=False),
    # networking
    _t("Ingress", "ingresses", "networking.k8s.io/v1", short=("ing",)),
    _t("IngressClass", "ingressclasses", "networking.k8s.io/v1", namespaced=False),
    _t("NetworkPolicy", "networkpolicies", "networking.k8s.io/v1", short=("netpol",)),
    _t("IPAddress", "ipaddresses", "networking.k8s.io/v1", namespaced=False,
       short=("ip",)),
    _t("ServiceCIDR", "servicecidrs", "networking.k8s.io/v1", namespaced=False),
    _t("EndpointSlice", "endpointslices", "discovery.k8s.io/v1"),
    # storage
    _t("StorageClass", "storageclasses", _STORAGE, namespaced=False, short=("sc",)),
    _t("CSIDriver", "csidrivers", _STORAGE, namespaced=False),
    _t("CSINode", "csinodes", _STORAGE, namespaced=False),
    _t("CSIStorageCapacity", "csistoragecapacities", _STORAGE),
    _t("VolumeAttachment", "volumeattachments", _STORAGE, namespaced=False),
    _t("VolumeAttributesClass", "volumeattributesclasses", _STORAGE,
       namespaced=False, short=("vac",)),
    # access control
    _t("Role", "roles", _RBAC),
    _t("RoleBinding", "rolebindings", _RBAC),
    _t("ClusterRole", "clusterroles", _RBAC, namespaced=False),
    _t("ClusterRoleBinding", "clusterrolebindings", _RBAC, namespaced=False),
    _t("TokenReview", "tokenreviews", "authentication.k8s.io/v1", namespaced=False),
    _t("SelfSubjectReview", "selfsubjectreviews", "authentication.k8s.io/v1",
       namespaced=False),
    _t("SubjectAccessReview", "subjectaccessreviews", _AUTHZ, namespaced=False),
    _t("SelfSubjectAccessReview", "selfsubjectaccessreviews", _AUTHZ, namespaced=False),
    _t("SelfSubjectRulesReview", "selfsubjectrulesreviews", _AUTHZ, namespaced=False),
    _t("LocalSubjectAccessReview", "localsubjectaccessreviews", _AUTHZ),
    _t("CertificateSigningRequest", "certificatesigningrequests", "certificates.k8s.io/v1",
       namespaced=False, short=("csr",)),
    _t("ClusterTrustBundle", "clustertrustbundles", "certificates.k8s.io/v1",
       namespaced=False),
    _t("PodCertificateRequest", "podcertificaterequests", "certificates.k8s.io/v1"),
    # extending and running the API server
    _t("CustomResourceDefinition", "customresourcedefinitions",
       "apiextensions.k8s.io/v1", namespaced=False, short=("crd", "crds")),
    _t("APIService", "apiservices", "apiregistration.k8s.io/v1", namespaced=False),
    _t("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", _ADMISSION,
       namespaced=False),
    _t("MutatingWebhookConfiguration", "mutatingwebhookconfigurations", _ADMISSION,
       namespaced=False),
    _t("ValidatingAdmissionPolicy", "validatingadmissionpolicies", _ADMISSION,
       namespaced=False),
    _t("ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", _ADMISSION,
       namespaced=False),
    _t("MutatingAdmissionPolicy", "mutatingadmissionpolicies", _ADMISSION,
       namespaced=False),
    _t("MutatingAdmissionPolicyBinding", "mutatingadmissionpolicybindings", _ADMISSION,
       namespaced=False),
    _t("FlowSchema", "flowschemas", _FLOW, namespaced=False),
    _t("PriorityLevelConfiguration", "prioritylevelconfigurations", _FLOW, namespaced=False),
    _t("Lease", "leases", "coordination.k8s.io/v1"),
    _t("LeaseCandidate", "leasecandidates", "coordination.k8s.io/v1beta1"),
    _t("StorageVersion", "storageversions", "internal.apiserver.k8s.io/v1alpha1",
       namespaced=False),
    _t("StorageVersionMigration", "storageversionmigrations",
       "storagemigration.k8s.io/v1", namespaced=False),
    # dynamic resource allocation
    _t("DeviceClass", "deviceclasses", _DRA, namespaced=False),
    _t("ResourceSlice", "resourceslices", _DRA, namespaced=False),
    _t("ResourceClaim", "resourceclaims", _DRA),
    _t("ResourceClaimTemplate", "resourceclaimtemplates", _DRA),
    _t("DeviceTaintRule", "devicetaintrules", _DRA, namespaced=False),
    _t("ResourcePoolStatusRequest", "resourcepoolstatusrequests", "resource.k8s.io/v1alpha3",
       namespaced=False),
)

_BY_NAME: dict[str, ResourceType] = {}
for _rt in _TYPES:
    for _name in (_rt.kind, _rt.kind.lower(), _rt.plural, *_rt.short_names):
        _BY_NAME.setdefault(_name.lower(), _rt)


def known_types() -> tuple[ResourceType, ...]:
    """All resource types labsupport knows by name."""
    return _TYPES


def resource_type(name: str) -> ResourceType:
    """Resolve a kind, plural, singular or short name (any case).

    Args:
        name: e.g. ``"Deployment"``, ``"deployments"``, ``"deploy"``.

    Returns:
        The ResourceType.

    Raises:
        Invalid: the name is not a known resource; the message suggests the
            closest known names.

    Example:
        >>> resource_type("PO").kind
        'Pod'
        >>> resource_type("deploymnet")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: unknown resource type "deploymnet"; did you mean deployment?
    """
    key = name.strip().lower()
    rt = _BY_NAME.get(key)
    if rt is not None:
        return rt
    group_split = key.split(".", 1)  # "deployments.apps" as kubectl accepts
    if len(group_split) == 2 and group_split[0] in _BY_NAME:
        return _BY_NAME[group_split[0]]
    close: list[str] = []
    for match in difflib.get_close_matches(key, list(_BY_NAME), n=6, cutoff=0.7):
        if _BY_NAME[match].singular not in close:
            close.append(_BY_NAME[match].singular)
    hint = f"; did you mean {' or '.join(close[:3])}?" if close else (
        "; use a kind such as Deployment, a plural such as deployments, "
        "or a short name such as deploy")
    raise Invalid(f'unknown resource type "{name}"{hint}')


@functools.lru_cache(maxsize=1024)
def type_for_kind(kind: str, api_version: str | None = None) -> ResourceType:
    """The ResourceType of an object's ``kind``, or a generic one for other kinds.

    Every built-in kind is listed, with its scope. Other kinds (custom
    resources) are still stored: they get a lower-case plural and are
    namespaced. Cached: the simulator calls this for every object it stores.

    Example:
        >>> type_for_kind("Widget", "example.com/v1").plural
        'widgets'
    """
    rt = _BY_NAME.get(kind.lower())
    if rt is not None and rt.kind == kind:
        return rt
    low = kind.lower()
    if low.endswith(("s", "x", "ch", "sh")):
        plural = low + "es"
    elif low.endswith("y") and low[-2:-1] not in "aeiou":
        plural = low[:-1] + "ies"
    else:
        plural = low + "s"
    return ResourceType(kind, plural, api_version or "v1", True, ())


def parse_ref(ref: str) -> tuple[ResourceType, str]:
    """Split ``"deployment/web"`` (any name form of the type) into type and name.

    Raises:
        Invalid: the reference has no ``/`` or names an unknown type.

    Example:
        >>> rt, name = parse_ref("deploy/web")
        >>> rt.kind, name
        ('Deployment', 'web')
    """
    if not isinstance(ref, str) or "/" not in ref:
        raise Invalid(
            f"expected a reference like \"deployment/web\" (type/name), got {ref!r}")
    type_name, _, name = ref.partition("/")
    if not name or "/" in name:
        raise Invalid(f"expected a reference like \"deployment/web\" (type/name), got {ref!r}")
    return resource_type(type_name), name


def ref_of(obj: dict) -> str:
    """The ``kind/name`` reference of an object dict, lower-case as kubectl prints.

    Example:
        >>> ref_of({"kind": "Deployment", "metadata": {"name": "web"}})
        'deployment/web'
    """
    return f"{obj.get('kind', '?').lower()}/{obj.get('metadata', {}).get('name', '?')}"
