"""Auto-graded exercises: ``check()`` for learners, a batch grader for instructors.

Learners call :func:`check` after each answer and :func:`check_all` at the
end. Authors write exercises as text sources in ``solutions/`` with the
answers between ``### BEGIN ANSWER`` and ``### END ANSWER`` and build the
notebooks, ``exercises/`` included, with ``make notebooks``
(docs/AUTHORING.md). Instructors grade with::

    python -m labsupport.grading grade SUBMISSIONS --out grades.csv --feedback feedback/

The checks themselves live in :mod:`labsupport.grading.bank`, one module per
exercise. Importing this package is cheap; the batch grader and the notebook
builder load only when used.

Example:
    >>> import labsupport as ls
    >>> ls.check("ex02.q1", lambda p, n: 1 / ((1 - p) + p / n)).passed
    True
"""

from __future__ import annotations

from labsupport.grading.checks import Case, Check, Exercise, exercise, exercises, get_check
from labsupport.grading.results import CheckResult, Outcome, Report
from labsupport.grading.student import answered, check, check_all

__all__ = ["check", "check_all", "answered", "Check", "Case", "Exercise", "CheckResult", "Outcome",
           "Report", "exercise", "exercises", "get_check"]
