"""Run a notebook on the seeded simulator and keep what nbval checks.

The build runs a notebook only for the outputs of its ``nbval-check-output``
cells; every other output is cleared before the notebook is committed. Runs
are remembered in a cache (``.cache/notebook-outputs.json``, never committed)
under a digest of the notebook's code cells and of the library, so editing
prose, or building twice, runs nothing.

Example:
    >>> nb = {"cells": [{"cell_type": "code", "id": "a", "source": "print(6 * 7)",
    ...                  "metadata": {"tags": ["nbval-check-output"]}, "outputs": [],
    ...                  "execution_count": None}]}
    >>> needs_run(nb)
    True
    >>> code_digest(nb, "lib") == code_digest(nb, "lib")
    True
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labsupport.authoring.cells import checked_outputs, is_checked, source_of, tags_of
from labsupport.errors import AuthoringError

__all__ = [
    "execute",
    "needs_run",
    "code_digest",
    "library_digest",
    "OutputCache",
    "apply_outputs",
    "outputs_of",
    "CELL_TIMEOUT",
]

#: Seconds one cell may take at build time before the build gives up on the notebook.
CELL_TIMEOUT = 300
#: What the library digest covers: everything a notebook's printed numbers can depend on.
_LIBRARY_PARTS = ("labsupport", "clusters", "pyproject.toml")
_LIBRARY_SUFFIXES = {".py", ".yaml", ".yml", ".json", ".html", ".md", ".toml", ".tmpl", ""}


def needs_run(nb: dict[str, Any]) -> bool:
    """Whether the notebook has a cell whose output the build must keep."""
    return any(is_checked(c) for c in nb.get("cells", []))


def library_digest(root: Path) -> str:
    """A digest of the course library (and cluster configs) under ``root``."""
    h = hashlib.sha256()
    for part in _LIBRARY_PARTS:
        base = root / part
        files = (
            [base]
            if base.is_file()
            else sorted(
                p
                for p in base.rglob("*")
                if p.is_file() and p.suffix in _LIBRARY_SUFFIXES and "__pycache__" not in p.parts
            )
        )
        for path in files:
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def code_digest(nb: dict[str, Any], library: str) -> str:
    """A digest of what decides a notebook's outputs: its code cells and the library."""
    code = [(source_of(c), tags_of(c)) for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    return hashlib.sha256(json.dumps([library, code]).encode()).hexdigest()


def outputs_of(nb: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The kept outputs of a notebook's checked cells, by cell id."""
    return {
        c["id"]: {
            "outputs": checked_outputs(c.get("outputs", [])),
            "execution_count": c.get("execution_count"),
        }
        for c in nb.get("cells", [])
        if is_checked(c) and "id" in c
    }


def apply_outputs(nb: dict[str, Any], kept: dict[str, dict[str, Any]]) -> list[str]:
    """Put kept outputs into the checked cells of ``nb`` (in place).

    Returns:
        The ids of checked cells for which ``kept`` has nothing.
    """
    missing = []
    for cell in nb.get("cells", []):
        if not is_checked(cell):
            continue
        got = kept.get(cell.get("id", ""))
        if not got or not got.get("outputs"):
            missing.append(cell.get("id", "?"))
            continue
        cell["outputs"] = copy.deepcopy(got["outputs"])
        # nbval treats a cell with outputs and no execution count as never run.
        cell["execution_count"] = got.get("execution_count") or 1
    return missing


def _first_error(cells: Iterable[dict[str, Any]]) -> tuple[int, str]:
    for number, cell in enumerate(cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return number, f"{out.get('ename')}: {out.get('evalue')}"
    return 0, "the notebook did not finish"


def execute(
    nb: dict[str, Any], where: str, cwd: Path, *, timeout: float = CELL_TIMEOUT
) -> dict[str, dict[str, Any]]:
    """Run every cell on a fresh kernel with the simulator backend.

    Args:
        nb: the notebook (not changed).
        where: its path, for messages.
        cwd: the folder the kernel starts in (the notebook's own).
        timeout: seconds one cell may take.

    Returns:
        The outputs of the checked cells, by cell id (see :func:`outputs_of`).

    Raises:
        AuthoringError: a cell raised, timed out, or is checked but printed nothing.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    ran = nbformat.from_dict(copy.deepcopy(nb))
    for cell in ran.cells:          # what nbval skips, the build does not run either
        if cell.cell_type == "code" and "nbval-skip" in tags_of(cell):
            cell.source = ""
    env = {**os.environ, "LABSUPPORT_BACKEND": "sim"}
    env.pop("KUBECONFIG", None)
    client = NotebookClient(
        ran, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    try:
        client.execute(env=env)
    except CellTimeoutError:
        number = next(
            (
                i
                for i, c in enumerate(ran.cells, start=1)
                if c.cell_type == "code" and c.get("execution_count") is None
            ),
            0,
        )
        raise AuthoringError(
            where,
            f"a cell ran longer than {timeout:g} s",
            cell=number or None,
            fix="simulate a shorter span, or fewer seeds, in that cell",
        ) from None
    except CellExecutionError:
        number, error = _first_error(ran.cells)
        raise AuthoringError(
            where,
            f"the cell raised {error}",
            cell=number or None,
            fix="open the notebook in JupyterLab and run it to see the whole traceback",
        ) from None
    except Exception as exc:  # noqa: BLE001 - a dead or missing kernel, in any of its forms
        raise AuthoringError(
            where,
            f"the kernel failed ({type(exc).__name__}: {exc})",
            fix="check that `python -m ipykernel --version` works in this "
            "environment, then build again",
        ) from None
    kept = outputs_of(json.loads(nbformat.writes(ran)))
    for number, cell in enumerate(nb["cells"], start=1):
        if is_checked(cell) and not kept.get(cell["id"], {}).get("outputs"):
            raise AuthoringError(
                where,
                "the cell is tagged nbval-check-output but prints "
                "nothing, so nbval would check nothing",
                cell=number,
                fix="print the numbers the lesson relies on, or drop the tag",
            )
    return kept


class OutputCache:
    """Outputs of earlier runs, by notebook and code digest (a JSON file, not committed).

    Args:
        path: the cache file; None keeps nothing between builds.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._data: dict[str, Any] = {}
        if path is not None and path.exists():
            try:
                self._data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._data = {}  # a damaged cache only costs a rerun

    def get(self, name: str, digest: str) -> dict[str, dict[str, Any]] | None:
        """The kept outputs of ``name`` when they were made from this very digest."""
        entry = self._data.get(name)
        if isinstance(entry, dict) and entry.get("digest") == digest:
            return entry.get("outputs")
        return None

    def put(self, name: str, digest: str, outputs: dict[str, dict[str, Any]]) -> None:
        """Remember the outputs of one run."""
        self._data[name] = {"digest": digest, "outputs": outputs}

    def save(self) -> None:
        """Write the cache file (atomically), when there is one."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
