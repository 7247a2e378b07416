"""The gradebook (one CSV row per submission) and a feedback file per student.

Columns: ``student``, ``file``, ``exercise``, ``status``, one column per
check (``ex02.q1``...), ``total``, ``max`` and ``message``. Text that came
from a submission (names, error messages) is made safe for spreadsheets: a
cell never starts with ``=``, ``+``, ``-`` or ``@``, so it cannot be read as
a formula.

Both are written as new files that never follow a symbolic link: an existing
regular file is replaced, anything else in the way (a link planted by a
submission run without a sandbox, a pipe) stops the grader with an error.

The feedback file is Markdown: the status, a table of points, and for each
check the cases with what went wrong. Hidden cases show their label (what
situation they test) and whether they passed, not their data.

Example:
    >>> spreadsheet_safe("=HYPERLINK(1)"), spreadsheet_safe("-3"), spreadsheet_safe("ok")
    ("'=HYPERLINK(1)", "'-3", 'ok')
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from labsupport.errors import GradingError
from labsupport.grading.batch import Graded, safe_name

__all__ = ["write_gradebook", "write_feedback", "feedback_markdown", "spreadsheet_safe",
           "create_new"]


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula, on one line."""
    text = " ".join(str(text).split())
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def create_new(path: Path) -> IO[str]:
    """Open ``path`` for writing as a new file, without following symbolic links.

    Raises:
        GradingError: something other than a regular file is at ``path``.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(mode):
            what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise GradingError(f"will not write {path}: it is {what}; remove it and grade again")
        os.unlink(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o644)
    except FileExistsError:
        raise GradingError(f"will not write {path}: something else created it meanwhile") from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def write_gradebook(graded: Sequence[Graded], path: str | Path) -> Path:
    """Write the CSV gradebook, one row per submission, and return its path."""
    path = Path(path)
    columns: list[str] = []
    for g in graded:
        for r in g.results:
            if r.name not in columns:
                columns.append(r.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with create_new(path) as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "file", "exercise", "status", *columns, "total", "max",
                         "message"])
        for g in graded:
            scores = {r.name: _num(r.score) for r in g.results}
            writer.writerow([spreadsheet_safe(g.student), spreadsheet_safe(g.file),
                             g.exercise or "", g.status,
                             *[scores.get(c, "0" if g.results else "") for c in columns],
                             _num(g.score), _num(g.points), spreadsheet_safe(g.message[:1000])])
    return path


def feedback_markdown(g: Graded) -> str:
    """The feedback for one submission, as Markdown."""
    lines = [f"# Feedback for {g.student}", "",
             f"- submission: `{g.file}`",
             f"- exercise: {g.exercise or 'unknown'}",
             f"- status: **{g.status}**: {g.message}",
             f"- points: **{_num(g.score)} / {_num(g.points)}**", ""]
    if g.results:
        lines += ["| check | what | points |", "|---|---|---|"]
        lines += [f"| {r.name} | {_cell(r.title)} | {_num(r.score)} / {_num(r.points)} |"
                  for r in g.results]
        lines.append("")
    for r in g.results:
        lines.append(f"## {r.name}: {r.title} ({_num(r.score)} / {_num(r.points)})")
        if r.note:
            lines.append(f"{r.note}")
        lines.append("")
        for o in r.outcomes:
            mark = "passed" if o.passed else "failed"
            if o.hidden:
                lines.append(f"- {mark}: {o.label} *(hidden case)*")
            elif o.passed:
                lines.append(f"- {mark}: {o.label}")
            else:
                lines.append(f"- {mark}: {o.label}: {o.message}")
        lines.append("")
    if g.cell_errors:
        lines += ["## Cells that raised an error", ""]
        lines += [f"- {_cell(e)}" for e in g.cell_errors[:20]]
        lines.append("")
    if g.output.strip():
        text = g.output if len(g.output) <= 4000 else g.output[:4000] + "\n..."
        lines += ["## What the notebook printed (start)", "", "```", text.replace("```", "'''"),
                  "```", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def write_feedback(graded: Sequence[Graded], folder: str | Path) -> list[Path]:
    """Write ``folder/<student>.md`` for each submission and return the paths.

    The name is the one the batch gave each submission (unique even when two
    submissions map to one student, and their rows say so); a name taken twice
    anyway gets ``-2``, ``-3``... rather than overwrite another's feedback.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    used: set[str] = set()
    for g in graded:
        base = g.feedback or safe_name(g.student)
        name = base
        k = 2
        while name.lower() in used:
            name = f"{base}-{k}"
            k += 1
        used.add(name.lower())
        path = folder / f"{name}.md"
        with create_new(path) as fh:
            fh.write(feedback_markdown(g))
        paths.append(path)
    return paths
