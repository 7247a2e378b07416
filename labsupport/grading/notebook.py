r"""Read a notebook file as the grader sees it, with a clear message when it is not one.

The grader does not need Jupyter to read a notebook: an ``.ipynb`` file is
JSON with a list of cells. :func:`load_notebook` checks that the file really
is one (and says what is wrong in words a learner can act on when it is
not), and :func:`python_source` turns a code cell into plain Python: IPython
line magics (``%time``) and shell escapes (``!pip``) become ``pass``.

Answer cells carry ``{"labsupport": {"answer": [names]}}`` in their metadata
(written by the builder), so the grader can tell when one was deleted or
duplicated.

Example:
    >>> nb = parse_notebook(b'{"nbformat": 4, "metadata": {}, "cells": ['
    ...     b'{"cell_type": "code", "source": ["x = 1\\n", "%time y = 2"], "metadata": {}}]}')
    >>> nb.code_cells()[0].python
    'x = 1\npass  # skipped by the grader: %time y = 2'
    >>> try:
    ...     parse_notebook(b"hello")
    ... except NotebookError as exc:
    ...     print(exc.problem[:60])
    not a notebook: the file is not valid JSON (line 1, column 1
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsupport.errors import GradingError
from labsupport.grading.names import checks_called

__all__ = ["Cell", "Notebook", "NotebookError", "load_notebook", "parse_notebook",
           "source_text", "python_source", "defined_names", "MAX_BYTES", "MAX_CELLS",
           "MAX_CODE_LINES"]

#: Largest notebook file the grader reads.
MAX_BYTES = 20 * 1024 * 1024
#: Most cells a notebook may have (the course's notebooks have about 40).
MAX_CELLS = 2000
#: Most lines of code in all code cells together (the course's have a few hundred).
#: The grader looks at every line of code in its own process, outside any time
#: limit, so a notebook is refused before that when it has more.
MAX_CODE_LINES = 20_000

_MAGIC = re.compile(r"^(\s*)([%!]|\?\w|\w.*\?$)")
_PY_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


class NotebookError(GradingError):
    """A file that cannot be graded as a notebook.

    Args:
        problem: what is wrong and what to do about it.
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook.

    Attributes:
        index: its position, from 1, Markdown cells included (JupyterLab shows
            no cell numbers: messages name a cell with :meth:`label`).
        cell_type: ``"code"``, ``"markdown"`` or ``"raw"``.
        source: its text.
        metadata: its metadata dict.
    """

    index: int
    cell_type: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        """The cell's tags."""
        tags = self.metadata.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    @property
    def answers(self) -> list[str]:
        """The answer variables this cell defines, from the builder's metadata."""
        meta = self.metadata.get("labsupport")
        names = meta.get("answer") if isinstance(meta, dict) else None
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    @property
    def python(self) -> str:
        """The code as plain Python (IPython magics turned into ``pass``)."""
        return python_source(self.source)

    def first_line(self) -> str:
        """The first non-empty line, shortened to 60 characters; ``""`` when there is none."""
        for line in self.source.splitlines():
            line = line.strip()
            if line:
                return line if len(line) <= 60 else line[:57].rstrip() + "..."
        return ""

    def label(self, questions: Mapping[str, str] | None = None) -> str:
        r"""How a message names this cell, since JupyterLab shows no cell numbers.

        An answer cell is named by its question, a cell that calls a check by
        the check, any other cell by its first line.

        Args:
            questions: which check each answer is for (``{"measure_speedup": "ex02.q3"}``).

        Example:
            >>> Cell(7, "code", "\ndef measure_speedup(job, workers, seed=0):\n    ...").label()
            'the cell starting "def measure_speedup(job, workers, seed=0):"'
            >>> answer = Cell(8, "code", "def f(): ...", {"labsupport": {"answer": ["f"]}})
            >>> answer.label({"f": "ex02.q3"}), answer.label()
            ('the answer cell of ex02.q3', 'the answer cell for f')
            >>> Cell(9, "code", 'ls.check("ex02.q3", f)').label()
            'the cell that checks ex02.q3'
        """
        if self.answers:
            asked = [questions[n] for n in self.answers if questions and n in questions]
            if asked:
                return f"the answer cell of {_and(list(dict.fromkeys(asked)))}"
            return f"the answer cell for {_and(self.answers)}"
        checked = checks_called(self.source) if self.cell_type == "code" else []
        if checked:
            return f"the cell that checks {_and(checked)}"
        first = self.first_line()
        return f'the cell starting "{first}"' if first else "an empty cell"


@dataclass(frozen=True)
class Notebook:
    """A parsed notebook.

    Attributes:
        cells: every cell, in order.
        metadata: the notebook's metadata.
    """

    cells: tuple[Cell, ...]
    metadata: dict[str, Any]

    @property
    def exercise(self) -> str | None:
        """The exercise the builder wrote into the metadata (``"ex02"``), if any."""
        meta = self.metadata.get("labsupport")
        name = meta.get("exercise") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else None

    def code_cells(self) -> list[Cell]:
        """The code cells, in order."""
        return [c for c in self.cells if c.cell_type == "code"]

    def answer_cells(self, name: str) -> list[Cell]:
        """The cells marked as defining answer ``name``."""
        return [c for c in self.cells if name in c.answers]


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def source_text(source: Any) -> str:
    r"""A cell's source as one string (Jupyter stores a list of lines or a string).

    Example:
        >>> source_text(["a = 1\n", "b = 2"])
        'a = 1\nb = 2'
    """
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    raise TypeError("source must be a string or a list of strings")


