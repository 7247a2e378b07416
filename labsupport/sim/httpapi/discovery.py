"""Discovery: how kubectl learns which resources the server serves.

Before anything else kubectl asks ``/api`` and ``/apis`` what groups,
versions and resources exist, their scope, verbs and short names (that is
how ``kubectl get deploy`` finds ``/apis/apps/v1/.../deployments``). Since
Kubernetes 1.30 it asks for everything at once, the *aggregated discovery*
document ``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``, and falls back
to one request per group-version when the server answers the older shapes.
Both are served here (``apiserver/pkg/endpoints/discovery``).

The simulator serves the stable (``v1``, ``v2``) version of every built-in
type in :mod:`labsupport.kinds`, as a kind cluster does with its default
settings (beta and alpha APIs are off by default), plus the custom resources
whose CustomResourceDefinition is stored.

Example:
    >>> import labsupport as ls
    >>> served = served_types(ls.connect(nodes=0))
    >>> served[("apps", "v1", "deployments")].kind
    'Deployment'
    >>> ("scheduling.k8s.io", "v1beta1", "workloads") in served
    False
"""

from __future__ import annotations

import re
from typing import Any

from labsupport.kinds import ResourceType, known_types

__all__ = ["served_types", "api_versions", "api_group_list", "resource_list",
           "aggregated", "AGGREGATED_CONTENT_TYPE", "SUBRESOURCES"]

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
# Types one cannot store: review requests (create only), or served as a subresource.
_NOT_STORED = {"Binding", "TokenReview", "SelfSubjectReview", "SubjectAccessReview",
               "SelfSubjectAccessReview", "SelfSubjectRulesReview", "LocalSubjectAccessReview",
               "ComponentStatus"}
# `kubectl get all` lists the resources in the "all" category.
_ALL = {"Pod", "Service", "ReplicationController", "Deployment", "ReplicaSet", "StatefulSet",
        "DaemonSet", "Job", "CronJob", "HorizontalPodAutoscaler"}
_SCALE = ("autoscaling", "v1", "Scale")

#: Subresources served: kind -> [(name, response (group, version, kind), verbs)].
SUBRESOURCES: dict[str, list[tuple[str, tuple[str, str, str], list[str]]]] = {
    "Pod": [("status", ("", "v1", "Pod"), ["get", "patch", "update"]),
            ("log", ("", "v1", "Pod"), ["get"]),
            ("binding", ("", "v1", "Binding"), ["create"]),
            ("eviction", ("policy", "v1", "Eviction"), ["create"]),
            ("exec", ("", "v1", "PodExecOptions"), ["create", "get"]),
            ("attach", ("", "v1", "PodAttachOptions"), ["create", "get"]),
            ("portforward", ("", "v1", "PodPortForwardOptions"), ["create", "get"])],
    "Deployment": [("status", ("apps", "v1", "Deployment"), ["get", "patch", "update"]),
                   ("scale", _SCALE, ["get", "patch", "update"])],
    "ReplicaSet": [("status", ("apps", "v1", "ReplicaSet"), ["get", "patch", "update"]),
                   ("scale", _SCALE, ["get", "patch", "update"])],
    "StatefulSet": [("status", ("apps", "v1", "StatefulSet"), ["get", "patch", "update"]),
                    ("scale", _SCALE, ["get", "patch", "update"])],
    "ReplicationController": [("status", ("", "v1", "ReplicationController"),
                               ["get", "patch", "update"]),
                              ("scale", _SCALE, ["get", "patch", "update"])],
}
_STATUS_ONLY = ("Node", "Service", "Namespace", "DaemonSet", "Job", "CronJob",
                "HorizontalPodAutoscaler", "PodDisruptionBudget", "PersistentVolume",
                "PersistentVolumeClaim", "ResourceQuota")


def subresources_of(rt: ResourceType) -> list[tuple[str, tuple[str, str, str], list[str]]]:
    """The subresources of a type (``status`` for every kind with a status)."""
    if rt.kind in SUBRESOURCES:
        return SUBRESOURCES[rt.kind]
    if rt.kind in _STATUS_ONLY:
        group, _, version = rt.api_version.rpartition("/")
        return [("status", (group, version, rt.kind), ["get", "patch", "update"])]
    return []


