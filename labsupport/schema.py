"""The real Kubernetes schemas, compiled once into a fast validator.

The ``kubernetes-validate`` package ships the OpenAPI schema of every
Kubernetes release as JSON Schema: one ``_definitions.json`` per release that
describes every type (``io.k8s.api.apps.v1.DeploymentSpec``, ...). A general
JSON Schema library needs about 12 ms to check one Deployment against it, so
this module reads the definitions once per release and compiles each one into
a small table (field -> expected type, required fields, allowed values, extra
rules such as port ranges and label syntax from :mod:`labsupport.rules`).
Checking an object is then one walk over it; a problem is raised as a
:class:`~labsupport.rules.Fail` that the walk locates with its field path.

Nothing is read at import time: :func:`schema_for` loads and compiles a
release the first time it is asked for, and caches it.

Example:
    >>> from labsupport.schema import schema_for
    >>> s = schema_for("1.37")
    >>> s.version, s.api_versions("Deployment")
    ('1.37', ('apps/v1',))
    >>> s.check({"apiVersion": "apps/v1", "kind": "Deployment",
    ...          "metadata": {"name": "web"}, "spec": {"replicas": "three"}})
    Traceback (most recent call last):
    ...
    labsupport.errors.InvalidManifest: spec.replicas: Invalid value: "three": must be an integer
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labsupport.errors import Invalid
from labsupport.rules import (
    EXTRA_REQUIRED,
    FIELD_RULES,
    HOOKS,
    KEY_RULES,
    Fail,
    base64_rule,
    one_of,
    quantity_rule,
    required_problem,
)
from labsupport.version import KUBERNETES_VERSION, minor_of

__all__ = ["Schema", "schema_for", "available_versions"]

# Node codes. A compiled schema node is a tuple (code, arg, rule):
# arg depends on the code, rule is None or a function value -> Fail | None.
ANY, STR, BOOL, INT, NUM, INTSTR, QTY, OBJ, MAP, ARR, DICT = range(11)

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

Node = tuple  # (code, arg, rule)

_EXPECT = {
    STR: "must be a string",
    BOOL: "must be a boolean (true or false)",
    INT: "must be an integer",
    NUM: "must be a number",
    INTSTR: "must be an integer or a string",
    QTY: 'must be a quantity such as "500m", "2", "128Mi" or "1Gi"',
    OBJ: "must be a mapping of fields (name: value lines)",
    MAP: "must be a mapping of keys to values",
    DICT: "must be a mapping",
    ARR: 'must be a list (YAML lines that start with "- ")',
}


class _Obj:
    """A compiled object definition: its fields and the rules over them."""

    __slots__ = ("name", "props", "required", "strict", "hook", "spec")

    def __init__(self, name: str) -> None:
        self.name = name
        self.props: dict[str, Node] = {}
        self.required: tuple[str, ...] = ()
        self.strict = True
        self.hook: Callable[[dict], None] | None = None
        # A ``spec`` with rules of its own is checked even when left out, as
        # the API server checks the empty spec (a Pod without spec has no containers).
        self.spec: Node | None = None

    @property
    def short(self) -> str:
        """The type name as Kubernetes documents it, e.g. ``PodSpec``."""
        return self.name.rsplit(".", 1)[-1]


def _schema_root() -> Path:
    # find_spec locates the package without importing it: importing
    # kubernetes_validate pulls in jsonschema, which takes seconds.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise Invalid("the kubernetes-validate package is missing; run: make setup")
    return Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"


def _parse_version(version: str) -> tuple[int, int]:
    try:
        return minor_of(version)
    except Invalid:
        raise Invalid(f'Kubernetes version must look like "{KUBERNETES_VERSION}", '
                      f"got {version!r}") from None


@functools.cache
def available_versions() -> tuple[tuple[int, int], ...]:
    """The Kubernetes releases whose schemas are installed, oldest first.

    Example:
        >>> (1, 37) in available_versions()
        True
    """
    found = set()
    for folder in _schema_root().iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", folder.name)
        if m and (folder / "_definitions.json").exists():
            found.add((int(m.group(1)), int(m.group(2))))
    return tuple(sorted(found))


def schema_for(version: str = KUBERNETES_VERSION) -> Schema:
    """The compiled schema of one Kubernetes release, exactly that release.

    A manifest checked against one release and applied to a cluster of
    another can pass here and fail there, so the loader never mixes them: it
    does not stand in an older release's schema for a newer one, nor the other
    way round. Patch versions share their minor release's schema.

    Args:
        version: ``"1.37"``, ``"v1.37"`` or ``"1.37.3"``; the course's
            version (:data:`labsupport.version.KUBERNETES_VERSION`) by default.

    Raises:
        Invalid: the text is not a version, or that release's schema is not
            installed (the message lists the ones that are).
    """
    wanted = _parse_version(version)
    installed = available_versions()
    if wanted not in installed:
        names = ", ".join(f"{a}.{b}" for a, b in installed) or "none"
        newer = installed and wanted > installed[-1]
        fix = ("upgrade the schemas: pip install --upgrade kubernetes-validate"
               if newer else f'use a release that is installed, such as "{KUBERNETES_VERSION}"')
        raise Invalid(f"no Kubernetes schema for {version} is installed (installed: {names}); "
                      f"a schema of another release would check against different rules, "
                      f"so none stands in for it: {fix}")
    return _load_schema(wanted)


@functools.cache
def _load_schema(version: tuple[int, int]) -> Schema:
    folder = _schema_root() / f"v{version[0]}.{version[1]}.0-local-strict"
    with open(folder / "_definitions.json", encoding="utf-8") as f:
        defs = json.load(f)["$defs"]
    return Schema(f"{version[0]}.{version[1]}", defs)


class Schema:
    """The compiled definitions of one Kubernetes release.

    Attributes:
        version: the release, e.g. ``"1.37"``.
        groups: the API groups built into Kubernetes (``""`` is the core group).
    """

    def __init__(self, version: str, defs: dict[str, dict]) -> None:
        self.version = version
        self._defs = defs
        self._compiled: dict[str, Node] = {}
        self._kinds: dict[tuple[str, str], str] = {}
        self._by_kind: dict[str, list[str]] = {}
        for name, d in defs.items():
            for gvk in d.get("x-kubernetes-group-version-kind", ()):
                api = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                if "properties" not in d or "metadata" not in d["properties"]:
                    continue  # DeleteOptions, WatchEvent: not objects one stores
                self._kinds[(api, gvk["kind"])] = name
                self._by_kind.setdefault(gvk["kind"], []).append(api)
        self.groups = frozenset(api.rpartition("/")[0] for api, _ in self._kinds)
        for name in defs:
            self._node(name)

    # ---- what the release serves -------------------------------------------------

    def kinds(self) -> tuple[str, ...]:
        """Every kind of object this release serves, sorted."""
        return tuple(sorted(self._by_kind))

    def api_versions(self, kind: str) -> tuple[str, ...]:
        """The apiVersions that serve ``kind`` (stable first), or ``()``."""
        return tuple(sorted(self._by_kind.get(kind, ()), key=_stability))

    def serves(self, api_version: str, kind: str) -> bool:
        """True when ``apiVersion``/``kind`` is a built-in type of this release."""
        return (api_version, kind) in self._kinds

    @property
    def definitions(self) -> dict[str, dict]:
        """The raw OpenAPI definitions, by name (read-only; strategic merge patch reads them)."""
        return self._defs

    @property
    def definition_names(self) -> dict[tuple[str, str], str]:
        """(apiVersion, kind) -> the name of its definition (read-only)."""
        return self._kinds

    # ---- checking ------------------------------------------------------------------

    def check(self, obj: dict) -> None:
        """Check ``obj`` against the schema of its apiVersion and kind.

        Raises:
            InvalidManifest: the first problem, with its field path.
            KeyError: the apiVersion/kind pair is not served (check
                :meth:`serves` first).
        """
        try:
            self.walk(obj)
        except Fail as e:
            raise e.to_error() from None

    def walk(self, obj: dict) -> None:
        """Like :meth:`check`, but raise the internal :class:`Fail` (path and problem)."""
        walk(self._compiled[self._kinds[(obj.get("apiVersion"), obj.get("kind"))]], obj)

    def walk_metadata(self, metadata: Any) -> None:
        """Check an object's ``metadata`` alone (custom resources); raise :class:`Fail`."""
        try:
            walk(self._compiled["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"], metadata)
        except Fail as e:
            e.path.append("metadata")
            raise

    # ---- compiling -----------------------------------------------------------------

    def _node(self, name: str) -> Node:
        node = self._compiled.get(name)
        if node is not None:
            return node
        d = self._defs[name]
        if name.endswith("api.resource.Quantity"):
            node = (QTY, None, quantity_rule)
        elif name.endswith("util.intstr.IntOrString"):
            node = (INTSTR, None, None)
        elif d.get("properties"):
            obj = _Obj(name)
            node = (OBJ, obj, None)
            self._compiled[name] = node  # before the fields: definitions recurse
            self._fill(obj, d)
            return node
        else:
            node = self._compile(d, name, "")
        self._compiled[name] = node
        return node

    def _fill(self, obj: _Obj, d: dict) -> None:
        for prop, sub in d["properties"].items():
            obj.props[prop] = self._compile(sub, obj.name, prop)
        required = list(d.get("required", ()))
        required += [r for r in EXTRA_REQUIRED.get(obj.short, ()) if r not in required]
        obj.required = tuple(required)
        obj.strict = d.get("additionalProperties", True) is False
        obj.hook = HOOKS.get(obj.short)
        spec = obj.props.get("spec")
        if spec is not None and spec[0] == OBJ and (spec[1].required or spec[1].hook):
            obj.spec = spec
            # From 1.37 the OpenAPI marks many specs required (Deployment,
            # StatefulSet, HorizontalPodAutoscaler...). The API server still
            # decodes a missing spec as an empty one and names what the empty
            # spec lacks ("spec.selector: Required value"), so the loader does too.
            obj.required = tuple(r for r in obj.required if r != "spec")

    def _compile(self, s: dict, owner: str, prop: str) -> Node:
        ref = s.get("$ref")
        if ref:
            node = self._node(ref.rsplit("/", 1)[-1])
            rule = FIELD_RULES.get((owner.rsplit(".", 1)[-1], prop))
            return node if rule is None else (node[0], node[1], rule)
        if "oneOf" in s:
            types = {t for alt in s["oneOf"] for t in _types(alt)}
            code = INTSTR if types == {"string", "integer"} else ANY
            return (code, None, None)
        types = _types(s)
        short = owner.rsplit(".", 1)[-1]
        rule = FIELD_RULES.get((short, prop))
        if "string" in types:
            if s.get("format") == "byte" and rule is None:
                rule = base64_rule
            if "enum" in s and rule is None and prop not in ("apiVersion", "kind"):
                rule = one_of(tuple(s["enum"]))
            return (STR, None, rule)
        if "integer" in types:
            return (INT, _INT_RANGES.get(s.get("format", ""), _INT_RANGES["int64"]), rule)
        if "number" in types:
            return (NUM, None, rule)
        if "boolean" in types:
            return (BOOL, None, rule)
        if "array" in types:
            return (ARR, self._compile(s.get("items", {}), owner, prop + "[]"), rule)
        if "object" in types:
            extra = s.get("additionalProperties")
            if isinstance(extra, dict):
                key_rule = KEY_RULES.get((short, prop))
                return (MAP, (self._compile(extra, owner, prop + "{}"), key_rule), rule)
            return (DICT, None, rule)
        return (ANY, None, rule)


