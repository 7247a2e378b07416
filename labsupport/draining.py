"""``kubectl drain`` on any cluster: cordon, then evict every pod and wait for it to go.

kubectl (staging/src/k8s.io/kubectl/pkg/drain/drain.go, ``evictPods``) evicts
all the node's pods at once, one goroutine per pod. Each tries the Eviction
API; a 429 (the pod's PodDisruptionBudget allows no disruption now) is
printed and tried again 5 s later; once accepted, kubectl waits for the pod
to be gone (``waitForDelete``, every second) and prints ``pod/NAME evicted``.
Here the goroutines are one loop over virtual (or wall) time, pods in
namespace and name order, so a seeded simulation always prints the same.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=2, seed=0)
    >>> _ = c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    ...     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
    ...              "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
    ...                  "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    >>> _ = c.wait_for_rollout("deployment/web")
    >>> lines = c.drain("node-1")
    >>> lines[0], lines[-1]
    ('node/node-1 cordoned', 'node/node-1 drained')
    >>> sorted(p.node for p in c.pods())
    ['node-2', 'node-2']
"""

from __future__ import annotations

from typing import Any

from labsupport import arguments
from labsupport.errors import Invalid, ObjectNotFound, TooManyRequests, WaitTimeout
from labsupport.patchverbs import aggregate, drain_errors, drain_filter

__all__ = ["drain", "RETRY_SECONDS", "POLL_SECONDS"]

#: drain.go: how long kubectl waits before it tries a refused eviction again.
RETRY_SECONDS = 5.0
#: drain.go waitForDelete: how often it looks whether an evicted pod is gone.
POLL_SECONDS = 1.0


def drain(cluster: Any, node: str, *, ignore_daemonsets: bool = True,
          delete_emptydir_data: bool = False, force: bool = False,
          timeout: float = 300) -> list[str]:
    """Drain ``node`` of ``cluster``; return what kubectl would print.

    See :meth:`labsupport.cluster.Cluster.drain`.
    """
    arguments.seconds(timeout, "timeout")
    out = [cluster.cordon(node)]
    pods = [p for p in cluster.list("pods")
            if (p.get("spec") or {}).get("nodeName") == node]
    failed: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    todo = []
    for pod in pods:
        verdict, message = drain_filter(pod, ignore_daemonsets, delete_emptydir_data, force)
        where = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        if verdict == "error":
            failed.setdefault(message, []).append(where)
        elif verdict.startswith("warning"):
            warnings.setdefault(message, []).append(where)
        if verdict in ("delete", "warning-delete"):
            todo.append(pod)
    if failed:
        raise Invalid(f'unable to drain node "{node}" due to error: {drain_errors(failed)}; '
                      "the node stays cordoned (uncordon it with c.uncordon)")
    if warnings:
        out.append("Warning: " + "; ".join(f"{m}: {', '.join(p)}"
                                           for m, p in sorted(warnings.items())))
    _evict_all(cluster, node, todo, out, timeout)
    out.append(f"node/{node} drained")
    return out


def _evict_all(cluster: Any, node: str, pods: list[dict], out: list[str],
               timeout: float) -> None:
    """evictPods: every pod's goroutine at once, on one clock.

    Each pod first tries the Eviction API (a 429 prints kubectl's line and
    tries again 5 s later); once accepted, it looks every second whether the
    pod is gone (``waitForDelete``, first at once). At each instant the due
    evictions go first, all of them, then the due looks: kubectl's goroutines
    print their "evicting pod" lines before any eviction comes back.
    """
    start = cluster.now
    deadline = start + timeout
    # (namespace, name) -> [pod, "evict" | "wait", when its next step is due]
    left = {(p["metadata"]["namespace"], p["metadata"]["name"]): [p, "evict", start]
            for p in pods}
    errors: list[str] = []
    limit = _go_duration(timeout)
    while left:
        now = cluster.now
        late = now >= deadline - 1e-9
        for (ns, name), entry in sorted(left.items()):
            if entry[1] != "evict" or entry[2] > now + 1e-9:
                continue
            out.append(f"evicting pod {ns}/{name}")
            if late:  # the context is checked before each try
                errors.append(f'error when evicting pods/"{name}" -n "{ns}": global timeout '
                              f"reached: {limit}")
                del left[(ns, name)]
                continue
            try:
                cluster.evict(name, namespace=ns)
                entry[1] = "wait"
            except ObjectNotFound:
                del left[(ns, name)]  # gone already: kubectl prints nothing
            except TooManyRequests as err:
                out.append(f'error when evicting pods/"{name}" -n "{ns}" (will retry after '
                           f"5s): {err.message}")
                entry[2] = now + RETRY_SECONDS
        for (ns, name), entry in sorted(left.items()):
            if entry[1] != "wait" or entry[2] > now + 1e-9:
                continue
            if _gone(cluster, entry[0]):
                out.append(f"pod/{name} evicted")
                del left[(ns, name)]
            elif late:
                errors.append(f'error when waiting for pod "{name}" in namespace "{ns}" to '
                              f"terminate: global timeout reached: {limit}")
                del left[(ns, name)]
            else:
                entry[2] = now + POLL_SECONDS
        if left:
            wake = min(e[2] for e in left.values())
            cluster.advance(max(wake - cluster.now, 1e-3))
    if errors:
        # cmd/drain deleteOrEvictPodsSimple and RunDrain: what kubectl prints on stderr.
        message = aggregate(errors)
        pending = tuple(f"pod/{p['metadata']['name']}" for p in pods if not _gone(cluster, p))
        raise WaitTimeout(f'the drain of node "{node}"', timeout,
                          f'There are pending pods in node "{node}" when an error occurred: '
                          f"{message}", pending)


def _gone(cluster: Any, pod: dict) -> bool:
    """waitForDelete: the pod is not found, or a new pod of that name has another uid."""
    meta = pod["metadata"]
    try:
        now = cluster.get(f"pod/{meta['name']}", namespace=meta["namespace"])
    except ObjectNotFound:
        return True
    return now["metadata"].get("uid") != meta.get("uid")


def _go_duration(seconds: float) -> str:
    """Seconds as Go prints a time.Duration (``1m0s``, ``30s``)."""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}s"
