"""The %kubectl magic in IPython: %load_ext labsupport, or c.serve() inside IPython."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import ClusterUnavailable

IPython = pytest.importorskip("IPython")


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    ip = InteractiveShell.instance()
    yield ip
    InteractiveShell.clear_instance()


def test_load_ext_and_the_line_and_cell_magics(shell, capsys):
    shell.run_line_magic("load_ext", "labsupport")
    c = ls.connect(nodes=2, seed=0)
    try:
        c.serve(speed=0)
        shell.run_line_magic("kubectl", "get nodes")
        out = capsys.readouterr().out.splitlines()
        assert out[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        assert [line.split()[0] for line in out[1:]] == ["node-1", "node-2"]
        shell.run_cell_magic("kubectl", "", "# a comment\n"
                             "label namespace default team=a\n"
                             "kubectl get namespace default -o name\n"
                             "get pod nope\n"
                             "get namespaces\n")
        captured = capsys.readouterr()
        assert captured.out == "namespace/default labeled\nnamespace/default\n"
        assert 'pods "nope" not found' in captured.err   # and the cell stopped there
    finally:
        c.close()
    with pytest.raises(ls.Invalid, match="no cluster is served"):
        shell.run_line_magic("kubectl", "get pods")


def test_serve_inside_ipython_registers_the_magic(shell, capsys):
    shell.magics_manager.magics["line"].pop("kubectl", None)
    c = ls.connect(nodes=1, seed=0)
    try:
        c.serve(speed=0)
        assert "kubectl" in shell.magics_manager.magics["line"]
        shell.run_line_magic("kubectl", "get pods")
        assert "No resources found in default namespace." in capsys.readouterr().err
    finally:
        c.close()
