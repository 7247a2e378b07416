"""The recommender is not a stub: it beats popularity on held-out ratings, and saves atomically."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labsupport.apps import model as mf
from labsupport.apps.model import Model, top_rows
from labsupport.dc.ratings import movielens


def _ndcg(scores, stars, k=10):
    order = np.argsort(-scores, kind="stable")[:k]
    gains = 2.0 ** stars - 1
    dcg = sum(gains[i] / np.log2(rank + 2) for rank, i in enumerate(order))
    ideal = sum(g / np.log2(rank + 2) for rank, g in enumerate(sorted(gains, reverse=True)[:k]))
    return dcg / ideal


def test_beats_popularity_at_ranking_held_out_ratings(seed):
    """NDCG@10 of each user's held-out movies, ranked by the model or by popularity."""
    data = movielens(seed, users=200, movies=50, ratings=5000)
    order = np.random.default_rng(seed).permutation(len(data.ratings))
    cut = int(0.8 * len(order))
    train = [data.ratings[i] for i in order[:cut]]
    test = [data.ratings[i] for i in order[cut:]]
    model = mf.fit([(r["user"], r["movie"], r["rating"]) for r in train],
                   {m.id: m.title for m in data.movies}, seed=seed)
    row = {int(m): i for i, m in enumerate(model.movie_ids)}
    popularity = np.bincount([r["movie"] for r in train], minlength=51).astype(float)
    held: dict[int, list[tuple[int, int]]] = {}
    for r in test:
        held.setdefault(r["user"], []).append((r["movie"], r["rating"]))
    ours, baseline = [], []
    for user, items in held.items():
        if len(items) < 2 or not model.knows(user):
            continue
        movies = np.array([m for m, _ in items])
        stars = np.array([s for _, s in items], dtype=float)
        u = model.user_factors[model._row[user]]
        ours.append(_ndcg(model.movie_factors[[row[m] for m in movies]] @ u, stars))
        baseline.append(_ndcg(popularity[movies], stars))
    assert np.mean(ours) > np.mean(baseline) + 0.05, (np.mean(ours), np.mean(baseline))


def test_versions_are_saved_atomically_and_numbered(tmp_path):
    triples = [(u, m, 1 + (u * m) % 5) for u in range(1, 20) for m in range(1, 10)]
    model = mf.fit(triples, {m: f"Movie {m}" for m in range(1, 10)})
    assert [mf.save(model, tmp_path) for _ in range(3)] == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"model-000{v}.{ext}" for v in (1, 2, 3) for ext in ("json", "npz")]
    loaded = mf.load(tmp_path, 3)
    assert loaded.recommend(1, 3) == model.recommend(1, 3)
    (tmp_path / "model-0004.npz").write_bytes(b"half a model")  # no manifest: not a version
    assert mf.newest(tmp_path) == 3
    assert mf.save(model, tmp_path) == 5


# --- the fast selection against its definition --------------------------------------------
def _reference_rows(scores: np.ndarray, n: int) -> list[int]:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [i for i in order if np.isfinite(scores[i])][:max(n, 0)]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 120), st.integers(0, 2**32 - 1),
       st.sampled_from(["normal", "few-values", "mostly-rated"]))
def test_top_rows_is_the_full_sort_truncated(size, n, seed, shape):
    rng = np.random.default_rng(seed)
    if shape == "normal":
        scores = rng.normal(0, 1, size).astype(np.float32)
    elif shape == "few-values":  # many ties, on the threshold too
        scores = rng.integers(0, 4, size).astype(np.float32)
    else:
        scores = rng.normal(0, 1, size).astype(np.float32)
        scores[rng.random(size) < 0.97] = -np.inf
    assert top_rows(scores, n).tolist() == _reference_rows(scores, n)


def test_recommend_matches_the_reference_on_a_large_model():
    rng = np.random.default_rng(1)
    users, movies, rated = 300, 10_000, 20
    model = Model(0, np.arange(1, users + 1), np.arange(1, movies + 1),
                  rng.normal(0, 0.3, (users, 10)).astype(np.float32),
                  rng.normal(0, 0.3, (movies, 10)).astype(np.float32),
                  np.arange(0, users * rated + 1, rated),
                  rng.integers(0, movies, users * rated),
                  np.array([f"Movie {i}" for i in range(1, movies + 1)]))
    for user in range(1, users + 1):
        for n in (1, 10, 100):
            assert model.recommend(user, n) == model.recommend_reference(user, n)
