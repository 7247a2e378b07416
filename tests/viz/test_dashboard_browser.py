"""The labs in a real browser: JupyterLab started as `make lab` starts it, driven by Chromium.

A small notebook in a temporary course folder makes a cluster and shows the
dashboard; headless Chromium (the system's, through Playwright; nothing is
downloaded) opens it in JupyterLab, runs its cells, presses "kill pod" and
"+15 s", and checks that the page changed: the status text, the cluster
picture's image and a screenshot of the output.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             "/usr/bin/chromium") if p and os.path.exists(p)), None)
try:
    import playwright.sync_api as pw
except ImportError:             # pragma: no cover - depends on the machine
    pw = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(pw is None, reason="playwright is not installed "
                       "(pip install -e '.[test]'); the browser test is skipped"),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install chromium); the browser test is skipped"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed; "
                       "the browser test starts JupyterLab with `make lab`"),
]

SETUP = """\
import labsupport as ls
c = ls.connect(nodes=3, seed=0)
c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}})
c.advance(30)
c.pods()"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _course(folder: Path) -> Path:
    """A copy of the course's Makefile and pyproject.toml, with one notebook of the test's."""
    import nbformat

    folder.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, folder / name)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell("ls.viz.dashboard(c)")]
    (folder / "notebooks").mkdir()
    nbformat.write(nb, folder / "notebooks" / "dashboard.ipynb")
    return folder


@pytest.fixture
def lab(tmp_path):
    """`make lab` in a temporary course: a free loopback port, a token, no browser."""
    import httpx

    course = _course(tmp_path / "course")
    # A fresh user's settings, less two questions a first visit asks: which kernel to
    # start (the notebook names it) and whether to fetch Jupyter news (no network here).
    for path, value in (("notebook-extension/tracker", {"autoStartDefaultKernel": True}),
                        ("apputils-extension/notification", {"fetchNews": "false"})):
        file = tmp_path / "settings" / f"@jupyterlab/{path}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    venv = Path(sys.executable).parent.parent        # the environment running the tests
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    # The project's own command (README: `make lab`); -o: never reinstall from inside a test.
    cmd = ["make", "-s", "-C", str(course), "-o", f"{venv}/.labsupport-installed", "lab",
           f"VENV={venv}", f"PORT={port}",
           f"LAB_ARGS=--no-browser --IdentityProvider.token={token}"]
    log = open(tmp_path / "lab.log", "wb")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "lab.log").read_text()[-2000:]
            try:
                if httpx.get(f"{base}/api/status", headers={"Authorization": f"token {token}"},
                             timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()[-2000:]
            time.sleep(0.25)
        yield base, token, tmp_path
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sig)        # make, jupyter and its kernel: our own group
                server.wait(10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


def test_the_dashboard_in_jupyterlab_changes_when_its_buttons_are_pressed(lab):
    base, token, tmp_path = lab
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(45_000)
            page.goto(f"{base}/lab/tree/notebooks/dashboard.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            accept = page.locator(".jp-Dialog button.jp-mod-accept")
            if accept.count():                   # a kernel dialog despite the setting
                accept.click()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            kill = page.locator("button.jupyter-button", has_text="kill pod")
            try:
                kill.wait_for()
            except pw.TimeoutError as err:
                page.screenshot(path=tmp_path / "timeout.png")
                notebook = page.locator(".jp-Notebook").inner_text()[-1500:]
                raise AssertionError(f"no dashboard; see {tmp_path / 'timeout.png'}, "
                                     f"page: {notebook}") from err
            output = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
            status = output.locator(".widget-html-content", has_text="nodes Ready")
            picture = output.locator("img").first
            assert "t = 30 s: 3/3 nodes Ready, 3/3 pods ready" in status.inner_text()
            assert "node-1" in output.inner_text() and "deployment/web: 3/3 ready" in \
                output.inner_text()
            before = (status.inner_text(), picture.get_attribute("src"), output.screenshot())

            kill.click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.textContent.includes('killed'))")
            page.wait_for_function(
                "src => document.querySelector('.jp-Cell:nth-child(2) .jp-OutputArea img')"
                "?.getAttribute('src') !== src", arg=before[1])
            after = (status.inner_text(), picture.get_attribute("src"), output.screenshot())
            assert "3/3 pods ready" not in after[0] and "killed" in after[0]
            assert after[1] != before[1]                 # the cluster picture was redrawn
            assert after[2] != before[2]                 # and the page looks different

            page.locator("button.jupyter-button", has_text="+15 s").click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.textContent.includes('t = 45 s: 3/3 nodes Ready, 3/3 pods ready'))")
            page.wait_for_function(
                "src => document.querySelector('.jp-Cell:nth-child(2) .jp-OutputArea img')"
                "?.getAttribute('src') !== src", arg=after[1])
            (tmp_path / "dashboard.png").write_bytes(output.screenshot())
        finally:
            browser.close()
