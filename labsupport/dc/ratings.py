"""Synthetic movie ratings and review text, in the spirit of MovieLens, made by the course.

Lesson 03 needs data to run MapReduce on: who rated which movie how, and some
text to count words in. Real MovieLens files are large and have a licence of
their own, so the course makes a small look-alike itself, the same for the
same seed:

- **movies** with a title, a year and one or two genres, and a hidden
  *quality*;
- **users**, each in a *taste cluster* that likes some genres and dislikes
  others;
- **ratings** from 1 to 5 stars: quality plus taste plus noise, rounded.
  A few movies are popular (many ratings) and most are not, as on any real
  site, so averages rest on very different numbers of ratings;
- a **corpus** of short review lines for word count, whose word frequencies
  fall off like natural language (a few words are everywhere, most are rare).

Every rating is a plain dict ``{"user": 7, "movie": 12, "rating": 4}``, so it
prints clearly, travels as JSON and pickles to worker processes.

Example:
    >>> data = movielens(seed=0, users=20, movies=8, ratings=100)
    >>> data
    <MovieLens seed 0: 20 users, 8 movies, 100 ratings>
    >>> data.ratings[0]
    {'user': 11, 'movie': 2, 'rating': 3}
    >>> data.movies[0].title, data.movies[0].genres
    ('The Golden Summer (1972)', ('Comedy', 'Romance'))
    >>> corpus(seed=0, lines=2)
    ['the and this the long a slow', 'the a and great movie great']
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from labsupport.errors import Invalid

__all__ = ["Movie", "MovieLens", "movielens", "corpus", "GENRES"]

#: The genres movies are drawn from.
GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "Animation")

_ADJECTIVES = ("Silent", "Last", "Broken", "Golden", "Hidden", "Crimson", "Lost", "Wild",
               "Midnight", "Frozen", "Distant", "Electric", "Quiet", "Burning", "Secret")
_NOUNS = ("Harbor", "Signal", "Garden", "Empire", "River", "Station", "Mirror", "Orbit",
          "Kingdom", "Summer", "Machine", "Island", "Shadow", "Frontier", "Letter")
# Taste clusters: how much each cluster likes (+) or dislikes (-) a genre, in stars.
_TASTES = (
    {"Action": 0.9, "Sci-Fi": 0.8, "Thriller": 0.5, "Romance": -0.9, "Drama": -0.3},
    {"Drama": 0.9, "Romance": 0.8, "Animation": 0.3, "Horror": -1.0, "Action": -0.5},
    {"Horror": 1.1, "Thriller": 0.8, "Comedy": -0.6, "Animation": -0.7},
    {"Comedy": 0.9, "Animation": 1.0, "Romance": 0.3, "Horror": -0.8, "Thriller": -0.4},
)
# Review vocabulary, most common first: word k is drawn with weight 1 / (k + 1).
_WORDS = ("the", "a", "and", "of", "is", "this", "movie", "plot", "cast", "ending", "slow",
          "great", "dark", "funny", "ship", "love", "music", "long", "heist", "scenes",
          "actor", "twist", "sequel", "camera", "script", "ghost", "robot", "storm",
          "villain", "dialogue", "pacing", "soundtrack", "cliche", "masterpiece")


@dataclass(frozen=True)
class Movie:
    """One movie.

    Attributes:
        id: its number, from 1.
        title: e.g. ``"The Golden Summer (1972)"``.
        genres: one or two of :data:`GENRES`.
        quality: how good it is, in stars above or below average (hidden
            from the lesson's computations; it only shapes the ratings).
    """

    id: int
    title: str
    genres: tuple[str, ...]
    quality: float


@dataclass(frozen=True)
class MovieLens:
    """A synthetic ratings data set.

    Attributes:
        seed: the seed it was made with.
        movies: the movies, by id order.
        users: how many users (ids 1..users).
        clusters: each user's taste cluster, ``{user: cluster}``.
        ratings: ``{"user", "movie", "rating"}`` dicts, in the order they
            were "submitted".
    """

    seed: int
    movies: tuple[Movie, ...]
    users: int
    clusters: dict[int, int]
    ratings: tuple[dict[str, int], ...]

    def movie(self, movie_id: int) -> Movie:
        """The movie with this id."""
        if not 1 <= movie_id <= len(self.movies):
            raise Invalid(f"no movie {movie_id!r}; ids run from 1 to {len(self.movies)}")
        return self.movies[movie_id - 1]

    def counts(self) -> Counter[int]:
        """How many ratings each movie has."""
        return Counter(r["movie"] for r in self.ratings)

    def __repr__(self) -> str:
        return (f"<MovieLens seed {self.seed}: {self.users} users, {len(self.movies)} movies, "
                f"{len(self.ratings)} ratings>")


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"{name} must be a whole number of at least 1, got {value!r}")
    return value


def movielens(seed: int = 0, *, users: int = 200, movies: int = 40,
              ratings: int = 4000) -> MovieLens:
    """Make a synthetic MovieLens-like data set (the same one for the same seed).

    Args:
        seed: which data set.
        users: how many users.
        movies: how many movies.
        ratings: how many ratings in all (a user rates a movie at most once,
            so at most ``users * movies``).

    Returns:
        a :class:`MovieLens`.

    Example:
        >>> d = movielens(seed=1, users=50, movies=10, ratings=300)
        >>> len(d.ratings), min(r["rating"] for r in d.ratings), max(r["rating"] for r in d.ratings)
        (300, 1, 5)
        >>> d.counts().most_common(1)[0][1] > d.counts().most_common()[-1][1]
        True
    """
    _positive("users", users)
    _positive("movies", movies)
    _positive("ratings", ratings)
    if ratings > users * movies:
        raise Invalid(f"{ratings} ratings is more than {users} users can give {movies} movies "
                      f"(one rating per user and movie: at most {users * movies})")
    rng = random.Random(f"{seed}:movielens")
    films = []
    for i in range(1, movies + 1):
        title = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} ({rng.randint(1960, 2024)})"
        genres = tuple(sorted(rng.sample(GENRES, rng.choice((1, 1, 2)))))
        films.append(Movie(i, title, genres, round(rng.gauss(0.0, 0.6), 3)))
    clusters = {u: rng.randrange(len(_TASTES)) for u in range(1, users + 1)}
    # Popularity falls off like 1/rank: a few hits, a long tail of rarely rated movies.
    order = list(range(1, movies + 1))
    rng.shuffle(order)
    weight = {m: 1.0 / (rank + 1) for rank, m in enumerate(order)}
    seen: set[tuple[int, int]] = set()
    out: list[dict[str, int]] = []
    ids, weights = list(weight), list(weight.values())
    while len(out) < ratings:
        user = rng.randint(1, users)
        movie = rng.choices(ids, weights)[0]
        if (user, movie) in seen:
            continue
        seen.add((user, movie))
        film = films[movie - 1]
        taste = _TASTES[clusters[user]]
        liking = sum(taste.get(g, 0.0) for g in film.genres) / len(film.genres)
        stars = 3.2 + film.quality + liking + rng.gauss(0.0, 0.7)
        out.append({"user": user, "movie": movie, "rating": min(5, max(1, round(stars)))})
    return MovieLens(seed, tuple(films), users, clusters, tuple(out))


def corpus(seed: int = 0, *, lines: int = 200, words: tuple[int, int] = (6, 14)) -> list[str]:
    """Short review lines for word count (the same lines for the same seed).

    Word frequencies fall off like natural language: word number ``k`` of the
    vocabulary is drawn with weight ``1 / (k + 1)``, so "the" is everywhere
    and "masterpiece" is rare.

    Args:
        seed: which text.
        lines: how many lines.
        words: the fewest and most words in a line.

    Example:
        >>> text = corpus(seed=3, lines=50)
        >>> len(text), all(4 <= len(line.split()) <= 14 for line in text)
        (50, True)
    """
    _positive("lines", lines)
    low, high = words
    if not 1 <= low <= high:
        raise Invalid(f"words must be (fewest, most) with 1 <= fewest <= most, got {words!r}")
    rng = random.Random(f"{seed}:corpus")
    weights = [1.0 / (k + 1) for k in range(len(_WORDS))]
    return [" ".join(rng.choices(_WORDS, weights, k=rng.randint(low, high)))
            for _ in range(lines)]
