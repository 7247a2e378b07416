"""A worker node: does the tasks it is sent, one at a time, and sends heartbeats.

A worker knows nothing about the job as a whole. It waits for a task message
from the lead node, computes for ``task.work / speed`` seconds, sends the
result back and takes the next task from its queue. While it is alive it
also sends a heartbeat to the lead every ``heartbeat`` seconds. A killed
worker stops at once: the task it was computing is lost and it sends nothing
more, which is all the lead can ever observe of a crash.

Example:
    >>> import simpy
    >>> from labsupport.dc.network import Network
    >>> from labsupport.dc.job import Task
    >>> env = simpy.Environment()
    >>> net = Network(env)
    >>> got = []
    >>> net.attach("lead", lambda m: got.append((round(env.now, 3), m.kind, m.payload)))
    >>> w = Worker(env, "worker-1", net, speed=2.0)
    >>> _ = net.send("lead", "worker-1", "task", Task(0, work=10.0))
    >>> env.run()
    >>> got
    [(5.014, 'result', 0)]
"""

from __future__ import annotations

from collections import deque
from typing import Any

import simpy

from labsupport.dc.job import Task
from labsupport.dc.network import Message, Network
from labsupport.errors import Invalid

__all__ = ["Worker"]


class Worker:
    """One worker node in a simpy simulation.

    Args:
        env: the ``simpy.Environment``.
        name: its name on the network, e.g. ``"worker-3"``.
        network: the :class:`~labsupport.dc.network.Network` it is attached to.
        speed: how fast it computes (2.0 does a task in half the time).
        heartbeat: seconds between heartbeats, or None for no heartbeats.
        lead: the lead node's name.
    """

    def __init__(self, env: simpy.Environment, name: str, network: Network, *,
                 speed: float = 1.0, heartbeat: float | None = None,
                 lead: str = "lead") -> None:
        if not isinstance(speed, (int, float)) or not speed > 0:
            raise Invalid(f"worker speed must be positive, got {speed!r}")
        if heartbeat is not None and not heartbeat > 0:
            raise Invalid(f"heartbeat interval must be positive seconds or None, got {heartbeat!r}")
        self.env = env
        self.name = name
        self.network = network
        self.speed = float(speed)
        self.lead = lead
        self.alive = True
        self.killed_at: float | None = None
        self.busy_time = 0.0
        self.completed: list[int] = []
        self.history: list[tuple[int, float, float]] = []
        self._queue: deque[Task] = deque()
        self._wake = env.event()
        network.attach(name, self._receive)
        self._worker = env.process(self._work())
        self._beater = env.process(self._beat(heartbeat)) if heartbeat else None

    def kill(self) -> None:
        """Crash now: stop computing, drop queued tasks, send nothing more."""
        if not self.alive:
            return
        self.alive = False
        self.killed_at = self.env.now
        self._queue.clear()
        for proc in (self._worker, self._beater):
            if proc is not None and proc.is_alive:
                proc.interrupt("killed")

    def kill_at(self, time: float) -> None:
        """Schedule a crash at simulated ``time``."""
        def _later() -> Any:
            yield self.env.timeout(max(0.0, time - self.env.now))
            self.kill()
        self.env.process(_later())

    @property
    def queued(self) -> int:
        """Tasks received and not started yet."""
        return len(self._queue)

    def _receive(self, msg: Message) -> None:
        if not self.alive:
            return
        if msg.kind == "steal":  # give back the last task not started yet, if any
            task = self._queue.pop() if self._queue else None
            self.network.send(self.name, self.lead, "return",
                              (None if task is None else task.id, msg.payload))
            return
        if msg.kind != "task":
            return
        self._queue.append(msg.payload)
        if not self._wake.triggered:
            self._wake.succeed()

    def _work(self) -> Any:
        try:
            while True:
                if not self._queue:
                    self._wake = self.env.event()
                    yield self._wake
                    continue
                task = self._queue.popleft()
                took = task.work / self.speed
                started = self.env.now
                yield self.env.timeout(took)
                self.busy_time += took
                self.completed.append(task.id)
                self.history.append((task.id, started, self.env.now))
                self.network.send(self.name, self.lead, "result", task.id)
        except simpy.Interrupt:
            return

    def _beat(self, interval: float) -> Any:
        try:
            while True:
                self.network.send(self.name, self.lead, "heartbeat")
                yield self.env.timeout(interval)
        except simpy.Interrupt:
            return

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"killed at {self.killed_at:g} s"
        return f"<Worker {self.name} {state}, {len(self.completed)} tasks done>"
