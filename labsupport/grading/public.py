"""The students' bank: public cases with expected values worked out ahead of time.

The instructor's bank (:mod:`labsupport.grading.bank`, one module per
exercise) holds the reference code that computes expected values and the
hidden cases. Neither ships to students: ``python -m labsupport.grading
release`` (:mod:`labsupport.grading.release`) writes, for each exercise, a
JSON file ``labsupport/grading/bank/exNN.json`` in place of ``exNN.py``. It
holds each check's public cases, each with the observation the reference
answer gave (``expect``), and how many more cases the instructor's grader
runs. :func:`load_exercise` turns it back into an
:class:`~labsupport.grading.checks.Exercise` whose judge compares with those
values, so ``check()`` works the same without any reference code.

A check with ``many_answers`` (a policy judged against a target) has no single
right value; there the public case only tells whether the answer ran, and the
instructor's grader judges it.

Example:
    >>> same(0.5, 0.5000000001), same([1, 2], [1, 3])
    ((True, ''), (False, 'item 2: expected 2, got 3'))
    >>> same({"a": 1}, {"a": 1, "b": 2})[1]
    'expected the keys a, got a, b'
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsupport.grading.probes import describe_call

if TYPE_CHECKING:
    from labsupport.grading.checks import Case, Exercise

__all__ = ["BANK_FORMAT", "bank_files", "has_exercise", "load_exercise", "same",
           "MANY_ANSWERS_NOTE"]

#: The ``format`` of a public bank file; a release built by another version is refused.
BANK_FORMAT = "labsupport-public-bank/1"

MANY_ANSWERS_NOTE = ("many answers are right here: check() only tries that yours runs; "
                     "the instructor's grader judges it against the target")


def _folder() -> Path:
    from labsupport.grading import bank

    return Path(next(iter(bank.__path__)))


def bank_files() -> list[Path]:
    """The public bank files (``exNN.json``) next to the bank modules; none outside a release."""
    return sorted(_folder().glob("ex*.json"))


def has_exercise(name: str) -> bool:
    """Whether a public bank file exists for exercise ``name``."""
    return (_folder() / f"{name}.json").is_file()


def same(want: Any, got: Any, where: str = "") -> tuple[bool, str]:
    """Compare an observation with the reference one; the message says where they differ.

    Numbers are compared with a relative tolerance of 1e-6; lists item by
    item; dicts key by key; anything else exactly.
    """
    at = f"{where}: " if where else ""
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return (got == want and type(got) is type(want)), f"{at}expected {want!r}, got {got!r}"
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return False, f"{at}expected a number ({want:g}), got {got!r}"
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            return True, ""
        return False, f"{at}expected {want:.6g}, got {got:.6g}"
    if isinstance(want, list):
        if not isinstance(got, list):
            return False, f"{at}expected a list of {len(want)}, got {_short(got)}"
        if len(got) != len(want):
            return False, f"{at}expected {len(want)} items, got {len(got)}"
        for i, (w, g) in enumerate(zip(want, got, strict=True), start=1):
            ok, why = same(w, g, f"{where} item {i}".strip())
            if not ok:
                return False, why
        return True, ""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return False, f"{at}expected a dict, got {_short(got)}"
        if set(got) != set(want):
            return False, (f"{at}expected the keys {', '.join(map(str, sorted(want)))}, "
                           f"got {', '.join(map(str, sorted(got)))}")
        for key in want:
            ok, why = same(want[key], got[key], f"{where} {key!r}".strip())
            if not ok:
                return False, why
        return True, ""
    return got == want, f"{at}expected {want!r}, got {got!r}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _judge_for(answer: str, probe: str, many_answers: bool) -> Any:
    def judge(case: Case, seen: Any) -> tuple[bool, str]:
        if many_answers:
            return True, ""
        if probe == "call":
            spec = case.input or {}
            where = describe_call(answer, spec.get("args", []), spec.get("kwargs"))
        elif probe == "detector":
            where = f"{answer}({case.input['timeout']!r}), suspects()"
        else:
            where = answer
        ok, why = same(case.expect, seen)
        return ok, ("" if ok else f"{where}: {why}")

    return judge


@cache
def load_exercise(name: str) -> Exercise:
    """The :class:`~labsupport.grading.checks.Exercise` of a public bank file.

    Raises:
        GradingError: the file is from another format version.
    """
    from labsupport.errors import GradingError
    from labsupport.grading.checks import Case, Check, Exercise

    path = _folder() / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != BANK_FORMAT:
        raise GradingError(f"{path} is a public bank of format {data.get('format')!r}; this "
                           f"library reads {BANK_FORMAT!r}: install the library of the same "
                           "release")
    checks = []
    for c in data["checks"]:
        many = bool(c.get("many_answers"))
        hint = c.get("hint", "")
        if many:
            hint = f"{MANY_ANSWERS_NOTE}. {hint}" if hint else MANY_ANSWERS_NOTE
        checks.append(Check(
            c["name"], title=c["title"], points=c["points"], answer=c["answer"],
            probe=c["probe"], hint=hint, library=c.get("library", ()), many_answers=many,
            more_cases=c["more_cases"],
            cases=[Case(k["label"], k["input"], expect=k["expect"], weight=k["weight"])
                   for k in c["cases"]],
            judge=_judge_for(c["answer"], c["probe"], many)))
    return Exercise(data["name"], data["title"], tuple(checks))