def _types(s: dict) -> set[str]:
    t = s.get("type", ())
    return {t} if isinstance(t, str) else set(t) - {"null"}


def _stability(api_version: str) -> tuple[int, str]:
    version = api_version.rpartition("/")[2]
    rank = 2 if "alpha" in version else 1 if "beta" in version else 0
    return rank, api_version


# ---- the walk ------------------------------------------------------------------------

def walk(node: Node, x: Any) -> None:
    """Check value ``x`` against compiled ``node``; raise :class:`Fail` on a problem."""
    code, arg, rule = node
    t = type(x)
    if code == OBJ:
        if t is not dict:
            raise type_error(node, x)
        _walk_obj(arg, x)
    elif code == STR:
        if t is not str:
            raise type_error(node, x)
    elif code == INT:
        if t is not int:
            raise type_error(node, x)
        if not arg[0] <= x <= arg[1]:
            raise Fail(f"must be at most {arg[1]} and at least {arg[0]}", x)
    elif code == ARR:
        if t is not list:
            raise type_error(node, x)
        _walk_list(arg, x)
    elif code == MAP:
        if t is not dict:
            raise type_error(node, x)
        _walk_map(arg, x)
    elif code == BOOL:
        if t is not bool:
            raise type_error(node, x)
    elif code == INTSTR:
        if t is not int and t is not str:
            raise type_error(node, x)
    elif code == QTY or code == NUM:
        if t is not int and t is not float and (code == NUM or t is not str):
            raise type_error(node, x)
    elif code == DICT:
        if t is not dict:
            raise type_error(node, x)
    if rule is not None:
        err = rule(x)
        if err is not None:
            raise err


