"""The errors a service answers with: an HTTP status and a JSON message.

Every error body has the same shape, ``{"error": CODE, "message": TEXT}``,
so a client (or a learner with curl) always knows where to look.

Example:
    >>> err = ApiError(404, "no user 7", code="unknown-user")
    >>> err.status, err.body()
    (404, {'error': 'unknown-user', 'message': 'no user 7'})
    >>> DependencyDown("serving", "serving at http://serving:8080 is unreachable").status
    503
"""

from __future__ import annotations

from labsupport.errors import LabSupportError

__all__ = ["ApiError", "DependencyDown"]


class ApiError(LabSupportError):
    """A request a service cannot answer; becomes an HTTP error answer.

    Args:
        status: the HTTP status (4xx: the request's fault; 5xx: the service's).
        message: what was wrong and how to fix it, for a learner.
        code: a short machine-readable name for the error.
    """

    def __init__(self, status: int, message: str, *, code: str = "bad-request") -> None:
        self.status = status
        self.message = message
        self.code = code
        super().__init__(message)

    def body(self) -> dict[str, str]:
        """The JSON body of the answer."""
        return {"error": self.code, "message": self.message}


class DependencyDown(ApiError):
    """A service this one needs did not answer (503).

    Args:
        dependency: its name (``"serving"``).
        message: what happened.
    """

    def __init__(self, dependency: str, message: str) -> None:
        self.dependency = dependency
        super().__init__(503, message, code="dependency-down")
