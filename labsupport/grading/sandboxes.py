"""Where a submission's child process runs: inside bubblewrap, or (when told) bare.

A :class:`Sandbox` turns the command that starts the runner into the command
that starts it confined, and says where the child finds its folders.

:class:`Bubblewrap` runs every child under ``bwrap`` in new user, PID, mount,
IPC, UTS, network and cgroup namespaces, as uid 65534 inside, in a new
session, killed with its parent. The child sees a root made of

- the system's ``/usr`` (and the ``/bin``, ``/lib`` links), read-only;
- the Python interpreter's prefix and the virtual environment, read-only;
- the batch's private copy of ``labsupport``, read-only, at ``/grader/lib``;
- its own working folder (the copy of the submission), writable, at
  ``/home/student``, and a private ``/tmp`` of limited size;
- a fresh ``/proc`` showing only its own processes, and a minimal ``/dev``;
- everything else read-only.

Nothing else: no instructor files, no ``solutions/``, no other submission,
no grader process. Killing ``bwrap`` kills the PID namespace's init, and the
kernel then ends every process left in it, daemons included. When the grader
runs as root, the process limit is a ``pids`` cgroup per child (see
:class:`~labsupport.grading.sandbox.ProcessGroup`): the kernel ignores
``RLIMIT_NPROC`` for uid 0.

:class:`Container` runs every child with ``docker run`` or ``podman run`` in
the course image (:data:`~labsupport.kube.images.COURSE_IMAGE`): no network,
a read-only root, a private ``/tmp``, limits on processes, memory and CPU,
uid 65534, the library copy read-only, the child's working folder as its
only writable folder, removed when it ends and killed at the time limit.
``auto`` picks it when bubblewrap does not work and ``docker info`` (or
``podman info``) answers.

:class:`NoSandbox` keeps everything as it was (the grader's own user, the
whole filesystem visible): damage control, not a wall. The grader uses it
only when told ``--no-sandbox``, and says so in every gradebook row.

Example:
    >>> choose_sandbox("none").name
    'none'
    >>> NoSandbox().wrap(["python", "-c", "pass"], Layout(Path("/w"), Path("/t"), None))
    ['python', '-c', 'pass']
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labsupport.errors import GradingError

__all__ = ["Layout", "Sandbox", "NoSandbox", "Bubblewrap", "Container", "SandboxUnavailable",
           "choose_sandbox", "bubblewrap_problem", "container_problem", "SANDBOX_CHOICES",
           "NO_SANDBOX_NOTE"]

SANDBOX_CHOICES = ("auto", "bwrap", "docker", "podman", "none")
#: Container runtimes, in the order ``auto`` tries them.
RUNTIMES = ("docker", "podman")
#: Runs a command and returns ``(returncode, stdout, stderr)`` (as ``labsupport.kube.kind``).
Runner = Callable[[list[str]], Any]
#: What every gradebook row says when the grader ran without a sandbox.
NO_SANDBOX_NOTE = "graded without isolation (--no-sandbox)"
_FIX = ("install bubblewrap: sudo apt-get install bubblewrap, or pass --no-sandbox to grade "
        "without isolation (or start docker or podman and pass --sandbox docker or podman)")


class SandboxUnavailable(GradingError):
    """No sandbox tool works here, so the grader will not run submissions.

    Args:
        choice: the sandbox asked for (``"auto"``, ``"bwrap"``, ``"docker"``, ``"podman"``).
        problem: why it cannot be used.
    """

    def __init__(self, choice: str, problem: str) -> None:
        self.choice = choice
        self.problem = problem
        super().__init__(f"cannot grade in a sandbox (--sandbox {choice}): {problem}. "
                         f"To fix it, {_FIX}")


@dataclass(frozen=True)
class Layout:
    """A child's folders: its working folder, its temp folder, the library copy.

    Attributes:
        work: the submission's writable copy (the child's current folder and HOME).
        scratch: its temp folder (TMPDIR).
        library: the batch's private copy of the library, or None for the installed one.
        results: the results file, for a sandbox that cannot pass a file descriptor.
        name: a name unique to this child (a container's name).
        submission: where the child finds a read-only copy of the submission's
            files to copy into its working folder first, when the working
            folder is an in-memory folder of bounded size; None when the
            working folder is the copy itself.
    """

    work: Path
    scratch: Path
    library: Path | None
    results: Path | None = None
    name: str = ""
    submission: Path | None = None


class Sandbox:
    """No confinement at all; subclasses confine.

    Attributes:
        name: the value of ``--sandbox`` that selects it.
        isolated: whether submissions are kept apart from each other and the grader.
    """

    name = "none"
    isolated = False
    #: Whether the child inherits a file descriptor from the grader (not through a container).
    passes_fds = True
    #: The interpreter inside, or None for the grader's own.
    python: str | None = None

    def inside(self, host: Layout) -> Layout:
        """The folders as the child sees them."""
        return host

    def wrap(self, command: list[str], host: Layout, *, tmp_mb: int = 64,
             env: dict[str, str] | None = None, memory_mb: int = 0,
             processes: int = 0, work_mb: int = 128) -> list[str]:
        """The command that runs ``command`` confined, with ``host``'s folders."""
        return command

    def host_env(self, env: dict[str, str]) -> dict[str, str]:
        """The environment of the process the grader starts (the child's own by default)."""
        return env

    def needs_process_cgroup(self) -> bool:
        """Whether the process limit needs a cgroup: ``RLIMIT_NPROC`` does not bind root."""
        return os.name == "posix" and os.geteuid() == 0

    def stop(self, host: Layout) -> None:
        """Make sure nothing of the child is left once its process has ended."""

    def exit_status(self, code: int | None, sig: int | None) -> tuple[int | None, int | None]:
        """The child's own exit code and signal, from those of the process the grader started."""
        return code, sig


class NoSandbox(Sandbox):
    """The child runs as the grader's user and sees what the grader sees."""


class Bubblewrap(Sandbox):
    """Every child in its own bubblewrap sandbox (see the module docstring).

    Args:
        bwrap: the ``bwrap`` executable.
    """

    name = "bwrap"
    isolated = True
    #: The child's uid and gid inside its user namespace.
    UID = 65534
    WORK = Path("/home/student")
    LIBRARY = Path("/grader/lib")
    SUBMISSION = Path("/grader/submission")

    def __init__(self, bwrap: str = "bwrap") -> None:
        self.bwrap = bwrap

    def inside(self, host: Layout) -> Layout:
        """``/home/student``, ``/tmp``, ``/grader/lib`` and ``/grader/submission``."""
        return Layout(self.WORK, Path("/tmp"), self.LIBRARY if host.library else None,
                      submission=self.SUBMISSION)

    def base(self) -> list[str]:
        """Namespaces, the system folders, ``/proc`` and ``/dev``: what every child gets."""
        cmd = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
               "--uid", str(self.UID), "--gid", str(self.UID), "--hostname", "grader",
               "--die-with-parent", "--new-session",
               "--ro-bind", "/usr", "/usr"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / top
            if path.is_symlink():
                cmd += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                cmd += ["--ro-bind", str(path), str(path)]
        for name in ("ld.so.cache", "localtime"):
            if (Path("/etc") / name).exists():
                cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        return cmd + ["--proc", "/proc", "--dev", "/dev"]

    def wrap(self, command: list[str], host: Layout, *, tmp_mb: int = 64,
             env: dict[str, str] | None = None, memory_mb: int = 0,
             processes: int = 0, work_mb: int = 128) -> list[str]:
        """``bwrap`` with :meth:`base`, Python, the library and the child's own folders.

        The working folder is an in-memory folder of ``work_mb``: the child
        copies the submission's files into it from a read-only view, so
        whatever it writes stays in memory the sandbox's limit covers, and
        never reaches the grader's disk.
        """
        cmd = self.base()
        for prefix in _python_prefixes():
            cmd += ["--ro-bind", str(prefix), str(prefix)]
        if host.library is not None:
            cmd += ["--ro-bind", str(host.library), str(self.LIBRARY)]
        cmd += ["--ro-bind", str(host.work), str(self.SUBMISSION),
                "--size", str(work_mb * 2**20), "--tmpfs", str(self.WORK),
                "--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp",
                # bwrap's own root and /dev are unbounded tmpfs: no writing there
                "--remount-ro", "/dev", "--remount-ro", "/",
                "--chdir", str(self.WORK), "--"]
        return cmd + command

    def exit_status(self, code: int | None, sig: int | None) -> tuple[int | None, int | None]:
        """A signal read back from bwrap's exit code."""
        # bwrap's init reports a child killed by signal N as exit code 128 + N.
        if code is not None and 128 < code < 128 + 65:
            return None, code - 128
        return code, sig


class Container(Sandbox):
    """Every child in its own container of the course image (see the module docstring).

    Args:
        runtime: ``"docker"`` or ``"podman"`` (or a path to one).
        image: the image to run.
        runner: runs the commands that stop a container (``rm -f``).
        cpus: CPUs each child may use.
    """

    isolated = True
    passes_fds = False
    python = "python3"
    UID = 65534
    WORK = Path("/home/student")
    LIBRARY = Path("/grader/lib")
    RESULTS = Path("/grader/results.jsonl")
    SUBMISSION = Path("/grader/submission")
    #: Variables the runtime's own client needs to reach its daemon.
    CLIENT_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT",
                  "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "CONTAINER_HOST",
                  "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")

    def __init__(self, runtime: str = "docker", image: str | None = None,
                 runner: Runner | None = None, cpus: float = 1.0) -> None:
        from labsupport.kube.images import COURSE_IMAGE

        self.runtime = runtime
        self.name = Path(runtime).name
        self.image = image or COURSE_IMAGE
        self.runner = runner or _run
        self.cpus = cpus

    def inside(self, host: Layout) -> Layout:
        """The child's folders: work, ``/tmp``, library, results file and submission view."""
        return Layout(self.WORK, Path("/tmp"), self.LIBRARY if host.library else None,
                      self.RESULTS, host.name, self.SUBMISSION)

    def wrap(self, command: list[str], host: Layout, *, tmp_mb: int = 64,
             env: dict[str, str] | None = None, memory_mb: int = 0,
             processes: int = 0, work_mb: int = 128) -> list[str]:
        """``docker run`` (or podman) with the limits, the child's folders and its environment."""
        cmd = [self.runtime, "run", "--rm", "-i", "--name", host.name,
               "--network", "none", "--read-only",
               "--tmpfs", f"/tmp:rw,nosuid,nodev,size={tmp_mb}m",
               "--tmpfs", f"{self.WORK}:rw,nosuid,nodev,size={work_mb}m,uid={self.UID},"
                          f"gid={self.UID},mode=0700",
               "--user", f"{self.UID}:{self.UID}", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges",
               "--cpus", f"{self.cpus:g}"]
        if processes:
            cmd += ["--pids-limit", str(processes)]
        if memory_mb:
            cmd += ["--memory", f"{memory_mb}m", "--memory-swap", f"{memory_mb}m"]
        cmd += ["--mount", f"type=bind,source={host.work},target={self.SUBMISSION},readonly"]
        if host.library is not None:
            cmd += ["--mount", f"type=bind,source={host.library},target={self.LIBRARY},readonly"]
        if host.results is not None:
            cmd += ["--mount", f"type=bind,source={host.results},target={self.RESULTS}"]
        cmd += ["--workdir", str(self.WORK)]
        for key, value in sorted((env or {}).items()):
            cmd += ["--env", f"{key}={value}"]
        return cmd + [self.image] + command

    def host_env(self, env: dict[str, str]) -> dict[str, str]:
        """The grader's own variables that the runtime's client needs (the child gets ``env``)."""
        return {k: os.environ[k] for k in self.CLIENT_ENV if k in os.environ}

    def needs_process_cgroup(self) -> bool:
        """No: ``--pids-limit`` is the container's own cgroup."""
        return False

    def stop(self, host: Layout) -> None:
        """Remove the container (killing the client at the time limit leaves it running)."""
        self.runner([self.runtime, "rm", "-f", host.name])

    def exit_status(self, code: int | None, sig: int | None) -> tuple[int | None, int | None]:
        """A signal read back from the runtime's exit code (128 + N)."""
        if code is not None and 128 < code < 128 + 65:
            return None, code - 128
        return code, sig


