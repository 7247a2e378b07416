"""Prometheus metrics of one service: requests, latency and the model version.

Each app gets its own :class:`prometheus_client.CollectorRegistry`, so two
apps in one process (the monolith, the tests) never mix their counts. The
``path`` label is the route's template (``/recommendations/{user}``), not the
URL asked for: one time series per route, however many users there are.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics", "MetricsMiddleware", "CONTENT_TYPE"]

#: The Content-Type of Prometheus' text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latency buckets in seconds: 1 ms .. 10 s, dense where a fast service answers.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one app, in a registry of its own.

    Args:
        service: the service's name, the value of the ``service`` label.

    Example:
        >>> m = Metrics("serving")
        >>> m.observe("/healthz", "GET", 200, 0.002)
        >>> m.set_model_version("serving", 3)
        >>> 'model_version{role="serving",service="serving"} 3.0' in m.exposition().decode()
        True
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "HTTP requests answered, by route and status.",
                                ["service", "method", "path", "status"], registry=self.registry)
        self.latency = Histogram("http_request_duration_seconds",
                                 "Seconds from a request's arrival to its answer, by route.",
                                 ["service", "path"], buckets=BUCKETS, registry=self.registry)
        self._model_version: Gauge | None = None

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(self.service, method, path, str(status)).inc()
        self.latency.labels(self.service, path).observe(seconds)

    def set_model_version(self, role: str, version: int) -> None:
        """Publish the model version a ``role`` (``"serving"``, ``"training"``) has."""
        if self._model_version is None:
            self._model_version = Gauge("model_version",
                                        "Model version loaded (serving) or last written "
                                        "(training); 0 for none.",
                                        ["service", "role"], registry=self.registry)
        self._model_version.labels(self.service, role).set(version)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware that times every HTTP request and counts its status.

    Args:
        app: the ASGI app to wrap.
        metrics: where to record.
    """

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Run the request, then record its route, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "(no route)"
            self.metrics.observe(path, scope["method"], status, time.perf_counter() - start)
