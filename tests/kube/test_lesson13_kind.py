"""Lesson 13's kind half, run for real (``pytest -m kind``; CI: .github/workflows/kind.yml).

The default suite runs notebooks/13_real-cluster.ipynb under nbval, where the
kind cells skip. Here the whole notebook runs on a fresh kernel with
``LABSUPPORT_BACKEND=kind`` and ``LABSUPPORT_KIND_NAME`` pointing at the test
cluster, and every kind cell must have run: no "skipped" line, and the kind
column filled with what a kind cluster says.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labsupport.kube.readiness import SKIP_PREFIX, check_kind

pytestmark = pytest.mark.kind

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "13_real-cluster.ipynb"
CLUSTER = os.environ.get("LABSUPPORT_TEST_CLUSTER", "labsupport-test")
NS = "lesson13"


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        else:
            parts.append((out.get("data") or {}).get("text/plain", ""))
    return "".join(parts)


@pytest.fixture(scope="module")
def ran():
    ready = check_kind(CLUSTER, env={"LABSUPPORT_BACKEND": "kind"})
    if not ready:
        pytest.skip(str(ready))
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {**os.environ, "LABSUPPORT_BACKEND": "kind", "LABSUPPORT_KIND_NAME": CLUSTER}
    env.pop("KUBECONFIG", None)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute(env=env)
        yield nb
    finally:
        from labsupport.kube import KubeCluster

        c = KubeCluster.from_kind(CLUSTER, create=False, display=False)
        try:
            c.delete(f"namespace/{NS}")
        except Exception:  # noqa: BLE001 - the namespace may never have been made
            pass
        c.close()


def _cell(nb, snippet: str):
    found = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(found) == 1, snippet
    return found[0]


def test_no_kind_cell_was_skipped(ran):
    for cell in ran.cells:
        if cell.cell_type == "code":
            assert SKIP_PREFIX not in _text(cell), cell.source


def test_the_check_said_ready(ran):
    text = _text(_cell(ran, "ready = ls.kube.check_kind(KIND_NAME)"))
    assert text.startswith(f'kind cluster "{CLUSTER}" is ready')


def test_the_experiment_ran_on_kind_with_the_same_rules(ran):
    text = _text(_cell(ran, "on_kind = experiment(real)"))
    lines = {line[:26].strip(): line[26:].strip() for line in text.splitlines()}
    assert lines["ReplicaSets"] == "2"
    assert lines["pods per node"].startswith("[0, ")  # the control plane runs none of them
    assert f"{CLUSTER}-control-plane" in lines["nodes"]
    assert f"{CLUSTER}-worker" in lines["nodes"]
    assert lines["endpoints"] == lines["pod IPs"]
    # kind counts its control-plane node, refused for its taint.
    assert lines["why big is Pending"].startswith("0/4 nodes are available:")
    assert "untolerated taint" in lines["why big is Pending"]


def test_kubectl_ran_with_kinds_private_kubeconfig(ran):
    text = _text(_cell(ran, "def kind_kubectl(command):"))
    assert f"kind-{CLUSTER}.kubeconfig" in text
    assert "control-plane" in text
    assert "FailedScheduling" in text
