"""``make notebooks``: every text source to its ``.ipynb``, then ``exercises/`` from solutions.

For each source the build writes the notebook jupytext reads from it, with
stable cell ids, no outputs except in the cells nbval checks, and those
outputs from a run on the seeded simulator (or from the cache of an earlier
run of the same code). Then it regenerates ``exercises/`` from the solutions
it has just built. A second build changes no byte.

``check=True`` writes nothing and runs nothing: it rebuilds each notebook in
memory, takes the checked outputs from the committed file (nbval compares
those with a fresh run), and reports every file that differs.

Example:
    >>> report = build(check=True)      # the course as committed is up to date
    >>> report.ok, report.problems
    (True, [])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsupport.authoring.cells import dumps
from labsupport.authoring.execute import (
    OutputCache,
    apply_outputs,
    code_digest,
    execute,
    library_digest,
    needs_run,
)
from labsupport.authoring.sources import Source, course_root, find_sources, orphans, read_source
from labsupport.errors import AuthoringError, LabSupportError

__all__ = ["build", "BuildReport", "Built", "FIX", "CACHE"]

#: The command that brings every notebook up to date (named in every complaint).
FIX = "make notebooks"
#: Where earlier runs' outputs are kept, relative to the course folder (git ignores it).
CACHE = Path(".cache") / "notebook-outputs.json"


@dataclass(frozen=True)
class Built:
    """What the build did with one notebook.

    Attributes:
        path: the ``.ipynb`` (relative to the course folder).
        state: ``"written"``, ``"up to date"``, ``"out of date"`` (check only)
            or ``"failed"``.
        ran: ``"ran"`` (executed now), ``"cached"`` (outputs of an earlier run),
            ``"committed"`` (check mode) or ``""`` (nothing to run).
        seconds: time spent on it.
        why: for a failure or an out-of-date file, what is wrong.
    """

    path: str
    state: str
    ran: str = ""
    seconds: float = 0.0
    why: str = ""

    def line(self) -> str:
        """One line of the build's report."""
        how = {
            "ran": f"ran in {self.seconds:.1f} s",
            "cached": "outputs cached",
            "committed": "checked outputs as committed",
        }.get(self.ran, "")
        text = f"{self.path:<44} {self.state}" + (f" ({how})" if how else "")
        return text + (f"\n    {self.why}" if self.why else "")


