"""Reading a container's command: does it finish, run until stopped, or wait for something?

A simulated container runs no code, so the simulator reads its command (the
``command`` and ``args`` of the container, or the image's default command
when it has none) the way a person would, and only as far as the outcome is
certain:

* a one-shot program (``echo``, ``date``, ``printenv``, a ``perl -e`` or
  ``python -c`` one-liner, a single ``wget``/``curl``/``nslookup``) finishes,
  with exit code 0 unless the script says otherwise (``false``, ``exit 3``);
* a shell script of such steps, with ``sleep N`` and ``exit N``, finishes
  after its sleeps with its exit code;
* a retry loop (``until nslookup db; do sleep 2; done``, or a ``for`` loop
  that tries ``wget`` and gives up after N attempts) waits for a Service or
  a DNS name: it finishes once the name resolves or the Service has ready
  endpoints, and keeps retrying at its own ``sleep`` interval until then;
* a server (``nginx``, ``python -m http.server``, ``sleep infinity``,
  ``tail -f``, ``while true; do ...; done``) runs until it is stopped;
* a shell or interpreter started without a script (``sh``, ``python3``)
  reads the end of its input at once (a container has no terminal unless it
  sets ``stdin``/``tty``) and exits with 0;
* anything else is uncertain: :func:`read_command` returns None and the
  caller (:mod:`labsupport.sim.workloads`) applies its safe default.

Kubernetes runs ``command`` in place of the image's ``ENTRYPOINT`` and
``args`` in place of its ``CMD`` (docs: tasks/inject-data-application/
define-command-argument-container, "Notes").

Example:
    >>> read_command(["sh", "-c", "echo hi && sleep 10"]).exit_after
    10.0
    >>> o = read_command(["sh", "-c", "until nslookup db; do echo waiting; sleep 2; done"])
    >>> o.rule, o.waits_for, o.retry_seconds, o.exit_after
    ('retry loop', ('db',), 2.0, 0.0)
    >>> read_command(["nginx", "-g", "daemon off;"]).exit_after is None
    True
    >>> read_command(["sh", "-c", "./run-batch.sh"]) is None
    True
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

__all__ = ["Outcome", "read_command", "NAMESPACE_MARK", "ONE_LINER_SECONDS", "RETRY_SECONDS",
           "DNS", "CONNECT"]

#: Stands for the pod's namespace in a name a loop waits for (read from
#: ``/var/run/secrets/kubernetes.io/serviceaccount/namespace``).
NAMESPACE_MARK = "<namespace>"
#: How long an interpreter one-liner (``perl -e``, ``python -c``) runs: the
#: simulator's choice.
ONE_LINER_SECONDS = 1.0
#: The retry interval of a loop without ``sleep`` (a real one would spin).
RETRY_SECONDS = 1.0
#: What a retry loop checks: that a name resolves (DNS), or that it answers (CONNECT).
DNS, CONNECT = "dns", "connect"

# Rule names, as the table of labsupport.sim.workloads shows them.
ONE_SHOT_RULE = "one-shot program"
SCRIPT_RULE = "script"
RETRY_RULE = "retry loop"
SERVER_RULE = "server"
SHELL_RULE = "shell without a script"


@dataclass(frozen=True)
class Outcome:
    """How a command ends, and which rule said so.

    Attributes:
        rule: the rule that decided (a row of the table in
            :mod:`labsupport.sim.workloads`).
        why: one sentence a student can read.
        exit_after: seconds until it exits (after the wait, for a retry
            loop); None: runs until stopped.
        exit_code: its exit code when it exits.
        waits_for: the Service or DNS names a retry loop waits for.
        check: ``"dns"`` (the names must resolve) or ``"connect"`` (they
            must answer: a Service with ready endpoints).
        retry_seconds: the loop's interval between tries.
        give_up_after: seconds after which the loop gives up (None: never).
        give_up_code: its exit code when it gives up.
        then_default: what follows the loop is uncertain: the caller's
            default applies once the wait is over.
    """

    rule: str
    why: str
    exit_after: float | None
    exit_code: int = 0
    waits_for: tuple[str, ...] = ()
    check: str = DNS
    retry_seconds: float = RETRY_SECONDS
    give_up_after: float | None = None
    give_up_code: int = 1
    then_default: bool = False


# --- programs ---------------------------------------------------------------------------
_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh"}
_WRAPPERS = {"docker-entrypoint.sh", "entrypoint.sh", "tini", "dumb-init", "exec", "nohup",
             "command", "--"}
_ONE_SHOT = {"echo", "printf", "true", ":", "date", "env", "printenv", "cat", "ls", "hostname",
             "uname", "id", "whoami", "pwd", "mkdir", "touch", "cp", "mv", "rm", "chmod",
             "chown", "ln", "df", "du", "sync", "wc", "head", "tail", "grep", "sort", "uniq",
             "cut", "tr", "sed", "awk", "tee", "base64", "sha256sum", "md5sum", "find", "stat",
             "test", "[", "expr", "seq", "basename", "dirname", "set", "export", "cd", "umask",
             "nproc", "free", "ps", "ip", "ifconfig", "mount", "cal"}
_FAILS = {"false"}
# Single network requests: the outcome of one try is taken as success.
_PROBES = {"nslookup": DNS, "getent": DNS, "wget": CONNECT, "curl": CONNECT, "nc": CONNECT,
           "pg_isready": CONNECT, "redis-cli": CONNECT, "mysqladmin": CONNECT}
_SERVERS = {"nginx", "nginx-debug", "httpd", "httpd-foreground", "apache2-foreground",
            "redis-server", "postgres", "mysqld", "mongod", "pause", "caddy", "traefik",
            "memcached", "uvicorn", "gunicorn", "php-fpm", "http-server", "envoy", "haproxy",
            "coredns", "etcd", "kube-apiserver"}
# agnhost subcommands (test/images/agnhost/README.md) that serve until stopped.
_AGNHOST_SERVERS = {"netexec", "serve-hostname", "pause", "porter", "test-webserver",
                    "liveness", "fake-gitserver", "grpc-health-checking", "nettest",
                    "webhook", "crd-conversion-webhook", "resource-consumer-controller",
                    "guestbook", "mounttest-user", "entrypoint-tester"}
_INTERPRETERS = {"python", "python3", "perl", "node", "ruby", "php"}
_CODE_FLAGS = {"python": "c", "python3": "c", "perl": "eE", "node": "ep", "ruby": "e", "php": "r"}
_SERVING_CODE = re.compile(r"serve_forever|\.listen\(|createServer|http\.server|"
                           r"while\s*\(?\s*(?:True|true|1)\s*\)?\s*[:{]|app\.run\(")
_CODE_EXIT = re.compile(r"(?:sys\.exit|process\.exit|\bexit)\s*\(?\s*(\d+)")
_CODE_SLEEP = re.compile(r"(?:time\.sleep|\bsleep)\s*\(?\s*(\d+(?:\.\d+)?)")
_SLEEP_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class _Step:
    """The outcome of part of a script: how long it takes and how it ends.

    ``end`` is "done" (goes on with the next step), "exit" (the script ends),
    "forever" (never ends) or "wait" (a retry loop: ``loop`` and ``then``).
    """

    seconds: float = 0.0
    code: int = 0
    end: str = "done"
    what: str = ""
    loop: _Loop | None = None
    then: _Step | None = None


@dataclass(frozen=True)
class _Loop:
    names: tuple[str, ...]
    check: str
    interval: float
    attempts: int | None
    give_up: _Step | None  # what happens after the last failed attempt
    success_exits: bool  # the loop ends the script on success (``... && exit 0``)


class _Uncertain(Exception):
    """The script's outcome cannot be known from its text."""


