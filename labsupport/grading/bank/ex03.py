"""Checks of exercise 03: the share of liked ratings per movie in MapReduce, with a combiner.

The notebook is ``solutions/ex03_mapreduce.md``. Lesson 03 works through the
mean rating per movie; the exercise asks for another statistic of the same
shape, the share of a movie's ratings that give it :data:`LIKED` stars or
more, so that the lesson's code is a model to adapt, not the answer. Three
checks, 7 points:

- ``ex03.q1`` ``liked_shares(records, partitions=4)``: the learner's mapper
  and reducer run with ``dc.run_local``; the exact share of every movie;
- ``ex03.q2`` ``liked_shares_combined(records, partitions=4)``: the same
  shares with a combiner;
- ``ex03.q3`` ``combined_shuffle_bytes(records, partitions=4)``: the bytes
  of that job's shuffle, at most :data:`SHUFFLE_TARGET` of the bytes without
  a combiner. (A separate function: the batch grader observes each answer
  variable for one check only.)

Every case is a synthetic ratings data set (``dc.movielens``) with its own
seed, size and number of partitions; the hidden ones use data the learner
never saw. Expected values are computed here, directly, without MapReduce.

Example:
    >>> EXERCISE
    <Exercise ex03 'MapReduce: the share of liked ratings per movie': 3 checks, 7 points>
    >>> _reference(_case_records(0, 60, 20, 800))[1]
    0.15517241379310345
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

__all__ = ["EXERCISE", "SHUFFLE_TARGET", "LIKED"]

#: A rating of this many stars or more means the user liked the movie.
LIKED = 4

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


def _stars(records: tuple[dict, ...] | list[dict]) -> dict[int, list[int]]:
    stars: dict[int, list[int]] = {}
    for r in records:
        stars.setdefault(r["movie"], []).append(r["rating"])
    return dict(sorted(stars.items()))


def _reference(records: tuple[dict, ...] | list[dict]) -> dict[int, float]:
    return {m: sum(1 for x in v if x >= LIKED) / len(v) for m, v in _stars(records).items()}


def _splits(records: list[dict], maps: int) -> list[list[dict]]:
    from labsupport.dc.mapreduce import split_records

    return split_records(records, maps)


def _mean_of_split_shares(records: list[dict], maps: int) -> dict[int, float]:
    """What a reducer that averages each map task's partial share returns."""
    partial: dict[int, list[float]] = {}
    for split in _splits(records, maps):
        for movie, share in _reference(split).items():
            partial.setdefault(movie, []).append(share)
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
    liked = sum(1 for x in stars if x >= LIKED)
    text = (f"movie {movie}: share {got:.3g}, expected {want:.3g} ({liked} of {len(stars)} "
            f"ratings have {LIKED} stars or more)")
    if _close(got, _mean_of_split_shares(records, maps).get(movie, math.nan)):
        return text + (": a reducer that averages partial shares weights partitions "
                       "wrongly; send counts and divide only in the reducer")
    if _close(got, sum(stars) / len(stars)):
        return text + (": that is the mean rating (the lesson's example), not the share of "
                       f"ratings of {LIKED} stars or more")
    if _close(got, liked):
        return text + ": that is how many liked it; divide by how many ratings there are"
    if _close(got, len(stars)):
        return text + ": that is the number of ratings, not a share"
    if _close(got, sum(1 for x in stars if x > LIKED) / len(stars)):
        return text + f": that counts only ratings above {LIKED}; {LIKED} stars count too"
    if _close(got, 100 * want):
        return text + ": a share is between 0 and 1; that looks like a percentage"
    if _close(got, liked // len(stars)):
        return text + ": integer division (//) drops the fraction; use /"
    if _close(got, round(want, 1)) or _close(got, round(want, 2)) or _close(got, round(want)):
        return text + ": do not round the share; the check compares exact values"
    if combined:
        return text + (": with a combiner, the reducer gets the combiner's outputs, not the "
                       "mapper's; both must have the same shape, e.g. (liked, count)")
    return text


def _judge_means(case: Case, seen: Any, *, combined: bool) -> tuple[bool, str]:
    records, maps = _records(case), _partitions(case)
    want = _reference(records)
    what = "liked_shares_combined(...)" if combined else "liked_shares(...)"
    if not isinstance(seen, dict):
        return False, (f"{what} should be a dict {{movie: share}}, got {str(seen)[:80]}")
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
                       f"{len(want)} movies missing); every movie with a rating needs a share "
                       "(0 when nobody liked it)")
    extra = sorted(set(got) - set(want))
    if extra:
        return False, f"{what} has movie {extra[0]}, which no rating in this data set names"
    wrong = [m for m in want if _number(got[m]) is None or not _close(got[m], want[m])]
    if not wrong:
        return True, ""
    m = wrong[0]
    if _number(got[m]) is None:
        return False, f"movie {m}: the share should be a number, got {str(got[m])[:60]}"
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
    return sum(len(f"{m}\t0\n") for split in _splits(records, maps) for m in _stars(split))


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


Q1 = Check("ex03.q1", title="share of liked ratings per movie: mapper and reducer", points=3,
           answer="liked_shares", probe="call", cases=_cases(), judge=_judge_q1,
           hint="keep the movie as the key, as the lesson's mean does; what must the reducer "
                "know about each rating to tell how many of them say 'liked'?")

Q2 = Check("ex03.q2", title="the same shares with a combiner", points=2,
           answer="liked_shares_combined", probe="call", cases=_cases(), judge=_judge_q2,
           hint="a share of shares is not a share: let the combiner pass on numbers the "
                "reducer can add up, and divide only once, in the reducer.")

Q3 = Check("ex03.q3", title=f"the combiner cuts the shuffle to {SHUFFLE_TARGET:.0%}", points=2,
           answer="combined_shuffle_bytes", probe="call", cases=_cases(), judge=_judge_q3,
           many_answers=True,
           hint="give the combiner to the run as well and report its shuffle bytes; the combiner "
                "must leave one value per movie and map task.")


def _prepare() -> None:
    """Compute every data set and the shuffle without a combiner before any submission."""
    for case in Q3.cases:
        _plain_bytes(case.expect, _partitions(case))


EXERCISE = Exercise("ex03", "MapReduce: the share of liked ratings per movie", (Q1, Q2, Q3),
                    prepare=_prepare)
