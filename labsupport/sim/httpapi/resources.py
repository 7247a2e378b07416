"""The verbs on resources: get, list, create, update, delete and subresources.

Each function takes the simulated cluster, the request's route and type,
its query and body, and returns ``(HTTP code, JSON body)``, or raises an
:class:`~labsupport.sim.httpapi.status.ApiStatus`. They call the simulated
API server exactly as the simulator's own ``kubectl`` calls do, so the same
defaulting, admission and validation apply, and map its errors to the
Status a real server answers (:func:`~labsupport.sim.httpapi.status.status_for`).

The caller holds the cluster's lock (see :mod:`labsupport.sim.httpapi.serving`).

Example:
    >>> import labsupport as ls
    >>> from labsupport.sim.httpapi.routes import parse
    >>> c = ls.connect(nodes=1)
    >>> route = parse("/api/v1/namespaces/default/configmaps")
    >>> code, made = create(c, route, resolve(c, route),
    ...                     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    >>> code, made["metadata"]["namespace"]
    (201, 'default')
    >>> code, page = list_objects(c, route, resolve(c, route), {})
    >>> code, page["kind"], [o["metadata"]["name"] for o in page["items"]]
    (200, 'ConfigMapList', ['x'])
"""

from __future__ import annotations

from typing import Any

from labsupport.errors import Invalid, InvalidManifest, LabSupportError
from labsupport.kinds import ResourceType
from labsupport.selectors import Selector
from labsupport.sim.clock import EPOCH
from labsupport.sim.httpapi.discovery import served_types, subresources_of
from labsupport.sim.httpapi.routes import Route
from labsupport.sim.httpapi.selection import FieldSelector, continue_token, read_continue
from labsupport.sim.httpapi.status import ApiStatus, not_found, status, status_for, success
from labsupport.sim.httpapi.tables import table
from labsupport.sim.jsoncopy import json_copy

__all__ = ["resolve", "list_objects", "get_object", "create", "update", "delete",
           "get_status", "update_status", "get_scale", "update_scale", "read_log", "bind",
           "select", "unix_now", "apply_patch", "patch", "evict", "patch_managed_fields",
           "delete_collection"]


def unix_now(sim: Any) -> float:
    """The simulated time in Unix seconds (for ages in Tables)."""
    return EPOCH + sim.env.now


def resolve(sim: Any, route: Route) -> ResourceType:
    """The served type of a route; a 404 Status when the server has none."""
    rt = served_types(sim).get((route.group, route.version, route.resource))
    if rt is None:
        raise status(404, "NotFound", "the server could not find the requested resource")
    if route.namespace is not None and not rt.namespaced and route.resource != "namespaces":
        raise status(404, "NotFound", "the server could not find the requested resource")
    if route.subresource is not None and route.subresource not in {
            s[0] for s in subresources_of(rt)}:
        raise status(404, "NotFound", "the server could not find the requested resource")
    return rt


def _fail(err: LabSupportError, rt: ResourceType, name: str = "") -> ApiStatus:
    return status_for(err, rt.plural, name, rt.group, rt.kind)


def _namespace(route: Route, rt: ResourceType) -> str | None:
    return route.namespace if rt.namespaced else None


def _wants_table(accept: str) -> bool:
    return "as=Table" in accept


def select(sim: Any, rt: ResourceType, namespace: str | None, query: dict) -> list[dict]:
    """The stored objects a list or watch of ``rt`` selects (read-only dicts)."""
    try:
        labels = Selector.parse(query.get("labelSelector"))
    except Invalid as err:
        raise status(400, "BadRequest", f"unable to parse requirement: {err}") from None
    fields = FieldSelector.parse(query.get("fieldSelector"), rt.kind)
    if rt.kind == "Event":
        objs = list(sim.event_log.objects(namespace))
        if not labels.empty:
            objs = [o for o in objs if labels.matches(o["metadata"].get("labels"))]
    else:
        objs = sim.api.list(rt, namespace, labels)
    if not fields.empty:
        objs = [o for o in objs if fields.matches(o)]
    return objs


