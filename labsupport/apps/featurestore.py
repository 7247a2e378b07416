"""The features service's store: the rating matrix and per-user, per-movie figures.

The matrix is kept as sparse triples ``(user, movie, stars)``, one per user
and movie (a newer rating replaces an older one), in SQLite under
``DATA_DIR/features``. From it come the features the other services use:
for each user and each movie, how many ratings and their mean. The store
also remembers the ingestion offset it has read up to, so a build only pulls
what is new.

Example:
    >>> import tempfile
    >>> s = FeatureStore(tempfile.mkdtemp())
    >>> s.add([{"offset": 0, "user": 1, "movie": 2, "stars": 4, "time": 0.0},
    ...        {"offset": 1, "user": 1, "movie": 2, "stars": 2, "time": 1.0}], next_offset=2)
    >>> s.offset(), s.user(1)
    (2, {'user': 1, 'ratings': 1, 'mean_stars': 2.0, 'rated': [2]})
    >>> s.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["FeatureStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS matrix (user INTEGER, movie INTEGER, stars INTEGER, time REAL,
                                   PRIMARY KEY (user, movie));
CREATE INDEX IF NOT EXISTS matrix_movie ON matrix (movie);
CREATE TABLE IF NOT EXISTS users (user INTEGER PRIMARY KEY, ratings INTEGER, mean REAL);
CREATE TABLE IF NOT EXISTS movie_stats (movie INTEGER PRIMARY KEY, ratings INTEGER, mean REAL);
CREATE TABLE IF NOT EXISTS movies (id INTEGER PRIMARY KEY, title TEXT, genres TEXT);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER);
"""


class FeatureStore:
    """The rating matrix and its features, on disk.

    Args:
        folder: where ``features.sqlite`` lives (created when missing).
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "features.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def offset(self) -> int:
        """The ingestion offset read up to."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'offset'").fetchone()
        return row[0] if row else 0

    def add(self, ratings: list[dict[str, Any]], next_offset: int) -> None:
        """Fold new ratings into the matrix, refresh the features, and move the offset.

        One transaction: a crash half-way leaves the store as it was, and the
        next build pulls the same ratings again.
        """
        users = sorted({r["user"] for r in ratings})
        movies = sorted({r["movie"] for r in ratings})
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO matrix VALUES (?, ?, ?, ?)",
                           [(r["user"], r["movie"], r["stars"], r["time"]) for r in ratings])
            db.executemany("INSERT OR REPLACE INTO users SELECT user, COUNT(*), AVG(stars) "
                           "FROM matrix WHERE user = ?", [(u,) for u in users])
            db.executemany("INSERT OR REPLACE INTO movie_stats SELECT movie, COUNT(*), "
                           "AVG(stars) FROM matrix WHERE movie = ?", [(m,) for m in movies])
            db.execute("INSERT OR REPLACE INTO state VALUES ('offset', ?)", (next_offset,))
            db.execute("COMMIT")

    def set_movies(self, movies: Iterable[dict[str, Any]]) -> None:
        """Replace the catalogue with ingestion's ``{"movie", "title", "genres"}`` rows."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM movies")
            self._db.executemany("INSERT INTO movies VALUES (?, ?, ?)",
                                 [(m["movie"], m["title"], "|".join(m["genres"]))
                                  for m in movies])
            self._db.execute("COMMIT")

    def user(self, user: int) -> dict[str, Any] | None:
        """A user's features, or None for a user with no ratings."""
        with self._lock:
            row = self._db.execute("SELECT ratings, mean FROM users WHERE user = ?",
                                   (user,)).fetchone()
            rated = self._db.execute("SELECT movie FROM matrix WHERE user = ? ORDER BY movie",
                                     (user,)).fetchall()
        if row is None:
            return None
        return {"user": user, "ratings": row[0], "mean_stars": round(row[1], 3),
                "rated": [m for (m,) in rated]}

    def movie(self, movie: int) -> dict[str, Any] | None:
        """A movie's features, or None when it is neither rated nor in the catalogue."""
        with self._lock:
            row = self._db.execute("SELECT ratings, mean FROM movie_stats WHERE movie = ?",
                                   (movie,)).fetchone()
            info = self._db.execute("SELECT title, genres FROM movies WHERE id = ?",
                                    (movie,)).fetchone()
        if row is None and info is None:
            return None
        return {"movie": movie, "title": info[0] if info else f"Movie {movie}",
                "genres": info[1].split("|") if info and info[1] else [],
                "ratings": row[0] if row else 0,
                "mean_stars": round(row[1], 3) if row else None}

    def matrix(self) -> dict[str, Any]:
        """The whole matrix as triples, the catalogue and the offset (what training reads)."""
        with self._lock:
            triples = self._db.execute("SELECT user, movie, stars FROM matrix").fetchall()
            movies = self._db.execute("SELECT id, title FROM movies ORDER BY id").fetchall()
            row = self._db.execute("SELECT value FROM state WHERE key = 'offset'").fetchone()
        return {"offset": row[0] if row else 0, "triples": [list(t) for t in triples],
                "movies": [list(m) for m in movies]}

    def counts(self) -> dict[str, int]:
        """How many users, movies and ratings the matrix holds."""
        with self._lock:
            users, movies, ratings = self._db.execute(
                "SELECT COUNT(DISTINCT user), COUNT(DISTINCT movie), COUNT(*) FROM matrix"
            ).fetchone()
        return {"users": users, "movies": movies, "ratings": ratings}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
