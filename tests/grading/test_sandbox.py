"""The batch grader in bubblewrap: hostile submissions against a sandboxed batch.

Each hostile submission keeps the untouched answers (so any point is a false
pass) and prints what its attack reached; the batch runs through the command
line as an instructor runs it. Tests that need bubblewrap are skipped, with the
reason, where it cannot create a sandbox.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import labsupport
from labsupport.grading import __main__ as cli
from labsupport.grading import sandboxes
from labsupport.grading.batch import grade_folder
from labsupport.grading.gradebook import write_feedback, write_gradebook
from labsupport.grading.sandbox import Limits
from labsupport.grading.sandboxes import NO_SANDBOX_NOTE, SandboxUnavailable

from .helpers import code, reference, solution_paths, untouched, with_cell_first, write

SPEEDUP = [p for p in solution_paths() if p.name == "ex02_speedup.ipynb"][0]
LIMITS = Limits(timeout=30, memory_mb=600, probe_seconds=4)
PROBLEM = sandboxes.bubblewrap_problem()
needs_bwrap = pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox: {PROBLEM}")
LIBRARY = Path(labsupport.__file__).resolve().parent
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
MARK = "daemon-31337"

ATTACKS = {
    "reads-stdin": """
import os, re
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
leaks = []
for pid in pids:
    if pid == os.getpid():
        continue
    for what in ('fd/0', 'environ', 'cmdline'):
        try:
            fd = os.open(f'/proc/{pid}/{what}', os.O_RDONLY | os.O_NONBLOCK)
            data = os.read(fd, 1 << 16)
            os.close(fd)
        except OSError:
            continue
        if re.search(rb'[0-9a-f]{64}|ex02\\.q', data):
            leaks.append(f'{pid}/{what}')
print('PIDS:', pids)
print('LEAK:', leaks)
""",
    "kills-everyone": """
import os, signal
me, hit = os.getpid(), []
for pid in range(1, 40000):
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        if pid != me:
            try:
                os.kill(pid, sig)
                hit.append(pid)
            except OSError:
                pass
print('KILLED:', sorted(set(hit)))
os.kill(-1, signal.SIGKILL)
""",
    "daemon": """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv('/bin/sh', ['sh', '-c', 'while :; do echo HACKED > "$1"; sleep 0.2; done',
                             'MARK', 'GRADES'])
    os._exit(0)
time.sleep(1)
""",
    "plants-pth": """
import pathlib, site, sys
import labsupport.grading.probes as probes
wrote = []
targets = [pathlib.Path(p) / 'zz_evil.pth' for p in site.getsitepackages()]
targets += [pathlib.Path(probes.__file__), pathlib.Path('LIBRARY') / 'grading' / 'probes.py',
            pathlib.Path('LIBRARY') / 'evil.py']
for t in targets:
    try:
        with open(t, 'a') as fh:
            fh.write('\\nimport os\\n')
        wrote.append(str(t))
    except OSError:
        pass
print('WROTE:', wrote)
""",
    "walks-for-solutions": """
import os, sys
found = []
for root, dirs, files in os.walk('/'):
    if root.startswith('/proc'):
        dirs[:] = []
        continue
    for name in files:
        if name.startswith('ex02_speedup') and not root.startswith(os.getcwd()):
            found.append(os.path.join(root, name))
ppid = os.getppid()
for guess in ['REPO/solutions', sys.prefix + '/../solutions', f'/proc/{ppid}/cwd/solutions',
              '/proc/1/root/REPO/solutions', f'/proc/{ppid}/cwd/../solutions']:
    if os.path.exists(guess) and os.listdir(guess):
        found.append(guess)
print('FOUND:', found)
""",
    "reads-grader-memory": """
import os
got = []
for pid in sorted({int(p) for p in os.listdir('/proc') if p.isdigit()} - {os.getpid()}):
    try:
        maps = open(f'/proc/{pid}/maps').read().splitlines()
        mem = open(f'/proc/{pid}/mem', 'rb', buffering=0)
    except OSError:
        continue
    for line in maps:
        lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
        try:
            mem.seek(lo)
            data = mem.read(min(hi - lo, 1 << 22))
        except (OSError, ValueError, OverflowError):
            continue
        if data and (b'ex02.q' in data or b'labsupport.grading.batch' in data):
            got.append(pid)
print('GRADER-MEMORY:', sorted(set(got)), 'PARENT:', os.getppid())
""",
    "raises-limits": """
import resource
raised, seen = [], {}
for name in ('RLIMIT_CPU', 'RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC'):
    which = getattr(resource, name)
    seen[name] = resource.getrlimit(which)
    try:
        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        raised.append(name)
    except (ValueError, OSError):
        pass
print('LIMITS:', seen)
print('RAISED:', raised)
""",
    "writes-outside": """
import os, sys
wrote = []
for path in ['/evil', '/usr/evil', '/etc/evil', '/home/evil', '/dev/evil', '/dev/shm/evil',
             '/grader/lib/evil', sys.prefix + '/evil', 'REPO/evil', '/proc/evil']:
    try:
        with open(path, 'w') as fh:
            fh.write('x')
        wrote.append(path)
    except OSError:
        pass
