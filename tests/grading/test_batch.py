"""The batch grader on real exercises and on a corpus of broken and hostile submissions.

Every submission runs in its own child process, so these tests take a while
(the infinite loop alone waits for its time limit). The corpus is graded once,
in one batch with two jobs, and each test looks at its rows.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labsupport.grading.batch import grade_folder
from labsupport.grading.checks import exercise
from labsupport.grading.gradebook import write_feedback, write_gradebook
from labsupport.grading.names import exercise_of_file
from labsupport.grading.sandbox import Limits
from labsupport.grading.sandboxes import bubblewrap_problem

from .helpers import (
    answer_index,
    code,
    reference,
    solution_paths,
    untouched,
    with_cell_after,
    with_cell_first,
    write,
)

LIMITS = Limits(timeout=25, memory_mb=600, probe_seconds=4)
SPEEDUP = [p for p in solution_paths() if p.name == "ex02_speedup.ipynb"][0]


@pytest.fixture(scope="module")
def every_exercise(tmp_path_factory):
    """Each exercise's reference answers and its untouched notebook, graded in one batch."""
    root = tmp_path_factory.mktemp("exercises")
    for path in solution_paths():
        write(root / f"reference-{path.stem}.ipynb", reference(path))
        write(root / f"untouched-{path.stem}.ipynb", untouched(path))
    return {g.student: g for g in grade_folder(root, limits=LIMITS, jobs=2, sandbox="none")}


@pytest.mark.parametrize("path", solution_paths(), ids=lambda p: p.stem)
def test_the_reference_answers_score_full_points(every_exercise, path):
    g = every_exercise[f"reference-{path.stem}"]
    ex = exercise(exercise_of_file(path))
    assert g.status == "ok", g.message
    assert g.score == g.points == ex.points
    assert all(r.passed for r in g.results)
    assert all(o.hidden for r in g.results for o in r.outcomes) is False
    assert any(o.hidden for r in g.results for o in r.outcomes)   # hidden cases did run


@pytest.mark.parametrize("path", solution_paths(), ids=lambda p: p.stem)
def test_the_untouched_exercise_scores_zero_and_says_not_answered_yet(every_exercise, path):
    g = every_exercise[f"untouched-{path.stem}"]
    assert g.status == "ok", g.message
    assert g.score == 0
    for r in g.results:
        assert r.note.startswith("not answered yet"), (r.name, r.note)
        assert all(o.message.startswith("not answered yet") for o in r.outcomes)


# --- the corpus ---------------------------------------------------------------------

def _wrong_everything(nb):
    """Tampering attempts keep the untouched answers: any point they earn is a false pass."""
    return nb


