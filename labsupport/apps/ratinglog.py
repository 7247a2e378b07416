"""The ingestion service's log of ratings: SQLite, durable before it answers.

A rating acknowledged with ``201`` must survive a crash a moment later. SQLite
in WAL mode with ``synchronous=FULL`` fsyncs the log at every commit, so once
:meth:`RatingLog.append` returns the rating is on disk. Each rating gets an
*offset* (0, 1, 2, ...), its place in the log, as in Kafka: a reader asks
for ``since=OFFSET`` and gets what came after, in order.

Example:
    >>> import tempfile
    >>> log = RatingLog(tempfile.mkdtemp())
    >>> log.append(7, 3, 4, time=1.0), log.append(8, 3, 5, time=2.0)
    (0, 1)
    >>> log.read(since=1, limit=10)
    ([{'offset': 1, 'user': 8, 'movie': 3, 'stars': 5, 'time': 2.0}], 2)
    >>> log.close()
"""

from __future__ import annotations

import sqlite3
import threading
import time as clock
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["RatingLog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    user INTEGER NOT NULL, movie INTEGER NOT NULL,
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5), time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS movies (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                                   genres TEXT NOT NULL);
"""


class RatingLog:
    """An append-only, durable log of ratings and the movie catalogue.

    Args:
        folder: where ``ratings.sqlite`` lives (created when missing).
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "ratings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def append(self, user: int, movie: int, stars: int, *, time: float | None = None) -> int:
        """Store one rating on disk and return its offset."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO ratings (user, movie, stars, time) VALUES (?, ?, ?, ?)",
                (user, movie, stars, clock.time() if time is None else time))
            return cur.lastrowid - 1  # SQLite numbers rows from 1, offsets start at 0

    def extend(self, ratings: Iterable[tuple[int, int, int, float]]) -> tuple[int, int]:
        """Store many ``(user, movie, stars, time)`` in one transaction.

        Returns:
            the first offset and the next offset after them.
        """
        with self._lock:
            first = self._next_locked()
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO ratings (user, movie, stars, time) VALUES (?, ?, ?, ?)", ratings)
            self._db.execute("COMMIT")
            return first, self._next_locked()

    def _next_locked(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'ratings'").fetchone()
        return row[0] if row else 0

    def next_offset(self) -> int:
        """The offset the next rating will get (how many were ever stored)."""
        with self._lock:
            return self._next_locked()

    def read(self, since: int = 0, limit: int = 1000) -> tuple[list[dict[str, Any]], int]:
        """Ratings with ``offset >= since``, at most ``limit``, and the offset to ask for next."""
        with self._lock:
            rows = self._db.execute(
                "SELECT position, user, movie, stars, time FROM ratings WHERE position > ? "
                "ORDER BY position LIMIT ?", (since, limit)).fetchall()
        out = [{"offset": o - 1, "user": u, "movie": m, "stars": s, "time": t}
               for o, u, m, s, t in rows]
        return out, (out[-1]["offset"] + 1 if out else since)

    def set_movies(self, movies: Iterable[tuple[int, str, str]]) -> None:
        """Replace the catalogue with ``(id, title, genres)`` rows."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM movies")
            self._db.executemany("INSERT INTO movies VALUES (?, ?, ?)", movies)
            self._db.execute("COMMIT")

    def movies(self) -> list[dict[str, Any]]:
        """The catalogue, by id."""
        with self._lock:
            rows = self._db.execute("SELECT id, title, genres FROM movies ORDER BY id").fetchall()
        return [{"movie": i, "title": t, "genres": g.split("|") if g else []} for i, t, g in rows]

    def has_movie(self, movie: int) -> bool | None:
        """Whether the catalogue lists ``movie``; None when there is no catalogue yet."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM movies LIMIT 1").fetchone() is None:
                return None
            return self._db.execute("SELECT 1 FROM movies WHERE id = ?",
                                    (movie,)).fetchone() is not None

    def close(self) -> None:
        """Close the database (everything stored is already on disk)."""
        with self._lock:
            self._db.close()
