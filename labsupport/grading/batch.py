"""Grade a folder of submissions: each in its own process, judged by the grader's own checks.

A submission is a notebook file, or a folder holding one (and maybe data
files). Every entry of the folder gets a gradebook row, whatever it is,
hidden files included; only the folders that tools leave behind
(``.ipynb_checkpoints``, ``__MACOSX``, ``__pycache__``) are skipped, and
:func:`skipped` lists them with the reason. Two entries that map to the same
student (``alice/`` and ``alice.ipynb``, or ``alice..ipynb`` whose feedback
file would also be ``alice.md``) each keep their own row and their own
feedback file, and both rows say so. A folder is walked only up to
:data:`MAX_FOLDER_ENTRIES` entries and :data:`MAX_FOLDER_BYTES` before
anything is copied; a bigger one is ``invalid``.

1. the grader reads the notebook itself (:mod:`labsupport.grading.notebook`);
   a file that is not a notebook (or not a regular file at all: a FIFO, a
   device, a symbolic link) is ``invalid`` and never runs;
2. the code cells run in a child process with limits
   (:mod:`labsupport.grading.sandbox`), inside a sandbox
   (:mod:`labsupport.grading.sandboxes`; the grader refuses to run without
   one unless told ``sandbox="none"``), which writes down what each answer
   does on the checks' inputs, as JSON, as it goes;
3. the grader judges those observations with the checks it imported before
   any submission ran, public and hidden cases alike.

Cells tagged ``skip-grading`` (pictures: matplotlib alone costs seconds per
submission) are not run. Statuses: ``ok`` (the notebook ran to its end, even if some cells raised),
``timeout``, ``memory``, ``crashed`` (the process ended early: ``os._exit``,
a signal...) and ``invalid`` (not a gradable notebook). Whatever a submission
produced before it stopped is graded.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsupport.errors import GradingError
from labsupport.grading.checks import Exercise, exercise, exercises
from labsupport.grading.guard import FileGuard, private_library
from labsupport.grading.names import exercise_of_file, exercises_called
from labsupport.grading.notebook import Cell, Notebook, NotebookError, load_notebook
from labsupport.grading.results import CheckResult
from labsupport.grading.sandbox import ChildRun, Limits, run_in_child
from labsupport.grading.sandboxes import NO_SANDBOX_NOTE, Sandbox, choose_sandbox

__all__ = ["Submission", "Graded", "discover", "skipped", "grade_submission", "grade_folder",
           "STATUSES", "MAX_FOLDER_ENTRIES", "MAX_FOLDER_BYTES"]

STATUSES = ("ok", "timeout", "memory", "crashed", "invalid")
#: Cells with this tag only draw pictures; the batch grader does not run them.
SKIP_TAG = "skip-grading"
_SKIP_DIRS = {".ipynb_checkpoints": "Jupyter's autosave folder",
              "__MACOSX": "macOS zip metadata", "__pycache__": "Python's bytecode cache"}
#: Most files and folders a folder submission may hold (walked before anything is copied).
MAX_FOLDER_ENTRIES = 1000
#: Most bytes a folder submission may hold in all.
MAX_FOLDER_BYTES = 200 * 2**20


@dataclass(frozen=True)
class Submission:
    """One entry of the submissions folder.

    Attributes:
        student: the student's id: the file name without ``.ipynb``, or the folder name.
        path: the file or folder as found.
        notebook: the notebook to grade, or None when there is none.
        problem: why it cannot be graded, when known before reading it.
        feedback: its feedback file's name without ``.md``, unique in the batch.
        conflict: what other entries map to the same student, if any.
    """

    student: str
    path: Path
    notebook: Path | None
    problem: str | None = None
    feedback: str = ""
    conflict: str | None = None


@dataclass
class Graded:
    """The grade of one submission.

    Attributes:
        student: the student's id.
        file: the submission's name inside the folder.
        exercise: ``"ex02"``, or None when unknown.
        status: one of :data:`STATUSES`.
        message: what happened, in a sentence or a few.
        results: one :class:`~labsupport.grading.results.CheckResult` per check.
        points: the most points the exercise gives.
        seconds: wall-clock time spent on it.
        output: the head of what the notebook printed.
        cell_errors: ``<the cell>: Error: message`` for cells that raised, each
            cell named as :meth:`~labsupport.grading.notebook.Cell.label` names it.
        feedback: the feedback file's name without ``.md`` (empty: from ``student``).
    """

    student: str
    file: str
    exercise: str | None
    status: str
    message: str
    results: list[CheckResult] = field(default_factory=list)
    points: float = 0.0
    seconds: float = 0.0
    output: str = ""
    cell_errors: list[str] = field(default_factory=list)
    feedback: str = ""

    @property
    def score(self) -> float:
        """Points earned."""
        return round(sum(r.score for r in self.results), 2)


def printable(name: str) -> str:
    r"""A file name as text that can be written anywhere (undecodable bytes become ``?``).

    Example:
        >>> printable("caf\udce9")
        'caf?'
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace(
        "\ufffd", "?")


