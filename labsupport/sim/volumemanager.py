"""The kubelet's volume manager, as far as the simulator models it.

Before a pod's containers start, the pod worker waits here for its volumes:
plugins and drivers a kind node has (:mod:`labsupport.sim.volumeplugins`),
claims bound to a volume, and ConfigMaps and Secrets that exist. Mixed into
:class:`labsupport.sim.podworker.PodWorker` (upstream: pkg/kubelet/volumemanager).
"""

from __future__ import annotations

from typing import Any

from labsupport.sim.configrefs import lookup_in, volume_errors
from labsupport.sim.imagemanager import POD_SYNC_AFTER_ERROR
from labsupport.sim.volumeplugins import (
    ATTACH_TIMEOUT,
    attach_failures,
    blocked_message,
    setup_errors,
    unmountable,
)

__all__ = ["VolumeManager", "MOUNT_RETRY_INITIAL", "MOUNT_RETRY_MAX", "MOUNT_WAIT_TIMEOUT"]

# Mounting ConfigMap and Secret volumes: the operation executor's retry back-off
# (pkg/util/goroutinemap/exponentialbackoff: 500 ms doubling to 2 min 2 s) and how
# long the pod worker waits for its volumes (volumemanager podAttachAndMountTimeout).
MOUNT_RETRY_INITIAL = 0.5
MOUNT_RETRY_MAX = 122.0
MOUNT_WAIT_TIMEOUT = 123.0


class VolumeManager:
    """The volume waits of a pod worker (a mixin: it uses the worker's pod, events, clock)."""

    pod: dict
    spec: dict
    namespace: str
    key: str
    sim: Any
    env: Any

    def _wait_volume_plugins(self):
        """Volumes no plugin or driver of a kind node mounts: the pod never starts.

        See :mod:`labsupport.sim.volumeplugins`: the wait fails at once (no
        plugin) and the pod worker tries again after its sync back-off, for
        ever. A cloud disk nobody attaches is reported by the attach/detach
        controller (``FailedAttachVolume`` each time its CSI attacher gives up,
        then the operation back-off: 0.5 s doubling to 2 min 2 s); the
        kubelet's own timeouts are silent.
        """
        blocked = blocked_message(self.pod)
        if blocked is None:
            failures = attach_failures(self.pod)
            if not any(how == "unattached" for _, how, _ in unmountable(self.pod)):
                return
            retry = MOUNT_RETRY_INITIAL
            while True:
                yield self._sleep(ATTACH_TIMEOUT)
                for message in failures:
                    self.sim.api.event(self.pod, "Warning", "FailedAttachVolume", message,
                                       "attachdetach-controller", key=self.key)
                yield self._sleep(retry)
                retry = min(retry * 2, MOUNT_RETRY_MAX)
        message, _ = blocked
        while True:
            self.event("Warning", "FailedMount", message)
            yield self._sleep(POD_SYNC_AFTER_ERROR)

    def _wait_volumes(self):
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in self.spec.get("volumes") or ()
            if v.get("persistentVolumeClaim")
        ]
        warned = False
        while claims:
            pending = [n for n in claims if not self.sim._pvc_bound(self.namespace, n)]
            if not pending:
                return
            if not warned:
                self.event(
                    "Warning",
                    "FailedMount",
                    f"Unable to attach or mount volumes: unmounted volumes=[{pending[0]}]: "
                    "timed out waiting for the condition",
                )
                warned = True
            yield self._sleep(2.0)

    def _mount_config_volumes(self):
        """Wait until the ConfigMaps and Secrets of the pod's volumes exist.

        The volume manager retries a failed ``MountVolume.SetUp`` with an
        exponential back-off (0.5 s, doubling, at most 2 min 2 s:
        pkg/util/goroutinemap/exponentialbackoff), each failure a FailedMount
        event; the pod worker gives up waiting after 2 min 3 s
        (pkg/kubelet/volumemanager, podAttachAndMountTimeout) without an event
        of its own (a timeout is ``wait.Interrupted``), and syncs the pod again later.
        """
        lookup = lookup_in(self.sim.store)
        retry, deadline = MOUNT_RETRY_INITIAL, self.env.now + MOUNT_WAIT_TIMEOUT
        while True:
            failed = volume_errors(lookup, self.pod) + setup_errors(self.pod)
            if not failed:
                return
            for volume, why in failed:
                self.event("Warning", "FailedMount",
                           f'MountVolume.SetUp failed for volume "{volume}" : {why}')
            wake = self.env.now + retry
            retry = min(retry * 2, MOUNT_RETRY_MAX)
            if wake >= deadline:
                # The wait timed out: SyncPod records no event for an interrupted
                # wait (pkg/kubelet/kubelet.go, ``if !wait.Interrupted(err)``).
                yield self._sleep(deadline - self.env.now)
                yield self._sleep(POD_SYNC_AFTER_ERROR)
                deadline = self.env.now + MOUNT_WAIT_TIMEOUT
            else:
                yield self._sleep(wake - self.env.now)