@dataclass
class BuildReport:
    """Everything one build did; ``ok`` is False when anything failed or is out of date."""

    root: Path
    check: bool
    notebooks: list[Built] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every notebook is (now) up to date and nothing failed."""
        return not self.problems and all(
            b.state in ("written", "up to date") for b in self.notebooks
        )

    @property
    def ran(self) -> int:
        """How many notebooks were executed in this build."""
        return sum(b.ran == "ran" for b in self.notebooks)

    def summary(self) -> str:
        """The last line of the report."""
        verb = "checked" if self.check else "built"
        counts: dict[str, int] = {}
        for b in self.notebooks:
            counts[b.state] = counts.get(b.state, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in counts.items()) or "nothing"
        extra = "" if self.check else f"; {self.ran} executed"
        return f"{verb} {len(self.notebooks)} notebooks in {self.seconds:.1f} s: {parts}{extra}"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read_committed(path: Path) -> dict[str, Any] | None:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _outputs_from_committed(nb: dict[str, Any], committed: dict[str, Any] | None) -> list[str]:
    from labsupport.authoring.execute import outputs_of

    return apply_outputs(nb, outputs_of(committed) if committed else {})


def _select(sources: list[Source], only: Sequence[str | Path] | None, root: Path) -> list[Source]:
    if not only:
        return sources
    wanted = {
        (root / p).resolve() if not Path(p).is_absolute() else Path(p).resolve() for p in only
    }
    picked = [s for s in sources if s.text.resolve() in wanted or s.notebook.resolve() in wanted]
    if len(picked) < len(wanted):
        known = {s.text.resolve() for s in sources} | {s.notebook.resolve() for s in sources}
        unknown = sorted(_rel(p, root) for p in wanted - known)
        raise AuthoringError(
            ", ".join(unknown),
            "not a notebook source of the course",
            fix="name a notebooks/NN_slug.md or solutions/exNN_slug.md file",
        )
    return picked


def build(
    root: str | Path | None = None,
    *,
    check: bool = False,
    only: Sequence[str | Path] | None = None,
    jobs: int = 2,
    cache: bool = True,
    run_all: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build (or with ``check``, compare) every notebook and exercise of the course.

    Args:
        root: the course folder; found from the current folder when None.
        check: write and run nothing; report what differs from the sources.
        only: build just these sources (paths of ``.md`` or ``.ipynb`` files);
            exercises are still regenerated from every solution.
        jobs: notebooks executed at once.
        cache: reuse outputs of an earlier run of the same code and library.
        run_all: also run notebooks that have no checked cell (a smoke test).
        progress: called with each line of the report as it is ready.

    Returns:
        The :class:`BuildReport`.
    """
    started = time.monotonic()
    root = course_root(root)
    say = progress or (lambda line: None)
    report = BuildReport(root, check)
    for path in orphans(root):
        report.problems.append(
            f"{_rel(path, root)} has no text source: write "
            f"{_rel(path.with_suffix('.md'), root)} (jupytext --to md:myst "
            f"{_rel(path, root)} makes a first one), or delete the notebook"
        )
    sources = _select(find_sources(root), only, root)
    outputs_cache = OutputCache(root / CACHE if cache and not check else None)
    library = library_digest(root) if not check else ""
    built: dict[Path, dict[str, Any]] = {}
    todo: list[tuple[Source, dict[str, Any], str]] = []
    for source in sources:
        name = _rel(source.notebook, root)
        t0 = time.monotonic()
        try:
            nb = read_source(source, root)
        except AuthoringError as exc:
            report.notebooks.append(Built(name, "failed", why=str(exc)))
            continue
        committed = _read_committed(source.notebook)
        if check:
            missing = _outputs_from_committed(nb, committed)
            state, why = "up to date", ""
            if committed is None:
                state, why = "out of date", f"{name} is missing: run {FIX}"
            elif missing or dumps(nb) != source.notebook.read_text(encoding="utf-8"):
                state = "out of date"
                why = f"{name} differs from what {_rel(source.text, root)} builds: run {FIX}"
            report.notebooks.append(
                Built(name, state, "committed" if needs_run(nb) else "", time.monotonic() - t0, why)
            )
            built[source.notebook] = nb
            continue
        digest = code_digest(nb, library)
        if needs_run(nb) or run_all:
            kept = outputs_cache.get(name, digest)
            if kept is not None and not run_all and not apply_outputs(nb, kept):
                built[source.notebook] = nb
                report.notebooks.append(_write(source, nb, root, "cached", t0))
                continue
            todo.append((source, nb, digest))
            continue
        built[source.notebook] = nb
        report.notebooks.append(_write(source, nb, root, "", t0))
    for line in (b.line() for b in report.notebooks):
        say(line)
    if todo:
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            futures = [(s, nb, d, pool.submit(_run, s, nb, root)) for s, nb, d in todo]
            for source, nb, digest, future in futures:
                name = _rel(source.notebook, root)
                kept, seconds, error = future.result()
                if error is not None:
                    done = Built(name, "failed", "ran", seconds, error)
                else:
                    apply_outputs(nb, kept)
                    outputs_cache.put(name, digest, kept)
                    built[source.notebook] = nb
                    written = _write(source, nb, root, "ran", time.monotonic())
                    done = Built(written.path, written.state, "ran", seconds)
                report.notebooks.append(done)
                say(done.line())
        outputs_cache.save()
    _exercises(report, root, built, say)
    report.seconds = time.monotonic() - started
    return report


def _run(source: Source, nb: dict[str, Any], root: Path) -> tuple[dict, float, str | None]:
    t0 = time.monotonic()
    try:
        kept = execute(nb, _rel(source.text, root), source.notebook.parent)
    except AuthoringError as exc:
        return {}, time.monotonic() - t0, str(exc)
    return kept, time.monotonic() - t0, None


def _write(source: Source, nb: dict[str, Any], root: Path, ran: str, t0: float) -> Built:
    text = dumps(nb)
    path = source.notebook
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old != text:
        path.write_text(text, encoding="utf-8")
    return Built(
        _rel(path, root), "up to date" if old == text else "written", ran, time.monotonic() - t0
    )


def _exercises(
    report: BuildReport, root: Path, built: dict[Path, dict[str, Any]], say: Callable[[str], None]
) -> None:
    from labsupport.grading.build import build as build_exercises
    from labsupport.grading.build import stale_exercises

    solutions, exercises = root / "solutions", root / "exercises"
    failed = {(root / b.path).resolve() for b in report.notebooks if b.state == "failed"}
    given = {p: nb for p, nb in built.items() if p.resolve() not in failed}
    errors: list = []
    try:
        results = build_exercises(solutions, exercises, write=not report.check, notebooks=given,
                                  errors=errors)
    except LabSupportError as exc:
        report.problems.append(f"exercises/: {exc}")
        say(f"exercises/: {exc}")
        return
    for path, exc in errors:          # one broken solution does not stop the others
        report.problems.append(f"exercises/{path.name}: {exc}")
        say(f"exercises/{path.name}: {exc}")
    for r in results:
        if r.solution.resolve() in failed:
            continue
        name = _rel(r.exercise, root)
        if report.check:
            state = "out of date" if r.changed else "up to date"
            why = f"{name} differs from what its solution builds: run {FIX}" if r.changed else ""
        else:
            state, why = ("written" if r.changed else "up to date"), ""
        done = Built(name, state, why=why)
        report.notebooks.append(done)
        say(done.line())
    for path in stale_exercises(solutions, exercises):
        report.problems.append(
            f"{_rel(path, root)} has no solution any more: delete it "
            f"(git rm {_rel(path, root)}) or restore its solution"
        )