def _key(obj: dict) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def _item(obj: dict, custom: bool) -> dict:
    if custom:
        return obj
    # A list of a built-in type leaves kind and apiVersion out of its items.
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def list_objects(sim: Any, route: Route, rt: ResourceType, query: dict,
                 accept: str = "") -> tuple[int, dict]:
    """GET on a collection: a ``<Kind>List`` (or a Table), one page of it with ``limit``."""
    objs = select(sim, rt, _namespace(route, rt), query)
    revision = sim.store.revision
    token = query.get("continue")
    if token:
        revision, last = read_continue(token)
        objs = [o for o in objs if _key(o) > last]
    meta: dict = {"resourceVersion": str(sim.store.revision)}
    limit = query.get("limit")
    if limit:
        try:
            size = int(limit)
        except ValueError:
            raise status(400, "BadRequest", f'invalid limit "{limit}"') from None
        if 0 < size < len(objs):
            objs, rest = objs[:size], len(objs) - size
            meta["continue"] = continue_token(revision, _key(objs[-1]))
            meta["remainingItemCount"] = rest
    if _wants_table(accept):
        return 200, table(objs, rt.kind, unix_now(sim), include_object=query.get(
            "includeObject", "Metadata"), list_meta=meta)
    custom = rt.kind in sim.api.custom_types
    return 200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta,
                 "items": [_item(o, custom) for o in objs]}


def _stored(sim: Any, route: Route, rt: ResourceType) -> dict:
    name = route.name or ""
    if rt.kind == "Event":
        for ev in sim.event_log.objects(route.namespace):
            if ev["metadata"]["name"] == name:
                return ev
        raise not_found(rt.plural, name, rt.group)
    obj = sim.api.get(rt, _namespace(route, rt), name)
    if obj is None:
        raise not_found(rt.plural, name, rt.group)
    if rt.kind == "Lease" and route.namespace == "kube-node-lease" and name in sim.kubelets:
        # Node leases are renewed lazily (controllers/nodelifecycle.py): show the
        # last renewal, as c.get() does.
        obj = sim.get(f"lease/{name}", "kube-node-lease")
    return obj


def get_object(sim: Any, route: Route, rt: ResourceType, query: dict,
               accept: str = "") -> tuple[int, dict]:
    """GET on one object (or its status subresource): the object, or a one-row Table."""
    obj = _stored(sim, route, rt)
    if _wants_table(accept):
        return 200, table([obj], rt.kind, unix_now(sim), include_object=query.get(
            "includeObject", "Metadata"), resource_version=obj["metadata"].get(
                "resourceVersion", ""))
    return 200, obj


def _checked(sim: Any, route: Route, rt: ResourceType, body: Any, full: bool = True) -> dict:
    """The body as an object of ``rt``, checked against the release's schema.

    With ``full=False`` (a partial configuration for server-side apply) only
    the kind, apiVersion, metadata and namespace are checked: the object is
    validated once merged into the live one.
    """
    from labsupport.manifests import load
    from labsupport.sim.workloads import validate_annotations

    if not isinstance(body, dict):
        raise status(400, "BadRequest", "the body of the request must be a JSON object")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if kind != rt.kind or api_version != rt.api_version:
        raise status(400, "BadRequest", f"the API version in the data ({api_version}) does not "
                     f"match the expected API version ({rt.api_version})"
                     if api_version != rt.api_version else
                     f"the kind in the data ({kind}) does not match the expected kind "
                     f"({rt.kind})")
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        raise status(400, "BadRequest", "the object has no metadata")
    if rt.namespaced:
        if meta.get("namespace") and meta["namespace"] != route.namespace:
            raise status(400, "BadRequest", "the namespace of the provided object does not "
                         "match the namespace sent on the request")
        meta["namespace"] = route.namespace
    if not full:
        meta.pop("managedFields", None)
        return body
    custom = {(t.group, k) for k, t in sim.api.custom_types.items()}
    try:
        obj = load(body, custom_kinds=custom)[0]
        validate_annotations(obj)
    except InvalidManifest as err:
        raise _fail(err, rt, meta.get("name") or meta.get("generateName") or "") from None
    obj["metadata"].pop("managedFields", None)
    return obj


def create(sim: Any, route: Route, rt: ResourceType, body: Any,
           query: dict | None = None) -> tuple[int, dict]:
    """POST on a collection: 201 and the stored object."""
    obj = _checked(sim, route, rt, body)
    try:
        return 201, sim.api.create(obj, component="kubectl")
    except LabSupportError as err:
        raise _fail(err, rt, obj["metadata"].get("name", "")) from None


def update(sim: Any, route: Route, rt: ResourceType, body: Any) -> tuple[int, dict]:
    """PUT on an object: its new state (409 when ``resourceVersion`` is stale)."""
    obj = _checked(sim, route, rt, body)
    if obj["metadata"].get("name") != route.name:
        raise status(400, "BadRequest", f"the name of the object ({obj['metadata'].get('name')})"
                     f" does not match the name on the URL ({route.name})")
    _stored(sim, route, rt)
    try:
        return 200, sim.api.update(obj, component="kubectl")
    except LabSupportError as err:
        raise _fail(err, rt, route.name or "") from None