def _run(argv: list[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60, check=False)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: command not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"{' '.join(argv)} did not answer within 60 s"
    return done.returncode, done.stdout or "", done.stderr or ""


def container_problem(runtime: str, runner: Runner | None = None) -> str | None:
    """Why ``runtime`` (docker or podman) cannot run containers here, or None when it can."""
    rc, _, err = (runner or _run)([runtime, "info"])
    if rc == 127:
        return f"{runtime} is not installed"
    if rc != 0:
        said = err.strip().splitlines()
        return f"{runtime} does not answer ({said[-1] if said else f'exit code {rc}'})"
    return None


def _python_prefixes() -> list[Path]:
    """The interpreter's prefix and the virtual environment, outside the system folders."""
    found: list[Path] = []
    for prefix in (sys.base_prefix, sys.prefix):
        for path in dict.fromkeys((Path(prefix), Path(prefix).resolve())):
            if any(path == p or p in path.parents for p in [*found, Path("/usr")]):
                continue
            found.append(path)
    return found


@functools.cache
def bubblewrap_problem(bwrap: str = "bwrap") -> str | None:
    """Why bubblewrap cannot sandbox a child here, or None when it can (checked once)."""
    path = shutil.which(bwrap)
    if path is None:
        return "bubblewrap (bwrap) is not installed"
    cmd = Bubblewrap(path).base() + ["--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} does not run ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"{path} cannot create a sandbox here ({said[-1] if said else done.returncode})"
    return None


def choose_sandbox(choice: str = "auto", runner: Runner | None = None) -> Sandbox:
    """The sandbox for ``--sandbox choice``.

    ``auto`` takes bubblewrap when it works, else the first container runtime
    whose ``info`` succeeds.

    Args:
        choice: one of :data:`SANDBOX_CHOICES`.
        runner: runs ``docker info`` and the like (for tests).

    Raises:
        SandboxUnavailable: no sandbox of the kind asked for works here.
        GradingError: an unknown choice.
    """
    if choice == "none":
        return NoSandbox()
    if choice not in SANDBOX_CHOICES:
        raise GradingError(f"unknown sandbox {choice!r}; choose one of "
                           f"{', '.join(SANDBOX_CHOICES)}")
    if choice in RUNTIMES:
        problem = container_problem(choice, runner)
        if problem is not None:
            raise SandboxUnavailable(choice, problem)
        return Container(choice, runner=runner)
    problem = bubblewrap_problem()
    if problem is None:
        return Bubblewrap(shutil.which("bwrap") or "bwrap")
    if choice == "auto":
        for runtime in RUNTIMES:
            if container_problem(runtime, runner) is None:
                return Container(runtime, runner=runner)
        problem += "; no docker or podman answers either"
    raise SandboxUnavailable(choice, problem)
