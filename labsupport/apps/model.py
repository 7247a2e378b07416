"""The recommender model: matrix factorisation by alternating least squares.

Each user and each movie gets a short vector of *factors* (16 numbers);
a user's score for a movie is the dot product of the two. The factors are
fitted by *alternating least squares* (ALS): hold the movies' factors fixed
and each user's best factors are a small linear solve, then the other way
round, a few times, using only the cells users rated. Before that, the
overall mean and a *bias* per user (a generous rater) and per movie (a good
film) are taken out, so the factors learn taste alone. A score is the
predicted number of stars. Plain numpy, seeded: the same ratings and seed
give the same model.

A model is saved as ``model-000N.npz`` plus a manifest ``model-000N.json``
in the model folder, each written to a temporary file, fsync'ed and then
moved into place, so a reader never sees half a model: see :func:`save`.

Example:
    >>> triples = [(u, m, 5 if (u + m) % 2 else 1) for u in range(1, 9) for m in range(1, 7)]
    >>> model = fit(triples, {m: f"Movie {m}" for m in range(1, 7)}, factors=4, seed=0)
    >>> model
    <Model version 0: 8 users, 6 movies, 4 factors>
    >>> del triples[0]  # user 1 has not rated movie 1 now
    >>> [r["movie"] for r in fit(triples, {m: f"Movie {m}" for m in range(1, 7)}).recommend(1)]
    [1]
    >>> model.recommend(1, 2)  # user 1 rated everything: nothing left to recommend
    []
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Model", "fit", "save", "load", "manifest", "newest", "versions", "top_rows"]

FACTORS = 8
ITERATIONS = 10
# Weighted-lambda regularisation: a user (movie) with n ratings pays REGULARISATION * n.
REGULARISATION = 0.1
# Biases are shrunk towards 0 as if each user and movie had this many extra average ratings.
BIAS_SHRINK = 5.0

@dataclass
class Model:
    """A fitted recommender.

    Attributes:
        version: its version number (0 until saved).
        user_ids: the users it knows, in row order.
        movie_ids: the movies it knows, in row order.
        user_factors: one row of factors per user.
        movie_factors: one row of factors per movie.
        rated_indptr: CSR row pointers: user row ``i`` rated the movie rows
            ``rated_indices[rated_indptr[i]:rated_indptr[i + 1]]``.
        rated_indices: see ``rated_indptr``.
        titles: the title of each movie row.
        info: what the manifest says (ratings count, seed, offset, ...).
    """

    version: int
    user_ids: np.ndarray
    movie_ids: np.ndarray
    user_factors: np.ndarray
    movie_factors: np.ndarray
    rated_indptr: np.ndarray
    rated_indices: np.ndarray
    titles: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._row = {int(u): i for i, u in enumerate(self.user_ids)}

    def knows(self, user: int) -> bool:
        """True when the model has factors for ``user``."""
        return user in self._row

    def scores(self, user: int) -> np.ndarray:
        """Predicted stars of every movie row for ``user``, -inf where already rated.

        Raises:
            KeyError: the model does not know ``user``.
        """
        row = self._row[user]
        scores = self.movie_factors @ self.user_factors[row]
        scores[self.rated_indices[self.rated_indptr[row]:self.rated_indptr[row + 1]]] = -np.inf
        return scores

    def recommend(self, user: int, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` best movies for ``user`` that the user has not rated.

        Best first; equal scores in movie-row order. This is what serving
        answers; :meth:`recommend_reference` is the same answer by sorting
        everything, the definition this is tested against.

        Raises:
            KeyError: the model does not know ``user``.
        """
        scores = self.scores(user)
        return self._answer(top_rows(scores, n), scores)

    def recommend_reference(self, user: int, n: int = 10) -> list[dict[str, Any]]:
        """:meth:`recommend` by a full sort of every unrated movie (slow, plain)."""
        scores = self.scores(user)
        order = np.lexsort((np.arange(len(scores)), -scores))  # score down, then row up
        return self._answer(np.array([i for i in order if np.isfinite(scores[i])][:n], int),
                            scores)

    def _answer(self, top: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
        return [{"movie": int(self.movie_ids[i]), "title": str(self.titles[i]),
                 "score": round(float(scores[i]), 3)} for i in top]

    def __repr__(self) -> str:
        return (f"<Model version {self.version}: {len(self.user_ids)} users, "
                f"{len(self.movie_ids)} movies, {self.info.get('factors', '?')} factors>")


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the ``n`` highest finite ``scores``, best first, ties by row.

    Selecting 10 of 10,000 does not need all 10,000 ordered. A threshold is
    taken from every 16th score (a 16th of the work); when at least ``n``
    scores reach it, the best ``n`` are among those, and only they are
    ordered. Otherwise (few finite scores, small arrays) everything is.

    Example:
        >>> top_rows(np.array([0.5, 2.0, -np.inf, 2.0, 1.0]), 3).tolist()
        [1, 3, 4]
    """
    if n <= 0:
        return np.zeros(0, int)
    candidates = np.arange(len(scores))
    stride = 16
    if len(scores) >= 64 * n * stride // 16:
        sample = scores[::stride]
        k = min(len(sample) - 1, max(4 * n // stride + 4, 4))  # expect ~16k scores above
        threshold = np.partition(sample, len(sample) - 1 - k)[len(sample) - 1 - k]
        if np.isfinite(threshold):
            above = np.flatnonzero(scores >= threshold)
            if len(above) >= n:
                candidates = above
    picked = scores[candidates]
    finite = np.isfinite(picked)
    candidates, picked = candidates[finite], picked[finite]
    order = np.lexsort((candidates, -picked))[:n]  # score down, then row up
    return candidates[order]


def _solve(fixed: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
           residual: np.ndarray, reg: float) -> np.ndarray:
    """One half-step of ALS: each row's best factors given the other side's ``fixed`` ones.

    Row ``i`` rated the columns ``indices[indptr[i]:indptr[i + 1]]`` with these
    ``residual`` stars (after the biases); its factors solve a k x k system.
    """
    k = fixed.shape[1]
    out = np.zeros((len(indptr) - 1, k))
    for row in range(len(indptr) - 1):
        lo, hi = indptr[row], indptr[row + 1]
        if lo == hi:
            continue
        y = fixed[indices[lo:hi]]
        out[row] = np.linalg.solve(y.T @ y + reg * (hi - lo) * np.eye(k), y.T @ residual[lo:hi])
    return out


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
         n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, cols[order].astype(np.int64), values[order]


def fit(triples: Iterable[tuple[int, int, int]], titles: Mapping[int, str], *,
        factors: int = FACTORS, iterations: int = ITERATIONS, reg: float = REGULARISATION,
        seed: int = 0) -> Model:
    """Fit a model to ``(user, movie, stars)`` triples.

    Args:
        triples: the rating matrix, one triple per user and movie.
        titles: movie id -> title; every movie here can be recommended.
        factors: factors per user and movie.
        iterations: ALS sweeps (each solves all users, then all movies).
        reg: regularisation, which keeps factors small.
        seed: seed of the initial factors.

    Raises:
        ValueError: no ratings.
    """
    data = np.asarray(list(triples), dtype=np.int64).reshape(-1, 3)
    if len(data) == 0:
        raise ValueError("there are no ratings to learn from")
    user_ids = np.unique(data[:, 0])
    movie_ids = np.union1d(np.unique(data[:, 1]), np.fromiter(titles, dtype=np.int64))
    u = np.searchsorted(user_ids, data[:, 0])
    m = np.searchsorted(movie_ids, data[:, 1])
    stars = data[:, 2].astype(float)
    n_users, n_movies = len(user_ids), len(movie_ids)
    mean = float(stars.mean())
    user_bias, movie_bias = np.zeros(n_users), np.zeros(n_movies)
    for _ in range(5):
        movie_bias = (np.bincount(m, stars - mean - user_bias[u], n_movies)
                      / (np.bincount(m, minlength=n_movies) + BIAS_SHRINK))
        user_bias = (np.bincount(u, stars - mean - movie_bias[m], n_users)
                     / (np.bincount(u, minlength=n_users) + BIAS_SHRINK))
    residual = stars - mean - user_bias[u] - movie_bias[m]
    by_user = _csr(u, m, residual, n_users)
    by_movie = _csr(m, u, residual, n_movies)
    rng = np.random.default_rng(seed)
    users = rng.normal(0.0, 0.1, (n_users, factors))
    movies = rng.normal(0.0, 0.1, (n_movies, factors))
    for _ in range(iterations):
        users = _solve(movies, *by_user, reg)
        movies = _solve(users, *by_movie, reg)
    # Fold the biases into the factors, so a score is one dot product:
    # [x, 1, mean + b_user] . [y, b_movie, 1] = x.y + b_movie + mean + b_user.
    users = np.hstack([users, np.ones((n_users, 1)), (mean + user_bias)[:, None]])
    movies = np.hstack([movies, movie_bias[:, None], np.ones((n_movies, 1))])
    names = np.array([titles.get(int(i), f"Movie {i}") for i in movie_ids])
    return Model(0, user_ids, movie_ids, users.astype(np.float32), movies.astype(np.float32),
                 by_user[0], by_user[1], names,
                 {"users": n_users, "movies": n_movies, "ratings": len(data),
                  "factors": factors, "iterations": iterations, "seed": seed,
                  "mean_stars": round(mean, 3)})


def _name(version: int, suffix: str) -> str:
    return f"model-{version:04d}.{suffix}"


def versions(folder: str | Path) -> list[int]:
    """The versions whose manifest is in ``folder`` (complete models only), oldest first."""
    out = []
    for path in Path(folder).glob("model-*.json"):
        number = path.stem.removeprefix("model-")
        if number.isdigit():
            out.append(int(number))
    return sorted(out)


def newest(folder: str | Path) -> int | None:
    """The newest complete version in ``folder``, or None."""
    found = versions(folder)
    return found[-1] if found else None


def _durable_temp(folder: Path, write: Any) -> str:
    """Write a temporary file in ``folder`` with ``write(fileobj)`` and fsync it."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(model: Model, folder: str | Path) -> int:
    """Save ``model`` as the next version in ``folder`` and return the version.

    The arrays go to a temporary file, fsync'ed, then linked in as
    ``model-000N.npz`` (a link fails if another trainer took N first: then
    N + 1 is tried); the manifest follows the same way with ``os.replace``.
    Readers look for manifests only, so they never see a half-written model.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"user_ids": model.user_ids, "movie_ids": model.movie_ids,
              "user_factors": model.user_factors, "movie_factors": model.movie_factors,
              "rated_indptr": model.rated_indptr, "rated_indices": model.rated_indices,
              "titles": model.titles}
    tmp = _durable_temp(folder, lambda fh: np.savez(fh, **arrays))
    version = max([*versions(folder), *_npz_versions(folder), 0]) + 1
    try:
        while True:
            try:
                os.link(tmp, folder / _name(version, "npz"))
                break
            except FileExistsError:
                version += 1
    finally:
        os.unlink(tmp)
    manifest = dict(model.info, version=version, file=_name(version, "npz"),
                    created=time.time())
    text = json.dumps(manifest, indent=2).encode()
    tmp = _durable_temp(folder, lambda fh: fh.write(text))
    os.replace(tmp, folder / _name(version, "json"))
    _fsync_dir(folder)
    model.version, model.info = version, manifest
    return version


def _npz_versions(folder: Path) -> list[int]:
    return [int(p.stem[6:]) for p in folder.glob("model-*.npz") if p.stem[6:].isdigit()]


def manifest(folder: str | Path, version: int) -> dict[str, Any]:
    """The manifest of one version."""
    return json.loads((Path(folder) / _name(version, "json")).read_text())


def load(folder: str | Path, version: int) -> Model:
    """Load one version, completely, into memory."""
    info = manifest(folder, version)
    with np.load(Path(folder) / info["file"]) as z:
        arrays = {name: z[name] for name in z.files}
    return Model(version, info=info, **arrays)
