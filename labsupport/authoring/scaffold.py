"""``make lesson NN=07 SLUG=deployments``: a new lesson and its exercise from the template.

Three files are written, each from a template in ``templates/``:

- ``notebooks/NN_slug.md``: the lesson, in the structure every lesson follows;
- ``solutions/exNN_slug.md``: the exercise with one reference answer;
- ``labsupport/grading/bank/exNN.py``: its checks, a stub that fails every
  answer until the author writes the judge.

Then the build turns the two sources into notebooks and writes
``exercises/exNN_slug.ipynb``, so the test suite runs the new lesson at once
(and shows the stub check failing until it is written). Nothing that exists
is ever overwritten.

Example:
    >>> title_from_slug("control-plane"), title_from_slug("pods_and_yaml")
    ('Control plane', 'Pods and yaml')
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from labsupport.authoring.sources import course_root
from labsupport.errors import AuthoringError, LabSupportError
from labsupport.grading import names

__all__ = ["new_lesson", "Scaffolded", "title_from_slug", "LESSON_SECTIONS"]

#: The sections every lesson has, in this order (a test holds the lessons to it).
LESSON_SECTIONS = (
    "Learning goals",
    "Try it",
    "Exercise",
    "Summary",
    "What changes on a real cluster",
)


def title_from_slug(slug: str) -> str:
    """A first title for a lesson: the slug's words, the first capitalised."""
    words = names.check_slug(slug).replace("_", " ").replace("-", " ")
    return words[:1].upper() + words[1:]


def _template(name: str) -> string.Template:
    text = (
        resources.files("labsupport.authoring")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
    )
    return string.Template(text)


@dataclass(frozen=True)
class Scaffolded:
    """The files ``new_lesson`` wrote, and how the first build went.

    Attributes:
        root: the course folder.
        lesson: the lesson source.
        solution: the solution source.
        bank: the checks module.
        built: whether the notebooks were built, and ``problems`` why not.
        problems: what the build reported.
    """

    root: Path
    lesson: Path
    solution: Path
    bank: Path
    built: bool
    problems: tuple[str, ...] = ()

    def next_steps(self) -> str:
        """What to do next, for the command line."""
        rel = [p.relative_to(self.root).as_posix() for p in (self.lesson, self.solution, self.bank)]
        number = names.lesson_of_file(self.lesson)
        lines = ["wrote " + ", ".join(rel)]
        if self.built:
            lines.append("built their notebooks and the exercise (make notebooks)")
        lines += [
            "next:",
            f"  1. write the lesson in {rel[0]} and the exercise in {rel[1]}",
            f"  2. write the judge of ex{number}.q1 in {rel[2]} (until then its check "
            "fails every answer, the reference one too)",
            "  3. make notebooks, then: .venv/bin/python -m pytest "
            f"{self.lesson.with_suffix('.ipynb').relative_to(self.root).as_posix()} "
            f"{self.solution.with_suffix('.ipynb').relative_to(self.root).as_posix()} "
            "tests/grading tests/test_notebook_sources.py",
        ]
        lines += [f"build problem: {p}" for p in self.problems]
        return "\n".join(lines)


def new_lesson(
    number: int | str,
    slug: str,
    *,
    root: str | Path | None = None,
    title: str | None = None,
    build_after: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Scaffolded:
    """Write a lesson, its solution and a stub checks module; build their notebooks.

    Args:
        number: the lesson number (``7`` or ``"07"``); its exercise is ``exNN``.
        slug: the lesson's short name, ``deployments``.
        root: the course folder (found from the current folder when None).
        title: the lesson's title; from the slug when None.
        build_after: build the two notebooks and the exercise right away.
        progress: called with each line of the build's report.

    Raises:
        AuthoringError: a bad number or slug, or the lesson number is taken.
    """
    try:
        nn = names.exercise_number(number)
        stem = names.lesson_file(nn, slug)
        ex_stem = names.exercise_file(nn, slug)
        title = (title or title_from_slug(slug)).strip()
    except LabSupportError as exc:
        raise AuthoringError(
            "make lesson", str(exc), fix="make lesson NN=07 SLUG=deployments"
        ) from None
    if not title or "\n" in title or '"' in title or "'" in title or "$" in title:
        raise AuthoringError(
            "make lesson",
            f"the title {title!r} is empty or has a quote, a dollar sign or a line break",
            fix="give a plain one-line title",
        )
    base = course_root(root)
    lesson = base / "notebooks" / f"{stem}.md"
    solution = base / "solutions" / f"{ex_stem}.md"
    bank = base / "labsupport" / "grading" / "bank" / f"ex{nn}.py"
    taken = [
        p
        for p in (
            *(base / "notebooks").glob(f"{nn}_*"),
            *(base / "solutions").glob(f"ex{nn}_*"),
            bank,
        )
        if p.exists()
    ]
    if taken:
        shown = ", ".join(sorted(p.relative_to(base).as_posix() for p in taken))
        raise AuthoringError(
            "make lesson",
            f"lesson {nn} already has files: {shown}",
            fix="pick another number, or edit those files",
        )
    fields = {
        "number": nn,
        "slug": slug,
        "title": title,
        "lesson": stem,
        "exercise": ex_stem,
        "exercise_module": f"ex{nn}",
        "header": _template("header.tmpl").template,
    }
    for path, template in (
        (lesson, "lesson.md.tmpl"),
        (solution, "solution.md.tmpl"),
        (bank, "bank.py.tmpl"),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:  # "x": never overwrite
            out.write(_template(template).substitute(fields))
    import importlib

    importlib.invalidate_caches()  # so this process can import the new checks module
    if not build_after:
        return Scaffolded(base, lesson, solution, bank, False)
    from labsupport.authoring.build import build

    report = build(base, only=[lesson, solution], progress=progress)
    return Scaffolded(
        base,
        lesson,
        solution,
        bank,
        report.ok,
        tuple(report.problems) + tuple(b.why for b in report.notebooks if b.state == "failed"),
    )
