"""The simulator's own endpoints, under ``/labsupport/v1``: identity, clock, node faults.

A real API server has no way to say "let ten minutes pass" or "this node lost
power": on a real cluster time passes by itself and a node fails when its
machine does. A served simulator offers both, so that a
:class:`~labsupport.kube.cluster.KubeCluster` connected to it can run the
contract suite (``advance``, ``fail_node``) without waiting on the wall clock:

``GET /labsupport/v1/identity?nonce=<hex>``
    Proves the server is a labsupport simulator served by this package: the
    answer carries ``proof = HMAC-SHA256(token, "labsupport-sim:" + nonce)``
    where ``token`` is the serve's bearer token. Only a server that made the
    token can answer before seeing it (the client checks the proof only on a
    loopback address; see :mod:`labsupport.kube.served`).
``GET /labsupport/v1/clock``
    The simulated time: ``now`` (seconds since the cluster started),
    ``unixNow`` (the time the server's timestamps show now: the wall clock's,
    :mod:`~labsupport.sim.httpapi.walltime`) and ``speed``.
``POST /labsupport/v1/clock`` with ``{"advance": seconds}``
    Lets that much simulated time pass at once (as ``c.advance()``).
``POST /labsupport/v1/nodes/<name>/fail`` and ``.../restore``
    ``c.fail_node(name)`` and ``c.restore_node(name)``.

Every path needs the bearer token, as the API does. No real cluster serves
these paths; :class:`~labsupport.kube.cluster.KubeCluster` sends them only
after the identity proof succeeded (docs/SERVE.md).

Example:
    >>> proof("token", "ab12")[:16]
    '690fc8d2051cc7a4'
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from labsupport.errors import LabSupportError
from labsupport.sim.httpapi.status import status, status_for

__all__ = ["PREFIX", "proof", "answer"]

#: Where the simulator's own endpoints live.
PREFIX = "/labsupport/v1/"
#: The longest single advance asked over HTTP (a day of simulated time).
MAX_ADVANCE = 86400.0


def proof(token: str, nonce: str) -> str:
    """The identity proof: HMAC-SHA256 of the nonce keyed by the serve's token (hex)."""
    return hmac.new(token.encode(), f"labsupport-sim:{nonce}".encode(),
                    hashlib.sha256).hexdigest()


def _clock(server: Any) -> dict:
    from labsupport.sim.httpapi.resources import unix_now

    sim = server.sim
    return {"kind": "SimulatorClock", "apiVersion": "labsupport/v1", "now": sim.env.now,
            "unixNow": unix_now(sim) + server.time_offset(), "speed": server.speed}


def answer(server: Any, method: str, path: str, query: dict, body: Any) -> tuple[int, dict]:
    """Answer one request under :data:`PREFIX`; the caller holds the cluster's lock.

    Args:
        server: the :class:`~labsupport.sim.httpapi.server.ApiHttpServer`.
        method: the HTTP method.
        path: the URL path (starts with :data:`PREFIX`).
        query: the query parameters.
        body: the JSON body (or None).

    Returns:
        The HTTP code and the JSON answer.
    """
    rest = path[len(PREFIX):].strip("/").split("/")
    sim = server.sim
    if rest == ["identity"] and method == "GET":
        nonce = query.get("nonce") or ""
        if not 16 <= len(nonce) <= 128:
            raise status(400, "BadRequest", "identity needs a nonce of 16 to 128 characters")
        return 200, {**_clock(server), "kind": "SimulatorIdentity",
                     "proof": proof(server.token, nonce)}
    if rest == ["clock"] and method == "GET":
        return 200, _clock(server)
    if rest == ["clock"] and method == "POST":
        seconds = body.get("advance") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
                not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE:
            raise status(400, "BadRequest", 'send {"advance": seconds}, a number from 0 to '
                         f"{MAX_ADVANCE:g}")
        sim.advance(float(seconds))
        return 200, _clock(server)
    if len(rest) == 3 and rest[0] == "nodes" and rest[2] in ("fail", "restore") \
            and method == "POST":
        try:
            (sim.fail_node if rest[2] == "fail" else sim.restore_node)(rest[1])
        except LabSupportError as err:
            raise status_for(err, "nodes", rest[1]) from None
        return 200, _clock(server)
    raise status(404, "NotFound", f'the simulator does not serve {method} "{path}"')