def skipped(root: Path) -> list[str]:
    """The entries of ``root`` that get no row, each with the reason."""
    return [f"{printable(entry.name)}/: {_SKIP_DIRS[entry.name]}, not a submission"
            for entry in sorted(root.iterdir(), key=lambda p: p.name)
            if entry.name in _SKIP_DIRS and _kind(entry) is None and entry.is_dir()]


def discover(root: Path) -> list[Submission]:
    """Every submission in ``root``, sorted by name (see :func:`skipped` for what is not one)."""
    subs = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        kind = _kind(entry)
        if entry.name in _SKIP_DIRS and kind is None and entry.is_dir():
            continue
        if kind:
            subs.append(Submission(printable(entry.stem or entry.name), entry, None,
                                   f"not a regular file: {printable(entry.name)!r} is {kind}; "
                                   "submit the exercise notebook itself"))
        elif entry.is_dir():
            subs.append(_folder_submission(entry))
        elif entry.suffix.lower() == ".ipynb":
            subs.append(Submission(printable(entry.stem), entry, entry))
        else:
            subs.append(Submission(printable(entry.stem or entry.name), entry, None,
                                   f"not a notebook: {printable(entry.name)!r} is not an "
                                   ".ipynb file; submit the exercise notebook itself"))
    return _name_feedback(subs)


def _name_feedback(subs: list[Submission]) -> list[Submission]:
    """Give each entry a feedback name of its own, and mark entries that share a student.

    Entries share a student when their feedback files would have the same name
    (case aside). The first by file name keeps the plain name, the others get
    ``-2``, ``-3``...: the same whatever order they are graded in.
    """
    groups: dict[str, list[int]] = {}
    for i, sub in enumerate(subs):
        groups.setdefault(safe_name(sub.student).casefold(), []).append(i)
    used = set(groups)
    out = list(subs)
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda i: subs[i].path.name)
        files = [printable(subs[i].path.name) + ("/" if subs[i].path.is_dir() else "")
                 for i in members]
        for rank, i in enumerate(members):
            base = safe_name(subs[i].student)
            name, k = base, 1
            while rank and name.casefold() in used:
                k += 1
                name = f"{base}-{k}"
            used.add(name.casefold())
            conflict = None
            if len(members) > 1:
                conflict = (f"conflict: {len(members)} submissions map to student "
                            f"{subs[i].student!r} ({', '.join(files)}); each has its own row, "
                            f"this one's feedback is {name}.md: decide which one counts")
            out[i] = Submission(subs[i].student, subs[i].path, subs[i].notebook,
                                subs[i].problem, name, conflict)
    return out


