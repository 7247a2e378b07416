r"""Read Kubernetes manifests and check them the way the API server would.

:func:`load` takes what a student has at hand (a file, a folder, YAML text,
a dict or a list of dicts) and returns plain dicts in the exact shape the
Kubernetes API uses. Every object is checked against the real schema of the
course's Kubernetes release before anything is returned: one bad document
and :func:`load` raises :class:`~labsupport.errors.InvalidManifest`, so the
caller applies nothing.

The work is shared out: :mod:`labsupport.yamlread` reads YAML safely,
:mod:`labsupport.schema` checks fields and types against the release's
schema, :mod:`labsupport.rules` adds the API server's own checks (names,
ports, allowed values), and :mod:`labsupport.kinds` says which kinds are
namespaced.

Errors read like Kubernetes' own and say where to look::

    web.yaml, document 2 (Deployment/web): spec.replicas: Invalid value: "three":
    must be an integer

Example:
    >>> from labsupport.manifests import load, dump
    >>> objs = load('''
    ... apiVersion: apps/v1
    ... kind: Deployment
    ... metadata: {name: web}
    ... spec:
    ...   replicas: 2
    ...   selector: {matchLabels: {app: web}}
    ...   template:
    ...     metadata: {labels: {app: web}}
    ...     spec:
    ...       containers: [{name: web, image: "nginx:1.27"}]
    ... ''', namespace="shop")
    >>> objs[0]["metadata"]
    {'name': 'web', 'namespace': 'shop'}
    >>> try:
    ...     load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
    ...          "spec: {replicas: three}")
    ... except InvalidManifest as e:
    ...     print(e.source, e.document, e.obj, e.field, repr(e.value), e.problem, sep=" | ")
    <text> | 1 | Deployment/web | spec.replicas | 'three' | must be an integer
    >>> print(dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}))
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
    <BLANKLINE>
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsupport import schema as _schema
from labsupport.errors import Invalid, InvalidManifest
from labsupport.kinds import type_for_kind
from labsupport.rules import Fail, check_name, check_volume_mounts
from labsupport.version import KUBERNETES_VERSION
from labsupport.yamlread import read_yaml

__all__ = ["KUBERNETES_VERSION", "load", "validate", "dump", "MAX_BYTES"]

MAX_BYTES = 20 * 2**20
"""Files and texts larger than this are refused before they are read."""

_SUFFIXES = (".yaml", ".yml", ".json")

# Workloads whose selector must match their Pod template's labels.
_SELECTS_TEMPLATE = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                     ("apps", "DaemonSet"), ("batch", "Job"), ("", "ReplicationController")}
# Where the Pod spec sits in objects that run Pods; other kinds have none.
_POD_SPEC_PATHS = {
    "Pod": ("spec",), "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    **{kind: ("spec", "template", "spec") for kind in (
        "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")},
}
# Groups that Kubernetes used to serve: a kind there is built-in, just out of date.
_OLD_GROUPS = frozenset({"extensions"})


# ---- public API -------------------------------------------------------------------------

def load(source: Any, namespace: str | None = None, *, version: str | None = None,
         custom_kinds: Iterable[Any] = ()) -> list[dict]:
    """Read Kubernetes objects and check every one of them.

    Args:
        source: a file path (``str`` or ``pathlib.Path``; ``.yaml``, ``.yml`` or
            ``.json``), a folder (every such file in it, by name), YAML text
            (several documents separated by ``---``), one dict, or a list of dicts.
            A ``str`` is YAML text when it contains a newline or ``:``.
        namespace: set as ``metadata.namespace`` on namespaced objects that have none.
        version: the Kubernetes release whose schema to check against
            (default :data:`KUBERNETES_VERSION`).
        custom_kinds: custom resources to accept: kind names (``"Widget"``) or
            ``(group, kind)`` pairs (``("example.com", "Widget")``). Only their
            apiVersion, kind and metadata are checked.

    Returns:
        Deep copies of every object, in order; ``kind: List`` is flattened into
        its items and empty documents are skipped.

    Raises:
        InvalidManifest: the first bad document, after reading everything; no
            object is returned, so nothing gets applied.

    Example:
        >>> [o["kind"] for o in load([{"apiVersion": "v1", "kind": "ConfigMap",
        ...                            "metadata": {"name": "cfg"}, "data": {"a": "1"}}])]
        ['ConfigMap']
    """
    checker = _Checker(version, custom_kinds)
    units = _read(source)
    out: list[dict] = []
    seen: dict[tuple, str] = {}
    for unit in units:
        before = len(out)
        for number, doc, shared in unit.docs:
            if doc is None:
                continue  # an empty document
            for prefix, obj in _flatten(doc, unit.source, number):
                checker.check_located(obj, unit.source, number, prefix)
                obj = _copy(obj) if (shared or unit.borrowed) else obj
                key = checker.identity(obj, namespace)
                if key in seen:
                    raise InvalidManifest(
                        f'Duplicate value: "{key[3]}": the same {key[1]} is already defined '
                        f"in {seen[key]}; each object may appear only once",
                        source=unit.source, document=number, obj=_label(obj),
                        field="metadata.name",
                        hint="Remove one of them, or give them different names")
                seen[key] = f"document {number} of {unit.source}"
                if namespace and checker.namespaced(obj) and "namespace" not in obj["metadata"]:
                    obj["metadata"]["namespace"] = namespace
                out.append(obj)
        if unit.error is not None:
            raise unit.error
        if unit.must_have_objects and len(out) == before:
            raise InvalidManifest("contains no Kubernetes objects", source=unit.source,
                                  hint="A manifest needs at least one object with apiVersion, "
                                       "kind and metadata")
    return out


def validate(obj: dict, *, version: str | None = None, custom_kinds: Iterable[Any] = ()) -> None:
    """Check one object; return None when it is valid.

    Args:
        obj: the object, as a dict in the Kubernetes API shape.
        version: the Kubernetes release (default :data:`KUBERNETES_VERSION`).
        custom_kinds: custom resources to accept, as for :func:`load`.

    Raises:
        InvalidManifest: what is wrong, with the field path.

    Example:
        >>> pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        ...        "spec": {"containers": [{"name": "app"}]}}
        >>> validate(pod)
        Traceback (most recent call last):
        ...
        labsupport.errors.InvalidManifest: Pod/p: spec.containers[0].image: Required value: ...
    """
    checker = _Checker(version, custom_kinds)
    for prefix, item in _flatten(obj, None, None):
        checker.check_located(item, None, None, prefix)


def dump(objs: dict | Iterable[dict]) -> str:
    """Multi-document YAML of ``objs``, for display (``kubectl get -o yaml`` style).

    Example:
        >>> print(dump([{"kind": "A"}, {"kind": "B"}]), end="")
        kind: A
        ---
        kind: B
    """
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    docs = [objs] if isinstance(objs, dict) else list(objs)
    return yaml.dump_all(docs, Dumper=dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True)


# ---- checking one object ----------------------------------------------------------------

class _Checker:
    """Checks objects against one release's schema and the custom kinds allowed."""

    def __init__(self, version: str | None, custom_kinds: Iterable[Any]) -> None:
        self.schema = _schema.schema_for(version or KUBERNETES_VERSION)
        self.custom_names: set[str] = set()
        self.custom_pairs: set[tuple[str, str]] = set()
        for entry in [custom_kinds] if isinstance(custom_kinds, str) else custom_kinds:
            if isinstance(entry, str):
                self.custom_names.add(entry)
            elif isinstance(entry, tuple) and len(entry) == 2:
                self.custom_pairs.add((str(entry[0]), str(entry[1])))
            else:
                raise Invalid(f"custom_kinds holds kind names such as \"Widget\" or "
                              f"(group, kind) pairs such as (\"example.com\", \"Widget\"); "
                              f"got {entry!r}")

    def check_located(self, obj: Any, source: str | None, document: int | None,
                      prefix: str) -> None:
        """Check ``obj``; raise InvalidManifest naming the source and document."""
        try:
            self.check(obj)
        except Fail as e:
            raise e.to_error(prefix).located(source=source, document=document,
                                             obj=_label(obj)) from None

    def check(self, obj: Any) -> None:
        """Check one object; raise :class:`~labsupport.rules.Fail`."""
        if not isinstance(obj, dict):
            raise _not_an_object(obj)
        api, kind = _type_meta(obj)
        if kind == "List":  # reaching here means its items are not a list
            raise Fail("must be a list of objects", obj.get("items"), path=["items"])
        custom = self.is_custom(api, kind)
        if not custom:
            self._check_type(api, kind)
        meta = obj.get("metadata")
        if meta is None:
            raise Fail("Required value: every object needs metadata with a name, "
                       "e.g. metadata: {name: web}", path=["metadata"])
        if custom:
            self.schema.walk_metadata(meta)
        elif "status" in obj:
            # status is not part of a create or update: the API server ignores it
            # (only the status subresource writes it), so it is not checked either;
            # a `get` output can be applied again as it is.
            self.schema.walk({k: v for k, v in obj.items() if k != "status"})
        else:
            self.schema.walk(obj)
        check_name(kind, meta)
        if (api.rpartition("/")[0], kind) in _SELECTS_TEMPLATE:
            _check_selector(kind, obj.get("spec") or {})
        if not custom:
            _check_pod_volumes(kind, obj)

    def is_custom(self, api: str, kind: str) -> bool:
        """True when the caller allowed this custom kind."""
        group = api.rpartition("/")[0]
        return (kind in self.custom_names or (group, kind) in self.custom_pairs
                or (api, kind) in self.custom_pairs)

    def _check_type(self, api: str, kind: str) -> None:
        s = self.schema
        if s.serves(api, kind):
            return
        served = s.api_versions(kind)
        group = api.rpartition("/")[0]
        if served:
            preferred = type_for_kind(kind).api_version
            best = preferred if preferred in served else served[0]
            others = [v for v in served if v != best]
            also = f" (or {', '.join(others)})" if others else ""
            raise Fail(f"{kind} is served as apiVersion {best}{also} in Kubernetes "
                       f"{s.version}, not {api}", api, f"Set apiVersion: {best}",
                       path=["apiVersion"])
        if group in s.groups or group in _OLD_GROUPS:
            raise Fail(f"no kind {kind} in Kubernetes {s.version}", kind,
                       _kind_hint(s, kind), path=["kind"])
        if "/" not in api:
            raise Fail('unknown apiVersion; built-in kinds use "v1" or '
                       '"group/version" such as "apps/v1"', api,
                       _kind_hint(s, kind), path=["apiVersion"])
        if group == "kind.x-k8s.io":
            raise Fail(
                "this is a kind cluster configuration, not a Kubernetes object", kind,
                "Use it with: kind create cluster --config FILE", path=["kind"])
        raise Fail(
            f"{kind} ({api}) is a custom resource, not a built-in Kubernetes kind", kind,
            f"If its CustomResourceDefinition is installed, accept it with "
            f"custom_kinds={{(\"{group}\", \"{kind}\")}}", path=["kind"])

    def namespaced(self, obj: dict) -> bool:
        """True when objects of this kind live in a namespace (see :mod:`labsupport.kinds`)."""
        return type_for_kind(obj["kind"]).namespaced

    def identity(self, obj: dict, namespace: str | None) -> tuple:
        """What makes two objects "the same" in one apply."""
        meta = obj["metadata"]
        name = meta.get("name") or id(obj)  # generateName: always a new object
        ns = (meta.get("namespace") or namespace or "") if self.namespaced(obj) else ""
        return obj["apiVersion"].rpartition("/")[0], obj["kind"], ns, name