def read_command(command: list | tuple | None, args: list | tuple | None = None, *,
                 default: tuple[str, ...] = (), entrypoint: tuple[str, ...] = ()
                 ) -> Outcome | None:
    """Read a container's ``command`` and ``args`` (or the image's ``default`` command).

    Args:
        command: the container's ``command`` (replaces the image's ENTRYPOINT).
        args: the container's ``args`` (replace the image's CMD).
        default: the image's ENTRYPOINT + CMD, used when neither is given.
        entrypoint: the image's ENTRYPOINT, kept in front of ``args`` alone.

    Returns:
        The outcome, or None when it cannot be known from the text.

    Example:
        >>> read_command(["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]).exit_after
        1.0
        >>> read_command(["sh", "-c", "sleep 5; exit 1"]).exit_code
        1
        >>> read_command(None, None, default=("sh",)).why
        'sh without a script reads the end of its input at once and exits with 0.'
        >>> read_command(None, ["netexec"], entrypoint=("/agnhost",)).rule
        'server'
    """
    if command:
        words = [str(w) for w in command] + [str(w) for w in args or ()]
    elif args:
        words = list(entrypoint) + [str(w) for w in args]
    else:
        words = list(default)
    if not words:
        return None
    try:
        step = _program(words, top=True)
    except _Uncertain:
        return None
    return _outcome(step, words)


