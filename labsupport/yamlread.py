r"""The safe YAML reader behind :func:`labsupport.manifests.load`.

libyaml (through PyYAML's C parser) turns the text into events; the loop in
this module builds the Python values itself. That is about twice as fast as
PyYAML's constructor, and it lets us do what Kubernetes does and PyYAML does
not: refuse duplicate keys, refuse aliases that expand into millions of
values ("billion laughs"), and keep dates as strings. Plain scalars are typed
with the YAML 1.1 rules PyYAML uses (yes/no/on/off are booleans).

:func:`read_yaml` never raises for a bad document: it returns the documents
read before the problem, and the problem as an
:class:`~labsupport.errors.InvalidManifest` that names the line, the column
and the document.

Example:
    >>> from labsupport.yamlread import read_yaml
    >>> docs, error = read_yaml("a: 1\nday: 2024-01-02\n---\nb: yes\n", "<text>")
    >>> docs, error
    ([(1, {'a': 1, 'day': '2024-01-02'}, False), (2, {'b': True}, False)], None)
    >>> docs, error = read_yaml("a: 1\nb: 2\na: 3\n", "app.yaml")
    >>> docs, error.document, error.problem
    ([], 1, 'YAML error at line 3, column 1: the key "a" appears twice in the same mapping')
"""

from __future__ import annotations

import re
from typing import Any

from labsupport.errors import InvalidManifest

__all__ = ["Document", "MAX_ALIAS_VALUES", "read_yaml", "plain_scalar"]

Document = tuple[int, Any, bool]
"""One document read: ``(number from 1, value, True when it uses aliases)``.

A document that uses aliases may share values between its parts: copy it
before handing it out.
"""

MAX_ALIAS_VALUES = 1_000_000
"""Aliases may expand into at most this many values in one document."""

_NO_KEY = object()  # a mapping frame that waits for its next key
_NULL = re.compile(r"^(?:~|null|Null|NULL)$")
_BOOL = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE"
                   r"|on|On|ON|off|Off|OFF)$")
