"""The real backend: kind clusters and any cluster in a kubeconfig.

``ls.connect("kind", name="labs")`` and ``ls.connect("kubeconfig",
context=...)`` return a :class:`KubeCluster`, which keeps the same Cluster
contract as the simulator. :class:`Kind` wraps the ``kind`` and ``docker``
commands. Nothing here imports the ``kubernetes`` client until a KubeCluster
is made.

Example:
    >>> from labsupport.kube import KubeCluster, Kind
    >>> KubeCluster.__name__, Kind.__name__
    ('KubeCluster', 'Kind')
"""

from __future__ import annotations

from labsupport.kube.cluster import FIELD_MANAGER, KubeCluster
from labsupport.kube.images import COURSE_IMAGE, build_course_image, load_course_image
from labsupport.kube.kind import Kind, config_path, kubeconfig_path
from labsupport.kube.kubectl import find_kubectl
from labsupport.kube.metrics_server import install_metrics_server
from labsupport.kube.readiness import KindCheck, check_kind

__all__ = [
    "KubeCluster",
    "Kind",
    "FIELD_MANAGER",
    "COURSE_IMAGE",
    "build_course_image",
    "load_course_image",
    "install_metrics_server",
    "config_path",
    "kubeconfig_path",
    "check_kind",
    "KindCheck",
    "find_kubectl",
]