def python_source(text: str) -> str:
    r"""Plain Python for a code cell: magics and shell commands become ``pass``.

    A cell magic that runs Python (``%%time``, ``%%capture``) is dropped and
    its body kept; any other cell magic (``%%bash``) skips the whole cell.

    Example:
        >>> python_source("%%time\nx = 1")
        'pass  # skipped by the grader: %%time\nx = 1'
        >>> python_source("%%bash\nls")
        'pass  # skipped by the grader: a %%bash cell'
    """
    lines = text.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split()[0] if lines[0].lstrip()[2:].split() else ""
        if magic not in _PY_CELL_MAGICS:
            return f"pass  # skipped by the grader: a %%{magic} cell"
        lines[0] = f"pass  # skipped by the grader: {lines[0].strip()}"
    out = []
    for i, line in enumerate(lines):
        if i == 0 and line.startswith("pass  # skipped"):
            out.append(line)
            continue
        match = _MAGIC.match(line)
        if match and not _is_python(line):
            out.append(f"{match.group(1)}pass  # skipped by the grader: {line.strip()}")
        else:
            out.append(line)
    return "\n".join(out)


def _is_python(line: str) -> bool:
    stripped = line.strip()
    if stripped.startswith(("%", "!")):
        return False
    try:
        ast.parse(stripped)
    except SyntaxError:
        return False
    return True


def defined_names(code: str) -> list[str]:
    r"""Names a piece of code binds at its top level (assignments, defs, classes).

    Example:
        >>> defined_names("import math\ndef f(): pass\nx, y = 1, 2\nclass C: pass")
        ['f', 'x', 'y', 'C']
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []

    def add(target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                add(t)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                add(t)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            add(node.target)
    return list(dict.fromkeys(names))


def parse_notebook(data: bytes) -> Notebook:
    """Parse notebook bytes, or raise :class:`NotebookError` saying what is wrong."""
    if len(data) > MAX_BYTES:
        raise _too_big(len(data))
    if not data.strip():
        raise NotebookError("the file is empty: save the notebook in Jupyter and submit it "
                            "again.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotebookError("not a notebook: the file is not text (not UTF-8). Submit the "
                            ".ipynb file that Jupyter saves, not a PDF, zip or screenshot."
                            ) from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise NotebookError("not a notebook: the JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not a notebook: the file is not valid JSON (line {exc.lineno}, "
                            f"column {exc.colno}: {exc.msg}). Download the notebook again "
                            "from Jupyter (File > Download) and submit that file.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError("valid JSON but not a Jupyter notebook: it has no list of "
                            "\"cells\". Submit the .ipynb file of the exercise.")
    fmt = raw.get("nbformat")
    if fmt is not None and (not isinstance(fmt, int) or fmt < 4):
        raise NotebookError(f"an old notebook format (nbformat {fmt!r}); open the notebook in "
                            "a current JupyterLab, save it, and submit again.")
    if len(raw["cells"]) > MAX_CELLS:
        raise NotebookError(f"the notebook has {len(raw['cells'])} cells; the grader reads at "
                            f"most {MAX_CELLS}. Submit the exercise notebook you were given, "
                            "with your answers in it.")
    cells = []
    code_lines = 0
    for i, c in enumerate(raw["cells"], start=1):
        if not isinstance(c, dict) or not isinstance(c.get("cell_type"), str):
            raise NotebookError(f"cell {i} is damaged (it is not a cell object); open the "
                                "notebook in Jupyter, save it, and submit again.")
        try:
            src = source_text(c.get("source", ""))
        except TypeError:
            raise NotebookError(f"cell {i} is damaged (its source is not text)") from None
        if c["cell_type"] == "code":
            code_lines += src.count("\n") + 1
            if code_lines > MAX_CODE_LINES:
                raise NotebookError(f"the notebook has more than {MAX_CODE_LINES} lines of "
                                    "code; the grader reads at most that many. Remove the "
                                    "generated or pasted code and submit again.")
        meta = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        cells.append(Cell(i, c["cell_type"], src, meta))
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    nb = Notebook(tuple(cells), meta)
    if not any(c.source.strip() for c in nb.code_cells()):
        raise NotebookError("the notebook is empty: it has no code cells with code in them. "
                            "Was the right notebook submitted?")
    return nb


def load_notebook(path: str | Path) -> Notebook:
    """Read and parse the notebook at ``path`` (see :func:`parse_notebook`).

    Only a regular file is read (a named pipe would block the grader, a link
    could point anywhere), and never more than :data:`MAX_BYTES`.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise NotebookError(f"cannot read the file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError("not a regular file (a pipe, a device or a folder); submit "
                                "the exercise notebook itself")
        if info.st_size > MAX_BYTES:
            raise _too_big(info.st_size)
        try:
            data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise NotebookError(f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise _too_big(len(data))
    return parse_notebook(data)


def _too_big(size: int) -> NotebookError:
    return NotebookError(f"the file is {size / 2**20:.0f} MB; a notebook for this course is "
                         "far smaller. Clear the outputs (Edit > Clear Outputs of All Cells), "
                         "save, and submit again.")
