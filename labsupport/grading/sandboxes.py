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
kernel then ends every process left in it, daemons included.

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
from dataclasses import dataclass
from pathlib import Path

from labsupport.errors import GradingError

__all__ = ["Layout", "Sandbox", "NoSandbox", "Bubblewrap", "SandboxUnavailable",
           "choose_sandbox", "bubblewrap_problem", "SANDBOX_CHOICES", "NO_SANDBOX_NOTE"]

SANDBOX_CHOICES = ("auto", "bwrap", "none")
#: What every gradebook row says when the grader ran without a sandbox.
NO_SANDBOX_NOTE = "graded without isolation (--no-sandbox)"
_FIX = ("install bubblewrap: sudo apt-get install bubblewrap, or pass --no-sandbox to grade "
        "without isolation")


class SandboxUnavailable(GradingError):
    """No sandbox tool works here, so the grader will not run submissions.

    Args:
        choice: the sandbox asked for (``"auto"`` or ``"bwrap"``).
        problem: why bubblewrap cannot be used.
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
    """

    work: Path
    scratch: Path
    library: Path | None


class Sandbox:
    """No confinement at all; subclasses confine.

    Attributes:
        name: the value of ``--sandbox`` that selects it.
        isolated: whether submissions are kept apart from each other and the grader.
    """

    name = "none"
    isolated = False

    def inside(self, host: Layout) -> Layout:
        """The folders as the child sees them."""
        return host

    def wrap(self, command: list[str], host: Layout, *, tmp_mb: int = 64) -> list[str]:
        """The command that runs ``command`` confined, with ``host``'s folders."""
        return command

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

    def __init__(self, bwrap: str = "bwrap") -> None:
        self.bwrap = bwrap

    def inside(self, host: Layout) -> Layout:
        """``/home/student``, ``/tmp`` and ``/grader/lib``."""
        return Layout(self.WORK, Path("/tmp"), self.LIBRARY if host.library else None)

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

    def wrap(self, command: list[str], host: Layout, *, tmp_mb: int = 64) -> list[str]:
        """``bwrap`` with :meth:`base`, Python, the library and the child's own folders."""
        cmd = self.base()
        for prefix in _python_prefixes():
            cmd += ["--ro-bind", str(prefix), str(prefix)]
        if host.library is not None:
            cmd += ["--ro-bind", str(host.library), str(self.LIBRARY)]
        cmd += ["--bind", str(host.work), str(self.WORK),
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


def choose_sandbox(choice: str = "auto") -> Sandbox:
    """The sandbox for ``--sandbox choice``.

    Raises:
        SandboxUnavailable: ``auto`` or ``bwrap`` where bubblewrap does not work.
        GradingError: an unknown choice.
    """
    if choice == "none":
        return NoSandbox()
    if choice not in SANDBOX_CHOICES:
        raise GradingError(f"unknown sandbox {choice!r}; choose one of "
                           f"{', '.join(SANDBOX_CHOICES)}")
    problem = bubblewrap_problem()
    if problem is not None:
        raise SandboxUnavailable(choice, problem)
    return Bubblewrap(shutil.which("bwrap") or "bwrap")
