"""The child process that runs one submission: cells in order, then probes, as JSON lines.

The batch grader starts this module (``python -I -B``, with the batch's
private copy of the library first on ``sys.path``, usually inside a sandbox)
in an empty temporary folder with a scrubbed environment. This module:

1. reads a secret key and then its job (cells to run, answers to probe, the
   file descriptor to write to) from its standard input, closes that input
   and sets its own hard limits (address space, CPU time, file size, open
   files, processes: soft and hard alike, so they cannot be raised again),
   all before any learner code runs;
2. signs every line it writes with the key (HMAC-SHA256, numbered), so a
   *different* submission graded at the same time cannot slip lines into
   this one's results: it does not know this process's key;
3. runs each code cell like Jupyter's "Run All" would, except that it goes on
   after a cell raises, so one broken answer does not cost the others;
4. after each cell, probes the answers that changed, and at the end probes
   again those that raised errors before (a function may need a helper that
   a later cell defines); each observation is written and flushed at once,
   so what was observed before a crash survives it.

It writes only observations (what the answer returned), never scores: the
grader judges them in its own process with its own copy of the checks, so a
submission that patches this module, redefines ``check`` or writes fake lines
into the results file can at most report an answer, which is then judged like
any other.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import os
import resource
import signal
import sys
import types
from typing import Any

from labsupport.grading.jsonable import to_jsonable
from labsupport.grading.probes import observe

__all__ = ["main", "ProbeTimeout"]

_dumps = json.dumps
_write_pipe = None


class ProbeTimeout(BaseException):
    """A probe ran out of its time budget (a learner function that never returns)."""


def _set_limits(memory_mb: int, cpu_seconds: int, file_mb: int, open_files: int = 0,
                processes: int = 0) -> None:
    """Set each limit as both soft and hard limit: learner code cannot raise a hard limit."""
    limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_CPU, cpu_seconds),
              (resource.RLIMIT_FSIZE, file_mb * 2**20)]
    if memory_mb:
        limits.append((resource.RLIMIT_AS, memory_mb * 2**20))
    if open_files:
        limits.append((resource.RLIMIT_NOFILE, open_files))
    if processes and hasattr(resource, "RLIMIT_NPROC"):
        limits.append((resource.RLIMIT_NPROC, processes))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            pass
    # A file that grows too big fails the write (OSError) instead of killing us.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class _Results:
    """Append-only, numbered, signed JSON lines, flushed after each one."""

    def __init__(self, fd: int, key: bytes) -> None:
        self._file = open(fd, "a", encoding="utf-8", closefd=True)  # noqa: SIM115 - kept open
        self._key = key
        self._seq = 0

    def write(self, record: dict[str, Any]) -> None:
        self._seq += 1
        try:
            payload = _dumps({"seq": self._seq, **record})
            sig = hmac.new(self._key, payload.encode("utf-8"), hashlib.sha256).hexdigest()
            self._file.write(f"{sig} {payload}\n")
            self._file.flush()
        except (OSError, ValueError, TypeError, OverflowError):
            pass


def _display(*objs: Any, **_: Any) -> None:
    """Stand-in for IPython's ``display``: print a short text form."""
    for obj in objs:
        text = repr(obj)
        print(text[:2000])


def _alarm(signum: int, frame: Any) -> None:
    raise ProbeTimeout()