def _outcome(step: _Step, words: list[str]) -> Outcome:
    text = shlex.join(words) if len(" ".join(words)) <= 60 else " ".join(words)[:57] + "..."
    if step.end == "forever":
        return Outcome(SERVER_RULE, f"{step.what or text} runs until it is stopped.", None)
    if step.end == "wait":
        loop = step.loop
        assert loop is not None and step.then is not None
        then = step.then
        names = ", ".join(loop.names)
        verb = "resolves" if loop.check == DNS else "answers"
        limit = ""
        give_up_after, give_up_code = None, 1
        if loop.attempts is not None:
            give_up_after = loop.attempts * loop.interval
            give_up = loop.give_up or _Step()
            give_up_code = give_up.code
            limit = f" (it gives up with exit code {give_up_code} after {loop.attempts} tries)"
        after = {"forever": "then runs until it is stopped",
                 "unknown": "then runs what follows"}.get(then.end, f"then exits with {then.code}")
        return Outcome(RETRY_RULE,
                       f"a retry loop: it tries every {loop.interval:g} s until {names} {verb}, "
                       f"{after}{limit}.",
                       None if then.end in ("forever", "unknown") else then.seconds, then.code,
                       loop.names, loop.check, loop.interval, give_up_after, give_up_code,
                       then.end == "unknown")
    if step.what == SHELL_RULE:
        return Outcome(SHELL_RULE, f"{words[0]} without a script reads the end of its input "
                                   "at once and exits with 0.", 0.0, 0)
    rule = ONE_SHOT_RULE if step.what == ONE_SHOT_RULE else SCRIPT_RULE
    return Outcome(rule, f"{text} exits with {step.code} after {step.seconds:g} s.",
                   step.seconds, step.code)


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _program(words: list[str], top: bool = False) -> _Step:
    """The outcome of one simple command (its words already split)."""
    while words and (re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]) or _base(words[0]) in _WRAPPERS):
        words = words[1:]
    if words and _base(words[0]) == "env":
        rest = [w for w in words[1:] if not re.fullmatch(r"[A-Za-z_]\w*=.*|-\w+", w)]
        if rest:
            words = rest
    if not words:
        return _Step(what=ONE_SHOT_RULE)
    prog, rest = _base(words[0]), words[1:]
    if prog in _SHELLS:
        return _shell(prog, rest, top)
    if prog == "busybox" and rest:
        return _program(rest, top)
    if prog == "sleep":
        return _sleep(rest)
    if prog == "exit":
        if not rest:
            return _Step(end="exit", code=-1)  # the code of the last command
        if not rest[0].isdigit():
            raise _Uncertain
        return _Step(end="exit", code=int(rest[0]) % 256)
    if prog == "tail" and any(w in ("-f", "-F") or w.startswith("--follow") for w in rest):
        return _Step(end="forever", what=shlex.join(words))
    if prog in _FAILS:
        return _Step(code=1, what=ONE_SHOT_RULE)
    if prog in _ONE_SHOT:
        return _Step(what=ONE_SHOT_RULE)
    if prog == "nc" and any(w.startswith("-") and "l" in w for w in rest):
        return _Step(end="forever", what=shlex.join(words))
    if prog in _PROBES:
        if prog == "curl" and not rest:
            return _Step(code=2, what=ONE_SHOT_RULE)  # "curl: try 'curl --help'"
        return _Step(what=ONE_SHOT_RULE)
    if prog in _SERVERS or prog.startswith("python") and rest[:2] == ["-m", "http.server"]:
        return _Step(end="forever", what=shlex.join(words))
    if prog.startswith("python") and rest[:1] == ["-m"] and rest[1:2] \
            and rest[1].startswith("labsupport.apps."):
        return _Step(end="forever", what=shlex.join(words))
    if prog == "agnhost":
        if not rest or rest[0] in ("-h", "--help", "help"):
            return _Step(what=ONE_SHOT_RULE)
        if rest[0] in _AGNHOST_SERVERS:
            return _Step(end="forever", what=shlex.join(words))
        return _Step(seconds=ONE_LINER_SECONDS, what=ONE_SHOT_RULE)
    name = re.sub(r"\d+(\.\d+)*$", "", prog)  # python3.12 -> python, perl5.40.0 -> perl
    if name in _INTERPRETERS or prog in _INTERPRETERS:
        return _interpreter(name if name in _CODE_FLAGS else prog, rest)
    raise _Uncertain


