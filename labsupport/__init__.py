"""labsupport: the helper library of the distributed computing and Kubernetes course.

Every notebook starts with ``import labsupport as ls`` and then
``c = ls.connect()``: a simulated Kubernetes cluster that runs inside the
notebook. ``ls.connect("kind")`` gives a real cluster with the same methods.

Importing labsupport is cheap: it loads no Kubernetes client, no plotting
library and starts nothing. Names such as :class:`SimCluster` load their
module the first time they are used.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    ['namespace/shop']
"""

from __future__ import annotations

import importlib
from typing import Any

from labsupport.cluster import Cluster
from labsupport.connect import connect
from labsupport.errors import (
    AlreadyExists,
    ClusterUnavailable,
    Conflict,
    Forbidden,
    GradingError,
    Invalid,
    InvalidManifest,
    LabSupportError,
    ObjectNotFound,
    ResourceExpired,
    TooManyRequests,
    UnsafeCluster,
    WaitTimeout,
)
from labsupport.version import KUBERNETES_VERSION
from labsupport.views import EventInfo, NodeInfo, PodInfo

__version__ = "0.1.0"

# Public names that live in heavier modules, loaded on first use.
_LAZY = {
    "SimCluster": "labsupport.sim",
    "KubeCluster": "labsupport.kube",
    "load": "labsupport.manifests",
    "validate": "labsupport.manifests",
    "check": "labsupport.grading",
    "check_all": "labsupport.grading",
    "answered": "labsupport.grading",
    "cpu_cores": "labsupport.quantity",
    "workload": "labsupport.sim.workloads",
    "RolloutFailed": "labsupport.rollout",
    "APIWarning": "labsupport.deprecations",
    "SchedulerProfile": "labsupport.sim.scheduler",
    "SchedulerPlugin": "labsupport.sim.scheduler",
    "PodView": "labsupport.sim.scheduler",
    "NodeView": "labsupport.sim.scheduler",
    "faulty_cluster": "labsupport.sim.faults",
}
# Subpackages reached as attributes (``ls.dc``), imported on first use.
_SUBPACKAGES = {"dc": "labsupport.dc", "viz": "labsupport.viz", "kube": "labsupport.kube",
                "promql": "labsupport.sim.promql"}

__all__ = [
    "connect",
    "Cluster",
    "SimCluster",
    "KubeCluster",
    "PodInfo",
    "NodeInfo",
    "EventInfo",
    "load",
    "validate",
    "check",
    "check_all",
    "answered",
    "cpu_cores",
    "workload",
    "SchedulerProfile",
    "SchedulerPlugin",
    "PodView",
    "NodeView",
    "dc",
    "viz",
    "kube",
    "promql",
    "faulty_cluster",
    "LabSupportError",
    "InvalidManifest",
    "Invalid",
    "ObjectNotFound",
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "ClusterUnavailable",
    "UnsafeCluster",
    "WaitTimeout",
    "ResourceExpired",
    "TooManyRequests",
    "RolloutFailed",
    "GradingError",
    "APIWarning",
    "KUBERNETES_VERSION",
]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        value = importlib.import_module(_SUBPACKAGES[name])
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labsupport' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext labsupport``: the ``%kubectl`` magic (labsupport/sim/httpapi/magic.py)."""
    from labsupport.sim.httpapi.magic import register

    register(ipython)
