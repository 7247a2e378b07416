"""Run one submission's code in a child process with limits, and collect what it left.

:func:`run_in_child` starts :mod:`labsupport.grading.runner` with

- a temporary working folder (an empty one, plus the files that came with the
  submission) and no path to the course's ``solutions/`` anywhere;
- a scrubbed environment (no inherited variables: no tokens, no proxies, no
  ``PYTHONPATH``) and ``python -I``;
- a wall-clock limit (the whole process group is killed when it runs out),
  and memory, CPU and file-size limits that the runner sets on itself before
  any submitted code runs;
- its output drained into a bounded buffer, so a submission that prints
  without end costs nothing but its own time.

What comes back is a :class:`ChildRun`: the JSON lines the runner wrote
(whatever it managed to write before it ended, however it ended, and only
those signed with the key this child got on its standard input), how it
ended, its peak memory and the head of its output.

All submissions run as the grader's own user, so this is damage control, not
a wall: a hostile submission cannot raise its own score or slip results into
another's, but it can read files the grader's user can read and disturb
other processes of that user. For real isolation run the grader in a
container or as a dedicated user.
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

__all__ = ["Limits", "ChildRun", "run_in_child", "scrubbed_env"]

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
    """

    timeout: float = 60.0
    memory_mb: int = 1024
    output_kb: int = 64
    file_mb: int = 64
    probe_seconds: float = 20.0


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


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_BOOT = ("import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); "
         "runpy.run_module('labsupport.grading.runner', run_name='__main__', alter_sys=True)")


def child_command(job: Path, library: Path | None) -> list[str]:
    """How the child starts: isolated mode, no bytecode writes, maybe a private library."""
    if library is None:
        return [sys.executable, "-I", "-B", "-m", "labsupport.grading.runner", str(job)]
    return [sys.executable, "-I", "-B", "-c", _BOOT, str(library), str(job)]


def run_in_child(cells: list[dict[str, Any]], questions: list[dict[str, Any]],
                 limits: Limits, *, extras: Path | None = None,
                 notebook: Path | None = None,
                 library: Path | None = None) -> tuple[ChildRun, list[str]]:
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

    Returns:
        the :class:`ChildRun` and notes about files not copied.
    """
    tmp = Path(tempfile.mkdtemp(prefix="labsupport-grade-"))
    notes: list[str] = []
    try:
        work = tmp / "work"
        scratch = tmp / "tmp"
        work.mkdir()
        scratch.mkdir()
        if extras is not None:
            notes = _copy_extras(extras, work, notebook)
        results = tmp / "results.jsonl"
        job = tmp / "job.json"
        job.write_text(json.dumps({
            "cells": cells, "questions": questions, "results": str(results),
            "memory_mb": limits.memory_mb, "file_mb": limits.file_mb,
            "cpu_seconds": int(limits.timeout) + 5, "probe_seconds": limits.probe_seconds,
        }), encoding="utf-8")
        key = secrets.token_bytes(32)
        run = _supervise(child_command(job, library), cwd=work,
                         env=scrubbed_env(str(work), str(scratch)), limits=limits, key=key)
        run.records, run.bad_lines = _read_records(results, key)
        return run, notes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _supervise(cmd: list[str], *, cwd: Path, env: dict[str, str], limits: Limits,
               key: bytes) -> ChildRun:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True)
    # The key travels through a pipe only this child holds: not in argv or the
    # environment (other processes can read those), not in a file.
    try:
        proc.stdin.write(key.hex().encode("ascii") + b"\n")
        proc.stdin.close()
    except OSError:
        pass
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