_INT = re.compile(r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""", re.X)
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_MERGE = object()


def _to_bool(v: str) -> bool:
    return v.lower() in ("yes", "true", "on")


def _to_int(v: str) -> int:
    v = v.replace("_", "")
    sign = -1 if v[0] == "-" else 1
    v = v.lstrip("+-")
    if v == "0":
        return 0
    if v.startswith("0b"):
        return sign * int(v[2:], 2)
    if v.startswith("0x"):
        return sign * int(v[2:], 16)
    if v[0] == "0":
        return sign * int(v, 8)
    if ":" in v:
        total = 0
        for part in v.split(":"):
            total = total * 60 + int(part)
        return sign * total
    return sign * int(v)


def _to_float(v: str) -> float:
    v = v.replace("_", "").lower()
    sign = -1.0 if v[0] == "-" else 1.0
    v = v.lstrip("+-")
    if v == ".inf":
        return sign * float("inf")
    if v == ".nan":
        return float("nan")
    if ":" in v:
        total = 0.0
        for part in v.split(":"):
            total = total * 60 + float(part)
        return sign * total
    return sign * float(v)


_PLAIN: dict[str, tuple] = {}
for _chars, _rule in (("yYnNtTfFoO", (_BOOL, _to_bool)), ("-+0123456789.", (_FLOAT, _to_float)),
                      ("-+0123456789", (_INT, _to_int)), ("~nN", (_NULL, lambda v: None)),
                      ("<", (re.compile(r"^<<$"), lambda v: _MERGE))):
    for _c in _chars:
        _PLAIN[_c] = _PLAIN.get(_c, ()) + (_rule,)

_TAGGED = {
    "tag:yaml.org,2002:str": str, "tag:yaml.org,2002:int": _to_int,
    "tag:yaml.org,2002:float": _to_float, "tag:yaml.org,2002:timestamp": str,
    "tag:yaml.org,2002:null": lambda v: None,
    "tag:yaml.org,2002:bool": lambda v: {"true": True, "false": False, "yes": True,
                                         "no": False, "on": True, "off": False}[v.lower()],
}


def plain_scalar(v: str) -> Any:
    """The value of an untagged plain scalar: null, bool, int, float or str.

    Example:
        >>> [plain_scalar(v) for v in ("", "yes", "0o7", "010", "1_000", "1.5", "2024-01-02")]
        [None, True, '0o7', 8, 1000, 1.5, '2024-01-02']
    """
    if not v:
        return None
    rules = _PLAIN.get(v[0])
    if rules is not None:
        for pattern, convert in rules:
            if pattern.match(v):
                return convert(v)
    return v


class _YamlProblem(Exception):
    def __init__(self, message: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


def read_yaml(text: str, source: str) -> tuple[list[Document], InvalidManifest | None]:
    r"""The documents before the first YAML error, and that error (or None).

    Args:
        text: YAML text, one or more documents separated by ``---``.
        source: the name of the text in error messages, e.g. ``"web.yaml"``.

    Returns:
        ``(documents, error)``: every :data:`Document` read (an empty
        document's value is None), and the first problem found or None.

    Example:
        >>> docs, error = read_yaml("replicas: three\nimage: nginx:1.27\n", "<text>")
        >>> docs[0][1], error
        ({'replicas': 'three', 'image': 'nginx:1.27'}, None)
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    docs: list[Document] = []
    try:
        _build(loader, docs)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = (e.problem or "").strip() or str(e)
        return docs, _yaml_error("YAML syntax error", text, source, mark, problem,
                                 _syntax_hint(problem, text, mark))
    except _YamlProblem as e:
        return docs, _yaml_error("YAML error", text, source, e.mark, e.message, e.hint)
    finally:
        loader.dispose()
    return docs, None


def _build(loader: Any, docs: list) -> None:
    """Turn the parser's events into documents ``(number, value, uses aliases)``."""
    from yaml import events as ev_types

    scalar, alias = ev_types.ScalarEvent, ev_types.AliasEvent
    map_start, seq_start = ev_types.MappingStartEvent, ev_types.SequenceStartEvent
    collection_end = (ev_types.MappingEndEvent, ev_types.SequenceEndEvent)
    doc_start, stream_end = ev_types.DocumentStartEvent, ev_types.StreamEndEvent
    get = loader.get_event
    number = 0
    # One frame per open collection: [container, key, anchor, values before, merges].
    stack: list[list] = []
    anchors: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    values = expanded = 0
    root: Any = None
    shared = False
    while True:
        ev = get()
        cls = ev.__class__
        if cls is scalar:
            values += 1
            tag = ev.tag
            if tag is None or tag == "!":
                value = plain_scalar(ev.value) if ev.implicit[0] else ev.value
            else:
                value = _tagged(tag, ev)
            if ev.anchor is not None:
                anchors[ev.anchor], sizes[ev.anchor] = value, 1
        elif cls is map_start or cls is seq_start:
            _check_tag(ev, "map" if cls is map_start else "seq")
            values += 1
            if ev.anchor is not None:
                open_anchors.add(ev.anchor)
            stack.append([{} if cls is map_start else [], _NO_KEY, ev.anchor, values, None])
            continue
        elif cls in collection_end:
            frame = stack.pop()
            value = frame[0]
            if frame[4]:
                value = _merge(value, frame[4], ev)
            if frame[2] is not None:
                open_anchors.discard(frame[2])
                anchors[frame[2]], sizes[frame[2]] = value, values - frame[3] + 1
        elif cls is alias:
            name = ev.anchor
            if name in open_anchors:
                raise _YamlProblem(f"the alias *{name} is inside the value it refers to",
                                   ev.start_mark, "Kubernetes objects cannot contain themselves")
            if name not in anchors:
                raise _YamlProblem(f"the alias *{name} refers to no anchor &{name} above it",
                                   ev.start_mark)
            value, shared = anchors[name], True
            values += sizes[name]
            expanded += sizes[name]
            if expanded > MAX_ALIAS_VALUES:
                raise _YamlProblem(
                    f"aliases expand to more than {MAX_ALIAS_VALUES:,} values; refusing to "
                    "expand them (this looks like a \"billion laughs\" document)",
                    ev.start_mark, "Write the values out, or use fewer nested aliases")
        elif cls is doc_start:
            number += 1
            anchors, sizes, root, shared = {}, {}, None, False
            continue
        elif cls is stream_end:
            return
        else:  # StreamStart, DocumentEnd
            if cls is ev_types.DocumentEndEvent:
                docs.append((number, root, shared))
            continue
        if not stack:
            root = value
            continue
        frame = stack[-1]
        container = frame[0]
        if container.__class__ is list:
            container.append(value)
        elif frame[1] is _NO_KEY:
            if value.__class__ is dict or value.__class__ is list:
                raise _YamlProblem("a mapping key must be a plain value, not a mapping or "
                                   "a list", ev.start_mark)
            if value is not _MERGE and value in container:
                raise _YamlProblem(f'the key "{value}" appears twice in the same mapping',
                                   ev.start_mark, "Each key may appear once; remove or "
                                                  "merge the duplicate")
            frame[1] = value
        else:
            if frame[1] is _MERGE:
                frame[4] = (frame[4] or []) + [value]
            else:
                container[frame[1]] = value
            frame[1] = _NO_KEY


def _tagged(tag: str, ev: Any) -> Any:
    convert = _TAGGED.get(tag)
    if convert is None:
        raise _YamlProblem(f"the YAML tag {tag} is not supported in Kubernetes manifests",
                           ev.start_mark, "Remove the tag (the part starting with !)")
    try:
        return convert(ev.value)
    except (ValueError, KeyError, IndexError):
        raise _YamlProblem(f'cannot read "{ev.value}" as {tag.rsplit(":", 1)[-1]}',
                           ev.start_mark) from None


def _check_tag(ev: Any, kind: str) -> None:
    if ev.tag not in (None, "!", f"tag:yaml.org,2002:{kind}"):
        raise _YamlProblem(f"the YAML tag {ev.tag} is not supported in Kubernetes manifests",
                           ev.start_mark, "Remove the tag (the part starting with !)")


def _merge(mapping: dict, merges: list, ev: Any) -> dict:
    """Apply ``<<: *base`` merge keys: the mapping's own keys win, then earlier merges."""
    merged: dict = {}
    for value in merges:
        for source in (value if isinstance(value, list) else [value]):
            if not isinstance(source, dict):
                raise _YamlProblem("a merge key (<<) needs a mapping or a list of mappings",
                                   ev.start_mark)
            for k, v in source.items():
                merged.setdefault(k, v)
    merged.update(mapping)
    return merged


_SYNTAX_HINTS = (
    ("'\\t'", "YAML does not allow tab characters for indentation; indent with spaces"),
    ("mapping values are not allowed", "Check the indentation of this line and the one "
     "before it; a value that contains \": \" must be put in quotes"),
    ("could not find expected ':'", "Each line of a mapping needs \"key: value\", with a "
     "space after the colon"),
    ("did not find expected key", "Check the indentation: the fields of one mapping must "
     "start in the same column"),
    ("expected <block end>", "Check the indentation: the fields of one mapping must "
     "start in the same column"),
    ("did not find expected '-'", "Check the indentation: the items of one list must "
     "start in the same column"),
)


def _syntax_hint(problem: str, text: str, mark: Any) -> str | None:
    if mark is not None and "\t" in text.split("\n", mark.line + 1)[mark.line][:mark.column + 1]:
        return _SYNTAX_HINTS[0][1]
    for needle, hint in _SYNTAX_HINTS:
        if needle in problem:
            return hint
    return None


def _yaml_error(what: str, text: str, source: str, mark: Any, problem: str,
                hint: str | None) -> InvalidManifest:
    line = mark.line if mark is not None else 0
    where = f" at line {line + 1}, column {mark.column + 1}" if mark is not None else ""
    return InvalidManifest(f"{what}{where}: {problem}", source=source,
                           document=_document_at(text, line), hint=hint)


def _document_at(text: str, line: int) -> int:
    """The number of the YAML document that holds 0-based ``line``."""
    number, content = 1, False
    for i, row in enumerate(text.split("\n")):
        if i >= line:
            break
        if row.startswith("---") and (len(row) == 3 or row[3] in " \t\r"):
            if content:
                number += 1
            content = True  # a leading --- opens the first document
        elif row.strip() and not row.lstrip().startswith("#"):
            content = True
    return number
