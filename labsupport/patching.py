"""The three patch formats of ``kubectl patch``, as the API server applies them.

* **JSON merge patch** (RFC 7386, ``--type merge``, content type
  ``application/merge-patch+json``): maps merge key by key, ``null`` deletes
  a key, and any other value, lists included, replaces what was there.
* **JSON patch** (RFC 6902, ``--type json``, ``application/json-patch+json``):
  a list of operations ``add``, ``remove``, ``replace``, ``move``, ``copy``
  and ``test`` on JSON pointers (``/spec/template/spec/containers/0/image``).
  Errors are worded as the API server's patch library words them.
* **Strategic merge patch** (``--type strategic``, the default,
  ``application/strategic-merge-patch+json``): a merge patch that knows the
  schema. A list whose field has ``x-kubernetes-patch-strategy: merge``
  merges its items by their ``x-kubernetes-patch-merge-key`` (containers by
  ``name``), instead of being replaced; the directives ``$patch: delete``,
  ``$patch: replace``, ``$retainKeys``, ``$setElementOrder/<list>`` and
  ``$deleteFromPrimitiveList/<list>`` say more. The strategies are read from
  the OpenAPI schema of Kubernetes 1.37 (:mod:`labsupport.schema`).

Nothing here talks to a cluster: the functions take and return plain dicts
and never change their arguments.

Example:
    >>> merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}})
    {'a': 1, 'b': {'d': 3}}
    >>> json_patch({"spec": {"replicas": 1}}, [{"op": "replace", "path": "/spec/replicas",
    ...                                          "value": 3}])
    {'spec': {'replicas': 3}}
    >>> pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...        "spec": {"containers": [{"name": "a", "image": "x:1"},
    ...                                {"name": "b", "image": "y:1"}]}}
    >>> new = strategic_merge_patch(pod, {"spec": {"containers": [{"name": "b",
    ...                                                             "image": "y:2"}]}})
    >>> [(c["name"], c["image"]) for c in new["spec"]["containers"]]
    [('a', 'x:1'), ('b', 'y:2')]
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from labsupport.errors import Invalid

__all__ = ["PATCH_TYPES", "CONTENT_TYPES", "merge_patch", "json_patch", "strategic_merge_patch",
           "apply_patch", "PatchMeta", "UNSUPPORTED_MEDIA_TYPE", "PatchFailed"]

#: ``type=`` of ``c.patch`` -> the request's content type (kubectl patch --type).
CONTENT_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}
PATCH_TYPES = tuple(CONTENT_TYPES)
#: The 415 a custom resource answers to a strategic merge patch
#: (apiserver handlers/patch.go: the media types its patcher accepts).
UNSUPPORTED_MEDIA_TYPE = ("the body of the request was in an unknown format - accepted media "
                          "types include: application/json-patch+json, "
                          "application/merge-patch+json, application/apply-patch+yaml")
# apiserver handlers/patch.go: the 422 around an error of the JSON patch library.
_REJECTED = "the server rejected our request due to an error in our request"


class PatchFailed(Invalid):
    """A patch that cannot be applied to the object (HTTP 422 on a real cluster).

    Args:
        cause: the patch library's words, e.g. ``testing value /x failed: test failed``.
    """

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"The request is invalid: {_REJECTED}: {cause}")


# --- JSON merge patch (RFC 7386) -----------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch; return the new document.

    Example:
        >>> merge_patch({"tags": ["a", "b"]}, {"tags": ["c"]})  # lists are replaced
        {'tags': ['c']}
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# --- JSON patch (RFC 6902) -----------------------------------------------------------------

def json_patch(doc: Any, operations: list) -> Any:
    """Apply an RFC 6902 JSON patch; return the new document.

    Raises:
        Invalid: the patch is not a list of operations (400 on a real cluster).
        PatchFailed: an operation does not apply (422), with the library's words.

    Example:
        >>> json_patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3},
        ...                            {"op": "move", "from": "/a/0", "path": "/b"}])
        {'a': [2, 3], 'b': 1}
        >>> try:
        ...     json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
        ... except PatchFailed as err:
        ...     print(err.cause)
        testing value /a failed: test failed
    """
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise Invalid("a JSON patch is a list of operations such as "
                      '[{"op": "replace", "path": "/spec/replicas", "value": 3}], got '
                      f"{operations!r:.80}")
    out = copy.deepcopy(doc)
    for op in operations:
        out = _apply_op(out, op)
    return out


def _apply_op(doc: Any, op: dict) -> Any:
    kind = op.get("op")
    path = op.get("path")
    if not isinstance(path, str):
        raise PatchFailed(f"operation missing path field: {kind}")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(_value(op)))
    if kind == "remove":
        doc, _ = _remove(doc, path)
        return doc
    if kind == "replace":
        parent, key = _container(doc, path, "replace operation does not apply: doc is missing "
                                 f"key: {path}")
        if path == "":
            return copy.deepcopy(_value(op))
        if not _has(parent, key):
            raise PatchFailed(f"replace operation does not apply: doc is missing key: {path}: "
                              "missing value")
        _set(parent, key, copy.deepcopy(_value(op)))
        return doc
    if kind in ("move", "copy"):
        source = op.get("from")
        if not isinstance(source, str):
            raise PatchFailed(f"operation missing from field: {kind}")
        parent, key = _container(doc, source, f"{kind} operation does not apply: doc is "
                                 f"missing from path: {source}")
        if not _has(parent, key):
            raise PatchFailed(f"{kind} operation does not apply: doc is missing from path: "
                              f"{source}: missing value")
        value = _get(parent, key)
        if kind == "move":
            doc, value = _remove(doc, source)
        return _add(doc, path, copy.deepcopy(value))
    if kind == "test":
        try:
            parent, key = _container(doc, path, "")
            found = _has(parent, key) if path else True
            current = (_get(parent, key) if path else doc) if found else None
        except PatchFailed:
            found, current = False, None
        if not found and _value(op) is None:
            return doc  # a missing value tests equal to null
        if not found or current != _value(op) or type(current) is not type(_value(op)):
            raise PatchFailed(f"testing value {path} failed: test failed")
        return doc
    raise PatchFailed(f"Unexpected kind: {kind}: unknown object type")


def _value(op: dict) -> Any:
    if "value" not in op:
        raise PatchFailed(f"{op.get('op')} operation does not apply: value is missing")
    return op["value"]


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchFailed(f'JSON pointer must be empty or start with a "/": {path}')
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _container(doc: Any, path: str, missing: str) -> tuple[Any, str]:
    """The parent of what ``path`` points at, and the last token."""
    tokens = _tokens(path)
    if not tokens:
        return None, ""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node) - 1)]
        else:
            raise PatchFailed(f"{missing}: missing value" if missing else "missing value")
    if not isinstance(node, (dict, list)):
        raise PatchFailed(f"{missing}: missing value" if missing else "missing value")
    return node, tokens[-1]


def _index(token: str, last: int) -> int:
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchFailed(f"Unable to access invalid index: {token}: invalid index referenced")
    i = int(token)
    if i > last:
        raise PatchFailed(f"Unable to access invalid index: {i}: invalid index referenced")
    return i


def _has(parent: Any, key: str) -> bool:
    if isinstance(parent, dict):
        return key in parent
    try:
        _index(key, len(parent) - 1)
    except PatchFailed:
        return False
    return True


def _get(parent: Any, key: str) -> Any:
    return parent[key] if isinstance(parent, dict) else parent[_index(key, len(parent) - 1)]


def _set(parent: Any, key: str, value: Any) -> None:
    if isinstance(parent, dict):
        parent[key] = value
    else:
        parent[_index(key, len(parent) - 1)] = value


def _add(doc: Any, path: str, value: Any) -> Any:
    if path == "":
        return value
    parent, key = _container(doc, path, f'add operation does not apply: doc is missing path: '
                             f'"{path}"')
    if isinstance(parent, dict):
        parent[key] = value
    elif key == "-":
        parent.append(value)
    else:
        parent.insert(_index(key, len(parent)), value)
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    parent, key = _container(doc, path, f'remove operation does not apply: doc is missing '
                             f'path: "{path}"')
    if path == "":
        return None, doc
    if isinstance(parent, dict):
        if key not in parent:
            raise PatchFailed(f"Unable to remove nonexistent key: {key}: missing value")
        return doc, parent.pop(key)
    return doc, parent.pop(_index(key, len(parent) - 1))


# --- strategic merge patch -----------------------------------------------------------------

class PatchMeta:
    """Where the schema puts a patch strategy: one node of an object's definition.

    Args:
        defs: the schema's definitions (name -> OpenAPI schema).
        node: this node's schema (an object's definition, or None: unknown).
    """

    def __init__(self, defs: dict[str, dict], node: dict | None) -> None:
        self._defs = defs
        self.node = self._resolve(node)

    @classmethod
    def for_kind(cls, api_version: str, kind: str, version: str | None = None) -> PatchMeta:
        """The root of a built-in kind's schema (Kubernetes 1.37 unless ``version``).

        Example:
            >>> PatchMeta.for_kind("v1", "Pod").field("spec").field("containers").strategy()
            (('merge',), 'name')
        """
        defs, kinds = _schema_defs(version)
        name = kinds.get((api_version, kind))
        return cls(defs, defs.get(name) if name else None)

    def _resolve(self, node: dict | None) -> dict | None:
        while isinstance(node, dict) and "$ref" in node and "properties" not in node:
            target = self._defs.get(node["$ref"].rsplit("/", 1)[-1])
            extra = {k: v for k, v in node.items() if k.startswith("x-kubernetes-patch")}
            node = {**target, **extra} if target is not None else None
        return node

    def field(self, name: str) -> PatchMeta:
        """The schema of a map field, or of the values of a string-keyed map."""
        node = self.node or {}
        props = node.get("properties")
        if props is not None:
            return PatchMeta(self._defs, props.get(name))
        extra = node.get("additionalProperties")
        return PatchMeta(self._defs, extra if isinstance(extra, dict) else None)

    def items(self) -> PatchMeta:
        """The schema of a list's items."""
        return PatchMeta(self._defs, (self.node or {}).get("items"))

    def strategy(self) -> tuple[tuple[str, ...], str | None]:
        """(``x-kubernetes-patch-strategy`` parts, ``x-kubernetes-patch-merge-key``)."""
        node = self.node or {}
        text = node.get("x-kubernetes-patch-strategy") or ""
        return tuple(s for s in text.split(",") if s), node.get("x-kubernetes-patch-merge-key")


