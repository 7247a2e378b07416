"""The serving service: recommendations from the newest model, swapped in live.

Routes (besides /healthz, /readyz, /metrics):

- ``GET /recommendations/{user}?n=10`` -> ``{"user", "model_version",
  "movies": [{"movie", "title", "score"}]}``: the ``n`` movies (1 to 100)
  with the highest predicted stars (``score``) that the user has not rated.
  A user the model does not know gets **404** with a message, not a
  fallback: a wrong guess that looks like a real answer would hide the
  problem (the user's ratings have not reached a model yet). The UI shows
  the message.

``GET /recommendations/...`` is the one route under load, so it has a fast
path: :class:`RecommendationsFastPath` answers the well-formed requests
straight from ASGI, skipping FastAPI's routing and validation (about half
of a request's time); any other request, and every error, goes on to the
FastAPI route, which stays the definition (tests compare the two).

A watcher thread looks at ``MODEL_DIR`` twice a second. When a newer version
appears it loads it *completely*, then replaces one reference; a request
reads that reference once, so it runs on the old model or the new one,
never on half of each, and no request fails during the switch. Ready once a
model is loaded; serving needs no other service to answer.

Run: ``python -m labsupport.apps.serving``.
"""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from labsupport.apps.config import Config
from labsupport.apps.errors import ApiError
from labsupport.apps.metrics import Metrics
from labsupport.apps.service import Part, run

__all__ = ["ModelWatcher", "RecommendationsFastPath", "part", "main", "WATCH_SECONDS"]

#: Seconds between two looks at MODEL_DIR.
WATCH_SECONDS = 0.5


class ModelWatcher:
    """Keeps the newest model of a folder loaded.

    Args:
        folder: the model folder.
        metrics: where to publish the loaded version.
    """

    def __init__(self, folder: Any, metrics: Metrics) -> None:
        self.folder = folder
        self.metrics = metrics
        self.model: Any = None  # the one reference a request reads
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Load the newest version if it is newer than the loaded one; True if it was."""
        from labsupport.apps import model as mf

        version = mf.newest(self.folder) if self.folder.exists() else None
        if version is None or (self.model is not None and version <= self.model.version):
            return False
        try:
            loaded = mf.load(self.folder, version)  # fully in memory before the swap
        except (OSError, ValueError, KeyError) as err:
            self.error = f"model version {version} in {self.folder} could not be loaded: {err}"
            return False
        self.model, self.error = loaded, None
        self.metrics.set_model_version("serving", version)
        return True

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            self.refresh()

    def start(self) -> None:
        """Load what is there and start watching."""
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)

    def problem(self) -> str | None:
        """Why serving cannot answer yet, or None."""
        if self.model is not None:
            return None
        return self.error or (f"no model in {self.folder} yet: POST /train to the training "
                              "service")


#: The route template the metrics label fast answers with, as FastAPI's route would.
_ROUTE = SimpleNamespace(path="/recommendations/{user}")
_PREFIX = "/recommendations/"
_HEADERS = [(b"content-type", b"application/json")]


def _n_of(query: bytes) -> int | None:
    """``n`` from a query of nothing or exactly ``n=<1..100>``; None for anything else."""
    if not query:
        return 10
    if query.startswith(b"n=") and query[2:].isdigit() and len(query) <= 5:
        n = int(query[2:])
        return n if 1 <= n <= 100 else None
    return None


class RecommendationsFastPath:
    """ASGI middleware: answer ``GET /recommendations/{user}?n=`` without FastAPI.

    Only a request the FastAPI route would answer 200 is taken (a known user,
    ``n`` absent or 1 to 100, no other query): same status, headers and
    body. Everything else is passed on unchanged, so errors keep their one
    definition in :func:`part`.

    Args:
        app: the ASGI app to wrap.
        watcher: whose model answers.
    """

    def __init__(self, app: Any, watcher: ModelWatcher) -> None:
        self.app = app
        self.watcher = watcher

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Answer a well-formed recommendation request, or pass the request on."""
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] == "GET" and path.startswith(_PREFIX):
            text, model = path[len(_PREFIX):], self.watcher.model
            n = _n_of(scope.get("query_string", b""))
            if (n is not None and model is not None and text.isascii() and text.isdigit()
                    and len(text) < 19 and model.knows(int(text))):
                user = int(text)
                body = json.dumps({"user": user, "model_version": model.version,
                                   "movies": model.recommend(user, n)}).encode()
                scope["route"] = _ROUTE  # what the metrics label it with
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-length", str(len(body)).encode()),
                                        *_HEADERS]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def part(cfg: Config, metrics: Metrics, fast_path: bool = True) -> Part:
    """The serving routes over a :class:`ModelWatcher` of ``MODEL_DIR``.

    Args:
        cfg: the configuration.
        metrics: where to count.
        fast_path: answer well-formed recommendation requests with
            :class:`RecommendationsFastPath` (False: FastAPI alone).
    """
    watcher = ModelWatcher(cfg.model_dir, metrics)
    metrics.set_model_version("serving", 0)
    router = APIRouter(tags=["serving"])

    @router.get("/recommendations/{user}")
    async def recommendations(user: int,
                              n: Annotated[int, Query(ge=1, le=100)] = 10) -> Response:
        model = watcher.model  # read the reference once: this request uses this model
        if model is None:
            raise ApiError(503, watcher.problem() or "no model", code="no-model")
        if not model.knows(user):
            raise ApiError(404, f"user {user} is not in model version {model.version} (no "
                           "ratings when it was trained); rate a few movies, then rebuild the "
                           "features and train again", code="unknown-user")
        body = {"user": user, "model_version": model.version,
                "movies": model.recommend(user, n)}
        return Response(json.dumps(body), media_type="application/json")

    middleware = ((RecommendationsFastPath, {"watcher": watcher}),) if fast_path else ()
    return Part("serving", router, ready=watcher.problem, start=watcher.start,
                stop=watcher.stop, middleware=middleware)


def main() -> None:
    """Serve recommendations on ``PORT``."""
    run("serving", lambda cfg, metrics: [part(cfg, metrics)])


if __name__ == "__main__":
    main()
