"""Is this KubeCluster talking to a simulator served by ``c.serve()``? Then ask it, not the clock.

A :class:`~labsupport.kube.cluster.KubeCluster` connected to a served
simulator (``ls.connect("kubeconfig", kubeconfig=c.kubeconfig)``) exercises
the real backend over real HTTP. Two things differ from a real cluster:

* time: ``advance(60)`` on a real cluster waits a minute of wall time; a
  served simulator can let a simulated minute pass at once;
* faults: ``fail_node`` pauses a kind node's container; a simulator fails
  its simulated node.

So the backend asks the simulator's own endpoints
(:mod:`labsupport.sim.httpapi.simapi`), but only when the server proves it
is one of ours, as the safety guard of destructive calls requires
(:mod:`labsupport.kube.safety`):

1. the kubeconfig context is the one ``c.serve()`` writes (``labsupport-sim``),
   so a request to the non-standard path is never sent to other clusters;
2. the API server is on a loopback address;
3. it answers ``GET /labsupport/v1/identity?nonce=N`` with
   ``HMAC-SHA256(token, "labsupport-sim:" + N)`` for a fresh random ``N``,
   keyed by the bearer token of our kubeconfig: the server knows the token
   the serve made, and a real API server has no such endpoint.

Example:
    >>> expected_proof("token", "ab12")[:16]
    '690fc8d2051cc7a4'
    >>> token_of(type("Cfg", (), {"api_key": {"authorization": "Bearer abc"}})())
    'abc'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from labsupport.errors import LabSupportError

__all__ = ["SERVED_CONTEXT", "ServedSimulator", "expected_proof", "token_of", "probe"]

#: The kubeconfig context ``c.serve()`` writes.
SERVED_CONTEXT = "labsupport-sim"
_PREFIX = "/labsupport/v1"


def expected_proof(token: str, nonce: str) -> str:
    """What a served simulator holding ``token`` answers for ``nonce`` (hex HMAC-SHA256)."""
    return hmac.new(token.encode(), f"labsupport-sim:{nonce}".encode(),
                    hashlib.sha256).hexdigest()


def token_of(configuration: Any) -> str | None:
    """The bearer token of a client configuration, or None."""
    keys = getattr(configuration, "api_key", None) or {}
    value = keys.get("authorization") or keys.get("BearerToken") or ""
    value = str(value)
    return value[len("Bearer "):] if value.startswith("Bearer ") else (value or None)


class ServedSimulator:
    """The simulator's clock and node faults, over its own endpoints.

    Args:
        api: the :class:`~labsupport.kube.api.Api` of the connection.
        identity: the identity answer (its clock at connection time).
    """

    def __init__(self, api: Any, identity: dict) -> None:
        self.api = api
        #: Simulated seconds at connection time, and the Unix time its timestamps showed.
        self.now0 = float(identity["now"])
        self.unix0 = float(identity["unixNow"])

    def clock(self) -> dict:
        """The server's clock: ``now``, ``unixNow``, ``speed``."""
        return self.api.request("GET", f"{_PREFIX}/clock", what="the simulator's clock")

    def now(self) -> float:
        """Simulated seconds since this connection was made."""
        return float(self.clock()["now"]) - self.now0

    def start_time(self) -> float:
        """The Unix time, as the server's timestamps show it now, of this connection's start."""
        clock = self.clock()
        return float(clock["unixNow"]) - (float(clock["now"]) - self.now0)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass at once."""
        self.api.request("POST", f"{_PREFIX}/clock", body={"advance": float(seconds)},
                         what="the simulator's clock")

    def fail_node(self, name: str) -> None:
        """The simulated node goes silent (``c.fail_node``)."""
        self.api.request("POST", f"{_PREFIX}/nodes/{name}/fail", what=f"node/{name}")

    def restore_node(self, name: str) -> None:
        """The simulated node comes back (``c.restore_node``)."""
        self.api.request("POST", f"{_PREFIX}/nodes/{name}/restore", what=f"node/{name}")


def probe(api: Any, context: str | None) -> ServedSimulator | None:
    """A :class:`ServedSimulator` when the connection provably reaches one of ours, else None.

    Sends nothing unless the context is :data:`SERVED_CONTEXT` and the server
    is on loopback (checks 1 and 2 of the module docstring).
    """
    from labsupport.kube.safety import is_loopback

    token = token_of(api.configuration)
    if context != SERVED_CONTEXT or not is_loopback(api.host) or not token:
        return None
    nonce = secrets.token_hex(16)
    try:
        answer = api.request("GET", f"{_PREFIX}/identity", {"nonce": nonce},
                             what="the simulator's identity")
    except LabSupportError:
        return None
    given = str((answer or {}).get("proof", "")) if isinstance(answer, dict) else ""
    if not hmac.compare_digest(given, expected_proof(token, nonce)):
        return None
    try:
        return ServedSimulator(api, answer)
    except (KeyError, TypeError, ValueError):
        return None
