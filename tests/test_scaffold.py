"""`make lesson` on a copy of the course: the new lesson runs, its exercise is proven both ways.

The copy gets its own `labsupport` first on the path, so the stub checks
module the scaffold writes is the one the tests import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labsupport.authoring.scaffold import new_lesson
from labsupport.authoring.sources import copy_course
from labsupport.errors import AuthoringError

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _outcomes(cwd: Path, *targets: str) -> dict[str, str]:
    """Run pytest in the copy; each test's outcome ("passed", "failed", "skipped") and message."""
    xml = cwd / "report.xml"
    _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *targets], cwd)
    seen = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            seen[name] = "failed: " + (bad.get("message") or "") + (bad.text or "")
        elif case.find("skipped") is not None:
            seen[name] = "skipped"
        else:
            seen[name] = "passed"
    return seen


def _only(seen: dict[str, str], *parts: str) -> list[str]:
    return [v for k, v in seen.items() if all(p in k for p in parts)]


@pytest.mark.slow
def test_a_scaffolded_lesson_runs_and_its_exercise_is_proven_both_ways(tmp_path):
    course = copy_course(ROOT, tmp_path / "course")
    made = _run(["-m", "labsupport.authoring", "new", "97", "demo-lesson"], course)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (
        "wrote notebooks/97_demo-lesson.md, solutions/ex97_demo-lesson.md, "
        "labsupport/grading/bank/ex97.py" in made.stdout
    )
    for rel in (
        "notebooks/97_demo-lesson.ipynb",
        "solutions/ex97_demo-lesson.ipynb",
        "exercises/ex97_demo-lesson.ipynb",
    ):
        assert (course / rel).exists(), rel
    targets = [
        "notebooks/97_demo-lesson.ipynb",
        "solutions/ex97_demo-lesson.ipynb",
        "tests/grading/test_batch.py",
        "tests/grading/test_build.py",
        "tests/test_notebook_sources.py",
        "-k",
        "97 or demo or up_to_date or structure",
    ]
    seen = _outcomes(course, *targets)
    lesson = [v for k, v in seen.items() if "97_demo-lesson" in k and "ex97" not in k]
    assert lesson and set(lesson) == {"passed"}, lesson  # the lesson runs
    assert set(_only(seen, "untouched", "ex97")) == {"passed"}  # the untouched exercise: 0
    (reference,) = _only(seen, "reference_answers", "ex97")
    assert reference.startswith("failed")  # the stub judge fails...
    solution = _only(seen, "ex97_demo-lesson.ipynb")
    assert any("this check is not written yet" in s for s in solution)  # ...and says so
    assert set(_only(seen, "up_to_date")) == {"passed"}
    assert set(_only(seen, "structure", "97_demo")) == {"passed"}

    # The author writes the judge: now the reference passes and the solution runs.
    bank = course / "labsupport" / "grading" / "bank" / "ex97.py"
    text = bank.read_text()
    start = text.index("    # Compare `seen`")
    end = text.index("\n\n\nQ1 = ")
    bank.write_text(
        text[:start] + '    if seen == case.expect:\n        return True, ""\n'
        '    return False, f"expected {case.expect}, got {seen!r}"' + text[end:]
    )
    seen = _outcomes(course, *targets)
    assert set(_only(seen, "ex97")) == {"passed"}, _only(seen, "ex97")


def test_the_scaffold_never_overwrites_and_explains_bad_names(tmp_path):
    course = tmp_path / "course"
    for folder in ("notebooks", "solutions", "exercises"):
        (course / folder).mkdir(parents=True)
    (course / "notebooks" / "07_other.md").write_text("# taken\n")
    with pytest.raises(AuthoringError, match="lesson 07 already has files: notebooks/07_other.md"):
        new_lesson(7, "deployments", root=course, build_after=False)
    with pytest.raises(AuthoringError, match="lower-case letters"):
        new_lesson(8, "Deploy Ments", root=course, build_after=False)
    with pytest.raises(AuthoringError, match="from 0 to 99"):
        new_lesson("123", "x", root=course, build_after=False)
    made = new_lesson("8", "rolling-updates", root=course, build_after=False)
    assert made.lesson.name == "08_rolling-updates.md"
    assert "# 08 · Rolling updates" in made.lesson.read_text()
    assert 'EXERCISE = Exercise("ex08", "Rolling updates", (Q1,))' in made.bank.read_text()
    before = made.lesson.read_text()
    with pytest.raises(AuthoringError, match="already has files"):
        new_lesson(8, "rolling-updates", root=course, build_after=False)
    assert made.lesson.read_text() == before
