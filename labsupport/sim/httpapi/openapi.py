"""OpenAPI v3: the schemas of the served types, for ``kubectl explain`` and ``apply``.

kubectl reads ``/openapi/v3`` (the list of group-version documents) and then
the document of one group-version: ``kubectl explain deployment.spec`` walks
its schemas, and ``kubectl apply`` looks there whether the server checks
fields itself (the ``fieldValidation`` parameter of the PATCH operation).

The schemas are the Kubernetes release's own, from the definitions the
project ships for manifest checks (:mod:`labsupport.schema`, the
``kubernetes-validate`` package). Those are written as JSON Schema; this
module turns them back into the OpenAPI 3.0 shapes the API server serves
(``type: integer`` instead of ``[integer, null]``, ``allOf`` around a
``$ref`` with its own description, ``x-kubernetes-int-or-string``).
Each document holds the paths of its group-version's resources (one
operation per verb kubectl asks about) and every schema they reach.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=0)
    >>> root = openapi_answer(c, "/openapi/v3", {})
    >>> "apis/apps/v1" in root["paths"]
    True
    >>> doc = openapi_answer(c, "/openapi/v3/apis/apps/v1", {})
    >>> spec = doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    >>> spec["properties"]["replicas"]["type"]
    'integer'
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from labsupport.sim.httpapi.discovery import served_types
from labsupport.version import KUBERNETES_RELEASE, KUBERNETES_VERSION

__all__ = ["openapi_answer"]

_REF = "#/components/schemas/"


@functools.cache
def _definitions() -> dict[str, dict]:
    from labsupport.schema import _schema_root

    folder = _schema_root() / f"v{KUBERNETES_VERSION}.0-local-strict"
    with open(folder / "_definitions.json", encoding="utf-8") as f:
        return json.load(f)["$defs"]


def _convert(node: Any) -> Any:
    """One JSON Schema node as OpenAPI 3.0 (see the module docstring)."""
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    one_of = node.get("oneOf")
    if one_of and {t for o in one_of for t in _types(o)} == {"string", "integer"}:
        out = {k: v for k, v in node.items() if k != "oneOf"}
        return {**out, "type": "string", "format": "int-or-string",
                "x-kubernetes-int-or-string": True}
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kept = [t for t in value if t != "null"]
            out["type"] = kept[0] if len(kept) == 1 else kept
        elif key == "$ref":
            continue
        elif key == "additionalProperties" and value is False:
            continue
        elif key == "enum" and node.get("type") == ["string", "null"] and len(value) == 1:
            continue  # apiVersion and kind fixed by the strict schemas
        elif key in ("properties", "patternProperties"):
            out[key] = {k: _convert(v) for k, v in value.items()}
        else:
            out[key] = _convert(value)
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _REF + ref.rsplit("/", 1)[-1]
        if out:
            out["allOf"] = [{"$ref": target}]
        else:
            out["$ref"] = target
    return out


def _types(node: dict) -> set[str]:
    t = node.get("type")
    return {x for x in (t if isinstance(t, list) else [t]) if x and x != "null"}


def _reached(names: list[str]) -> list[str]:
    """Every definition reachable from ``names`` (their ``$ref`` closure)."""
    defs = _definitions()
    seen: dict[str, None] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = None
        stack: list[Any] = [defs[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    todo.append(ref.rsplit("/", 1)[-1])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return sorted(seen)


def _by_gvk() -> dict[tuple[str, str, str], str]:
    out = {}
    for name, d in _definitions().items():
        for gvk in d.get("x-kubernetes-group-version-kind", ()):
            if "properties" in d and "metadata" in d["properties"]:
                out[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return out


_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
           for n in ("dryRun", "fieldManager", "fieldValidation")]


def _operation(verb: str, action: str, gvk: dict, ref: dict, body: dict | None) -> dict:
    """One operation of a path: what kubectl reads (its kind, and its query parameters)."""
    made: dict = {"operationId": f"{verb}{gvk['kind']}",
                  "responses": {"200": {"description": "OK",
                                        "content": {"application/json": {"schema": ref}}}},
                  "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                  "parameters": _PARAMS}
    if body is not None:
        made["requestBody"] = body
    return made


@functools.cache
def _document(group: str, version: str, resources: tuple[tuple[str, str, bool], ...]) -> dict:
    """The OpenAPI v3 document of one group-version (cached: the schemas do not change)."""
    by_gvk = _by_gvk()
    base = "/api/v1" if not group else f"/apis/{group}/{version}"
    paths: dict[str, dict] = {}
    roots = []
    for plural, kind, namespaced in resources:
        name = by_gvk.get((group, version, kind))
        if name is None:
            continue
        roots.append(name)
        gvk = {"group": group, "version": version, "kind": kind}
        ref = {"$ref": _REF + name}
        body = {"content": {"application/json": {"schema": ref}}}
        one = f"{base}/namespaces/{{namespace}}/{plural}/{{name}}" if namespaced \
            else f"{base}/{plural}/{{name}}"
        many = one.rsplit("/", 1)[0]

        paths[many] = {"get": _operation("list", "list", gvk, ref, None),
                       "post": _operation("create", "post", gvk, ref, body)}
        paths[one] = {"get": _operation("read", "get", gvk, ref, None),
                      "put": _operation("replace", "put", gvk, ref, body),
                      "patch": _operation("patch", "patch", gvk, ref, body),
                      "delete": _operation("delete", "delete", gvk, ref, None)}
    schemas = {n: _convert(_definitions()[n]) for n in _reached(roots)}
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": KUBERNETES_RELEASE},
            "paths": paths, "components": {"schemas": schemas}}


def _group_versions(sim: Any) -> dict[tuple[str, str], tuple[tuple[str, str, bool], ...]]:
    found: dict[tuple[str, str], list[tuple[str, str, bool]]] = {}
    for (group, version, plural), rt in sorted(served_types(sim).items()):
        if rt.kind in sim.api.custom_types:
            continue  # a custom resource's schema is in its CRD, not in the release's
        found.setdefault((group, version), []).append((plural, rt.kind, rt.namespaced))
    return {gv: tuple(v) for gv, v in found.items()}


def openapi_answer(sim: Any, path: str, query: dict) -> dict | None:
    """The document at ``/openapi/v3`` or ``/openapi/v3/<gv path>``, or None."""
    gvs = _group_versions(sim)
    if path.rstrip("/") == "/openapi/v3":
        out = {}
        for (group, version), res in gvs.items():
            key = "api/v1" if not group else f"apis/{group}/{version}"
            digest = hashlib.sha256(repr((KUBERNETES_RELEASE, res)).encode()).hexdigest()
            out[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest[:64].upper()}"}
        return {"paths": out}
    rest = path.removeprefix("/openapi/v3/").strip("/").split("/")
    if rest[:2] == ["api", "v1"] and len(rest) == 2:
        gv = ("", "v1")
    elif rest[0] == "apis" and len(rest) == 3:
        gv = (rest[1], rest[2])
    else:
        return None
    if gv not in gvs:
        return None
    return _document(gv[0], gv[1], gvs[gv])
