"""The kubelet's resource admission: does a pod bound here fit what the node has left?

The scheduler checks resources before binding, but a pod can reach a kubelet
without it (``spec.nodeName`` set by hand, a scheduler of your own, a race).
So the kubelet checks again before it starts anything
(pkg/kubelet/lifecycle/predicate.go ``predicateAdmitHandler.Admit``): the
same ``fitsRequest`` as NodeResourcesFit, against the node's allocatable and
the requests of the pods it already runs. A pod that does not fit is
rejected: phase Failed, reason ``OutOf<resource>`` (``OutOfcpu``,
``OutOfnvidia.com/gpu``, ``OutOfpods``), message ``Pod was rejected: Node
didn't have enough resource: <resource>, requested: <n>, used: <n>,
capacity: <n>`` (kubelet.go ``rejectPod``), and a Warning event with the same
reason. Only the first failing resource is reported.

Two upstream rules worth knowing: an *extended* resource the node does not
list at all is dropped from the pod's requests before the check
(``removeMissingExtendedResources``: such resources may be cluster-level, not
node-level), so it is admitted; ephemeral-storage and hugepages are not
extended resources, so a node without them has 0 and rejects.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, node_cpu="1")
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"},
    ...     "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx",
    ...              "resources": {"requests": {"cpu": "2"}}}]}})
    >>> c.advance(1)
    >>> st = c.get("pod/big")["status"]
    >>> st["phase"], st["reason"]
    ('Failed', 'OutOfcpu')
    >>> st["message"].startswith("Pod was rejected: "), st["message"][18:]
    (True, "Node didn't have enough resource: cpu, requested: 2000, used: 0, capacity: 1000")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from labsupport.sim.scheduler.podinfo import (
    EPHEMERAL_STORAGE,
    PodProfile,
    is_extended_resource_name,
    is_scalar_resource_name,
    milli_value,
    profile_of,
    value,
)

__all__ = ["NodeResources", "Rejection", "REJECTED_PREFIX", "admit", "check", "AdmittedPods"]

#: kubelet.go rejectPod: the pod's status message starts with this.
REJECTED_PREFIX = "Pod was rejected: "

#: ``(reason, message)`` of a rejected pod (the event's reason and message).
Rejection = tuple[str, str]


class NodeResources:
    """A node's allocatable amounts as the kubelet's NodeInfo counts them.

    Attributes:
        amounts: ``cpu`` in milli-CPU, ``pods``, and every other resource the
            node lists (memory, ephemeral-storage, hugepages, extended) as a
            whole number.
    """

    __slots__ = ("amounts",)

    def __init__(self, allocatable: dict) -> None:
        amounts: dict[str, int] = {}
        for name, quantity in allocatable.items():
            name = str(name)
            if name == "cpu":
                amounts[name] = milli_value(quantity)
            elif name in ("memory", "pods", EPHEMERAL_STORAGE) or is_scalar_resource_name(name):
                amounts[name] = value(quantity)
        self.amounts = amounts


def _requests(prof: PodProfile) -> dict[str, int]:
    out = {"cpu": prof.cpu, "memory": prof.memory}
    out.update(prof.extra)
    return out


def admit(pod: dict, node: NodeResources, others: Iterable[dict]) -> Rejection | None:
    """None when ``pod`` fits next to ``others`` on ``node``, else ``(reason, message)``.

    ``others`` are the pods the kubelet already admitted and still runs
    (``GetActivePods``). Follows predicate.go ``Admit`` / ``GeneralPredicates``
    with noderesources ``Fits`` (no ignored resources): pods, cpu, memory,
    ephemeral-storage, then scalar resources by name; the first failure wins.
    """
    used: dict[str, int] = {}
    count = 0
    for other in others:
        count += 1
        for name, amount in _requests(profile_of(other)).items():
            used[name] = used.get(name, 0) + amount
    return check(_requests(profile_of(pod)), node, used, count)


def check(wanted: dict[str, int], node: NodeResources, used: dict[str, int],
          count: int) -> Rejection | None:
    """:func:`admit` on amounts: the pod's requests, what the others use, how many they are."""
    alloc = node.amounts
    # removeMissingExtendedResources: extended resources the node does not list.
    wanted = {name: amount for name, amount in wanted.items()
              if name in alloc or not is_extended_resource_name(name)}
    failures = []
    if count + 1 > alloc.get("pods", 0):
        failures.append(("pods", 1, count, alloc.get("pods", 0)))
    if any(wanted.values()):  # fitsRequest: nothing requested, nothing more to check
        for name in ("cpu", "memory", EPHEMERAL_STORAGE, *sorted(
                n for n in wanted if n not in ("cpu", "memory", EPHEMERAL_STORAGE))):
            amount = wanted.get(name, 0)
            if amount > 0 and amount > alloc.get(name, 0) - used.get(name, 0):
                failures.append((name, amount, used.get(name, 0), alloc.get(name, 0)))
    if not failures:
        return None
    # Admit: "If there are failed predicates, we only return the first one as a reason."
    name, requested, in_use, capacity = failures[0]
    return (f"OutOf{name}",  # InsufficientResourceError: reason OutOf<resource name>
            f"Node didn't have enough resource: {name}, requested: {requested}, "
            f"used: {in_use}, capacity: {capacity}")


class AdmittedPods:
    """The pods one kubelet admitted, with the running sum of what they request.

    The sums also count pods that finished but are still tracked, so they can
    only be too high: a pod that fits with them fits; otherwise
    :meth:`admit` counts the active pods exactly before it rejects.

    Example:
        >>> node = NodeResources({"cpu": "1", "memory": "1Gi", "pods": "110"})
        >>> pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "600m"}}}]}}
        >>> admitted = AdmittedPods()
        >>> admitted.admit("a", pod, node, lambda: [])
        >>> admitted.admit("b", pod, node, lambda: [pod])[0]
        'OutOfcpu'
        >>> admitted.remove("a")
        >>> admitted.admit("b", pod, node, lambda: []) is None
        True
    """

    def __init__(self) -> None:
        self.used: dict[str, int] = {"cpu": 0, "memory": 0}
        self.count = 0
        self._of: dict[str, PodProfile] = {}

    def admit(self, key: str, pod: dict, node: NodeResources,
              active: Callable[[], Iterable[dict]]) -> Rejection | None:
        """Admit ``pod`` (and count it) or say why not; ``active`` lists the running pods."""
        prof = profile_of(pod)
        used, alloc = self.used, node.amounts
        if prof.extra or not (  # the usual pod: cpu and memory only, and they fit
                self.count < alloc.get("pods", 0)
                and used["cpu"] + prof.cpu <= alloc.get("cpu", 0)
                and used["memory"] + prof.memory <= alloc.get("memory", 0)):
            verdict = check(_requests(prof), node, used, self.count)
            if verdict is not None:
                verdict = admit(pod, node, active())
            if verdict is not None:
                return verdict
        self.remove(key)
        self._of[key] = prof
        self._count(prof, 1)
        return None

    def _count(self, prof: PodProfile, sign: int) -> None:
        used = self.used
        self.count += sign
        used["cpu"] += sign * prof.cpu
        used["memory"] += sign * prof.memory
        for name, amount in prof.extra:
            used[name] = used.get(name, 0) + sign * amount

    def remove(self, key: str) -> None:
        """Stop counting a pod (its worker is gone); unknown keys are ignored."""
        prof = self._of.pop(key, None)
        if prof is not None:
            self._count(prof, -1)