def _build_corpus(root: Path) -> dict[str, str]:
    """Write the corpus; return {student: what it is}."""
    ref = reference(SPEEDUP)
    blank = untouched(SPEEDUP)
    corpus = {}

    def add(name, nb, what, suffix=".ipynb"):
        write(root / f"{name}{suffix}", nb)
        corpus[name] = what

    add("not-json", b"This is my homework, I wrote it in Word.\n", "not JSON")
    add("not-notebook", json.dumps({"name": "alice", "answers": [1, 2, 3]}), "JSON, no cells")
    add("empty", json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                             "nbformat_minor": 5}), "an empty notebook")
    deleted = copy.deepcopy(ref)
    del deleted["cells"][answer_index(deleted, "TimeoutDetector")]
    add("deleted-answer", deleted, "the detector's answer cell deleted")
    dup = copy.deepcopy(ref)
    wrong = copy.deepcopy(dup["cells"][answer_index(dup, "TimeoutDetector")])
    wrong["source"] = ("class TimeoutDetector:\n    def __init__(self, timeout): pass\n"
                       "    def heartbeat(self, node, time): pass\n"
                       "    def suspects(self, now): return set()\n")
    dup["cells"].insert(answer_index(dup, "TimeoutDetector") + 1, wrong)
    add("duplicated-answer", dup, "the detector's answer cell duplicated, second one wrong")
    add("infinite-loop", with_cell_after(ref, "predicted_hours", code("while True:\n    pass")),
        "an endless loop after q2")
    add("memory-bomb", with_cell_after(ref, "predicted_hours",
                                       code("hog = bytearray(8 * 1024**3)")),
        "one huge allocation")
    add("memory-creep", with_cell_after(ref, "measure_speedup", code(
        "hog = []\nwhile True:\n    hog.append(bytearray(10**7))")), "memory growing without end")
    add("sys-exit", with_cell_after(ref, "predicted_hours", code("import sys\nsys.exit(3)")),
        "sys.exit in the middle")
    add("os-exit", with_cell_after(ref, "measure_speedup", code("import os\nos._exit(0)")),
        "os._exit after q3")
    add("kill-self", with_cell_after(ref, "predicted_hours",
                                     code("import os, signal\nos.kill(os.getpid(), 9)")),
        "kills its own process after q2")
    add("huge-output", with_cell_first(ref, code(
        "import sys\nfor _ in range(40):\n    sys.stdout.write('x' * 500_000)\n"
        "import os\nos.write(1, b'y' * 2_000_000)")), "prints 22 MB")
    add("syntax-error", with_cell_after(ref, "predicted_hours", code("def broken(:\n    pass")),
        "a cell that does not parse")
    add("slow-function", with_cell_after(ref, "TimeoutDetector", code(
        "def amdahl_speedup(p, n):\n    while True:\n        pass")),
        "an answer function that never returns")
    add("Zoë Ølsen 李 (final version)", ref, "spaces and unicode in the name")
    (root / "caf\xe9-latin1.ipynb".encode("latin-1").decode("utf-8", "surrogateescape")
     ).write_text(json.dumps(ref), encoding="utf-8")
    corpus["caf?-latin1"] = "a file name that is not UTF-8"
    add("=HYPERLINK(evil)", blank, "a name that is a spreadsheet formula")
    folder = root / "carol"
    write(folder / "ex02_speedup.ipynb",
          with_cell_first(ref, code("note = open('data/notes.txt').read()\nassert note == 'hi'")))
    write(folder / "data" / "notes.txt", "hi")
    write(folder / "README.md", "my submission")
    write(folder / ".ipynb_checkpoints" / "ex02_speedup-checkpoint.ipynb", blank)
    corpus["carol"] = "a folder with data files and a checkpoint"
    write(root / "dave" / "scratch.ipynb", ref)
    write(root / "dave" / "other.ipynb", ref)
    corpus["dave"] = "a folder with two notebooks"
    (root / "erin").mkdir()
    write(root / "erin" / "answers.txt", "42")
    corpus["erin"] = "a folder without a notebook"
    write(root / "frank.pdf", b"%PDF-1.4 not a notebook")
    corpus["frank"] = "a PDF"
    no_meta = copy.deepcopy(ref)
    no_meta["metadata"] = {}
    for cell in no_meta["cells"]:
        cell["metadata"] = {}
    add("stripped-metadata", no_meta, "all metadata removed")

    # Tampering: every one keeps the unanswered stubs, so any point is a false pass.
    add("redefines-check", with_cell_first(blank, code(
        "import labsupport as ls, labsupport.grading as g\n"
        "class R:\n    passed = True\n    score = 99\n"
        "def check(*a, **k):\n    return R()\n"
        "ls.check = g.check = check\n")), "redefines check()")
    add("patches-grading", with_cell_first(blank, code(
        "import labsupport.grading.checks as c, labsupport.grading.probes as p\n"
        "import labsupport.grading.results as r\n"
        "c.Check.grade = lambda self, *a, **k: r.CheckResult(self.name, 'x', 99)\n"
        "r.CheckResult.score = property(lambda self: 99)\n"
        "p.observe = lambda kind, answer, inputs: [{'value': 1.09} for _ in inputs]\n"
        "p.PROBES['call'] = p.PROBES['value'] = p.observe\n")), "monkeypatches the grader")
    add("fake-results", with_cell_first(blank, code(
        "import os, json, glob\n"
        "fake = [{'event': 'probe', 'check': f'ex02.q{i}', 'passed': True, 'score': 10,\n"
        "         'obs': [{'value': 'PASS', 'passed': True}] * 9} for i in range(1, 6)]\n"
        "fake += [{'event': 'grade', 'total': 10}, {'event': 'done'}]\n"
        "targets = glob.glob('/tmp/labsupport-grade-*/results.jsonl') + ['results.jsonl']\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        p = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if p.endswith('results.jsonl'):\n"
        "        targets.append(p)\n"
        "for t in set(targets):\n"
        "    with open(t, 'a') as fh:\n"
        "        fh.write('\\n'.join(json.dumps(x) for x in fake) + '\\n')\n"
        "open('grades.csv', 'w').write('student,total\\nme,10\\n')\n")),
        "writes its own results files")
    add("snoops", with_cell_first(blank, code(
        "import os, pathlib, sys, labsupport\n"
        "lib = pathlib.Path(labsupport.__file__).resolve().parents[1]\n"
        "places = [lib / 'solutions', lib.parent / 'solutions', pathlib.Path.cwd() / 'solutions',\n"
        "          pathlib.Path.cwd().parent / 'solutions']\n"
        "print('FOUND:', [str(p) for p in places if p.exists()])\n"
        "print('ENV:', sorted(os.environ))\n"
        "print('CWD:', os.getcwd(), os.listdir('.'))\n"
        "print('ARGV:', sys.argv, 'STDIN:', repr(sys.stdin.read()))\n")),
        "looks for the solutions and the environment")
    add("prints-fake", with_cell_first(blank, code(
        "print('ex02.q1: 2/2 points\\nTOTAL: 10/10\\n{\"status\": \"ok\", \"score\": 10}')")),
        "prints fake results")
    add("liar-objects", with_cell_after(blank, "chosen_timeout", code(
        "class Liar(float):\n"
        "    def __eq__(self, other): return True\n"
        "    def __lt__(self, other): return False\n"
        "    def __gt__(self, other): return False\n"
        "    def __sub__(self, other): return 0.0\n"
        "    def __abs__(self): return 0.0\n"
        "predicted_hours = Liar(0.0)\n"
        "class Anything:\n"
        "    def __eq__(self, other): return True\n"
        "chosen_timeout = Anything()\n"
        "def amdahl_speedup(p, n):\n    return Anything()\n")), "objects that equal anything")
    return corpus


