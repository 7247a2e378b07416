r"""A small wrapper of the ``kind`` and ``docker`` command-line tools.

kind (Kubernetes IN Docker) runs each Kubernetes node as a docker container.
This module runs the few commands the course needs and turns their failures
into errors that say what is missing and the one command that fixes it.

Two rules keep a learner's machine safe:

* A kind cluster made here gets its own kubeconfig file
  (``~/.cache/labsupport/kind-<name>.kubeconfig``); ``kind create cluster``
  would otherwise switch the current context of ``~/.kube/config``.
* Nothing here decides whether a cluster may be harmed; it only reports the
  facts (cluster names, container labels) that :mod:`labsupport.kube.safety`
  checks.

The command runner is injectable, so every command can be tested without
docker:

Example:
    >>> calls = []
    >>> def fake(argv):
    ...     calls.append(argv)
    ...     return 0, "labs\nother\n", ""
    >>> k = Kind(runner=fake)
    >>> k.clusters()
    ['labs', 'other']
    >>> calls
    [['kind', 'get', 'clusters']]
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labsupport.errors import ClusterUnavailable, Invalid
from labsupport.version import KIND_VERSION

__all__ = [
    "Kind",
    "Runner",
    "run_command",
    "kubeconfig_path",
    "config_path",
    "cluster_configs",
    "CLUSTER_LABEL",
    "DEFAULT_NAME",
    "DEFAULT_CONFIG",
    "CONFIGS_DIR",
]

#: The label kind puts on every node container: io.x-k8s.kind.cluster=<name>.
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
#: The lab cluster's name when none is given.
DEFAULT_NAME = "labs"
#: The config in clusters/kind/ used when none is given.
DEFAULT_CONFIG = "labs"
#: Where the cluster configs live (clusters/kind/ at the top of the course).
CONFIGS_DIR = Path(__file__).resolve().parents[2] / "clusters" / "kind"

#: A command runner: takes an argv list and returns ``(returncode, stdout,
#: stderr)`` or an object with ``returncode``, ``stdout`` and ``stderr``
#: (such as :class:`subprocess.CompletedProcess`). It raises
#: ``FileNotFoundError`` (or returns code 127) when the program is missing.
Runner = Callable[[list[str]], Any]

_INSTALL_DOCKER = "install Docker: https://docs.docker.com/get-docker/"
_INSTALL_KIND = (f"install kind: go install sigs.k8s.io/kind@{KIND_VERSION} "
                 "(or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
_START_DOCKER = "start Docker Desktop, or on Linux run: sudo systemctl start docker"
_DOCKER_GROUP = ("add yourself to the docker group: sudo usermod -aG docker $USER "
                 "(then log in again)")


def run_command(argv: list[str], timeout: float | None = 600) -> tuple[int, str, str]:
    """Run a program and return ``(returncode, stdout, stderr)``.

    A program that is not installed gives return code 127, as a shell does.

    Example:
        >>> run_command(["no-such-program-labsupport"])[0]
        127
    """
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError as err:
        return 127, "", f"{argv[0]}: command not found ({err})"
    except subprocess.TimeoutExpired:
        return 124, "", f"{' '.join(argv)} did not finish within {timeout} s"
    return done.returncode, done.stdout or "", done.stderr or ""


def kubeconfig_path(name: str) -> Path:
    """The private kubeconfig file of the kind cluster ``name``.

    It lives in ``$LABSUPPORT_CACHE`` if set, else ``$XDG_CACHE_HOME/labsupport``,
    else ``~/.cache/labsupport``.

    Example:
        >>> kubeconfig_path("labs").name
        'kind-labs.kubeconfig'
    """
    base = os.environ.get("LABSUPPORT_CACHE")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "labsupport"
    return root / f"kind-{name}.kubeconfig"


def config_path(config: str | os.PathLike[str] | None = None) -> Path:
    """Resolve a cluster config: a name in clusters/kind/ or a path to a file.

    Args:
        config: ``"labs"``, ``"single-node"``, ``"nodeport"`` (the files in
            clusters/kind/), or a path to your own kind config. None means
            ``"labs"``.

    Raises:
        Invalid: no such config; the message lists the ones that exist.

    Example:
        >>> config_path("single-node").name
        'single-node.yaml'
    """
    chosen = DEFAULT_CONFIG if config is None else config
    path = Path(chosen)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    named = CONFIGS_DIR / f"{chosen}.yaml"
    if named.exists() and _is_cluster_config(named):
        return named
    raise Invalid(f'no kind config "{chosen}"; use one of: '
                  f'{", ".join(cluster_configs()) or "(none found)"} '
                  "or a path to a kind config file")


def cluster_configs() -> list[str]:
    """The names of the kind cluster configs in clusters/kind/.

    Example:
        >>> cluster_configs()
        ['labs', 'nodeport', 'single-node']
    """
    if not CONFIGS_DIR.is_dir():
        return []
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml") if _is_cluster_config(p))


def _is_cluster_config(path: Path) -> bool:
    # clusters/kind/ also keeps add-ons (metrics-server.yaml): a kind config
    # is the file whose top level says "kind: Cluster".
    try:
        text = path.read_text()
    except OSError:
        return False
    return any(line.strip() == "kind: Cluster" for line in text.splitlines())


@dataclass(frozen=True)
class Result:
    """What a command returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the command exited with code 0."""
        return self.returncode == 0


class Kind:
    """The ``kind`` and ``docker`` commands the course uses.

    Args:
        runner: runs one command (see :data:`Runner`); defaults to
            :func:`run_command`.
        kind: the kind program, ``"kind"`` unless it lives elsewhere.
        docker: the docker program.
    """

    def __init__(self, runner: Runner | None = None, kind: str = "kind",
                 docker: str = "docker") -> None:
        self.runner: Runner = runner or run_command
        self.kind_bin = kind
        self.docker_bin = docker

    def __repr__(self) -> str:
        return f"<Kind {self.kind_bin!r} {self.docker_bin!r}>"

    # --- running -----------------------------------------------------------
    def run(self, argv: Sequence[str]) -> Result:
        """Run one command through the runner; never raises for a failure."""
        argv = [str(a) for a in argv]
        try:
            out = self.runner(argv)
        except FileNotFoundError as err:
            return Result(127, "", f"{argv[0]}: command not found ({err})")
        if isinstance(out, tuple):
            code, stdout, stderr = out
        else:
            code, stdout, stderr = out.returncode, out.stdout, out.stderr
        if isinstance(stdout, bytes):
            stdout = stdout.decode(errors="replace")
        if isinstance(stderr, bytes):
            stderr = stderr.decode(errors="replace")
        return Result(int(code), stdout or "", stderr or "")

    def _kind(self, *args: str) -> Result:
        res = self.run([self.kind_bin, *args])
        if res.returncode == 127:
            raise ClusterUnavailable("kind is not installed (the kind command was not found)",
                                     _INSTALL_KIND)
        return res

    def _docker(self, *args: str) -> Result:
        res = self.run([self.docker_bin, *args])
        if res.returncode == 127:
            raise ClusterUnavailable("Docker is not installed (the docker command was not found)",
                                     _INSTALL_DOCKER)
        if not res.ok:
            _raise_if_daemon_down(res.stderr)
        return res

    # --- checks ------------------------------------------------------------
    def check_docker(self) -> str:
        """Make sure docker is installed and its daemon answers; return its version.

        Raises:
            ClusterUnavailable: docker is missing, its daemon is not running,
                or this user may not use it.
        """
        res = self._docker("version", "--format", "{{.Server.Version}}")
        if not res.ok:
            raise ClusterUnavailable(f"docker does not work: {_last_line(res.stderr)}",
                                     _START_DOCKER)
        return res.stdout.strip()

    def check_kind(self) -> str:
        """Make sure kind is installed; return its version line.

        Raises:
            ClusterUnavailable: kind is missing or broken.
        """
        res = self._kind("version")
        if not res.ok:
            raise ClusterUnavailable(f"kind does not work: {_last_line(res.stderr)}",
                                     _INSTALL_KIND)
        return res.stdout.strip()

    def require(self) -> None:
        """Check docker, its daemon and kind, in the order a learner fixes them."""
        self.check_docker()
        self.check_kind()

    # --- clusters ----------------------------------------------------------
    def clusters(self) -> list[str]:
        """The names of the kind clusters on this machine (``kind get clusters``)."""
        res = self._kind("get", "clusters")
        if not res.ok:
            _raise_if_daemon_down(res.stderr)
            raise ClusterUnavailable(f"kind get clusters failed: {_last_line(res.stderr)}",
                                     _START_DOCKER)
        # "No kind clusters found." goes to stderr; stdout has one name a line.
        return [line.strip() for line in res.stdout.splitlines() if line.strip()]

    def exists(self, name: str) -> bool:
        """True when ``kind get clusters`` lists ``name``."""
        return name in self.clusters()

    def create(self, name: str = DEFAULT_NAME, config: str | os.PathLike[str] | None = None,
               wait: str = "120s", image: str | None = None) -> Path:
        """Create a kind cluster with a private kubeconfig; return that file.

        ``--kubeconfig`` points kind at our own file, so the user's current
        context in ``~/.kube/config`` stays as it was.

        Args:
            name: the cluster's name (containers ``<name>-control-plane``...).
            config: a name in clusters/kind/ or a path (see :func:`config_path`).
            wait: how long kind waits for the control plane to be Ready.
            image: a node image that overrides the config's.

        Raises:
            ClusterUnavailable: docker or kind is missing, or kind failed.
        """
        _check_name(name)
        path = kubeconfig_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        argv = ["create", "cluster", "--name", name, "--kubeconfig", str(path),
                "--config", str(config_path(config)), "--wait", wait]
        if image:
            argv += ["--image", image]
        res = self._kind(*argv)
        if not res.ok:
            _raise_if_daemon_down(res.stderr)
            raise ClusterUnavailable(
                f'kind could not create cluster "{name}": {_last_line(res.stderr)}',
                f"look at the output of: kind create cluster --name {name} "
                f"--config {config_path(config)}")
        _private(path)
        return path

    def delete(self, name: str = DEFAULT_NAME) -> None:
        """Delete a kind cluster and its private kubeconfig file."""
        _check_name(name)
        path = kubeconfig_path(name)
        res = self._kind("delete", "cluster", "--name", name, "--kubeconfig", str(path))
        if not res.ok:
            _raise_if_daemon_down(res.stderr)
            raise ClusterUnavailable(
                f'kind could not delete cluster "{name}": {_last_line(res.stderr)}',
                f"docker rm -f $(docker ps -aq --filter label={CLUSTER_LABEL}={name})")
        path.unlink(missing_ok=True)

    def nodes(self, name: str = DEFAULT_NAME) -> list[str]:
        """The node container names of a cluster (``kind get nodes``)."""
        res = self._kind("get", "nodes", "--name", name)
        if not res.ok:
            raise ClusterUnavailable(f'kind get nodes failed for "{name}": '
                                     f"{_last_line(res.stderr)}", _START_DOCKER)
        return sorted(line.strip() for line in res.stdout.splitlines() if line.strip())

    def write_kubeconfig(self, name: str = DEFAULT_NAME) -> Path:
        """Write the cluster's kubeconfig to its private file and return the path.

        Uses ``kind get kubeconfig``, which prints it and changes nothing else.

        Raises:
            ClusterUnavailable: the cluster does not exist.
        """
        _check_name(name)
        res = self._kind("get", "kubeconfig", "--name", name)
        if not res.ok or not res.stdout.strip():
            _raise_if_daemon_down(res.stderr)
            raise missing_cluster(name)
        path = kubeconfig_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(res.stdout)
        _private(path)
        return path

    def load_image(self, image: str, name: str = DEFAULT_NAME) -> None:
        """Copy a local docker image into every node (``kind load docker-image``).

        Pods then use it without a registry, if their image has a tag other
        than ``latest`` or their imagePullPolicy is IfNotPresent or Never.
        """
        res = self._kind("load", "docker-image", image, "--name", name)
        if not res.ok:
            raise ClusterUnavailable(
                f'could not load image "{image}" into cluster "{name}": '
                f"{_last_line(res.stderr)}",
                f"build it first: docker build -t {image} -f clusters/images/Dockerfile .")

    # --- docker ------------------------------------------------------------
    def pause(self, container: str) -> None:
        """Freeze a node container (``docker pause``): the node goes silent, keeps its IP."""
        self._docker_on_node("pause", container)

    def unpause(self, container: str) -> None:
        """Thaw a paused node container (``docker unpause``)."""
        self._docker_on_node("unpause", container)

    def start(self, container: str) -> None:
        """Start a stopped node container (after a reboot, ``docker start``)."""
        self._docker_on_node("start", container)

    def _docker_on_node(self, verb: str, container: str) -> None:
        res = self._docker(verb, container)
        if not res.ok:
            raise ClusterUnavailable(f"docker {verb} {container} failed: "
                                     f"{_last_line(res.stderr)}",
                                     f"docker ps -a --filter name={container}")

    def label(self, container: str, key: str = CLUSTER_LABEL) -> str | None:
        """The value of one label of a container, or None (no label, no container)."""
        res = self._docker("inspect", "--format",
                           '{{ index .Config.Labels "' + key + '" }}', container)
        if not res.ok:
            return None
        value = res.stdout.strip()
        return value if value and value != "<no value>" else None

    def containers(self, name: str = DEFAULT_NAME) -> dict[str, str]:
        """The node containers of a cluster and their state (running, paused, exited)."""
        res = self._docker("ps", "-a", "--filter", f"label={CLUSTER_LABEL}={name}",
                           "--format", "{{.Names}}\t{{.State}}")
        if not res.ok:
            return {}
        found = {}
        for line in res.stdout.splitlines():
            if "\t" in line:
                cname, state = line.split("\t", 1)
                found[cname.strip()] = state.strip()
        return dict(sorted(found.items()))

    def image_exists(self, image: str) -> bool:
        """True when the local docker has the image."""
        return self._docker("image", "inspect", image).ok

    def build_image(self, tag: str, context: str | os.PathLike[str],
                    dockerfile: str | os.PathLike[str] | None = None) -> None:
        """Build a docker image (``docker build -t TAG [-f FILE] CONTEXT``)."""
        argv = ["build", "-t", tag]
        if dockerfile is not None:
            argv += ["-f", str(dockerfile)]
        argv.append(str(context))
        res = self._docker(*argv)
        if not res.ok:
            raise ClusterUnavailable(f'docker could not build "{tag}": {_last_line(res.stderr)}',
                                     f"docker {' '.join(argv)}")


def missing_cluster(name: str) -> ClusterUnavailable:
    """The error for a kind cluster that does not exist, with the command that makes it.

    Example:
        >>> print(missing_cluster("labs"))
        kind cluster "labs" does not exist. Fix: python -m labsupport cluster up --name labs
    """
    return ClusterUnavailable(f'kind cluster "{name}" does not exist',
                              f"python -m labsupport cluster up --name {name}")


def _raise_if_daemon_down(stderr: str) -> None:
    low = stderr.lower()
    if "permission denied" in low and "docker" in low:
        raise ClusterUnavailable("this user may not use docker (permission denied on its socket)",
                                 _DOCKER_GROUP)
    if ("cannot connect to the docker daemon" in low or "is the docker daemon running" in low
            or "error during connect" in low):
        raise ClusterUnavailable("Docker is installed but its daemon is not running",
                                 _START_DOCKER)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def _check_name(name: str) -> None:
    ok = (isinstance(name, str) and 0 < len(name) <= 50 and name[0].isalnum()
          and all(ch.isalnum() or ch in "-." for ch in name) and name == name.lower())
    if not ok:
        raise Invalid(f"kind cluster names use lower-case letters, digits, '-' and '.', "
                      f"got {name!r}")


def _private(path: Path) -> None:
    try:
        path.chmod(0o600)
    except OSError:
        pass
