"""The network between the lead node and its workers: latency, jitter, delays, loss.

A message never arrives instantly. :class:`NetworkModel` describes how long a
message takes: a fixed ``latency``, plus random ``jitter`` (exponential, so
most messages are quick and a few are slow), plus now and then a long
``spike_delay`` (a congested switch, a busy receiver), and a chance ``loss``
that the message never arrives. :class:`Network` carries messages between
named nodes of one simulation and keeps a log of them.

Example:
    >>> import random
    >>> from labsupport.dc import NetworkModel
    >>> model = NetworkModel(latency=0.01, jitter=0.005)
    >>> rng = random.Random(0)
    >>> [round(model.sample(rng), 4) for _ in range(3)]
    [0.0193, 0.0171, 0.0127]
    >>> NetworkModel(loss=1.0).sample(rng) is None      # every message lost
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labsupport.errors import Invalid

__all__ = ["NetworkModel", "Network", "Message", "LAN", "BUSY_LAN", "MESSAGE_BYTES"]


@dataclass(frozen=True)
class NetworkModel:
    """How long messages take and how often they are lost.

    Attributes:
        latency: the smallest delay of any message, in seconds.
        jitter: the mean extra random delay (exponential), in seconds.
        spike_probability: the chance that a message also waits ``spike_delay``.
        spike_delay: the longest extra wait of a delayed message; the wait is
            uniform between half of it and all of it.
        loss: the chance that a message never arrives.
        max_delay: no message that arrives takes longer than this.
    """

    latency: float = 0.005
    jitter: float = 0.0
    spike_probability: float = 0.0
    spike_delay: float = 1.0
    loss: float = 0.0
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        for name in ("latency", "jitter", "spike_delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise Invalid(f"NetworkModel {name} must be 0 or more seconds, got {value!r}")
        for name in ("spike_probability", "loss"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise Invalid(f"NetworkModel {name} must be a probability between 0 and 1, "
                              f"got {value!r}")
        if self.max_delay < self.latency:
            raise Invalid(f"NetworkModel max_delay ({self.max_delay!r}) must not be below "
                          f"latency ({self.latency!r})")

    def sample(self, rng: random.Random) -> float | None:
        """Draw one message's delay in seconds, or None when the message is lost."""
        if self.loss and rng.random() < self.loss:
            return None
        delay = self.latency
        if self.jitter:
            delay += rng.expovariate(1.0 / self.jitter)
        if self.spike_probability and rng.random() < self.spike_probability:
            delay += rng.uniform(self.spike_delay / 2, self.spike_delay)
        return min(delay, self.max_delay)


#: A quiet local network: 5 ms, a little jitter, nothing lost.
LAN = NetworkModel(latency=0.005, jitter=0.002)

#: A busy local network: mostly fast, sometimes a message waits a second or
#: two, and one in a hundred is lost. Heartbeats on it make timeouts hard.
BUSY_LAN = NetworkModel(latency=0.01, jitter=0.02, spike_probability=0.02,
                        spike_delay=1.6, loss=0.01, max_delay=2.0)


#: Bytes a message of each kind carries unless the sender says otherwise: a
#: task carries its input data, a result its output, a heartbeat only a name.
MESSAGE_BYTES: dict[str, int] = {"task": 64_000, "result": 4_000, "heartbeat": 60,
                                 "steal": 60, "return": 200}


@dataclass(frozen=True)
class Message:
    """One message as the network log records it.

    Attributes:
        sent: simulated time it left ``src``.
        delivered: simulated time it reached ``dst``, or None if it was lost.
        src: the sender's name, e.g. ``"lead"``.
        dst: the receiver's name, e.g. ``"worker-2"``.
        kind: ``"task"``, ``"result"`` or ``"heartbeat"``.
        payload: what it carries, e.g. a task number.
        size: how many bytes it carries (:data:`MESSAGE_BYTES` by kind).
    """

    sent: float
    delivered: float | None
    src: str
    dst: str
    kind: str
    payload: Any = None
    size: int = 0

    def __repr__(self) -> str:
        end = "lost" if self.delivered is None else f"{self.delivered:.3f}"
        what = self.kind if self.payload is None else f"{self.kind} {self.payload}"
        return f"<Message {what}: {self.src} -> {self.dst} at {self.sent:.3f}, arrives {end}>"


class Network:
    """Carries messages between the nodes of one simpy simulation.

    Args:
        env: the ``simpy.Environment``.
        model: delays and losses.
        seed: makes the delays the same from run to run.
        log_kinds: which message kinds to keep in :attr:`log` (heartbeats are
            many, so a long run may leave them out).
    """

    #: Seconds a reliable sender waits before resending a lost message.
    RETRY = 0.2

    def __init__(self, env: Any, model: NetworkModel | None = None, *, seed: int = 0,
                 log_kinds: tuple[str, ...] = ("task", "result", "heartbeat")) -> None:
        self.env = env
        self.model = model or LAN
        self.rng = random.Random(f"{seed}:network")
        self.log_kinds = log_kinds
        self.log: list[Message] = []
        self._receivers: dict[str, Callable[[Message], None]] = {}

    def attach(self, name: str, receive: Callable[[Message], None]) -> None:
        """Register node ``name``; ``receive`` is called with each message that arrives."""
        if name in self._receivers:
            raise Invalid(f"a node named {name!r} is already on this network")
        self._receivers[name] = receive

    def send(self, src: str, dst: str, kind: str, payload: Any = None, *,
             reliable: bool | None = None, size: int | None = None) -> Message:
        """Send a message now; it arrives after a random delay (or never).

        Args:
            src: the sender's name.
            dst: the receiver's name.
            kind: ``"task"``, ``"result"``, ``"heartbeat"``...
            payload: what the message carries.
            reliable: resend a lost message until it arrives, as TCP does
                (each lost try costs :attr:`RETRY` seconds). By default
                heartbeats are fire-and-forget and everything else is reliable.
            size: bytes carried; :data:`MESSAGE_BYTES` of the kind by default.

        Returns:
            the :class:`Message` record (``delivered`` None when lost).
        """
        if dst not in self._receivers:
            raise Invalid(f"no node named {dst!r} on this network; "
                          f"nodes are {sorted(self._receivers)}")
        now = self.env.now
        if reliable is None:
            reliable = kind != "heartbeat"
        delay = self.model.sample(self.rng)
        waited = 0.0
        while reliable and delay is None:
            waited += self.RETRY
            delay = self.model.sample(self.rng)
        if delay is not None:
            delay += waited
        if size is None:
            size = MESSAGE_BYTES.get(kind, 0)
        msg = Message(now, None if delay is None else now + delay, src, dst, kind, payload,
                      int(size))
        if kind in self.log_kinds:
            self.log.append(msg)
        if delay is not None:
            arrival = self.env.timeout(delay, value=msg)
            arrival.callbacks.append(self._deliver)
        return msg

    def _deliver(self, event: Any) -> None:
        msg = event.value
        self._receivers[msg.dst](msg)