def _type_meta(obj: dict) -> tuple[str, str]:
    api = obj.get("apiVersion")
    kind = obj.get("kind")
    if api is None or api == "":
        raise Fail("Required value: every object needs an apiVersion, e.g. "
                   "apiVersion: apps/v1 for a Deployment or v1 for a Service",
                   path=["apiVersion"])
    if not isinstance(api, str):
        raise Fail("must be a string", api, 'e.g. apiVersion: "v1"', path=["apiVersion"])
    if kind is None or kind == "":
        raise Fail("Required value: every object needs a kind, e.g. kind: Deployment",
                   path=["kind"])
    if not isinstance(kind, str):
        raise Fail("must be a string", kind, path=["kind"])
    return api, kind


def _kind_hint(s: _schema.Schema, kind: str) -> str | None:
    kinds = s.kinds()
    lower = {k.lower(): k for k in kinds}
    close = ([lower[kind.lower()]] if kind.lower() in lower
             else difflib.get_close_matches(kind, kinds, n=1, cutoff=0.6))
    if not close:
        return None
    best = close[0]
    preferred = type_for_kind(best).api_version
    served = s.api_versions(best)
    api = preferred if preferred in served else served[0]
    return f'Did you mean "{best}" (apiVersion: {api})?'


def _check_selector(kind: str, spec: dict) -> None:
    selector = spec.get("selector")
    if selector is None:
        return  # required where required: the schema already said so
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if kind == "ReplicationController":  # a plain label map
        match_labels, expressions = selector, []
    else:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
        if not match_labels and not expressions and kind != "Job":
            raise Fail(f"empty selector is invalid for {kind.lower()}", selector,
                       "Select the Pods by label, e.g. matchLabels: {app: web}",
                       path=["selector", "spec"])
    if _selects(match_labels, expressions, labels):
        return
    raise Fail(
        "selector does not match template labels", labels,
        f"spec.selector is {json.dumps(selector)}; give the Pod template matching labels "
        "under spec.template.metadata.labels",
        path=["labels", "metadata", "template", "spec"])


