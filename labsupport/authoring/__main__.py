"""Command line of the authoring tools (``make notebooks`` and ``make lesson`` run it).

::

    python -m labsupport.authoring build [SOURCE ...] [--check] [--jobs N] [--no-cache] [--run-all]
    python -m labsupport.authoring new NN SLUG [--title "Deployments"]
"""

from __future__ import annotations

import argparse
import sys

from labsupport.errors import LabSupportError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labsupport.authoring",
        description="Build the course's notebooks from their text sources; start a new lesson.",
    )
    parser.add_argument("--root", help="the course folder (default: found from here)")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser(
        "build", help="text sources -> .ipynb (checked outputs kept), and solutions -> exercises"
    )
    b.add_argument("sources", nargs="*", help="only these sources (default: all)")
    b.add_argument(
        "--check",
        action="store_true",
        help="write and run nothing; exit 1 if any notebook is out of date",
    )
    b.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default: 2)")
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="run every notebook that has checked cells, even if its code and the "
        "library did not change",
    )
    b.add_argument(
        "--run-all",
        action="store_true",
        help="also run notebooks without checked cells (does everything still run?)",
    )
    n = sub.add_parser("new", help="start a lesson and its exercise from the template")
    n.add_argument("number", help="two digits, e.g. 07")
    n.add_argument("slug", help="lower-case words joined by '-' or '_', e.g. deployments")
    n.add_argument("--title", help="the lesson's title (default: from the slug)")
    n.add_argument("--no-build", action="store_true", help="write the sources only")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            from labsupport.authoring.build import build

            if args.jobs < 1:
                print("--jobs must be 1 or more", file=sys.stderr)
                return 2
            report = build(
                args.root,
                check=args.check,
                only=args.sources,
                jobs=args.jobs,
                cache=not args.no_cache,
                run_all=args.run_all,
                progress=lambda line: print(line, flush=True),
            )
            for problem in report.problems:
                print(f"error: {problem}", file=sys.stderr)
            print(report.summary())
            return 0 if report.ok else 1
        from labsupport.authoring.scaffold import new_lesson

        made = new_lesson(
            args.number,
            args.slug,
            root=args.root,
            title=args.title,
            build_after=not args.no_build,
            progress=print,
        )
        print(made.next_steps())
        return 0
    except LabSupportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
