"""``c.serve()``: a simulated cluster that kubectl and API clients can talk to.

:class:`ServingMixin` gives :class:`~labsupport.sim.cluster.SimCluster` its
serving methods: :meth:`~ServingMixin.serve` starts the HTTP API on
127.0.0.1 (:mod:`labsupport.sim.httpapi.server`), :attr:`~ServingMixin.kubeconfig`
is the private kubeconfig to reach it, :meth:`~ServingMixin.kubectl` runs the
real kubectl against it, and :meth:`~ServingMixin.stop_serving` (or
``close()``) frees the port and the threads.

While served, three kinds of threads may enter the simulation: the clock
thread that lets simulated time follow wall time, one thread per HTTP
request, and the notebook's own. The simulation is not thread-safe (simpy is
not), so they take turns on one re-entrant lock: ``serve()`` wraps every
public method of the cluster (``apply``, ``get``, ``advance``, ``pods``...) so
that it holds the lock, and ``stop_serving()`` removes the wrappers. The
simulator's internals (``c.api``, ``c.store``) are not wrapped: use the
public methods from the notebook while serving.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1)
    >>> server = c.serve(speed=0)
    >>> c.kubeconfig.stat().st_mode & 0o777 == 0o600
    True
    >>> c.stop_serving()
    >>> c.kubeconfig is None
    True
"""

from __future__ import annotations

import inspect
import os
import shlex
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labsupport import arguments
from labsupport.errors import Invalid

__all__ = ["ServingMixin", "KubectlRun"]

# Not wrapped: they must not hold the lock (kubectl waits for requests that
# need it; stopping joins threads that may be waiting for it).
_UNLOCKED = {"serve", "stop_serving", "kubectl", "close"}


class KubectlRun:
    """What one kubectl command printed; shown in a notebook as kubectl prints it.

    Attributes:
        args: the arguments after ``kubectl``.
        returncode: kubectl's exit code (0 when it succeeded).
        stdout: what it wrote on standard output.
        stderr: what it wrote on standard error.
    """

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def ok(self) -> bool:
        """True when kubectl exited with 0."""
        return self.returncode == 0

    def __str__(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        return str(self).rstrip("\n")


class ServingMixin:
    """The serving methods of a simulated cluster (see the module docstring)."""

    _server: Any = None

    def serve(self, speed: float = 1.0) -> Any:
        """Serve the Kubernetes API of this cluster on 127.0.0.1, in the background.

        Args:
            speed: simulated seconds per wall-clock second while served: 1
                follows the wall clock, 10 or 60 show a five-minute failure in
                30 s or 5 s, 0 keeps the clock still (only :meth:`advance` moves it).

        Returns:
            The server (its ``url`` and ``kubeconfig``); calling ``serve``
            again while serving returns the same one with the new speed.

        Raises:
            Invalid: ``speed`` is negative or not a number.
        """
        from labsupport.sim.httpapi.server import ApiHttpServer

        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not \
                0 <= speed < float("inf"):
            raise Invalid(f"speed must be a number 0 or more (simulated seconds per second), "
                          f"got {speed!r}")
        if getattr(self, "_closed", False):
            raise Invalid("this cluster is closed; make a new one with ls.connect()")
        if self._server is not None and self._server.serving:
            self._server.speed = float(speed)
            return self._server
        from labsupport.sim.httpapi import magic

        lock = threading.RLock()
        self._server = ApiHttpServer(self, lock, speed)
        self._lock_methods(lock)
        magic.remember(self)             # %kubectl talks to the cluster served last
        magic.register_if_in_ipython()
        return self._server

    def _lock_methods(self, lock: threading.RLock) -> None:
        for name, member in inspect.getmembers(type(self), inspect.isfunction):
            if name.startswith("_") or name in _UNLOCKED:
                continue
            bound = getattr(self, name)

            def locked(*args: Any, __call=bound, **kwargs: Any) -> Any:
                with lock:
                    return __call(*args, **kwargs)

            locked.__name__ = name
            locked.__doc__ = member.__doc__
            locked.__wrapped__ = bound  # type: ignore[attr-defined]
            self.__dict__[name] = locked

    def stop_serving(self) -> None:
        """Stop serving: the port, the threads and the kubeconfig file are freed."""
        server, self._server = self._server, None
        if server is None:
            return
        for name in [n for n, v in self.__dict__.items() if hasattr(v, "__wrapped__")
                     and getattr(v, "__name__", "") == n]:
            del self.__dict__[name]
        server.stop()

    @property
    def kubeconfig(self) -> Path | None:
        """The private kubeconfig of the served API (None when not served)."""
        server = self._server
        return server.kubeconfig if server is not None and server.serving else None

    def kubectl(self, args: str | Sequence[str], *, timeout: float = 60) -> KubectlRun:
        """Run the real kubectl against this served cluster.

        Args:
            args: what follows ``kubectl``, as one string (split like a shell
                does) or a list, e.g. ``"get pods -o wide"``.
            timeout: seconds before kubectl is stopped.

        Returns:
            What kubectl printed, with its exit code (a notebook shows the text).

        Raises:
            Invalid: the cluster is not served (call ``serve()`` first).
            ClusterUnavailable: no kubectl of a supported version is installed.
        """
        from labsupport.kube.kubectl import find_kubectl

        path = self.kubeconfig
        if path is None:
            raise Invalid("the cluster is not served: call c.serve() first, then c.kubectl()")
        argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
        if argv[:1] == ["kubectl"]:
            argv = argv[1:]
        arguments.seconds(timeout, "timeout", positive=True)
        env = dict(os.environ, KUBECONFIG=str(path),
                   KUBECACHEDIR=str(path.parent / "cache"))
        try:
            done = subprocess.run([find_kubectl(), *argv], capture_output=True, text=True,
                                  timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            return KubectlRun(argv, -1, out, f"kubectl did not finish in {timeout:g} s\n")
        return KubectlRun(argv, done.returncode, done.stdout, done.stderr)