def _probe(question: dict[str, Any], value: Any, budget: float) -> dict[str, Any]:
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        return {"obs": observe(question["probe"], value, question["inputs"],
                               question.get("library", ()))}
    except ProbeTimeout:
        return {"failed": f"{question['answer']} did not return within {budget:g} s when "
                          "the grader tried it (an endless loop?)"}
    except MemoryError:
        return {"failed": f"{question['answer']} ran out of memory when the grader tried it"}
    except BaseException as exc:  # noqa: BLE001 - sys.exit() inside an answer, etc.
        return {"failed": f"{question['answer']} stopped the grader's probe with "
                          f"{type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _fingerprint(value: Any) -> Any:
    if callable(value) or isinstance(value, type):
        return ("id", id(value))
    try:
        return ("json", _dumps(to_jsonable(value), sort_keys=True))
    except Exception:  # noqa: BLE001
        return ("id", id(value))


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, SyntaxError):  # not "(<cell 15>, line 2)": learners see no cell numbers
        text = f"{exc.msg} (line {exc.lineno})" if exc.lineno else str(exc.msg)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _run_cell(code: str, index: int, ns: dict[str, Any]) -> BaseException | None:
    import ast

    try:
        compiled = compile(code, f"<cell {index}>", "exec",
                           flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return exc
    try:
        result = eval(compiled, ns)  # noqa: S307 - running the submission is the point
        if compiled.co_flags & 0x80 and result is not None:  # CO_COROUTINE: top-level await
            import asyncio

            asyncio.run(result)
    except BaseException as exc:  # noqa: BLE001 - anything a cell raises is recorded
        return exc
    return None


def _copy_submission(source: str, target: str) -> str | None:
    """Copy the submission's files into the (in-memory, bounded) working folder.

    Returns:
        None, or what went wrong (e.g. the files do not fit).
    """
    import shutil

    try:
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    except (OSError, shutil.Error) as exc:
        full = "No space left" in str(exc)
        return ("the submission's files do not fit in the working folder; "
                "some were left out" if full else f"copying the submission's files: {exc}")
    return None


def main() -> int:
    """Run the job read from standard input; see the module docstring."""
    key = bytes.fromhex(sys.stdin.buffer.readline().decode("ascii").strip())
    job = json.loads(sys.stdin.buffer.readline())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # input() in a notebook gets end-of-file
    os.close(devnull)
    _set_limits(job.get("memory_mb", 0), job.get("cpu_seconds", 600), job.get("file_mb", 64),
                job.get("open_files", 0), job.get("processes", 0))
    if "results_path" in job:  # a container: no descriptor crosses the runtime's client
        job["results_fd"] = os.open(job["results_path"], os.O_WRONLY | os.O_APPEND)
    out = _Results(job["results_fd"], key)
    out.write({"event": "start"})
    if "copy_from" in job:
        problem = _copy_submission(job["copy_from"], os.getcwd())
        if problem:
            out.write({"event": "error", "index": None, "error": problem})
    questions = job["questions"]
    budget = float(job.get("probe_seconds", 20))
    main_module = types.ModuleType("__main__")
    main_module.__dict__.update({"__builtins__": builtins, "display": _display})
    sys.modules["__main__"] = main_module
    ns = main_module.__dict__
    sys.argv = ["notebook.ipynb"]
    sys.path.append(os.getcwd())
    seen: dict[str, Any] = {}
    troubled: set[str] = set()

    def probe_all(cell: int | None, final: bool) -> None:
        for q in questions:
            name = q["answer"]
            if name not in ns:
                continue
            value = ns[name]
            mark = _fingerprint(value)
            # At the end, try again what failed earlier: a function may have
            # needed a helper that a later cell defines.
            # Keyed by check: several checks may grade the same answer (one manifest).
            if seen.get(q["check"]) == mark and not (final and q["check"] in troubled):
                continue
            seen[q["check"]] = mark
            record = _probe(q, value, budget)
            bad = "failed" in record or any("error" in o for o in record.get("obs", ()))
            (troubled.add if bad else troubled.discard)(q["check"])
            record.update({"event": "probe", "check": q["check"], "cell": cell})
            out.write(record)

    for cell in job["cells"]:
        index = cell["index"]
        out.write({"event": "cell", "index": index})
        try:
            exc = _run_cell(cell["source"], index, ns)
        except BaseException as late:  # noqa: BLE001 - e.g. KeyboardInterrupt between steps
            exc = late
        if exc is not None:
            kind = ("memory" if isinstance(exc, MemoryError)
                    else "exit" if isinstance(exc, SystemExit) else "error")
            out.write({"event": kind, "index": index, "error": _error_text(exc)})
            del exc
        try:
            probe_all(index, final=False)
        except BaseException:  # noqa: BLE001, S110 - keep going whatever a probe did
            pass
    try:
        probe_all(None, final=True)
    except BaseException:  # noqa: BLE001, S110
        pass
    out.write({"event": "done"})
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
