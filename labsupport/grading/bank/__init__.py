"""The checks of each exercise: one module per exercise notebook (``ex02.py``...).

A module defines ``EXERCISE``, an :class:`~labsupport.grading.checks.Exercise`
whose checks carry public and hidden cases. Hidden cases are not in the
exercise notebooks and the learner's ``check()`` does not run them; only the
instructor's batch grader (and the solutions' last cell) does.
"""
