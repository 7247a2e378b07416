"""A private copy of the course library for one batch, and a guard that keeps it intact.

Submissions run as the grader's own user, so a hostile one could rewrite the
library's files (say, make every probe report the right answer) and change
how the *next* submissions are observed. The batch grader therefore gives its
children their own copy of ``labsupport`` (compiled once, run with ``-B``) and,
after each submission, compares the copy with a snapshot taken before any
submission ran. A change is undone at once and reported, so the submissions
that may have seen it can be graded again. The grader itself never imports
from the copy: its checks were loaded before the first submission started.

Example:
    >>> import tempfile, pathlib
    >>> pkg = pathlib.Path(tempfile.mkdtemp()) / "pkg"
    >>> pkg.mkdir(); _ = (pkg / "a.py").write_text("x = 1")
    >>> guard = FileGuard(pkg)
    >>> _ = (pkg / "a.py").write_text("x = 2"); _ = (pkg / "b.py").write_text("")
    >>> guard.check_and_restore()
    ['a.py', 'b.py']
    >>> (pkg / "a.py").read_text(), (pkg / "b.py").exists()
    ('x = 1', False)
    >>> guard.check_and_restore()
    []
"""

from __future__ import annotations

import compileall
import os
import shutil
from pathlib import Path

__all__ = ["FileGuard", "private_library"]


class FileGuard:
    """Remembers every file under ``root`` and puts them back when they change.

    Args:
        root: the folder to watch (a private copy nobody else edits).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._files: dict[str, tuple[bytes, int, int]] = {}
        for path in self._walk():
            st = path.stat()
            self._files[self._rel(path)] = (path.read_bytes(), st.st_mtime_ns, st.st_size)

    def _walk(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file() or p.is_symlink())

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def check_and_restore(self) -> list[str]:
        """The files that changed, appeared or vanished since the snapshot; all undone."""
        changed: list[str] = []
        seen: set[str] = set()
        for path in self._walk():
            rel = self._rel(path)
            seen.add(rel)
            original = self._files.get(rel)
            if original is None:
                changed.append(rel)
                _remove(path)
                continue
            try:
                st = path.lstat()
                same = (not path.is_symlink() and st.st_size == original[2]
                        and st.st_mtime_ns == original[1] and path.read_bytes() == original[0])
            except OSError:
                same = False
            if not same:
                changed.append(rel)
                self._put_back(rel)
        for rel in self._files.keys() - seen:
            changed.append(rel)
            self._put_back(rel)
        return sorted(changed)

    def _put_back(self, rel: str) -> None:
        data, mtime, _ = self._files[rel]
        path = self.root / rel
        if path.is_symlink() or path.is_dir():
            _remove(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, ns=(mtime, mtime))


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass


def private_library(target: Path) -> Path:
    """Copy the installed ``labsupport`` package into ``target`` and compile it.

    Returns:
        the folder to put first on the children's ``sys.path``.
    """
    import labsupport

    source = Path(labsupport.__file__).resolve().parent
    lib = Path(target)
    shutil.copytree(source, lib / "labsupport",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    compileall.compile_dir(lib, quiet=2, workers=1)
    return lib