_NO_BWRAP = bubblewrap_problem()


@pytest.fixture(scope="module", params=[
    "none", pytest.param("bwrap", marks=pytest.mark.skipif(
        _NO_BWRAP is not None, reason=f"no sandbox: {_NO_BWRAP}"))])
def corpus(tmp_path_factory, request):
    """The corpus graded once without a sandbox and once in bubblewrap."""
    root = tmp_path_factory.mktemp("submissions")
    described = _build_corpus(root)
    lines: list[str] = []
    graded = grade_folder(root, limits=LIMITS, jobs=2, progress=lines.append,
                          sandbox=request.param)
    out = tmp_path_factory.mktemp("out")
    book = write_gradebook(graded, out / "grades.csv")
    feedback = write_feedback(graded, out / "feedback")
    return {"described": described, "graded": {g.student: g for g in graded}, "book": book,
            "feedback": feedback, "progress": lines, "root": root}


def _row(corpus, student):
    return corpus["graded"][student]


def test_every_submission_has_a_gradebook_row_and_a_feedback_file(corpus):
    with open(corpus["book"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    students = {r["student"] for r in rows}
    expected = set(corpus["described"])
    expected = {("'" + s) if s.startswith("=") else s for s in expected}
    assert students == expected
    assert len(rows) == len(corpus["described"]) == len(corpus["feedback"])
    assert all(r["status"] in {"ok", "timeout", "memory", "crashed", "invalid"} for r in rows)
    assert all(r["message"] for r in rows)
    assert len(corpus["progress"]) == len(rows)
    assert corpus["progress"][-1].startswith(f"[{len(rows)}/{len(rows)}]")
    header = list(rows[0])
    assert header[:4] == ["student", "file", "exercise", "status"]
    assert header[4:9] == [f"ex02.q{i}" for i in range(1, 6)]
    assert header[-3:] == ["total", "max", "message"]


@pytest.mark.parametrize("student, problem", [
    ("not-json", "not valid JSON"),
    ("not-notebook", "not a Jupyter notebook"),
    ("empty", "the notebook is empty"),
    ("dave", "holds 2 notebooks"),
    ("erin", "holds no notebook"),
    ("frank", "not an .ipynb file"),
])
def test_what_is_not_a_notebook_is_invalid_with_a_reason(corpus, student, problem):
    g = _row(corpus, student)
    assert g.status == "invalid" and problem in g.message and g.score == 0


def _scores(g):
    return {r.name: r.score for r in g.results}


FULL = {"ex02.q1": 2, "ex02.q2": 1, "ex02.q3": 2, "ex02.q4": 3, "ex02.q5": 2}


def test_deleted_and_duplicated_answer_cells(corpus):
    deleted = _row(corpus, "deleted-answer")
    assert deleted.status == "ok"
    assert "answer cell for TimeoutDetector is missing" in deleted.message
    assert _scores(deleted) == {**FULL, "ex02.q4": 0}
    q4 = next(r for r in deleted.results if r.name == "ex02.q4")
    assert "answer cell for TimeoutDetector is missing" in q4.note
    dup = _row(corpus, "duplicated-answer")
    assert dup.status == "ok"
    assert ('the answer cell for TimeoutDetector appears 2 times (each starting "class '
            'TimeoutDetector:"); the one that ran last counts') in dup.message
    assert _scores(dup)["ex02.q4"] < 3 and _scores(dup)["ex02.q1"] == 2


def test_an_endless_loop_times_out_and_keeps_what_came_before(corpus):
    g = _row(corpus, "infinite-loop")
    assert g.status == "timeout" and "stopped after 25 s" in g.message
    assert 'while running the cell starting "while True:"' in g.message
    s = _scores(g)
    assert s["ex02.q1"] == 2 and s["ex02.q2"] == 1
    assert s["ex02.q3"] == s["ex02.q4"] == s["ex02.q5"] == 0
    q3 = next(r for r in g.results if r.name == "ex02.q3")
    assert ("stopped (timeout) before the answer cell of ex02.q3, which defines "
            "measure_speedup") in q3.note


def test_memory_bombs_are_reported_and_the_rest_is_graded(corpus):
    bomb = _row(corpus, "memory-bomb")
    assert bomb.status == "memory" and "memory" in bomb.message
    assert _scores(bomb) == FULL
    creep = _row(corpus, "memory-creep")
    assert creep.status == "memory"
    assert _scores(creep) == FULL


def test_exits_and_kills(corpus):
    g = _row(corpus, "sys-exit")
    assert g.status == "ok" and 'the cell starting "import sys" called sys.exit()' in g.message
    assert _scores(g) == FULL
    g = _row(corpus, "os-exit")
    assert g.status == "crashed" and "exited with code 0" in g.message
    assert _scores(g) == {**FULL, "ex02.q4": 0, "ex02.q5": 0}
    g = _row(corpus, "kill-self")
    assert g.status == "crashed" and "signal 9 (SIGKILL)" in g.message
    assert _scores(g) == {"ex02.q1": 2, "ex02.q2": 1, "ex02.q3": 0, "ex02.q4": 0, "ex02.q5": 0}


def test_huge_output_is_cut_and_graded(corpus):
    g = _row(corpus, "huge-output")
    assert g.status == "ok" and "only the first 64 KB were kept" in g.message
    assert len(g.output) <= 64 * 1024
    assert _scores(g) == FULL


def test_a_broken_cell_or_a_hanging_answer_costs_only_itself(corpus):
    g = _row(corpus, "syntax-error")
    assert g.status == "ok" and _scores(g) == FULL
    assert 'errors: the cell starting "def broken(:": SyntaxError: ' in g.message
    assert "(line 1)" in g.message and "<cell" not in g.message
    g = _row(corpus, "slow-function")
    q1 = next(r for r in g.results if r.name == "ex02.q1")
    assert q1.score == 0 and "did not return within 4 s" in q1.note
    assert _scores(g) == {**FULL, "ex02.q1": 0}


def test_names_folders_and_missing_metadata(corpus):
    assert _scores(_row(corpus, "Zoë Ølsen 李 (final version)")) == FULL
    assert _scores(_row(corpus, "caf?-latin1")) == FULL
    carol = _row(corpus, "carol")
    assert carol.status == "ok" and carol.file == "carol" and _scores(carol) == FULL
    bare = _row(corpus, "stripped-metadata")
    assert bare.exercise == "ex02" and _scores(bare) == FULL
    assert "answer cell for amdahl_speedup is missing" in bare.message
    names = sorted(p.name for p in corpus["feedback"])
    assert "Zoë_Ølsen_李_final_version.md" in names
    assert all("/" not in n and not n.startswith(".") for n in names)


TAMPERING = ["redefines-check", "patches-grading", "fake-results", "prints-fake",
             "liar-objects", "=HYPERLINK(evil)", "snoops"]


def test_a_submission_sees_no_solutions_no_secrets_and_an_empty_folder(corpus):
    out = _row(corpus, "snoops").output
    assert "FOUND: []" in out
    env = out.split("ENV: ")[1].splitlines()[0]
    assert "LABSUPPORT_GRADER" in env and "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env
    assert "CWD:" in out and "[]" in out.split("CWD: ")[1].splitlines()[0]
    assert "STDIN: ''" in out


@pytest.mark.parametrize("student", TAMPERING)
def test_tampering_gains_nothing(corpus, student):
    g = _row(corpus, student)
    assert g.score == 0, (student, _scores(g), g.message)
    assert g.status in {"ok", "crashed"}


def test_no_false_pass_anywhere(corpus):
    broken_answers = {"not-json", "not-notebook", "empty", "dave", "erin", "frank",
                      *TAMPERING}
    for student in broken_answers:
        assert _row(corpus, student).score == 0, student
    for g in corpus["graded"].values():
        assert g.score <= g.points
        # JupyterLab shows no cell numbers: feedback names cells by question or first line
        assert not re.search(r"\bcells? \d", " ".join([g.message, *g.cell_errors])), g.message
        for r in g.results:
            assert r.score <= r.points


def test_spreadsheet_formulas_are_defused_and_feedback_is_readable(corpus):
    text = corpus["book"].read_text(encoding="utf-8")
    assert "\n'=HYPERLINK(evil)," in text
    fb = {p.name: p.read_text(encoding="utf-8") for p in corpus["feedback"]}
    timeout = fb["infinite-loop.md"]
    assert "**timeout**" in timeout and "| ex02.q1 |" in timeout
    blank = fb["HYPERLINK_evil.md"]
    assert "not answered yet" in blank
    assert "*(hidden case)*" in blank
    # hidden cases show their label, not their data
    assert "worker joins late" in blank and "'args'" not in blank


def test_the_command_line(tmp_path):
    subs = tmp_path / "in"
    write(subs / "good.ipynb", reference(SPEEDUP))
    write(subs / "bad.ipynb", "nope")
    out = tmp_path / "grades.csv"
    done = subprocess.run(
        [sys.executable, "-m", "labsupport.grading", "grade", str(subs), "--out", str(out),
         "--feedback", str(tmp_path / "fb"), "--jobs", "2", "--timeout", "60",
         "--memory", "800", "--no-sandbox"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "graded 2 submissions" in done.stdout and "per minute" in done.stdout
    assert "[2/2]" in done.stderr
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows["good"]["total"] == "10" and rows["good"]["status"] == "ok"
    assert rows["bad"]["status"] == "invalid"
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == ["bad.md", "good.md"]
    missing = subprocess.run([sys.executable, "-m", "labsupport.grading", "grade",
                              str(tmp_path / "nowhere"), "--out", str(out)],
                             capture_output=True, text=True, cwd=tmp_path)
    assert missing.returncode == 1 and "no submissions folder" in missing.stderr


TAMPER_LIBRARY = code(
    "import pathlib, labsupport.grading.probes as probes\n"
    "path = pathlib.Path(probes.__file__)\n"
    "path.write_text(path.read_text() + '\\nPROBES[\"value\"] = lambda answer, inputs: '\n"
    "                '[{\"value\": 3.5} for _ in inputs]\\n')\n")


def test_rewriting_the_library_would_fool_later_submissions_without_the_guard(tmp_path):
    from labsupport.grading.batch import discover, grade_submission
    from labsupport.grading.guard import private_library

    write(tmp_path / "subs" / "a-tamper.ipynb", with_cell_first(untouched(SPEEDUP),
                                                                TAMPER_LIBRARY))
    write(tmp_path / "subs" / "b-blank.ipynb", untouched(SPEEDUP))
    library = private_library(tmp_path / "lib")
    subs = discover(tmp_path / "subs")
    first = grade_submission(subs[0], limits=LIMITS, library=library)
    victim = grade_submission(subs[1], limits=LIMITS, library=library)
    assert first.score == 0
    assert _scores(victim)["ex02.q5"] == 2     # the attack is real: a false pass
    assert "PROBES" in (library / "labsupport/grading/probes.py").read_text()


def test_the_guard_undoes_library_changes_and_catches_the_culprit(tmp_path):
    subs = tmp_path / "subs"
    write(subs / "a-tamper.ipynb", with_cell_first(untouched(SPEEDUP), TAMPER_LIBRARY))
    write(subs / "b-blank.ipynb", untouched(SPEEDUP))
    write(subs / "c-reference.ipynb", reference(SPEEDUP))
    write(subs / "d-blank.ipynb", untouched(SPEEDUP))
    lines: list[str] = []
    graded = {g.student: g for g in grade_folder(subs, limits=LIMITS, jobs=2, sandbox="none",
                                                 progress=lines.append)}
    culprit = graded["a-tamper"]
    assert culprit.status == "invalid" and culprit.score == 0
    assert "changed the grader's library files (labsupport/grading/probes.py" in culprit.message
    assert graded["b-blank"].score == 0 and graded["b-blank"].status == "ok"
    assert graded["d-blank"].score == 0 and graded["d-blank"].status == "ok"
    assert graded["c-reference"].score == 10
    assert len(lines) == 4


def test_an_unmarked_notebook_needs_the_exercise_named(tmp_path):
    bare = {"cells": [code("def amdahl_speedup(p, n):\n    return 1 / ((1 - p) + p / n)\n"),
                      code("predicted_hours = 10 / amdahl_speedup(0.99, 10)")],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write(tmp_path / "homework.ipynb", bare)
    [guess] = grade_folder(tmp_path, limits=LIMITS, sandbox="none")
    assert guess.status == "invalid" and "cannot tell which exercise" in guess.message
    [named] = grade_folder(tmp_path, limits=LIMITS, exercise_name="ex02", sandbox="none")
    assert named.status == "ok" and named.score == 3
    assert "answer cell for amdahl_speedup is missing" in named.message


def test_feedback_names_cells_by_question_or_first_line(tmp_path):
    """Cells are named as a learner finds them in JupyterLab, never by a number."""
    nb = reference(SPEEDUP)
    detector = nb["cells"][answer_index(nb, "TimeoutDetector")]
    detector["source"] = "".join(detector["source"]) + "\nraise RuntimeError('late')\n"
    checks_q3 = next(c for c in nb["cells"] if c["cell_type"] == "code"
                     and "ls.check(\"ex02.q3\"" in "".join(c["source"]))
    checks_q3["source"] = "".join(checks_q3["source"]) + "\n1 / 0\n"
    nb = with_cell_after(nb, "predicted_hours", code(
        "\n# a very long comment that goes on and on, far beyond sixty characters\nx = y\n"))
    write(tmp_path / "subs" / "ann.ipynb", nb)
    [g] = grade_folder(tmp_path / "subs", limits=LIMITS, sandbox="none")
    assert g.cell_errors == [
        'the cell starting "# a very long comment that goes on and on, far beyond six...": '
        "NameError: name 'y' is not defined",
        "the cell that checks ex02.q3: ZeroDivisionError: division by zero",
        "the answer cell of ex02.q4: RuntimeError: late",
    ]
    assert "errors: the cell starting" in g.message and "and 1 more" in g.message
    [feedback] = write_feedback([g], tmp_path / "feedback")
    assert "- the answer cell of ex02.q4: RuntimeError: late" in feedback.read_text()
