"""Notebook cells as the course commits them: stable ids, known tags, one JSON layout.

Three rules keep every committed ``.ipynb`` byte-for-byte reproducible from its
text source:

- a cell's id is a digest of its type and text (:func:`assign_ids`), so
  inserting a cell renumbers nothing and a second build writes the same id;
- outputs are kept only in cells tagged ``nbval-check-output``
  (:func:`checked_outputs`), and only the parts nbval compares;
- the JSON is written one way (:func:`dumps`): one-space indent, sorted keys.

Example:
    >>> nb = {"cells": [{"cell_type": "code", "source": "1 + 1", "metadata": {}},
    ...                 {"cell_type": "code", "source": "1 + 1", "metadata": {}}]}
    >>> [c["id"] for c in assign_ids(nb)["cells"]]
    ['c-b148aa9cb416', 'c-b148aa9cb416-2']
    >>> sorted(TAGS)[:3]
    ['answer', 'hidden-check', 'nbval-check-output']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

__all__ = [
    "TAGS",
    "CHECK",
    "assign_ids",
    "cell_id",
    "checked_outputs",
    "dumps",
    "tags_of",
    "is_checked",
    "source_of",
]

#: Tag of the cells whose printed output nbval compares with the committed one.
CHECK = "nbval-check-output"

#: Every cell tag the course gives a meaning to, and what it does.
TAGS: dict[str, str] = {
    CHECK: "nbval runs the cell and compares what it prints with the committed output; "
    "the build keeps that output",
    "nbval-ignore-output": "nbval runs the cell and ignores what it prints (the default "
    "under --nbval-lax; useful only for a reader)",
    "nbval-skip": "nbval does not run the cell (a cell that needs a real cluster or a browser)",
    "nbval-raises-exception": "the cell is expected to raise; nbval passes it when it does",
    "skip-grading": "the batch grader does not run the cell (it only draws a picture)",
    "solution-only": "left out of the exercise notebook (hidden checks, notes for instructors)",
    "hidden-check": "like solution-only: a cell of hidden checks left out of the exercise",
    "answer": "the whole code cell is the answer: the exercise gets a stub in its place",
}

#: Output fields nbval never compares (pictures, metadata): not committed.
_UNCOMPARED_DATA = ("image/png", "image/jpeg", "image/svg+xml")


def source_of(cell: dict[str, Any]) -> str:
    """A cell's text, whether stored as one string or a list of lines."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def tags_of(cell: dict[str, Any]) -> list[str]:
    """A cell's tags (an empty list when it has none)."""
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [t for t in tags if isinstance(t, str)]


def is_checked(cell: dict[str, Any]) -> bool:
    """Whether nbval compares the output of this cell."""
    return cell.get("cell_type") == "code" and CHECK in tags_of(cell)


def cell_id(cell_type: str, source: str) -> str:
    """The id a cell of this type and text gets (before duplicates are numbered).

    Example:
        >>> cell_id("markdown", "# Title")
        'm-e8082f982d77'
    """
    digest = hashlib.sha256(f"{cell_type}\0{source}".encode()).hexdigest()[:12]
    return f"{cell_type[0]}-{digest}"


def assign_ids(nb: dict[str, Any]) -> dict[str, Any]:
    """Give every cell its stable id (in place); a repeated cell gets ``-2``, ``-3``...

    Returns:
        The same notebook.
    """
    seen: dict[str, int] = {}
    for cell in nb.get("cells", []):
        base = cell_id(cell.get("cell_type", "code"), source_of(cell))
        seen[base] = seen.get(base, 0) + 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return nb


def checked_outputs(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    r"""The outputs of a checked cell as committed: what nbval compares, nothing more.

    Streams and text results stay; pictures and output metadata (which nbval
    skips) go, and an output left with no data goes with them.

    Example:
        >>> checked_outputs([{"output_type": "stream", "name": "stdout", "text": "3\n"},
        ...                  {"output_type": "display_data", "metadata": {},
        ...                   "data": {"image/png": "iVBOR..."}}])
        [{'output_type': 'stream', 'name': 'stdout', 'text': '3\n'}]
        >>> checked_outputs([{"output_type": "stream", "name": "stdout", "text": "3"},
        ...                  {"output_type": "stream", "name": "stdout", "text": " pods\n"}])
        [{'output_type': 'stream', 'name': 'stdout', 'text': '3 pods\n'}]
    """
    kept = []
    for out in outputs:
        out = dict(out)
        if "data" in out:
            data = {k: v for k, v in out["data"].items() if k not in _UNCOMPARED_DATA}
            if not data:
                continue
            out["data"] = data
            out["metadata"] = {}
        if out.get("output_type") == "stream" and isinstance(out.get("text"), list):
            out["text"] = "".join(out["text"])
        last = kept[-1] if kept else None
        if (last is not None and out.get("output_type") == "stream"
                and last.get("output_type") == "stream" and last.get("name") == out.get("name")):
            # The kernel sends a stream in chunks that depend on timing; nbval joins
            # them before comparing, so one output per run of text keeps the file stable.
            last["text"] += out["text"]
            continue
        kept.append(out)
    return kept


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def dumps(nb: dict[str, Any]) -> str:
    """Notebook JSON the way the course commits it (the way Jupyter writes it).

    Sources and stream texts are stored as lists of lines, keys sorted, one
    space of indent, so a one-line change is a one-line diff.
    """
    nb = dict(nb)
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        cell["source"] = _lines(source_of(cell))
        if "outputs" in cell:
            outs = []
            for out in cell["outputs"]:
                out = dict(out)
                if isinstance(out.get("text"), str):
                    out["text"] = _lines(out["text"])
                if isinstance(out.get("data"), dict):
                    out["data"] = {
                        k: (_lines(v) if isinstance(v, str) and k.startswith("text/") else v)
                        for k, v in out["data"].items()
                    }
                outs.append(out)
            cell["outputs"] = outs
        cells.append(cell)
    nb["cells"] = cells
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
