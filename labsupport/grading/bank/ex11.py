r"""Checks of exercise 11: reading a Dockerfile.

The notebook is ``solutions/ex11_docker.md``. Three checks, 5 points:

- ``ex11.q1`` ``first_rebuilt(dockerfile, changed)``: the number of the first
  instruction whose layer is built again when the file ``changed`` is edited;
- ``ex11.q2`` ``runs_as(dockerfile)``: the user the container runs as;
- ``ex11.q3`` ``immutable(reference)``: whether an image reference always
  means the same bytes (a digest), or may move (a tag).

Example:
    >>> EXERCISE
    <Exercise ex11 'Reading a Dockerfile': 3 checks, 5 points>
    >>> reference_first_rebuilt("FROM a\nRUN x\nCOPY app ./app\n", "app/main.py")
    3
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise
from labsupport.grading.probes import describe_call

__all__ = ["EXERCISE", "instructions", "reference_first_rebuilt", "reference_runs_as",
           "reference_immutable", "COURSE_DOCKERFILE"]

COURSE_DOCKERFILE = Path(__file__).resolve().parents[3] / "clusters" / "images" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    r"""(KEYWORD, arguments) of each instruction, continuation lines joined, comments left out.

    Example:
        >>> instructions("# hi\nFROM python:3.12\nRUN a \\\n    b\n")
        [('FROM', 'python:3.12'), ('RUN', 'a b')]
    """
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
    return out


def _sources(args: str) -> list[str]:
    words = [w for w in args.split() if not w.startswith("--")]
    if args.startswith("["):
        words = re.findall(r'"([^"]*)"', args)
    return [w.rstrip("/") for w in words[:-1]]


def _copies(source: str, changed: str) -> bool:
    source = source.removeprefix("./")
    return source in ("", ".") or changed == source or changed.startswith(source + "/") or (
        "*" in source and re.fullmatch(source.replace(".", r"\.").replace("*", ".*"), changed)
        is not None)


def reference_first_rebuilt(dockerfile: str, changed: str) -> int | None:
    """The 1-based number of the first instruction rebuilt when ``changed`` changes, or None."""
    for i, (word, args) in enumerate(instructions(dockerfile), start=1):
        if word in ("COPY", "ADD") and "--from" not in args and any(
                _copies(s, changed) for s in _sources(args)):
            return i
    return None


def reference_runs_as(dockerfile: str) -> str:
    """The user of the last USER instruction (after the last FROM), else ``"root"``."""
    user = "root"
    for word, args in instructions(dockerfile):
        if word == "FROM":
            user = "root"
        elif word == "USER":
            user = args.split(":")[0]
    return user


def reference_immutable(reference: str) -> bool:
    """True for a reference by digest (``name@sha256:<64 hex>``)."""
    return re.search(r"@sha256:[0-9a-f]{64}$", reference) is not None


# --- the cases -----------------------------------------------------------------------

_SMALL = """FROM python:3.12-slim
WORKDIR /srv
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY src ./src
COPY config.yaml .
USER 1000
CMD ["python", "-m", "src.app"]
"""

_CARELESS = """FROM python:latest
COPY . /app
RUN pip install /app
CMD python -m app
"""

_TWO_STAGES = """# build stage
FROM python:3.12 AS build
USER builder
COPY pyproject.toml ./
COPY app ./app
RUN pip wheel --no-deps -w /wheels .

FROM python:3.12-slim@sha256:%s
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl \\
    && rm -rf /wheels
