r"""Can this machine run the kind half of a lesson? One answer, one fix.

A lesson that runs the same experiment on the simulator and on kind asks
:func:`check_kind` once; every kind cell then either runs or prints one line
saying what is missing and the one command that fixes it. Nothing here starts
or creates anything: a missing cluster is reported, never made (making one
takes a minute and belongs to ``python -m labsupport cluster up``).

The checks, in the order a learner fixes them:

1. ``LABSUPPORT_BACKEND=sim`` asks for the simulator only (the notebook
   build and CI set it): the kind cells are skipped on purpose.
2. the ``docker`` program is on ``PATH``;
3. the docker daemon answers (and this user may use it);
4. the ``kind`` program is on ``PATH``;
5. the kind cluster exists.

The program lookup and the command runner are injectable, so each decision
is tested without docker:

Example:
    >>> absent = check_kind(which=lambda prog: None, env={})
    >>> bool(absent), absent.missing
    (False, 'Docker is not installed')
    >>> print(absent)  # doctest: +ELLIPSIS
    kind cells skipped: Docker is not installed. Fix: install Docker: https://docs.docker.com/...
    >>> def runner(argv):
    ...     return 0, "labs\n" if argv[1:3] == ["get", "clusters"] else "27.5.1\n", ""
    >>> ready = check_kind("labs", which=lambda prog: "/usr/bin/" + prog, runner=runner, env={})
    >>> bool(ready), str(ready)
    (True, 'kind cluster "labs" is ready (docker 27.5.1)')
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from labsupport.errors import ClusterUnavailable
from labsupport.kube.kind import (
    _INSTALL_DOCKER,
    _INSTALL_KIND,
    DEFAULT_NAME,
    Kind,
    Runner,
    run_command,
)

__all__ = ["KindCheck", "check_kind", "SKIP_PREFIX"]

#: How every "skipped" line starts, so a test can tell a skipped cell from a run one.
SKIP_PREFIX = "kind cells skipped"
#: Seconds a docker or kind command may take before the machine counts as not ready.
_TIMEOUT = 20.0


@dataclass(frozen=True)
class KindCheck:
    """The answer of :func:`check_kind`: ready, or what is missing and its fix.

    It is true when the kind cells can run. ``str()`` is the one line a
    notebook prints.

    Attributes:
        name: the kind cluster asked about.
        ready: True when docker, kind and the cluster are all there.
        missing: what is missing (None when ready).
        fix: the one command or step that fixes it (None when ready).
        docker_version: the docker server's version, when it answered.
    """

    name: str
    ready: bool
    missing: str | None = None
    fix: str | None = None
    docker_version: str | None = None

    def __bool__(self) -> bool:
        return self.ready

    def __str__(self) -> str:
        if self.ready:
            version = f" (docker {self.docker_version})" if self.docker_version else ""
            return f'kind cluster "{self.name}" is ready{version}'
        fix = f". Fix: {self.fix}" if self.fix else ""
        return f"{SKIP_PREFIX}: {self.missing}{fix}"

    def skip(self, what: str = "") -> str:
        """The line a skipped cell prints, optionally naming what it would have shown.

        Example:
            >>> KindCheck("labs", False, "kind is not installed", "go install ...").skip(
            ...     "the rollout")
            'kind cells skipped (the rollout): kind is not installed. Fix: go install ...'
        """
        if self.ready:
            return ""
        text = str(self)
        return text.replace(SKIP_PREFIX, f"{SKIP_PREFIX} ({what})", 1) if what else text


def check_kind(name: str = DEFAULT_NAME, *, which: Callable[[str], str | None] | None = None,
               runner: Runner | None = None, env: Mapping[str, str] | None = None,
               kind: str = "kind", docker: str = "docker") -> KindCheck:
    """Decide whether the kind cells of a lesson can run on this machine.

    Args:
        name: the kind cluster the cells use (``ls.connect("kind", name=...)``).
        which: finds a program on ``PATH`` (default :func:`shutil.which`).
        runner: runs one command (see :data:`labsupport.kube.kind.Runner`);
            default: the real command with a 20 s timeout.
        env: the environment to read ``LABSUPPORT_BACKEND`` from (default
            ``os.environ``).
        kind: the kind program.
        docker: the docker program.

    Returns:
        A :class:`KindCheck`; it never raises for a missing tool.

    Example:
        >>> print(check_kind(env={"LABSUPPORT_BACKEND": "sim"}))  # doctest: +NORMALIZE_WHITESPACE
        kind cells skipped: LABSUPPORT_BACKEND=sim asks for the simulator only.
        Fix: unset LABSUPPORT_BACKEND (or set it to kind) and run again
    """
    env = os.environ if env is None else env
    which = which or shutil.which
    if runner is None:
        def runner(argv: list[str]) -> tuple[int, str, str]:
            return run_command(argv, timeout=_TIMEOUT)

    if env.get("LABSUPPORT_BACKEND", "").strip().lower() == "sim":
        return KindCheck(name, False, "LABSUPPORT_BACKEND=sim asks for the simulator only",
                         "unset LABSUPPORT_BACKEND (or set it to kind) and run again")
    if which(docker) is None:
        return KindCheck(name, False, "Docker is not installed", _INSTALL_DOCKER)
    tools = Kind(runner=runner, kind=kind, docker=docker)
    try:
        version = tools.check_docker()  # the daemon answers, and may be used
    except ClusterUnavailable as err:
        return KindCheck(name, False, err.what, err.fix)
    if which(kind) is None:
        return KindCheck(name, False, "kind is not installed", _INSTALL_KIND, version)
    try:
        tools.check_kind()
        exists = tools.exists(name)
    except ClusterUnavailable as err:
        return KindCheck(name, False, err.what, err.fix, version)
    if not exists:
        return KindCheck(name, False, f'kind cluster "{name}" does not exist',
                         f"python -m labsupport cluster up --name {name}", version)
    return KindCheck(name, True, docker_version=version)