def _check_pod_volumes(kind: str, obj: dict) -> None:
    path = _POD_SPEC_PATHS.get(kind)
    if path is None:
        return
    pod_spec: Any = obj
    for step in path:
        pod_spec = pod_spec.get(step) if isinstance(pod_spec, dict) else None
    if not isinstance(pod_spec, dict):
        return
    claims = tuple(t.get("metadata", {}).get("name") for t in
                   (obj.get("spec") or {}).get("volumeClaimTemplates") or ()
                   if isinstance(t, dict)) if kind == "StatefulSet" else ()
    try:
        check_volume_mounts(pod_spec, claims)
    except Fail as e:
        e.path.extend(reversed(path))
        raise


def _selects(match_labels: dict, expressions: list, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for req in expressions:
        key, op, values = req.get("key"), req.get("operator"), req.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _not_an_object(doc: Any) -> Fail:
    what = {list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "empty"}.get(type(doc), type(doc).__name__)
    hint = None
    if isinstance(doc, list):
        hint = 'Remove the "- " in front of apiVersion: an object starts at the left margin'
    elif isinstance(doc, str):
        hint = ("If this is a file name, check its spelling or pass a pathlib.Path; "
                "YAML text needs key: value lines")
    return Fail(f"this document is {what}, not a Kubernetes object (a mapping with "
                "apiVersion, kind and metadata)", hint=hint)


def _label(obj: Any) -> str | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str) or not obj["kind"]:
        return None
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        if isinstance(meta.get("name"), str) and meta["name"]:
            return f"{obj['kind']}/{meta['name']}"
        if isinstance(meta.get("generateName"), str) and meta["generateName"]:
            return f"{obj['kind']}/{meta['generateName']}*"
    return obj["kind"]


