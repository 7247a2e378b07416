"""The serving fast path answers exactly as the FastAPI route it stands in for."""

from __future__ import annotations

import numpy as np
import pytest
from starlette.testclient import TestClient

from labsupport.apps import model as mf
from labsupport.apps.config import Config
from labsupport.apps.metrics import Metrics
from labsupport.apps.service import make_app
from labsupport.apps.serving import part


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """Two serving apps on one model folder: with the fast path, and FastAPI alone."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    users, movies = 50, 400
    mf.save(mf.Model(0, np.arange(1, users + 1), np.arange(1, movies + 1),
                     rng.normal(0, 0.3, (users, 6)).astype(np.float32),
                     rng.normal(0, 0.3, (movies, 6)).astype(np.float32),
                     np.arange(0, users * 5 + 1, 5), rng.integers(0, movies, users * 5),
                     np.array([f"Movie {i}" for i in range(1, movies + 1)])),
            folder / "models")
    cfg = Config.from_env({"DATA_DIR": str(folder), "PORT": "8000"})
    made = []
    for fast in (True, False):
        metrics = Metrics("serving")
        app = make_app("serving", [part(cfg, metrics, fast_path=fast)], metrics)
        made.append((TestClient(app), metrics))
    with made[0][0], made[1][0]:
        yield made


REQUESTS = ["/recommendations/1", "/recommendations/7?n=1", "/recommendations/50?n=100",
            "/recommendations/007?n=010", "/recommendations/3?n=0", "/recommendations/3?n=101",
            "/recommendations/3?n=ten", "/recommendations/3?n=5&x=1", "/recommendations/999",
            "/recommendations/-4", "/recommendations/x", "/recommendations/%D9%A3",
            "/recommendations/99999999999999999999999", "/recommendations/"]


@pytest.mark.parametrize("url", REQUESTS)
def test_same_status_headers_and_body(clients, url):
    (fast, _), (plain, _) = clients
    a, b = fast.get(url), plain.get(url)
    assert (a.status_code, a.headers.get("content-type"), a.content) == (
        b.status_code, b.headers.get("content-type"), b.content)
    assert a.headers.get("content-length") == b.headers.get("content-length")


def test_fast_answers_are_counted_under_the_route_template(clients):
    (fast, metrics), _ = clients
    before = metrics.requests.labels("serving", "GET", "/recommendations/{user}", "200")._value.get()
    assert fast.get("/recommendations/2?n=3").status_code == 200
    after = metrics.requests.labels("serving", "GET", "/recommendations/{user}", "200")._value.get()
    assert after == before + 1
    assert b'path="/recommendations/{user}"' in metrics.exposition()


def _call(app, url: str) -> list[dict]:
    import asyncio

    path, _, query = url.partition("?")
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
             "headers": []}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_well_formed_requests_never_reach_fastapi_and_the_rest_always_do(tmp_path):
    from labsupport.apps.serving import ModelWatcher, RecommendationsFastPath

    folder = tmp_path / "models"
    rng = np.random.default_rng(1)
    mf.save(mf.Model(0, np.arange(1, 4), np.arange(1, 30),
                     rng.normal(size=(3, 4)).astype(np.float32),
                     rng.normal(size=(29, 4)).astype(np.float32),
                     np.array([0, 1, 2, 3]), np.array([0, 1, 2]),
                     np.array([f"M{i}" for i in range(29)])), folder)
    watcher = ModelWatcher(folder, Metrics("serving"))
    watcher.refresh()
    passed: list[str] = []

    async def fastapi(scope, receive, send):
        passed.append(scope["path"] + "?" + scope["query_string"].decode())

    fast = RecommendationsFastPath(fastapi, watcher)
    assert _call(fast, "/recommendations/2?n=3")[0]["status"] == 200
    assert passed == []
    for url in ("/recommendations/9", "/recommendations/2?n=0", "/recommendations/2?m=1",
                "/healthz"):
        assert _call(fast, url) == []
    assert passed == ["/recommendations/9?", "/recommendations/2?n=0", "/recommendations/2?m=1",
                      "/healthz?"]
