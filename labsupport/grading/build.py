r"""Write exercises/ from solutions/: answers out, stubs in, hidden checks gone.

The solution notebooks are the source of truth. In a code cell the answer
sits between two marker lines::

    def amdahl_speedup(parallel_fraction, workers):
        ### BEGIN ANSWER
        return 1 / ((1 - parallel_fraction) + parallel_fraction / workers)
        ### END ANSWER

and the builder replaces it with a stub at the same indentation: ``name =
...`` when the answer only assigns names, ``raise NotImplementedError("your
answer here")`` otherwise. A cell tagged ``answer`` is an answer as a whole.
In markdown, ``<!-- BEGIN ANSWER -->`` and ``<!-- END ANSWER -->`` mark a
written answer. Cells tagged ``solution-only`` (the hidden checks, notes for
instructors) are left out. Outputs are stripped, and every answer cell gets
``{"labsupport": {"answer": [names]}}`` in its metadata so the grader can
tell when one was deleted or duplicated.

Example:
    >>> print("\n".join(stub_lines(["    return 42"], "    ")))
        raise NotImplementedError("your answer here")
    >>> stub_lines(["rate = 3 * 4", "total: float = rate + 1"], "")
    ['rate = ...  # your answer here', 'total = ...']
"""

from __future__ import annotations

import ast
import copy
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labsupport.authoring.cells import assign_ids, dumps
from labsupport.errors import GradingError
from labsupport.grading.jsonable import STUB_TEXT
from labsupport.grading.names import exercise_of_file
from labsupport.grading.notebook import defined_names, python_source, source_text

__all__ = ["render_exercise", "build", "dumps", "stub_lines", "BuildResult", "expected_exercise",
           "stale_exercises", "SOLUTION_ONLY_TAGS", "ANSWER_TAG"]

ANSWER_TAG = "answer"
SOLUTION_ONLY_TAGS = frozenset({"solution-only", "hidden-check"})
_BEGIN = re.compile(r"^(\s*)#{2,}\s*BEGIN ANSWER\s*$")
_END = re.compile(r"^\s*#{2,}\s*END ANSWER\s*$")
_MD_BEGIN = re.compile(r"^\s*<!--\s*BEGIN ANSWER\s*-->\s*$")
_MD_END = re.compile(r"^\s*<!--\s*END ANSWER\s*-->\s*$")
_STRIP_CELL_META = ("execution", "collapsed", "scrolled")


def stub_lines(region: list[str], indent: str) -> list[str]:
    """What replaces an answer region (lines without newlines) at ``indent``."""
    code = textwrap.dedent("\n".join(region))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        tree = None
    if tree is not None and tree.body and all(
            isinstance(n, (ast.Assign, ast.AnnAssign)) for n in tree.body):
        names = defined_names(code)
        if names:
            lines = [f"{indent}{name} = ..." for name in names]
            lines[0] += f"  # {STUB_TEXT}"
            return lines
    return [f'{indent}raise NotImplementedError("{STUB_TEXT}")']


