"""The lead node: splits a job into tasks, hands them out, and reacts to failures.

The lead node runs the job's serial part itself, cuts the parallel part into
tasks and sends them to workers over the network. An *assignment policy*
decides which worker gets which task:

- ``"greedy"``: a task goes to a worker as soon as it has nothing to do, so
  fast workers end up doing more tasks;
- ``"static"``: all tasks are dealt out round robin at the start, like cards,
  whatever the workers' speed;
- ``"barrier"`` and ``"stealing"``: rounds that wait for the slowest worker,
  and dealing out with work stealing (see :mod:`labsupport.dc.policies`).

A policy is any function ``policy(pending, load) -> [(task, worker), ...]``
where ``pending`` lists the tasks still to hand out and ``load`` maps each
worker the lead believes alive to how many of its tasks it has not finished.

With a policy marked ``steals = True``, a worker that has finished its
queue while others still have tasks queued gets one: the lead sends the
busiest worker a ``"steal"`` message, the worker gives back (``"return"``)
the last task it has not started, and the lead sends it to the idle worker.

With a failure detector the lead also watches heartbeats: when the detector
suspects a worker, the lead stops counting on it and puts its unfinished
tasks back in the queue for the others (a result that still arrives later is
accepted once; duplicates are ignored).

Example:
    >>> from labsupport.dc.job import Task
    >>> greedy([Task(0, 1.0), Task(1, 1.0), Task(2, 1.0)], {"worker-1": 0, "worker-2": 1})
    [(<Task 0: 1 s>, 'worker-1')]
    >>> [(t.id, w) for t, w in static([Task(0, 1), Task(1, 1), Task(2, 1)], {"a": 0, "b": 0})]
    [(0, 'a'), (1, 'b'), (2, 'a')]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import simpy

from labsupport.dc.detector import Detector
from labsupport.dc.job import Job, Task
from labsupport.dc.network import Message, Network
from labsupport.dc.policies import barrier, stealing
from labsupport.errors import Invalid

__all__ = ["LeadNode", "Policy", "greedy", "static", "POLICIES"]

#: ``policy(pending, load) -> [(task, worker), ...]``
Policy = Callable[[Sequence[Task], Mapping[str, int]], list[tuple[Task, str]]]


def greedy(pending: Sequence[Task], load: Mapping[str, int]) -> list[tuple[Task, str]]:
    """Give the next tasks to the workers that have nothing to do, one each."""
    idle = [w for w, n in load.items() if n == 0]
    return list(zip(pending, idle, strict=False))


def static(pending: Sequence[Task], load: Mapping[str, int]) -> list[tuple[Task, str]]:
    """Deal every pending task out at once, round robin over the workers."""
    workers = list(load)
    if not workers:
        return []
    return [(task, workers[i % len(workers)]) for i, task in enumerate(pending)]


POLICIES: dict[str, Policy] = {"greedy": greedy, "static": static, "barrier": barrier,
                               "stealing": stealing}


class LeadNode:
    """The node that runs a job on a group of workers.

    Args:
        env: the ``simpy.Environment``.
        network: the network the workers are attached to.
        job: the job to run.
        workers: the workers' names.
        policy: ``"greedy"``, ``"static"`` or a policy function.
        detector: a failure detector (``heartbeat(node, time)`` and
            ``suspects(now)``), or None to trust every worker forever.
        check_every: seconds between two questions to the detector.
        seed: decides the tasks' sizes when the job has ``spread``.
        name: the lead's name on the network.
    """

    def __init__(self, env: simpy.Environment, network: Network, job: Job,
                 workers: Sequence[str], *, policy: str | Policy = "greedy",
                 detector: Detector | None = None, check_every: float = 1.0,
                 seed: int = 0, name: str = "lead") -> None:
        if isinstance(policy, str):
            if policy not in POLICIES:
                raise Invalid(f"unknown policy {policy!r}; use one of {sorted(POLICIES)} "
                              "or a function policy(pending, load)")
            policy = POLICIES[policy]
        if not callable(policy):
            raise Invalid(f"policy must be a name or a function, got {policy!r}")
        self.env = env
        self.network = network
        self.job = job
        self.name = name
        self.workers = list(workers)
        self.policy = policy
        self.detector = detector
        self.check_every = check_every
        self.seed = seed
        self.events: list[tuple[float, str, str]] = []
        self.pending: deque[Task] = deque()
        self.assigned: dict[str, set[int]] = {w: set() for w in self.workers}
        self.load: dict[str, int] = {}
        self.done: set[int] = set()
        self.duplicates = 0
        self.suspected: set[str] = set()
        self.suspicions: list[tuple[float, str]] = []
        self.rejoins: list[tuple[float, str]] = []
        self.reassigned: list[tuple[float, int, str]] = []
        self.finished_at: float | None = None
        self.finished = env.event()
        self.steals = bool(getattr(policy, "steals", False))
        self.stolen: list[tuple[float, int, str, str]] = []  # (time, task, from, to)
        self._stealing: dict[str, str] = {}  # thief -> victim, while a steal is on its way
        self._tasks: dict[int, Task] = {}
        self._moved: set[int] = set()  # tasks put back in the queue at least once
        self._link = simpy.Resource(env, capacity=1)
        network.attach(name, self._receive)
        env.process(self._run())

    def log(self, component: str, message: str) -> None:
        """Add a line to the event log (time, component, message)."""
        self.events.append((self.env.now, component, message))

    def _run(self) -> Any:
        if self.job.serial_work:
            self.log(self.name, f"serial part: {self.job.serial_work:g} s on the lead node")
            yield self.env.timeout(self.job.serial_work)
        tasks = self.job.split(self.seed)
        self._tasks = {t.id: t for t in tasks}
        self.pending.extend(tasks)
        self.load = {w: 0 for w in self.workers}
        self.log(self.name, f"split the parallel part into {len(tasks)} tasks "
                            f"for {len(self.workers)} workers")
        if self.detector is not None:
            self.env.process(self._watch())
        self._dispatch()

    def _dispatch(self) -> None:
        if not self.pending or not self.load:
            return
        pending = list(self.pending)
        choice = self.policy(pending, dict(self.load))
        waiting = {t.id for t in pending}
        for item in choice:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise Invalid(f"a policy must return (task, worker) pairs, got {item!r}")
            task, worker = item
            if worker not in self.load:
                raise Invalid(f"the policy gave task {getattr(task, 'id', task)!r} to "
                              f"{worker!r}, which is not a live worker; live workers are "
                              f"{sorted(self.load)}")
            if getattr(task, "id", None) not in waiting:
                raise Invalid(f"the policy handed out {task!r}, which is not waiting "
                              "(pending tasks can be given out once each)")
            waiting.discard(task.id)
            if self.pending and self.pending[0] is task:
                self.pending.popleft()
            else:
                self.pending.remove(task)
            self.assigned[worker].add(task.id)
            self.load[worker] = len(self.assigned[worker])
            self.env.process(self._send(task, worker))

    def _send(self, task: Task, worker: str) -> Any:
        if self.job.transfer:
            with self._link.request() as turn:
                yield turn
                if task.id not in self.assigned.get(worker, ()):
                    return
                yield self.env.timeout(self.job.transfer)
        if task.id in self.assigned.get(worker, ()):
            self.network.send(self.name, worker, "task", task)

    def _receive(self, msg: Message) -> None:
        if msg.kind == "heartbeat":
            if self.detector is not None:
                self.detector.heartbeat(msg.src, self.env.now)
            return
        if msg.kind == "return":
            self._returned(msg)
            return
        if msg.kind != "result" or msg.src not in self.assigned:
            return
        tid = msg.payload
        self.assigned[msg.src].discard(tid)
        if msg.src in self.load:
            self.load[msg.src] = len(self.assigned[msg.src])
        if tid in self.done:
            self.duplicates += 1
            self.log(self.name, f"task {tid} from {msg.src} was already done elsewhere; ignored")
        else:
            self.done.add(tid)
            if tid in self._moved:  # it may wait in the queue or run elsewhere too
                if any(t.id == tid for t in self.pending):
                    self.pending.remove(self._tasks[tid])
                for others in self.assigned.values():
                    others.discard(tid)
            if len(self.done) == len(self._tasks) and self.finished_at is None:
                self.finished_at = self.env.now
                self.log(self.name, f"all {len(self._tasks)} tasks done")
                self.finished.succeed(self.env.now)
                return
        self._dispatch()
        self._steal_for(msg.src)

    def _steal_for(self, thief: str) -> None:
        """Ask the busiest worker to give back a queued task for idle ``thief``."""
        if not self.steals or self.pending or self.load.get(thief) != 0 \
                or thief in self._stealing:
            return
        busy = set(self._stealing.values())
        victims = [w for w, n in self.load.items() if n >= 2 and w not in busy]
        if not victims:
            return
        victim = max(victims, key=lambda w: self.load[w])
        self._stealing[thief] = victim
        self.network.send(self.name, victim, "steal", thief)

    def _returned(self, msg: Message) -> None:
        tid, thief = msg.payload
        self._stealing.pop(thief, None)
        victim = msg.src
        if tid is None or victim in self.suspected or tid not in self.assigned[victim]:
            return
        self.assigned[victim].discard(tid)
        if victim in self.load:
            self.load[victim] = len(self.assigned[victim])
        if tid in self.done:
            return
        if self.load.get(thief) == 0:
            self.assigned[thief].add(tid)
            self.load[thief] = 1
            self.stolen.append((self.env.now, tid, victim, thief))
            self.log(self.name, f"{thief} steals task {tid} from {victim}")
            self.env.process(self._send(self._tasks[tid], thief))
        else:
            self.pending.appendleft(self._tasks[tid])
            self._dispatch()

    def _watch(self) -> Any:
        while self.finished_at is None:
            yield self.env.timeout(self.check_every)
            now = self.env.now
            suspects = set(self.detector.suspects(now)) & set(self.workers)
            for worker in sorted(suspects - self.suspected):
                self._suspect(worker)
            for worker in sorted(self.suspected - suspects):
                self.suspected.discard(worker)
                self.rejoins.append((now, worker))
                self.load[worker] = len(self.assigned[worker])
                self.log("detector", f"{worker} is heard from again; it gets tasks again")
            self._dispatch()

    def _suspect(self, worker: str) -> None:
        now = self.env.now
        self.suspected.add(worker)
        self.suspicions.append((now, worker))
        self.load.pop(worker, None)
        for thief, victim in list(self._stealing.items()):
            if worker in (thief, victim):
                del self._stealing[thief]
        lost = sorted(self.assigned[worker] - self.done)
        self.assigned[worker] = set()
        for tid in reversed(lost):
            self._moved.add(tid)
            self.pending.appendleft(self._tasks[tid])
            self.reassigned.append((now, tid, worker))
        moved = f"; its tasks {lost} go back in the queue" if lost else ""
        self.log("detector", f"suspects {worker}{moved}")