def _option(body: Any, query: dict, field: str) -> Any:
    if isinstance(body, dict) and body.get(field) is not None:
        return body[field]
    return query.get(field)


def delete(sim: Any, route: Route, rt: ResourceType, body: Any,
           query: dict) -> tuple[int, dict]:
    """DELETE on an object: the object (with its deletionTimestamp while it terminates)."""
    obj = _stored(sim, route, rt)
    pre = (body or {}).get("preconditions") or {} if isinstance(body, dict) else {}
    for field in ("uid", "resourceVersion"):
        if pre.get(field) and pre[field] != obj["metadata"].get(field):
            raise status(409, "Conflict", f'Operation cannot be fulfilled on {rt.plural} '
                         f'"{route.name}": Precondition failed: {field.capitalize()} in '
                         f"precondition: {pre[field]}, {field.capitalize()} in object meta: "
                         f"{obj['metadata'].get(field)}", {"name": route.name, "kind": rt.plural})
    grace = _option(body, query, "gracePeriodSeconds")
    try:
        grace = None if grace is None else int(grace)
    except (TypeError, ValueError):
        raise status(400, "BadRequest", f"gracePeriodSeconds must be a number, got "
                     f"{grace!r}") from None
    policy = _option(body, query, "propagationPolicy")
    if policy is None and str(_option(body, query, "orphanDependents")).lower() == "true":
        policy = "Orphan"  # the deprecated orphanDependents option
    if policy is not None and policy not in ("Orphan", "Background", "Foreground"):
        # apiserver/pkg/apis/meta/internalversion/validation: ValidateDeleteOptions
        err = InvalidManifest('supported values: "Foreground", "Background", "Orphan"',
                              field="propagationPolicy", value=policy)
        raise status_for(err, rt.plural, route.name or "", "", "DeleteOptions")
    if rt.kind == "Event":
        raise status(405, "MethodNotAllowed", "the simulator keeps its events; they cannot be "
                     "deleted")
    try:
        after = sim.api.delete(rt, _namespace(route, rt), route.name, grace=grace,
                               propagation_policy=policy)
    except LabSupportError as err:
        raise _fail(err, rt, route.name or "") from None
    if after is None:
        return 200, success(route.name or "", rt.plural, obj["metadata"].get("uid"))
    return 200, after


def delete_collection(sim: Any, route: Route, rt: ResourceType, body: Any,
                      query: dict) -> tuple[int, dict]:
    """DELETE on a collection (``deletecollection``): every selected object, as a List.

    The label and field selectors pick the objects, and the DeleteOptions
    (grace period, propagation policy) apply to each, as the registry's
    ``DeleteCollection`` does (apiserver/pkg/registry/generic/registry/store.go).
    """
    if rt.kind == "Event":
        raise status(405, "MethodNotAllowed", "the simulator keeps its events; they cannot be "
                     "deleted")
    if rt.kind == "Namespace":
        # Namespaces have no deletecollection verb (registry/core/namespace/storage).
        raise status(405, "MethodNotAllowed", "the server does not allow this method on the "
                     "requested resource")
    chosen = [(o["metadata"].get("namespace"), o["metadata"]["name"])
              for o in select(sim, rt, _namespace(route, rt), query)]
    items = []
    for namespace, name in chosen:
        one = Route(route.group, route.version, route.resource, namespace, name)
        try:
            before = json_copy(_stored(sim, one, rt))
            _, after = delete(sim, one, rt, body, query)
        except ApiStatus as err:
            if err.code == 404:
                continue  # gone meanwhile (a cascade of an earlier one)
            raise
        items.append(_item(before if after.get("kind") == "Status" else after,
                           rt.kind in sim.api.custom_types))
    return 200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version,
                 "metadata": {"resourceVersion": str(sim.store.revision)}, "items": items}


def get_status(sim: Any, route: Route, rt: ResourceType) -> tuple[int, dict]:
    """GET on the status subresource: the whole object."""
    return 200, _stored(sim, route, rt)


def update_status(sim: Any, route: Route, rt: ResourceType, body: Any) -> tuple[int, dict]:
    """PUT on the status subresource: only ``status`` changes."""
    obj = _stored(sim, route, rt)
    if not isinstance(body, dict) or not isinstance(body.get("status", {}), dict):
        raise status(400, "BadRequest", "the body must be an object with a status")
    sent = (body.get("metadata") or {}).get("resourceVersion")
    if sent and sent != obj["metadata"].get("resourceVersion"):
        raise _fail(_conflict(rt, route.name or ""), rt, route.name or "")
    return 200, sim.api.update_status(obj, body.get("status") or {}, component="kubectl")


