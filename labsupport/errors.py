"""One error hierarchy for the whole course.

Every error the library raises on purpose is a :class:`LabSupportError`, so a
notebook can catch them all with one ``except``. Each error keeps its facts as
attributes and builds its message from them, in words a learner understands:
what was wrong, what is allowed, and how to fix it.

Example:
    >>> from labsupport.errors import ObjectNotFound, LabSupportError
    >>> err = ObjectNotFound("deployment", "web", "default")
    >>> isinstance(err, LabSupportError), err.name
    (True, 'web')
    >>> print(err)  # doctest: +NORMALIZE_WHITESPACE
    deployment "web" not found in namespace "default".
    List what exists with cluster.list("deployments", namespace="default").
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LabSupportError",
    "InvalidManifest",
    "ObjectNotFound",
    "AlreadyExists",
    "Conflict",
    "Invalid",
    "Forbidden",
    "ClusterUnavailable",
    "UnsafeCluster",
    "WaitTimeout",
    "ResourceExpired",
    "TooManyRequests",
    "GradingError",
    "AuthoringError",
]

_MISSING = object()


class LabSupportError(Exception):
    """Base of every error raised by labsupport."""


class Invalid(LabSupportError, ValueError):
    """A call got an argument it cannot use (a bad option, a negative time).

    Args:
        message: what was wrong and what is allowed.
    """


class InvalidManifest(LabSupportError, ValueError):
    """A Kubernetes object (YAML or dict) is not valid; nothing was applied.

    Args:
        problem: what is wrong, in plain words.
        source: the file name, or ``"<text>"`` / ``"<dict>"``.
        document: the 1-based document number inside a multi-document YAML.
        obj: ``"Deployment/web"`` when known.
        field: the field path, e.g. ``"spec.replicas"`` or
            ``"spec.template.spec.containers[0].image"``.
        value: the offending value (omitted from the message when not given).
        hint: how to fix it.
        refused: ``("Deployment", "web")`` when the API server refused the
            object (validation of a create or update); the message is then
            what kubectl prints: ``The Deployment "web" is invalid: ...``.
        causes: every ``field: problem`` line the API server gave, when
            there are several (kubectl lists them one per line).

    Example:
        >>> e = InvalidManifest("must be an integer", source="web.yaml", document=1,
        ...                     obj="Deployment/web", field="spec.replicas", value="three")
        >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
        web.yaml, document 1 (Deployment/web):
        spec.replicas: Invalid value: "three": must be an integer
        >>> e.field
        'spec.replicas'
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        document: int | None = None,
        obj: str | None = None,
        field: str | None = None,
        value: Any = _MISSING,
        hint: str | None = None,
        refused: tuple[str, str] | None = None,
        causes: tuple[str, ...] = (),
    ) -> None:
        self.problem = problem
        self.refused = refused
        self.causes = tuple(causes)
        self.source = source
        self.document = document
        self.obj = obj
        self.field = field
        self.value = None if value is _MISSING else value
        self._has_value = value is not _MISSING
        self.hint = hint
        super().__init__(self._message())

    def located(
        self, *, source: str | None = None, document: int | None = None, obj: str | None = None
    ) -> InvalidManifest:
        """Return a copy that also names where the bad object came from."""
        return InvalidManifest(
            self.problem,
            source=source if source is not None else self.source,
            document=document if document is not None else self.document,
            obj=obj if obj is not None else self.obj,
            field=self.field,
            value=self.value if self._has_value else _MISSING,
            hint=self.hint,
            refused=self.refused,
            causes=self.causes,
        )

    def _message(self) -> str:
        if self.refused is not None:
            kind, name = self.refused
            head = f'The {kind} "{name}" is invalid: '
            if len(self.causes) > 1:
                # kubectl's MultilineError: the head (trailing space kept), then one
                # "* " line per cause.
                return head + "".join(f"\n* {c}" for c in self.causes)
            body = f"{self.field}: " if self.field else ""
            if self._has_value:
                body += f"Invalid value: {_quote(self.value)}: "
            return head + body + self.problem + (f". {self.hint}" if self.hint else "")
        where = []
        if self.source:
            where.append(self.source)
        if self.document is not None:
            where.append(f"document {self.document}")
        head = ", ".join(where)
        if self.obj:
            head = f"{head} ({self.obj})" if head else self.obj
        body = ""
        if self.field:
            body = f"{self.field}: "
        if self._has_value:
            body += f"Invalid value: {_quote(self.value)}: "
        body += self.problem
        msg = f"{head}: {body}" if head else body
        if self.hint:
            msg += f". {self.hint}"
        return msg


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ObjectNotFound(LabSupportError, KeyError):
    """The object asked for does not exist (HTTP 404 on a real cluster).

    Args:
        kind: the resource, e.g. ``"deployment"``.
        name: the object's name.
        namespace: its namespace, or None for cluster-scoped objects.
        hint: what to do instead of listing the type (e.g. the names that
            exist); None suggests ``cluster.list(...)``.
    """

    def __init__(self, kind: str, name: str, namespace: str | None = None, *,
                 hint: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.hint = hint
        super().__init__(kind, name, namespace)

    def __str__(self) -> str:
        if self.hint is not None:
            where = f' in namespace "{self.namespace}"' if self.namespace else ""
            return f'{self.kind} "{self.name}" not found{where}. {self.hint}'
        plural = self.kind if self.kind.endswith("s") else self.kind + "s"
        if self.namespace:
            return (
                f'{self.kind} "{self.name}" not found in namespace "{self.namespace}". '
                f'List what exists with cluster.list("{plural}", namespace="{self.namespace}").'
            )
        return (
            f'{self.kind} "{self.name}" not found. List what exists with cluster.list("{plural}").'
        )


class AlreadyExists(LabSupportError):
    """An object with that name already exists (HTTP 409 on a real cluster)."""


class Conflict(LabSupportError):
    """An update was based on an old version of the object (HTTP 409 Conflict).

    Every write changes ``metadata.resourceVersion``; an update that carries
    an older one would overwrite a change it never saw, so the API server
    refuses it (optimistic concurrency).

    Args:
        resource: the resource, group-qualified, e.g. ``"deployments.apps"``.
        name: the object's name.

    Example:
        >>> e = Conflict("deployments.apps", "web")
        >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
        Operation cannot be fulfilled on deployments.apps "web": the object has been
        modified; please apply your changes to the latest version and try again.
        Read it again (cluster.get) and redo your change on what it returns.
    """

    def __init__(self, resource: str, name: str, message: str | None = None) -> None:
        self.resource = resource
        self.name = name
        # staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go
        # (OptimisticLockErrorMsg) through errors.NewConflict.
        text = message or (
            f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again")
        super().__init__(f"{text}. Read it again (cluster.get) and redo your change on "
                         "what it returns.")


class Forbidden(LabSupportError):
    """The cluster refused the request: admission (a quota) or RBAC.

    Args:
        message: the refusal in Kubernetes' words, plus how to fix it.
        reason: a short machine-readable reason such as ``"ExceededQuota"``.
    """

    def __init__(self, message: str, reason: str = "Forbidden") -> None:
        self.reason = reason
        super().__init__(message)


class ClusterUnavailable(LabSupportError):
    """A cluster cannot be reached or made: docker, kind or the API is missing.

    Args:
        what: what is missing or failing.
        fix: the one command (or step) that fixes it.
    """

    def __init__(self, what: str, fix: str | None = None) -> None:
        self.what = what
        self.fix = fix
        super().__init__(f"{what}. Fix: {fix}" if fix else what)


class UnsafeCluster(LabSupportError):
    """A destructive action was refused on a cluster that is not provably ours.

    Args:
        action: what was refused, e.g. ``"kill_pod"``.
        why: why the cluster is not trusted.
        override: how to force it anyway.
    """

    def __init__(self, action: str, why: str, override: str) -> None:
        self.action = action
        self.why = why
        self.override = override
        super().__init__(f"refusing {action}: {why}. If you are sure, {override}")


class WaitTimeout(LabSupportError, TimeoutError):
    """A wait ran out of time before its condition held.

    Args:
        what: the condition waited for.
        timeout: seconds waited.
        last: the last state seen, to help find out why.
        reasons: why it did not happen, one line each (for instance the pods
            that are not ready, with their latest warning event).
    """

    def __init__(self, what: str, timeout: float, last: str | None = None,
                 reasons: tuple = ()) -> None:
        self.what = what
        self.timeout = timeout
        self.last = last
        self.reasons = tuple(reasons)
        msg = f"timed out after {timeout:g} s waiting for {what}"
        if last:
            msg += f"; last seen: {last}"
        super().__init__(msg + _with_reasons(self.reasons))


def _with_reasons(reasons: tuple, shown: int = 5) -> str:
    """The first reasons as indented lines to append to a message ("" without reasons)."""
    lines = [f"\n  {reason}" for reason in reasons[:shown]]
    if len(reasons) > shown:
        lines.append(f"\n  ... and {len(reasons) - shown} more (the error's .reasons has all)")
    return "".join(lines)


class ResourceExpired(LabSupportError):
    """A watch asked for a revision that was compacted away (HTTP 410 Gone).

    Args:
        revision: the revision asked for.
        oldest: the oldest revision still kept.
    """

    def __init__(self, revision: int, oldest: int) -> None:
        self.revision = revision
        self.oldest = oldest
        super().__init__(
            f"410 Gone: too old resource version: {revision} ({oldest}). "
            "The store compacted that history; list again and watch from the new revision."
        )


class TooManyRequests(LabSupportError):
    """The API server asked to try again later (HTTP 429 Too Many Requests).

    The Eviction API answers so when evicting a pod would break its
    PodDisruptionBudget; ``kubectl drain`` waits 5 s and tries again.

    Args:
        message: the server's message.
        causes: the ``details.causes`` messages (which budget, and why).
        retry_after: the seconds the server suggested waiting (0: none).

    Example:
        >>> e = TooManyRequests("Cannot evict pod as it would violate the pod's disruption "
        ...                     "budget.", ("The disruption budget web needs 2 healthy pods "
        ...                                 "and has 2 currently",))
        >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
        Cannot evict pod as it would violate the pod's disruption budget. (The disruption
        budget web needs 2 healthy pods and has 2 currently) Wait until more pods are
        Ready, or change the PodDisruptionBudget, then try again.
    """

    def __init__(self, message: str, causes: tuple[str, ...] = (), retry_after: int = 0) -> None:
        self.message = message
        self.causes = tuple(causes)
        self.retry_after = retry_after
        why = f" ({'; '.join(self.causes)})" if self.causes else ""
        super().__init__(f"{message}{why} Wait until more pods are Ready, or change the "
                         "PodDisruptionBudget, then try again.")


class GradingError(LabSupportError):
    """A check or the grader could not run (not a wrong answer: a broken setup)."""


class AuthoringError(LabSupportError):
    """A lesson or solution source cannot be built (an author's mistake, not a student's).

    Args:
        path: the source file, relative to the course folder.
        problem: what is wrong.
        cell: the 1-based cell number, when the problem is in one cell.
        fix: what to do about it.

    Example:
        >>> e = AuthoringError("notebooks/07_x.md", "unknown tag 'nbval-check'", cell=4,
        ...                    fix="use nbval-check-output")
        >>> print(e)
        notebooks/07_x.md, cell 4: unknown tag 'nbval-check'. Fix: use nbval-check-output
        >>> e.cell
        4
    """

    def __init__(self, path: str, problem: str, *, cell: int | None = None,
                 fix: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.cell = cell
        self.fix = fix
        where = self.path if cell is None else f"{self.path}, cell {cell}"
        super().__init__(f"{where}: {problem}" + (f". Fix: {fix}" if fix else ""))
