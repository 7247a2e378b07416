"""Benchmark: grade 100 submissions of exercise 02 with two jobs at once.

The submissions are variants of the real exercise notebook: reference
answers, the untouched exercise, and notebooks with one or two wrong answers.
The grader runs as instructors run it (``python -m labsupport.grading grade
... --jobs 2``); the benchmark prints the wall time and submissions per
minute, checks every gradebook row against the score it should have, and
exits non-zero only when a score is wrong. Target: at most 60 s, sandboxed.

It grades the same submissions twice, in bubblewrap (``--sandbox bwrap``) and
with ``--no-sandbox``, and prints the sandbox's cost per submission; with
``--no-compare`` only the sandboxed run.

Run: ``python benchmarks/bench_grading.py [--count 100] [--jobs 2] [--no-compare]``
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labsupport.grading.build import render_exercise
from labsupport.grading.checks import exercise

ROOT = Path(__file__).resolve().parents[1]
NAME = "ex02_speedup.ipynb"
TARGET_SECONDS = 60.0


def _set_answer(nb: dict, answer: str, source: str) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if answer in (cell.get("metadata", {}).get("labsupport", {}).get("answer") or []):
            cell["source"] = source
            return nb
    raise KeyError(answer)


def variants() -> list[tuple[str, dict, float]]:
    """(kind, notebook, expected total) for each kind of submission."""
    ex = exercise("ex02")
    solution = json.loads((ROOT / "solutions" / NAME).read_text(encoding="utf-8"))
    ref = render_exercise(solution, exercise="ex02", answers=ex.answers, keep_answers=True)
    blank = json.loads((ROOT / "exercises" / NAME).read_text(encoding="utf-8"))
    wrong_law = _set_answer(ref, "amdahl_speedup",
                            "def amdahl_speedup(parallel_fraction, workers):\n"
                            "    return workers\n")
    jumpy = _set_answer(ref, "chosen_timeout", "chosen_timeout = 1.0\n")
    partly = _set_answer(_set_answer(ref, "measure_speedup",
                                     "def measure_speedup(job, workers, seed=0):\n"
                                     "    raise NotImplementedError\n"),
                         "predicted_hours", "predicted_hours = 1.0\n")
    return [("reference", ref, 10.0), ("untouched", blank, 0.0),
            # "workers" is right only for p = 1 and for one worker (2 of 7 cases),
            # and q2 is computed with it, so q2 is lost too.
            ("ideal speed-up", wrong_law, 10.0 - 2 + 2 * 2 / 7 - 1),
            ("jumpy timeout", jumpy, 8.0), ("two unanswered", partly, 7.0)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the run without a sandbox")
    args = parser.parse_args()
    kinds = variants()
    mix = ["reference"] * 4 + ["untouched"] * 2 + ["ideal speed-up", "jumpy timeout",
                                                  "two unanswered", "reference"]
    by_kind = {k: (nb, total) for k, nb, total in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        expected = {}
        for i in range(args.count):
            kind = mix[i % len(mix)]
            student = f"student-{i:03d}"
            (subs / f"{student}.ipynb").write_text(json.dumps(by_kind[kind][0]),
                                                   encoding="utf-8")
            expected[student] = (kind, by_kind[kind][1])
        walls = {}
        for mode in ("bwrap", "none") if args.compare else ("bwrap",):
            out = Path(tmp) / f"grades-{mode}.csv"
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "labsupport.grading", "grade",
                                   str(subs), "--out", str(out), "--jobs", str(args.jobs),
                                   "--quiet", "--sandbox", mode],
                                  capture_output=True, text=True, cwd=tmp)
            wall = walls[mode] = time.perf_counter() - start
            if done.returncode != 0:
                print(done.stdout, done.stderr, sep="\n")
                return 1
            rows = list(csv.DictReader(out.open(encoding="utf-8")))
            wrong = [(r["student"], expected[r["student"]], r["total"], r["message"])
                     for r in rows if abs(float(r["total"]) - expected[r["student"]][1]) > 0.02
                     or r["status"] != "ok"]
            rate = len(rows) / wall * 60
            print(f"--sandbox {mode}: graded {len(rows)} submissions with --jobs {args.jobs} "
                  f"in {wall:.1f} s wall ({rate:.0f} submissions per minute, "
                  f"{wall / max(1, len(rows)):.2f} s each)")
            if len(rows) != args.count or wrong:
                print(f"WRONG: {len(rows)} rows for {args.count} submissions; unexpected "
                      f"scores: {wrong[:5]}")
                return 1
    scaled = walls["bwrap"] * 100 / max(1, args.count)
    print(f"target: at most {TARGET_SECONDS:g} s for 100 sandboxed: "
          f"{'met' if scaled <= TARGET_SECONDS else 'MISSED'}")
    if "none" in walls:
        extra = (walls["bwrap"] - walls["none"]) / max(1, args.count) * args.jobs
        print(f"sandbox overhead: {walls['bwrap'] - walls['none']:+.1f} s in all, "
              f"{extra:+.3f} s per submission (each of {args.jobs} jobs)")
    print("every score as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