def _conflict(rt: ResourceType, name: str) -> LabSupportError:
    from labsupport.errors import Conflict

    return Conflict(rt.plural + (f".{rt.group}" if rt.group else ""), name)


def _scale(obj: dict) -> dict:
    """The autoscaling/v1 Scale of a scalable object."""
    from labsupport.sim.httpapi.tables import _selector_text

    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector")
    if obj["kind"] == "ReplicationController":  # a plain map selector
        selector = {"matchLabels": selector} if selector else None
    shown = _selector_text(selector)
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       **({"selector": shown} if shown != "<none>" else {})}}


def get_scale(sim: Any, route: Route, rt: ResourceType) -> tuple[int, dict]:
    """GET on the scale subresource."""
    return 200, _scale(_stored(sim, route, rt))


def update_scale(sim: Any, route: Route, rt: ResourceType, replicas: Any,
                 resource_version: str | None = None) -> tuple[int, dict]:
    """PUT (or a patch of ``spec.replicas``) on the scale subresource."""
    obj = _stored(sim, route, rt)
    if resource_version and resource_version != obj["metadata"].get("resourceVersion"):
        raise _fail(_conflict(rt, route.name or ""), rt, route.name or "")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        err = InvalidManifest("must be greater than or equal to 0", field="spec.replicas",
                              value=replicas)
        raise status_for(err, rt.plural, route.name or "", "autoscaling", "Scale")
    sim.scale(f"{rt.plural}/{route.name}", replicas, namespace=route.namespace or "default")
    return 200, _scale(_stored(sim, route, rt))


def read_log(sim: Any, route: Route, query: dict) -> str:
    """GET pods/log: the container's log as text."""
    tail = query.get("tailLines")
    try:
        tail = None if tail is None else int(tail)
    except ValueError:
        raise status(400, "BadRequest", f'tailLines must be a number, got "{tail}"') from None
    previous = str(query.get("previous", "")).lower() in ("true", "1")
    try:
        return sim.logs(route.name, route.namespace or "default",
                        container=query.get("container") or None, tail=tail, previous=previous)
    except LabSupportError as err:
        if isinstance(err, Invalid):
            # The simulator says which request was refused; the API says only why.
            text = str(err).split(": ", 1)[1] if str(err).startswith(
                "the API server refused") else str(err)
            raise status(400, "BadRequest", text) from None
        raise status_for(err, "pods", route.name or "") from None


def bind(sim: Any, route: Route, body: Any) -> tuple[int, dict]:
    """POST pods/binding: put a pending pod on a node, as a scheduler does."""
    from labsupport.sim.clock import stamp

    rt = resolve(sim, Route("", "v1", "pods", route.namespace, route.name))
    pod = _stored(sim, route, rt)
    target = (body or {}).get("target") if isinstance(body, dict) else None
    node = (target or {}).get("name") if isinstance(target, dict) else None
    if not node:
        raise status(400, "BadRequest", "a Binding needs target.name, the node's name")
    if pod["spec"].get("nodeName"):
        # pkg/registry/core/pod/storage/storage.go: assignPod
        raise status(409, "Conflict", f'Operation cannot be fulfilled on pods/binding '
                     f'"{route.name}": pod {route.name} is already assigned to node '
                     f'"{pod["spec"]["nodeName"]}"', {"name": route.name, "kind": "pods/binding"})
    if node not in sim.kubelets:
        raise not_found("nodes", node)
    bound = json_copy(pod)
    bound["spec"]["nodeName"] = node
    conditions = [c for c in bound["status"].get("conditions") or ()
                  if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "status": "True",
                       "lastTransitionTime": stamp(sim.env.now)})
    bound["status"]["conditions"] = conditions
    sim.api.bind(bound, component="kubectl")
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                 "code": 201}


