"""ImageLocality: prefer nodes that already have the pod's images.

Upstream: pkg/scheduler/framework/plugins/imagelocality/image_locality.go.
The score grows with the total size of the pod's images already on the node,
scaled by how many nodes have them. The simulator's scheduler does not see
the nodes' image lists yet (``NodeTable`` keeps no ``status.images``), so it
scores 0 on every node: it is listed, and shown in the table, with 0.

Example:
    >>> from labsupport.sim.scheduler.plugins.imagelocality import ImageLocality
    >>> ImageLocality().weight, ImageLocality().extension_points
    (1, ('Score',))
"""

from __future__ import annotations

import numpy as np

from labsupport.sim.scheduler.framework import SCORE, Plugin
from labsupport.sim.scheduler.podinfo import PodProfile
from labsupport.sim.scheduler.views import NodeView, PodView

__all__ = ["ImageLocality", "NAME"]

NAME = "ImageLocality"


class ImageLocality(Plugin):
    """Score: 0 on every node until node images are modelled (weight 1)."""

    name = NAME
    extension_points = (SCORE,)
    weight = 1
    upstream = "pkg/scheduler/framework/plugins/imagelocality"

    def score(self, pod: PodView, node: NodeView) -> int:
        """0: the scheduler does not know which images a node has."""
        return 0

    def fast_score_constant(self, prof: PodProfile) -> bool:
        """Always: 0 on every node."""
        return True

    def fast_score(self, cycle, feasible: np.ndarray, *, for_total: bool) -> np.ndarray | None:
        """0 everywhere: no difference to the total."""
        return None if for_total else np.zeros(len(feasible), np.int64)
