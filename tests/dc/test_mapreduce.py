"""MapReduce: local reference, simulated cluster, real processes, synthetic ratings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsupport import dc
from labsupport.dc.mapreduce import split_records
from labsupport.errors import Invalid


def rating_mapper(r):
    return [(r["movie"], r["rating"])]


def mean_reducer(movie, stars):
    return sum(stars) / len(stars)


def pair_mapper(r):
    return [(r["movie"], (r["rating"], 1))]


def add_pairs(movie, pairs):
    return (sum(s for s, _ in pairs), sum(n for _, n in pairs))


def mean_of_pairs(movie, pairs):
    total, n = add_pairs(movie, pairs)
    return total / n


def direct_means(records):
    stars = {}
    for r in records:
        stars.setdefault(r["movie"], []).append(r["rating"])
    return {m: sum(v) / len(v) for m, v in stars.items()}


def word_mapper(line):
    return [(w, 1) for w in line.split()]


def word_reducer(word, ones):
    return sum(ones)


ratings = st.lists(st.fixed_dictionaries({"movie": st.integers(1, 12),
                                          "rating": st.integers(1, 5)}), max_size=80)


@settings(max_examples=60, deadline=None)
@given(ratings, st.integers(1, 9), st.integers(1, 9), st.randoms(use_true_random=False))
def test_output_equals_direct_computation_for_any_partitioning_and_order(recs, parts, maps, rnd):
    rnd.shuffle(recs)
    want = direct_means(recs)
    plain = dc.run_local(rating_mapper, mean_reducer, recs, partitions=parts, maps=maps)
    assert plain.output == want
    combined = dc.run_local(pair_mapper, mean_of_pairs, recs, partitions=parts, maps=maps,
                            combiner=add_pairs)
    assert combined.output.keys() == want.keys()
    assert all(abs(combined.output[m] - want[m]) < 1e-12 for m in want)
    assert combined.shuffle_pairs <= plain.shuffle_pairs


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text("abc ", max_size=12), max_size=30), st.integers(1, 5))
def test_word_count_matches_a_counter(lines, parts):
    from collections import Counter

    want = Counter(w for line in lines for w in line.split())
    assert dc.run_local(word_mapper, word_reducer, lines, partitions=parts).output == dict(
        sorted(want.items()))


def test_every_key_lands_in_one_partition_and_splits_cover_the_input():
    assert all(0 <= dc.partition_of(k, 5) < 5 for k in ["a", 1, (2, "x")])
    assert sum(split_records(list(range(10)), 4), []) == list(range(10))


def test_combiner_cuts_shuffle_bytes():
    data = dc.movielens(seed=0)
    plain = dc.run_local(rating_mapper, mean_reducer, data.ratings)
    combined = dc.run_local(pair_mapper, mean_of_pairs, data.ratings, combiner=add_pairs)
    assert combined.shuffle_bytes < 0.4 * plain.shuffle_bytes
    assert sum(combined.bytes_by_partition) == combined.shuffle_bytes


def test_a_bad_mapper_is_explained():
    with pytest.raises(Invalid, match="returned None"):
        dc.run_local(lambda r: None, mean_reducer, [1])
    with pytest.raises(Invalid, match=r"\(key, value\) pair"):
        dc.run_local(lambda r: [r], mean_reducer, [1])
    with pytest.raises(Invalid, match="partitions"):
        dc.run_local(rating_mapper, mean_reducer, [], partitions=0)


def test_simulated_run_reruns_a_failed_mapper_and_stays_exact():
    data = dc.movielens(seed=0, ratings=1000, users=100, movies=20)
    run = dc.run_cluster(rating_mapper, mean_reducer, data.ratings, kill={"worker-2": 2.0},
                         map_cost=0.02)
    assert run.output == direct_means(data.ratings)
    assert run.kills and run.suspicions[0][1] == "worker-2"
    rerun = {m for _t, m, w in run.reruns if w == "worker-2"}
    assert rerun and all(any(s.task == f"map {m}" and s.note == "re-run" for s in run.segments)
                         for m in rerun)
    assert run.makespan > dc.run_cluster(rating_mapper, mean_reducer, data.ratings,
                                         map_cost=0.02).makespan


def test_finished_map_outputs_of_a_dead_worker_are_rerun():
    data = dc.movielens(seed=1, ratings=800, users=80, movies=20)
    # 8 map tasks of 1 s on 4 workers: worker-2 finishes map 1 at ~1 s and dies at 1.5 s.
    run = dc.run_cluster(rating_mapper, mean_reducer, data.ratings, kill={"worker-2": 1.5},
                         map_cost=0.01)
    assert 1 in {m for _t, m, _w in run.reruns}
    assert run.output == direct_means(data.ratings)


def test_straggler_slows_the_barrier_and_backups_help():
    data = dc.movielens(seed=0)
    base = dc.run_cluster(rating_mapper, mean_reducer, data.ratings)
    slow = dc.run_cluster(rating_mapper, mean_reducer, data.ratings, speeds={"worker-3": 0.25})
    backup = dc.run_cluster(rating_mapper, mean_reducer, data.ratings,
                            speeds={"worker-3": 0.25}, speculate=True)
    assert base.map_end < backup.map_end < slow.map_end
    assert any(s.note == "wasted" for s in backup.segments)
    assert backup.output == slow.output == base.output


def test_simulated_run_is_deterministic_and_plots():
    data = dc.movielens(seed=2, ratings=500, users=50, movies=10)
    a = dc.run_cluster(pair_mapper, mean_of_pairs, data.ratings, combiner=add_pairs, seed=3,
                       kill={"worker-1": 1.0})
    b = dc.run_cluster(pair_mapper, mean_of_pairs, data.ratings, combiner=add_pairs, seed=3,
                       kill={"worker-1": 1.0})
    assert a == b and repr(a) == repr(b)
    assert a.plot().alt and a.result.plot().alt
    assert dc.phase_plot({"a": a.result}).alt
    with pytest.raises(Invalid, match="no worker alive"):
        dc.run_cluster(rating_mapper, mean_reducer, [], workers=1, kill={"worker-1": 1.0})


def test_processes_give_the_local_output():
    data = dc.movielens(seed=0, ratings=600, users=60, movies=15)
    local = dc.run_local(pair_mapper, mean_of_pairs, data.ratings, partitions=3, maps=4,
                         combiner=add_pairs)
    real = dc.run_processes(pair_mapper, mean_of_pairs, data.ratings, processes=2,
                            partitions=3, maps=4, combiner=add_pairs)
    assert real.output == local.output and real.shuffle_bytes == local.shuffle_bytes
    assert set(real.times) == {"start", "map", "reduce", "total"}
    with pytest.raises(Invalid, match="processes"):
        dc.run_processes(pair_mapper, mean_of_pairs, [], processes=0)


def test_spawn_refuses_unpicklable_functions(monkeypatch):
    from labsupport.dc import mrprocess

    monkeypatch.setattr(mrprocess, "start_method", lambda: "spawn")
    with pytest.raises(Invalid, match="importable|top level"):
        mrprocess.run_processes(lambda r: [(r, 1)], word_reducer, ["a"], processes=1)


def test_ratings_are_deterministic_and_bounded():
    a, b = dc.movielens(seed=4, users=30, movies=10, ratings=200), dc.movielens(
        seed=4, users=30, movies=10, ratings=200)
    assert a == b and a != dc.movielens(seed=5, users=30, movies=10, ratings=200)
    assert {r["rating"] for r in a.ratings} <= {1, 2, 3, 4, 5}
    assert len({(r["user"], r["movie"]) for r in a.ratings}) == 200
    assert dc.corpus(seed=1, lines=5) == dc.corpus(seed=1, lines=5)
    with pytest.raises(Invalid, match="at most"):
        dc.movielens(users=2, movies=2, ratings=5)
    with pytest.raises(Invalid, match="no movie"):
        a.movie(99)