def _kind(path: Path) -> str | None:
    """What ``path`` is when it is neither a regular file nor a folder (links not followed)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "unreadable"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a named pipe (FIFO)",
            stat.S_IFSOCK: "a socket"}.get(stat.S_IFMT(mode), "a device")


def _folder_problem(folder: Path) -> str | None:
    """Why a folder is too big to grade, found without walking more than the limits."""
    entries = size = 0
    todo = [folder]
    while todo:
        try:
            with os.scandir(todo.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entries > MAX_FOLDER_ENTRIES:
                        return (f"the folder holds more than {MAX_FOLDER_ENTRIES} files and "
                                "folders; submit the exercise notebook (and the data it reads) "
                                "only")
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        size += entry.stat(follow_symlinks=False).st_size
                        if size > MAX_FOLDER_BYTES:
                            return (f"the folder holds more than {MAX_FOLDER_BYTES // 2**20} "
                                    "MB; submit the exercise notebook (and the data it "
                                    "reads) only")
        except OSError as exc:
            return f"the folder cannot be read: {exc.strerror or exc}"
    return None


def _folder_submission(folder: Path) -> Submission:
    student = printable(folder.name)
    problem = _folder_problem(folder)
    if problem is not None:
        return Submission(student, folder, None, problem)
    found = [p for p in sorted(folder.rglob("*.ipynb"))
             if not any(part in _SKIP_DIRS or part.startswith(".")
                        for part in p.relative_to(folder).parts)]
    if not found:
        return Submission(student, folder, None, "the folder holds no notebook (.ipynb file)")
    if len(found) > 1:
        named = [p for p in found if exercise_of_file(p)]
        if len(named) != 1:
            names = ", ".join(printable(str(p.relative_to(folder))) for p in found[:5])
            return Submission(student, folder, None,
                              f"the folder holds {len(found)} notebooks ({names}); keep only "
                              "the exercise notebook")
        found = named
    return Submission(student, folder, found[0])


def _which_exercise(nb: Notebook, sub: Submission, forced: str | None) -> str:
    if forced:
        return forced
    if nb.exercise:
        return nb.exercise
    seen = {ex for c in nb.code_cells() for ex in exercises_called(c.source)}
    if len(seen) == 1:
        return seen.pop()
    named = exercise_of_file(sub.notebook) if sub.notebook else None
    if named:
        return named
    raise NotebookError("cannot tell which exercise this notebook is: it has no exercise in "
                        "its metadata and no check(\"exNN.qM\", ...) calls. Start from the "
                        "exercise notebook you were given.")


def _structure_notes(nb: Notebook, ex: Exercise) -> list[str]:
    notes = []
    for name in ex.answers:
        cells = nb.answer_cells(name)
        if not cells:
            notes.append(f"the answer cell for {name} is missing (deleted?)")
        elif len(cells) > 1:
            starts = list(dict.fromkeys(f'"{c.first_line()}"' for c in cells))
            where = (f"each starting {starts[0]}" if len(starts) == 1
                     else "starting " + ", ".join(starts[:-1]) + f" and {starts[-1]}")
            notes.append(f"the answer cell for {name} appears {len(cells)} times ({where}); "
                         "the one that ran last counts")
    return notes


class _CellNames:
    """Names the cells of one notebook for messages, by question or first line."""

    def __init__(self, nb: Notebook, ex: Exercise) -> None:
        self.cells: dict[int, Cell] = {c.index: c for c in nb.cells}
        self.questions = {c.answer: c.name for c in ex.checks}

    def __call__(self, index: Any) -> str:
        cell = self.cells.get(index) if isinstance(index, int) else None
        return cell.label(self.questions) if cell is not None else "a cell"


def _questions(ex: Exercise) -> list[dict[str, Any]]:
    return [{"check": c.name, "answer": c.answer, "probe": c.probe,
             "inputs": c.inputs(hidden=True), "library": list(c.library)}
            for c in ex.checks]


def _status(run: ChildRun, limits: Limits, name_cell: _CellNames) -> tuple[str, str]:
    events = [r["event"] for r in run.records]
    cells = [r.get("index") for r in run.records if r["event"] == "cell"]
    where = f" while running {name_cell(cells[-1])}" if cells else " before the first cell"
    memory_hit = "memory" in events
    near_limit = bool(limits.memory_mb) and run.max_rss_mb >= 0.7 * limits.memory_mb
    said_memory = "MemoryError" in run.output or "Cannot allocate memory" in run.output
    if run.memory_limit_hit:
        # The kernel's OOM killer ended a process of the sandbox: together its
        # processes and files held more than the sandbox may (whatever came after).
        return "memory", (f"its processes and files together used more than "
                          f"{limits.sandbox_memory_mb} MB{where}, the sandbox's limit, and "
                          "the kernel stopped one of them; answers produced before that "
                          "were graded")
    if run.timed_out:
        return "timeout", (f"stopped after {limits.timeout:g} s{where} (an endless loop or a "
                           "very slow cell); answers produced before that were graded")
    if run.signal == signal.SIGXCPU:
        return "timeout", (f"used up its CPU time ({int(limits.timeout) + 5} s){where} and "
                           "was stopped; answers produced before that were graded")
    finished = "done" in events and run.exit_code == 0
    if not finished and (near_limit or said_memory or memory_hit):
        return "memory", (f"ran out of memory (limit {limits.memory_mb} MB){where}; answers "
                          "produced before that were graded")
    if not finished and run.signal == getattr(signal, "SIGSYS", None):
        return "crashed", (f"the sandbox stopped the notebook{where}: it made a system call "
                           "that grading does not allow; answers produced before that were "
                           "graded")
    if not finished:
        how = (f"was killed by signal {run.signal} ({_signal_name(run.signal)})"
               if run.signal is not None else f"exited with code {run.exit_code}")
        return "crashed", (f"the notebook ended the grader's process{where} (it {how}: "
                           "os._exit, os.kill or a crash); answers produced before that "
                           "were graded")
    if memory_hit:
        cell = next(r.get("index") for r in run.records if r["event"] == "memory")
        return "memory", (f"{name_cell(cell)} ran out of memory (limit {limits.memory_mb} "
                          "MB); the other cells ran and were graded")
    return "ok", "ran to the end"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def _judge(ex: Exercise, run: ChildRun | None, why_missing: dict[str, str]) -> list[CheckResult]:
    latest: dict[str, dict[str, Any]] = {}
    for record in (run.records if run else []):
        if record.get("event") == "probe" and isinstance(record.get("check"), str):
            latest[record["check"]] = record
    results = []
    for chk in ex.checks:
        record = latest.get(chk.name)
        obs = record.get("obs") if record else None
        if isinstance(obs, list) and all(isinstance(o, dict) for o in obs):
            results.append(chk.grade(obs, hidden=True))
        else:
            reason = (record.get("failed") if record and isinstance(record.get("failed"), str)
                      else why_missing.get(chk.answer)
                      or f"no answer: the notebook never defined {chk.answer}")
            results.append(chk.grade(None, hidden=True, missing=reason[:300]))
    return results


def grade_submission(sub: Submission, *, limits: Limits, forced: str | None = None,
                     prepared: dict[str, Exercise] | None = None,
                     library: Path | None = None, sandbox: Sandbox | None = None) -> Graded:
    """Grade one submission; never raises for anything the submission did.

    ``sandbox`` None runs the child without one (see :func:`grade_folder`).
    """
    start = time.monotonic()
    file = printable(sub.path.name)
    if sub.problem or sub.notebook is None:
        return Graded(sub.student, file, forced, "invalid", sub.problem or "no notebook")
    try:
        nb = load_notebook(sub.notebook)
        name = _which_exercise(nb, sub, forced)
        ex = (prepared or {}).get(name) or exercise(name)
    except GradingError as exc:
        return Graded(sub.student, file, forced, "invalid", str(exc),
                      seconds=time.monotonic() - start)
    notes = _structure_notes(nb, ex)
    cells = [{"index": c.index, "source": c.python} for c in nb.code_cells()
             if SKIP_TAG not in c.tags]
    extras = sub.path if sub.path.is_dir() else None
    run, copy_notes = run_in_child(cells, _questions(ex), limits, extras=extras,
                                   notebook=sub.notebook, library=library, sandbox=sandbox)
    name_cell = _CellNames(nb, ex)
    status, what = _status(run, limits, name_cell)
    defined_by_cell = {}
    reached = max((r.get("index") or 0 for r in run.records if r["event"] == "cell"), default=0)
    for c in nb.code_cells():
        for n in c.answers:
            defined_by_cell.setdefault(n, c.index)
    why_missing = {}
    for answer in ex.answers:
        cell = defined_by_cell.get(answer)
        if status != "ok" and cell is not None and cell > reached:
            why_missing[answer] = (f"no answer: the notebook stopped ({status}) before "
                                   f"{name_cell(cell)}, which defines {answer}")
        elif not nb.answer_cells(answer):
            why_missing[answer] = (f"no answer: the answer cell for {answer} is missing and "
                                   "nothing else defines it")
    results = _judge(ex, run, why_missing)
    errors = [f"{name_cell(r.get('index'))}: {r.get('error')}" for r in run.records
              if r["event"] in ("error", "exit", "memory")]
    parts = [what] + notes + copy_notes
    if run.process_limit_hit:
        parts.append(f"tried to run more than {limits.processes} processes at once (a fork "
                     "bomb?); the sandbox refused the rest")
    exits = [r for r in run.records if r["event"] == "exit"]
    if exits:
        parts.append(f"{name_cell(exits[0].get('index'))} called sys.exit(); the grader went "
                     "on with the next cell, as Jupyter does")
    plain = [e for e in errors if "SystemExit" not in e]
    if plain:
        more = f" and {len(plain) - 2} more" if len(plain) > 2 else ""
        parts.append("errors: " + "; ".join(plain[:2]) + more)
    if run.output_bytes > limits.output_kb * 1024:
        parts.append(f"printed {run.output_bytes / 2**20:.1f} MB of output; only the first "
                     f"{limits.output_kb} KB were kept")
    stuck = sorted({r["failed"] for r in run.records
                    if r["event"] == "probe" and isinstance(r.get("failed"), str)})
    parts.extend(s[:200] for s in stuck[:2])
    if run.bad_lines:
        parts.append(f"ignored {run.bad_lines} line(s) in the results that this submission's "
                     "grading process did not write (something else tampered with the file)")
    return Graded(sub.student, file, ex.name, status, "; ".join(parts), results, ex.points,
                  time.monotonic() - start, run.output, errors)


def _prepare(subs: Sequence[Submission], forced: str | None) -> dict[str, Exercise]:
    """Import and warm every exercise's checks before any submission runs."""
    names = {forced} if forced else set(exercises())
    prepared = {}
    for name in sorted(n for n in names if n):
        ex = exercise(name)
        ex.prepare()
        prepared[name] = ex
    return prepared


