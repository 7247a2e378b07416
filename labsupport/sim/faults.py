"""A cluster with planted faults, for practising diagnosis (exercise 12).

:func:`plan` draws, from a seed, eight apps (names from :data:`APPS`): three
with a fault that makes their pods fail (three of :data:`POD_FAULTS`: a
mistyped image tag, a missing ConfigMap key, a CPU request no node can hold,
a program that exits at start), one Service whose selector has a typo, one
slow dependency, and three healthy apps. :func:`build_cluster` applies them
to a simulated cluster and sends traffic to every Service, so that metrics,
logs and events all hold what a diagnosis needs. Exercise 12's grader
builds these clusters from seeds the learner does not see.

Example:
    >>> sorted((row["fault"] or "-") for row in plan(0))
    ['-', '-', '-', 'config', 'cpu', 'image', 'selector', 'slow']
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["APPS", "POD_FAULTS", "SETTLE", "TRAFFIC", "RPS", "plan", "manifests",
           "build_cluster", "faulty_cluster"]

#: The names of the apps a cluster is made of (no name is the start of another).
APPS = ("frontend", "cart", "checkout", "catalog", "search", "payments", "reviews",
        "shipping", "ads", "email", "profile", "inventory")
#: Faults that make a workload's pods fail.
POD_FAULTS = ("image", "config", "cpu", "crash")

#: Seconds before the grader's traffic starts, and how long it flows.
SETTLE, TRAFFIC = 30.0, 120.0
#: Requests per second to each Service.
RPS = 10.0
_HEALTHY_TIME, _SLOW_TIMES = "exponential:0.01", ("exponential:0.3", "exponential:0.5")
_BAD_TAGS = ("nginx:1.277", "nginx:lastest", "nginx:1.27.99", "ngnix:1.27")
_CPU = ("6", "8", "12")
_CRASHES = ("FATAL: password authentication failed for user app",
            "ERROR: could not connect to redis:6379: connection refused",
            "panic: open /etc/app/config.yaml: no such file or directory")


def plan(seed: int) -> list[dict[str, Any]]:
    """What a cluster of this seed is made of: one row per app, with its fault (or None).

    Three of the four pod faults, the Service with a selector typo, the slow
    dependency, and three healthy apps, on names drawn from :data:`APPS`.

    Example:
        >>> [(row["name"], row["fault"]) for row in plan(0)][:2]
        [('shipping', 'cpu'), ('search', 'config')]
    """
    rng = random.Random(f"ex12:{seed}")
    names = rng.sample(APPS, 8)
    faults = [*rng.sample(POD_FAULTS, 3), "selector", "slow", None, None, None]
    rows = []
    for name, fault in zip(names, faults, strict=True):
        row: dict[str, Any] = {"name": name, "fault": fault, "replicas": rng.choice((1, 2, 2, 3))}
        if fault == "image":
            row["image"] = rng.choice(_BAD_TAGS)
        elif fault == "cpu":
            row["cpu"] = rng.choice(_CPU)
        elif fault == "crash":
            row["last_words"] = rng.choice(_CRASHES)
        elif fault == "selector":
            i = rng.randrange(len(name) - 1)  # swap two neighbouring letters
            row["typo"] = name[:i] + name[i + 1] + name[i] + name[i + 2:]
            if row["typo"] == name:
                row["typo"] = name + "s"
        elif fault == "slow":
            row["service_time"] = rng.choice(_SLOW_TIMES)
        rows.append(row)
    return rows


def _deployment(row: dict[str, Any]) -> dict:
    name, fault = row["name"], row["fault"]
    container: dict[str, Any] = {
        "name": name, "image": row.get("image", "nginx:1.27"),
        "ports": [{"name": "http", "containerPort": 80}],
        "resources": {"requests": {"cpu": row.get("cpu", "100m"), "memory": "64Mi"}}}
    if fault == "config":
        container["env"] = [{"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {
            "name": f"{name}-config", "key": "LOG_LEVEL"}}}]
    if fault == "crash":
        container["image"] = "busybox:1.36"
        container["command"] = ["sh", "-c", f"echo starting {name}; sleep 2; "
                                f"echo {row['last_words']}; exit 1"]
    annotations = {"sim.labsupport.io/service-time": row.get("service_time", _HEALTHY_TIME),
                   "sim.labsupport.io/concurrency": "32"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": row["replicas"], "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name},
                                               "annotations": annotations},
                                  "spec": {"containers": [container]}}}}


def _served(row: dict[str, Any]) -> bool:
    """Apps with a Service: those whose pods run (a failing worker has no clients here)."""
    return row["fault"] in (None, "selector", "slow")


def manifests(seed: int) -> list[dict]:
    """The objects a cluster of this seed is built from (ConfigMaps, Deployments, Services)."""
    out: list[dict] = []
    for row in plan(seed):
        name = row["name"]
        if row["fault"] == "config":  # the ConfigMap exists, without the key the pod asks for
            out.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": f"{name}-config"},
                        "data": {"LOGLEVEL": "info", "PORT": "80"}})
        out.append(_deployment(row))
        if _served(row):
            out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                        "spec": {"selector": {"app": row.get("typo", name)},
                                 "ports": [{"port": 80, "targetPort": "http"}]}})
    return out


def build_cluster(seed: int) -> Any:
    """A simulated cluster with the seed's faults, after :data:`SETTLE` + :data:`TRAFFIC` s.

    Every Service gets :data:`RPS` requests per second for the last
    :data:`TRAFFIC` seconds, so the metrics hold each app's latency and the
    Service without endpoints has failed requests.
    """
    import labsupport as ls

    c = ls.connect(seed=seed)
    c.apply(manifests(seed))
    c.advance(SETTLE)
    handles = [c.send_traffic(f"service/{row['name']}", rps=RPS, duration=TRAFFIC,
                              background=True, seed=f"ex12:{seed}:{row['name']}")
               for row in plan(seed) if _served(row)]
    c.advance(TRAFFIC + 1.0)
    for h in handles:
        h.result()
    return c


#: The public name (``ls.faulty_cluster(seed)``).
faulty_cluster = build_cluster