def _flatten(doc: Any, source: str | None, number: int | None,
             prefix: str = "") -> list[tuple[str, Any]]:
    """``[(field prefix, object)]``: the items of a List, or the document itself."""
    if not (isinstance(doc, dict) and isinstance(doc.get("kind"), str)
            and doc["kind"].endswith("List") and isinstance(doc.get("items"), list)):
        return [(prefix, doc)]
    out = []
    for i, item in enumerate(doc["items"]):
        out += _flatten(item, source, number, f"{prefix}items[{i}]")
    return out


def _copy(x: Any) -> Any:
    """A deep copy of JSON-like data (much faster than copy.deepcopy)."""
    t = type(x)
    if t is dict:
        return {k: _copy(v) for k, v in x.items()}
    if t is list:
        return [_copy(v) for v in x]
    if t is str or t is int or t is float or t is bool or x is None:
        return x
    import copy

    return copy.deepcopy(x)


# ---- reading sources --------------------------------------------------------------------

@dataclass
class _Unit:
    """What one file, text or value held: numbered documents, then maybe an error."""

    source: str
    docs: list[tuple[int, Any, bool]] = field(default_factory=list)
    error: InvalidManifest | None = None
    must_have_objects: bool = True
    borrowed: bool = False  # the documents belong to the caller: copy before returning


