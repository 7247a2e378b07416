"""Run one submission's code in a child process with limits, and collect what it left.

:func:`run_in_child` starts :mod:`labsupport.grading.runner` with

- a sandbox around it (:mod:`labsupport.grading.sandboxes`): with bubblewrap,
  its own user, PID, mount and network namespaces and a filesystem holding
  only the system, Python, the library copy and its own folders; without
  one (``--no-sandbox``), the grader's own user and files;
- a temporary working folder (an empty one, plus the files that came with the
  submission) and no path to the course's ``solutions/`` anywhere; in a
  sandbox it is an in-memory folder of ``Limits.work_mb`` into which the
  child first copies the submission's files from a read-only view, so
  nothing it writes reaches the grader's disk;
- a scrubbed environment (no inherited variables: no tokens, no proxies, no
  ``PYTHONPATH``) and ``python -I``;
- a wall-clock limit (the whole process group, and with it the sandbox, is
  killed when it runs out), and hard limits on memory, CPU, file size, open
  files and processes that the runner sets on itself before any submitted
  code runs, so the submission cannot raise them again; the kernel does not
  apply the process limit to uid 0, so when the grader runs as root each
  sandbox gets its own ``pids`` cgroup instead (:class:`ProcessGroup`), which
  also tells whether the submission ran into it, and a memory cgroup that
  bounds all its processes and in-memory files together
  (``Limits.sandbox_memory_mb``), where the per-process address-space limit
  alone would let many processes add up;
- its output drained into a bounded buffer, so a submission that prints
  without end costs nothing but its own time.

The job (cells, questions, hidden inputs) and a fresh signing key reach the
child on its standard input, which nothing else can read; results come back
signed through a file descriptor the child inherits, never through a path.

What comes back is a :class:`ChildRun`: the JSON lines the runner wrote
(whatever it managed to write before it ended, however it ended, and only
those signed with the key this child got), how it ended, its peak memory
and the head of its output.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from labsupport.grading.sandboxes import Layout, NoSandbox, Sandbox

__all__ = ["Limits", "ChildRun", "ProcessGroup", "run_in_child", "scrubbed_env",
           "NO_PROCESS_LIMIT_NOTE", "NO_MEMORY_LIMIT_NOTE"]

_RESULTS_CAP = 80 * 2**20
_EXTRA_FILE_CAP = 10 * 2**20
_EXTRA_TOTAL_CAP = 50 * 2**20


@dataclass(frozen=True)
class Limits:
    """Limits for one submission.

    Attributes:
        timeout: wall-clock seconds for the whole notebook.
        memory_mb: address-space limit in MiB (0: none).
        output_kb: how much of the printed output to keep.
        file_mb: largest file the submission may write.
        probe_seconds: time budget of each probe of an answer.
        open_files: most files open at once.
        processes: most processes and threads (enforced in a sandbox only: without
            one the count would include every process of the grader's user).
        tmp_mb: size of the private ``/tmp`` in a sandbox.
        work_mb: size of the working folder in a sandbox (a copy of the
            submission in memory: new files there cannot fill the grader's disk).
    """

    timeout: float = 60.0
    memory_mb: int = 1024
    output_kb: int = 64
    file_mb: int = 64
    probe_seconds: float = 20.0
    open_files: int = 256
    processes: int = 64
    tmp_mb: int = 64
    work_mb: int = 128

    @property
    def sandbox_memory_mb(self) -> int:
        """All the memory one sandbox may hold: its processes, ``/tmp`` and working folder.

        ``memory_mb`` bounds each process's address space; a cgroup bounds the
        sum, so that many processes, or many small files in the in-memory
        folders, cannot use more than this together.
        """
        return self.memory_mb + self.tmp_mb + self.work_mb if self.memory_mb else 0


@dataclass
class ChildRun:
    """How one child process went.

    Attributes:
        records: the runner's JSON lines, parsed, in order.
        exit_code: the exit status, or None when a signal ended it.
        signal: the signal that ended it, or None.
        timed_out: whether the grader killed it for running too long.
        max_rss_mb: its peak resident memory.
        output: the head of what it printed (stdout and stderr together).
        output_bytes: how much it printed in all.
        seconds: wall-clock time.
        bad_lines: result lines that were not valid JSON records.
        process_limit_hit: whether the sandbox refused it a process (a fork bomb).
        memory_limit_hit: whether its processes and files together reached the
            sandbox's memory limit (the kernel then killed one of them).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    max_rss_mb: float = 0.0
    output: str = ""
    output_bytes: int = 0
    seconds: float = 0.0
    bad_lines: int = 0
    process_limit_hit: bool = False
    memory_limit_hit: bool = False


def scrubbed_env(home: str, tmp: str) -> dict[str, str]:
    """The only environment a submission sees."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": tmp,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LABSUPPORT_GRADER": "1",
    }


def _copy_extras(source: Path, target: Path, skip: Path | None) -> list[str]:
    """Copy a submission folder's other files (bounded), so relative paths still work."""
    notes: list[str] = []
    total = 0
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if skip is not None and path == skip:
            continue
        if any(part.startswith(".") for part in rel.parts) or path.is_symlink():
            continue
        if path.is_dir():
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size > _EXTRA_FILE_CAP or total + size > _EXTRA_TOTAL_CAP:
            notes.append(f"{rel} was not copied for grading (too big)")
            continue
        total += size
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return notes


def _drain(stream: IO[bytes], keep: int, sink: dict[str, Any]) -> None:
    head = bytearray()
    total = 0
    fd = stream.fileno()
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total += len(chunk)
            if len(head) < keep:
                head.extend(chunk[:keep - len(head)])
    except (OSError, ValueError):
        pass
    sink["head"] = bytes(head)
    sink["total"] = total


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (OSError, ValueError):
        pass


def _read_records(path: Path, key: bytes) -> tuple[list[dict[str, Any]], int]:
    """The runner's lines whose signature checks out, in their numbered order.

    Lines that are not signed with this child's key (written by anything
    else), or that repeat or go back in the numbering, are counted as bad.
    """
    records: list[dict[str, Any]] = []
    bad = 0
    last = 0
    try:
        with open(path, "rb") as fh:
            data = fh.read(_RESULTS_CAP)
    except OSError:
        return records, bad
    for line in data.split(b"\n"):
        if not line:
            continue
        sig, _, payload = line.partition(b" ")
        good = hmac.new(key, payload, hashlib.sha256).hexdigest().encode("ascii")
        if len(sig) != 64 or not hmac.compare_digest(sig, good):
            bad += 1
            continue
        try:
            item = json.loads(payload)
        except (ValueError, RecursionError):
            bad += 1
            continue
        if not (isinstance(item, dict) and isinstance(item.get("event"), str)
                and isinstance(item.get("seq"), int) and item["seq"] > last):
            bad += 1
            continue
        last = item["seq"]
        records.append(item)
    return records, bad


class ProcessGroup:
    """The cgroups of one child: the limits that bind root and every process together.

    ``RLIMIT_NPROC`` counts processes per real user and does not apply to uid
    0, and ``RLIMIT_AS`` bounds each process alone. So when the grader runs as
    root it puts each sandbox in fresh cgroups: ``pids.max`` for the number of
    processes, and, when asked, a memory limit for all its processes and the
    files of its in-memory folders together (cgroup v1 ``pids`` and
    ``memory`` controllers, or v2 where they are delegated). :meth:`create`
    returns None where no ``pids`` cgroup can be made; a memory cgroup that
    cannot be made is left out (:attr:`memory` is then None).

    Attributes:
        path: the ``pids`` cgroup's folder.
        memory: the memory cgroup's folder (the same folder on cgroup v2), or None.
    """

    def __init__(self, path: Path, memory: Path | None = None) -> None:
        self.path = path
        self.memory = memory
        self._procs = [str(p / "cgroup.procs").encode()
                       for p in dict.fromkeys(x for x in (path, memory) if x is not None)]

    @classmethod
    def create(cls, name: str, limit: int, mount: Path = Path("/sys/fs/cgroup"),
               proc_cgroup: Path = Path("/proc/self/cgroup"),
               memory_mb: int = 0) -> ProcessGroup | None:
        """New cgroups ``name`` next to the grader's own: ``limit`` processes, ``memory_mb``."""
        try:
            lines = proc_cgroup.read_text().splitlines()
        except OSError:
            return None
        pids_bases, memory_bases, unified = [], [], set()
        for line in lines:
            _, controllers, where = line.split(":", 2)
            names = controllers.split(",")
            if "pids" in names:
                pids_bases.append(mount / "pids" / where.lstrip("/"))
            if "memory" in names:
                memory_bases.append(mount / "memory" / where.lstrip("/"))
            if controllers == "":  # cgroup v2: one folder, every controller
                pids_bases.append(mount / where.lstrip("/"))
                unified.add(mount / where.lstrip("/"))
        path = _new_cgroup(pids_bases, name, [("pids.max", str(limit))])
        if path is None:
            return None
        memory = None
        if memory_mb:
            size = str(memory_mb * 2**20)
            if path.parent in unified:
                try:
                    (path / "memory.max").write_text(size)
                    (path / "memory.swap.max").write_text("0")
                    memory = path
                except OSError:
                    memory = None
            else:
                memory = _new_cgroup(memory_bases, name, [("memory.limit_in_bytes", size)])
        return cls(path, memory)

    def enter(self) -> None:
        """Move the calling process into the cgroups (run in the child before it execs)."""
        for procs in self._procs:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def limit_hit(self) -> bool:
        """Whether a fork or clone failed because of the process limit."""
        return _counter(self.path / "pids.events", "max") > 0

    def memory_hit(self) -> bool:
        """Whether the kernel killed a process for the memory limit (the OOM killer).

        Reaching the limit alone is no fault: the kernel first reclaims the
        page cache. Only ``oom_kill`` (v2 ``memory.events``, v1
        ``memory.oom_control``) says something had to die.
        """
        if self.memory is None:
            return False
        events = self.memory / "memory.events"
        return _counter(events if events.exists() else self.memory / "memory.oom_control",
                        "oom_kill") > 0

    def remove(self) -> None:
        """Kill whatever is left in the cgroups, then remove them."""
        for path in dict.fromkeys(x for x in (self.path, self.memory) if x is not None):
            _empty_and_remove(path)


def _new_cgroup(bases: list[Path], name: str, settings: list[tuple[str, str]]) -> Path | None:
    for base in bases:
        path = base / name
        try:
            path.mkdir()
        except OSError:
            continue
        try:
            for file, value in settings:
                (path / file).write_text(value)
            return path
        except OSError:
            path.rmdir()
    return None


def _counter(path: Path, key: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    counts = dict(line.split(None, 1) for line in text.splitlines() if " " in line)
    try:
        return int(counts.get(key, "0").strip())
    except ValueError:
        return 0


def _empty_and_remove(path: Path) -> None:
    for _ in range(50):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.05)


#: Why memory is limited per process only, when no memory cgroup can be made.
NO_MEMORY_LIMIT_NOTE = ("memory was limited per process only (no memory cgroup could be made "
                        "here, so several processes together were not limited)")

#: Why processes are not limited, when the grader runs as root and no cgroup can be made.
NO_PROCESS_LIMIT_NOTE = ("the number of processes was not limited (the grader runs as root "
                         "and cannot create a pids cgroup here)")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_BOOT = ("import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); "
         "runpy.run_module('labsupport.grading.runner', run_name='__main__', alter_sys=True)")


def child_command(library: Path | None, python: str | None = None) -> list[str]:
    """How the child starts: isolated mode, no bytecode writes, maybe a private library."""
    python = python or sys.executable
    if library is None:
        return [python, "-I", "-B", "-m", "labsupport.grading.runner"]
    return [python, "-I", "-B", "-c", _BOOT, str(library)]


def run_in_child(cells: list[dict[str, Any]], questions: list[dict[str, Any]],
                 limits: Limits, *, extras: Path | None = None,
                 notebook: Path | None = None,
                 library: Path | None = None,
                 sandbox: Sandbox | None = None) -> tuple[ChildRun, list[str]]:
    """Run cells in a fresh child process and return what happened.

    Args:
        cells: ``{"index": n, "source": python}`` for each code cell, in order.
        questions: ``{"check", "answer", "probe", "inputs"}`` for each check.
        limits: the limits.
        extras: a submission folder whose other files are copied next to the
            notebook's working folder.
        notebook: the notebook inside ``extras`` (not copied).
        library: a private copy of ``labsupport`` to import instead of the
            installed one (see :mod:`labsupport.grading.guard`).
        sandbox: where the child runs; None runs it without one.

    Returns:
        the :class:`ChildRun` and notes about files not copied.
    """
    sandbox = sandbox or NoSandbox()
    tmp = Path(tempfile.mkdtemp(prefix="labsupport-grade-"))
    notes: list[str] = []
    cgroup = None
    try:
        if sandbox.isolated and sandbox.needs_process_cgroup():
            cgroup = ProcessGroup.create(tmp.name, limits.processes,
                                         memory_mb=limits.sandbox_memory_mb)
            if cgroup is None:
                notes.append(NO_PROCESS_LIMIT_NOTE)
            elif limits.sandbox_memory_mb and cgroup.memory is None:
                notes.append(NO_MEMORY_LIMIT_NOTE)
        results = tmp / "results.jsonl"
        host = Layout(tmp / "work", tmp / "tmp", library,
                      None if sandbox.passes_fds else results, tmp.name)
        host.work.mkdir()
        host.scratch.mkdir()
        if extras is not None:
            notes += _copy_extras(extras, host.work, notebook)
        seen = sandbox.inside(host)
        fd = os.open(results, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        if not sandbox.passes_fds:
            # A container's uid 65534 writes them through a mount: the file and the
            # working folder must let it (the private temp folder keeps others out).
            for path in [results, *host.work.rglob("*"), host.work]:
                path.chmod(0o777 if path.is_dir() else 0o666)
        try:
            where = ({"results_fd": fd} if sandbox.passes_fds
                     else {"results_path": str(seen.results)})
            job = {"cells": cells, "questions": questions, **where,
                   "memory_mb": limits.memory_mb, "file_mb": limits.file_mb,
                   "cpu_seconds": int(limits.timeout) + 5, "probe_seconds": limits.probe_seconds,
                   "open_files": limits.open_files,
                   "processes": limits.processes if sandbox.isolated else 0}
            if seen.submission is not None:
                job["copy_from"] = str(seen.submission)
            key = secrets.token_bytes(32)
            env = scrubbed_env(str(seen.work), str(seen.scratch))
            cmd = sandbox.wrap(child_command(seen.library, sandbox.python), host,
                               tmp_mb=limits.tmp_mb, env=env,
                               memory_mb=limits.sandbox_memory_mb,
                               processes=limits.processes, work_mb=limits.work_mb)
            feed = key.hex().encode("ascii") + b"\n" + json.dumps(job).encode("utf-8") + b"\n"
            run = _supervise(cmd, cwd=host.work, env=sandbox.host_env(env), limits=limits,
                             stdin=feed, keep_fd=fd, cgroup=cgroup)
        finally:
            os.close(fd)
            sandbox.stop(host)
        run.process_limit_hit = cgroup is not None and cgroup.limit_hit()
        run.memory_limit_hit = cgroup is not None and cgroup.memory_hit()
        run.exit_code, run.signal = sandbox.exit_status(run.exit_code, run.signal)
        run.records, run.bad_lines = _read_records(results, key)
        return run, notes
    finally:
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(tmp, ignore_errors=True)


def _supervise(cmd: list[str], *, cwd: Path, env: dict[str, str], limits: Limits,
               stdin: bytes, keep_fd: int, cgroup: ProcessGroup | None = None) -> ChildRun:
    start = time.monotonic()
    # Into its cgroup before it execs the sandbox, so every process it starts is counted.
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True, pass_fds=(keep_fd,),
                            preexec_fn=cgroup.enter if cgroup is not None else None)
    # The key and the job travel through a pipe only this child holds: not in
    # argv or the environment (other processes can read those), not in a file.
    threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
    sink: dict[str, Any] = {}
    drainer = threading.Thread(target=_drain, args=(proc.stdout, limits.output_kb * 1024, sink),
                               daemon=True)
    drainer.start()
    exited = threading.Event()

    def _wait() -> None:
        try:
            if hasattr(os, "waitid"):
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            else:  # macOS: no waitid; the group may then outlive its leader
                os.waitpid(proc.pid, 0)
        except ChildProcessError:
            pass
        exited.set()

    threading.Thread(target=_wait, daemon=True).start()
    run = ChildRun()
    if not exited.wait(limits.timeout):
        run.timed_out = True
        _kill_group(proc.pid)
        exited.wait()
    # The leader is a zombie now, so its group id is still ours: end any
    # processes the submission started, then reap the leader.
    _kill_group(proc.pid)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # already reaped (the macOS path above)
        status, usage = 0, None
    proc.returncode = os.waitstatus_to_exitcode(status)
    drainer.join(timeout=2)
    if proc.stdout is not None and not drainer.is_alive():
        proc.stdout.close()
    run.seconds = time.monotonic() - start
    if os.WIFSIGNALED(status):
        run.signal = os.WTERMSIG(status)
    else:
        run.exit_code = os.WEXITSTATUS(status)
    run.max_rss_mb = (usage.ru_maxrss / 1024.0) if usage is not None else 0.0
    run.output = sink.get("head", b"").decode("utf-8", errors="replace")
    run.output_bytes = sink.get("total", 0)
    return run
