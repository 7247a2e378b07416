"""The backend fixture of the contract suite.

Every test in tests/contract runs once per backend: the simulator always, a
``KubeCluster`` connected over HTTPS to a served simulator (``c.serve()``)
always, and a real kind cluster under ``pytest -m kind`` where docker and kind exist (it is
skipped with a one-line reason elsewhere). A behaviour that differs between
backends is a bug in one of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

KIND_CLUSTER = os.environ.get("LABSUPPORT_TEST_CLUSTER", "labsupport-test")


def _kind_missing() -> str | None:
    if shutil.which("kind") is None:
        return "kind is not installed (https://kind.sigs.k8s.io); the kind suite is skipped"
    if shutil.which("docker") is None:
        return "docker is not installed; the kind suite is skipped"
    try:
        ok = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        return "docker is installed but its daemon is not running; the kind suite is skipped"
    return None


@pytest.fixture(scope="module",
                params=["sim", "served", pytest.param("kind", marks=pytest.mark.kind)])
def backend(request):
    return request.param


@pytest.fixture
def cluster(backend):
    import labsupport as ls

    if backend == "sim":
        c = ls.connect("sim", nodes=3, seed=0)
        yield c
        c.close()
        return
    if backend == "served":
        # The real backend (KubeCluster, the official client) over real HTTPS to a
        # served simulator; its clock stands still but for advance (docs/SERVE.md).
        sim = ls.connect("sim", nodes=3, seed=0)
        sim.serve(speed=0)
        c = ls.connect("kubeconfig", kubeconfig=sim.kubeconfig, display=False)
        yield c
        c.close()
        sim.close()
        return
    reason = _kind_missing()
    if reason:
        pytest.skip(reason)
    c = ls.connect("kind", name=KIND_CLUSTER)
    yield c
    c.close()
