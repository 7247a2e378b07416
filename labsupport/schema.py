"""The real Kubernetes schemas, compiled once into a fast validator.

The ``kubernetes-validate`` package ships the OpenAPI schema of every
Kubernetes release as JSON Schema: one ``_definitions.json`` per release that
describes every type (``io.k8s.api.apps.v1.DeploymentSpec``, ...). A general
JSON Schema library needs about 12 ms to check one Deployment against it, so
this module reads the definitions once per release and compiles each one into
a small table (field -> expected type, required fields, allowed values, extra
rules such as port ranges and label syntax). Checking an object is then one
walk over it.

Nothing is read at import time: :func:`schema_for` loads and compiles a
release the first time it is asked for, and caches it.

Example:
    >>> from labsupport.schema import schema_for
    >>> s = schema_for("1.32")
    >>> s.version, s.api_versions("Deployment")
    ('1.32', ('apps/v1',))
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

from labsupport.errors import Invalid, InvalidManifest
from labsupport.quantity import parse_quantity

__all__ = ["Schema", "schema_for", "available_versions"]

# Node codes. A compiled schema node is a tuple (code, arg, rule):
# arg depends on the code, rule is None or a function value -> _Fail | None.
ANY, STR, BOOL, INT, NUM, INTSTR, QTY, OBJ, MAP, ARR, DICT = range(11)

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_NO_VALUE = object()

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


class Fail(Exception):
    """A problem found while walking an object; the path grows as it unwinds.

    ``path`` holds the segments leaf first: field names, ``"[0]"`` for list
    items and ``"[key]"`` for map keys.
    """

    def __init__(self, problem: str, value: Any = _NO_VALUE, hint: str | None = None,
                 path: list[str] | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.value = value
        self.hint = hint
        self.path = path if path is not None else []

    def field(self) -> str:
        """The Kubernetes-style field path, e.g. ``spec.containers[0].image``."""
        out = ""
        for seg in reversed(self.path):
            if seg.startswith("["):
                out += seg
            else:
                out += ("." + seg) if out else seg
        return out

    def to_error(self, prefix: str = "") -> InvalidManifest:
        """The InvalidManifest a learner sees."""
        field = self.field()
        if prefix:
            field = prefix + ("." + field if field and not field.startswith("[") else field)
        extra = {} if self.value is _NO_VALUE else {"value": self.value}
        return InvalidManifest(self.problem, field=field or None, hint=self.hint, **extra)


def fail_at(fields: tuple, problem: str, value: Any = _NO_VALUE,
            hint: str | None = None) -> Fail:
    """A Fail located by a forward path such as ``("containers", 0, "image")``."""
    segs = [f"[{f}]" if isinstance(f, int) else f for f in fields]
    return Fail(problem, value, hint, segs[::-1])


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
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", str(version).strip())
    if not m:
        raise Invalid(f'Kubernetes version must look like "1.32", got {version!r}')
    return int(m.group(1)), int(m.group(2))


@functools.cache
def available_versions() -> tuple[tuple[int, int], ...]:
    """The Kubernetes releases whose schemas are installed, oldest first.

    Example:
        >>> (1, 32) in available_versions()
        True
    """
    found = set()
    for folder in _schema_root().iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", folder.name)
        if m and (folder / "_definitions.json").exists():
            found.add((int(m.group(1)), int(m.group(2))))
    return tuple(sorted(found))


def schema_for(version: str) -> Schema:
    """The compiled schema of the newest release not newer than ``version``.

    Args:
        version: ``"1.32"``, ``"v1.32"`` or ``"1.32.3"``.

    Raises:
        Invalid: the version is older than every installed schema.
    """
    wanted = _parse_version(version)
    usable = [v for v in available_versions() if v <= wanted]
    if not usable:
        oldest = available_versions()[0]
        raise Invalid(f"no Kubernetes schema for {version}; the oldest installed is "
                      f"{oldest[0]}.{oldest[1]}")
    return _load_schema(usable[-1])


@functools.cache
def _load_schema(version: tuple[int, int]) -> Schema:
    folder = _schema_root() / f"v{version[0]}.{version[1]}.0-local-strict"
    with open(folder / "_definitions.json", encoding="utf-8") as f:
        defs = json.load(f)["$defs"]
    return Schema(f"{version[0]}.{version[1]}", defs)


class Schema:
    """The compiled definitions of one Kubernetes release.

    Attributes:
        version: the release, e.g. ``"1.32"``.
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


