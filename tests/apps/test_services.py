"""The five services as real processes: the whole flow, model swaps, crashes, bad requests."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from labsupport.apps import SERVICES
from labsupport.apps.launch import Stack, free_port


def test_ratings_to_recommendations_through_the_ui(stack):
    answer = stack.get("ui", "/api/recommendations/7", params={"n": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"] == 7 and body["model_version"] >= 1 and len(body["movies"]) == 5
    rated = set(stack.get("features", "/features/users/7").json()["rated"])
    assert not rated & {m["movie"] for m in body["movies"]}
    assert all(m["title"] for m in body["movies"])
    scores = [m["score"] for m in body["movies"]]
    assert scores == sorted(scores, reverse=True)
    assert stack.get("ui", "/").headers["content-type"].startswith("text/html")
    assert stack.post("ui", "/api/ratings", json={"user": 7, "movie": 1, "stars": 5}).json()[
        "offset"] >= 2400
    assert [m["version"] for m in stack.get("training", "/models").json()["models"]][0] == 1
    for name in SERVICES:
        assert stack.get(name, "/readyz").status_code == 200, name


def test_serving_switches_to_a_new_model_without_a_failed_request(stack):
    before = stack.get("serving", "/recommendations/3").json()["model_version"]
    statuses, versions, stop = [], set(), threading.Event()

    def hammer():
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                r = client.get(stack.url("serving") + "/recommendations/3")
                statuses.append(r.status_code)
                if r.status_code == 200:
                    versions.add(r.json()["model_version"])

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        assert stack.post("training", "/train").status_code == 201
        deadline = time.monotonic() + 5
        while max(versions, default=0) <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert max(versions) == before + 1
    assert statuses and set(statuses) == {200}, f"{len(statuses)} requests: {set(statuses)}"


def test_sigkill_of_ingestion_loses_no_acknowledged_rating(stack):
    acknowledged, stop = {}, threading.Event()

    def writer():
        with httpx.Client(timeout=2) as client:
            i = 0
            while not stop.is_set():
                i += 1
                body = {"user": 1000 + i, "movie": 1 + i % 40, "stars": 1 + i % 5}
                try:
                    r = client.post(stack.url("ingestion") + "/ratings", json=body)
                except httpx.HTTPError:
                    continue  # not acknowledged: it may or may not be stored
                if r.status_code == 201:
                    acknowledged[r.json()["offset"]] = body

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(acknowledged) < 50:
            time.sleep(0.01)
        stack.kill("ingestion")  # SIGKILL mid-stream
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    stack.start("ingestion")
    stored = stack.get("ingestion", "/ratings", params={"since": 0, "limit": 10_000}).json()
    by_offset = {r["offset"]: r for r in stored["ratings"]}
    assert len(by_offset) >= 2400 + len(acknowledged)
    for offset, body in acknowledged.items():
        got = by_offset.get(offset)
        assert got is not None, f"acknowledged offset {offset} lost"
        assert (got["user"], got["movie"], got["stars"]) == tuple(body.values())


BAD = [
    ("serving", "GET", "/recommendations/99999", None, 404),
    ("ui", "GET", "/api/recommendations/99999", None, 404),
    ("serving", "GET", "/recommendations/abc", None, 422),
    ("serving", "GET", "/recommendations/3?n=0", None, 422),
    ("features", "GET", "/features/users/99999", None, 404),
    ("features", "GET", "/features/movies/99999", None, 404),
    ("ingestion", "POST", "/ratings", b'{"user": 1, "movie": 2,', 400),
    ("ingestion", "POST", "/ratings", {"user": 1, "movie": 2, "stars": 6}, 422),
    ("ingestion", "POST", "/ratings", {"user": 1, "movie": 2, "stars": 0}, 422),
    ("ingestion", "POST", "/ratings", {"user": 1, "movie": 2, "stars": "5"}, 422),
    ("ingestion", "POST", "/ratings", {"user": 1, "movie": 999, "stars": 3}, 404),
    ("ingestion", "POST", "/ratings", b"[" + b"1," * 40_000 + b"1]", 413),
    ("ui", "POST", "/api/ratings", {"user": 1, "movie": 2, "stars": 9}, 422),
    ("ingestion", "POST", "/generate", {"users": 2, "movies": 2, "ratings": 5}, 422),
    ("ingestion", "GET", "/ratings?since=-1", None, 422),
    ("training", "GET", "/no/such/route", None, 404),
]


@pytest.mark.parametrize("service, method, path, body, status", BAD)
def test_a_bad_request_gets_a_4xx_with_a_json_message(stack, service, method, path, body,
                                                      status):
    kwargs = {"content": body, "headers": {"content-type": "application/json"}} \
        if isinstance(body, bytes) else {"json": body}
    answer = stack.http.request(method, stack.url(service) + path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]
    assert stack.get(service, "/healthz").status_code == 200


def test_a_streamed_body_over_64_kib_is_refused(stack):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    answer = stack.http.post(stack.url("ingestion") + "/ratings", content=chunks(),
                             headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_a_dependency_that_is_down_gives_503_fast(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Stack(tmp_path, services=("ui",)) as s:
        s.close()
    ui = Stack(tmp_path, services=("ui",))
    ui.env = lambda name, base=ui.env: dict(base(name), SERVING_URL=dead, INGESTION_URL=dead)
    with ui:
        for method, path, body in (("GET", "/api/recommendations/1", None),
                                   ("POST", "/api/ratings", {"user": 1, "movie": 1, "stars": 3}),
                                   ("GET", "/readyz", None)):
            # A hang would raise httpx.ReadTimeout here instead of answering.
            answer = ui.http.request(method, ui.url("ui") + path, json=body, timeout=15.0)
            assert answer.status_code == 503, answer.text
            body = answer.json()
            assert "unreachable" in (body.get("message") or body.get("reason"))


def test_metrics_are_prometheus_text(stack):
    for name in SERVICES:
        text = stack.get(name, "/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert "http_requests" in families and "http_request_duration_seconds" in families
        if name in ("serving", "training"):
            (sample,) = [s for s in families["model_version"].samples]
            assert sample.value >= 1, name
    paths = {s.labels["path"] for s in families["http_requests"].samples}
    assert "/api/recommendations/{user}" in paths  # route templates, not one label per user


def test_the_monolith_serves_the_same_api_on_one_port(tmp_path):
    import subprocess
    import sys

    from labsupport.apps.launch import Stack as _Stack

    port = free_port()
    env = dict(_Stack(tmp_path).env("ui"), PORT=str(port))
    for key in ("INGESTION_URL", "FEATURES_URL", "TRAINING_URL", "SERVING_URL"):
        env.pop(key, None)
    proc = subprocess.Popen([sys.executable, "-m", "labsupport.apps.monolith"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=10) as c:
            for _ in range(200):
                try:
                    if c.get(base + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            assert c.get(base + "/readyz").status_code == 200
            assert c.get(base + "/recommendations/1").status_code == 503  # no model yet
            assert c.post(base + "/generate", json={"users": 40, "movies": 20,
                                                    "ratings": 400}).status_code == 201
            assert c.post(base + "/build").json()["pulled"] == 400
            assert c.post(base + "/train").status_code == 201
            for _ in range(40):
                answer = c.get(base + "/api/recommendations/1")
                if answer.status_code == 200:
                    break
                time.sleep(0.1)
            assert answer.status_code == 200 and answer.json()["model_version"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
