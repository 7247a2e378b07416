"""Command line: ``python -m labsupport.grading build`` and ``... grade``.

::

    python -m labsupport.grading build [--solutions solutions] [--exercises exercises] [--check]
    python -m labsupport.grading release OUT [--course .]
    python -m labsupport.grading grade SUBMISSIONS --out grades.csv [--feedback DIR]
        [--jobs N] [--timeout S] [--memory MB] [--exercise ex02] [--quiet]
        [--sandbox {auto,bwrap,docker,podman,none} | --no-sandbox]

``grade`` runs every submission in a bubblewrap sandbox (or, where bubblewrap
does not work, a docker or podman container) and refuses to grade when none
works here, unless told ``--no-sandbox`` (then every gradebook row says that
it was graded without isolation).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from labsupport.errors import GradingError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labsupport.grading",
                                     description="Build exercise notebooks and grade submissions.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write exercises/ from solutions/")
    b.add_argument("--solutions", default="solutions",
                   help="solution notebooks (default: %(default)s)")
    b.add_argument("--exercises", default="exercises", help="where to write (default: %(default)s)")
    b.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if exercises/ is out of date")
    r = sub.add_parser("release", help="write what students get (no solutions, no hidden "
                                       "cases) into a new folder")
    r.add_argument("out", help="a new or empty folder outside the course")
    r.add_argument("--course", default=".", help="the course's top folder (default: .)")
    g = sub.add_parser("grade", help="grade a folder of submissions")
    g.add_argument("submissions", help="folder with one notebook (or folder) per student")
    g.add_argument("--out", required=True, help="the gradebook CSV to write")
    g.add_argument("--feedback", help="folder for one feedback file per student")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default: 1)")
    g.add_argument("--timeout", type=float, default=60.0,
                   help="seconds per submission (default: %(default)s)")
    g.add_argument("--memory", type=int, default=1024,
                   help="memory limit per submission in MB (default: %(default)s)")
    g.add_argument("--exercise", help="grade every submission as this exercise, e.g. ex02")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    box = g.add_mutually_exclusive_group()
    box.add_argument("--sandbox", choices=("auto", "bwrap", "docker", "podman", "none"),
                     default="auto",
                     help="isolate each submission with bubblewrap or in a container; auto: "
                          "bubblewrap, else docker or podman, else refuse to grade "
                          "(default: %(default)s)")
    box.add_argument("--no-sandbox", dest="sandbox", action="store_const", const="none",
                     help="grade without isolation (same as --sandbox none)")
    return parser


def _build(args: argparse.Namespace) -> int:
    from labsupport.grading.build import build

    results = build(args.solutions, args.exercises, write=not args.check)
    for r in results:
        state = ("out of date" if args.check else "written") if r.changed else "up to date"
        print(f"{r.exercise}: {state}")
    if not results:
        print(f"no exercise notebooks (exNN_*.ipynb) in {args.solutions}")
    return 1 if args.check and any(r.changed for r in results) else 0


def _grade(args: argparse.Namespace) -> int:
    from labsupport.grading.batch import grade_folder
    from labsupport.grading.gradebook import write_feedback, write_gradebook
    from labsupport.grading.sandbox import Limits

    if args.jobs < 1 or args.timeout <= 0 or args.memory < 0:
        print("--jobs must be 1 or more, --timeout positive, --memory 0 or more",
              file=sys.stderr)
        return 2
    limits = Limits(timeout=args.timeout, memory_mb=args.memory,
                    probe_seconds=min(20.0, args.timeout))
    start = time.monotonic()

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    graded = grade_folder(args.submissions, limits=limits, jobs=args.jobs,
                          exercise_name=args.exercise, progress=progress,
                          sandbox=args.sandbox)
    book = write_gradebook(graded, args.out)
    if args.feedback:
        write_feedback(graded, args.feedback)
    took = time.monotonic() - start
    counts = Counter(g.status for g in graded)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    rate = len(graded) / took * 60 if took > 0 else 0.0
    print(f"graded {len(graded)} submissions in {took:.1f} s ({rate:.0f} per minute): "
          f"{summary or 'none'}; gradebook: {book}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from labsupport.grading.release import release

    files = release(args.out, args.course)
    print(f"release: {len(files)} files written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        commands = {"build": _build, "release": _release, "grade": _grade}
        return commands[args.command](args)
    except GradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
