"""The kubelet's image manager: pulls that succeed, fail, back off and retry.

A mix-in of :class:`~labsupport.sim.podworker.PodWorker`, kept apart so that
the image manager reads on its own, as ``pkg/kubelet/images/image_manager.go``
does upstream. What one pull returns (the registry's answer and how long it
takes) is :mod:`labsupport.sim.registry`'s; the rules here are when the
kubelet pulls, what it reports and how long it waits before trying again.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...              "spec": {"containers": [{"name": "app", "image": "ngnix:1.27"}]}})
    >>> c.advance(2)
    >>> c.pods()[0].status            # "ngnix" is a near miss of nginx: no such repository
    'ErrImagePull'
    >>> c.advance(2)
    >>> c.pods()[0].status            # waiting 10 s before the next try, then 20 s ...
    'ImagePullBackOff'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labsupport.sim import registry
from labsupport.sim.network import CONTROL_PLANE
from labsupport.sim.workloads import Behaviour, behaviour

if TYPE_CHECKING:
    from labsupport.sim.podstatus import ContainerState

__all__ = ["ImageManager", "POD_SYNC_AFTER_ERROR", "PLEG_RELIST_PERIOD",
           "IMAGE_BACKOFF_INITIAL", "IMAGE_BACKOFF_MAX", "IMAGE_CHECK_PERIOD"]

# Image pulls. After a failed pod sync the pod worker syncs the pod again after
# 10 s (pkg/kubelet/pod_workers.go, backOffPeriod; upstream adds up to 50 % jitter,
# the simulator none). After the first failure the sync comes sooner: the new pod
# sandbox is seen by the PLEG's next relist, every 1 s (pkg/kubelet/pleg/generic.go).
POD_SYNC_AFTER_ERROR = 10.0
PLEG_RELIST_PERIOD = 1.0
# The image back-off: pkg/kubelet/kubelet.go, imageBackOff = flowcontrol.NewBackOff(
# backOffPeriod 10 s, MaxContainerBackOff 300 s); an entry expires after 2 x max.
IMAGE_BACKOFF_INITIAL = 10.0
IMAGE_BACKOFF_MAX = 300.0
# How often a pod waiting for an image looks for a new image in its spec (the
# real kubelet syncs at once on a pod update; the simulator polls).
IMAGE_CHECK_PERIOD = 1.0
INF = math.inf


class ImageManager:
    """Image pulls of one pod (mixed into the pod worker, whose state it uses)."""

    # Provided by PodWorker.
    kubelet: Any
    sim: Any
    env: Any
    pod: dict

    def _pull(self, c: ContainerState, b: Behaviour):
        """Make sure the image of ``c`` is on the node; return when it is.

        Follows the kubelet's image manager (``EnsureImageExists`` in
        pkg/kubelet/images/image_manager.go) at every pod sync: a reference
        that does not parse gives InvalidImageName; imagePullPolicy Never
        without the image on the node gives ErrImageNeverPull; a failed pull
        gives ErrImagePull, then ImagePullBackOff while the image back-off
        (keyed by pod and image: 10 s, doubling to 300 s) runs. It keeps
        trying; a new image in the pod's spec (the pod was updated) is tried
        at once, with a back-off of its own. The registry's answers are
        :func:`labsupport.sim.registry.pull`'s.
        """
        delay, failed_at, backoff_image = 0.0, -INF, ""
        while True:
            self._follow_image(c)
            image = c.image
            invalid = registry.invalid_reference(image)
            if invalid is not None:
                yield from self._image_error(c, "InvalidImageName", invalid, "InspectFailed")
                continue
            cached = image in self.kubelet.images
            policy = c.spec.get("imagePullPolicy") or registry.default_pull_policy(image)
            if cached and policy != "Always":
                self.event("Normal", "Pulled", f'Container image "{image}" already present on '
                           "machine and can be accessed by the pod", c)
                return
            if policy == "Never":
                yield from self._image_error(
                    c, "ErrImageNeverPull",
                    f'Container image "{image}" is not present with pull policy of Never',
                    "ErrImageNeverPull")
                continue
            self.event("Normal", "Pulling", f'Pulling image "{image}"', c)
            forced = behaviour(self.pod, c.spec, init=c.init).pull_error
            result = registry.pull(image, pull_seconds=b.pull_seconds, cached=cached,
                                   forced=forced, reachable=self._registry_reachable())
            yield self._sleep(result.seconds)
            error = result.error
            if error is None and not self._registry_reachable():  # cut off while pulling
                error = registry.pull(image, pull_seconds=b.pull_seconds, reachable=False).error
            if error is None:
                self.kubelet.images.add(image)
                took = registry.go_duration(result.seconds)
                self.event("Normal", "Pulled", f'Successfully pulled image "{image}" in {took} '
                           f"({took} including waiting)", c)
                return
            # flowcontrol.Backoff.Next: 10 s, then doubling to 300 s; it starts
            # over for a new key (a new image) or after 600 s without failures.
            now = self.env.now
            if image != backoff_image or now - failed_at > 2 * IMAGE_BACKOFF_MAX:
                delay = IMAGE_BACKOFF_INITIAL
            else:
                delay = min(delay * 2, IMAGE_BACKOFF_MAX)
            first = backoff_image == ""
            failed_at, backoff_image = now, image
            yield from self._pull_backoff(c, image, error, delay, first)

    def _pull_backoff(self, c: ContainerState, image: str, error: str, delay: float,
                      first: bool):
        """Report a failed pull (ErrImagePull), then ImagePullBackOff until ``delay`` is over.

        The texts are the kubelet's: the ``Failed`` events of the image manager
        and of ``startContainer`` (pkg/kubelet/kuberuntime/kuberuntime_container.go),
        and since 1.32 the back-off's waiting message ends with the last pull
        error (kubernetes PR 127918).
        """
        self.event("Warning", "Failed", f'Failed to pull image "{image}": {error}', c)
        self.event("Warning", "Failed", "Error: ErrImagePull", c)
        self._waiting(c, "ErrImagePull", error)
        end = self.env.now + delay
        step = PLEG_RELIST_PERIOD if first else POD_SYNC_AFTER_ERROR
        while True:  # the pod syncs that fall inside the back-off
            if (yield from self._wait_for_image(c, min(step, end - self.env.now))):
                return  # the pod has a new image: try it now
            if self.env.now >= end - 1e-9:
                return
            self.event("Normal", "BackOff", f'Back-off pulling image "{image}"', c)
            self.event("Warning", "Failed", "Error: ImagePullBackOff", c)
            self._waiting(c, "ImagePullBackOff",
                          f'Back-off pulling image "{image}": ErrImagePull: {error}')
            step = POD_SYNC_AFTER_ERROR

    def _image_error(self, c: ContainerState, reason: str, message: str, event_reason: str):
        """Report an image problem found at a pod sync, and wait for the next sync."""
        self.event("Warning", event_reason, message, c)
        self.event("Warning", "Failed", f"Error: {reason}", c)
        self._waiting(c, reason, message)
        yield from self._wait_for_image(c, POD_SYNC_AFTER_ERROR)

    def _waiting(self, c: ContainerState, reason: str, message: str) -> None:
        """Set the container's waiting reason and message, and report it if it changed."""
        state = {"waiting": {"reason": reason, "message": message}}
        if c.state != state:
            c.state = state
            self.sync()

    def _wait_for_image(self, c: ContainerState, seconds: float):
        """Wait ``seconds``; stop early (returning True) when the pod's spec changes the image."""
        end = self.env.now + seconds
        while self.env.now < end - 1e-9:
            yield self._sleep(min(IMAGE_CHECK_PERIOD, end - self.env.now))
            if self._spec_of(c).get("image") != c.image:
                return True
        return False

    def _spec_of(self, c: ContainerState) -> dict:
        """The current spec of container ``c`` in the pod (it may have been updated)."""
        for spec in self.pod["spec"].get("initContainers" if c.init else "containers") or ():
            if spec.get("name") == c.name:
                return spec
        return c.spec

    def _follow_image(self, c: ContainerState) -> None:
        """Take the container's new spec if the pod now asks for another image."""
        spec = self._spec_of(c)
        if spec.get("image") != c.image:
            c.spec, c.image = spec, spec.get("image", "")

    def _registry_reachable(self) -> bool:
        """Whether this node reaches the registry: it sits with the control plane."""
        return self.sim.network.reachable(self.kubelet.node, CONTROL_PLANE)

