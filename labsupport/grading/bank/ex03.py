"""Checks of exercise 03: the mean rating per movie in MapReduce, with and without a combiner.

The notebook is ``solutions/ex03_mapreduce.md``. Three checks, 7 points:

- ``ex03.q1`` ``mean_ratings(records, partitions=4)``: the learner's mapper
  and reducer run with ``dc.run_local``; the exact mean of every movie;
- ``ex03.q2`` ``mean_ratings_combined(records, partitions=4)``: the same
  means with a combiner;
- ``ex03.q3`` ``combined_shuffle_bytes(records, partitions=4)``: the bytes
  of that job's shuffle, at most :data:`SHUFFLE_TARGET` of the bytes without
  a combiner. (A separate function: the batch grader observes each answer
  variable for one check only.)

Every case is a synthetic ratings data set (``dc.movielens``) with its own
seed, size and number of partitions; the hidden ones use data the learner
never saw. Expected values are computed here, directly, without MapReduce.

Example:
    >>> EXERCISE
    <Exercise ex03 'MapReduce: the mean rating per movie': 3 checks, 7 points>
    >>> _reference(_case_records(0, 60, 20, 800))[1]
    2.6379310344827585
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

__all__ = ["EXERCISE", "SHUFFLE_TARGET"]

#: ex03.q3: the shuffle with a combiner may carry at most this share of the bytes without one.
SHUFFLE_TARGET = 0.40

# (seed, users, movies, ratings, partitions, label, hidden)
_DATA = [
    (0, 60, 20, 800, 4, "800 ratings of 20 movies, 4 partitions", False),
    (2, 30, 15, 300, 2, "300 ratings of 15 movies, 2 partitions", False),
    (3, 80, 25, 1000, 1, "another data set: 1000 ratings, a single partition", True),
    (7, 100, 30, 1500, 6, "another data set: 1500 ratings of 30 movies, 6 partitions", True),
    (5, 150, 40, 1200, 5, "40 movies, some with only a handful of ratings, 5 partitions", True),
    (11, 40, 12, 400, 3, "ratings in reverse order, 3 partitions", True),
]


@cache
def _case_records(seed: int, users: int, movies: int, ratings: int) -> tuple[dict, ...]:
    from labsupport.dc import movielens

    data = movielens(seed, users=users, movies=movies, ratings=ratings)
    out = tuple(dict(r) for r in data.ratings)
    return out[::-1] if seed == 11 else out


def _records(case: Case) -> list[dict]:
    return case.input["args"][0]


def _partitions(case: Case) -> int:
    return case.input["kwargs"]["partitions"]


def _reference(records: tuple[dict, ...] | list[dict]) -> dict[int, float]:
    stars: dict[int, list[int]] = {}
    for r in records:
        stars.setdefault(r["movie"], []).append(r["rating"])
    return {m: sum(v) / len(v) for m, v in sorted(stars.items())}


def _splits(records: list[dict], maps: int) -> list[list[dict]]:
    from labsupport.dc.mapreduce import split_records

    return split_records(records, maps)


def _mean_of_split_means(records: list[dict], maps: int) -> dict[int, float]:
    """What a reducer that averages each map task's partial average returns."""
    partial: dict[int, list[float]] = {}
    for split in _splits(records, maps):
        for movie, mean in _reference(split).items():
            partial.setdefault(movie, []).append(mean)
    return {m: sum(v) / len(v) for m, v in partial.items()}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def _why(movie: int, got: float, want: float, records: list[dict], maps: int,
         combined: bool) -> str:
    stars = [r["rating"] for r in records if r["movie"] == movie]
    text = f"movie {movie}: mean {got:.2f}, expected {want:.2f} (from {len(stars)} ratings)"
    if _close(got, _mean_of_split_means(records, maps).get(movie, math.nan)):
        return text + (": a reducer that averages partial averages weights partitions "
                       "wrongly; send sums and counts and divide only in the reducer")
    if _close(got, sum(stars)):
        return text + ": that is the sum of the stars; divide by how many there are"
    if _close(got, len(stars)):
        return text + ": that is the number of ratings, not their mean"
    if _close(got, sum(stars) // len(stars)):
        return text + ": integer division (//) drops the fraction; use /"
    if _close(got, round(want, 1)) or _close(got, round(want, 2)) or _close(got, round(want)):
        return text + ": do not round the mean; the check compares exact values"
    if combined:
        return text + (": with a combiner, the reducer gets the combiner's outputs, not the "
                       "mapper's; both must have the same shape, e.g. (sum, count)")
    return text


def _judge_means(case: Case, seen: Any, *, combined: bool) -> tuple[bool, str]:
    records, maps = _records(case), _partitions(case)
    want = _reference(records)
    what = "mean_ratings_combined(...)[0]" if combined else "mean_ratings(...)"
    if not isinstance(seen, dict):
        return False, (f"{what} should be a dict {{movie: mean}}, got {str(seen)[:80]}")
    got: dict[int, Any] = {}
    for key, value in seen.items():
        try:
            got[int(key)] = value
        except (TypeError, ValueError):
            return False, (f"{what} has the key {key!r}; keys should be movie ids "
                           "(the 'movie' of each rating), e.g. 12")
    missing = sorted(set(want) - set(got))
    if missing:
        return False, (f"movie {missing[0]} is missing from {what} ({len(missing)} of "
                       f"{len(want)} movies missing); every movie with a rating needs a mean")
    extra = sorted(set(got) - set(want))
    if extra:
        return False, f"{what} has movie {extra[0]}, which no rating in this data set names"
    wrong = [m for m in want if _number(got[m]) is None or not _close(got[m], want[m])]
    if not wrong:
        return True, ""
    m = wrong[0]
    if _number(got[m]) is None:
        return False, f"movie {m}: the mean should be a number, got {str(got[m])[:60]}"
    return False, (_why(m, float(got[m]), want[m], records, maps, combined)
                   + f" ({len(wrong)} of {len(want)} movies wrong)")


def _judge_q1(case: Case, seen: Any) -> tuple[bool, str]:
    return _judge_means(case, seen, combined=False)


def _judge_q2(case: Case, seen: Any) -> tuple[bool, str]:
    return _judge_means(case, seen, combined=True)


@cache
def _plain_bytes(key: tuple[int, int, int, int], partitions: int) -> int:
    from labsupport.dc.mapreduce import run_local

    records = _case_records(*key)
    return run_local(lambda r: [(r["movie"], r["rating"])], lambda k, v: 0, records,
                     partitions=partitions).shuffle_bytes


def _fewest_bytes(records: list[dict], maps: int) -> int:
    """At least one pair per movie per map task, and a pair is at least ``movie<TAB>x<NL>``."""
    return sum(len(f"{m}\t0\n") for split in _splits(records, maps) for m in _reference(split))


def _judge_q3(case: Case, seen: Any) -> tuple[bool, str]:
    got = _number(seen)
    if got is None or got < 0:
        return False, (f"combined_shuffle_bytes should return a number of bytes "
                       f"(result.shuffle_bytes), got {str(seen)[:80]}")
    records, maps = _records(case), _partitions(case)
    plain = _plain_bytes(case.expect, maps)
    if got > SHUFFLE_TARGET * plain:
        why = (f"the shuffle moved {got:,.0f} bytes, {got / plain:.0%} of the {plain:,} bytes "
               f"without a combiner; it must be at most {SHUFFLE_TARGET:.0%}")
        if got >= plain:
            why += ": did the combiner run? pass combiner=... to dc.run_local"
        else:
            why += ": the combiner should leave one small pair per movie per map task"
        return False, why
    if got < _fewest_bytes(records, maps):
        return False, (f"shuffle_bytes {got:,.0f} is less than any shuffle can be (each map "
                       "task sends at least one pair per movie); return "
                       "result.shuffle_bytes from dc.run_local")
    return True, ""


def _cases() -> list[Case]:
    out = []
    for seed, users, movies, ratings, parts, label, hidden in _DATA:
        key = (seed, users, movies, ratings)
        records = [dict(r) for r in _case_records(*key)]
        out.append(Case(label, {"args": [records], "kwargs": {"partitions": parts}},
                        expect=key, hidden=hidden))
    return out


Q1 = Check("ex03.q1", title="mean rating per movie: mapper and reducer", points=3,
           answer="mean_ratings", probe="call", cases=_cases(), judge=_judge_q1,
           hint="the mapper returns [(movie, stars)] for one rating; the reducer gets one movie "
                "and all its stars and returns sum / count.")

Q2 = Check("ex03.q2", title="the same means with a combiner", points=2,
           answer="mean_ratings_combined", probe="call", cases=_cases(), judge=_judge_q2,
           hint="the mapper emits (movie, (stars, 1)); the combiner adds up both numbers; "
                "only the reducer divides the total stars by the total count.")

Q3 = Check("ex03.q3", title=f"the combiner cuts the shuffle to {SHUFFLE_TARGET:.0%}", points=2,
           answer="combined_shuffle_bytes", probe="call", cases=_cases(), judge=_judge_q3,
           many_answers=True,
           hint="give the combiner to the run as well and report its shuffle bytes; the combiner "
                "must leave one value per movie and map task.")


def _prepare() -> None:
    """Compute every data set and the shuffle without a combiner before any submission."""
    for case in Q3.cases:
        _plain_bytes(case.expect, _partitions(case))


EXERCISE = Exercise("ex03", "MapReduce: the mean rating per movie", (Q1, Q2, Q3),
                    prepare=_prepare)
