"""The two commands of the README: set-up is idempotent and the lab server answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def _venv_is_ours() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_second_setup_installs_nothing():
    if not _venv_is_ours():
        pytest.skip("tests run outside the project's .venv (not through `make test`)")
    # `make -q` exits 0 when the target is up to date, i.e. nothing would be reinstalled
    done = subprocess.run(["make", "-q", "setup"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, "make setup would reinstall on a second run"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_lab_command_answers_on_its_port():
    if not _venv_is_ours():
        pytest.skip("tests run outside the project's .venv (not through `make test`)")
    port = _free_port()
    env = dict(os.environ, JUPYTER_TOKEN="labsupport-test")
    proc = subprocess.Popen(["make", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/notebooks?token=labsupport-test"
                with urllib.request.urlopen(url, timeout=5) as answer:
                    status = answer.status
                    listing = answer.read().decode()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(1)
        assert status == 200, "JupyterLab did not answer on its port"
        assert '"type": "directory"' in listing or '"type":"directory"' in listing
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
