"""The UI page in a real browser (headless Chromium): it shows a user's recommendations."""

from __future__ import annotations

import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install chromium); the browser test is skipped")


def _dom(url: str, tmp_path) -> str:
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-500:]
    return out.stdout


def test_the_page_lists_recommendations_and_explains_an_unknown_user(stack, tmp_path):
    known = stack.get("serving", "/recommendations/7?n=10").json()
    page = _dom(stack.url("ui") + "/?user=7", tmp_path)
    assert page.count("<li>") == 10
    assert known["movies"][0]["title"] in page
    assert f"model version {known['model_version']}" in page
    page = _dom(stack.url("ui") + "/?user=999999", tmp_path)
    assert "is not in model version" in page and "<li>" not in page
