"""``python -m labsupport cluster up|down|status`` and ``sim serve``, from a terminal.

For people who prefer a terminal to a notebook cell::

    python -m labsupport cluster up                      # kind cluster "labs", 4 nodes
    python -m labsupport cluster up --name solo --config single-node
    python -m labsupport cluster up --metrics-server --course-image
    python -m labsupport cluster status
    python -m labsupport cluster down
    python -m labsupport sim serve --nodes 3 --speed 10   # a simulated cluster for kubectl

Each cluster gets its own kubeconfig file; ``status`` prints the
``kubectl --kubeconfig ...`` line to use it. Your current kubectl context is
never changed.

Exit codes: 0 done, 1 failed (the message says what to do), 2 bad usage.
``status`` exits 1 when the cluster does not exist or does not answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from labsupport.errors import LabSupportError
from labsupport.version import KUBERNETES_VERSION

if TYPE_CHECKING:
    from labsupport.kube.kind import Kind

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from labsupport.kube.kind import DEFAULT_CONFIG, DEFAULT_NAME

    top = argparse.ArgumentParser(prog="python -m labsupport",
                                  description="Helpers of the Kubernetes course.")
    sub = top.add_subparsers(dest="command", required=True)
    cluster = sub.add_parser("cluster", help="make, inspect or delete the kind lab cluster",
                             description="Make, inspect or delete a kind cluster for the labs.")
    actions = cluster.add_subparsers(dest="action", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--name", default=DEFAULT_NAME,
                       help=f"the kind cluster's name (default: {DEFAULT_NAME})")

    up = actions.add_parser("up", help="create the cluster (or start it again) and wait for it")
    common(up)
    up.add_argument("--config", default=DEFAULT_CONFIG,
                    help="labs (1 control plane + 3 workers), single-node, nodeport, "
                         f"or a path to a kind config (default: {DEFAULT_CONFIG})")
    up.add_argument("--wait", default="120s",
                    help="how long kind waits for the control plane (default: 120s)")
    up.add_argument("--metrics-server", action="store_true",
                    help="also install metrics-server, so the HorizontalPodAutoscaler works")
    up.add_argument("--course-image", action="store_true",
                    help="also build the course image and load it into the nodes")
    down = actions.add_parser("down", help="delete the cluster and its kubeconfig file")
    common(down)
    status = actions.add_parser("status", help="show the clusters, nodes and how to use kubectl")
    common(status)
    sim = sub.add_parser("sim", help="the simulated cluster, served to kubectl",
                         description="Serve a simulated cluster's Kubernetes API on 127.0.0.1.")
    sim_actions = sim.add_subparsers(dest="action", required=True)
    serve = sim_actions.add_parser("serve", help="serve the API until Ctrl-C")
    serve.add_argument("--nodes", type=int, default=3, help="worker nodes (default: 3)")
    serve.add_argument("--seed", type=int, default=0, help="the random seed (default: 0)")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="simulated seconds per second (default: 1)")
    serve.add_argument("--apply", action="append", default=[], metavar="PATH",
                       help="apply these manifests (files or folders) first")
    serve.add_argument("--for", dest="duration", type=float, default=None, metavar="SECONDS",
                       help="stop after this many seconds (default: until Ctrl-C)")
    return top


def main(argv: Sequence[str] | None = None, *, kind: Kind | None = None,
         out: TextIO | None = None) -> int:
    """Run the command line; return the exit code.

    Args:
        argv: the arguments (``sys.argv[1:]`` when None).
        kind: a :class:`labsupport.kube.kind.Kind` to use (tests inject one).
        out: where to print (standard output when None).
    """
    from labsupport.kube.kind import Kind

    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    if args.command == "sim":
        try:
            return _sim_serve(args, stream)
        except LabSupportError as err:
            print(f"error: {err}", file=sys.stderr if out is None else stream)
            return 1
    k = kind or Kind()
    try:
        if args.action == "up":
            return _up(k, args, stream)
        if args.action == "down":
            return _down(k, args.name, stream)
        return _status(k, args.name, stream)
    except LabSupportError as err:
        print(f"error: {err}", file=sys.stderr if out is None else stream)
        return 1


def _up(k: Kind, args: argparse.Namespace, out: TextIO) -> int:
    from labsupport.kube.cluster import KubeCluster
    from labsupport.kube.images import load_course_image
    from labsupport.kube.kind import config_path

    k.require()
    name = args.name
    if k.exists(name):
        print(f'kind cluster "{name}" exists', file=out)
        for container, state in k.containers(name).items():
            if state == "paused":
                print(f"  unpausing {container}", file=out)
                k.unpause(container)
            elif state != "running":
                print(f"  starting {container} (it was {state})", file=out)
                k.start(container)
    else:
        path = config_path(args.config)
        print(f'creating kind cluster "{name}" from {path.name} (about a minute)...', file=out)
        k.create(name, config=path, wait=args.wait)
    kubeconfig = k.write_kubeconfig(name)
    if args.course_image:
        tag = load_course_image(name, kind=k)
        print(f"loaded the image {tag} into every node", file=out)
    if args.metrics_server:
        with KubeCluster.from_kind(name, create=False, kind=k) as c:
            print("installing metrics-server...", file=out)
            print(c.install_metrics_server(), file=out)
    print(f'kind cluster "{name}" is up. Use it with:', file=out)
    print(f"  kubectl --kubeconfig {kubeconfig} get nodes", file=out)
    print(f'  ls.connect("kind", name="{name}")   # in a notebook', file=out)
    return 0


def _sim_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Serve a simulated cluster until Ctrl-C (or ``--for`` seconds)."""
    import time

    from labsupport.sim import SimCluster

    c = SimCluster(nodes=args.nodes, seed=args.seed)
    try:
        for path in args.apply:
            for ref in c.apply(path):
                print(f"{ref} created", file=out)
        server = c.serve(speed=args.speed)
        print(f"serving a simulated Kubernetes {KUBERNETES_VERSION} cluster at "
              f"{server.url} (simulated time runs at {args.speed:g}x). In another terminal:",
              file=out)
        print(f"  export KUBECONFIG={server.kubeconfig}", file=out)
        print("  kubectl get nodes", file=out)
        print("Stop with Ctrl-C.", file=out, flush=True)
        end = None if args.duration is None else time.monotonic() + args.duration
        while end is None or time.monotonic() < end:
            time.sleep(0.2 if end is None else max(0.0, min(0.2, end - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        c.close()
    print("stopped; the kubeconfig file is deleted", file=out)
    return 0


def _down(k: Kind, name: str, out: TextIO) -> int:
    if not k.exists(name):
        print(f'kind cluster "{name}" does not exist; nothing to delete', file=out)
        return 0
    k.delete(name)
    print(f'deleted kind cluster "{name}" and its kubeconfig file', file=out)
    return 0


def _status(k: Kind, name: str, out: TextIO) -> int:
    from labsupport.kube.cluster import KubeCluster
    from labsupport.kube.kind import kubeconfig_path

    print(f"docker {k.check_docker()}", file=out)
    print(k.check_kind(), file=out)
    names = k.clusters()
    print(f"kind clusters: {', '.join(names) if names else '(none)'}", file=out)
    if name not in names:
        print(f'kind cluster "{name}" does not exist. Create it with: '
              f"python -m labsupport cluster up --name {name}", file=out)
        return 1
    print(f'kind cluster "{name}":', file=out)
    for container, state in k.containers(name).items():
        print(f"  container {container}: {state}", file=out)
    try:
        with KubeCluster.from_kind(name, create=False, kind=k) as c:
            release = c.server_version().get("gitVersion", "unknown")
            print(f"  Kubernetes {release}", file=out)
            if not release.startswith(f"v{KUBERNETES_VERSION}."):
                print(f"  the course is made for Kubernetes {KUBERNETES_VERSION}; some lessons "
                      f"may show other defaults. Make the cluster again with: python -m "
                      f"labsupport cluster down --name {name} && python -m labsupport "
                      f"cluster up --name {name}", file=out)
            for node in c.nodes():
                print(f"  {node!r}", file=out)
    except LabSupportError as err:
        print(f"  the API server does not answer: {err}", file=out)
        return 1
    print(f"kubectl --kubeconfig {kubeconfig_path(name)} get nodes", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