# ---- rules the API server enforces beyond the schema -----------------------------------
#
# The OpenAPI schema says which fields exist and their types. The API server
# checks more: name syntax, port ranges, allowed values, requests <= limits.
# These tables add the checks a learner meets most often, keyed by the short
# type name (PodSpec) and field.

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PERCENT = re.compile(r"^[0-9]+%$")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def suggest_name(name: str, rule: Callable[[str], str | None] | None = None) -> str | None:
    """A name close to ``name`` that passes ``rule`` (DNS-1123 subdomain), or None.

    Example:
        >>> suggest_name("My_App.v2"), suggest_name("1web", dns1035_label)
        ('my-app.v2', 'web')
    """
    rule = rule or dns1123_subdomain
    fixed = re.sub(r"[^a-z0-9.-]+", "-", name.lower())
    fixed = re.sub(r"-{2,}", "-", fixed).strip("-.")[:63].strip("-.")
    for candidate in (fixed, fixed.replace(".", "-"), fixed.lstrip("0123456789-.")):
        if candidate and rule(candidate) is None:
            return candidate
    return None


def dns1123_subdomain(name: str) -> str | None:
    """The problem with ``name`` as a DNS-1123 subdomain (most object names), or None.

    Example:
        >>> dns1123_subdomain("web-1.prod") is None, dns1123_subdomain("Web") is not None
        (True, True)
    """
    if len(name) > 253:
        return "must be no more than 253 characters"
    if not _DNS_SUBDOMAIN.match(name):
        return ('a lowercase RFC 1123 subdomain must consist of lower case letters, digits, '
                "'-' or '.', and must start and end with a letter or digit")
    return None


def dns1123_label(name: str) -> str | None:
    """The problem with ``name`` as a DNS-1123 label (namespaces, containers), or None."""
    if len(name) > 63:
        return "must be no more than 63 characters"
    if not _DNS_LABEL.match(name):
        return ("a lowercase RFC 1123 label must consist of lower case letters, digits "
                "or '-', and must start and end with a letter or digit")
    return None


def dns1035_label(name: str) -> str | None:
    """The problem with ``name`` as a DNS-1035 label (Service names), or None."""
    if len(name) > 63:
        return "must be no more than 63 characters"
    if not _DNS_1035.match(name):
        return ("a DNS-1035 label must consist of lower case letters, digits or '-', "
                "must start with a letter and end with a letter or digit")
    return None


def path_segment_name(name: str) -> str | None:
    """The problem with ``name`` as a path segment (RBAC object names), or None."""
    if name in (".", "..") or "/" in name or "%" in name:
        return "may not be '.' or '..' and may not contain '/' or '%'"
    return None


def label_key(key: str) -> str | None:
    """The problem with a label or annotation key, or None.

    Example:
        >>> label_key("app.kubernetes.io/name") is None, label_key("my app") is not None
        (True, True)
    """
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or dns1123_subdomain(prefix)):
        return ("the prefix before '/' must be a DNS subdomain such as example.com "
                "(lower case letters, digits, '-' and '.')")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return ("a key must be 63 characters or less, made of letters, digits, '-', '_' or "
                "'.', and start and end with a letter or digit, with an optional prefix "
                "such as example.com/")
    return None


def _label_key_rule(key: str) -> Fail | None:
    problem = label_key(key)
    return None if problem is None else Fail(problem, key)