def grade_folder(root: str | Path, *, limits: Limits | None = None, jobs: int = 1,
                 exercise_name: str | None = None,
                 progress: Callable[[str], None] | None = None,
                 sandbox: str | Sandbox = "auto") -> list[Graded]:
    """Grade every submission in ``root``, ``jobs`` at a time.

    Args:
        root: the submissions folder.
        limits: time, memory and output limits per submission.
        jobs: how many submissions run at once.
        exercise_name: grade every submission as this exercise (``"ex02"``)
            instead of reading it from each notebook.
        progress: called with one line per finished submission.
        sandbox: ``"auto"`` (bubblewrap; refuse when it does not work),
            ``"bwrap"``, ``"none"`` (no isolation: every row says so), or a
            :class:`~labsupport.grading.sandboxes.Sandbox`.

    Returns:
        one :class:`Graded` per submission, in the folder's order.

    Raises:
        SandboxUnavailable: no sandbox works here and ``sandbox`` is not ``"none"``.
    """
    root = Path(root)
    if not root.is_dir():
        raise GradingError(f"no submissions folder at {root}")
    box = sandbox if isinstance(sandbox, Sandbox) else choose_sandbox(sandbox)
    limits = limits or Limits()
    subs = discover(root)
    for line in skipped(root):
        if progress:
            progress(f"skipped {line}")
    prepared = _prepare(subs, exercise_name)
    with tempfile.TemporaryDirectory(prefix="labsupport-batch-") as tmp:
        library = private_library(Path(tmp) / "lib")
        guard = FileGuard(library)
        batch = _Batch(subs, limits, exercise_name, prepared, library, guard, progress, box)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(batch.grade, range(len(subs))))
        # Whoever ran while the library was changed is graded again, alone:
        # an innocent neighbour now gets a clean grade, the culprit is caught.
        for i in sorted(batch.suspects):
            batch.grade(i, again=True)
    graded = [g for g in batch.out if g is not None]
    _fill_invalid(graded, prepared, exercise_name)
    if not box.isolated:
        for g in graded:
            g.message = f"{g.message}; {NO_SANDBOX_NOTE}"
    return graded


