"""Checks: named, with points, made of public and hidden cases.

A :class:`Check` (``"ex02.q1"``) grades one answer of an exercise. It has
cases; each case gives the probe an *input* (JSON data: the arguments to call
a function with, the heartbeats to feed a detector) and keeps what the judge
needs for itself (``expect``), which never leaves the grader. Grading is two
steps, so the batch grader can run the first in the submission's process and
the second in its own:

1. probe (:mod:`labsupport.grading.probes`): turn the answer into JSON
   observations, one per case;
2. judge (:meth:`Check.grade`): decide each case from its observation, with a
   message in the learner's terms.

An :class:`Exercise` groups the checks of one notebook (``ex02``); its module
lives in :mod:`labsupport.grading.bank` and :func:`exercise` finds it.

Example:
    >>> c = Check("ex00.q1", title="double it", points=1, answer="double", probe="call",
    ...           cases=[Case("2 -> 4", {"args": [2]}, expect=4),
    ...                  Case("a negative number", {"args": [-3]}, expect=-6, hidden=True)],
    ...           judge=lambda case, seen: (seen == case.expect,
    ...                                     f"expected {case.expect}, got {seen}"))
    >>> c.grade([{"value": 4}], hidden=False)
    <CheckResult ex00.q1: 1/1 points, 1 of 1 cases passed>
    >>> print(c.grade([{"value": 4}, {"value": 6}], hidden=True))
    ex00.q1 double it: 0.5/1 points
      [ok] 2 -> 4
      [x] a negative number (hidden): expected -6, got 6
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import labsupport.grading.names as names
import labsupport.grading.public as public
from labsupport.errors import GradingError
from labsupport.grading.jsonable import is_stub
from labsupport.grading.results import CheckResult, Outcome

__all__ = ["Case", "Check", "Exercise", "exercise", "exercises", "get_check", "Judge",
           "NOT_ANSWERED"]

#: A judge gets a case and the observed value and returns (passed, message).
Judge = Callable[["Case", Any], "tuple[bool, str] | bool"]

NOT_ANSWERED = "not answered yet"


@dataclass(frozen=True)
class Case:
    """One situation a check tries the answer in.

    Attributes:
        label: the situation in the learner's words; shown even when hidden.
        input: JSON data for the probe (for a function, ``{"args": [...]}``).
        expect: what the judge compares with; stays with the grader.
        hidden: only the instructor's grader runs it.
        weight: its share of the check's points.
    """

    label: str
    input: Any = None
    expect: Any = None
    hidden: bool = False
    weight: float = 1.0


class Check:
    """A named, auto-graded question of an exercise.

    Args:
        name: ``"exNN.qM"``.
        title: a few words on what it checks.
        points: what a fully right answer earns.
        answer: the notebook variable that holds the answer.
        probe: how to observe the answer: ``"value"``, ``"call"`` or
            ``"detector"`` (see :mod:`labsupport.grading.probes`).
        cases: the cases, public and hidden.
        judge: ``judge(case, observed_value) -> (passed, message)``.
        hint: one sentence shown when the answer is wrong: what to look at,
            never the answer's code.
        library: dotted names of the course library's own versions of the
            answer (``"labsupport.dc.amdahl"``); an answer that is, subclasses
            or calls one of them is refused (see :mod:`labsupport.grading.probes`).
        many_answers: more than one answer is right (a policy judged against
            a target), so a student's release cannot judge it from a
            precomputed reference value (see :mod:`labsupport.grading.public`).
        more_cases: cases that exist but are not in this copy of the check
            (the students' release holds the public cases only).
    """

    def __init__(self, name: str, *, title: str, points: float, answer: str, probe: str,
                 cases: Sequence[Case], judge: Judge, hint: str = "",
                 library: Sequence[str] = (), many_answers: bool = False,
                 more_cases: int = 0) -> None:
        if not names.is_check(name):
            raise GradingError(f"a check name looks like 'ex02.q1', got {name!r}")
        if not cases:
            raise GradingError(f"check {name} has no cases")
        self.name = name
        self.exercise = name.split(".")[0]
        self.title = title
        self.points = float(points)
        self.answer = answer
        self.probe = probe
        self.cases = tuple(cases)
        self.judge = judge
        self.hint = hint
        self.library = tuple(library)
        self.many_answers = many_answers
        self.more_cases = more_cases

    @property
    def public(self) -> bool:
        """Whether the learner's ``check()`` runs at least one case of it."""
        return any(not c.hidden for c in self.cases)

    def selected(self, hidden: bool) -> list[Case]:
        """The cases that run: public ones, plus hidden ones when ``hidden``."""
        return [c for c in self.cases if hidden or not c.hidden]

    def inputs(self, hidden: bool) -> list[Any]:
        """The probe inputs of the selected cases (JSON data, no expected values)."""
        return [c.input for c in self.selected(hidden)]

    def grade(self, observations: Sequence[Any] | None, *, hidden: bool,
              missing: str | None = None) -> CheckResult:
        """Judge probe observations, one per selected case.

        Args:
            observations: what the probe saw, or None when there was no answer.
            hidden: whether hidden cases ran (and count).
            missing: why there is no answer, for the message.
        """
        cases = self.selected(hidden)
        skipped = self.more_cases + (0 if hidden else len(self.cases) - len(cases))
        if observations is None or not isinstance(observations, list):
            why = missing or f"no answer: the notebook does not define {self.answer}"
            outcomes = tuple(Outcome(c.label, False, why, c.hidden, c.weight) for c in cases)
            return CheckResult(self.name, self.title, self.points, outcomes, skipped, why)
        outcomes = []
        unanswered = False
        for i, case in enumerate(cases):
            seen = observations[i] if i < len(observations) else None
            passed, message = self._judge_one(case, seen)
            if message.startswith(NOT_ANSWERED):
                unanswered = True
            outcomes.append(Outcome(case.label, passed, message, case.hidden, case.weight))
        note = ""
        if unanswered:
            note = (f"{NOT_ANSWERED}: replace the placeholder in the cell that defines "
                    f"{self.answer}")
        elif self.hint and any(not o.passed for o in outcomes):
            note = f"Hint: {self.hint}"
        return CheckResult(self.name, self.title, self.points, tuple(outcomes), skipped, note)

    def run(self, answer: Any, *, hidden: bool) -> CheckResult:
        """Probe ``answer`` here and judge it, hidden cases' details included.

        For the instructor's tests; a learner's :func:`~labsupport.grading.check`
        never shows what a hidden case expected.
        """
        from labsupport.grading.probes import observe

        return self.grade(observe(self.probe, answer, self.inputs(hidden), self.library),
                          hidden=hidden)

    def _judge_one(self, case: Case, seen: Any) -> tuple[bool, str]:
        if not isinstance(seen, dict):
            return False, "the answer could not be observed"
        if "error" in seen:
            kind = seen.get("type")
            if kind == "NotImplementedError" or is_stub(seen.get("value")):
                return False, f"{NOT_ANSWERED} ({self.answer} still raises NotImplementedError)"
            return False, str(seen.get("error"))[:500]
        if "value" not in seen:
            return False, "the answer could not be observed"
        value = seen["value"]
        origin = seen.get("origin")
        if isinstance(origin, str) and origin.startswith("labsupport."):
            how = {"calls": "calls", "subclass": "builds on"}.get(seen.get("via"), "is")
            return False, (f"{self.answer} {how} the course library's own {origin}; the "
                           "exercise asks you to write it yourself")
        if is_stub(value):
            return False, f"{NOT_ANSWERED} ({self.answer} is still ...)"
        try:
            verdict = self.judge(case, value)
        except Exception as exc:  # noqa: BLE001 - any odd answer shape is a wrong answer
            return False, f"the grader could not use this answer ({type(exc).__name__}: {exc})"
        if isinstance(verdict, tuple):
            passed, message = bool(verdict[0]), str(verdict[1])
        else:
            passed, message = bool(verdict), ""
        return passed, ("" if passed else message)

    def __repr__(self) -> str:
        hidden = sum(c.hidden for c in self.cases)
        return (f"<Check {self.name} {self.title!r}: {self.points:g} points, answer "
                f"{self.answer}, {len(self.cases) - hidden} public + {hidden} hidden cases>")


@dataclass(frozen=True)
class Exercise:
    """The checks of one exercise notebook.

    Attributes:
        name: ``"ex02"``.
        title: the exercise's title.
        checks: its checks, in order.
        prepare: computes every expected value ahead of time (the batch
            grader calls it once before grading anything).
    """

    name: str
    title: str
    checks: tuple[Check, ...]
    prepare: Callable[[], None] = field(default=lambda: None)

    @property
    def points(self) -> float:
        """Points over every check, hidden cases included."""
        return sum(c.points for c in self.checks)

    @property
    def answers(self) -> list[str]:
        """The notebook variables the checks grade, without repeats, in order."""
        return list(dict.fromkeys(c.answer for c in self.checks))

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise GradingError(f"no check named {name!r}; the checks of {self.name} are "
                           f"{', '.join(c.name for c in self.checks)}")

    def __repr__(self) -> str:
        return (f"<Exercise {self.name} {self.title!r}: {len(self.checks)} checks, "
                f"{self.points:g} points>")


def exercises() -> list[str]:
    """The names of the exercises that have checks.

    Example:
        >>> "ex02" in exercises()
        True
    """
    from labsupport.grading import bank

    found = {m.name for m in pkgutil.iter_modules(bank.__path__)}
    found |= {p.stem for p in public.bank_files()}
    return sorted(n for n in found if names.is_exercise(n))


def exercise(name: str) -> Exercise:
    """The :class:`Exercise` called ``name`` (``"ex02"``).

    Example:
        >>> exercise("ex02").checks[0].name
        'ex02.q1'
    """
    if not names.is_exercise(name):
        raise GradingError(f"an exercise name looks like 'ex02', got {name!r}")
    try:
        module = importlib.import_module(f"labsupport.grading.bank.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"labsupport.grading.bank.{name}":
            raise
        if public.has_exercise(name):   # the students' release: public cases only
            return public.load_exercise(name)
        raise GradingError(f"there are no checks for exercise {name!r}; exercises with "
                           f"checks: {', '.join(exercises()) or 'none'}") from None
    return module.EXERCISE


def get_check(name: str) -> Check:
    """The check called ``name`` (``"ex02.q1"``), from its exercise's module.

    Example:
        >>> get_check("ex02.q1").answer
        'amdahl_speedup'
    """
    owner = names.exercise_of_check(name)
    if owner is None:
        raise GradingError(f"a check name looks like \"ex02.q1\", got {name!r}")
    return exercise(owner).check(name)


def all_checks(names: Iterable[str]) -> list[Check]:
    """Checks for several names at once."""
    return [get_check(n) for n in names]
