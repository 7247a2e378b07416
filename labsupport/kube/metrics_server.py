"""Install metrics-server on a kind cluster, so the HorizontalPodAutoscaler works.

The HPA reads pod CPU and memory from the metrics API
(``/apis/metrics.k8s.io/v1beta1``), which metrics-server serves. kind has none
by default, and its kubelets serve self-signed certificates, so the manifest
kept in clusters/kind/metrics-server.yaml adds ``--kubelet-insecure-tls``.

Example:
    >>> MANIFEST.name
    'metrics-server.yaml'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labsupport.errors import ClusterUnavailable, LabSupportError
from labsupport.kube.api import resource_path
from labsupport.kube.kind import CONFIGS_DIR

if TYPE_CHECKING:
    from labsupport.kube.cluster import KubeCluster

__all__ = ["install_metrics_server", "metrics_available", "MANIFEST", "APISERVICE"]

#: The manifest applied: ServiceAccount, RBAC, Service, Deployment, APIService.
MANIFEST = CONFIGS_DIR / "metrics-server.yaml"
#: The APIService that metrics-server registers.
APISERVICE = "v1beta1.metrics.k8s.io"


def metrics_available(cluster: KubeCluster) -> bool:
    """True when the metrics APIService reports Available=True."""
    path = resource_path("apiregistration.k8s.io/v1", "apiservices", None, APISERVICE)
    try:
        obj = cluster.api.request("GET", path)
    except LabSupportError:
        return False
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Available":
            return cond.get("status") == "True"
    return False


def install_metrics_server(cluster: KubeCluster, timeout: float = 300) -> str:
    """Apply metrics-server and wait until its metrics API answers.

    Args:
        cluster: a connected KubeCluster (normally a kind cluster).
        timeout: seconds to wait for the rollout and the APIService.

    Returns:
        A one-line summary for the lesson to print.

    Raises:
        ClusterUnavailable: the manifest file is missing.
        WaitTimeout: metrics-server did not become available in time.
    """
    if not MANIFEST.exists():
        raise ClusterUnavailable(f"the metrics-server manifest {MANIFEST} is missing",
                                 "run from a checkout of the course: git checkout -- clusters/")
    cluster.apply(MANIFEST, namespace="kube-system")
    cluster.wait_for_rollout("deployment/metrics-server", timeout=timeout,
                             namespace="kube-system")
    cluster.wait_until(metrics_available, timeout=timeout,
                       what=f"the APIService {APISERVICE} to be Available")
    return "metrics-server is running: kubectl top and the HorizontalPodAutoscaler work now"
