"""What reaches the grader before any sandbox: names, hidden files, huge inputs, the
process limit as root, and the container backend's command lines (no daemon needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labsupport.grading import sandboxes
from labsupport.grading.batch import discover, grade_folder, skipped
from labsupport.grading.gradebook import write_feedback
from labsupport.grading.notebook import MAX_CELLS, MAX_CODE_LINES
from labsupport.grading.sandbox import Limits, ProcessGroup, run_in_child
from labsupport.grading.sandboxes import (
    Container,
    Layout,
    SandboxUnavailable,
    choose_sandbox,
)

from .helpers import code, reference, solution_paths, untouched, with_cell_first, write

SPEEDUP = [p for p in solution_paths() if p.name == "ex02_speedup.ipynb"][0]
PROBLEM = sandboxes.bubblewrap_problem()
needs_bwrap = pytest.mark.skipif(PROBLEM is not None, reason=f"no sandbox: {PROBLEM}")


def _notebook(cells: list[str]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [code(c) for c in cells]}


# --- one row per input, never a shared feedback file --------------------------------

def _colliding(root: Path) -> None:
    write(root / "alice" / "ex02_speedup.ipynb", b"not json")
    write(root / "alice.ipynb", b"not json")
    write(root / "alice..ipynb", b"not json")
    write(root / "ALICE.ipynb", b"not json")
    write(root / ".alice.ipynb", b"not json")
    write(root / "bob.ipynb", b"not json")
    write(root / ".DS_Store", b"\0\0")
    write(root / ".ipynb_checkpoints" / "bob-checkpoint.ipynb", b"{}")


def test_inputs_that_map_to_one_student_keep_their_own_rows_and_feedback(tmp_path):
    root = tmp_path / "subs"
    _colliding(root)
    graded = grade_folder(root, sandbox="none")
    assert sorted(g.file for g in graded) == sorted(
        [".DS_Store", ".alice.ipynb", "ALICE.ipynb", "alice", "alice..ipynb", "alice.ipynb",
         "bob.ipynb"])
    alices = [g for g in graded if g.file != "bob.ipynb" and g.file != ".DS_Store"]
    assert all(g.message.startswith("conflict: 5 submissions map to student") for g in alices)
    assert "conflict" not in next(g for g in graded if g.file == "bob.ipynb").message
    paths = write_feedback(graded, tmp_path / "feedback")
    assert len({p.name for p in paths}) == len(graded) == 7
    names = {g.file: p.name for g, p in zip(graded, paths, strict=True)}
    assert names == {".alice.ipynb": "alice.md", "ALICE.ipynb": "ALICE-2.md",
                     "alice": "alice-3.md", "alice..ipynb": "alice-4.md",
                     "alice.ipynb": "alice-5.md", "bob.ipynb": "bob.md", ".DS_Store": "DS_Store.md"}
    for g, path in zip(graded, paths, strict=True):
        assert g.file in path.read_text()          # each file holds its own submission
        if g in alices:
            assert f"{path.name}" in g.message     # and the row says where it went


def test_feedback_names_do_not_depend_on_the_order(tmp_path):
    from labsupport.grading.batch import _name_feedback

    root = tmp_path / "subs"
    _colliding(root)
    subs = discover(root)
    first = {s.path.name: s.feedback for s in subs}
    again = {s.path.name: s.feedback for s in _name_feedback(list(reversed(subs)))}
    assert first == again


def test_hidden_files_get_rows_and_tool_folders_are_listed(tmp_path):
    root = tmp_path / "subs"
    _colliding(root)
    names = [s.path.name for s in discover(root)]
    assert ".alice.ipynb" in names and ".DS_Store" in names
    assert ".ipynb_checkpoints" not in names
    assert skipped(root) == [".ipynb_checkpoints/: Jupyter's autosave folder, not a submission"]


# --- bounded work before any limit ----------------------------------------------------

def test_a_folder_of_many_files_is_refused_before_anything_is_copied(tmp_path):
    folder = tmp_path / "subs" / "mallory"
    write(folder / "ex02_speedup.ipynb", reference(SPEEDUP))
    for i in range(3000):
        (folder / f"f{i}").touch()
    [g] = grade_folder(tmp_path / "subs", sandbox="none")
    assert g.status == "invalid" and "more than 1000 files" in g.message


def test_a_folder_too_big_is_refused(tmp_path):
    folder = tmp_path / "subs" / "mallory"
    write(folder / "ex02_speedup.ipynb", reference(SPEEDUP))
    with open(folder / "data.bin", "wb") as fh:   # sparse: costs no disk
        fh.truncate(300 * 2**20)
    [g] = grade_folder(tmp_path / "subs", sandbox="none")
    assert g.status == "invalid" and "more than 200 MB" in g.message


@pytest.mark.parametrize("cells, said", [
    (["x = 1"] * (MAX_CELLS + 1), f"most {MAX_CELLS}"),
    (["x = 1\n" * (MAX_CODE_LINES + 1)], f"more than {MAX_CODE_LINES} lines"),
])
def test_a_notebook_too_long_to_read_is_invalid_at_once(tmp_path, cells, said):
    write(tmp_path / "subs" / "mallory.ipynb", _notebook(cells))
    [g] = grade_folder(tmp_path / "subs", sandbox="none", exercise_name="ex02")
    assert g.status == "invalid" and said in g.message


def test_a_20_mb_notebook_of_short_lines_costs_the_grader_little(tmp_path):
    lines = ["x = 1\n"] * 1_900_000
    write(tmp_path / "subs" / "mallory.ipynb", json.dumps(_notebook([])
                                                          | {"cells": [code(lines)]}))
    [g] = grade_folder(tmp_path / "subs", sandbox="none", exercise_name="ex02")
    assert g.status == "invalid"


# --- the process limit binds root too -------------------------------------------------

BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
FORKS = ("import os, time\nn = 0\nfor _ in range(300):\n    try:\n        if os.fork() == 0:\n"
         "            time.sleep(60)\n            os._exit(0)\n        n += 1\n"
         "    except OSError:\n        break\nprint('FORKED', n)")


@needs_bwrap
def test_a_fork_bomb_is_contained_and_blames_only_itself(tmp_path):
    root = tmp_path / "subs"
    write(root / "bomb.ipynb", with_cell_first(untouched(SPEEDUP), code(BOMB)))
    write(root / "forks.ipynb", with_cell_first(untouched(SPEEDUP), code(FORKS)))
    write(root / "zoe.ipynb", reference(SPEEDUP))
    limits = Limits(timeout=8, memory_mb=600, probe_seconds=4)
    graded = {g.student: g for g in grade_folder(root, limits=limits, jobs=2, sandbox="bwrap")}
    assert graded["zoe"].status == "ok" and graded["zoe"].score == 10
    assert "processes" not in graded["zoe"].message
    forked = int(graded["forks"].output.split("FORKED")[1].split()[0])
    assert forked < limits.processes
    assert graded["forks"].status == "ok"
    for student in ("bomb", "forks"):
        assert "more than 64 processes" in graded[student].message, graded[student].message
    assert graded["bomb"].status == "timeout"


def test_without_a_cgroup_root_says_processes_are_not_limited(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("0::/\n")
    mount = tmp_path / "no-such-mount"
    assert ProcessGroup.create("x", 64, mount=mount, proc_cgroup=proc) is None


def test_a_cgroup_counts_refused_forks(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("8:pids:/grader\n")
    (tmp_path / "pids" / "grader").mkdir(parents=True)
    group = ProcessGroup.create("child", 64, mount=tmp_path, proc_cgroup=proc)
    assert group is not None and (group.path / "pids.max").read_text() == "64"
    (group.path / "pids.events").write_text("max 0\n")
    assert not group.limit_hit()
    (group.path / "pids.events").write_text("max 12\n")
    assert group.limit_hit()


def test_a_memory_cgroup_bounds_the_whole_sandbox_v1(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("8:pids:/grader\n4:memory:/grader\n")
    (tmp_path / "pids" / "grader").mkdir(parents=True)
    (tmp_path / "memory" / "grader").mkdir(parents=True)
    group = ProcessGroup.create("child", 64, mount=tmp_path, proc_cgroup=proc, memory_mb=300)
    assert group is not None and group.memory == tmp_path / "memory" / "grader" / "child"
    assert (group.memory / "memory.limit_in_bytes").read_text() == str(300 * 2**20)
    (group.memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n"
                                                     "oom_kill 0\n")
    assert not group.memory_hit()                  # reaching the limit alone is no fault
    (group.memory / "memory.oom_control").write_text("oom_kill_disable 0\noom_kill 1\n")
    assert group.memory_hit()


def test_a_memory_cgroup_on_cgroup_v2_is_the_same_folder(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("0::/grader\n")
    (tmp_path / "grader").mkdir()
    group = ProcessGroup.create("child", 64, mount=tmp_path, proc_cgroup=proc, memory_mb=200)
    assert group is not None and group.memory == group.path == tmp_path / "grader" / "child"
    assert (group.path / "memory.max").read_text() == str(200 * 2**20)
    assert (group.path / "memory.swap.max").read_text() == "0"
    (group.path / "memory.events").write_text("max 40\noom_kill 0\n")
    assert not group.memory_hit()                  # reclaim at the limit is no fault
    (group.path / "memory.events").write_text("max 40\noom_kill 2\n")
    assert group.memory_hit()


MANY_FILES = ("import os\nmade = 0\ntry:\n    for i in range(10**6):\n"
              "        with open(f'f{i}.txt', 'w') as f:\n            f.write('x' * 4096)\n"
              "        made += 1\nexcept OSError as e:\n    print('STOPPED', made, e.errno)")
SPREAD = ("import os, time\nkids = []\nfor _ in range(6):\n    pid = os.fork()\n"
          "    if pid == 0:\n        block = bytearray(150 * 2**20)\n"
          "        block[::4096] = b'x' * len(block[::4096])\n        time.sleep(3)\n"
          "        os._exit(0)\n    kids.append(pid)\nfor pid in kids:\n    os.waitpid(pid, 0)")


@needs_bwrap
def test_files_written_by_a_submission_stay_in_its_bounded_in_memory_folder(tmp_path):
    root = tmp_path / "subs"
    write(root / "filler.ipynb", with_cell_first(untouched(SPEEDUP), code(MANY_FILES)))
    write(root / "zoe" / "ex02_speedup.ipynb", reference(SPEEDUP))
    write(root / "zoe" / "data.csv", b"a,b\n1,2\n")
    limits = Limits(timeout=30, memory_mb=600, probe_seconds=4, work_mb=16)
    before = sorted(p.name for p in Path(os.environ.get("TMPDIR", "/tmp")).iterdir())
    graded = {g.student: g for g in grade_folder(root, limits=limits, jobs=2, sandbox="bwrap")}
    made = int(graded["filler"].output.split("STOPPED")[1].split()[0])
    assert 0 < made <= 16 * 2**20 // 4096                  # the folder's size stopped it
    assert "STOPPED" in graded["filler"].output and " 28" in graded["filler"].output  # ENOSPC
    assert graded["zoe"].status == "ok" and graded["zoe"].score == 10
    after = sorted(p.name for p in Path(os.environ.get("TMPDIR", "/tmp")).iterdir())
    assert not [n for n in after if n.startswith("labsupport-grade-") and n not in before]


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="a memory cgroup per sandbox needs root")
def test_memory_spread_over_processes_is_bounded_as_a_whole(tmp_path):
    # Each child stays under the per-process limit (600 MB); six of them do not fit
    # in the sandbox's 600 + 64 + 16 MB together.
    root = tmp_path / "subs"
    write(root / "spread.ipynb", with_cell_first(untouched(SPEEDUP), code(SPREAD)))
    limits = Limits(timeout=20, memory_mb=600, probe_seconds=4, work_mb=16)
    [g] = grade_folder(root, limits=limits, sandbox="bwrap")
    if "no memory cgroup could be made" in g.message:
        pytest.skip("no memory cgroup can be made here")
    assert g.status == "memory", g.message
    assert "processes and files together used more than 680 MB" in g.message


# --- the container backend ------------------------------------------------------------

class Commands:
    """A fake command runner: answers by the first words, records every call."""

    def __init__(self, **answers: tuple[int, str, str]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        return self.answers.get(" ".join(argv[:2]), (0, "", ""))


def test_the_container_command_line():
    box = Container("docker", image="labsupport/course:0.1.0", runner=Commands())
    host = Layout(Path("/t/work"), Path("/t/tmp"), Path("/b/lib"), Path("/t/results.jsonl"),
                  "labsupport-grade-x1")
    seen = box.inside(host)
    assert seen == Layout(Path("/home/student"), Path("/tmp"), Path("/grader/lib"),
                          Path("/grader/results.jsonl"), "labsupport-grade-x1",
                          Path("/grader/submission"))
    cmd = box.wrap(["python3", "-I", "-B", "-c", "boot", "/grader/lib"], host, tmp_mb=64,
                   env={"HOME": "/home/student", "LANG": "C.UTF-8"}, memory_mb=600,
                   processes=64, work_mb=128)
    assert cmd == [
        "docker", "run", "--rm", "-i", "--name", "labsupport-grade-x1",
        "--network", "none", "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m",
        "--tmpfs", "/home/student:rw,nosuid,nodev,size=128m,uid=65534,gid=65534,mode=0700",
        "--user", "65534:65534", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--cpus", "1", "--pids-limit", "64", "--memory", "600m", "--memory-swap", "600m",
        "--mount", "type=bind,source=/t/work,target=/grader/submission,readonly",
        "--mount", "type=bind,source=/b/lib,target=/grader/lib,readonly",
        "--mount", "type=bind,source=/t/results.jsonl,target=/grader/results.jsonl",
        "--workdir", "/home/student",
        "--env", "HOME=/home/student", "--env", "LANG=C.UTF-8",
        "labsupport/course:0.1.0", "python3", "-I", "-B", "-c", "boot", "/grader/lib"]
    assert box.exit_status(137, None) == (None, 9)
    assert not box.needs_process_cgroup() and not box.passes_fds


def test_a_container_run_is_removed_and_killed_at_the_time_limit(tmp_path, monkeypatch):
    """The runtime's client stands in for docker: it hangs, is killed, and the container removed."""
    commands = Commands()
    box = Container("docker", runner=commands)
    seen: list[list[str]] = []

    def wrap(command, host, **kw):
        seen.append(Container.wrap(box, command, host, **kw))
        return ["/bin/sh", "-c", "sleep 30"]

    monkeypatch.setattr(box, "wrap", wrap)
    run, _ = run_in_child([{"index": 1, "source": "x = 1"}], [], Limits(timeout=1),
                          library=tmp_path, sandbox=box)
    assert run.timed_out
    name = seen[0][seen[0].index("--name") + 1]
    assert commands.calls == [["docker", "rm", "-f", name]]
    assert seen[0][-6:-5] == ["python3"]