def _walk_obj(spec: _Obj, obj: dict) -> None:
    props = spec.props
    for key, x in obj.items():
        node = props.get(key)
        if node is None:
            if spec.strict:
                raise _unknown_field(spec, key)
            continue
        if x is None:
            continue
        code = node[0]
        # The common leaves are checked inline: this loop runs for every field.
        if code == STR and node[2] is None:
            if type(x) is str:
                continue
        elif code == BOOL:
            if type(x) is bool:
                continue
        try:
            walk(node, x)
        except Fail as e:
            e.path.append(key)
            raise
    for key in spec.required:
        x = obj.get(key)
        if x is None or x == "":
            raise Fail(required_problem(spec.short, key), path=[key])
    if spec.hook is not None:
        spec.hook(obj)
    if spec.spec is not None and obj.get("spec") is None:
        try:
            walk(spec.spec, {})
        except Fail as e:
            e.path.append("spec")
            raise


def _walk_list(item: Node, xs: list) -> None:
    simple = item[2] is None and item[0] == STR
    for i, x in enumerate(xs):
        if simple and type(x) is str:
            continue
        if x is None:
            if item[0] != OBJ:
                continue
            x = {}
        try:
            walk(item, x)
        except Fail as e:
            e.path.append(f"[{i}]")
            raise


