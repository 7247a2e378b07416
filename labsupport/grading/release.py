"""``grading release OUT/``: what students get, with nothing they should not see.

The release holds the lessons (``notebooks/``), the exercise notebooks
(``exercises/``), the library (``labsupport/``, ``pyproject.toml``,
``README.md``, ``environment.yml``, ``Makefile``, ``clusters/``) and the
documentation except the instructor's pages. It holds no ``solutions/``, no
tests, and no instructor's bank: each ``labsupport/grading/bank/exNN.py``
(reference code, hidden cases, hidden seeds) is replaced by ``exNN.json``
with the public cases only, their expected values worked out here by running
the reference solution's answers through the probes (see
:mod:`labsupport.grading.public`). ``check()`` in the release runs those and
says how many more cases the instructor's grader runs.

Example (from the course's top folder)::

    python -m labsupport.grading release ../course-release
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from labsupport.errors import GradingError

__all__ = ["release", "public_bank", "TOP_FILES", "TOP_FOLDERS", "INSTRUCTOR_DOCS"]

#: Files of the course's top folder that students get.
TOP_FILES = ("README.md", "pyproject.toml", "environment.yml", "Makefile")
#: Folders that students get whole (``labsupport/`` and ``docs/`` are filtered).
TOP_FOLDERS = ("notebooks", "exercises", "clusters")
#: Pages of ``docs/`` for instructors and authors only.
INSTRUCTOR_DOCS = frozenset({"AUTHORING.md"})
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")


def release(out: str | Path, course: str | Path = ".") -> list[Path]:
    """Write the students' release of ``course`` into the new folder ``out``.

    Args:
        out: where to write; must not exist yet, or be empty, and must be
            outside the course folder.
        course: the course's top folder (with ``solutions/`` and ``labsupport/``).

    Returns:
        the files written, relative to ``out``.

    Raises:
        GradingError: ``out`` is not empty or lies inside the course, or the
            course folder lacks ``solutions/`` or ``labsupport/``.
    """
    course, out = Path(course).resolve(), Path(out).resolve()
    for need in ("solutions", "labsupport", "exercises"):
        if not (course / need).is_dir():
            raise GradingError(f"no {need}/ in {course}: run this from the course's top folder")
    if out == course or course in out.parents:
        raise GradingError(f"{out} is inside the course folder {course}; write the release "
                           "somewhere else, like ../release")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GradingError(f"{out} is not an empty folder; the release is written only into a "
                           "new or empty folder, so nothing there is overwritten")
    banks = {name: public_bank(name, course) for name in _instructor_exercises(course)}
    out.mkdir(parents=True, exist_ok=True)
    for name in TOP_FILES:
        if (course / name).is_file():
            shutil.copy2(course / name, out / name)
    for name in TOP_FOLDERS:
        if (course / name).is_dir():
            shutil.copytree(course / name, out / name, ignore=_SKIP)
    if (course / "docs").is_dir():
        shutil.copytree(course / "docs", out / "docs", ignore=shutil.ignore_patterns(
            *INSTRUCTOR_DOCS, "__pycache__"))
    shutil.copytree(course / "labsupport", out / "labsupport", ignore=_SKIP)
    bank = out / "labsupport" / "grading" / "bank"
    for module in bank.glob("ex*.py"):
        module.unlink()
    for name, data in banks.items():
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (bank / f"{name}.json").write_text(text, encoding="utf-8")
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


def _instructor_exercises(course: Path) -> list[str]:
    from labsupport.grading.names import is_exercise

    folder = course / "labsupport" / "grading" / "bank"
    return sorted(p.stem for p in folder.glob("ex*.py") if is_exercise(p.stem))


def _solution_of(name: str, course: Path) -> Path:
    found = sorted((course / "solutions").glob(f"{name}_*.ipynb"))
    if not found:
        raise GradingError(f"exercise {name} has checks but no solutions/{name}_*.ipynb; "
                           "build the notebooks first (make notebooks)")
    return found[0]


def public_bank(name: str, course: str | Path = ".") -> dict[str, Any]:
    """The public bank file of one exercise, as JSON data.

    The reference solution runs in a child process (its answers can be slow
    simulations, and it must not change this process); each public input is
    probed there, and what the reference answer gave becomes ``expect``.
    """
    from labsupport.grading.checks import exercise
    from labsupport.grading.public import BANK_FORMAT

    course = Path(course).resolve()
    ex = exercise(name)
    observed = _reference_observations(_solution_of(name, course), course)
    checks = []
    for chk in ex.checks:
        public = chk.selected(hidden=False)
        if not public:
            continue
        seen = observed.get(chk.name)
        if not isinstance(seen, list) or len(seen) != len(public):
            raise GradingError(f"the reference answer of {chk.name} could not be observed: "
                               f"{str(seen)[:300]}")
        cases = []
        for case, obs in zip(public, seen, strict=True):
            if "value" not in obs and not chk.many_answers:
                raise GradingError(f"the reference answer of {chk.name} failed on "
                                   f"{case.label!r}: {obs.get('error')}")
            cases.append({"label": case.label, "input": case.input, "weight": case.weight,
                          "expect": None if chk.many_answers else obs["value"]})
        checks.append({"name": chk.name, "title": chk.title, "points": chk.points,
                       "answer": chk.answer, "probe": chk.probe, "hint": chk.hint,
                       "library": list(chk.library), "many_answers": chk.many_answers,
                       "more_cases": len(chk.cases) - len(public), "cases": cases})
    return {"format": BANK_FORMAT, "name": ex.name, "title": ex.title, "checks": checks}


def _reference_observations(solution: Path, course: Path) -> dict[str, Any]:
    from labsupport.grading.student import GRADER_ENV

    env = {**os.environ, GRADER_ENV: "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(course), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "labsupport.grading.release", str(solution)],
                         cwd=solution.parent, env=env, capture_output=True, text=True, timeout=900,
                         check=False)
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        raise GradingError(f"running the reference answers of {solution.name} failed:\n"
                           f"{run.stderr[-2000:]}")
    return json.loads(lines[-1])


def _observe(solution: Path) -> dict[str, Any]:
    """In the child: run the reference notebook's code, then probe its public inputs."""
    import contextlib
    import io

    from labsupport.grading.build import render_exercise
    from labsupport.grading.checks import exercise
    from labsupport.grading.names import exercise_of_file
    from labsupport.grading.notebook import python_source, source_text
    from labsupport.grading.probes import observe

    name = exercise_of_file(solution)
    assert name is not None  # noqa: S101 - _solution_of found it by this name
    ex = exercise(name)
    nb = render_exercise(json.loads(solution.read_text(encoding="utf-8")), exercise=name,
                         answers=ex.answers, keep_answers=True)
    ns: dict[str, Any] = {"__name__": "__main__", "display": lambda *a, **k: None}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb["cells"]:
            if cell.get("cell_type") == "code":
                exec(compile(python_source(source_text(cell["source"])), solution.name,  # noqa: S102
                             "exec"), ns)
        return {chk.name: observe(chk.probe, ns.get(chk.answer, ...),
                                  chk.inputs(hidden=False), chk.library)
                for chk in ex.checks}


if __name__ == "__main__":
    print(json.dumps(_observe(Path(sys.argv[1]))))
