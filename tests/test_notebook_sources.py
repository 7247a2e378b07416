"""Every committed notebook is what its text source builds, and the build keeps it so.

The up-to-date check itself runs no notebook: nbval (the notebooks/ and
solutions/ items of this test run) executes them and compares the checked
outputs; this file checks everything else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from labsupport.authoring.build import FIX, build
from labsupport.authoring.cells import CHECK, TAGS, tags_of
from labsupport.authoring.scaffold import LESSON_SECTIONS
from labsupport.authoring.sources import find_sources, notebook_from_text, orphans
from labsupport.errors import AuthoringError
from labsupport.grading import names

ROOT = Path(__file__).resolve().parent.parent
SOURCES = find_sources(ROOT)


def test_every_notebook_of_the_course_has_a_text_source():
    assert {s.text.name for s in SOURCES} >= {"00_tour.md", "ex02_speedup.md"}
    assert orphans(ROOT) == [], "write a text source for these (docs/AUTHORING.md)"
    assert not (ROOT / "tools" / "build_tour.py").exists()


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.text.name)
def test_notebook_is_up_to_date_with_its_source(source):
    report = build(ROOT, check=True, only=[source.text])
    mine = [b for b in report.notebooks if b.path == source.notebook.relative_to(ROOT).as_posix()]
    assert mine and mine[0].state == "up to date", mine[0].why if mine else report.problems


def test_exercises_and_the_whole_course_are_up_to_date():
    report = build(ROOT, check=True)
    assert report.ok, "\n".join(
        [b.line() for b in report.notebooks if b.state != "up to date"] + report.problems
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.text.name)
def test_committed_without_outputs_except_checked_cells(source):
    nb = json.loads(source.notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        if CHECK in tags_of(cell):
            assert cell["outputs"] and cell["execution_count"], cell["source"]
        else:
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]
    assert nb["metadata"]["jupytext"] == {"formats": "ipynb,md:myst"}


@pytest.mark.parametrize(
    "source", [s for s in SOURCES if s.kind == "lesson"], ids=lambda s: s.text.name
)
def test_lessons_follow_the_lesson_structure(source):
    text = source.text.read_text(encoding="utf-8")
    number = names.lesson_of_file(source.text)
    exercise = sorted((ROOT / "solutions").glob(f"ex{number}_*.md"))
    headings = [ln.lstrip("#").strip() for ln in text.splitlines() if ln.startswith("## ")]
    found = []
    for section in LESSON_SECTIONS:
        if section == "Exercise" and not exercise:
            continue
        where = [i for i, h in enumerate(headings) if h.startswith(section)]
        assert where, f"no '## {section}' section"
        found.append(where[0])
    assert found == sorted(found), f"the sections come in this order: {LESSON_SECTIONS}"
    assert "ls.connect(" in text or "labsupport.dc" in text or "from labsupport import dc" in text
    if exercise:
        assert f"exercises/{exercise[0].stem}.ipynb" in text, "the lesson links to its exercise"


# --- the build, proven both ways on a small course of its own -----------------------------

LESSON = """---
jupytext:
  formats: ipynb,md:myst
---
# 98 · A small lesson

Some prose.

```{code-cell} ipython3
x = 6 * 7
```