CMD ["python", "-m", "app"]
""" % ("0" * 64)


def _course() -> str:
    """The course's Dockerfile, or nothing where it is absent.

    The grader's sandbox has no course folder; it gets the cases' inputs from
    the grader itself.
    """
    if not COURSE_DOCKERFILE.is_file():
        return ""
    return COURSE_DOCKERFILE.read_text(encoding="utf-8")


def _judge_rebuilt(case: Case, seen: Any) -> tuple[bool, str]:
    text, changed = case.input["args"]
    want = reference_first_rebuilt(text, changed)
    steps = instructions(text)
    call = describe_call("first_rebuilt", ["<Dockerfile>", changed])
    if seen == want and not isinstance(seen, bool):
        return True, ""
    if want is None:
        return False, (f"{call}: no COPY or ADD copies {changed}, so nothing is rebuilt and the "
                       f"answer is None; got {seen!r}")
    word, args = steps[want - 1]
    why = (f"{call}: instruction {want} ({word} {args}) is the first to copy {changed}, so its "
           f"layer and every one after it are built again; got {seen!r}")
    if isinstance(seen, int) and not isinstance(seen, bool) and 1 <= seen <= len(steps):
        got_word, got_args = steps[seen - 1]
        if seen > want:
            why += (f": instruction {seen} ({got_word} {got_args}) comes too late; the cache "
                    "is already broken earlier")
        elif got_word in ("COPY", "ADD"):
            why += (f": instruction {seen} ({got_word} {got_args}) copies other files, which "
                    "did not change, so Docker reuses its layer")
        else:
            why += f": instruction {seen} ({got_word}) does not read {changed}"
    elif isinstance(seen, int) and seen == want - 1:
        why += ": count instructions from 1, as Docker's build steps do"
    return False, why


def _rebuilt_cases() -> list[Case]:
    rows = [
        ("course", "labsupport/apps/serving.py", "the course's Dockerfile, serving's code changed",
         False),
        ("course", "pyproject.toml", "the course's Dockerfile, pyproject.toml changed", False),
        ("small", "src/app.py", "a small Dockerfile, a code change", True),
        ("small", "requirements.txt", "a small Dockerfile, a new dependency", True),
        ("small", "README.md", "a file that is never copied", True),
        ("careless", "app/main.py", "COPY . copies everything", True),
        ("two", "app/model.py", "two stages, a code change", True),
    ]
    texts = {"small": _SMALL, "careless": _CARELESS, "two": _TWO_STAGES}
    return [Case(label, {"args": [_course() if key == "course" else texts[key], changed]},
                 hidden=hidden) for key, changed, label, hidden in rows]


Q1 = Check("ex11.q1", title="which layers rebuild", points=2, answer="first_rebuilt",
           probe="call", cases=_rebuilt_cases(), judge=_judge_rebuilt,
           hint="walk the instructions in order; the first COPY or ADD whose sources include "
                "the changed file (a folder includes everything under it, '.' includes all) "
                "is the first layer Docker cannot reuse.")


def _judge_user(case: Case, seen: Any) -> tuple[bool, str]:
    want = reference_runs_as(case.input["args"][0])
    if isinstance(seen, (str, int)) and not isinstance(seen, bool) and str(seen) == want:
        return True, ""
    why = f"the container runs as {want!r}, got {seen!r}"
    if want == "root":
        why += ": with no USER instruction (in the last stage) a container runs as root"
    elif seen == "root":
        why += ": a USER instruction changes the user for everything after it, CMD included"
    return False, why


Q2 = Check("ex11.q2", title="which user the container runs as", points=2, answer="runs_as",
           probe="call",
           cases=[Case("the course's Dockerfile", {"args": [_course()]}),
                  Case("a small Dockerfile", {"args": [_SMALL]}),
                  Case("a Dockerfile with no USER", {"args": [_CARELESS]}, hidden=True),
                  Case("two stages: only the last one runs", {"args": [_TWO_STAGES]},
                       hidden=True)],
           judge=_judge_user,
           hint="the last USER instruction after the last FROM wins; with none, it is root.")


def _judge_immutable(case: Case, seen: Any) -> tuple[bool, str]:
    ref = case.input["args"][0]
    want = reference_immutable(ref)
    if seen is want:
        return True, ""
    if want:
        return False, (f"{ref[:40]}... names the image by its digest, a hash of its content: "
                       f"it can only ever mean those bytes, so the answer is True; got {seen!r}")
    return False, (f"{ref} is a tag (or no tag, which means latest); whoever pushes to the "
                   "repository can move it to other bytes, so it is not immutable; "
                   f"got {seen!r}")


_DIGEST = "sha256:" + "3f" * 32
Q3 = Check("ex11.q3", title="tags and digests", points=1, answer="immutable", probe="call",
           cases=[Case("a pinned tag", {"args": ["python:3.12-slim"]}),
                  Case("a digest", {"args": [f"python@{_DIGEST}"]}),
                  Case("latest", {"args": ["nginx:latest"]}, hidden=True),
                  Case("no tag at all", {"args": ["busybox"]}, hidden=True),
                  Case("a tag and a digest", {"args": [f"labsupport/course:0.1.0@{_DIGEST}"]},
                       hidden=True)],
           judge=_judge_immutable,
           hint="only a digest (name@sha256:...) is a hash of the image's content; any tag can "
                "be moved to another image.")

EXERCISE = Exercise("ex11", "Reading a Dockerfile", (Q1, Q2, Q3))
