"""What students can see gives nothing away: the release, hints, hidden cases, wrappers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import labsupport.dc as dc
from labsupport.errors import GradingError
from labsupport.grading import check
from labsupport.grading.checks import exercise, exercises
from labsupport.grading.release import release
from labsupport.grading.student import HIDDEN_DETAILS

ROOT = Path(__file__).resolve().parents[2]
_BEGIN = re.compile(r"^\s*#{2,}\s*BEGIN ANSWER\s*$")
_END = re.compile(r"^\s*#{2,}\s*END ANSWER\s*$")


def answer_lines() -> set[str]:
    """Every meaningful line of code between the answer markers of solutions/*.md."""
    found: set[str] = set()
    given: set[str] = set()   # lines that the exercise also shows outside its answers
    for path in sorted((ROOT / "solutions").glob("ex*.md")):
        inside = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if _BEGIN.match(line):
                inside = True
            elif _END.match(line):
                inside = False
            elif len(line.strip()) >= 16 and not line.strip().startswith("#"):
                (found if inside else given).add(line.strip())
    # the library's own versions of some answers (dc.TimeoutDetector...) ship by design
    # and so do the lessons' worked examples (notebooks/03 shows a mean reducer)
    # (a line the library or a lesson already holds, even inside a longer line, is boilerplate
    # such as a Service's first line: it cannot give an answer away)
    lessons = list((ROOT / "notebooks").glob("*.md"))
    shipped = []
    manifests = [*(ROOT / "clusters").rglob("*.yaml"), *(ROOT / "clusters").rglob("*.yml")]
    for path in [*(ROOT / "labsupport").rglob("*.py"), *lessons, *manifests]:
        if "bank" not in path.parts:
            text = path.read_text(encoding="utf-8")
            shipped.append(text)
            given.update(ln.strip() for ln in text.splitlines())
    everything = "\n".join(shipped)
    return {line for line in found - given if line not in everything}


def hidden_data() -> set[str]:
    """The JSON text of every hidden case's input and expected value."""
    found: set[str] = set()
    for name in exercises():
        for chk in exercise(name).checks:
            for case in chk.cases:
                if not case.hidden:
                    continue
                for value in (case.input, case.expect):
                    for text in (json.dumps(value), json.dumps(value, indent=1, sort_keys=True)):
                        if value is not None and len(text) >= 8:
                            found.add(text)
    return found


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "course"
    release(out, ROOT)
    return out


def test_the_release_has_what_students_need_and_no_instructor_files(released):
    for name in ("README.md", "pyproject.toml", "Makefile", "environment.yml", "docs/API.md",
                 "notebooks/02_concurrency.ipynb", "exercises/ex02_speedup.ipynb",
                 "labsupport/grading/bank/ex02.json", "labsupport/dc/__init__.py"):
        assert (released / name).is_file(), name
    assert not (released / "solutions").exists()
    assert not (released / "tests").exists()
    assert not (released / "docs" / "AUTHORING.md").exists()
    assert not list((released / "labsupport/grading/bank").glob("ex*.py"))


def test_no_file_of_the_release_holds_a_reference_answer_or_a_hidden_case(released):
    answers, hidden = answer_lines(), hidden_data()
    assert answers and hidden
    for path in released.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(released)
        for line in answers:
            assert line not in text, f"{rel} holds the reference answer line {line!r}"
        for data in hidden:
            assert data not in text, f"{rel} holds hidden case data {data[:60]}"


def test_the_release_refuses_a_folder_with_files_or_inside_the_course(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(GradingError, match="not an empty folder"):
        release(tmp_path, ROOT)
    assert (tmp_path / "keep.txt").read_text() == "mine"
    with pytest.raises(GradingError, match="inside the course"):
        release(ROOT / "release-here", ROOT)
    assert not (ROOT / "release-here").exists()


def test_an_exercise_runs_top_to_bottom_with_the_released_library(released, tmp_path):
    runner = tmp_path / "run.py"
    runner.write_text(
        "import json, sys\n"
        "import labsupport, labsupport.grading.checks as checks\n"
        "assert labsupport.__file__.startswith(sys.argv[2]), labsupport.__file__\n"
        "from labsupport.grading.notebook import python_source, source_text\n"
        "nb = json.load(open(sys.argv[1]))\n"
        "import ast\n"
        "ns = {'display': print}\n"
        "for cell in nb['cells']:\n"
        "    if cell['cell_type'] == 'code':\n"
        "        tree = ast.parse(python_source(source_text(cell['source'])))\n"
        "        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) "
        "else None\n"
        "        exec(compile(tree, 'cell', 'exec'), ns)\n"
        "        if last is not None:\n"
        "            shown = eval(compile(ast.Expression(last.value), 'cell', 'eval'), ns)\n"
        "            print('' if shown is None else shown)\n")
    env = {**os.environ, "PYTHONPATH": str(released), "MPLBACKEND": "Agg"}
    env.pop("LABSUPPORT_GRADER", None)
    run = subprocess.run([sys.executable, str(runner),
                          str(released / "exercises/ex02_speedup.ipynb"), str(released)],
                         cwd=released / "exercises", env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "not answered yet" in run.stdout
    assert "more hidden case(s) are run by the instructor's grader" in run.stdout


def test_a_released_check_judges_public_cases_from_precomputed_values(released):
    code = ("import labsupport as ls\n"
            "r = ls.check('ex02.q1', lambda p, n: 1 / ((1 - p) + p / n))\n"
            "assert r.passed and r.hidden_cases == 4, r\n"
            "r = ls.check('ex02.q1', lambda p, n: n)\n"
            "assert not r.passed and 'expected' in str(r), r\n"
            "r = ls.check('ex02.q1', lambda p, n: 1 / ((1 - p) + p / n), hidden=True)\n"
            "assert r.hidden_cases == 4 and len(r.outcomes) == 3, r\n"
            "print(r)\n")
    env = {**os.environ, "PYTHONPATH": str(released)}
    env.pop("LABSUPPORT_GRADER", None)
    run = subprocess.run([sys.executable, "-c", code], cwd=released, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]


def test_hints_say_what_to_look_at_not_the_code():
    answers = answer_lines()
    for name in exercises():
        for chk in exercise(name).checks:
            hint = chk.hint
            assert "def " not in hint and "return " not in hint, chk.name
            assert f"{chk.answer}(" not in hint, chk.name
            assert not re.search(r"\w+\([^)]*=", hint), f"{chk.name} hint has a call: {hint}"
            for line in answers:
                assert line not in hint, chk.name


def test_check_with_hidden_cases_shows_no_hidden_input_or_expected_value():
    result = check("ex02.q1", lambda p, n: n, hidden=True)
    hidden = [o for o in result.outcomes if o.hidden]
    assert hidden and all(o.message == HIDDEN_DETAILS for o in hidden if not o.passed)
    text = str(result) + result._repr_html_()
    assert "9.91" not in text and "0.95, 1" not in text and "expected" not in text


def test_a_wrapper_around_the_library_function_is_caught():
    from labsupport.dc import amdahl

    for wrapped in (lambda p, n: dc.amdahl(p, n), lambda p, n: amdahl(p, n), dc.amdahl):
        result = check("ex02.q1", wrapped)
        assert not result.passed
        assert "course library's own labsupport.dc.amdahl" in str(result)


def test_a_detector_built_on_the_library_one_is_caught():
    class Subclass(dc.TimeoutDetector):
        pass

    class Delegate:
        def __init__(self, timeout):
            self.inner = dc.TimeoutDetector(timeout)

        def heartbeat(self, node, now):
            self.inner.heartbeat(node, now)

        def suspects(self, now):
            return self.inner.suspects(now)

    assert "builds on the course library's own" in str(check("ex02.q4", Subclass))
    assert "calls the course library's own" in str(check("ex02.q4", Delegate))


def test_using_the_library_where_the_question_allows_it_passes():
    def measure_speedup(job, workers, seed=0):
        return (dc.run_job(job, 1, seed=seed).makespan
                / dc.run_job(job, workers, seed=seed).makespan)

    assert check("ex02.q3", measure_speedup).passed
    assert check("ex02.q1", lambda p, n: 1 / ((1 - p) + p / n)).passed