total = 0
for i in range(20):
    try:
        with open(f'/tmp/fill{i}', 'wb') as fh:
            for _ in range(64):
                fh.write(b'x' * 2**20)
                total += 1
    except OSError:
        pass
print('WROTE:', wrote, 'TMP-MB:', total)
""",
    "writes-to-console": """
import os
for target in [f'/proc/{os.getppid()}/fd/2', '/proc/1/fd/2', '/dev/tty', '/dev/console']:
    try:
        with open(target, 'w') as fh:
            fh.write('\\n[99/99] FAKE-PROGRESS victim: ok, 10/10 points\\n')
    except OSError:
        pass
""",
}
INNOCENT = ("reference", "untouched", "zoe-reference")


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _innocents(root: Path) -> None:
    write(root / "reference.ipynb", reference(SPEEDUP))
    write(root / "untouched.ipynb", untouched(SPEEDUP))
    write(root / "zoe-reference.ipynb", reference(SPEEDUP))


def _grade_cli(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labsupport.grading", "grade", str(root), "--out",
         str(out / "grades.csv"), "--feedback", str(out / "feedback"), "--jobs", "2",
         "--timeout", "30", "--memory", "600", *extra],
        capture_output=True, text=True, cwd=out, timeout=600, check=False)


def _rows(book: Path) -> dict[str, dict[str, str]]:
    with open(book, newline="", encoding="utf-8") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("out")
    grades = out / "grades.csv"
    _innocents(root)
    blank = untouched(SPEEDUP)
    for name, source in ATTACKS.items():
        source = (source.replace("GRADES", str(grades)).replace("MARK", MARK)
                  .replace("LIBRARY", str(LIBRARY)).replace("REPO", str(LIBRARY.parent)))
        write(root / f"{name}.ipynb", with_cell_first(blank, code(source)))
    before = {"library": _tree_hash(LIBRARY), "site": _tree_hash(SITE)}
    done = _grade_cli(root, out, "--sandbox", "bwrap")
    assert done.returncode == 0, done.stderr
    written = grades.read_bytes()
    time.sleep(2)   # a surviving daemon would rewrite the gradebook by now
    alone = tmp_path_factory.mktemp("alone")
    alone_out = tmp_path_factory.mktemp("alone-out")
    _innocents(alone)
    assert _grade_cli(alone, alone_out).returncode == 0
    return {"rows": _rows(grades), "stderr": done.stderr, "written": written,
            "grades": grades, "before": before, "alone": _rows(alone_out / "grades.csv"),
            "after": {"library": _tree_hash(LIBRARY), "site": _tree_hash(SITE)}}


def _said(hostile, student: str, label: str) -> str:
    row = hostile["rows"][student]
    feedback = (hostile["grades"].parent / "feedback" / f"{student}.md").read_text()
    lines = [ln for ln in feedback.splitlines() if ln.startswith(label)]
    assert lines, (student, row["status"], row["message"], feedback[-1500:])
    return lines[0][len(label):].strip()


@needs_bwrap
def test_the_reference_scores_full_marks_and_the_exercise_zero(hostile):
    rows = hostile["rows"]
    assert rows["reference"]["status"] == "ok" and rows["reference"]["total"] == "10"
    assert rows["zoe-reference"]["total"] == "10"
    assert rows["untouched"]["status"] == "ok" and rows["untouched"]["total"] == "0"
    assert NO_SANDBOX_NOTE not in rows["reference"]["message"]


@needs_bwrap
def test_hostile_submissions_change_no_other_row_and_gain_nothing(hostile):
    for student in INNOCENT:
        assert hostile["rows"][student] == hostile["alone"][student]
    for student in ATTACKS:
        assert hostile["rows"][student]["total"] == "0", hostile["rows"][student]


@needs_bwrap
def test_the_grader_files_are_unchanged(hostile):
    assert hostile["after"] == hostile["before"]
    assert _said(hostile, "plants-pth", "WROTE:") == "[]"
    assert "changed the grader's library" not in hostile["rows"]["plants-pth"]["message"]


@needs_bwrap
def test_no_one_reads_another_process_stdin_or_the_grader(hostile):
    assert _said(hostile, "reads-stdin", "LEAK:") == "[]"
    assert len(eval(_said(hostile, "reads-stdin", "PIDS:"))) <= 3   # its own init and itself
    assert _said(hostile, "reads-grader-memory", "GRADER-MEMORY:").startswith("[] PARENT: 1")


@needs_bwrap
def test_killing_everything_in_sight_reaches_only_the_own_sandbox(hostile):
    row = hostile["rows"]["kills-everyone"]
    assert row["status"] in {"ok", "crashed"}
    assert "[99/99]" not in hostile["stderr"]
    assert "[12/12]" in hostile["stderr"]   # the grader lived to report every submission


@needs_bwrap
def test_a_daemon_dies_with_its_sandbox(hostile):
    assert hostile["grades"].read_bytes() == hostile["written"]
    cmdlines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        except OSError:
            pass
    assert not [c for c in cmdlines if MARK.encode() in c]


@needs_bwrap
def test_no_solutions_no_raised_limits_no_writes_outside(hostile):
    assert _said(hostile, "walks-for-solutions", "FOUND:") == "[]"
    assert _said(hostile, "raises-limits", "RAISED:") == "[]"
    limits = eval(_said(hostile, "raises-limits", "LIMITS:"))
    assert all(soft == hard != -1 for soft, hard in limits.values()), limits
    wrote = _said(hostile, "writes-outside", "WROTE:")
    assert wrote.startswith("[] TMP-MB:") and int(wrote.split()[-1]) <= 64


@needs_bwrap
def test_fake_progress_lines_never_reach_the_instructor(hostile):
    assert "FAKE-PROGRESS" not in hostile["stderr"]
    assert hostile["rows"]["writes-to-console"]["total"] == "0"


@needs_bwrap
def test_jobs_and_order_do_not_change_the_gradebook(tmp_path, monkeypatch):
    from labsupport.grading import batch

    root = tmp_path / "subs"
    _innocents(root)
    blank = untouched(SPEEDUP)
    for name in ("kills-everyone", "plants-pth"):
        source = ATTACKS[name].replace("LIBRARY", str(LIBRARY))
        write(root / f"{name}.ipynb", with_cell_first(blank, code(source)))

    def book(name: str, jobs: int) -> list[list[str]]:
        graded = grade_folder(root, limits=LIMITS, jobs=jobs, sandbox="bwrap")
        with open(write_gradebook(graded, tmp_path / name), newline="",
                  encoding="utf-8") as fh:
            return sorted(csv.reader(fh))

    one, two = book("one.csv", 1), book("two.csv", 2)
    found = batch.discover
    monkeypatch.setattr(batch, "discover", lambda r: list(reversed(found(r))))
    assert one == two == book("reversed.csv", 2)


def test_without_bubblewrap_the_grader_refuses(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandboxes, "bubblewrap_problem", lambda *a: "bwrap is not installed")
    write(tmp_path / "subs" / "a.ipynb", reference(SPEEDUP))
    with pytest.raises(SandboxUnavailable, match="sudo apt-get install bubblewrap, or pass "
                                                 "--no-sandbox to grade without isolation"):
        grade_folder(tmp_path / "subs")
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "g.csv")]) == 1
    err = capsys.readouterr().err
    assert "bwrap is not installed" in err and "--no-sandbox" in err
    assert not (tmp_path / "g.csv").exists()


def test_no_sandbox_grades_and_says_so_in_every_row(tmp_path, monkeypatch):
    monkeypatch.setattr(sandboxes, "bubblewrap_problem", lambda *a: "bwrap is not installed")
    write(tmp_path / "subs" / "a.ipynb", reference(SPEEDUP))
    write(tmp_path / "subs" / "b.pdf", b"%PDF")
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "g.csv"),
                     "--no-sandbox", "--quiet"]) == 0
    rows = _rows(tmp_path / "g.csv")
    assert rows["a"]["total"] == "10"
    assert all(NO_SANDBOX_NOTE in r["message"] for r in rows.values())


def test_a_fifo_among_the_submissions_does_not_hang_the_batch(tmp_path):
    root = tmp_path / "subs"
    write(root / "ann.ipynb", reference(SPEEDUP))
    os.mkfifo(root / "pipe.ipynb")
    os.mkfifo(root / "gina.ipynb.tmp")
    (root / "hal").mkdir()
    os.mkfifo(root / "hal" / "ex02_speedup.ipynb")
    (root / "link.ipynb").symlink_to(root / "ann.ipynb")
    result: list = []
    worker = threading.Thread(target=lambda: result.extend(
        grade_folder(root, limits=LIMITS, sandbox="none")), daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the batch hangs on a FIFO"
    graded = {g.student: g for g in result}
    assert graded["ann"].score == 10
    assert graded["pipe"].status == "invalid" and "named pipe" in graded["pipe"].message
    assert graded["gina.ipynb"].status == "invalid"
    assert graded["hal"].status == "invalid" and "not a regular file" in graded["hal"].message
    assert graded["link"].status == "invalid" and "symbolic link" in graded["link"].message


def test_the_gradebook_and_feedback_never_follow_a_link(tmp_path):
    from labsupport.errors import GradingError
    from labsupport.grading.batch import Graded

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    graded = [Graded("alice", "alice.ipynb", "ex02", "ok", "ran to the end")]
    (tmp_path / "grades.csv").symlink_to(victim)
    with pytest.raises(GradingError, match="symbolic link"):
        write_gradebook(graded, tmp_path / "grades.csv")
    (tmp_path / "feedback").mkdir()
    (tmp_path / "feedback" / "alice.md").symlink_to(victim)
    with pytest.raises(GradingError, match="symbolic link"):
        write_feedback(graded, tmp_path / "feedback")
    assert victim.read_text() == "keep me"
    old = tmp_path / "old.csv"
    old.write_text("stale")
    write_gradebook(graded, old)
    assert old.read_text().startswith("student,file")
