"""``%kubectl`` and ``%%kubectl`` in a notebook: the real kubectl against the served cluster.

After ``%load_ext labsupport`` (or as soon as a cluster is served with
``c.serve()`` in IPython), a line ``%kubectl get pods -o wide`` runs kubectl
against the cluster served last, and prints what kubectl prints, as
``c.kubectl("get pods -o wide")`` does. A cell that starts with
``%%kubectl`` runs each of its lines as one kubectl command (blank lines and
lines starting with ``#`` are skipped), stopping at the first that fails, as
a shell script with ``set -e`` would.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1)
    >>> _ = c.serve(speed=0)
    >>> served_cluster() is c
    True
    >>> c.close()
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

__all__ = ["served_cluster", "remember", "kubectl_magic", "register"]

_last: weakref.ReferenceType | None = None


def remember(cluster: Any) -> None:
    """Make ``cluster`` the one ``%kubectl`` talks to (``serve()`` calls this)."""
    global _last
    _last = weakref.ref(cluster)


def served_cluster() -> Any:
    """The cluster served last that is still served.

    Raises:
        Invalid: no cluster is served.
    """
    from labsupport.errors import Invalid

    cluster = _last() if _last is not None else None
    if cluster is None or cluster.kubeconfig is None:
        raise Invalid("no cluster is served: run c = ls.connect(); c.serve() first, then "
                      "%kubectl get pods")
    return cluster


def _run(line: str) -> bool:
    """Run one kubectl command line; print its output; True when it succeeded."""
    run = served_cluster().kubectl(line)
    if run.stdout:
        sys.stdout.write(run.stdout)
    if run.stderr:
        sys.stderr.write(run.stderr)
    return run.ok


def kubectl_magic(line: str, cell: str | None = None) -> None:
    """``%kubectl ARGS`` runs one command; ``%%kubectl`` runs each line of the cell."""
    if cell is None:
        if not line.strip():
            sys.stderr.write("usage: %kubectl get pods   (or a %%kubectl cell, one command "
                             "a line)\n")
            return
        _run(line)
        return
    for text in ([line] if line.strip() else []) + cell.splitlines():
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("kubectl "):
            text = text[len("kubectl "):]
        if not _run(text):
            break


def register(ipython: Any) -> None:
    """Register ``%kubectl``/``%%kubectl`` in an IPython shell (idempotent)."""
    ipython.register_magic_function(kubectl_magic, magic_kind="line_cell", magic_name="kubectl")


def register_if_in_ipython() -> None:
    """Register the magic when running inside IPython (a notebook or the IPython shell)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return
    try:
        ip = shell.get_ipython()
    except Exception:  # noqa: BLE001 - no shell is fine
        return
    if ip is not None:
        register(ip)
