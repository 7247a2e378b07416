"""What a check says: one result per check, one report per notebook.

A :class:`CheckResult` lists each case with a tick or a cross and, for a
cross, what was expected and what came instead. It shows as a table in a
notebook (``_repr_html_``), as text with ``print``, and as JSON for the
gradebook (:meth:`CheckResult.to_json`).

Example:
    >>> r = CheckResult("ex02.q2", "predicted hours", points=1.0, outcomes=(
    ...     Outcome("10-hour job on 10 machines", False,
    ...             "expected about 1.09 hours, got 1.0"),))
    >>> r
    <CheckResult ex02.q2: 0/1 points, 0 of 1 cases passed>
    >>> print(r)
    ex02.q2 predicted hours: 0/1 points
      [x] 10-hour job on 10 machines: expected about 1.09 hours, got 1.0
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome", "CheckResult", "Report"]


@dataclass(frozen=True)
class Outcome:
    """The verdict on one case of a check.

    Attributes:
        label: the case in the learner's words ("a job with no parallel part").
        passed: whether the answer was right for this case.
        message: for a failed case, what was expected and what came instead.
        hidden: a case the learner's own ``check()`` does not run.
        weight: the case's share of the check's points.
    """

    label: str
    passed: bool
    message: str = ""
    hidden: bool = False
    weight: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON data."""
        return {"label": self.label, "passed": self.passed, "message": self.message,
                "hidden": self.hidden, "weight": self.weight}


@dataclass(frozen=True)
class CheckResult:
    """The result of one check (for example ``ex02.q1``) on one answer.

    Attributes:
        name: the check's name, ``"ex02.q1"``.
        title: what it checks, in a few words.
        points: the most points it gives.
        outcomes: one :class:`Outcome` per case that ran.
        hidden_cases: how many hidden cases did not run (only the grader runs them).
        note: a remark for the whole check, e.g. "not answered yet".
    """

    name: str
    title: str
    points: float
    outcomes: tuple[Outcome, ...] = ()
    hidden_cases: int = 0
    note: str = ""

    @property
    def score(self) -> float:
        """Points earned: the check's points times the share of passed cases."""
        total = sum(o.weight for o in self.outcomes)
        if total <= 0:
            return 0.0
        earned = sum(o.weight for o in self.outcomes if o.passed)
        return round(self.points * earned / total, 4)

    @property
    def passed(self) -> bool:
        """True when every case that ran passed."""
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        """The cases that failed."""
        return [o for o in self.outcomes if not o.passed]

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data, for a gradebook or a feedback file."""
        return {"name": self.name, "title": self.title, "points": self.points,
                "score": self.score, "passed": self.passed, "note": self.note,
                "hidden_cases": self.hidden_cases,
                "outcomes": [o.to_json() for o in self.outcomes]}

    def _counts(self) -> str:
        good = sum(o.passed for o in self.outcomes)
        return f"{good} of {len(self.outcomes)} cases passed"

    def __repr__(self) -> str:
        return (f"<CheckResult {self.name}: {_num(self.score)}/{_num(self.points)} points, "
                f"{self._counts()}>")

    def __str__(self) -> str:
        lines = [f"{self.name} {self.title}: {_num(self.score)}/{_num(self.points)} points"]
        if self.note:
            lines.append(f"  {self.note}")
        for o in self.outcomes:
            mark = "[ok]" if o.passed else "[x]"
            tag = " (hidden)" if o.hidden else ""
            text = f"  {mark} {o.label}{tag}"
            if not o.passed and o.message:
                text += f": {o.message}"
            lines.append(text)
        if self.hidden_cases:
            lines.append(f"  {self.hidden_cases} more hidden case(s) are run by the "
                         "instructor's grader.")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        rows = []
        for o in self.outcomes:
            mark = "&#10004;" if o.passed else "&#10008;"
            tag = " <em>(hidden)</em>" if o.hidden else ""
            detail = "" if o.passed else html.escape(o.message)
            rows.append(f"<tr><td style='color:{'#1a7f37' if o.passed else '#cf222e'}'>"
                        f"{mark}</td><td>{html.escape(o.label)}{tag}</td>"
                        f"<td style='text-align:left'>{detail}</td></tr>")
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        more = (f"<p><em>{self.hidden_cases} more hidden case(s) are run by the instructor's "
                "grader.</em></p>") if self.hidden_cases else ""
        return (f"<div><p style='color:{colour}'><strong>{html.escape(self.name)}</strong> "
                f"{html.escape(self.title)}: {_num(self.score)}/{_num(self.points)} points "
                f"({html.escape(self._counts())})</p>{note}"
                f"<table>{''.join(rows)}</table>{more}</div>")


@dataclass(frozen=True)
class Report:
    """Several check results together: a notebook's summary.

    Attributes:
        results: the results, one per check.
        missing: names of checks with no result yet.
    """

    results: tuple[CheckResult, ...] = ()
    missing: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, results: Iterable[CheckResult], missing: Sequence[str] = ()) -> Report:
        """Build a report from results (and the names still unchecked)."""
        return cls(tuple(results), tuple(missing))

    @property
    def score(self) -> float:
        """Points earned over all checks."""
        return round(sum(r.score for r in self.results), 4)

    @property
    def points(self) -> float:
        """Points available over the checks that ran."""
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        """True when every check ran and passed."""
        return not self.missing and all(r.passed for r in self.results)

    def require_full_marks(self) -> Report:
        """Raise :class:`~labsupport.errors.GradingError` unless every check passed.

        Solution notebooks end with this, so CI fails when a reference answer
        stops passing its own checks.
        """
        from labsupport.errors import GradingError

        if not self.passed:
            raise GradingError("not every check passed:\n" + str(self))
        return self

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data."""
        return {"score": self.score, "points": self.points, "missing": list(self.missing),
                "results": [r.to_json() for r in self.results]}

    def __repr__(self) -> str:
        return (f"<Report {_num(self.score)}/{_num(self.points)} points over "
                f"{len(self.results)} checks, {len(self.missing)} not checked>")

    def __str__(self) -> str:
        lines = [f"{_num(self.score)}/{_num(self.points)} points"]
        for r in self.results:
            mark = "[ok]" if r.passed else "[x]"
            lines.append(f"{mark} {r.name} {r.title}: {_num(r.score)}/{_num(r.points)}")
            lines.extend("      " + f"{o.label}: {o.message}" for o in r.failures)
        lines.extend(f"[ ] {name}: not checked yet" for name in self.missing)
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            mark = "&#10004;" if r.passed else "&#10008;"
            fails = "<br>".join(html.escape(f"{o.label}: {o.message}") for o in r.failures)
            rows.append(f"<tr><td>{mark}</td><td>{html.escape(r.name)}</td>"
                        f"<td>{html.escape(r.title)}</td>"
                        f"<td>{_num(r.score)}/{_num(r.points)}</td>"
                        f"<td style='text-align:left'>{fails}</td></tr>")
        rows.extend(f"<tr><td>&#9744;</td><td>{html.escape(n)}</td><td colspan=3>"
                    "not checked yet</td></tr>" for n in self.missing)
        return (f"<div><p><strong>{_num(self.score)}/{_num(self.points)} points</strong></p>"
                "<table><thead><tr><th></th><th>check</th><th>what</th><th>points</th>"
                f"<th>what went wrong</th></tr></thead><tbody>{''.join(rows)}</tbody>"
                "</table></div>")


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))
