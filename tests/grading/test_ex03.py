"""Exercise 03: plausible wrong answers score partial or zero, with a message naming the mistake."""

from __future__ import annotations

import pytest

from labsupport import dc
from labsupport.grading import get_check


def run(mapper, reducer, combiner=None):
    """A learner's liked_shares made of these functions, the way the exercise asks."""
    def answer(records, partitions=4):
        return dc.run_local(mapper, reducer, records, partitions=partitions,
                            combiner=combiner).output
    return answer


def shuffle_of(mapper, reducer, combiner=None):
    def answer(records, partitions=4):
        return dc.run_local(mapper, reducer, records, partitions=partitions,
                            combiner=combiner).shuffle_bytes
    return answer


def stars(r):
    return [(r["movie"], r["rating"])]


def liked(r):
    return [(r["movie"], 1 if r["rating"] >= 4 else 0)]


def pairs(r):
    return [(r["movie"], (1 if r["rating"] >= 4 else 0, 1))]


def mean(movie, values):
    return sum(values) / len(values)


def add(movie, values):
    return (sum(s for s, _ in values), sum(n for _, n in values))


def divide(movie, values):
    total, n = add(movie, values)
    return total / n


def grade(name, answer):
    return get_check(name).grade(
        [{"value": v} for v in _observe(name, answer)], hidden=True)


def _observe(name, answer):
    from labsupport.grading.jsonable import to_jsonable

    return [to_jsonable(answer(*c.input["args"], **c.input["kwargs"]))
            for c in get_check(name).selected(hidden=True)]


def messages(result):
    return " | ".join(o.message for o in result.outcomes if not o.passed)


def test_reference_answers_score_full_marks():
    assert grade("ex03.q1", run(liked, mean)).score == 3
    assert grade("ex03.q2", run(pairs, divide, add)).score == 2
    assert grade("ex03.q3", shuffle_of(pairs, divide, add)).score == 2


@pytest.mark.parametrize("name, answer, expected", [
    ("ex03.q1", run(stars, mean), "that is the mean rating (the lesson's example)"),
    ("ex03.q1", run(liked, lambda m, v: sum(v)), "that is how many liked it"),
    ("ex03.q1", run(liked, lambda m, v: len(v)), "the number of ratings"),
    ("ex03.q1", run(lambda r: [(r["movie"], int(r["rating"] > 4))], mean),
     "counts only ratings above 4"),
    ("ex03.q1", run(liked, lambda m, v: 100 * sum(v) / len(v)), "looks like a percentage"),
    ("ex03.q1", run(liked, lambda m, v: sum(v) // len(v)), "integer division"),
    ("ex03.q1", run(liked, lambda m, v: round(sum(v) / len(v), 1)), "do not round"),
    ("ex03.q1", lambda records, partitions=4: {}, "is missing"),
    ("ex03.q1", run(lambda r: [(r["user"], int(r["rating"] >= 4))], mean), "movie"),
    ("ex03.q2", run(liked, mean, mean), "averages partial shares weights partitions wrongly"),
    ("ex03.q2", run(pairs, lambda m, v: sum(s for s, _ in v) / len(v), add), "combiner"),
    ("ex03.q3", shuffle_of(stars, mean), "did the combiner run"),
    ("ex03.q3", lambda records, partitions=4: 1, "less than any shuffle can be"),
    ("ex03.q3", lambda records, partitions=4: "small", "number of bytes"),
])
def test_wrong_answers_are_named(name, answer, expected):
    result = grade(name, answer)
    assert result.score < get_check(name).points
    assert expected in messages(result), messages(result)


def test_averaging_shares_passes_only_where_there_is_one_split():
    result = grade("ex03.q2", run(liked, mean, mean))
    passed = [o.label for o in result.outcomes if o.passed]
    assert passed == ["another data set: 1000 ratings, a single partition"]
    assert 0 < result.score < 2
    assert "movie " in messages(result) and "expected" in messages(result)
