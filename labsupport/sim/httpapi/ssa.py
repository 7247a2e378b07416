"""Server-side apply: field ownership (``managedFields``), conflicts between managers.

Every write through the served API is made on behalf of a *field manager*
(``kubectl`` for ``kubectl apply --server-side``, ``kubectl-client-side-apply``
for plain ``kubectl apply``, ``labsupport`` for :class:`~labsupport.kube.cluster.KubeCluster`).
The API server remembers which manager set which field, in
``metadata.managedFields``, one entry per manager and operation:

* an **Apply** (``PATCH`` with ``application/apply-patch+yaml``) says "these
  fields are what I want": the applied fields are merged into the live
  object; a field another manager owns with a *different* value is a
  conflict (409) unless ``force=true``, which takes the field over; a field
  the manager applied before, left out now and owned by nobody else, is
  removed from the object;
* an **Update** (create, ``PUT``, the other patches) takes every field whose
  value it changed, without conflicts.

Fields are named as the structured-merge-diff library does in ``fieldsV1``:
``f:<name>`` for a field of a map, ``k:{"name":"web"}`` for an item of a list
keyed by ``x-kubernetes-list-map-keys`` (containers by name, ports by port
and protocol), ``v:<json>`` for a value of a set, ``.`` for a list item
itself. The list types come from the OpenAPI schema of the release
(:class:`labsupport.patching.PatchMeta`). Upstream:
``k8s.io/apimachinery/pkg/util/managedfields`` and
``sigs.k8s.io/structured-merge-diff`` (merge/update.go: ``Apply``,
``Update``; internal/conflict.go: the conflict message).

Not modelled: writes made inside the simulator (controllers, the notebook's
``c.apply``) record no manager; managedFields are shown on the served
objects, not in ``c.get``; custom resources are merged as plain maps.

Example:
    >>> from labsupport.patching import PatchMeta
    >>> dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    ...        "spec": {"replicas": 2, "template": {"spec": {"containers": [
    ...            {"name": "web", "image": "nginx"}]}}}}
    >>> sorted(path_text(p) for p in field_set(dep, PatchMeta.for_kind("apps/v1", "Deployment")))
    ['.spec.replicas', '.spec.template.spec.containers[name="web"]', \
'.spec.template.spec.containers[name="web"].image', \
'.spec.template.spec.containers[name="web"].name']
"""

from __future__ import annotations

import copy
import json
from typing import Any

from labsupport.patching import PatchMeta

__all__ = ["Path", "field_set", "to_fields_v1", "from_fields_v1", "path_text", "merge",
           "value_at", "remove_path", "conflict_status", "ManagedFields", "manager_of",
           "registry", "shown"]

#: A field: the elements from the object's root (``("f:spec", "f:replicas")``).
Path = tuple

# Fields no manager owns (managedfields/internal/stripmeta.go: what is reset before tracking).
_IGNORED = {("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"),
            ("f:metadata", "f:namespace"), ("f:metadata", "f:uid"),
            ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:generation"),
            ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"),
            ("f:metadata", "f:managedFields"), ("f:metadata", "f:deletionTimestamp"),
            ("f:metadata", "f:deletionGracePeriodSeconds")}


# Defaults of list-map key fields the shipped schema does not carry: the OpenAPI v3 of the
# API server gives ``protocol`` (ServicePort, ContainerPort...) the default "TCP", and the
# merge of structured-merge-diff fills a missing key field from its default.
_KEY_DEFAULTS = {"protocol": "TCP"}


def _list_info(meta: PatchMeta) -> tuple[str, list[str]]:
    node = meta.node or {}
    return node.get("x-kubernetes-list-type") or "atomic", \
        list(node.get("x-kubernetes-list-map-keys") or ())


def _atomic_map(meta: PatchMeta) -> bool:
    return (meta.node or {}).get("x-kubernetes-map-type") == "atomic"


def _key_of(item: dict, keys: list[str], meta: PatchMeta) -> str:
    """The ``k:{...}`` element of a list item; a missing key field takes its schema default."""
    values = {}
    for k in keys:
        if k in item:
            values[k] = item[k]
        else:
            default = (meta.items().field(k).node or {}).get("default", _KEY_DEFAULTS.get(k))
            if default is not None:
                values[k] = default
    return "k:" + json.dumps(values, separators=(",", ":"), sort_keys=True)


