"""Distributed computing without Kubernetes: a lead node, workers and a network, on simpy.

Lessons 01-04 use this package to show the ideas Kubernetes builds on, with
nothing to install and the same result for the same seed:

- :class:`Job`: a serial part and a parallel part cut into tasks;
- :func:`run_job`: a lead node hands the tasks to workers over a network with
  latency, and reassigns the tasks of workers it suspects have failed;
- :func:`amdahl`, :func:`gustafson`, :func:`speedup_curve`: predicted and
  measured speed-up;
- :class:`TimeoutDetector`, :func:`heartbeat_trace`, :func:`evaluate`,
  :func:`sweep`: failure detection, its speed and its false alarms.

Example:
    >>> from labsupport import dc
    >>> job = dc.Job.training(hours=10, parallel_fraction=0.99)
    >>> round(dc.run_job(job, workers=10).hours, 2), round(10 / dc.amdahl(0.99, 10), 2)
    (1.09, 1.09)
"""

from __future__ import annotations

from labsupport.dc.detector import (
    Detector,
    DetectorScore,
    DetectorSweep,
    HeartbeatTrace,
    TimeoutDetector,
    evaluate,
    heartbeat_trace,
    sweep,
    timeout_score,
)
from labsupport.dc.job import Job, Task
from labsupport.dc.leader import POLICIES, LeadNode, Policy, greedy, static
from labsupport.dc.network import BUSY_LAN, LAN, Message, Network, NetworkModel
from labsupport.dc.run import JobRun, run_job
from labsupport.dc.speedup import (
    SpeedupCurve,
    SpeedupPoint,
    amdahl,
    gustafson,
    karp_flatt,
    speedup_curve,
)
from labsupport.dc.worker import Worker

__all__ = [
    "Job", "Task",
    "NetworkModel", "Network", "Message", "LAN", "BUSY_LAN",
    "Worker", "LeadNode", "Policy", "greedy", "static", "POLICIES",
    "run_job", "JobRun",
    "amdahl", "gustafson", "karp_flatt", "speedup_curve", "SpeedupCurve", "SpeedupPoint",
    "Detector", "TimeoutDetector", "HeartbeatTrace", "heartbeat_trace", "DetectorScore",
    "evaluate", "timeout_score", "sweep", "DetectorSweep",
]