def _shell(prog: str, rest: list[str], top: bool) -> _Step:
    """``sh -c SCRIPT``, or a shell without a script (exits at end of input)."""
    for i, word in enumerate(rest):
        if word.startswith("-") and "c" in word[1:] and not word.startswith("--"):
            if i + 1 >= len(rest):
                raise _Uncertain
            return _script(rest[i + 1])
        if not word.startswith("-"):
            raise _Uncertain  # sh script.sh: a file the simulator cannot read
    return _Step(what=SHELL_RULE if top else ONE_SHOT_RULE)


def _sleep(rest: list[str]) -> _Step:
    if not rest:
        raise _Uncertain
    if rest[0] in ("infinity", "inf"):
        return _Step(end="forever", what=f"sleep {rest[0]}")
    total = 0.0
    for word in rest:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", word)
        if m is None:
            raise _Uncertain
        total += float(m.group(1)) * _SLEEP_UNITS[m.group(2)]
    return _Step(seconds=total, what="sleep")


def _interpreter(prog: str, rest: list[str]) -> _Step:
    """``python -c CODE``, ``perl -wle CODE``...: a one-liner runs and exits."""
    if not rest:
        return _Step(what=SHELL_RULE)  # a read-eval-print loop at end of input
    flags = _CODE_FLAGS.get(prog, "e")
    for i, word in enumerate(rest):
        if word.startswith("-") and not word.startswith("--") and word[-1] in flags \
                and i + 1 < len(rest):
            code = rest[i + 1]
            if _SERVING_CODE.search(code):
                return _Step(end="forever", what=f"{prog} code that serves")
            m = _CODE_EXIT.search(code)
            sleeps = sum(float(s) for s in _CODE_SLEEP.findall(code))
            return _Step(seconds=ONE_LINER_SECONDS + sleeps, code=int(m.group(1)) % 256 if m else 0,
                         what=ONE_SHOT_RULE)
        if not word.startswith("-"):
            raise _Uncertain  # python app.py: a program the simulator cannot read
    return _Step(what=SHELL_RULE)  # only options (perl -de0): a prompt at end of input


