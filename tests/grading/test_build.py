from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labsupport.errors import GradingError
from labsupport.grading.build import build, expected_exercise, render_exercise, stub_lines
from labsupport.grading.checks import exercise, exercises
from labsupport.grading.names import exercise_of_file
from labsupport.grading.notebook import defined_names, parse_notebook

from .helpers import EXERCISES, ROOT, reference, solution_paths


def test_there_is_a_real_exercise_with_checks():
    paths = solution_paths()
    assert [p.name for p in paths if p.name.startswith("ex02_")] == ["ex02_speedup.ipynb"]
    assert "ex02" in exercises()


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.name)
def test_exercises_folder_is_up_to_date_with_solutions(solution):
    target = EXERCISES / solution.name
    assert target.exists(), f"run: make notebooks ({target} is missing)"
    assert target.read_text(encoding="utf-8") == expected_exercise(solution), (
        f"{target} is out of date with {solution}; run: make notebooks")


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(solution):
    for path in (solution, EXERCISES / solution.name):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path


@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.name)
def test_exercise_has_no_answers_no_hidden_checks_and_calls_every_public_check(solution):
    ex = exercise(exercise_of_file(solution))
    raw = (EXERCISES / solution.name).read_text(encoding="utf-8")
    nb = parse_notebook(raw.encode())
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN ANSWER" not in text and "END ANSWER" not in text
    assert "hidden=True" not in text and "require_full_marks" not in text
    for chk in ex.checks:
        assert len(nb.answer_cells(chk.answer)) == 1, chk.answer
        if chk.public:
            assert f'check("{chk.name}", {chk.answer})' in text
    assert nb.exercise == ex.name
    ref = parse_notebook(json.dumps(reference(solution)).encode())
    assert len(ref.cells) == len(nb.cells)


def test_stub_rules():
    assert stub_lines(["x = 1", "y: int = 2"], "") == ["x = ...  # your answer here", "y = ..."]
    assert stub_lines(["        return 3"], "        ") == [
        '        raise NotImplementedError("your answer here")']
    assert stub_lines(["self.t = 1"], "    ") == [
        '    raise NotImplementedError("your answer here")']
    assert stub_lines(["for i in range(3):"], "") == [
        'raise NotImplementedError("your answer here")']


def _nb(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(src, tags=(), outputs=None):
    return {"cell_type": "code", "execution_count": 3, "id": "c", "source": src,
            "metadata": {"tags": list(tags), "execution": {"x": 1}},
            "outputs": outputs or [{"output_type": "stream", "name": "stdout", "text": "hi"}]}


def test_render_replaces_regions_strips_outputs_and_drops_solution_only_cells():
    sol = _nb(_code("def f(x):\n    ### BEGIN ANSWER\n    return 2 * x\n    ### END ANSWER\n"),
              _code("### BEGIN ANSWER\nk = 3\n### END ANSWER\nprint(k)"),
              _code("check_all(hidden=True)", tags=["solution-only"]),
              {"cell_type": "markdown", "metadata": {}, "id": "m",
               "source": "Why?\n<!-- BEGIN ANSWER -->\nBecause.\n<!-- END ANSWER -->"},
              _code("whole = 1", tags=["answer"]))
    out = render_exercise(sol, exercise="ex00", answers=["f", "k", "whole"])
    cells = out["cells"]
    assert len(cells) == 4
    assert "".join(cells[0]["source"]) == (
        'def f(x):\n    raise NotImplementedError("your answer here")\n')
    assert "".join(cells[1]["source"]) == "k = ...  # your answer here\nprint(k)"
    assert "Because" not in "".join(cells[2]["source"])
    assert "".join(cells[3]["source"]) == "whole = ...  # your answer here"
    for c in (cells[0], cells[1], cells[3]):
        assert c["outputs"] == [] and c["execution_count"] is None
        assert "execution" not in c["metadata"] and "answer" in c["metadata"]["tags"]
    assert cells[0]["metadata"]["labsupport"] == {"answer": ["f"]}
    assert out["metadata"]["labsupport"]["exercise"] == "ex00"
    kept = render_exercise(sol, exercise="ex00", answers=["f", "k", "whole"], keep_answers=True)
    assert "return 2 * x" in "".join(kept["cells"][0]["source"])
    assert "BEGIN" not in json.dumps(kept)


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN ANSWER\nx = 1\n", "without '### END ANSWER'"),
    ("x = 1\n### END ANSWER\n", "without a '### BEGIN ANSWER'"),
    ("### BEGIN ANSWER\n### BEGIN ANSWER\n### END ANSWER", "a second"),
])
def test_unbalanced_markers_are_reported_with_the_cell(source, problem):
    with pytest.raises(GradingError, match=problem) as err:
        render_exercise(_nb(_code(source)), exercise="ex00", source="solutions/ex00_a.ipynb")
    assert "cell 1" in str(err.value)


def test_an_answer_without_exactly_one_answer_cell_is_an_authoring_error():
    two = _nb(_code("### BEGIN ANSWER\nk = 1\n### END ANSWER"),
              _code("### BEGIN ANSWER\nk = 2\n### END ANSWER"))
    with pytest.raises(GradingError, match="defined by 2 answer cells"):
        render_exercise(two, exercise="ex00", answers=["k"])
    one = _nb(_code("### BEGIN ANSWER\nk = 1\n### END ANSWER"))
    with pytest.raises(GradingError, match="'missing' is defined by 0 answer cells"):
        render_exercise(one, exercise="ex00", answers=["k", "missing"])


def test_build_writes_then_reports_up_to_date(tmp_path):
    sol = tmp_path / "solutions"
    sol.mkdir()
    (sol / "ex00_demo.ipynb").write_text(json.dumps(
        _nb(_code("### BEGIN ANSWER\nk = 1\n### END ANSWER"))), encoding="utf-8")
    (sol / "notes.ipynb").write_text("{}", encoding="utf-8")
    first = build(sol, tmp_path / "exercises")
    assert [(r.exercise.name, r.changed) for r in first] == [("ex00_demo.ipynb", True)]
    assert [r.changed for r in build(sol, tmp_path / "exercises")] == [False]
    cmd = [sys.executable, "-m", "labsupport.grading", "build", "--solutions", str(sol),
           "--exercises", str(tmp_path / "exercises"), "--check"]
    assert subprocess.run(cmd, capture_output=True, cwd=tmp_path).returncode == 0
    (tmp_path / "exercises" / "ex00_demo.ipynb").write_text("{}", encoding="utf-8")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and "out of date" in done.stdout


def test_build_check_passes_on_the_course_itself():
    done = subprocess.run([sys.executable, "-m", "labsupport.grading", "build", "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_defined_names_sees_top_level_bindings_only():
    assert defined_names("def f():\n    inner = 1\nx = y = 2\n(a, b) = 1, 2\nz += 1") == [
        "f", "x", "y", "a", "b", "z"]


@pytest.mark.slow
@pytest.mark.parametrize("solution", solution_paths(), ids=lambda p: p.name)
def test_the_untouched_exercise_runs_top_to_bottom(solution):
    """"Run All" before answering: every cell runs, each check says "not answered yet"."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(EXERCISES / solution.name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(EXERCISES)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert text.count("not answered yet") >= len(exercise(exercise_of_file(solution)).checks)
