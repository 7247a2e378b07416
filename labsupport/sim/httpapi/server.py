"""The HTTP server in front of a simulated cluster, its kubeconfig and its clock.

:class:`ApiHttpServer` owns what serving needs: a listening socket on
127.0.0.1 (a free port) speaking HTTPS with a certificate of its own
private authority (:mod:`labsupport.sim.httpapi.tls`), the thread that
accepts connections (one more thread per connection, as
``http.server.ThreadingHTTPServer`` does; the TLS handshake happens in that
connection's thread), a private kubeconfig with the authority and a random
bearer token, and the *clock thread* that
lets simulated time follow wall time at ``speed`` while the cluster is served
(kubectl's ages, ``--watch`` and timeouts expect a clock that moves).

Everything that touches the simulation holds the cluster's lock, so the
clock thread, the request threads and the notebook never run the simulation
at the same time (docs/SERVE.md explains why one lock).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import weakref
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from labsupport.sim.httpapi import tls
from labsupport.sim.httpapi.handler import Handler

__all__ = ["ApiHttpServer", "MAX_BODY", "MAX_WATCHES"]

#: The largest request body accepted: 3 MiB, as the API server's limit
#: (apiserver/pkg/server/config.go, MaxRequestBodyBytes).
MAX_BODY = 3 * 1024 * 1024
#: How many watches may be open at once.
MAX_WATCHES = 64
#: Seconds of wall time between two clock steps.
TICK = 0.05


#: Seconds a client has to finish the TLS handshake.
HANDSHAKE_TIMEOUT = 10.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Shake hands (in the connection's own thread, so a slow client blocks no one)."""
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            request.do_handshake()
            request.settimeout(None)
        except (ssl.SSLError, OSError):
            return  # not TLS, or a client that went away: the socket is closed after this
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client that breaks its connection is not the server's error."""


class ApiHttpServer:
    """Serve one simulated cluster's API on loopback.

    Args:
        sim: the simulated cluster.
        lock: the cluster's lock (an ``RLock``).
        speed: simulated seconds per wall-clock second (0 stops the clock).
        max_body: the largest request body, in bytes.
        max_watches: how many watches may be open at once.
    """

    def __init__(self, sim: Any, lock: threading.RLock, speed: float = 1.0, *,
                 max_body: int = MAX_BODY, max_watches: int = MAX_WATCHES) -> None:
        self.sim = sim
        self.lock = lock
        self.speed = float(speed)
        self.max_body = max_body
        self.max_watches = max_watches
        self.watch_slots = threading.BoundedSemaphore(max_watches)
        self.watches: set = set()
        self.bookmark_every = 5.0
        self._offset: int | None = None
        self.token = secrets.token_urlsafe(32)
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.folder = Path(tempfile.mkdtemp(prefix="labsupport-serve-"))
        # The folder goes even if the program ends without stop() (weakref.finalize
        # also runs at interpreter exit).
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, True)
        self.certificates = tls.make_certificates(self.folder)
        #: The certificate authority (PEM) that signed the server's certificate.
        self.ca_pem: bytes = self.certificates.ca_pem
        self._http = _Server(("127.0.0.1", 0), Handler)
        self._http.socket = tls.server_context(self.certificates).wrap_socket(
            self._http.socket, server_side=True, do_handshake_on_connect=False)
        self._http.api = self  # type: ignore[attr-defined]
        self.port: int = self._http.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = self.folder / "kubeconfig"
        self._write_kubeconfig()
        self._threads = [
            threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.1},
                             name=f"labsupport-api-{self.port}", daemon=True),
            threading.Thread(target=self._clock, name=f"labsupport-clock-{self.port}",
                             daemon=True),
        ]
        for t in self._threads:
            t.start()

    def time_offset(self) -> int:
        """Seconds added to the simulation's timestamps in answers (:mod:`.walltime`).

        Kept while it is within :data:`~.walltime.DRIFT` seconds of the clocks'
        true difference, so that an object read and written back in the same
        moment keeps its timestamps exactly.
        """
        from labsupport.sim.clock import EPOCH
        from labsupport.sim.httpapi.walltime import DRIFT, offset_now

        now = offset_now(EPOCH + self.sim.env.now)
        kept = self._offset
        if kept is None or not 0 <= now - kept <= DRIFT:
            self._offset = kept = now
        return kept

    def client_context(self) -> ssl.SSLContext:
        """TLS settings for a Python client that trusts this server (and only it)."""
        return tls.client_context(self.ca_pem)

    def _write_kubeconfig(self) -> None:
        # As a kind cluster's: the authority to verify the server by, and the
        # credential (here a bearer token) in the user entry, never in the URL.
        ca = base64.b64encode(self.ca_pem).decode()
        text = (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: labsupport-sim\n  cluster:\n    server: {self.url}\n"
            f"    certificate-authority-data: {ca}\n"
            f"users:\n- name: labsupport-sim\n  user:\n    token: {self.token}\n"
            "contexts:\n- name: labsupport-sim\n  context:\n    cluster: labsupport-sim\n"
            "    user: labsupport-sim\n    namespace: default\n"
            "current-context: labsupport-sim\n"
        )
        fd = os.open(self.kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)

    def _clock(self) -> None:
        """Advance the simulation by the wall time that passed, times ``speed``."""
        last = time.monotonic()
        while not self.stopping.wait(TICK):
            now = time.monotonic()
            step, last = (now - last) * self.speed, now
            if step <= 0:
                continue
            try:
                with self.lock:
                    env = self.sim.env
                    env.run(until=env.now + step)
            except Exception as err:  # noqa: BLE001 - keep serving; the error is kept
                self.errors.append(f"the simulation stopped following the clock: {err!r}")
                return

    @property
    def serving(self) -> bool:
        """True until :meth:`stop`."""
        return not self.stopping.is_set()

    def stop(self) -> None:
        """Stop the clock and the server, close the watches, free the port and the files."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._http.shutdown()
        with self.lock:
            for w in list(self.watches):
                w.stop()
        self._http.server_close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)
        self._cleanup()

    def __repr__(self) -> str:
        state = "serving" if self.serving else "stopped"
        return (f"<ApiHttpServer {state} {self.url} speed={self.speed:g} "
                f"kubeconfig={self.kubeconfig}>")