@functools.cache
def _schema_defs(version: str | None) -> tuple[dict, dict]:
    from labsupport.schema import schema_for

    schema = schema_for(version) if version else schema_for()
    return schema.definitions, schema.definition_names


def strategic_merge_patch(original: dict, patch: dict, meta: PatchMeta | None = None) -> dict:
    """Apply a strategic merge patch to a built-in object; return the new object.

    Args:
        original: the object (``apiVersion`` and ``kind`` pick its schema).
        patch: the patch, a partial object with optional ``$`` directives.
        meta: the schema to follow; by default that of the object's kind.

    Raises:
        Invalid: a directive the API server does not accept.

    Example:
        >>> dep = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"strategy": {
        ...     "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
        >>> strategic_merge_patch(dep, {"spec": {"strategy": {
        ...     "$retainKeys": ["type"], "type": "Recreate"}}})["spec"]["strategy"]
        {'type': 'Recreate'}
    """
    if not isinstance(patch, dict):
        raise Invalid(f"a strategic merge patch is a JSON object, got {patch!r:.80}")
    if meta is None:
        meta = PatchMeta.for_kind(original.get("apiVersion", ""), original.get("kind", ""))
    return _merge_map(copy.deepcopy(original), patch, meta)


def _merge_map(original: dict, patch: dict, meta: PatchMeta) -> dict:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    if directive is not None:
        raise Invalid(f"Unknown patch type: {directive} in map: {patch}")
    if not isinstance(original, dict):
        original = {}
    retain = patch.get("$retainKeys")
    if retain is not None:
        # retainKeys: fields not listed are cleared (a union such as a volume's source).
        original = {k: v for k, v in original.items() if k in retain}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key.startswith("$deleteFromPrimitiveList/"):
            continue
        if key in ("$retainKeys",):
            continue
        sub = meta.field(key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(original.get(key) if isinstance(original.get(key), dict) else {},
                                value, sub)
            if value.get("$patch") == "delete":
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            original[key] = _merge_list(original.get(key), value, sub)
        else:
            original[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(original.get(name), list):
                original[name] = [x for x in original[name] if x not in value]
        elif key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            if isinstance(original.get(name), list):
                strategies, merge_key = meta.field(name).strategy()
                original[name] = _set_order(original[name], value, merge_key)
    return original


def _merge_list(original: Any, patch: list, meta: PatchMeta) -> list:
    strategies, merge_key = meta.strategy()
    if "merge" not in strategies:
        return copy.deepcopy([x for x in patch if not (isinstance(x, dict) and "$patch" in x)])
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return copy.deepcopy([x for x in patch if not (isinstance(x, dict) and "$patch" in x)])
    current = list(copy.deepcopy(original)) if isinstance(original, list) else []
    if merge_key is None:
        # A set of primitives (finalizers): the union, in order.
        for x in patch:
            if x not in current:
                current.append(copy.deepcopy(x))
        return current
    items = meta.items()
    for item in patch:
        if not isinstance(item, dict):
            raise Invalid(f"a list merged by {merge_key!r} takes maps, got {item!r:.60}")
        if item.get("$patch") == "delete":
            current = [x for x in current if not (isinstance(x, dict)
                                                  and x.get(merge_key) == item.get(merge_key))]
            continue
        if merge_key not in item:
            raise Invalid(f"map: {item} does not contain declared merge key: {merge_key}")
        for i, x in enumerate(current):
            if isinstance(x, dict) and x.get(merge_key) == item[merge_key]:
                current[i] = _merge_map(x, item, items)
                break
        else:
            current.append(_merge_map({}, item, items))
    return current


def _set_order(items: list, order: list, merge_key: str | None) -> list:
    """$setElementOrder: the listed elements in that order, the others after them."""
    def ident(x: Any) -> Any:
        return x.get(merge_key) if merge_key and isinstance(x, dict) else x

    wanted = [ident(o) for o in order]
    listed = sorted((x for x in items if ident(x) in wanted), key=lambda x: wanted.index(ident(x)))
    return listed + [x for x in items if ident(x) not in wanted]


def apply_patch(obj: dict, patch: Any, type_: str = "strategic",
                custom: bool = False) -> dict:
    """Apply a patch of one of the three types, as the API server's patch handler does.

    Args:
        obj: the object as stored.
        patch: the patch (a dict, or a list for ``"json"``).
        type_: ``"strategic"``, ``"merge"`` or ``"json"``.
        custom: the object is a custom resource (no strategic merge patch).

    Raises:
        Invalid: an unknown type, a strategic patch of a custom resource (415),
            or a patch that is not of its type's shape (400).
        PatchFailed: a JSON patch operation that does not apply (422).

    Example:
        >>> db = {"apiVersion": "x.io/v1", "kind": "Db", "spec": {}}
        >>> apply_patch(db, {"spec": {"a": 1}}, "merge", custom=True)["spec"]
        {'a': 1}
        >>> try:
        ...     apply_patch(db, {"spec": {"a": 1}}, custom=True)
        ... except Invalid as err:
        ...     print(str(err)[:50])
        the body of the request was in an unknown format -
    """
    if type_ not in CONTENT_TYPES:
        raise Invalid(f"type must be one of {', '.join(repr(t) for t in PATCH_TYPES)} "
                      f"(kubectl patch --type), got {type_!r}")
    if type_ == "json":
        return json_patch(obj, patch)
    if not isinstance(patch, dict):
        raise Invalid(f"a {type_} patch is a JSON object such as "
                      f'{{"spec": {{"replicas": 3}}}}, got {patch!r:.80}')
    if type_ == "merge":
        return merge_patch(obj, patch)
    if custom:
        raise Invalid(f"{UNSUPPORTED_MEDIA_TYPE} (HTTP 415: a custom resource takes "
                      'type="merge" or type="json")')
    return strategic_merge_patch(obj, patch)