# --- shell scripts ----------------------------------------------------------------------
_NAMESPACE_WORD = "__pod_namespace__"
_NAMESPACE_FILE = re.compile(
    r"\$\(\s*cat\s+/var/run/secrets/kubernetes\.io/serviceaccount/namespace\s*\)"
    r"|`\s*cat\s+/var/run/secrets/kubernetes\.io/serviceaccount/namespace\s*`")
_SEQ = re.compile(r"\$\(\s*seq\s+(?:(\d+)\s+)?(\d+)\s*\)|`\s*seq\s+(?:(\d+)\s+)?(\d+)\s*`")
_BRACES = re.compile(r"\{(\d+)\.\.(\d+)\}")
_SUBST = re.compile(r"\$\(\([^()]*\)\)|\$\([^()]*\)|`[^`]*`")
_FD_REDIRECT = re.compile(r"(?<![\w$])\d+(?=[<>])")
_OPERATOR = re.compile(r"&&|\|\||;;|>>|>&|<&|&>|[;|&()<>\n]")
_REDIRECTS = {">", ">>", "<", ">&", "<&", "&>"}
_SEPARATORS = {";", "\n", "&&", "||", "&"}


def _tokens(script: str) -> list[str]:
    """Split a script into words and operators; newlines become ``;``."""
    text = script.replace("\\\n", " ")
    text = _NAMESPACE_FILE.sub(_NAMESPACE_WORD, text)
    text = _SEQ.sub(lambda m: f"__seq_{m.group(1) or m.group(3) or 1}_{m.group(2) or m.group(4)}__",
                    text)
    text = _BRACES.sub(lambda m: f"__seq_{m.group(1)}_{m.group(2)}__", text)
    text = _SUBST.sub("$__subst__", text)
    text = _FD_REDIRECT.sub("", text)
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            continue
        lines.append(line)
    lex = shlex.shlex(";".join(lines), posix=True, punctuation_chars="();<>|&")
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        raw = list(lex)
    except ValueError:
        raise _Uncertain from None  # unbalanced quotes
    out: list[str] = []
    for tok in raw:
        if tok and set(tok) <= set("();<>|&"):
            out.extend(_OPERATOR.findall(tok))
        else:
            out.append(tok)
    # Drop redirections and their targets (``> /dev/null``, ``2>&1``).
    cleaned: list[str] = []
    skip = False
    for tok in out:
        if skip:
            skip = False
            continue
        if tok in _REDIRECTS:
            skip = True
            continue
        cleaned.append(";" if tok == "\n" else tok)
    return cleaned


