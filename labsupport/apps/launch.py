"""Start the five services as real processes on loopback (tests, calibration, benchmarks).

Each service runs as ``python -m labsupport.apps.<name>`` on a free port of
127.0.0.1, with one shared ``DATA_DIR`` and every ``*_URL`` pointing at the
others, as the Kubernetes manifests wire them.

Example (not run by the doctests: it starts five processes)::

    with Stack(data_dir) as stack:
        stack.post("ingestion", "/generate", json={"users": 50})
        stack.url("ui")        # 'http://127.0.0.1:41234'
        stack.kill("ingestion"); stack.start("ingestion")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from labsupport.apps import SERVICES
from labsupport.errors import WaitTimeout

__all__ = ["Stack", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """The services as child processes sharing ``data_dir``.

    Args:
        data_dir: the shared DATA_DIR.
        services: which to run (default: all five).
        seed: SEED for every service.
    """

    def __init__(self, data_dir: str | Path, services: tuple[str, ...] = SERVICES,
                 seed: int = 0) -> None:
        self.data_dir = Path(data_dir)
        self.services = services
        self.seed = seed
        self.ports = {name: free_port() for name in services}
        self.procs: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.http = httpx.Client(timeout=30.0)

    def url(self, name: str) -> str:
        """The base URL of a service."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str) -> dict[str, str]:
        """The environment a service starts with."""
        env = dict(os.environ, PORT=str(self.ports[name]), HOST="127.0.0.1",
                   DATA_DIR=str(self.data_dir), SEED=str(self.seed))
        for other in ("ingestion", "features", "training", "serving"):
            if other in self.ports:
                env[f"{other.upper()}_URL"] = self.url(other)
        return env

    def start(self, name: str, wait: bool = True) -> float:
        """Start one service; with ``wait``, return the seconds until it answered /healthz."""
        started = time.perf_counter()
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log(name), "ab") as log:  # the child keeps its own copy of the file
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"labsupport.apps.{name}"], env=self.env(name),
                stdout=log, stderr=subprocess.STDOUT)
        self.started_at[name] = started
        return self.wait_healthy(name) if wait else 0.0

    def log(self, name: str) -> Path:
        """Where a service's output goes."""
        return self.data_dir / "logs" / f"{name}.log"

    def wait_healthy(self, name: str, timeout: float = 30.0) -> float:
        """Wait until ``name`` answers /healthz; the seconds since it was started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                err = self.log(name).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}: {err}")
            try:
                if httpx.get(self.url(name) + "/healthz", timeout=0.5).status_code == 200:
                    return time.perf_counter() - self.started_at[name]
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise WaitTimeout(f"{name} to answer /healthz", timeout)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (default SIGKILL: no chance to clean up) and wait for the exit."""
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=10)

    def pid(self, name: str) -> int:
        """The process id of a running service."""
        return self.procs[name].pid

    def get(self, name: str, path: str, **kwargs: Any) -> httpx.Response:
        """GET a path of a service."""
        return self.http.get(self.url(name) + path, **kwargs)

    def post(self, name: str, path: str, **kwargs: Any) -> httpx.Response:
        """POST to a path of a service."""
        return self.http.post(self.url(name) + path, **kwargs)

    def __enter__(self) -> Stack:
        for name in self.services:
            self.start(name, wait=False)
        for name in self.services:
            self.wait_healthy(name)
        return self

    def close(self) -> None:
        """Stop every service (SIGTERM, then SIGKILL after 5 s)."""
        for name in list(self.procs):
            proc = self.procs.pop(name)
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.http.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
