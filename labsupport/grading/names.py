"""How lessons, exercises and checks are named: the one place that says so.

Every other module asks here instead of matching its own pattern.

- A lesson is ``notebooks/NN_slug`` (two digits, then a slug):
  ``notebooks/02_concurrency.md`` and the ``.ipynb`` built from it.
- Its exercise is ``exNN`` with the same number: the reference solution is
  ``solutions/exNN_slug``, the student notebook ``exercises/exNN_slug.ipynb``
  and the checks ``labsupport/grading/bank/exNN.py``.
- A check is ``exNN.qM``: question M of exercise NN.

A slug is lower-case words joined by ``-`` or ``_`` (``speedup``,
``control-plane``).

Example:
    >>> exercise_of_file("solutions/ex02_speedup.ipynb")
    'ex02'
    >>> exercise_of_check("ex02.q5"), exercise_of_check("ex2.q5")
    ('ex02', None)
    >>> exercise_file(7, "deployments"), lesson_file(7, "deployments")
    ('ex07_deployments', '07_deployments')
    >>> sorted(exercises_called("ls.check('ex02.q1', f); ls.check('ex04.q2', x)"))
    ['ex02', 'ex04']
"""

from __future__ import annotations

import re
from pathlib import Path

from labsupport.errors import GradingError

__all__ = [
    "EXERCISE_PATTERN",
    "is_exercise",
    "is_check",
    "exercise_of_check",
    "exercise_of_file",
    "lesson_of_file",
    "exercises_called",
    "checks_called",
    "check_slug",
    "exercise_file",
    "lesson_file",
    "exercise_number",
]

#: An exercise name: ``ex`` and the two digits of its lesson.
EXERCISE_PATTERN = r"ex\d{2}"
_SLUG = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
_EXERCISE = re.compile(rf"^{EXERCISE_PATTERN}$")
_CHECK = re.compile(rf"^({EXERCISE_PATTERN})\.q\d+$")
_CHECK_IN_CODE = re.compile(rf"""["']({EXERCISE_PATTERN})\.q\d+["']""")
_CHECK_NAME_IN_CODE = re.compile(rf"""["']({EXERCISE_PATTERN}\.q\d+)["']""")
# File names are read by their start only, so that a notebook a student downloaded
# twice ("ex02_speedup (1).ipynb") is still recognised.
_EXERCISE_FILE = re.compile(rf"^({EXERCISE_PATTERN})_.")
_LESSON_FILE = re.compile(r"^(\d{2})_.")
_SLUG_RE = re.compile(rf"^{_SLUG}$")


def is_exercise(name: object) -> bool:
    """Whether ``name`` is an exercise name such as ``"ex02"``.

    Example:
        >>> is_exercise("ex02"), is_exercise("ex2"), is_exercise(2)
        (True, False, False)
    """
    return isinstance(name, str) and bool(_EXERCISE.match(name))


def is_check(name: object) -> bool:
    """Whether ``name`` is a check name such as ``"ex02.q1"``.

    Example:
        >>> is_check("ex02.q1"), is_check("ex02")
        (True, False)
    """
    return exercise_of_check(name) is not None


def exercise_of_check(name: object) -> str | None:
    """The exercise a check belongs to (``"ex02"`` for ``"ex02.q1"``), or None."""
    match = _CHECK.match(name) if isinstance(name, str) else None
    return match.group(1) if match else None


def exercise_of_file(path: str | Path) -> str | None:
    """The exercise of a notebook file (``exNN_slug.ipynb`` or ``.md``), or None.

    Example:
        >>> exercise_of_file("ex02_speedup (1).ipynb"), exercise_of_file("02_concurrency.md")
        ('ex02', None)
    """
    match = _EXERCISE_FILE.match(Path(path).stem)
    return match.group(1) if match else None


def lesson_of_file(path: str | Path) -> str | None:
    """The two-digit number of a lesson file (``NN_slug``), or None.

    Example:
        >>> lesson_of_file("notebooks/00_tour.md"), lesson_of_file("ex02_speedup.md")
        ('00', None)
    """
    match = _LESSON_FILE.match(Path(path).stem)
    return match.group(1) if match else None


def exercises_called(code: str) -> set[str]:
    """The exercises whose checks a piece of code names in quotes (``"ex02.q1"``)."""
    return {m.group(1) for m in _CHECK_IN_CODE.finditer(code)}


def checks_called(code: str) -> list[str]:
    """The checks a piece of code names in quotes, in order and once each.

    Example:
        >>> checks_called("ls.check('ex02.q3', measure_speedup)  # after ex02.q2")
        ['ex02.q3']
    """
    return list(dict.fromkeys(m.group(1) for m in _CHECK_NAME_IN_CODE.finditer(code)))


def exercise_number(number: int | str) -> str:
    """Two digits for a lesson or exercise number given as ``7``, ``"7"`` or ``"07"``.

    Raises:
        GradingError: not a whole number from 0 to 99.

    Example:
        >>> exercise_number(7), exercise_number("07")
        ('07', '07')
    """
    text = str(number).strip()
    if not text.isdigit() or not 0 <= int(text) <= 99 or len(text) > 2:
        raise GradingError(
            f"a lesson number is a whole number from 0 to 99 (two digits at most), got {number!r}"
        )
    return f"{int(text):02d}"


def check_slug(slug: str) -> str:
    """``slug`` when it is lower-case words joined by ``-`` or ``_``.

    Raises:
        GradingError: any other slug, with the rule and an example.

    Example:
        >>> check_slug("control-plane")
        'control-plane'
    """
    if not isinstance(slug, str) or not _SLUG_RE.match(slug):
        raise GradingError(
            f"a lesson slug is lower-case letters and digits, words joined by "
            f"'-' or '_' (such as 'control-plane'), got {slug!r}"
        )
    return slug


def exercise_file(number: int | str, slug: str) -> str:
    """The stem of an exercise's notebooks: ``exNN_slug``."""
    return f"ex{exercise_number(number)}_{check_slug(slug)}"


def lesson_file(number: int | str, slug: str) -> str:
    """The stem of a lesson notebook: ``NN_slug``."""
    return f"{exercise_number(number)}_{check_slug(slug)}"