class _Parser:
    """A small reader of POSIX shell lists.

    It knows simple commands, ``&&``/``||``/``;``, pipes, ``while``/``until``/``for``
    loops, ``if`` and ``{ }``/``( )`` groups.
    """

    def __init__(self, tokens: list[str]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise _Uncertain
        self.i += 1
        return tok

    def list(self, stop: tuple[str, ...] = ()) -> list[tuple[str, object]]:
        """``[(operator before, command)]`` up to a word in ``stop``."""
        items: list[tuple[str, object]] = []
        op = ";"
        while True:
            while self.peek() == ";":
                self.take()
            tok = self.peek()
            if tok is None or tok in stop:
                return items
            items.append((op, self.pipeline()))
            nxt = self.peek()
            if nxt in _SEPARATORS:
                op = self.take()
                if op == "&":
                    items[-1] = ("&" + items[-1][0], items[-1][1])
                    op = ";"
            else:
                op = ";"

    def pipeline(self) -> object:
        negate = self.peek() == "!"
        if negate:
            self.take()
        parts = [self.command()]
        while self.peek() == "|":
            self.take()
            parts.append(self.command())
        node: object = parts[0] if len(parts) == 1 else ("pipe", parts)
        return ("not", node) if negate else node

    def command(self) -> object:
        tok = self.peek()
        if tok in ("while", "until"):
            self.take()
            cond = self.list(("do",))
            self.take("do")
            body = self.list(("done",))
            self.take("done")
            return (tok, cond, body)
        if tok == "for":
            self.take()
            self.take()  # the variable
            words: list[str] = []
            if self.peek() == "in":
                self.take()
                while self.peek() not in (";", "do", None):
                    words.append(self.take())
            while self.peek() == ";":
                self.take()
            self.take("do")
            body = self.list(("done",))
            self.take("done")
            return ("for", words, body)
        if tok == "if":
            self.take()
            branches = []
            cond = self.list(("then",))
            self.take("then")
            branches.append((cond, self.list(("elif", "else", "fi"))))
            while self.peek() == "elif":
                self.take()
                cond = self.list(("then",))
                self.take("then")
                branches.append((cond, self.list(("elif", "else", "fi"))))
            other = []
            if self.peek() == "else":
                self.take()
                other = self.list(("fi",))
            self.take("fi")
            return ("if", branches, other)
        if tok in ("{", "("):
            self.take()
            body = self.list(("}", ")"))
            self.take("}" if tok == "{" else ")")
            return ("group", body)
        words = []
        while self.peek() is not None and self.peek() not in _SEPARATORS | {"|", ")", "}"}:
            if self.peek() in ("(", "do", "done", "then", "fi", "elif", "else") and not words:
                raise _Uncertain
            words.append(self.take())
            if words[-1] in ("(",):
                raise _Uncertain  # a function definition
        if not words:
            raise _Uncertain
        return ("simple", words)


def _script(script: str) -> _Step:
    parser = _Parser(_tokens(script))
    items = parser.list()
    if parser.peek() is not None:
        raise _Uncertain
    return _run_list(items)


def _run_list(items: list, code: int = 0) -> _Step:
    seconds = 0.0
    for index, (op, node) in enumerate(items):
        if op == "&&" and code != 0 or op == "||" and code == 0:
            continue
        if op.startswith("&") and op != "&&":  # a background job: the script goes on
            step = _run(node)
            if step.end == "exit":
                raise _Uncertain
            code = 0
            continue
        step = _run(node)
        if step.end == "done":
            seconds += step.seconds
            code = step.code
            continue
        if step.end == "exit":
            return _Step(seconds + step.seconds, code if step.code < 0 else step.code, "exit")
        if step.end == "forever":
            return step
        # a retry loop: what follows it runs once it succeeds, or once it gives up
        assert step.loop is not None
        rest = items[index + 1:]
        then = _Step(0.0, 0, "exit") if step.loop.success_exits else _finish(rest)
        give_up = _finish(rest, 1) if step.loop.attempts is not None else None
        loop = _Loop(step.loop.names, step.loop.check, step.loop.interval, step.loop.attempts,
                     give_up, step.loop.success_exits)
        return _Step(seconds, 0, "wait", loop=loop, then=_Step(then.seconds, then.code, then.end))
    return _Step(seconds, code)


def _finish(rest: list, code: int = 0) -> _Step:
    """What the script does after a retry loop; end "unknown" when that is uncertain."""
    try:
        step = _run_list(rest, code)
    except _Uncertain:
        return _Step(code=code, end="unknown")
    if step.end == "wait":
        return _Step(code=code, end="unknown")  # two loops in a row: keep it simple
    return step


def _run(node: object) -> _Step:
    kind = node[0]  # type: ignore[index]
    if kind == "simple":
        words = node[1]  # type: ignore[index]
        if any("$__subst__" in w for w in words) and _base(words[0]) not in _ONE_SHOT:
            raise _Uncertain
        return _program(list(words))
    if kind == "not":
        step = _run(node[1])  # type: ignore[index]
        if step.end != "done":
            raise _Uncertain
        return _Step(step.seconds, 0 if step.code else 1)
    if kind == "pipe":
        steps = [_run(p) for p in node[1]]  # type: ignore[index]
        if any(s.end != "done" for s in steps):
            raise _Uncertain
        return _Step(max(s.seconds for s in steps), steps[-1].code)
    if kind == "group":
        return _run_list(node[1])  # type: ignore[index]
    if kind == "if":
        for cond, body in node[1]:  # type: ignore[index]
            if _probe_names(cond) is not None or _probe_names(cond, negated=True) is not None:
                raise _Uncertain  # its outcome depends on the cluster
            c = _run_list(cond)
            if c.end != "done":
                raise _Uncertain
            if c.code == 0:
                return _run_list(body)
        return _run_list(node[2])  # type: ignore[index]
    if kind in ("while", "until"):
        return _while(kind, node[1], node[2])  # type: ignore[index]
    if kind == "for":
        return _for(node[1], node[2])  # type: ignore[index]
    raise _Uncertain


def _interval(body: list) -> float:
    total = 0.0
    for _, node in body:
        if node[0] == "simple" and _base(node[1][0]) == "sleep":
            total += _sleep(node[1][1:]).seconds
    return total or RETRY_SECONDS


_ALWAYS_TRUE = (["true"], [":"], ["/bin/true"], ["[", "1", "]"], ["[", "true", "]"])


def _endless(kind: str, cond: list) -> bool:
    """``while true``, ``while :``, ``while sleep 5``, ``until false``: a loop without end."""
    if len(cond) != 1 or cond[0][1][0] != "simple":
        return False
    words = cond[0][1][1]
    if kind == "until":
        return words in (["false"], ["/bin/false"])
    return words in _ALWAYS_TRUE or (_base(words[0]) == "sleep" and len(words) == 2
                                     and words[1].replace(".", "", 1).isdigit())


def _while(kind: str, cond: list, body: list) -> _Step:
    names = _probe_names(cond, negated=kind == "while")
    if names is not None:  # until PROBE; do ...; done   /   while ! PROBE; do ...; done
        targets, check = names
        return _Step(end="wait", loop=_Loop(targets, check, _interval(body), None, None, False))
    found = _success_exit(body)
    if found is not None:  # while true; do PROBE && break; sleep 2; done
        (targets, check), exits = found
        return _Step(end="wait", loop=_Loop(targets, check, _interval(body), None, None, exits))
    if _endless(kind, cond) and not _mentions(body, {"break", "exit", "return"}):
        return _Step(end="forever", what=f"a {kind} loop that never ends")
    raise _Uncertain


def _for(words: list[str], body: list) -> _Step:
    count = 0
    for w in words:
        m = re.fullmatch(r"__seq_(\d+)_(\d+)__", w)
        if m:
            count += max(0, int(m.group(2)) - int(m.group(1)) + 1)
        elif "$" in w or "*" in w:
            raise _Uncertain
        else:
            count += 1
    found = _success_exit(body)
    if found is not None:  # for i in $(seq 1 30); do wget -q svc && exit 0; sleep 2; done
        (targets, check), exits = found
        return _Step(end="wait", loop=_Loop(targets, check, _interval(body), count, None, exits))
    step = _run_list(body)
    if step.end != "done" or _mentions(body, {"break", "continue"}):
        raise _Uncertain
    return _Step(step.seconds * count, step.code if count else 0)


def _mentions(items: list, words: set[str]) -> bool:
    for _, node in items:
        if node[0] == "simple" and _base(node[1][0]) in words:
            return True
        if node[0] in ("group",) and _mentions(node[1], words):
            return True
        if node[0] == "if" and any(_mentions(b, words) for _, b in node[1]):
            return True
    return False


def _success_exit(body: list) -> tuple[tuple[tuple[str, ...], str], bool] | None:
    """``PROBE && break`` / ``PROBE && exit 0`` / ``if PROBE; then break; fi`` in a loop body.

    Returns:
        ((names, check), whether success ends the script), or None.
    """
    for index, (_, node) in enumerate(body):
        if node[0] == "if" and len(node[1]) == 1 and not node[2]:
            cond, then = node[1][0]
            names = _probe_names(cond)
            leaves = _leaves(then)
            if names is not None and leaves is not None:
                return names, leaves
        nxt = body[index + 1] if index + 1 < len(body) else None
        if nxt is not None and nxt[0] == "&&":
            names = _probe_names([(";", node)])
            leaves = _leaves([(";", nxt[1])])
            if names is not None and leaves is not None:
                return names, leaves
    return None


def _leaves(items: list) -> bool | None:
    """True for ``exit 0``, False for ``break``, None for anything else (echo may come first)."""
    for _, node in items:
        if node[0] != "simple":
            return None
        prog = _base(node[1][0])
        if prog == "break":
            return False
        if prog == "exit":
            return True if node[1][1:] in ([], ["0"]) else None
        if prog not in ("echo", "printf", "true", ":"):
            return None
    return None


def _probe_names(cond: list, negated: bool = False) -> tuple[tuple[str, ...], str] | None:
    """The names a condition checks, when it is only network probes (else None).

    ``until PROBE`` and ``if PROBE`` check that PROBE succeeds; ``while ! PROBE``
    is written with ``!`` (``negated``).
    """
    names: list[str] = []
    checks = set()
    for index, (op, node) in enumerate(cond):
        if index and op != "&&":
            return None
        if (node[0] == "not") != negated:
            return None
        if negated:
            node = node[1]
        if node[0] == "pipe":  # nslookup db | grep Address
            node = node[1][0]
        if node[0] != "simple":
            return None
        found = _probe_target(node[1])
        if found is None:
            return None
        names.append(found[0])
        checks.add(found[1])
    if not names:
        return None
    return tuple(dict.fromkeys(names)), CONNECT if CONNECT in checks else DNS


# Options that take a value, per probe program.
_VALUE_OPTIONS = {
    "curl": {"-o", "-H", "-X", "-d", "-m", "-u", "-w", "-A", "-e", "--max-time", "--output",
             "--header", "--request", "--data", "--connect-timeout", "--retry", "--user",
             "--write-out", "--cacert", "--resolve"},
    "wget": {"-O", "-T", "-t", "-o", "-U", "--timeout", "--tries", "--output-document",
             "--header", "--user-agent"},
    "nc": {"-w", "-W", "-i", "-q", "-p", "-s"},
    "nslookup": set(), "getent": set(),
}
_HOST_OPTIONS = {"pg_isready": "-h", "redis-cli": "-h", "mysqladmin": "-h"}
_NAME = re.compile(r"[a-z0-9<]([a-z0-9.<>-]*[a-z0-9>])?")


def _probe_target(words: list[str]) -> tuple[str, str] | None:
    """(name, check) of a network probe command, or None when it is not one."""
    while words and _base(words[0]) in _WRAPPERS | {"timeout"}:
        words = words[2:] if _base(words[0]) == "timeout" else words[1:]
    if not words:
        return None
    prog, rest = _base(words[0]), words[1:]
    if prog == "busybox" and rest:
        prog, rest = _base(rest[0]), rest[1:]
    if prog in _HOST_OPTIONS:
        flag = _HOST_OPTIONS[prog]
        for i, w in enumerate(rest):
            if w == flag and i + 1 < len(rest):
                return _host(rest[i + 1], CONNECT)
            if w.startswith(flag) and len(w) > len(flag):
                return _host(w[len(flag):], CONNECT)
        return None
    if prog not in _VALUE_OPTIONS:
        return None
    if prog == "getent":
        rest = rest[1:] if rest[:1] == ["hosts"] else []
    operands: list[str] = []
    skip = False
    for w in rest:
        if skip:
            skip = False
        elif w.startswith("-"):
            skip = w in _VALUE_OPTIONS[prog]
        else:
            operands.append(w)
    if not operands:
        return None
    urls = [w for w in operands if "://" in w]
    target = urls[0] if urls else operands[0]
    return _host(target, _PROBES[prog])


def _host(target: str, check: str) -> tuple[str, str] | None:
    host = target.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    host = host.lower().rstrip(".").replace(_NAMESPACE_WORD, NAMESPACE_MARK)
    if "$" in host or not _NAME.fullmatch(host):
        return None
    return host, check
