"""The simulated Kubernetes cluster (on simpy): see :class:`SimCluster`.

``labsupport/sim/README.md`` maps each Kubernetes component and concept to
the file and function that model it.
"""

from labsupport.sim.cluster import SimCluster

__all__ = ["SimCluster"]