def _read(source: Any) -> list[_Unit]:
    if isinstance(source, dict):
        return [_Unit("<dict>", [(1, source, False)], borrowed=True)]
    if isinstance(source, (list, tuple)):
        docs = [(i, doc, False) for i, doc in enumerate(source, 1)]
        return [_Unit("<dict>", docs, must_have_objects=False, borrowed=True)]
    if isinstance(source, str) and ("\n" in source or ":" in source or not source.strip()):
        return [_read_text(source, "<text>")]
    if isinstance(source, (str, Path)):
        return _read_path(Path(source).expanduser(), str(source))
    raise InvalidManifest(
        f"cannot read Kubernetes objects from a {type(source).__name__}",
        hint="Pass a file or folder path, YAML text, a dict, or a list of dicts")


def _read_path(path: Path, name: str) -> list[_Unit]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.suffix.lower() in _SUFFIXES and p.is_file())
        if not files:
            raise InvalidManifest("this folder has no .yaml, .yml or .json files",
                                  source=name)
        units = [_read_file(p, str(p)) for p in files]
        for unit in units:
            unit.must_have_objects = False
        if not any(unit.docs or unit.error for unit in units):
            raise InvalidManifest("contains no Kubernetes objects", source=name)
        return units
    if not path.exists():
        raise InvalidManifest(f'no such file or folder: "{name}"', source=name,
                              hint=f"Relative paths start from the current folder, "
                                   f"{Path.cwd()}")
    return [_read_file(path, name)]


def _read_file(path: Path, name: str) -> _Unit:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise _too_large(name, size)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidManifest(f"is not UTF-8 text (byte {e.start} cannot be read)",
                              source=name) from None
    if path.suffix.lower() == ".json":
        return _read_json(text, name)
    return _read_text(text, name)


def _too_large(name: str, size: int) -> InvalidManifest:
    return InvalidManifest(
        f"is {size / 2**20:.1f} MiB; manifests larger than {MAX_BYTES // 2**20} MiB are refused",
        source=name, hint="Kubernetes keeps each object under about 1.5 MiB; split the "
                          "file into smaller ones")


def _read_json(text: str, name: str) -> _Unit:
    unit = _Unit(name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        unit.error = InvalidManifest(
            f"JSON syntax error at line {e.lineno}, column {e.colno}: {e.msg}",
            source=name, document=1)
        return unit
    docs = data if isinstance(data, list) else [data]
    unit.docs = [(i, doc, False) for i, doc in enumerate(docs, 1)]
    return unit


def _read_text(text: str, name: str) -> _Unit:
    if len(text) > MAX_BYTES:
        raise _too_large(name, len(text.encode("utf-8", "replace")))
    docs, error = read_yaml(text, name)
    return _Unit(name, docs, error)