```{code-cell} ipython3
:tags: [nbval-check-output]

print("x is", x)
```
"""


@pytest.fixture
def course(tmp_path):
    """A course folder with one lesson (one checked cell) and the real ex02 solution."""
    for folder in ("notebooks", "solutions", "exercises"):
        (tmp_path / folder).mkdir()
    (tmp_path / "notebooks" / "98_small.md").write_text(LESSON, encoding="utf-8")
    shutil.copy(ROOT / "solutions" / "ex02_speedup.md", tmp_path / "solutions")
    return tmp_path


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.ipynb"))}


def test_build_writes_runs_checked_cells_and_a_second_build_changes_nothing(course):
    first = build(course)
    assert first.ok, [b.line() for b in first.notebooks] + first.problems
    assert first.ran == 1  # only the lesson has a checked cell
    files = _snapshot(course)
    assert set(files) == {
        "notebooks/98_small.ipynb",
        "solutions/ex02_speedup.ipynb",
        "exercises/ex02_speedup.ipynb",
    }
    nb = json.loads(files["notebooks/98_small.ipynb"])
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0]["outputs"] == [] and code[1]["outputs"][0]["text"] == ["x is 42\n"]
    again = build(course)
    assert again.ran == 0 and _snapshot(course) == files  # idempotent, from the cache
    fresh = build(course, cache=False)
    assert fresh.ran == 1 and _snapshot(course) == files  # and without it
    assert build(course, check=True).ok


def test_check_fails_naming_the_file_and_the_command_until_rebuilt(course):
    build(course)
    src = course / "notebooks" / "98_small.md"
    src.write_text(src.read_text().replace("Some prose.", "Better prose."), encoding="utf-8")
    stale = build(course, check=True)
    assert not stale.ok
    (bad,) = [b for b in stale.notebooks if b.state != "up to date"]
    assert bad.path == "notebooks/98_small.ipynb"
    assert "notebooks/98_small.md" in bad.why and FIX in bad.why
    rebuilt = build(course)
    assert rebuilt.ran == 0  # prose changed, not code: nothing to run
    assert build(course, check=True).ok


def test_editing_a_notebook_by_hand_is_caught_too(course):
    build(course)
    path = course / "exercises" / "ex02_speedup.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["# edited by hand\n"]
    path.write_text(json.dumps(nb))
    report = build(course, check=True)
    assert [b.path for b in report.notebooks if b.state == "out of date"] == [
        "exercises/ex02_speedup.ipynb"
    ]


def test_code_changes_rerun_and_checked_outputs_follow(course):
    build(course)
    src = course / "notebooks" / "98_small.md"
    src.write_text(src.read_text().replace("6 * 7", "6 * 8"), encoding="utf-8")
    assert not build(course, check=True).ok
    report = build(course)
    assert report.ran == 1
    nb = json.loads((course / "notebooks" / "98_small.ipynb").read_text())
    assert "x is 48\n" in nb["cells"][-1]["outputs"][0]["text"]


def test_problems_are_reported_with_the_file_and_the_fix(course):
    (course / "notebooks" / "97_lonely.ipynb").write_text("{}")
    (course / "exercises" / "ex05_gone.ipynb").write_text("{}")
    src = course / "notebooks" / "98_small.md"
    src.write_text(src.read_text().replace('print("x is", x)', "1 / 0"), encoding="utf-8")
    report = build(course)
    assert not report.ok
    text = "\n".join(report.problems)
    assert "notebooks/97_lonely.ipynb has no text source" in text
    assert "exercises/ex05_gone.ipynb has no solution any more" in text
    (failed,) = [b for b in report.notebooks if b.state == "failed"]
    assert "notebooks/98_small.md, cell 3: the cell raised ZeroDivisionError" in failed.why


def test_checked_cell_that_prints_nothing_is_an_authoring_error(course):
    src = course / "notebooks" / "98_small.md"
    src.write_text(src.read_text().replace('print("x is", x)', "y = x"), encoding="utf-8")
    (failed,) = [b for b in build(course).notebooks if b.state == "failed"]
    assert "prints nothing" in failed.why


@pytest.mark.parametrize(
    "text, problem",
    [
        (":tags: [nbval-check-ouput]", "unknown tag 'nbval-check-ouput'"),
        (":tags: [solution-only]", "belongs in a solution"),
    ],
)
def test_bad_tags_are_refused_with_the_cell(text, problem):
    source = LESSON.replace(":tags: [nbval-check-output]", text)
    with pytest.raises(AuthoringError, match=problem) as err:
        notebook_from_text(source, "notebooks/98_small.md")
    assert err.value.cell == 3 and err.value.fix


def test_an_answer_region_in_a_lesson_is_refused():
    source = LESSON.replace("x = 6 * 7", "### BEGIN ANSWER\nx = 6 * 7\n### END ANSWER")
    with pytest.raises(AuthoringError, match="answer region in a lesson"):
        notebook_from_text(source, "notebooks/98_small.md")


def test_every_tag_used_in_the_course_is_a_known_one():
    used = {
        t for s in SOURCES for c in json.loads(s.notebook.read_text())["cells"] for t in tags_of(c)
    }
    assert used <= set(TAGS)


def test_cell_ids_do_not_move_when_a_cell_is_inserted():
    before = notebook_from_text(LESSON, "notebooks/98_small.md")
    after = notebook_from_text(
        LESSON.replace("Some prose.", "Some prose.\n\n+++\n\nNew cell."), "notebooks/98_small.md"
    )
    ids = [c["id"] for c in before["cells"]]
    assert [c["id"] for c in after["cells"] if c["id"] in ids] == ids
    assert len(after["cells"]) == len(before["cells"]) + 1


def test_exercise_cell_ids_say_nothing_about_the_answers():
    from labsupport.authoring.cells import cell_id

    nb = json.loads((ROOT / "exercises" / "ex02_speedup.ipynb").read_text())
    solution = json.loads((ROOT / "solutions" / "ex02_speedup.ipynb").read_text())
    answer_ids = {c["id"] for c in solution["cells"] if "BEGIN ANSWER" in "".join(c["source"])}
    assert answer_ids and not answer_ids & {c["id"] for c in nb["cells"]}
    for cell in nb["cells"]:
        assert cell["id"].startswith(cell_id(cell["cell_type"], "".join(cell["source"])))


# --- opening a source in JupyterLab ------------------------------------------------------


def _contents_manager():
    from jupytext import TextFileContentsManager

    cm = TextFileContentsManager()
    cm.root_dir = str(ROOT)
    return cm


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.text.name)
def test_jupytext_opens_the_source_as_the_committed_notebook(source):
    cm = _contents_manager()
    rel = source.text.relative_to(ROOT).as_posix()
    model = cm.get(rel, type="notebook")
    committed = json.loads(source.notebook.read_text())

    def shape(cells):
        return [(c["cell_type"], "".join(c["source"]), tags_of(c)) for c in cells]

    assert shape(model["content"]["cells"]) == shape(committed["cells"])


def test_the_ipynb_opens_in_jupytext_even_when_newer_than_its_source(tmp_path):
    # A fresh clone, or `make notebooks`, can leave the .ipynb newer than the .md:
    # jupytext then opens the pair only when their inputs agree.
    for name in ("00_tour.md", "00_tour.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, tmp_path / name)
    later = time.time() + 60
    os.utime(tmp_path / "00_tour.ipynb", (later, later))
    from jupytext import TextFileContentsManager

    cm = TextFileContentsManager()
    cm.root_dir = str(tmp_path)
    model = cm.get("00_tour.ipynb", type="notebook")
    checked = [c for c in model["content"]["cells"] if CHECK in tags_of(c)]
    assert checked and all(c["outputs"] for c in checked)


@pytest.mark.slow
def test_a_source_opened_through_jupytext_runs_top_to_bottom():
    import nbformat
    from nbclient import NotebookClient

    model = _contents_manager().get("notebooks/00_tour.md", type="notebook")
    nb = nbformat.from_dict(model["content"])
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    printed = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in printed if o.output_type == "error"]
    assert any("successfully rolled out" in o.get("text", "") for o in printed)
    # Exported to HTML (no widget manager), every picture shows, with alt text: the
    # dashboard's included.
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(nb)
    images = re.findall(r"<img [^>]*>", page)
    pictures = [o for o in printed if "image/png" in o.get("data", {})]
    assert len(images) == len(pictures) >= 6
    for tag in images:
        alt = re.search(r'alt="([^"]*)"', tag)
        assert alt and len(alt.group(1)) > 30, tag[:80]
    dashboard = [c for c in nb.cells if "ls.viz.dashboard(c)" in c.source][0]
    assert any("image/png" in o.get("data", {}) for o in dashboard.outputs)


LINK = re.compile(r"\[[^\]]*\]\(([^)#\s]+)[^)]*\)")


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.text.name)
def test_links_to_course_files_lead_somewhere(source):
    for target in LINK.findall(source.text.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (source.text.parent / target).exists(), f"{source.text.name} links to {target}"


def test_the_authors_guide_lists_exactly_the_known_tags():
    guide = (ROOT / "docs" / "AUTHORING.md").read_text()
    table = guide[guide.index("### Cell tags") : guide.index("## The structure of a lesson")]
    listed = re.findall(r"^\| `([\w-]+)` \|", table, flags=re.M)
    assert sorted(listed) == sorted(TAGS)


def test_one_broken_solution_does_not_stop_the_other_exercises(course):
    broken = LESSON.replace("# 98 · A small lesson", "# Exercise 09").replace(
        "x = 6 * 7", "### BEGIN ANSWER\nx = 6 * 7").replace(":tags: [nbval-check-output]\n\n", "")
    (course / "solutions" / "ex09_broken.md").write_text(broken, encoding="utf-8")
    report = build(course)
    assert any(p.startswith("exercises/ex09_broken.ipynb:") and "END ANSWER" in p
               for p in report.problems)
    assert (course / "exercises" / "ex02_speedup.ipynb").exists()
    assert not (course / "exercises" / "ex09_broken.ipynb").exists()


def test_the_build_does_not_run_cells_nbval_skips(course):
    src = course / "notebooks" / "98_small.md"
    src.write_text(src.read_text().replace('''```{code-cell} ipython3
x = 6 * 7
```''', '''```{code-cell} ipython3
x = 6 * 7
```

```{code-cell} ipython3
:tags: [nbval-skip]

raise RuntimeError("needs a real cluster")
```'''), encoding="utf-8")
    report = build(course)
    assert report.ok, [b.line() for b in report.notebooks]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.text.name)
def test_notebooks_use_only_the_public_api(source):
    """`import labsupport as ls`, and its public subpackages (ls.dc, ls.viz, ls.kube)."""
    import labsupport as ls

    text = source.text.read_text(encoding="utf-8")
    for module, imported in re.findall(r"^\s*from (labsupport[\w.]*) import ([\w, ]+)", text,
                                       re.M):
        assert module in ("labsupport", "labsupport.dc", "labsupport.viz", "labsupport.kube"), (
            f"{source.text.name} imports {module}; use `import labsupport as ls` and ls.<name>")
        if module == "labsupport":
            assert all(n.strip() in ls.__all__ for n in imported.split(",")), imported
    assert not re.search(r"^\s*import labsupport\.", text, re.M)
