"""Benchmark: how long `make notebooks` takes, cold and warm, on a copy of the course.

Three builds of every text source, in a temporary copy so the working tree
is not touched:

- cold: no cache, every notebook with checked cells runs (what a fresh clone
  or `--no-cache` costs);
- warm: nothing changed, so nothing runs (what a build before each commit
  costs when only prose or nothing changed);
- check: `--check`, what the up-to-date test does;
- every: `--run-all --no-cache`, every notebook executed, checked cells or not.

It prints each figure and the time each executed notebook took, and exits
non-zero when a build fails or the warm build changes a byte. Target: a warm
build under 10 s, so running it before every commit costs nothing.

Run: ``python benchmarks/bench_notebooks.py [--jobs 2]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labsupport.authoring.build import build
from labsupport.authoring.sources import copy_course

ROOT = Path(__file__).resolve().parents[1]
WARM_TARGET_SECONDS = 10.0


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.ipynb"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        copy_course(ROOT, course)
        t0 = time.perf_counter()
        cold = build(course, cache=True, jobs=args.jobs)
        cold_s = time.perf_counter() - t0
        before = _snapshot(course)
        t0 = time.perf_counter()
        warm = build(course, jobs=args.jobs)
        warm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        check = build(course, check=True)
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "labsupport.authoring", "--root", str(course), "build"],
            capture_output=True,
            text=True,
        )
        cli_s = time.perf_counter() - t0
        same = _snapshot(course) == before
        t0 = time.perf_counter()
        every = build(course, cache=False, run_all=True, jobs=args.jobs)
        every_s = time.perf_counter() - t0
    sources = len([b for b in cold.notebooks if not b.path.startswith("exercises/")])
    print(f"{sources} sources, {len(cold.notebooks) - sources} exercises, jobs={args.jobs}")
    for b in cold.notebooks:
        if b.ran == "ran":
            print(f"  ran {b.path:<40} {b.seconds:6.1f} s")
    print(f"cold build (no cache): {cold_s:6.1f} s, {cold.ran} notebooks executed")
    print(
        f"warm build (cached):   {warm_s:6.1f} s, {warm.ran} notebooks executed "
        f"(target < {WARM_TARGET_SECONDS:g} s)"
    )
    print(f"check (--check):       {check_s:6.1f} s")
    print(f"warm `make notebooks` as a command (imports included): {cli_s:.1f} s")
    print(f"every notebook executed (--run-all --no-cache): {every_s:.1f} s, {every.ran} notebooks")
    print(f"second build changed no byte: {same}")
    ok = (
        cold.ok
        and warm.ok
        and check.ok
        and every.ok
        and same
        and warm.ran == 0
        and cli.returncode == 0
    )
    if not ok:
        for b in cold.notebooks + warm.notebooks:
            if b.state not in ("written", "up to date"):
                print(b.line())
        print("\n".join(cold.problems + warm.problems + check.problems))
        print(cli.stdout + cli.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
