"""The ingestion service: accepts ratings and keeps every acknowledged one.

Routes (besides /healthz, /readyz, /metrics):

- ``POST /ratings`` ``{"user": 7, "movie": 3, "stars": 4, "time": 1.7e9}``
  (``time`` optional, default now) -> ``201 {"offset": n}``, answered only
  after the rating is on disk;
- ``GET /ratings?since=OFFSET&limit=N`` -> ``{"ratings": [...], "next": m}``:
  read the log from an offset, as the features service does;
- ``POST /generate`` ``{"users": U, "movies": M, "ratings": R, "seed": S}``
  -> loads a synthetic data set (:func:`labsupport.dc.ratings.movielens`)
  and its catalogue in one go;
- ``GET /movies`` -> the catalogue.

Run: ``python -m labsupport.apps.ingestion``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from labsupport.apps.config import Config
from labsupport.apps.errors import ApiError
from labsupport.apps.metrics import Metrics
from labsupport.apps.ratinglog import RatingLog
from labsupport.apps.service import Part, run

__all__ = ["Rating", "Generate", "part", "main", "MAX_GENERATED"]

#: The most ratings ``POST /generate`` makes at once (the generator is pure Python).
MAX_GENERATED = 500_000


class Rating(BaseModel):
    """One rating as a client sends it."""

    user: int = Field(ge=1, strict=True, description="user id, from 1")
    movie: int = Field(ge=1, strict=True, description="movie id, from 1")
    stars: int = Field(ge=1, le=5, strict=True, description="1 to 5 stars")
    time: float | None = Field(default=None, ge=0, description="Unix time; default now")


class Generate(BaseModel):
    """Size and seed of a synthetic data set."""

    users: int = Field(default=200, ge=1, le=1_000_000, strict=True)
    movies: int = Field(default=40, ge=1, le=100_000, strict=True)
    ratings: int = Field(default=4000, ge=1, le=MAX_GENERATED, strict=True)
    seed: int = Field(default=0, ge=0, strict=True)


def part(cfg: Config, metrics: Metrics) -> Part:
    """The ingestion routes over a :class:`RatingLog` in ``DATA_DIR/ingestion``."""
    log = RatingLog(cfg.data_dir / "ingestion")
    router = APIRouter(tags=["ingestion"])

    @router.post("/ratings", status_code=201)
    def add_rating(rating: Rating) -> dict[str, int]:
        if log.has_movie(rating.movie) is False:
            raise ApiError(404, f"no movie {rating.movie} in the catalogue; GET /movies lists "
                           "the movies", code="unknown-movie")
        return {"offset": log.append(rating.user, rating.movie, rating.stars, time=rating.time)}

    @router.get("/ratings")
    def read_ratings(since: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:
        ratings, after = log.read(since, limit)
        return {"ratings": ratings, "next": after}

    @router.post("/generate", status_code=201)
    def generate(spec: Generate) -> JSONResponse:
        from labsupport.dc.ratings import movielens
        from labsupport.errors import Invalid

        try:
            data = movielens(spec.seed, users=spec.users, movies=spec.movies,
                             ratings=spec.ratings)
        except Invalid as err:
            raise ApiError(422, str(err), code="invalid") from None
        log.set_movies((m.id, m.title, "|".join(m.genres)) for m in data.movies)
        # The ratings arrive "one second apart", ending now.
        start = time.time() - len(data.ratings)
        first, after = log.extend((r["user"], r["movie"], r["rating"], start + i)
                                  for i, r in enumerate(data.ratings))
        return JSONResponse({"movies": len(data.movies), "ratings": len(data.ratings),
                             "first": first, "next": after}, status_code=201)

    @router.get("/movies")
    def movies() -> dict[str, Any]:
        return {"movies": log.movies()}

    def ready() -> str | None:
        try:
            log.next_offset()
        except Exception as err:  # noqa: BLE001 - any database failure means not ready
            return f"the ratings database {log.path} cannot be read: {err}"
        return None

    return Part("ingestion", router, ready=ready, stop=log.close)


def main() -> None:
    """Serve ingestion on ``PORT``."""
    run("ingestion", lambda cfg, metrics: [part(cfg, metrics)])


if __name__ == "__main__":
    main()