def apply_patch(sim: Any, route: Route, rt: ResourceType, body: Any,
                query: dict) -> tuple[int, dict]:
    """PATCH ``application/apply-patch+yaml``: server-side apply with field ownership.

    A missing object is created from the applied configuration; an existing
    one gets the configuration merged in, with the conflicts, ``force`` and
    removals of :mod:`labsupport.sim.httpapi.ssa`, and is validated whole.
    """
    from labsupport.sim.clock import stamp
    from labsupport.sim.httpapi import ssa

    manager = query.get("fieldManager")
    if not manager:
        # apiserver/pkg/endpoints/handlers/patch.go: fieldManager is required for apply
        raise status(400, "BadRequest", "PATCH request with apply-patch+yaml must have a "
                     "fieldManager")
    force = str(query.get("force", "")).lower() in ("true", "1")
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise status(400, "BadRequest", "the applied configuration must be an object with "
                     "metadata")
    if body["metadata"].get("name") != route.name:
        raise status(400, "BadRequest", f"the name of the object ({body['metadata'].get('name')})"
                     f" does not match the name on the URL ({route.name})")
    if body["metadata"].get("managedFields") is not None:
        # managedfields/internal/fieldmanager.go: an apply may not set managedFields
        raise status(400, "BadRequest", "metadata.managedFields must be nil")
    live = sim.api.get(rt, _namespace(route, rt), route.name)
    fields = ssa.registry(sim)
    when = stamp(sim.env.now)
    if live is None:
        obj = _checked(sim, route, rt, body)
        try:
            made = sim.api.create(obj, component="kubectl")
        except LabSupportError as err:
            raise _fail(err, rt, route.name or "") from None
        fields.record_apply(made["metadata"]["uid"], obj, made, manager, when, [])
        return 201, made
    applied = _checked(sim, route, rt, json_copy(body), full=False)
    uid = live["metadata"]["uid"]
    merged, conflicts = fields.plan_apply(uid, live, applied, manager, force)
    if conflicts and not force:
        raise ssa.conflict_status(conflicts)
    if rt.kind == "Service":
        # registry/core/service/storage/storage.go, patchAllocatedValues: an update that
        # leaves out the allocated cluster IPs keeps them.
        for field in ("clusterIP", "clusterIPs"):
            if field in (live.get("spec") or {}) and field not in merged.get("spec", {}):
                merged.setdefault("spec", {})[field] = json_copy(live["spec"][field])
    obj = _checked(sim, route, rt, merged)
    try:
        stored = sim.api.update(obj, component="kubectl")
    except LabSupportError as err:
        raise _fail(err, rt, route.name or "") from None
    fields.record_apply(uid, applied, stored, manager, when, conflicts)
    return 200, stored


def patch_managed_fields(sim: Any, route: Route, rt: ResourceType,
                         operations: list) -> tuple[int, dict]:
    """A JSON patch that touches ``/metadata/managedFields`` (kubectl's move to server-side apply).

    ``kubectl apply --server-side`` on an object made by client-side apply
    hands the fields of ``kubectl-client-side-apply`` over to ``kubectl``
    with such a patch (kubectl apply.go: ``migrateToSSAIfNecessary``). The
    patch is applied to the object as served, with its managedFields; the
    entries it leaves become the object's field managers.
    """
    from labsupport.patching import json_patch
    from labsupport.sim.httpapi import ssa

    stored = _stored(sim, route, rt)
    try:
        patched = json_patch(ssa.shown(sim, json_copy(stored)), operations)
    except LabSupportError as err:
        raise _fail(err, rt, route.name or "") from None
    entries = patched["metadata"].pop("managedFields", None) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise status(400, "BadRequest", "metadata.managedFields must be a list of entries")
    if patched != stored:
        try:
            stored = sim.api.update(_checked(sim, route, rt, patched), component="kubectl")
        except LabSupportError as err:
            raise _fail(err, rt, route.name or "") from None
    ssa.registry(sim).replace(stored["metadata"]["uid"], entries)
    return 200, stored


#: The patch flavour of each PATCH content type (``kubectl patch --type``).
PATCH_TYPES = {"application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic",
               "application/json-patch+json": "json"}


def patch(sim: Any, route: Route, rt: ResourceType, body: Any,
          content_type: str) -> tuple[int, dict]:
    """PATCH an object with a merge, strategic merge or JSON patch (``c.patch``)."""
    kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
    if kind is None:
        raise status(415, "UnsupportedMediaType", f'the simulator does not read patches of '
                     f'type "{content_type}"; send one of: {", ".join(PATCH_TYPES)}')
    _stored(sim, route, rt)
    try:
        return 200, sim.patch(f"{rt.plural}/{route.name}", body,
                              namespace=route.namespace or "default", type=kind)
    except LabSupportError as err:
        raise _fail(err, rt, route.name or "") from None


def evict(sim: Any, route: Route, body: Any) -> tuple[int, dict]:
    """POST pods/eviction: evict the pod unless a PodDisruptionBudget refuses (429)."""
    if isinstance(body, dict) and (body.get("metadata") or {}).get("name") not in (
            None, route.name):
        raise status(400, "BadRequest", "name in URL does not match name in Eviction object")
    try:
        sim.evict(route.name, namespace=route.namespace or "default")
    except LabSupportError as err:
        raise status_for(err, "pods", route.name or "") from None
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                 "code": 201}
