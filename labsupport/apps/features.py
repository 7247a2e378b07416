"""The features service: turns the ratings log into features.

Routes (besides /healthz, /readyz, /metrics):

- ``POST /build``: pull the ratings that are new since the last build from
  ingestion (``INGESTION_URL``), fold them into the rating matrix and update
  the user and movie features; answers what it pulled;
- ``GET /features/users/{id}``: ratings, mean stars and rated movies;
- ``GET /features/movies/{id}``: title, genres, ratings and mean stars;
- ``GET /features/matrix``: the matrix as ``[user, movie, stars]`` triples
  and the catalogue, which the training service reads.

Ready when ingestion answers.

Run: ``python -m labsupport.apps.features``.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter

from labsupport.apps.client import Dependency
from labsupport.apps.config import Config
from labsupport.apps.errors import ApiError
from labsupport.apps.featurestore import FeatureStore
from labsupport.apps.metrics import Metrics
from labsupport.apps.service import Part, run

__all__ = ["part", "main", "PAGE"]

#: Ratings pulled per request to ingestion.
PAGE = 5000


def part(cfg: Config, metrics: Metrics) -> Part:
    """The features routes over a :class:`FeatureStore` in ``DATA_DIR/features``."""
    store = FeatureStore(cfg.data_dir / "features")
    ingestion = Dependency("ingestion", cfg.ingestion_url, "INGESTION_URL")
    building = threading.Lock()  # one build at a time: two would read the same offsets
    router = APIRouter(tags=["features"])

    @router.post("/build")
    def build() -> dict[str, Any]:
        with building:
            store.set_movies(ingestion.get("/movies")["movies"])
            pulled = 0
            while True:
                page = ingestion.get("/ratings", params={"since": store.offset(),
                                                         "limit": PAGE})
                if not page["ratings"]:
                    break
                store.add(page["ratings"], page["next"])
                pulled += len(page["ratings"])
            return {"pulled": pulled, "offset": store.offset(), **store.counts()}

    @router.get("/features/users/{user}")
    def user_features(user: int) -> dict[str, Any]:
        found = store.user(user)
        if found is None:
            raise ApiError(404, f"user {user} has no ratings in the features yet; rate a movie, "
                           "then POST /build", code="unknown-user")
        return found

    @router.get("/features/movies/{movie}")
    def movie_features(movie: int) -> dict[str, Any]:
        found = store.movie(movie)
        if found is None:
            raise ApiError(404, f"no movie {movie} in the features; POST /build pulls the "
                           "catalogue from ingestion", code="unknown-movie")
        return found

    @router.get("/features/matrix")
    def matrix() -> dict[str, Any]:
        return store.matrix()

    def stop() -> None:
        ingestion.close()
        store.close()

    return Part("features", router, ready=ingestion.problem, stop=stop)


def main() -> None:
    """Serve features on ``PORT``."""
    run("features", lambda cfg, metrics: [part(cfg, metrics)])


if __name__ == "__main__":
    main()
