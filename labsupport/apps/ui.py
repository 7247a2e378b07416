"""The UI service: a small web page, and an API that forwards to the other services.

Routes (besides /healthz, /readyz, /metrics):

- ``GET /``: the page (plain HTML and JavaScript, no build step): pick a user,
  see recommendations, rate a movie;
- ``GET /api/recommendations/{user}?n=10``: forwarded to serving;
- ``POST /api/ratings``: checked, then forwarded to ingestion.

The browser only ever talks to this service, so only the UI needs to be
reachable from outside the cluster (a NodePort). A neighbour that is down
gives a 503 with a message at once, and the page shows it.

Ready when serving and ingestion answer.

Run: ``python -m labsupport.apps.ui``.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse

from labsupport.apps.client import Dependency
from labsupport.apps.config import Config
from labsupport.apps.ingestion import Rating
from labsupport.apps.metrics import Metrics
from labsupport.apps.service import Part, run

__all__ = ["part", "main"]


def part(cfg: Config, metrics: Metrics) -> Part:
    """The page and the forwarding API."""
    serving = Dependency("serving", cfg.serving_url, "SERVING_URL")
    ingestion = Dependency("ingestion", cfg.ingestion_url, "INGESTION_URL")
    page = resources.files("labsupport.apps").joinpath("static/ui.html").read_text("utf-8")
    router = APIRouter(tags=["ui"])

    @router.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @router.get("/api/recommendations/{user}")
    def recommendations(user: int, n: Annotated[int, Query(ge=1, le=100)] = 10) -> Any:
        return serving.get(f"/recommendations/{user}", params={"n": n})

    @router.post("/api/ratings", status_code=201)
    def rate(rating: Rating) -> JSONResponse:
        answer = ingestion.post("/ratings", json=rating.model_dump(exclude_none=True))
        return JSONResponse(answer, status_code=201)

    @router.get("/api/movies")
    def movies() -> Any:
        return ingestion.get("/movies")

    def ready() -> str | None:
        return serving.problem() or ingestion.problem()

    def stop() -> None:
        serving.close()
        ingestion.close()

    return Part("ui", router, ready=ready, stop=stop)


def main() -> None:
    """Serve the UI on ``PORT``."""
    run("ui", lambda cfg, metrics: [part(cfg, metrics)])


if __name__ == "__main__":
    main()
