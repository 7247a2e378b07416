"""Text sources of the notebooks: where they are and how one becomes an ``.ipynb``.

Every lesson (``notebooks/NN_slug.md``) and every reference solution
(``solutions/exNN_slug.md``) is written as MyST Markdown and paired, by
jupytext, with the ``.ipynb`` beside it. Jupytext reads the text; this module
adds what makes the result reproducible (stable cell ids, fixed notebook
metadata, no outputs) and refuses what an author did not mean (an unknown tag,
an answer in a lesson).

Example:
    >>> text = '''---
    ... jupytext:
    ...   formats: ipynb,md:myst
    ... ---
    ... # A lesson
    ...
    ... ```{code-cell} ipython3
    ... :tags: [nbval-check-output]
    ... print(1 + 1)
    ... ```
    ... '''
    >>> nb = notebook_from_text(text, "notebooks/99_demo.md")
    >>> [(c["cell_type"], c["metadata"]) for c in nb["cells"]]
    [('markdown', {}), ('code', {'tags': ['nbval-check-output']})]
    >>> nb["metadata"]["jupytext"]
    {'formats': 'ipynb,md:myst'}
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labsupport.authoring.cells import TAGS, assign_ids, source_of, tags_of
from labsupport.errors import AuthoringError
from labsupport.grading import names

__all__ = [
    "copy_course",
    "Source",
    "TEXT_FORMAT",
    "PAIRING",
    "find_sources",
    "notebook_from_text",
    "read_source",
    "orphans",
    "course_root",
]

#: The jupytext format of every source: MyST Markdown (see docs/AUTHORING.md for why).
TEXT_FORMAT = "md:myst"
#: What the ``.ipynb`` records so that jupytext keeps the pair in step when saved.
PAIRING = "ipynb,md:myst"
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
_SOLUTION_TAGS = {"solution-only", "hidden-check", "answer"}
_ANSWER_MARKERS = ("BEGIN ANSWER", "END ANSWER")


@dataclass(frozen=True)
class Source:
    """One text source and the notebook built from it.

    Attributes:
        text: the MyST Markdown file the author edits.
        notebook: the ``.ipynb`` beside it, written by the build.
        kind: ``"lesson"`` (in ``notebooks/``) or ``"solution"`` (in ``solutions/``).
    """

    text: Path
    notebook: Path
    kind: str

    def rel(self, root: Path) -> str:
        """The source's path relative to the course folder, for messages."""
        try:
            return self.text.relative_to(root).as_posix()
        except ValueError:
            return str(self.text)


def course_root(start: str | Path | None = None) -> Path:
    """The course folder (the one holding ``notebooks/`` and ``solutions/``) at or above start.

    Raises:
        AuthoringError: no such folder above ``start`` (the current folder by default).
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "solutions").is_dir():
            return folder
    raise AuthoringError(
        str(here),
        "no course folder here or above (one with notebooks/ and solutions/)",
        fix="run the command from the course's top folder",
    )


def find_sources(root: Path) -> list[Source]:
    """Every lesson and solution source of the course, lessons first, by name."""
    found = []
    for path in sorted((root / "notebooks").glob("*.md")):
        if names.lesson_of_file(path):
            found.append(Source(path, path.with_suffix(".ipynb"), "lesson"))
    for path in sorted((root / "solutions").glob("*.md")):
        if names.exercise_of_file(path):
            found.append(Source(path, path.with_suffix(".ipynb"), "solution"))
    return found


def orphans(root: Path) -> list[Path]:
    """Notebooks in ``notebooks/`` and ``solutions/`` that have no text source."""
    have = {s.notebook for s in find_sources(root)}
    lonely = []
    for folder in ("notebooks", "solutions"):
        for path in sorted((root / folder).glob("*.ipynb")):
            if path not in have:
                lonely.append(path)
    return lonely


def _check_cells(nb: dict[str, Any], where: str, kind: str) -> None:
    for number, cell in enumerate(nb["cells"], start=1):
        for tag in tags_of(cell):
            if tag not in TAGS:
                raise AuthoringError(
                    where,
                    f"unknown tag {tag!r}",
                    cell=number,
                    fix="use one of "
                    + ", ".join(sorted(TAGS))
                    + " (docs/AUTHORING.md says what each does)",
                )
            if kind == "lesson" and tag in _SOLUTION_TAGS:
                raise AuthoringError(
                    where,
                    f"tag {tag!r} belongs in a solution; lessons are not graded",
                    cell=number,
                    fix="move the exercise into solutions/exNN_slug.md",
                )
        if kind == "lesson" and any(m in source_of(cell) for m in _ANSWER_MARKERS):
            raise AuthoringError(
                where,
                "an answer region in a lesson; lessons are not graded",
                cell=number,
                fix="move the exercise into solutions/exNN_slug.md",
            )


def notebook_from_text(text: str, where: str = "<text>", kind: str | None = None) -> dict[str, Any]:
    """The notebook (a dict, no outputs, stable ids) that a MyST source describes.

    Args:
        text: the source text.
        where: its path, for messages.
        kind: ``"lesson"`` or ``"solution"``; guessed from ``where`` when None.

    Raises:
        AuthoringError: the text is not a notebook jupytext can read, or uses a
            tag the course does not know.
    """
    import jupytext
    import nbformat

    if kind is None:
        kind = "solution" if names.exercise_of_file(where) else "lesson"
    try:
        parsed = jupytext.reads(text, fmt=TEXT_FORMAT)
    except Exception as exc:  # noqa: BLE001 - jupytext raises many kinds; all mean "cannot read"
        raise AuthoringError(
            where,
            f"jupytext cannot read it as MyST Markdown ({exc})",
            fix="compare with docs/AUTHORING.md, section 'The source format'",
        ) from None
    nb = json.loads(nbformat.writes(parsed))
    meta = copy.deepcopy(nb.get("metadata") or {})
    meta.pop("jupytext", None)
    meta["kernelspec"] = meta.get("kernelspec") or dict(_KERNELSPEC)
    meta["language_info"] = dict(_LANGUAGE_INFO)
    meta["jupytext"] = {"formats": PAIRING}
    cells = []
    for cell in nb["cells"]:
        kept = {
            "cell_type": cell["cell_type"],
            "metadata": cell.get("metadata") or {},
            "source": source_of(cell),
        }
        if cell["cell_type"] == "code":
            kept["execution_count"] = None
            kept["outputs"] = []
        cells.append(kept)
    out = {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    _check_cells(out, where, kind)
    return assign_ids(out)


def read_source(source: Source, root: Path) -> dict[str, Any]:
    """The notebook a :class:`Source` describes (see :func:`notebook_from_text`)."""
    try:
        text = source.text.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AuthoringError(
            source.rel(root), f"not UTF-8 text ({exc.reason})", fix="save the file as UTF-8"
        ) from None
    return notebook_from_text(text, source.rel(root), source.kind)


#: What a copy of the course leaves behind: version control, environments, caches.
_NOT_COPIED = (
    ".git",
    ".venv",
    "__pycache__",
    ".cache",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    "*.egg-info",
)


def copy_course(root: Path, dest: Path) -> Path:
    """Copy the course's files (no .git, .venv or caches) to ``dest``, to try a change there.

    Returns:
        ``dest``.
    """
    import shutil

    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    return dest
