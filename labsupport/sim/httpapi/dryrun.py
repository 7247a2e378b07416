"""``?dryRun=All``: what a write would store, without storing it.

``kubectl apply --dry-run=server``, ``kubectl create/delete/patch
--dry-run=server`` and clients that pass ``dryRun=All`` ask the API server to
run a request all the way except for the write to etcd, and to answer what
it would have stored. Here that is: the same checks of the body against the
release's schema, of existence (404, 409 ``AlreadyExists``), of a stale
``resourceVersion`` (409 ``Conflict``) and of server-side apply conflicts,
then the defaults the API server fills in; nothing reaches the simulated
store, so no controller, watch or event sees it.

Not run on a dry run (they are part of the simulator's write path): the
admission plugins (LimitRanger, ResourceQuota, Priority, PodSecurity) and
the checks of immutable fields. The answer has no ``resourceVersion`` (as a
real dry run's has none) and no ``uid`` for a created object.

Example:
    >>> import labsupport as ls
    >>> from labsupport.sim.httpapi.resources import resolve
    >>> from labsupport.sim.httpapi.routes import parse
    >>> c = ls.connect(nodes=1)
    >>> route = parse("/apis/apps/v1/namespaces/default/deployments")
    >>> code, made = create(c, route, resolve(c, route), {"apiVersion": "apps/v1",
    ...     "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
    ...     "selector": {"matchLabels": {"app": "web"}}, "template": {
    ...     "metadata": {"labels": {"app": "web"}},
    ...     "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    >>> code, made["spec"]["replicas"], made["spec"]["strategy"]["type"]
    (201, 1, 'RollingUpdate')
    >>> c.list("deployments")
    []
"""

from __future__ import annotations

from typing import Any

from labsupport.errors import LabSupportError
from labsupport.kinds import ResourceType
from labsupport.sim.httpapi import resources as rs
from labsupport.sim.httpapi.routes import Route
from labsupport.sim.httpapi.status import status, success
from labsupport.sim.jsoncopy import json_copy

__all__ = ["create", "update", "patch", "apply", "delete", "wanted"]


def wanted(query: dict) -> bool:
    """Whether the request asks for a dry run; a 400 for a value other than ``All``."""
    value = query.get("dryRun")
    if not value:
        return False
    if value != "All":
        # apiserver/pkg/endpoints/handlers/rest.go: dryRun accepts only "All"
        raise status(400, "BadRequest", f'Invalid dry run value: "{value}" (only "All" is '
                     "supported)")
    return True


def _defaulted(sim: Any, obj: dict, old: dict | None) -> dict:
    from labsupport.sim.clock import stamp
    from labsupport.sim.defaults import apply_defaults

    apply_defaults(obj, sim.api.feature_gates)
    meta = obj["metadata"]
    meta.pop("resourceVersion", None)
    if old is None:
        meta["creationTimestamp"] = stamp(sim.env.now)
        if "spec" in obj:
            meta.setdefault("generation", 1)
    else:
        for field in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
        if obj.get("spec") != old.get("spec") and "generation" in meta:
            meta["generation"] += 1
        if "status" in old:
            obj["status"] = json_copy(old["status"])
    return obj


def create(sim: Any, route: Route, rt: ResourceType, body: Any) -> tuple[int, dict]:
    """A dry-run POST: 201 and the object as it would be stored."""
    obj = rs._checked(sim, route, rt, body)
    name = obj["metadata"].get("name")
    if name and sim.api.get(rt, rs._namespace(route, rt), name) is not None:
        from labsupport.errors import AlreadyExists

        raise rs._fail(AlreadyExists(f'{rt.plural} "{name}" already exists'), rt, name)
    return 201, _defaulted(sim, obj, None)


def update(sim: Any, route: Route, rt: ResourceType, body: Any) -> tuple[int, dict]:
    """A dry-run PUT: the object as it would be (409 when ``resourceVersion`` is stale)."""
    obj = rs._checked(sim, route, rt, body)
    old = rs._stored(sim, route, rt)
    sent = obj["metadata"].get("resourceVersion")
    if sent and sent != old["metadata"].get("resourceVersion"):
        raise rs._fail(rs._conflict(rt, route.name or ""), rt, route.name or "")
    return 200, _defaulted(sim, obj, old)


def patch(sim: Any, route: Route, rt: ResourceType, body: Any,
          content_type: str) -> tuple[int, dict]:
    """A dry-run merge, strategic merge or JSON patch."""
    from labsupport.patching import apply_patch

    kind = rs.PATCH_TYPES.get(content_type.split(";")[0].strip())
    if kind is None:
        raise status(415, "UnsupportedMediaType", f'the simulator does not read patches of '
                     f'type "{content_type}"; send one of: {", ".join(rs.PATCH_TYPES)}')
    old = rs._stored(sim, route, rt)
    try:
        patched = apply_patch(json_copy(old), body, kind,
                              custom=rt.kind in sim.api.custom_types)
    except LabSupportError as err:
        raise rs._fail(err, rt, route.name or "") from None
    return update(sim, route, rt, patched)


def apply(sim: Any, route: Route, rt: ResourceType, body: Any, query: dict) -> tuple[int, dict]:
    """A dry-run server-side apply: the merged object, or the 409 of its conflicts."""
    from labsupport.sim.httpapi import ssa

    live = sim.api.get(rt, rs._namespace(route, rt), route.name or "")
    if live is None:
        return create(sim, route, rt, body)
    applied = rs._checked(sim, route, rt, json_copy(body), full=False)
    force = str(query.get("force", "")).lower() in ("true", "1")
    merged, conflicts = ssa.registry(sim).plan_apply(
        live["metadata"]["uid"], live, applied, query.get("fieldManager") or "", force)
    if conflicts and not force:
        raise ssa.conflict_status(conflicts)
    return 200, _defaulted(sim, rs._checked(sim, route, rt, merged), live)


def delete(sim: Any, route: Route, rt: ResourceType) -> tuple[int, dict]:
    """A dry-run DELETE: the object would go (nothing is deleted)."""
    obj = rs._stored(sim, route, rt)
    return 200, success(route.name or "", rt.plural, obj["metadata"].get("uid"))
