"""The simulated Kubernetes cluster (on simpy): see :class:`SimCluster`."""

from labsupport.sim.cluster import SimCluster

__all__ = ["SimCluster"]
