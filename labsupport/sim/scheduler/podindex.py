"""The pods on each node, as the scheduler's cache keeps them (``NodeInfo.Pods``).

InterPodAffinity and PodTopologySpread look at the pods already on the nodes:
their labels, namespace, whether they are terminating, and their own pod
affinity. :class:`PodIndex` keeps, per row of the
:class:`~labsupport.sim.scheduler.nodetable.NodeTable`:

- ``on_slot[slot]``: the pods on that node (``NodeInfo.Pods``), what the
  reference cycle reads;
- ``with_affinity`` and ``with_required_anti_affinity``: the pods that have
  pod affinity terms (``NodeInfo.PodsWithAffinity``,
  ``PodsWithRequiredAntiAffinity``);

and, for the fast path, :class:`MatchCounts`: for one question ("pods in
namespace N whose labels match S"), how many pods on each row answer yes, as
a numpy array kept current as pods come and go. A question is registered the
first time it is asked; the pods that can match it are found through an
index of pods by label, so registering does not walk every pod.

Example:
    >>> from labsupport.sim.scheduler.nodetable import NodeTable
    >>> from labsupport.sim.scheduler.selectors import Selector
    >>> t = NodeTable()
    >>> t.upsert_node({"metadata": {"name": "n1"}, "status": {"allocatable": {"pods": "9"}}})
    >>> t.add_pod({"metadata": {"name": "a", "labels": {"app": "web"}}, "spec": {}}, "n1")
    >>> counts = t.pods.counts(((frozenset({"default"}), Selector.of_set({"app": "web"})),))
    >>> int(counts[t.slot("n1")])
    1
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from labsupport.sim.scheduler.selectors import PodAffinity, Selector, pod_affinity_of

__all__ = ["PodIndex", "PodEntry", "MatchCounts", "Clause"]

#: One condition on a pod: its namespace is in the set (None: any namespace)
#: and its labels match the selector.
Clause = tuple[frozenset[str] | None, Selector]


@dataclass(frozen=True, slots=True)
class PodEntry:
    """What the scheduler's cache keeps of a bound pod (a ``PodInfo``).

    One per bound pod: slots keep 150,000 of them about half the size.
    """

    key: str
    namespace: str
    labels: Mapping[str, str]
    terminating: bool
    affinity: PodAffinity
    slot: int
    #: ``spec.priority`` (DefaultPreemption picks victims of lower priority).
    priority: int = 0
    #: The pod object as it was bound (preemption reads its status and labels).
    pod: Mapping = field(default_factory=dict, compare=False, repr=False)


def _clause_matches(clause: Clause, entry: PodEntry) -> bool:
    namespaces, selector = clause
    return (namespaces is None or entry.namespace in namespaces) and \
        selector.matches(entry.labels)


class MatchCounts:
    """Per row, how many pods match every clause (terminating pods left out if asked)."""

    __slots__ = ("clauses", "skip_terminating", "counts")

    def __init__(self, clauses: tuple[Clause, ...], skip_terminating: bool,
                 capacity: int) -> None:
        self.clauses = clauses
        self.skip_terminating = skip_terminating
        self.counts = np.zeros(capacity, np.int64)

    def matches(self, entry: PodEntry) -> bool:
        """Whether the pod counts."""
        if self.skip_terminating and entry.terminating:
            return False
        return all(_clause_matches(c, entry) for c in self.clauses)


class PodIndex:
    """Bound pods by node, with counts per question for the fast path."""

    def __init__(self) -> None:
        self.entries: dict[str, PodEntry] = {}
        self.on_slot: dict[int, dict[str, PodEntry]] = {}
        self.with_affinity: dict[str, PodEntry] = {}
        self.with_required_anti_affinity: dict[str, PodEntry] = {}
        self._by_label: dict[tuple[str, str], dict[str, None]] = {}
        self._counts: dict[tuple, MatchCounts] = {}
        self._anchored: dict[tuple[str, str], list[MatchCounts]] = {}
        self._unanchored: list[MatchCounts] = []
        self._capacity = 0
        #: How many bound pods have each ``spec.priority`` (can preemption find victims?).
        self.priorities: Counter[int] = Counter()
        #: Bumped on every change (caches of derived facts key on it).
        self.version = 0

    def __len__(self) -> int:
        return len(self.entries)

    # -- changes --------------------------------------------------------------------------
    def add(self, pod: Mapping, slot: int) -> None:
        """Account a pod bound to the node in ``slot`` (replacing an older copy)."""
        meta = pod.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        key = f"{namespace}/{meta.get('name') or ''}"
        labels = meta.get("labels") or {}
        old = self.entries.get(key)
        terminating = meta.get("deletionTimestamp") is not None
        if old is not None:
            if old.slot == slot and old.labels is labels and old.terminating == terminating:
                return  # nothing the scheduler reads has changed
            self.remove(key)
        priority = int((pod.get("spec") or {}).get("priority") or 0)
        entry = PodEntry(key, namespace, labels, terminating, pod_affinity_of(pod), slot,
                         priority, pod)
        self.entries[key] = entry
        self.priorities[priority] += 1
        self.on_slot.setdefault(slot, {})[key] = entry
        if entry.affinity.any:
            self.with_affinity[key] = entry
            if entry.affinity.required_anti_affinity:
                self.with_required_anti_affinity[key] = entry
        for item in labels.items():
            self._by_label.setdefault(item, {})[key] = None
        self._count(entry, 1)
        self.version += 1

    def remove(self, key: str) -> None:
        """Forget a pod (unknown keys are ignored)."""
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        self.priorities[entry.priority] -= 1
        if not self.priorities[entry.priority]:
            del self.priorities[entry.priority]
        pods = self.on_slot.get(entry.slot)
        if pods is not None:
            pods.pop(key, None)
            if not pods:
                del self.on_slot[entry.slot]
        self.with_affinity.pop(key, None)
        self.with_required_anti_affinity.pop(key, None)
        for item in entry.labels.items():
            keys = self._by_label.get(item)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._by_label[item]
        self._count(entry, -1)
        self.version += 1

    def remove_slot(self, slot: int) -> None:
        """Forget every pod on a row (its node is gone)."""
        for key in list(self.on_slot.get(slot, {})):
            self.remove(key)

    def _count(self, entry: PodEntry, sign: int) -> None:
        if not self._counts:
            return
        seen: set[int] = set()
        for item in entry.labels.items():
            for mc in self._anchored.get(item, ()):
                if id(mc) not in seen:
                    seen.add(id(mc))
                    if mc.matches(entry):
                        self._grow(mc)
                        mc.counts[entry.slot] += sign
        for mc in self._unanchored:
            if mc.matches(entry):
                self._grow(mc)
                mc.counts[entry.slot] += sign

    # -- questions (the fast path) -----------------------------------------------------------
    def set_capacity(self, capacity: int) -> None:
        """The node table's row count (counts arrays grow to it when read)."""
        self._capacity = capacity

    def _grow(self, mc: MatchCounts) -> None:
        if len(mc.counts) < self._capacity:
            mc.counts = np.concatenate(
                [mc.counts, np.zeros(self._capacity - len(mc.counts), np.int64)])

    def counts(self, clauses: tuple[Clause, ...], *, skip_terminating: bool = False
               ) -> np.ndarray:
        """Per row, the pods matching every clause (read-only; kept current).

        A clause with a selector that selects nothing gives zeros everywhere.
        """
        key = (clauses, skip_terminating)
        mc = self._counts.get(key)
        if mc is None:
            mc = self._counts[key] = MatchCounts(clauses, skip_terminating, self._capacity)
            anchor = next((a for _, sel in clauses if (a := sel.anchor()) is not None), None)
            if anchor is not None:
                self._anchored.setdefault(anchor, []).append(mc)
                candidates = (self.entries[k] for k in self._by_label.get(anchor, ()))
            else:
                self._unanchored.append(mc)
                candidates = iter(self.entries.values())
            if not any(sel.nothing for _, sel in clauses):
                for entry in candidates:
                    if mc.matches(entry):
                        mc.counts[entry.slot] += 1
        self._grow(mc)
        return mc.counts