class _Batch:
    """Shared state of one batch: results, progress, and the library guard."""

    def __init__(self, subs: list[Submission], limits: Limits, forced: str | None,
                 prepared: dict[str, Exercise], library: Path, guard: FileGuard,
                 progress: Callable[[str], None] | None, sandbox: Sandbox) -> None:
        self.subs = subs
        self.sandbox = sandbox
        self.limits = limits
        self.forced = forced
        self.prepared = prepared
        self.library = library
        self.guard = guard
        self.progress = progress
        self.out: list[Graded | None] = [None] * len(subs)
        self.suspects: set[int] = set()
        self.lock = threading.Lock()
        self.epoch = 0
        self.done = 0

    def grade(self, i: int, again: bool = False) -> None:
        sub = self.subs[i]
        with self.lock:
            started = self.epoch
        try:
            graded = grade_submission(sub, limits=self.limits, forced=self.forced,
                                      prepared=self.prepared, library=self.library,
                                      sandbox=self.sandbox)
        except Exception as exc:  # noqa: BLE001 - one broken submission never stops the batch
            graded = Graded(sub.student, printable(sub.path.name), self.forced, "crashed",
                            f"the grader failed on this submission: {type(exc).__name__}: "
                            f"{exc}")
        with self.lock:
            changed = self.guard.check_and_restore()
            if changed:
                self.epoch += 1
            if (changed or started != self.epoch) and not again:
                self.suspects.add(i)
            elif changed:
                files = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
                graded = Graded(sub.student, graded.file, graded.exercise, "invalid",
                                "the submission changed the grader's library files "
                                f"({files}); they were put back, and it gets no points",
                                points=graded.points, seconds=graded.seconds,
                                output=graded.output, cell_errors=graded.cell_errors)
            graded.feedback = sub.feedback
            if sub.conflict and not graded.message.startswith("conflict:"):
                graded.message = f"{sub.conflict}; {graded.message}"
            self.out[i] = graded
            if i in self.suspects and not again:
                return
            self.done += 1
            if self.progress:
                self.progress(f"[{self.done}/{len(self.subs)}] {graded.student}: "
                              f"{graded.status}, {graded.score:g}/{graded.points:g} points "
                              f"({graded.seconds:.1f} s)")


def _fill_invalid(graded: list[Graded], prepared: dict[str, Exercise], forced: str | None) -> None:
    """Give unreadable submissions the batch's exercise, so their row shows 0 of its points."""
    seen = {g.exercise for g in graded if g.exercise}
    name = forced or (seen.pop() if len(seen) == 1 else None)
    ex = prepared.get(name) if name else None
    if ex is None:
        return
    for g in graded:
        if g.status == "invalid" and not g.results:
            g.exercise = ex.name
            g.points = ex.points
            g.results = [c.grade(None, hidden=True, missing="not graded: the submission is "
                                 "not a gradable notebook") for c in ex.checks]


def safe_name(student: str) -> str:
    """A file name for a student's feedback: letters (any script), digits, ``-_.``.

    Example:
        >>> safe_name("Zoë Ølsen / 3"), safe_name("..")
        ('Zoë_Ølsen_3', 'student')
    """
    text = unicodedata.normalize("NFC", student)
    text = re.sub(r"[^\w.-]+", "_", text).strip("._")
    return text[:100] or "student"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
