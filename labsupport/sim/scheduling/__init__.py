"""The simulator's kube-scheduler, split by concern.

- :mod:`~labsupport.sim.scheduling.podinfo`: what a pod asks for.
- :mod:`~labsupport.sim.scheduling.nodetable`: the node cache (numpy columns).
- :mod:`~labsupport.sim.scheduling.plugins`: the default filter and score plugins.
- :mod:`~labsupport.sim.scheduling.decision`: the result and FailedScheduling text.
- :mod:`~labsupport.sim.scheduling.cycle`: one scheduling cycle.

Import the public names from :mod:`labsupport.sim.scheduler`.
"""

from __future__ import annotations

from labsupport.sim.scheduling.cycle import Scheduler
from labsupport.sim.scheduling.decision import Decision
from labsupport.sim.scheduling.nodetable import NodeTable

__all__ = ["NodeTable", "Decision", "Scheduler"]