def _label_value_rule(value: str) -> Fail | None:
    if value == "" or (len(value) <= 63 and _LABEL_NAME.match(value)):
        return None
    return Fail("a label value must be empty or 63 characters or less, made of letters, "
                "digits, '-', '_' or '.', and start and end with a letter or digit", value)


def _name_rule(check: Callable[[str], str | None]) -> Callable[[str], Fail | None]:
    def rule(value: str) -> Fail | None:
        problem = check(value)
        if problem is None:
            return None
        fixed = suggest_name(value, check)
        return Fail(problem, value, f'Try "{fixed}"' if fixed else None)
    return rule


def _port_name(value: str) -> str | None:
    if (len(value) > 15 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value)
            or "--" in value or not re.search(r"[a-z]", value)):
        return ("a port name must be no more than 15 characters, made of lower case "
                "letters, digits and '-', with at least one letter")
    return None


def _port_rule(low: int) -> Callable[[Any], Fail | None]:
    def rule(value: Any) -> Fail | None:
        if isinstance(value, str):
            problem = _port_name(value)
            return None if problem is None else Fail(problem, value)
        if not low <= value <= 65535:
            return Fail(f"must be between {max(low, 1)} and 65535, inclusive", value)
        return None
    return rule


def _at_least(low: int) -> Callable[[int], Fail | None]:
    def rule(value: int) -> Fail | None:
        return None if value >= low else Fail(f"must be greater than or equal to {low}", value)
    return rule


def _int_or_percent(value: Any) -> Fail | None:
    if isinstance(value, int):
        return None if value >= 0 else Fail("must be greater than or equal to 0", value)
    if _PERCENT.match(value):
        return None
    return Fail("must be an integer or a percentage such as \"25%\"", value)


def one_of(values: tuple[str, ...]) -> Callable[[str], Fail | None]:
    """A rule accepting only ``values`` (Kubernetes' "Unsupported value")."""
    allowed = frozenset(values)

    def rule(value: str) -> Fail | None:
        if value in allowed:
            return None
        close = difflib.get_close_matches(value, values, n=1, cutoff=0.5)
        hint = f'Did you mean "{close[0]}"?' if close else None
        listed = ", ".join(f'"{v}"' for v in values)
        return Fail(f"Unsupported value: supported values: {listed}", value, hint)
    return rule


def quantity_rule(value: Any) -> Fail | None:
    """Check a quantity string such as ``"500m"``; numbers are always fine."""
    if type(value) is not str:
        return None
    try:
        parse_quantity(value)
    except Invalid:
        return Fail('must be a quantity such as "500m" (half a CPU), "2", "128Mi" or "1Gi"',
                    value)
    return None


def base64_rule(value: str) -> Fail | None:
    """Check that a Secret's ``data`` value is base64."""
    import base64
    import binascii

    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return Fail("must be base64-encoded", value,
                    "Encode it (echo -n 'value' | base64), or put the plain text under "
                    "stringData instead of data")
    return None


def _config_key(key: str) -> Fail | None:
    if len(key) <= 253 and _CONFIG_KEY.match(key):
        return None
    return Fail("a key must consist of letters, digits, '-', '_' or '.'", key)


def _resource_name(key: str) -> Fail | None:
    if key in _STANDARD_RESOURCES or key.startswith("hugepages-") or "/" in key:
        return None
    close = difflib.get_close_matches(key, _STANDARD_RESOURCES, n=1, cutoff=0.5)
    return Fail("must be a standard resource type (cpu, memory, ephemeral-storage) or "
                "fully qualified (example.com/gpu)", key,
                f'Did you mean "{close[0]}"?' if close else None)


_PORT = _port_rule(1)  # a number 1-65535, or (for int-or-string fields) a port name
_NON_NEGATIVE = _at_least(0)