def test_auto_picks_a_container_only_when_docker_answers(monkeypatch):
    monkeypatch.setattr(sandboxes, "bubblewrap_problem", lambda *a: "bwrap is not installed")
    answering = Commands(**{"podman info": (127, "", "podman: not found")})
    box = choose_sandbox("auto", runner=answering)
    assert isinstance(box, Container) and box.runtime == "docker"
    assert answering.calls == [["docker", "info"]]
    silent = Commands(**{"docker info": (1, "", "Cannot connect to the Docker daemon"),
                         "podman info": (127, "", "podman: not found")})
    with pytest.raises(SandboxUnavailable, match="no docker or podman answers"):
        choose_sandbox("auto", runner=silent)
    with pytest.raises(SandboxUnavailable, match="Cannot connect to the Docker daemon"):
        choose_sandbox("docker", runner=silent)
    assert isinstance(choose_sandbox("podman", runner=Commands()), Container)


def test_auto_prefers_bubblewrap(monkeypatch):
    monkeypatch.setattr(sandboxes, "bubblewrap_problem", lambda *a: None)
    runner = Commands()
    assert choose_sandbox("auto", runner=runner).name == "bwrap" and runner.calls == []


def test_the_command_line_offers_docker_and_podman():
    from labsupport.grading.__main__ import _parser

    args = _parser().parse_args(["grade", "s", "--out", "g.csv", "--sandbox", "podman"])
    assert args.sandbox == "podman"
    assert os.environ.get("LABSUPPORT_GRADER") is None
