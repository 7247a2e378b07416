"""The kubelet's container restart back-off (CrashLoopBackOff), step by step.

The kubelet keeps one back-off entry per container (client-go
``util/flowcontrol/backoff.go``, used by ``doBackOff`` in kubernetes
``pkg/kubelet/kuberuntime/kuberuntime_manager.go``). When a container has
exited, the kubelet's next sync asks whether the time since the container
finished is still inside the entry's window:

* no entry yet (the first exit): restart at once, and create the entry with
  the initial 10 s;
* inside the window: wait (the container is ``CrashLoopBackOff``), then
  restart and double the window, up to 300 s;
* an entry older than 10 minutes (the container ran that long since its
  last restart): it has expired; restart at once and start again at 10 s.

So the delays after successive crashes are 0, 10, 20, 40, 80, 160, 300,
300 ... seconds (docs: concepts/workloads/pods/pod-lifecycle, "Container
restarts"). The 1.37 defaults are unchanged: the faster curve of
KEP-4603 (``ReduceDefaultCrashLoopBackOffDecay``) is alpha and off, and the
kubelet configuration kind writes sets no ``crashLoopBackOff.maxContainerRestartPeriod``.

Example:
    >>> b = RestartBackOff()
    >>> delays = []
    >>> t = 0.0
    >>> for _ in range(8):
    ...     d = b.delay(t)
    ...     delays.append(d)
    ...     t += d
    ...     b.restarted(t)
    >>> delays
    [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
"""

from __future__ import annotations

__all__ = ["RestartBackOff", "BACKOFF_INITIAL", "BACKOFF_MAX", "BACKOFF_RESET_AFTER"]

#: pkg/kubelet/kubelet.go: containerBackOffPeriod (the first window).
BACKOFF_INITIAL = 10.0
#: pkg/kubelet/kubelet.go: MaxContainerBackOff.
BACKOFF_MAX = 300.0
#: An entry expires when the container finishes this long after its last
#: restart (flowcontrol ``hasExpired``: 2 x the maximum, i.e. 10 minutes).
BACKOFF_RESET_AFTER = 2 * BACKOFF_MAX


class RestartBackOff:
    """The back-off entry of one container.

    Attributes:
        window: the current window in seconds (None before the first restart).
        last_update: virtual time of the last restart.
    """

    __slots__ = ("window", "last_update")

    def __init__(self) -> None:
        self.window: float | None = None
        self.last_update = 0.0

    def _expired(self, finished_at: float) -> bool:
        return self.window is None or finished_at - self.last_update > BACKOFF_RESET_AFTER

    def delay(self, finished_at: float) -> float:
        """Seconds to wait after an exit at ``finished_at`` before the restart (0: at once)."""
        return 0.0 if self._expired(finished_at) else float(self.window or 0.0)

    def restarted(self, now: float, finished_at: float | None = None) -> None:
        """Record a restart at ``now`` of a container that finished at ``finished_at``.

        This is flowcontrol's ``Next``: a fresh (or expired) entry starts at
        the initial window; otherwise the window doubles, up to the maximum.
        """
        if self._expired(now if finished_at is None else finished_at):
            self.window = BACKOFF_INITIAL
        else:
            self.window = min(float(self.window or 0.0) * 2, BACKOFF_MAX)
        self.last_update = now
