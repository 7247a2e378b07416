"""What every service shares: health, readiness, metrics, limits and errors.

A service module builds a :class:`Part` (its routes, its readiness check, and
what to start and stop with it); :func:`make_app` turns one part (a
microservice) or all five (the monolith) into a FastAPI app with

- ``GET /healthz``: liveness. The process answers, nothing more: a restart
  would not fix a neighbour that is down, so liveness never checks one;
- ``GET /readyz``: readiness. 200 only when the service can do its job now
  (its neighbours answer, a model is loaded), else 503 with the reason, so
  Kubernetes sends it no traffic until it can;
- ``GET /metrics``: Prometheus text (:mod:`labsupport.apps.metrics`);
- request bodies limited to 64 KiB (413), JSON errors for every 4xx and 5xx.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from labsupport.apps.config import Config
from labsupport.apps.errors import ApiError
from labsupport.apps.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware

__all__ = ["Part", "make_app", "run", "MAX_BODY"]

#: The largest request body a service accepts, in bytes.
MAX_BODY = 64 * 1024


@dataclass
class Part:
    """One service's share of an app.

    Attributes:
        name: the service (``"serving"``).
        router: its routes.
        ready: returns None when the part can do its job, else why not.
        start: called once when the app starts (e.g. a watcher thread).
        stop: called once when the app stops.
        middleware: ASGI middleware of its own, ``(class, keyword arguments)``,
            run inside the body limit and the metrics (a fast path).
    """

    name: str
    router: APIRouter
    ready: Callable[[], str | None] = lambda: None
    start: Callable[[], None] | None = None
    stop: Callable[[], None] | None = None
    middleware: Sequence[tuple[type, dict[str, Any]]] = ()


class BodyLimit:
    """ASGI middleware: answer 413 to a body over ``limit`` bytes, declared or streamed.

    Args:
        app: the ASGI app to wrap.
        limit: the most bytes allowed.
    """

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> JSONResponse:
        return JSONResponse({"error": "too-large", "message": f"the request body is over "
                             f"{self.limit} bytes; send less at once"}, status_code=413)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Refuse a large body before the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._too_large()(scope, receive, send)
                return
        seen, started, refused = 0, False, False

        async def counting() -> dict:
            # A body without Content-Length (chunked) is counted as it streams in; past
            # the limit, the 413 goes out at once and the app sees the client leave.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not started:
                refused = True
                await self._too_large()(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def tracking(message: dict) -> None:
            nonlocal started
            if refused:
                return  # the 413 is already sent
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except Exception:
            if not refused:
                raise


def _validation_message(err: RequestValidationError) -> tuple[int, str]:
    """400 for JSON that does not parse, else 422 with each bad field named."""
    parts = []
    for e in err.errors():
        if e.get("type") == "json_invalid":
            return 400, "the body is not valid JSON: " + str(e.get("msg", ""))
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        got = e.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        parts.append(f"{where}: {e.get('msg', 'invalid')}{shown}")
    return 422, "; ".join(parts) or "the request is not valid"


def make_app(name: str, parts: Sequence[Part], metrics: Metrics) -> FastAPI:
    """An app serving ``parts`` plus /healthz, /readyz and /metrics.

    Args:
        name: the app's name (a service, or ``"monolith"``).
        parts: the services it runs.
        metrics: where it counts its requests.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for part in parts:
            if part.start:
                part.start()
        try:
            yield
        finally:
            for part in reversed(parts):
                if part.stop:
                    part.stop()

    app = FastAPI(title=f"movie recommender: {name}", lifespan=lifespan)
    app.state.metrics = metrics

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        for part in parts:
            reason = part.ready()
            if reason:
                return JSONResponse({"ready": False, "service": part.name, "reason": reason},
                                    status_code=503)
        return JSONResponse({"ready": True, "service": name})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    for part in parts:
        app.include_router(part.router)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        status, message = _validation_message(err)
        return JSONResponse({"error": "invalid" if status == 422 else "bad-json",
                             "message": message}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        message = err.detail if isinstance(err.detail, str) else str(err.detail)
        if err.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path} on the {name} service"
        return JSONResponse({"error": "http", "message": message}, status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    for part in parts:  # added first: innermost, so limits and metrics still apply
        for cls, options in part.middleware:
            app.add_middleware(cls, **options)
    app.add_middleware(BodyLimit)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def run(name: str, build: Callable[[Config, Metrics], Sequence[Part]],
        cfg: Config | None = None) -> None:
    """Build the app from the environment and serve it with uvicorn until SIGTERM.

    Args:
        name: the service's name.
        build: makes its parts from the configuration and metrics.
        cfg: the configuration (default: from the environment).
    """
    import uvicorn

    from labsupport.errors import Invalid

    try:
        cfg = cfg or Config.from_env()
    except Invalid as err:
        sys.exit(f"{name}: {err}")
    metrics = Metrics(name)
    app = make_app(name, build(cfg, metrics), metrics)
    print(f"{name}: listening on {cfg.host}:{cfg.port}, DATA_DIR={cfg.data_dir}", flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=5)
