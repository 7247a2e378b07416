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

from labsupport.dc.balance import (
    BALANCERS,
    Balancer,
    BalanceRun,
    Scenario,
    View,
    least_loaded,
    random_server,
    replay,
    round_robin,
    scenario_runner,
    simulate,
    two_choices,
)
from labsupport.dc.capacity import Capacity, capacity, capacity_plot
from labsupport.dc.compare import PolicyComparison, compare_policies, idle_gaps, makespan_bound
from labsupport.dc.cost import MACHINES, FleetTable, MachineType, fleet_costs
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
from labsupport.dc.loadcurve import (
    LoadCurve,
    load_curve,
    servers_curve,
    servers_plot,
    share_plot,
    timeline_plot,
)
from labsupport.dc.mapreduce import (
    MapReduceResult,
    pair_bytes,
    partition_of,
    phase_plot,
    run_local,
)
from labsupport.dc.mrcluster import ClusterRun, run_cluster
from labsupport.dc.mrprocess import run_processes, start_method
from labsupport.dc.network import BUSY_LAN, LAN, MESSAGE_BYTES, Message, Network, NetworkModel
from labsupport.dc.policies import barrier, stealing
from labsupport.dc.queueing import erlang_c, mm1_latency, mm1_percentile, mmc_latency
from labsupport.dc.ratings import MovieLens, corpus, movielens
from labsupport.dc.run import JobRun, run_job
from labsupport.dc.speedup import (
    SpeedupCurve,
    SpeedupPoint,
    amdahl,
    gustafson,
    karp_flatt,
    speedup_curve,
)
from labsupport.dc.traffic import Traffic, timeline, traffic
from labsupport.dc.trial import policy_trial
from labsupport.dc.worker import Worker

__all__ = [
    "Job", "Task",
    "NetworkModel", "Network", "Message", "LAN", "BUSY_LAN",
    "Worker", "LeadNode", "Policy", "greedy", "static", "POLICIES",
    "barrier", "stealing", "MESSAGE_BYTES", "traffic", "Traffic", "timeline",
    "compare_policies", "PolicyComparison", "makespan_bound", "idle_gaps", "policy_trial",
    "run_job", "JobRun",
    "amdahl", "gustafson", "karp_flatt", "speedup_curve", "SpeedupCurve", "SpeedupPoint",
    "Detector", "TimeoutDetector", "HeartbeatTrace", "heartbeat_trace", "DetectorScore",
    "evaluate", "timeout_score", "sweep", "DetectorSweep",
    "Capacity", "capacity", "capacity_plot",
    "View", "Scenario", "BalanceRun", "Balancer", "simulate", "replay", "scenario_runner",
    "round_robin", "random_server", "least_loaded", "two_choices", "BALANCERS",
    "LoadCurve", "load_curve", "servers_curve", "servers_plot", "share_plot", "timeline_plot",
    "mm1_latency", "mm1_percentile", "erlang_c", "mmc_latency",
    "MachineType", "MACHINES", "FleetTable", "fleet_costs",
    "run_local", "run_cluster", "run_processes", "MapReduceResult", "ClusterRun",
    "partition_of", "pair_bytes", "phase_plot", "start_method", "movielens", "MovieLens",
    "corpus",
]
