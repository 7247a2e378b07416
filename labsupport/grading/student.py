"""The learner's side: ``check(name, answer)`` in a notebook cell, ``check_all()`` at the end.

``check`` runs the public cases of one check on the answer you pass it and
shows what passed and what did not. It never looks around your notebook for
the answer: you hand it over. ``check_all`` sums up the checks of this
session (or checks a dict of answers in one go).

Example:
    >>> from labsupport.grading import check
    >>> r = check("ex02.q1", lambda p, n: 1 / ((1 - p) + p / n))
    >>> r.passed, r.score
    (True, 2.0)
    >>> check("ex02.q2", ...).note
    'not answered yet: replace the placeholder in the cell that defines predicted_hours'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from labsupport.errors import GradingError
from labsupport.grading.checks import exercise, get_check
from labsupport.grading.probes import observe
from labsupport.grading.results import CheckResult, Report

__all__ = ["check", "check_all", "forget"]

#: Set by the batch grader in a submission's process: the grader checks the
#: answers itself, with its own copy of the checks, so ``check`` is a no-op.
GRADER_ENV = "LABSUPPORT_GRADER"

_MISSING = object()
_session: dict[str, CheckResult] = {}


def check(name: str, answer: Any = _MISSING, *, hidden: bool = False) -> CheckResult:
    """Check one answer and show what passed, what failed and why.

    Args:
        name: the check, e.g. ``"ex02.q1"`` (the exercise notebook names it).
        answer: your answer: the value, function or class the question asks for.
        hidden: also run the hidden cases (the instructor's solutions do).

    Returns:
        a :class:`~labsupport.grading.results.CheckResult`; it shows as a table
        in the notebook and as text with ``print``.

    Raises:
        GradingError: no check has that name, or no answer was passed.
    """
    chk = get_check(name)
    if answer is _MISSING:
        raise GradingError(f'check("{name}") also needs your answer: '
                           f'check("{name}", {chk.answer})')
    if os.environ.get(GRADER_ENV) == "1":
        return CheckResult(chk.name, chk.title, chk.points,
                           note="checked by the instructor's grader, not here")
    result = chk.grade(observe(chk.probe, answer, chk.inputs(hidden)), hidden=hidden)
    _session[chk.name] = result
    return result


def check_all(answers: Mapping[str, Any] | None = None, *, exercise_name: str | None = None,
              hidden: bool = False) -> Report:
    """Sum up: every check of the exercise, with its latest result.

    Args:
        answers: ``{"ex02.q1": amdahl_speedup, ...}`` to check all at once;
            without it, the results of this session's ``check`` calls are used.
        exercise_name: which exercise (``"ex02"``); by default the exercises of
            the checks seen.
        hidden: also run the hidden cases (only with ``answers``).

    Example:
        >>> from labsupport.grading import check_all
        >>> rep = check_all({"ex02.q2": 10 / 9.174311926605505})
        >>> rep.score, "ex02.q1" in rep.missing
        (1.0, True)
    """
    if answers is not None:
        if not isinstance(answers, Mapping):
            raise GradingError("check_all takes a dict of answers, like "
                               '{"ex02.q1": amdahl_speedup}, or nothing')
        results = {name: check(name, value, hidden=hidden) for name, value in answers.items()}
    else:
        results = dict(_session)
    names = {exercise_name} if exercise_name else {n.split(".")[0] for n in results}
    if not names:
        raise GradingError('nothing checked yet: run the check("ex..", answer) cells first, '
                           'or pass answers: check_all({"ex02.q1": amdahl_speedup})')
    ordered: list[CheckResult] = []
    missing: list[str] = []
    for ex in sorted(names):
        for chk in exercise(ex).checks:
            if chk.name in results:
                ordered.append(results[chk.name])
            elif chk.public or hidden:
                missing.append(chk.name)
    return Report.of(ordered, missing)


def forget() -> None:
    """Clear this session's results (``check_all`` starts from nothing)."""
    _session.clear()
