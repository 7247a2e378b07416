"""Is this cluster provably a kind cluster of ours? The guard of destructive calls.

``kill_pod``, ``fail_node`` and ``delete`` may hurt a real cluster, and a
learner's kubeconfig may well point at one from work. So they run only on a
cluster that passes every check below, or when the caller says explicitly
that they know what they do (``allow_destructive=True``):

1. its kubeconfig context is a kind context (``kind-<name>``);
2. its API server is on this machine (a loopback address, as kind sets it);
3. ``kind get clusters`` lists ``<name>``;
4. its control-plane container is labelled ``io.x-k8s.kind.cluster=<name>``.

The checks use the kubeconfig and the kind/docker commands only: a refusal
happens before any request reaches the cluster. A simulator served by
``c.serve()`` is accepted instead when it proves it is ours (a loopback server
answering an HMAC challenge keyed by our token; see :mod:`labsupport.kube.served`).

Example:
    >>> is_loopback("https://127.0.0.1:6443"), is_loopback("https://10.0.0.5:6443")
    (True, False)
    >>> kind_name_of_context("kind-labs"), kind_name_of_context("prod-eu")
    ('labs', None)
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from labsupport.errors import ClusterUnavailable, UnsafeCluster
from labsupport.kube.kind import CLUSTER_LABEL, Kind

__all__ = ["is_loopback", "kind_name_of_context", "why_not_ours", "refuse", "OVERRIDE"]

#: How to override the guard, shown in every refusal.
OVERRIDE = ("pass allow_destructive=True, either to this call or when connecting, e.g. "
            'ls.connect("kubeconfig", context="...", allow_destructive=True)')


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (127.0.0.0/8, ::1 or localhost).

    Example:
        >>> is_loopback("https://[::1]:443"), is_loopback("https://localhost:6443")
        (True, True)
    """
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kind_name_of_context(context: str | None) -> str | None:
    """The kind cluster name in a context named ``kind-<name>``, else None."""
    if context and context.startswith("kind-") and len(context) > len("kind-"):
        return context[len("kind-"):]
    return None


def why_not_ours(kind_name: str | None, host: str, kind: Kind | None) -> str | None:
    """Return why a cluster is not provably a kind cluster of ours, or None if it is.

    Args:
        kind_name: the kind cluster name the connection claims (from
            ``from_kind`` or a ``kind-<name>`` context), or None.
        host: the API server URL.
        kind: the kind/docker wrapper used for checks 3 and 4.

    Example:
        >>> why_not_ours(None, "https://10.1.2.3:6443", None)
        'its kubeconfig context is not a kind context (kind-<name>)'
        >>> fake = Kind(runner=lambda argv: (0, "", ""))
        >>> why_not_ours("labs", "https://203.0.113.9:6443", fake)
        'its API server https://203.0.113.9:6443 is not on this machine (kind listens on 127.0.0.1)'
    """
    if not kind_name:
        return "its kubeconfig context is not a kind context (kind-<name>)"
    if not is_loopback(host):
        return (f"its API server {host} is not on this machine "
                "(kind listens on 127.0.0.1)")
    if kind is None:
        return "there is no kind command to ask"
    try:
        names = kind.clusters()
    except ClusterUnavailable as err:
        return f"kind could not list its clusters ({err.what})"
    if kind_name not in names:
        listed = ", ".join(names) if names else "none"
        return f'kind does not list a cluster "{kind_name}" (it lists: {listed})'
    container = f"{kind_name}-control-plane"
    try:
        label = kind.label(container)
    except ClusterUnavailable as err:
        return f"docker could not inspect {container} ({err.what})"
    if label != kind_name:
        return (f'the container {container} is not labelled {CLUSTER_LABEL}={kind_name}'
                f" (found {label!r})")
    return None


def refuse(action: str, why: str) -> UnsafeCluster:
    """The error for a refused destructive call.

    Example:
        >>> print(refuse("kill_pod", "its API server is remote"))  # doctest: +ELLIPSIS
        refusing kill_pod: this cluster is not provably a kind cluster of ours: its API ...
    """
    return UnsafeCluster(action, f"this cluster is not provably a kind cluster of ours: {why}",
                         OVERRIDE)
