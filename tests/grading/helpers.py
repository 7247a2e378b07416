"""Notebooks for grading tests: the reference answers, the untouched exercise, variants."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from labsupport.grading.build import render_exercise
from labsupport.grading.checks import exercise
from labsupport.grading.names import exercise_of_file

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def solution_paths() -> list[Path]:
    return sorted(p for p in SOLUTIONS.glob("ex*.ipynb") if exercise_of_file(p))


def reference(path: Path) -> dict[str, Any]:
    """What a student who wrote the reference answers would hand in."""
    name = exercise_of_file(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    return render_exercise(nb, exercise=name, answers=exercise(name).answers,
                           source=f"solutions/{path.name}", keep_answers=True)


def untouched(path: Path) -> dict[str, Any]:
    """The exercise notebook exactly as students receive it."""
    return json.loads((EXERCISES / path.name).read_text(encoding="utf-8"))


def code(source: str, **labsupport: Any) -> dict[str, Any]:
    meta = {"labsupport": labsupport} if labsupport else {}
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
            "source": source}


def answer_index(nb: dict[str, Any], name: str) -> int:
    for i, cell in enumerate(nb["cells"]):
        if name in (cell.get("metadata", {}).get("labsupport", {}).get("answer") or []):
            return i
    raise KeyError(name)


def with_cell_after(nb: dict[str, Any], answer: str, cell: dict[str, Any]) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"].insert(answer_index(nb, answer) + 1, cell)
    return nb


def with_cell_first(nb: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"].insert(0, cell)
    return nb


def write(path: Path, nb: dict[str, Any] | str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb, encoding="utf-8")
    else:
        path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path
