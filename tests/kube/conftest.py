"""Fixtures of the real-backend tests: a fake kind/docker and a fake API server.

Nothing here needs docker, kind or a cluster. ``fake_api`` is a small
threaded HTTP server on 127.0.0.1 that records every request and answers
canned JSON; ``runner`` stands in for the kind and docker commands.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

# --- a fake kind / docker ------------------------------------------------------


class FakeRunner:
    """Answers commands by their longest matching argv prefix; records every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.answers: list[tuple[list[str], Any]] = []

    def on(self, *prefix: str, rc: int = 0, out: str = "", err: str = "") -> FakeRunner:
        self.answers.append((list(prefix), (rc, out, err)))
        return self

    def on_call(self, *prefix: str, answer: Callable[[list[str]], Any]) -> FakeRunner:
        self.answers.append((list(prefix), answer))
        return self

    def __call__(self, argv: list[str]) -> Any:
        self.calls.append(list(argv))
        best = None
        for prefix, answer in self.answers:
            if argv[:len(prefix)] == prefix and (best is None or len(prefix) >= len(best[0])):
                best = (prefix, answer)
        if best is None:
            return 0, "", ""
        answer = best[1]
        return answer(argv) if callable(answer) else answer


LABEL_FORMAT = '{{ index .Config.Labels "io.x-k8s.kind.cluster" }}'


def kind_machine(runner: FakeRunner, name: str = "labs", kubeconfig: str = "") -> FakeRunner:
    """A machine with docker, kind and the kind cluster ``name`` (4 nodes)."""
    nodes = [f"{name}-control-plane", f"{name}-worker", f"{name}-worker2", f"{name}-worker3"]
    runner.on("docker", "version", out="28.2.2\n")
    runner.on("kind", "version", out="kind v0.33.0 go1.23.6 linux/amd64\n")
    runner.on("kind", "get", "clusters", out=f"{name}\n")
    runner.on("kind", "get", "nodes", out="\n".join(nodes) + "\n")
    runner.on("kind", "get", "kubeconfig", out=kubeconfig)
    runner.on("docker", "inspect", rc=1, err="Error: No such object")
    for node in nodes:
        runner.on("docker", "inspect", "--format", LABEL_FORMAT, node, out=f"{name}\n")
    runner.on("docker", "ps", out="".join(f"{n}\trunning\n" for n in nodes))
    return runner


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> Path:
    """Keep kubeconfig files of the tests out of the real ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LABSUPPORT_CACHE", str(cache))
    return cache


# --- a fake Kubernetes API server ------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None

    @property
    def url(self) -> str:
        return self.path + ("?" + "&".join(f"{k}={v}" for k, v in self.query.items())
                            if self.query else "")


@dataclass
class FakeApi:
    """Records requests; answers from routes (method, path) -> list of (status, body)."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    routes: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Warning header values sent with every answer to (method, path).
    warnings: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def on(self, method: str, path: str, *answers: Any, status: int = 200) -> FakeApi:
        """Queue answers; the last one repeats. An answer is a body or (status, body)."""
        queue = self.routes.setdefault((method, path), [])
        for a in answers:
            queue.append(a if isinstance(a, tuple) else (status, a))
        return self

    def seen(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)]

    def answer(self, req: Request) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(req)
            queue = self.routes.get((req.method, req.path))
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        if req.method == "PATCH" and isinstance(req.body, dict):
            return 200, req.body
        if req.method == "DELETE":
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        parts = req.path.rstrip("/").split("/")
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404,
                     "message": f'{parts[-2]} "{parts[-1]}" not found',
                     "details": {"name": parts[-1], "kind": parts[-2]}}


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode()
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            req = Request(self.command, parts.path, query,
                          {k.lower(): v for k, v in self.headers.items()}, body)
            status, answer = api.answer(req)
            data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            ctype = "text/plain" if isinstance(answer, str) else "application/json"
            self.send_response(status)
            for text in api.warnings.get((req.method, req.path), ()):
                self.send_header("Warning", f'299 - "{text}"')
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

    return Handler


@pytest.fixture
def fake_api():
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield api
    server.shutdown()
    server.server_close()


def kubeconfig_text(server: str, context: str = "kind-labs", token: str = "test-token") -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {context}
  cluster:
    server: {server}
users:
- name: {context}
  user:
    token: {token}
contexts:
- name: {context}
  context:
    cluster: {context}
    user: {context}
current-context: {context}
"""


@pytest.fixture
def write_kubeconfig(tmp_path) -> Callable[..., Path]:
    def write(server: str, context: str = "kind-labs") -> Path:
        path = tmp_path / f"{context}.kubeconfig"
        path.write_text(kubeconfig_text(server, context))
        return path

    return write


@pytest.fixture
def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def connect(fake_api, write_kubeconfig, runner):
    """Connect a KubeCluster to the fake API server through a kubeconfig context.

    ``connect("kind-labs")`` looks like a kind cluster of ours (the fake
    runner lists it and labels its containers); ``connect("prod")`` does not.
    """
    from labsupport.kube import Kind, KubeCluster

    made = []

    def make(context: str = "kind-labs", ours: bool = True, **options: Any) -> KubeCluster:
        if ours:
            kind_machine(runner, "labs")
        path = write_kubeconfig(fake_api.url, context)
        c = KubeCluster.from_kubeconfig(context=context, kubeconfig=path,
                                        kind=Kind(runner=runner), display=False,
                                        poll_interval=0.01, **options)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