def field_set(obj: Any, meta: PatchMeta, status: bool = False) -> set[Path]:
    """Every field an object sets, as paths (the ``status`` of a main resource left out)."""
    out: set[Path] = set()
    _walk(obj, meta, (), out)
    return {p for p in out if not any(p[:len(i)] == i for i in _IGNORED)
            and (status or p[:1] != ("f:status",))}


def _walk(value: Any, meta: PatchMeta, path: Path, out: set) -> None:
    if isinstance(value, dict) and value and not _atomic_map(meta):
        for k, v in value.items():
            _walk(v, meta.field(k), path + (f"f:{k}",), out)
        return
    if isinstance(value, list) and value:
        kind, keys = _list_info(meta)
        if kind == "map" and keys and all(isinstance(i, dict) for i in value):
            for item in value:
                here = path + (_key_of(item, keys, meta),)
                out.add(here)
                _walk(item, meta.items(), here, out)
            return
        if kind == "set":
            for item in value:
                out.add(path + ("v:" + json.dumps(item, separators=(",", ":")),))
            return
    if path:
        out.add(path)


def to_fields_v1(paths: set[Path]) -> dict:
    """The ``fieldsV1`` tree of a set of paths (``{"f:spec": {"f:replicas": {}}}``).

    Example:
        >>> item = 'k:{"n":1}'
        >>> to_fields_v1({("f:a", item), ("f:a", item, "f:n")})
        {'f:a': {'k:{"n":1}': {'.': {}, 'f:n': {}}}}
    """
    tree: dict = {}
    for p in sorted(paths):
        node = tree
        for el in p:
            node = node.setdefault(el, {})
    for p in paths:
        node = tree
        for el in p:
            node = node[el]
        if node and "." not in node:
            node["."] = {}
    return _sorted_tree(tree)


def _sorted_tree(tree: dict) -> dict:
    return {k: _sorted_tree(v) for k, v in sorted(tree.items())}


def from_fields_v1(tree: dict, prefix: Path = ()) -> set[Path]:
    """The paths of a ``fieldsV1`` tree (the inverse of :func:`to_fields_v1`)."""
    out: set[Path] = set()
    for k, v in (tree or {}).items():
        if k == ".":
            out.add(prefix)
        elif not v:
            out.add(prefix + (k,))
        else:
            out |= from_fields_v1(v, prefix + (k,))
    return out


def path_text(path: Path) -> str:
    """A path as the API server prints it in a conflict (``.spec.containers[name="web"].image``)."""
    text = ""
    for el in path:
        kind, _, rest = el.partition(":")
        if kind == "f":
            text += "." + rest
        elif kind == "k":
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) \
                + "]"
        else:
            text += f"[={rest}]"
    return text


def _find(container: Any, el: str, meta: PatchMeta) -> tuple[Any, Any]:
    """(the child at element ``el``, its key in the container); (None, None) when absent."""
    kind, _, rest = el.partition(":")
    if kind == "f":
        if isinstance(container, dict) and rest in container:
            return container[rest], rest
        return None, None
    if not isinstance(container, list):
        return None, None
    if kind == "k":
        _, keys = _list_info(meta)
        for i, item in enumerate(container):
            if isinstance(item, dict) and _key_of(item, keys, meta) == el:
                return item, i
        return None, None
    wanted = json.loads(rest)
    for i, item in enumerate(container):
        if item == wanted:
            return item, i
    return None, None


def _child_meta(meta: PatchMeta, el: str) -> PatchMeta:
    return meta.field(el[2:]) if el.startswith("f:") else meta.items()


def value_at(obj: Any, path: Path, meta: PatchMeta) -> tuple[bool, Any]:
    """(whether the object has the field, its value)."""
    node: Any = obj
    for el in path:
        node, key = _find(node, el, meta)
        if key is None:
            return False, None
        meta = _child_meta(meta, el)
    return True, node


def remove_path(obj: Any, path: Path, meta: PatchMeta) -> None:
    """Remove one field (or list item) from the object, in place; absent is fine."""
    node: Any = obj
    for el in path[:-1]:
        node, key = _find(node, el, meta)
        if key is None:
            return
        meta = _child_meta(meta, el)
    _, key = _find(node, path[-1], meta)
    if key is not None:
        del node[key]