def _walk_map(arg: tuple, xs: dict) -> None:
    value_node, key_rule = arg
    simple = value_node[2] is None and value_node[0] == STR
    for key, x in xs.items():
        if type(key) is not str:
            raise Fail("keys must be strings", key, f'put the key in quotes: "{key}"')
        if key_rule is not None:
            err = key_rule(key)
            if err is not None:
                raise err
        if x is None or (simple and type(x) is str):
            continue
        try:
            walk(value_node, x)
        except Fail as e:
            e.path.append(f"[{key}]")
            raise


def type_error(node: Node, x: Any) -> Fail:
    """The Fail for a value of the wrong type, with a hint about YAML's typing."""
    code = node[0]
    hint = None
    if isinstance(x, bool) and code in (STR, INTSTR, QTY):
        hint = ("YAML reads yes, no, on, off, true and false as booleans; "
                f'put it in quotes: "{str(x).lower()}"')
    elif isinstance(x, (int, float)) and not isinstance(x, bool) and code == STR:
        hint = f'YAML reads {x} as a number; put it in quotes: "{x}"'
    elif isinstance(x, str) and code == INT and re.fullmatch(r"[+-]?\d+", x.strip()):
        hint = "Write the number without quotes"
    elif isinstance(x, str) and code == BOOL and x.lower() in ("true", "false"):
        hint = f"Write {x.lower()} without quotes"
    elif isinstance(x, dict) and code == ARR:
        hint = 'Start the item with "- " to make a list of one item'
    elif isinstance(x, list) and code in (OBJ, MAP, DICT):
        hint = 'Remove the "- " in front: this field takes one mapping, not a list'
    return Fail(_EXPECT.get(code, "has the wrong type"), x, hint)


def _unknown_field(spec: _Obj, key: Any) -> Fail:
    key_text = str(key)
    names = list(spec.props)
    lower = {n.lower(): n for n in names}
    close = ([lower[key_text.lower()]] if key_text.lower() in lower
             else difflib.get_close_matches(key_text, names, n=1, cutoff=0.6))
    problem = f'unknown field "{key_text}"'
    hint = misplaced_hint(spec.short, key_text)
    if close:
        problem += f', did you mean "{close[0]}"?'
    elif hint is None:
        hint = f"A {spec.short} has these fields: {', '.join(sorted(names))}"
    return Fail(problem, hint=hint, path=[key_text])


_MISPLACED = {
    ("PodSpec", "replicas"): ("replicas belongs in the Deployment's spec (spec.replicas), not "
                              "in the Pod template"),
    ("DeploymentSpec", "containers"): ("containers go in spec.template.spec.containers: a "
                                       "Deployment describes its Pods through a template"),
    ("Container", "containerPort"): "containerPort goes in a list: ports: [{containerPort: 80}]",
    ("ServiceSpec", "targetPort"): "port and targetPort go in a list under spec.ports",
    ("ServiceSpec", "port"): "port and targetPort go in a list under spec.ports",
}


def misplaced_hint(short: str, key: str) -> str | None:
    """A hint for a field written at the wrong level, or None."""
    if short == "ObjectMeta" and key not in ("spec", "status"):
        return ("metadata has name, namespace, labels and annotations; labels go under "
                "metadata.labels, e.g. labels: {app: web}")
    return _MISPLACED.get((short, key))
