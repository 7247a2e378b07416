"""Pick a backend: the simulator (default), a kind cluster, or any kubeconfig.

``connect()`` sits above both backends and imports each only when asked, so
``import labsupport`` stays light and nothing imports in a circle.

The environment variable ``LABSUPPORT_BACKEND`` (``sim``, ``kind`` or
``kubeconfig``) changes what ``connect()`` with no backend argument returns,
so the same notebook runs on a real cluster unchanged.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect("sim", nodes=2, seed=1)
    >>> [n.name for n in c.nodes()]
    ['node-1', 'node-2']
"""

from __future__ import annotations

import os
from typing import Any

from labsupport import arguments
from labsupport.cluster import Cluster
from labsupport.errors import Invalid

__all__ = ["connect", "BACKENDS"]

BACKENDS = ("sim", "kind", "kubeconfig")


def connect(backend: str | None = None, **options: Any) -> Cluster:
    """Connect to a cluster.

    Args:
        backend: ``"sim"``, ``"kind"`` or ``"kubeconfig"``; None reads
            ``LABSUPPORT_BACKEND`` and falls back to ``"sim"``.
        **options: passed to the backend: for ``sim`` e.g. ``nodes``,
            ``node_cpu``, ``node_memory``, ``seed``; for ``kind`` ``name``;
            for ``kubeconfig`` ``context`` and ``kubeconfig``.

    Raises:
        Invalid: an unknown backend name.
        ClusterUnavailable: a real cluster cannot be reached or created.
    """
    if backend is not None and not isinstance(backend, str):  # raises, naming the choices
        arguments.choice(backend, "backend", BACKENDS, or_else=", or None for the default")
    chosen = backend or os.environ.get("LABSUPPORT_BACKEND", "").strip() or "sim"
    chosen = chosen.lower()
    if chosen == "sim":
        from labsupport.sim import SimCluster

        return SimCluster(**options)
    if chosen == "kind":
        from labsupport.kube import KubeCluster

        return KubeCluster.from_kind(**options)
    if chosen == "kubeconfig":
        from labsupport.kube import KubeCluster

        return KubeCluster.from_kubeconfig(**options)
    where = "" if backend else " (from the environment variable LABSUPPORT_BACKEND)"
    raise Invalid(f'unknown backend "{chosen}"{where}; choose one of: {", ".join(BACKENDS)}')
