"""Calls from one service to another, with timeouts and errors a learner can read.

A service that waits forever for a dead neighbour soon has no threads left
and dies too; this is how one failure spreads through a system. So every call
has a short timeout, and a neighbour that is down, slow or broken becomes
:class:`~labsupport.apps.errors.DependencyDown` (a 503 with a message) at
once. A neighbour's own 4xx answer (an unknown user, say) is passed on as it
came, since the caller's request was the problem.
"""

from __future__ import annotations

from typing import Any

import httpx

from labsupport.apps.errors import ApiError, DependencyDown

__all__ = ["Dependency", "CONNECT_TIMEOUT", "READ_TIMEOUT"]

#: Seconds to wait for a connection, and for an answer.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 5.0


class Dependency:
    """Another service this one calls.

    Args:
        name: its name, for messages (``"ingestion"``).
        base_url: e.g. ``"http://ingestion:8080"``; None when not configured.
        variable: the environment variable that sets ``base_url``.
        read_timeout: seconds to wait for an answer (training takes longer).

    Example:
        >>> d = Dependency("ingestion", None, "INGESTION_URL")
        >>> d.problem()
        'INGESTION_URL is not set: the ingestion service cannot be found'
    """

    def __init__(self, name: str, base_url: str | None, variable: str, *,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.name = name
        self.base_url = base_url
        self.variable = variable
        self._client = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``method path`` and return the decoded JSON answer.

        Raises:
            DependencyDown: not configured, unreachable, too slow, or a 5xx.
            ApiError: the dependency answered 4xx (passed on with its message).
        """
        if self.base_url is None:
            raise DependencyDown(self.name, self.problem())
        url = self.base_url + path
        try:
            answer = self._client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise DependencyDown(self.name, f"{self.name} at {self.base_url} did not answer "
                                 "in time") from None
        except httpx.HTTPError as err:
            raise DependencyDown(self.name, f"{self.name} at {self.base_url} is unreachable "
                                 f"({type(err).__name__})") from None
        try:
            body = answer.json()
        except ValueError:
            body = {"message": answer.text[:200]}
        if answer.status_code >= 500:
            why = body.get("message") if isinstance(body, dict) else None
            raise DependencyDown(self.name, f"{self.name} answered {answer.status_code}"
                                 + (f": {why}" if why else ""))
        if answer.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiError(answer.status_code, message or f"{self.name} refused the request",
                           code=(body.get("error") if isinstance(body, dict) else None)
                           or "refused")
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET ``path``; see :meth:`request`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST ``path``; see :meth:`request`."""
        return self.request("POST", path, **kwargs)

    def problem(self) -> str | None:
        """Why this dependency cannot be used now, or None when it answers ``/healthz``."""
        if self.base_url is None:
            return f"{self.variable} is not set: the {self.name} service cannot be found"
        try:
            self.get("/healthz")
        except ApiError as err:
            return err.message
        return None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