def _code_regions(lines: list[str], where: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        begin = _BEGIN.match(lines[i])
        if _END.match(lines[i]):
            raise GradingError(f"{where}: '### END ANSWER' without a '### BEGIN ANSWER' before it")
        if not begin:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not _END.match(lines[j]):
            if _BEGIN.match(lines[j]):
                raise GradingError(f"{where}: a second '### BEGIN ANSWER' before '### END ANSWER'")
            j += 1
        if j == len(lines):
            raise GradingError(f"{where}: '### BEGIN ANSWER' without '### END ANSWER'")
        region = lines[i + 1:j]
        indent = begin.group(1)
        if region:
            first = next((ln for ln in region if ln.strip()), "")
            indent = first[:len(first) - len(first.lstrip())] if first else indent
        out.extend(stub_lines(region, indent))
        i = j + 1
    return out


def _markdown_regions(lines: list[str], where: str) -> list[str]:
    out: list[str] = []
    inside = False
    for line in lines:
        if _MD_BEGIN.match(line):
            if inside:
                raise GradingError(f"{where}: a second BEGIN ANSWER before END ANSWER")
            inside = True
            out.append("*Write your answer here.*")
        elif _MD_END.match(line):
            if not inside:
                raise GradingError(f"{where}: END ANSWER without BEGIN ANSWER")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise GradingError(f"{where}: BEGIN ANSWER without END ANSWER")
    return out


def _to_source(text: str) -> list[str]:
    lines = text.split("\n")
    return [ln + "\n" for ln in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def render_exercise(solution: dict[str, Any], *, exercise: str,
                    answers: list[str] | None = None, source: str = "",
                    keep_answers: bool = False) -> dict[str, Any]:
    """The exercise notebook (a dict) for a solution notebook (a dict).

    Args:
        solution: the solution notebook as parsed JSON.
        exercise: its exercise name, ``"ex02"``.
        answers: the answer variables the checks grade; each must be defined
            by exactly one answer cell. None skips that test.
        source: where the solution lives, recorded in the metadata.
        keep_answers: keep the reference answers (and drop only the
            solution-only cells): the notebook a perfect student would hand
            in, for testing the grader.

    Raises:
        GradingError: unbalanced markers, or an answer with no (or two) cells.
    """
    nb = copy.deepcopy(solution)
    cells = []
    defined: dict[str, int] = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        meta = cell.setdefault("metadata", {})
        tags = [t for t in meta.get("tags", []) if isinstance(t, str)]
        if SOLUTION_ONLY_TAGS & set(tags):
            continue
        where = f"{source or 'notebook'}, cell {number}"
        text = source_text(cell.get("source", ""))
        lines = text.split("\n")
        if cell.get("cell_type") == "code":
            is_answer = ANSWER_TAG in tags or any(_BEGIN.match(ln) or _END.match(ln)
                                                  for ln in lines)
            if is_answer:
                names = defined_names(python_source(text))
                if answers is not None:
                    names = [n for n in names if n in answers]
                for n in names:
                    defined[n] = defined.get(n, 0) + 1
                if keep_answers:
                    new_lines = [ln for ln in lines if not (_BEGIN.match(ln) or _END.match(ln))]
                    tags = tags if ANSWER_TAG in tags else tags + [ANSWER_TAG]
                elif ANSWER_TAG in tags and not any(_BEGIN.match(ln) or _END.match(ln)
                                                    for ln in lines):
                    new_lines = stub_lines(lines, "")
                else:
                    new_lines = _code_regions(lines, where)
                    tags = tags if ANSWER_TAG in tags else tags + [ANSWER_TAG]
                meta["tags"] = tags
                meta["labsupport"] = {**(meta.get("labsupport") or {}), "answer": names}
                text = "\n".join(new_lines)
            cell["outputs"] = []
            cell["execution_count"] = None
            for key in _STRIP_CELL_META:
                meta.pop(key, None)
        elif cell.get("cell_type") == "markdown" and any(_MD_BEGIN.match(ln) for ln in lines):
            if keep_answers:
                text = "\n".join(ln for ln in lines
                                 if not (_MD_BEGIN.match(ln) or _MD_END.match(ln)))
            else:
                text = "\n".join(_markdown_regions(lines, where))
        cell["source"] = _to_source(text)
        cells.append(cell)
    if answers is not None:
        for name in answers:
            count = defined.get(name, 0)
            if count != 1:
                raise GradingError(f"{source or 'the solution'}: answer {name!r} is defined by "
                                   f"{count} answer cells; it needs exactly one (put it between "
                                   "### BEGIN ANSWER and ### END ANSWER)")
    nb["cells"] = cells
    meta = nb.setdefault("metadata", {})
    meta.pop("jupytext", None)   # the exercise has no text source of its own to pair with
    meta["labsupport"] = {"exercise": exercise,
                          "generated_from": source or f"solutions/{exercise}"}
    # Ids come from the exercise's own cells: an id made from an answer cell's text
    # would let a student test guesses of the answer against it.
    return assign_ids(nb)


@dataclass(frozen=True)
class BuildResult:
    """One exercise written (or found out of date).

    Attributes:
        solution: the solution notebook.
        exercise: the exercise notebook.
        changed: whether the exercise file differs from what the solution gives.
    """

    solution: Path
    exercise: Path
    changed: bool


def expected_exercise(solution_path: Path, solution: dict[str, Any] | None = None) -> str:
    """The exact text ``exercises/`` should hold for one solution notebook.

    Args:
        solution_path: the solution's ``.ipynb`` (or its text source).
        solution: the solution notebook itself; read from ``solution_path`` when None.
    """
    name = exercise_of_file(solution_path)
    if name is None:
        raise GradingError(f"{solution_path.name}: an exercise notebook is named like "
                           "ex02_speedup.ipynb")
    answers: list[str] | None
    try:
        from labsupport.grading.checks import exercise

        answers = exercise(name).answers
    except GradingError:
        answers = None
    if solution is None:
        solution = json.loads(solution_path.read_text(encoding="utf-8"))
    # Name the file an author edits: the text source when there is one.
    text_source = solution_path.with_suffix(".md")
    shown = text_source if text_source.exists() else solution_path.with_suffix(".ipynb")
    rel = f"{solution_path.parent.name}/{shown.name}"
    return dumps(render_exercise(solution, exercise=name, answers=answers, source=rel))


def build(solutions: str | Path = "solutions", exercises: str | Path = "exercises", *,
          write: bool = True, notebooks: dict[Path, dict[str, Any]] | None = None,
          errors: list[tuple[Path, GradingError]] | None = None) -> list[BuildResult]:
    """Generate every ``exercises/exNN_*.ipynb`` from ``solutions/``.

    Args:
        solutions: the folder of solution notebooks.
        exercises: the folder to write to.
        write: False only compares (for a test or ``build --check``).
        notebooks: solution notebooks already in memory, by the path of their
            ``.ipynb`` (the notebook build passes what it just built from the
            text sources); any other solution is read from its file.
        errors: when given, a solution that cannot be rendered is recorded here
            and the others are still built; otherwise its error is raised.
    """
    solutions, exercises = Path(solutions), Path(exercises)
    if not solutions.is_dir():
        raise GradingError(f"no solutions folder at {solutions}; run this from the course's "
                           "top folder or pass --solutions")
    given = {Path(k).resolve(): v for k, v in (notebooks or {}).items()}
    paths = {p.resolve() for p in solutions.glob("ex*.ipynb")} | set(given)
    results = []
    for path in sorted(paths, key=lambda p: p.name):
        if exercise_of_file(path) is None or path.parent != solutions.resolve():
            continue
        try:
            text = expected_exercise(path, given.get(path))
        except GradingError as exc:
            if errors is None:
                raise
            errors.append((path, exc))
            continue
        target = exercises / path.name
        old = target.read_text(encoding="utf-8") if target.exists() else None
        changed = old != text
        if write and changed:
            exercises.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        results.append(BuildResult(path, target, changed))
    return results


def stale_exercises(solutions: str | Path = "solutions",
                    exercises: str | Path = "exercises") -> list[Path]:
    """Exercise notebooks whose solution is gone (renamed or deleted)."""
    solutions, exercises = Path(solutions), Path(exercises)
    have = {p.stem for p in solutions.glob("ex*.ipynb")} | {p.stem for p in
                                                             solutions.glob("ex*.md")}
    return [p for p in sorted(exercises.glob("*.ipynb"))
            if exercise_of_file(p) and p.stem not in have]