def merge(live: Any, applied: Any, meta: PatchMeta) -> Any:
    """The applied configuration merged into the live object (a new value).

    Maps merge field by field, keyed lists item by item, sets by value;
    atomic lists, atomic maps and scalars are replaced by the applied value.
    """
    if isinstance(live, dict) and isinstance(applied, dict) and not _atomic_map(meta):
        out = dict(live)
        for k, v in applied.items():
            out[k] = merge(live[k], v, meta.field(k)) if k in live else copy.deepcopy(v)
        return out
    if isinstance(live, list) and isinstance(applied, list):
        kind, keys = _list_info(meta)
        if kind == "map" and keys and all(isinstance(i, dict) for i in live + applied):
            out_list = list(live)
            index = {_key_of(i, keys, meta): n for n, i in enumerate(out_list)}
            for item in applied:
                k = _key_of(item, keys, meta)
                if k in index:
                    out_list[index[k]] = merge(out_list[index[k]], item, meta.items())
                else:
                    index[k] = len(out_list)
                    out_list.append(copy.deepcopy(item))
            return out_list
        if kind == "set":
            return list(live) + [copy.deepcopy(i) for i in applied if i not in live]
    return copy.deepcopy(applied)


def manager_of(query: dict, user_agent: str) -> str:
    """Who a write is for: ``fieldManager``, else the User-Agent's first word.

    (apiserver handlers: ``prefixFromUserAgent``.)

    Example:
        >>> manager_of({}, "kubectl/v1.37.0 (linux/amd64) kubernetes/abc")
        'kubectl'
        >>> manager_of({"fieldManager": "kubectl-client-side-apply"}, "kubectl/v1.37.0")
        'kubectl-client-side-apply'
    """
    return query.get("fieldManager") or (user_agent or "unknown").split("/")[0][:128]


def conflict_status(conflicts: list[tuple]) -> Any:
    """The 409 of an apply that would overrule other managers.

    Args:
        conflicts: (manager, its apiVersion or "" for an Apply, path[, subresource])
            of each conflicting field.

    Example:
        >>> s = conflict_status([("kubectl-client-side-apply", "apps/v1",
        ...                       ("f:spec", "f:replicas"))])
        >>> s.code, s.body["message"]
        (409, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" \
using apps/v1: .spec.replicas')
    """
    from labsupport.sim.httpapi.status import status

    def who(manager: str, api_version: str, subresource: str = "") -> str:
        # managedfields/internal/conflict.go: printManager (an Apply names no apiVersion)
        text = f'"{manager}"' + (f' with subresource "{subresource}"' if subresource else "")
        return text if api_version == "" else f"{text} using {api_version}"

    named = [(who(m, v, *sub), p) for m, v, p, *sub in conflicts]
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {w}",
               "field": path_text(p)} for w, p in named]
    if len(named) == 1:
        w, p = named[0]
        message = f"Apply failed with 1 conflict: conflict with {w}: {path_text(p)}"
    else:
        # managedfields/internal/conflict.go: getConflictMessage, grouped by sorted manager.
        lines: list[str] = []
        for w in sorted({w for w, _ in named}):
            lines.append(f"conflicts with {w}:")
            lines += [f"- {path_text(p)}" for ww, p in named if ww == w]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return status(409, "Conflict", message, {"causes": causes})


def registry(sim: Any) -> ManagedFields:
    """The :class:`ManagedFields` of a simulated cluster (made on first use)."""
    found = sim.__dict__.get("_managed_fields")
    if found is None:
        found = sim.__dict__["_managed_fields"] = ManagedFields()
    return found


def shown(sim: Any, answer: Any) -> Any:
    """The answer with ``metadata.managedFields`` on its object or its list's items.

    The stored objects are not changed: the answer gets copies where it needs them.
    """
    found = sim.__dict__.get("_managed_fields")
    if found is None or not isinstance(answer, dict):
        return answer
    if isinstance(answer.get("items"), list):
        return {**answer, "items": [shown(sim, i) for i in answer["items"]]}
    meta = answer.get("metadata")
    uid = meta.get("uid") if isinstance(meta, dict) else None
    if not uid or answer.get("kind") in ("Status", "Scale", "Table"):
        return answer
    entries = found.shown(uid)
    return {**answer, "metadata": {**meta, "managedFields": entries}} if entries else answer