def served_types(sim: Any) -> dict[tuple[str, str, str], ResourceType]:
    """(group, version, plural) -> type, for every resource the simulator serves."""
    out = {}
    for rt in (*known_types(), *sim.api.custom_types.values()):
        group, _, version = rt.api_version.rpartition("/")
        custom = rt.kind in sim.api.custom_types
        if rt.kind in _NOT_STORED or (not custom and not re.fullmatch(r"v\d+", version)):
            continue
        out[(group, version, rt.plural)] = rt
    return out


def _groups(sim: Any) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for group, version, _ in served_types(sim):
        versions = groups.setdefault(group, [])
        if version not in versions:
            versions.append(version)
    for versions in groups.values():
        versions.sort(key=lambda v: -int(re.sub(r"\D.*", "", v[1:]) or 0))
    return groups


def api_versions(host: str) -> dict:
    """``/api``: the core group's versions (``APIVersions``)."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def api_group_list(sim: Any) -> dict:
    """``/apis``: every named group with its versions (``APIGroupList``)."""
    groups = []
    for name, versions in sorted(_groups(sim).items()):
        if not name:
            continue
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    groups.append(_metrics_group())
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _metrics_group() -> dict:
    """metrics.k8s.io, served from the simulator's metrics (:mod:`.metricsapi`)."""
    from labsupport.sim.httpapi import metricsapi

    entry = {"groupVersion": f"{metricsapi.GROUP}/{metricsapi.VERSION}",
             "version": metricsapi.VERSION}
    return {"name": metricsapi.GROUP, "versions": [entry], "preferredVersion": entry}


def api_group(sim: Any, group: str) -> dict | None:
    """``/apis/<group>``: one group (``APIGroup``), or None when not served."""
    if group == "metrics.k8s.io":
        return {"kind": "APIGroup", "apiVersion": "v1", **_metrics_group()}
    versions = _groups(sim).get(group)
    if not group or not versions:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
            "preferredVersion": entries[0]}


def _verbs(rt: ResourceType) -> list[str]:
    """Every stored type takes every verb, but Namespaces have no ``deletecollection``."""
    return [v for v in _VERBS if not (rt.kind == "Namespace" and v == "deletecollection")]


def resource_list(sim: Any, group: str, version: str) -> dict | None:
    """``/api/v1`` or ``/apis/<group>/<version>`` (``APIResourceList``), or None."""
    if (group, version) == ("metrics.k8s.io", "v1beta1"):
        from labsupport.sim.httpapi import metricsapi

        return metricsapi.resource_list()
    resources = []
    for (g, v, plural), rt in sorted(served_types(sim).items()):
        if (g, v) != (group, version):
            continue
        entry: dict = {"name": plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                       "kind": rt.kind, "verbs": _verbs(rt)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.kind in _ALL:
            entry["categories"] = ["all"]
        resources.append(entry)
        for sub, (rg, rv, rkind), verbs in subresources_of(rt):
            item = {"name": f"{plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                    "kind": rkind, "verbs": verbs}
            if (rg, rv) != (g, v):
                item["group"], item["version"] = rg, rv
            resources.append(item)
    if not resources:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


def aggregated(sim: Any, core: bool) -> dict:
    """The ``APIGroupDiscoveryList`` of ``/api`` (``core``) or of ``/apis``."""
    items = []
    for name, versions in sorted(_groups(sim).items()):
        if (name == "") != core:
            continue
        entries = []
        for version in versions:
            resources = []
            for (g, v, plural), rt in sorted(served_types(sim).items()):
                if (g, v) != (name, version):
                    continue
                entry: dict = {"resource": plural,
                               "responseKind": {"group": g, "version": v, "kind": rt.kind},
                               "scope": "Namespaced" if rt.namespaced else "Cluster",
                               "singularResource": rt.singular, "verbs": _verbs(rt)}
                if rt.short_names:
                    entry["shortNames"] = list(rt.short_names)
                if rt.kind in _ALL:
                    entry["categories"] = ["all"]
                subs = [{"subresource": sub,
                         "responseKind": {"group": rg, "version": rv, "kind": rkind},
                         "verbs": verbs} for sub, (rg, rv, rkind), verbs in subresources_of(rt)]
                if subs:
                    entry["subresources"] = subs
                resources.append(entry)
            entries.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": name, "creationTimestamp": None},
                      "versions": entries})
    if not core:
        from labsupport.sim.httpapi import metricsapi

        items.append(metricsapi.aggregated_group())
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}
