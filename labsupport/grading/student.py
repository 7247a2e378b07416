"""The learner's side: ``check(name, answer)`` in a notebook cell, ``check_all()`` at the end.

``check`` runs the public cases of one check on the answer you pass it and
shows what passed and what did not. It never looks around your notebook for
the answer: you hand it over. ``check_all`` sums up the checks of this
session (or checks a dict of answers in one go). ``answered`` lets a cell that
uses your answers wait for them, so that "Run All" goes on to the later checks.

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
from dataclasses import replace
from types import CodeType
from typing import Any

from labsupport.errors import GradingError
from labsupport.grading.checks import exercise, get_check
from labsupport.grading.jsonable import STUB_TEXT
from labsupport.grading.probes import observe
from labsupport.grading.results import CheckResult, Report

__all__ = ["check", "check_all", "answered", "forget"]

#: Set by the batch grader in a submission's process: the grader checks the
#: answers itself, with its own copy of the checks, so ``check`` is a no-op.
GRADER_ENV = "LABSUPPORT_GRADER"

#: What a failed hidden case says outside the instructor's grader.
HIDDEN_DETAILS = "failed (a hidden case: the instructor's grader reports the details)"

_MISSING = object()
_session: dict[str, CheckResult] = {}


def check(name: str, answer: Any = _MISSING, *, hidden: bool = False) -> CheckResult:
    """Check one answer and show what passed, what failed and why.

    Args:
        name: the check, e.g. ``"ex02.q1"`` (the exercise notebook names it).
        answer: your answer: the value, function or class the question asks for.
        hidden: also run the hidden cases (the instructor's solutions do).
            Outside the instructor's grader a hidden case shows only its
            label and whether it passed, never its input or expected value;
            the students' release has no hidden cases at all.

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
    seen = observe(chk.probe, answer, chk.inputs(hidden), chk.library)
    result = _without_hidden_details(chk.grade(seen, hidden=hidden))
    _session[chk.name] = result
    return result


def _without_hidden_details(result: CheckResult) -> CheckResult:
    """The result with the messages of hidden cases replaced: they would show hidden data."""
    if not any(o.hidden for o in result.outcomes):
        return result
    outcomes = tuple(replace(o, message=HIDDEN_DETAILS) if o.hidden and not o.passed else o
                     for o in result.outcomes)
    return replace(result, outcomes=outcomes)


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


def answered(*answers: Any, **named: Any) -> bool:
    """Whether the answers a cell uses are written yet; if not, say which.

    A cell that *uses* your answers (a plot of your function, say) would stop
    a "Run All" at the first placeholder, before the later questions' checks.
    Guard it instead: ``if ls.answered(amdahl_speedup, measure_speedup): ...``.

    An answer is unanswered while it is still the exercise's placeholder: a
    function or class whose code (or any method's code) raises
    ``NotImplementedError("your answer here")``, or a value that is ``...``.
    Your functions are inspected, never called.

    Args:
        *answers: functions or classes, named by their ``__name__``.
        **named: values (or functions) named by the keyword, such as
            ``predicted_hours=predicted_hours``.

    Returns:
        True when every answer given is written; otherwise False, after
        printing one line that names the unanswered ones.

    Raises:
        GradingError: nothing was given, or a positional answer has no name
            (pass a value by keyword).

    Example:
        >>> from labsupport.grading import answered
        >>> def amdahl_speedup(parallel_fraction, workers):
        ...     raise NotImplementedError("your answer here")
        >>> answered(amdahl_speedup, predicted_hours=10.9)
        This cell uses your answer to amdahl_speedup: answer it first, then run it again.
        False
        >>> answered(lambda p, n: 1 / ((1 - p) + p / n), predicted_hours=10.9)
        True
    """
    if not answers and not named:
        raise GradingError("answered() needs the answers the cell uses, like "
                           "answered(amdahl_speedup, predicted_hours=predicted_hours)")
    given: dict[str, Any] = {}
    for answer in answers:
        name = getattr(answer, "__name__", None)
        if not isinstance(name, str):
            raise GradingError(f"answered() cannot name the value {answer!r}: pass it by "
                               "keyword, like answered(predicted_hours=predicted_hours)")
        given[name] = answer
    given.update(named)
    missing = [name for name, answer in given.items() if _is_placeholder(answer)]
    if not missing:
        return True
    if len(missing) == 1:
        print(f"This cell uses your answer to {missing[0]}: answer it first, "
              "then run it again.")
    else:
        names = ", ".join(missing[:-1]) + f" and {missing[-1]}"
        print(f"This cell uses your answers to {names}: answer those first, "
              "then run it again.")
    return False


def _is_placeholder(answer: Any) -> bool:
    """Whether ``answer`` is still the builder's placeholder (see :func:`answered`)."""
    if answer is Ellipsis:
        return True
    if isinstance(answer, type):
        return any(_is_placeholder(member) for member in vars(answer).values())
    if isinstance(answer, (staticmethod, classmethod)):
        return _is_placeholder(answer.__func__)
    if isinstance(answer, property):
        return any(_is_placeholder(f) for f in (answer.fget, answer.fset, answer.fdel))
    code = getattr(getattr(answer, "__func__", answer), "__code__", None)
    return isinstance(code, CodeType) and _raises_stub(code)


def _raises_stub(code: CodeType) -> bool:
    """Whether ``code``, or code nested in it, raises the builder's NotImplementedError."""
    if "NotImplementedError" in code.co_names and STUB_TEXT in code.co_consts:
        return True
    return any(isinstance(c, CodeType) and _raises_stub(c) for c in code.co_consts)


def forget() -> None:
    """Clear this session's results (``check_all`` starts from nothing)."""
    _session.clear()