class ManagedFields:
    """The field managers of every served object, by uid.

    An entry: ``manager``, ``operation`` (``Apply`` or ``Update``),
    ``apiVersion``, ``time``, ``fields`` (a set of paths) and, for a
    subresource, ``subresource``.
    """

    def __init__(self) -> None:
        self.entries: dict[str, list[dict]] = {}

    def of(self, uid: str) -> list[dict]:
        """The entries of one object (a live list)."""
        return self.entries.setdefault(uid, [])

    def shown(self, uid: str) -> list[dict]:
        """``metadata.managedFields`` as the API shows it."""
        out = []
        for e in self.entries.get(uid, ()):
            if not e["fields"]:
                continue
            shown = {"manager": e["manager"], "operation": e["operation"],
                     "apiVersion": e["apiVersion"], "time": e["time"],
                     "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(e["fields"])}
            if e.get("subresource"):
                shown["subresource"] = e["subresource"]
            out.append(shown)
        return out

    def replace(self, uid: str, shown: list[dict]) -> None:
        """Set the entries from ``metadata.managedFields`` as a client wrote them."""
        self.entries[uid] = [
            {"manager": str(e.get("manager", "")), "operation": e.get("operation", "Update"),
             "apiVersion": e.get("apiVersion", ""), "time": e.get("time", ""),
             "fields": from_fields_v1(e.get("fieldsV1") or {}),
             "subresource": e.get("subresource", "")} for e in shown]

    def _entry(self, uid: str, manager: str, operation: str, api_version: str,
               subresource: str = "") -> dict:
        for e in self.of(uid):
            if (e["manager"], e["operation"], e.get("subresource", "")) == (
                    manager, operation, subresource):
                return e
        e = {"manager": manager, "operation": operation, "apiVersion": api_version,
             "time": "", "fields": set(), "subresource": subresource}
        self.of(uid).append(e)
        return e

    def record_update(self, uid: str, old: dict | None, new: dict, manager: str,
                      when: str, subresource: str = "") -> None:
        """An Update by ``manager``: it owns every field whose value it changed."""
        meta = PatchMeta.for_kind(new.get("apiVersion", ""), new.get("kind", ""))
        now = field_set(new, meta)
        if old is None:
            changed = now
        else:
            changed = {p for p in now if value_at(old, p, meta) != value_at(new, p, meta)}
        for e in self.of(uid):  # fields that are gone belong to no one
            e["fields"] &= now
        if not changed:
            return
        for e in self.of(uid):
            e["fields"] -= changed
        e = self._entry(uid, manager, "Update", new.get("apiVersion", ""), subresource)
        e["fields"] |= changed
        e["time"], e["apiVersion"] = when, new.get("apiVersion", "")
        self.entries[uid] = [x for x in self.of(uid) if x["fields"] or x is e]

    def plan_apply(self, uid: str, live: dict, applied: dict, manager: str,
                   force: bool) -> tuple[dict, list[tuple]]:
        """What an Apply makes of the live object: (the new object, conflicts).

        With conflicts and no ``force`` the caller answers 409 and changes nothing.
        """
        meta = PatchMeta.for_kind(live.get("apiVersion", ""), live.get("kind", ""))
        mine = field_set(applied, meta)
        merged = merge(copy.deepcopy(live), applied, meta)  # the stored object stays as it is
        conflicts = []
        for e in self.entries.get(uid, ()):
            if e["manager"] == manager and e["operation"] == "Apply":
                continue
            for p in sorted(e["fields"] & mine):
                if p[-1].startswith("k:"):
                    continue  # a list item itself: its fields are compared one by one
                if value_at(live, p, meta) != value_at(merged, p, meta):
                    conflicts.append((e["manager"],
                                      e["apiVersion"] if e["operation"] == "Update" else "", p,
                                      e.get("subresource", "")))
        if conflicts and not force:
            return merged, conflicts
        before = next((e["fields"] for e in self.entries.get(uid, ())
                       if e["manager"] == manager and e["operation"] == "Apply"), set())
        others = set().union(*(e["fields"] for e in self.entries.get(uid, ())
                               if not (e["manager"] == manager and e["operation"] == "Apply")))
        # Fields this manager applied before and left out now, owned by no one else, go.
        for p in sorted(before - mine, key=len, reverse=True):
            if p not in others and not any(o[:len(p)] == p for o in others | mine):
                remove_path(merged, p, meta)
        return merged, conflicts

    def record_apply(self, uid: str, applied: dict, result: dict, manager: str,
                     when: str, took: list[tuple]) -> None:
        """After an Apply succeeded: the manager owns what it applied; forced fields move."""
        meta = PatchMeta.for_kind(result.get("apiVersion", ""), result.get("kind", ""))
        mine = field_set(applied, meta)
        taken = {c[2] for c in took}
        now = field_set(result, meta)
        for e in self.of(uid):
            e["fields"] = (e["fields"] - taken) & now
        e = self._entry(uid, manager, "Apply", result.get("apiVersion", ""))
        e["fields"], e["time"] = mine & now, when
        self.entries[uid] = [x for x in self.of(uid) if x["fields"]]