FIELD_RULES: dict[tuple[str, str], Callable[[Any], Fail | None]] = {
    ("ObjectMeta", "namespace"): _name_rule(dns1123_label),
    ("ObjectMeta", "labels{}"): _label_value_rule,
    ("LabelSelector", "matchLabels{}"): _label_value_rule,
    ("ServiceSpec", "selector{}"): _label_value_rule,
    ("ReplicationControllerSpec", "selector{}"): _label_value_rule,
    ("PodSpec", "nodeSelector{}"): _label_value_rule,
    ("Container", "name"): _name_rule(dns1123_label),
    ("Volume", "name"): _name_rule(dns1123_label),
    ("ContainerPort", "containerPort"): _PORT,
    ("ContainerPort", "hostPort"): _port_rule(0),
    ("ContainerPort", "name"): _PORT,
    ("ServicePort", "port"): _PORT,
    ("ServicePort", "targetPort"): _PORT,
    ("ServicePort", "nodePort"): _port_rule(0),
    ("ServicePort", "name"): _name_rule(dns1123_label),
    ("HTTPGetAction", "port"): _PORT,
    ("TCPSocketAction", "port"): _PORT,
    ("GRPCAction", "port"): _PORT,
    ("DeploymentSpec", "replicas"): _NON_NEGATIVE,
    ("ReplicaSetSpec", "replicas"): _NON_NEGATIVE,
    ("StatefulSetSpec", "replicas"): _NON_NEGATIVE,
    ("ReplicationControllerSpec", "replicas"): _NON_NEGATIVE,
    ("PodSpec", "terminationGracePeriodSeconds"): _NON_NEGATIVE,
    ("Probe", "initialDelaySeconds"): _NON_NEGATIVE,
    ("Probe", "periodSeconds"): _NON_NEGATIVE,
    ("Probe", "timeoutSeconds"): _NON_NEGATIVE,
    ("Probe", "successThreshold"): _NON_NEGATIVE,
    ("Probe", "failureThreshold"): _NON_NEGATIVE,
    ("RollingUpdateDeployment", "maxSurge"): _int_or_percent,
    ("RollingUpdateDeployment", "maxUnavailable"): _int_or_percent,
    ("RollingUpdateDaemonSet", "maxSurge"): _int_or_percent,
    ("RollingUpdateDaemonSet", "maxUnavailable"): _int_or_percent,
    ("RollingUpdateStatefulSetStrategy", "maxUnavailable"): _int_or_percent,
    ("PodDisruptionBudgetSpec", "minAvailable"): _int_or_percent,
    ("PodDisruptionBudgetSpec", "maxUnavailable"): _int_or_percent,
    ("Container", "imagePullPolicy"): one_of(("Always", "IfNotPresent", "Never")),
    ("Container", "terminationMessagePolicy"): one_of(("File", "FallbackToLogsOnError")),
    ("PodSpec", "restartPolicy"): one_of(("Always", "OnFailure", "Never")),
    ("PodSpec", "dnsPolicy"): one_of(("ClusterFirst", "ClusterFirstWithHostNet",
                                      "Default", "None")),
    ("ContainerPort", "protocol"): one_of(("TCP", "UDP", "SCTP")),
    ("ServicePort", "protocol"): one_of(("TCP", "UDP", "SCTP")),
    ("ServiceSpec", "type"): one_of(("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    ("ServiceSpec", "sessionAffinity"): one_of(("None", "ClientIP")),
    ("ServiceSpec", "externalTrafficPolicy"): one_of(("Cluster", "Local")),
    ("ServiceSpec", "internalTrafficPolicy"): one_of(("Cluster", "Local")),
    ("HTTPGetAction", "scheme"): one_of(("HTTP", "HTTPS")),
    ("DeploymentStrategy", "type"): one_of(("RollingUpdate", "Recreate")),
    ("DaemonSetUpdateStrategy", "type"): one_of(("RollingUpdate", "OnDelete")),
    ("StatefulSetUpdateStrategy", "type"): one_of(("RollingUpdate", "OnDelete")),
    ("StatefulSetSpec", "podManagementPolicy"): one_of(("OrderedReady", "Parallel")),
    ("LabelSelectorRequirement", "operator"): one_of(("In", "NotIn", "Exists",
                                                      "DoesNotExist")),
    ("Toleration", "operator"): one_of(("Equal", "Exists")),
    ("Toleration", "effect"): one_of(("NoSchedule", "PreferNoSchedule", "NoExecute")),
    ("Taint", "effect"): one_of(("NoSchedule", "PreferNoSchedule", "NoExecute")),
    ("PersistentVolumeClaimSpec", "accessModes[]"): one_of(
        ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")),
    ("HTTPIngressPath", "pathType"): one_of(("Exact", "Prefix", "ImplementationSpecific")),
    ("MetricSpec", "type"): one_of(("ContainerResource", "External", "Object", "Pods",
                                    "Resource")),
    ("MetricTarget", "type"): one_of(("AverageValue", "Utilization", "Value")),
    ("CronJobSpec", "concurrencyPolicy"): one_of(("Allow", "Forbid", "Replace")),
    ("JobSpec", "completionMode"): one_of(("NonIndexed", "Indexed")),
}

KEY_RULES: dict[tuple[str, str], Callable[[str], Fail | None]] = {
    ("ObjectMeta", "labels"): _label_key_rule,
    ("ObjectMeta", "annotations"): _label_key_rule,
    ("LabelSelector", "matchLabels"): _label_key_rule,
    ("ServiceSpec", "selector"): _label_key_rule,
    ("ReplicationControllerSpec", "selector"): _label_key_rule,
    ("PodSpec", "nodeSelector"): _label_key_rule,
    ("ResourceRequirements", "requests"): _resource_name,
    ("ResourceRequirements", "limits"): _resource_name,
    ("ConfigMap", "data"): _config_key,
    ("ConfigMap", "binaryData"): _config_key,
    ("Secret", "data"): _config_key,
    ("Secret", "stringData"): _config_key,
}

# Fields the schema leaves optional (for server-side apply) but validation requires.
EXTRA_REQUIRED: dict[str, tuple[str, ...]] = {"Container": ("image",)}

_REQUIRED_WHY = {
    ("Container", "image"): "every container needs an image to run, e.g. image: nginx:1.27",
    ("Container", "name"): "every container needs a name, e.g. name: web",
    ("PodSpec", "containers"): "a Pod needs at least one container",
    ("DeploymentSpec", "selector"): ("a Deployment needs a selector that matches its "
                                     "template's labels, e.g. matchLabels: {app: web}"),
    ("DeploymentSpec", "template"): "a Deployment needs a Pod template",
    ("ContainerPort", "containerPort"): "each entry of ports needs a containerPort number",
    ("ServicePort", "port"): "each entry of ports needs a port number",
}

_MISPLACED = {
    ("PodSpec", "replicas"): ("replicas belongs in the Deployment's spec (spec.replicas), not "
                              "in the Pod template"),
    ("DeploymentSpec", "containers"): ("containers go in spec.template.spec.containers: a "
                                       "Deployment describes its Pods through a template"),
    ("Container", "containerPort"): "containerPort goes in a list: ports: [{containerPort: 80}]",
    ("ServiceSpec", "targetPort"): "port and targetPort go in a list under spec.ports",
    ("ServiceSpec", "port"): "port and targetPort go in a list under spec.ports",
}


def required_problem(short: str, key: str) -> str:
    """The "Required value" message for a missing field."""
    why = _REQUIRED_WHY.get((short, key))
    return f"Required value: {why}" if why else "Required value"


def misplaced_hint(short: str, key: str) -> str | None:
    """A hint for a field written at the wrong level, or None."""
    if short == "ObjectMeta" and key not in ("spec", "status"):
        return ("metadata has name, namespace, labels and annotations; labels go under "
                "metadata.labels, e.g. labels: {app: web}")
    return _MISPLACED.get((short, key))


def _pod_spec_hook(spec: dict) -> None:
    containers = spec.get("containers")
    if not containers:
        raise fail_at(("containers",), required_problem("PodSpec", "containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or ()):
            name = c.get("name") if isinstance(c, dict) else None
            if name in seen:
                raise fail_at((group, i, "name"), "Duplicate value: container names must be "
                              "unique within a Pod", name)
            seen.add(name)


def check_volume_mounts(spec: dict, claim_templates: tuple[str, ...] = ()) -> None:
    """Every volumeMount names a volume of the Pod (or a StatefulSet's claim template).

    Raises:
        Fail: located inside the Pod spec, e.g. ``containers[0].volumeMounts[1].name``.
    """
    volumes = {v.get("name") for v in spec.get("volumes") or () if isinstance(v, dict)}
    volumes.update(claim_templates)
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or ()):
            for j, mount in enumerate((c or {}).get("volumeMounts") or ()):
                if isinstance(mount, dict) and mount.get("name") not in volumes:
                    raise fail_at((group, i, "volumeMounts", j, "name"),
                                  "Not found: no volume with this name in the Pod's volumes",
                                  mount.get("name"))


def _resources_hook(res: dict) -> None:
    requests = res.get("requests") or {}
    limits = res.get("limits") or {}
    for part, values in (("requests", requests), ("limits", limits)):
        for name, value in values.items():
            if value is not None and parse_quantity(value) < 0:
                raise fail_at((part, f"[{name}]"), "must be greater than or equal to 0", value)
    for name, value in requests.items():
        limit = limits.get(name)
        if value is not None and limit is not None and \
                parse_quantity(value) > parse_quantity(limit):
            raise fail_at(("requests", f"[{name}]"),
                          f"must be less than or equal to {name} limit of {limit}", value)


def _service_spec_hook(spec: dict) -> None:
    ports = spec.get("ports") or []
    if not ports and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
        raise fail_at(("ports",), "Required value: a Service needs at least one port, "
                      "e.g. ports: [{port: 80, targetPort: 8080}]")
    if len(ports) > 1:
        names: set[str] = set()
        for i, port in enumerate(ports):
            name = port.get("name") if isinstance(port, dict) else None
            if not name:
                raise fail_at(("ports", i, "name"), "Required value: a Service with more "
                              "than one port must name every port")
            if name in names:
                raise fail_at(("ports", i, "name"), "Duplicate value", name)
            names.add(name)


def _hpa_spec_hook(spec: dict) -> None:
    low = spec.get("minReplicas")
    high = spec.get("maxReplicas")
    if low is not None and low < 1:
        raise fail_at(("minReplicas",), "must be greater than or equal to 1", low)
    if high is not None and high < max(low or 1, 1):
        raise fail_at(("maxReplicas",), "must be greater than or equal to minReplicas "
                      f"({low or 1})", high)


def _claim_spec_hook(spec: dict) -> None:
    if not spec.get("accessModes"):
        raise fail_at(("accessModes",), "Required value: at least one access mode, e.g. "
                      "accessModes: [ReadWriteOnce]")
    requests = (spec.get("resources") or {}).get("requests") or {}
    if requests.get("storage") is None:
        raise fail_at(("resources", "[storage]"), "Required value: how much storage to "
                      "claim, e.g. resources: {requests: {storage: 1Gi}}")


HOOKS: dict[str, Callable[[dict], None]] = {
    "PersistentVolumeClaimSpec": _claim_spec_hook,
    "PodSpec": _pod_spec_hook,
    "ResourceRequirements": _resources_hook,
    "ServiceSpec": _service_spec_hook,
    "HorizontalPodAutoscalerSpec": _hpa_spec_hook,
}
