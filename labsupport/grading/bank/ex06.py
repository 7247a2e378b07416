"""Checks of exercise 06: facts read from one apply's trace, and a packing Score plugin.

The notebook is ``solutions/ex06_control-plane.md``. Two checks, 11 points:

- ``ex06.q1`` ``trace_facts``: a dict of facts the student reads from one
  seeded run (:func:`trace_cluster`: a LimitRange, a ResourceQuota, a
  Deployment of :data:`TRACE_REPLICAS` pods without requests and a Service on
  three small nodes; one pod waits until a fourth node joins) with
  ``c.trace(...)``, ``c.store`` and ``c.events()``: who wrote the waiting
  pod's binding and when, how many times etcd stored the ReplicaSet, which
  admission plugin filled in the CPU request and with what, and the
  Service's etcd key. A value answer, like ``ex02.q2``: one public case per
  fact, recomputed here from the same seeded run (:func:`trace_facts`), with
  a message that names the usual mix-ups.
- ``ex06.q2`` ``PackPods``: a scheduler plugin (a
  :class:`~labsupport.SchedulerPlugin` with ``name``, ``weight`` and
  ``score(pod, node)``) with which every pod is scheduled and the pods use
  as few nodes as possible, so that the empty nodes can be removed and the
  cluster costs less.

For ``ex06.q2`` the grader builds each case's cluster on the simulator (the ``"scheduler"``
probe, :mod:`labsupport.grading.placement`): nodes of the case's sizes, the
plugin added, then the pods created one by one. A case passes when every pod
is scheduled and the pods use no more nodes than the course's own packing
plugin (:class:`ReferencePack`) needs on the same cluster. The public case
has five equal nodes; the hidden clusters, made here from seeds the student
does not see, mix small and big nodes.

Example:
    >>> EXERCISE
    <Exercise ex06 'The control plane: the trace and a Score plugin': 2 checks, 11 points>
    >>> case = cluster(5, mixed=True)
    >>> len(case["nodes"]), case["pods"][0]["name"]
    (7, 'job-1')
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from labsupport.grading.checks import NOT_ANSWERED, Case, Check, Exercise
from labsupport.grading.jsonable import is_stub
from labsupport.quantity import cpu_cores, memory_bytes
from labsupport.sim.scheduler.student import SchedulerPlugin

__all__ = ["EXERCISE", "ReferencePack", "cluster", "reference_nodes", "nodes_used",
           "NOTEBOOK_SEED", "HIDDEN", "FACTS", "TRACE_SEED", "TRACE_REPLICAS", "NODE_JOINS",
           "trace_manifests", "trace_cluster", "trace_facts"]

#: The seed of the notebook's cluster (five equal nodes).
NOTEBOOK_SEED = 6
#: The hidden clusters: (seed, mixed node sizes?, label).
HIDDEN = ((16, False, "five equal nodes, other pods"),
          (21, True, "small and big nodes"),
          (34, True, "small and big nodes, another day"),
          (47, True, "many small pods on mixed nodes"))
#: Pods request about this share of the cluster's CPU: room for everything, packed or not.
FILL = 0.5


class ReferencePack(SchedulerPlugin):
    """The course's packing plugin: a node already in use beats an empty one.

    Among used nodes, the one that would be the fullest after the pod wins
    (best fit); empty nodes score 0. Weight 10 outweighs the default plugins,
    whose NodeResourcesFit prefers the emptiest node.
    """

    name = "ReferencePack"
    weight = 10

    def score(self, pod: Any, node: Any) -> int:
        """0 for an empty node; 50..100 for a used one, fuller after the pod is higher."""
        if not node.requested.get("cpu") and not node.requested.get("memory"):
            return 0
        cpu = (node.requested["cpu"] + pod.requests["cpu"]) / node.allocatable["cpu"]
        memory = ((node.requested["memory"] + pod.requests["memory"])
                  / node.allocatable["memory"])
        return 50 + min(50, int(50 * max(cpu, memory)))


def cluster(seed: int, mixed: bool = False, small_pods: bool = False) -> dict[str, Any]:
    """A case's cluster: nodes and the pods to create, made from ``seed``.

    Args:
        seed: the cluster's seed (the simulator's too).
        mixed: nodes of 2, 4 and 8 CPUs instead of five nodes of 4.
        small_pods: pods of 100m to 500m instead of 250m to 1500m.
    """
    r = random.Random(seed)
    if mixed:
        nodes = [{"name": f"node-{i + 1}", "cpu": str(r.choice([2, 4, 8])),
                  "memory": r.choice(["8Gi", "16Gi"])} for i in range(r.randint(5, 7))]
    else:
        nodes = [{"name": f"node-{i + 1}", "cpu": "4", "memory": "8Gi"} for i in range(5)]
    total = sum(int(n["cpu"]) for n in nodes) * 1000
    sizes = [100, 200, 250, 500] if small_pods else [250, 500, 750, 1000, 1500]
    pods, requested = [], 0
    teams = ["ml", "web", "data"]
    while requested < FILL * total:
        cpu = r.choice(sizes)
        pods.append({"name": f"job-{len(pods) + 1}", "cpu": f"{cpu}m",
                     "memory": f"{r.choice([256, 512, 1024, 2048])}Mi",
                     "labels": {"team": r.choice(teams)}})
        requested += cpu
    return {"seed": seed, "nodes": nodes, "pods": pods}


def nodes_used(placement: dict[str, str | None]) -> list[str]:
    """The nodes that run at least one pod, in natural order."""
    from labsupport.viz.style import natural_sorted

    return natural_sorted({n for n in placement.values() if n})


@cache
def _reference(seed: int, mixed: bool, small_pods: bool) -> tuple[int, int]:
    """Nodes the reference plugin and the default scheduler alone use on one case."""
    from labsupport.grading.placement import place

    case = cluster(seed, mixed, small_pods)
    return (len(nodes_used(place(case, ReferencePack())["placement"])),
            len(nodes_used(place(case)["placement"])))


def reference_nodes(seed: int, mixed: bool = False, small_pods: bool = False) -> int:
    """How many nodes the course's packing plugin needs on the case's cluster."""
    return _reference(seed, mixed, small_pods)[0]


def _opened_early(case: dict[str, Any], placement: dict[str, str | None]) -> str | None:
    """The first pod that went to an empty node while a used node still had room for it."""
    cpu = {n["name"]: cpu_cores(n["cpu"]) for n in case["nodes"]}
    mem = {n["name"]: memory_bytes(n["memory"]) for n in case["nodes"]}
    used_cpu = dict.fromkeys(cpu, 0.0)
    used_mem = dict.fromkeys(cpu, 0)
    for pod in case["pods"]:
        node = placement.get(pod["name"])
        if not node:
            continue
        want_cpu, want_mem = cpu_cores(pod["cpu"]), memory_bytes(pod["memory"])
        if used_cpu[node] == 0:
            room = [n for n in cpu if used_cpu[n] > 0
                    and used_cpu[n] + want_cpu <= cpu[n] + 1e-9
                    and used_mem[n] + want_mem <= mem[n]]
            if room:
                return (f"{pod['name']} started empty {node} although "
                        f"{', '.join(room[:3])} already ran pods and had room for it")
        used_cpu[node] += want_cpu
        used_mem[node] += want_mem
    return None


def _judge(case: Case, seen: Any) -> tuple[bool, str]:
    if not isinstance(seen, dict) or "placement" not in seen:
        return False, f"the plugin could not be run: {str(seen)[:200]}"
    pending = seen.get("pending") or {}
    if pending:
        pod, message = next(iter(pending.items()))
        more = f" (and {len(pending) - 1} more pods)" if len(pending) > 1 else ""
        if "plugin" in message and ("score" in message or "filter" in message):
            return False, (f"{len(pending)} of {len(seen['placement'])} pods stayed Pending "
                           f"because the plugin failed: {message}")
        return False, (f"pod {pod} was not scheduled{more}: {message}; every pod must "
                       "find a node")
    spec = case.expect
    data = cluster(spec["seed"], spec["mixed"], spec["small_pods"])
    best, default = _reference(spec["seed"], spec["mixed"], spec["small_pods"])
    used = nodes_used(seen["placement"])
    if len(used) <= best:
        return True, ""
    why = (f"the {len(data['pods'])} pods use {len(used)} of {len(data['nodes'])} nodes "
           f"({', '.join(used)}); packed, they fit on {best}")
    if len(used) >= default:
        why += (f". That is no better than the default scheduler alone ({default} nodes): "
                "the plugin's scores do not change where pods go. Its weight "
                f"({seen.get('weight')}) times its score must beat the default plugins, "
                "whose NodeResourcesFit prefers the emptiest node")
    else:
        early = _opened_early(data, seen["placement"])
        if early:
            why += (f". {early}: a node that already runs pods should score higher than "
                    "an empty one, whatever their sizes")
    return False, why


def _cases() -> list[Case]:
    rows = [(NOTEBOOK_SEED, False, False, "the notebook's cluster: five nodes of 4 CPUs", False)]
    rows += [(seed, mixed, "many small" in label, label, True) for seed, mixed, label in HIDDEN]
    return [Case(label, cluster(seed, mixed, small),
                 expect={"seed": seed, "mixed": mixed, "small_pods": small}, hidden=hidden)
            for seed, mixed, small, label, hidden in rows]


Q2 = Check("ex06.q2", title="a Score plugin that packs pods onto few nodes", points=6,
           answer="PackPods", probe="scheduler", cases=_cases(), judge=_judge,
           many_answers=True,
           hint="score a node higher the fuller it would be with the pod, prefer nodes that "
                "already run pods, give each node an int from 0 to 100, and give the plugin "
                "a weight that outweighs the default plugins (read "
                "c.explain_scheduling(...).weights).")


# --- q1: answer from the trace ----------------------------------------------------------

#: The trace question's cluster: its seed, the shop's replicas, when a fourth node joins.
TRACE_SEED = 6
TRACE_REPLICAS = 7
NODE_JOINS = 5.0
#: Virtual times are compared to this many seconds.
TIME_TOLERANCE = 0.01
#: The facts ``trace_facts`` holds, in the order the notebook asks for them.
FACTS = ("binder", "bound_at", "rs_writes", "admission_plugin", "cpu_request", "service_key")


def trace_manifests(replicas: int = TRACE_REPLICAS) -> list[dict[str, Any]]:
    """The shop: a LimitRange, a ResourceQuota, a Deployment without requests and a Service."""
    labels = {"app": "shop"}
    return [
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"},
         "spec": {"limits": [{"type": "Container",
                              "defaultRequest": {"cpu": "400m", "memory": "128Mi"},
                              "default": {"cpu": "500m", "memory": "256Mi"}}]}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "team"},
         "spec": {"hard": {"pods": "10", "requests.cpu": "4"}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "app",
                                                        "image": "nginx:1.27"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop"},
         "spec": {"selector": labels, "ports": [{"port": 80}]}},
    ]


def trace_cluster(seed: int = TRACE_SEED, replicas: int = TRACE_REPLICAS) -> Any:
    """The notebook's run: three nodes of 1 CPU, the shop, a fourth node at :data:`NODE_JOINS`."""
    import labsupport as ls

    c = ls.connect(nodes=3, seed=seed, node_cpu="1")
    c.apply(trace_manifests(replicas))
    c.advance(NODE_JOINS)
    c.add_node(cpu="2", memory="4Gi")
    c.advance(15)
    return c


@cache
def _trace_truth(seed: int, replicas: int) -> dict[str, Any]:
    """The facts, worked out from the run's audit log and etcd, and the plausible mix-ups."""
    c = trace_cluster(seed, replicas)
    steps = list(c.trace("deployment/shop"))
    waited = next(s.object for s in steps if s.action == "FailedScheduling")
    bind = next(s for s in steps if s.action == "bind" and s.object == waited)
    pod = c.get(waited)
    rs = next(k for k in c.store.keys("/registry/replicasets/default/shop-"))
    rs_name = "replicaset/" + rs.rsplit("/", 1)[1]
    # The audit log notes each admission plugin as "<plugin>: <what it did>"; a mutating
    # plugin says what it set (LimitRanger's own annotation text).
    admitted = [s.detail.split(": ", 1) for s in steps
                if s.action == "admission" and s.object == waited]
    changer = next(plugin for plugin, note in admitted if " set: " in note)
    return {
        "facts": {
            "binder": bind.component,
            "bound_at": round(bind.time, 2),
            "rs_writes": len(list(c.store.history(rs))),
            "admission_plugin": changer,
            "cpu_request": pod["spec"]["containers"][0]["resources"]["requests"]["cpu"],
            "service_key": next(k for k in c.store.keys("/registry/services/specs/")
                                if k.endswith("/default/shop")),
        },
        "pod": waited,
        "created_at": next(s.time for s in steps if s.action == "create" and s.object == waited),
        "started_at": next(s.time for s in steps if s.action == "Started" and s.object == waited),
        "creator": next(s.component for s in steps if s.action == "create"
                        and s.object == waited),
        "rs_version": int(c.get(rs_name)["metadata"]["resourceVersion"]),
        "rs_lines": sum(1 for s in steps if s.object == rs_name),
        "rs_events": sum(1 for s in steps if s.object == rs_name and s.action[:1].isupper()),
        "other_plugins": [plugin for plugin, _ in admitted if plugin != changer],
        "cpu_limit": pod["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "endpoints_key": "/registry/services/endpoints/default/shop",
    }


def trace_facts(seed: int = TRACE_SEED, replicas: int = TRACE_REPLICAS) -> dict[str, Any]:
    """The right answers of ``ex06.q1`` for the run with ``seed`` and ``replicas``."""
    return dict(_trace_truth(seed, replicas)["facts"])


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def _close(got: Any, want: float) -> bool:
    n = _number(got)
    return n is not None and abs(n - want) <= TIME_TOLERANCE


def _fact_problem(name: str, got: Any, truth: dict[str, Any]) -> str | None:
    want = truth["facts"][name]
    pod = truth["pod"]
    if name == "binder":
        if got == want:
            return None
        why = f"binder: the binding of {pod} was written by {got!r}? No"
        if got == "kubelet":
            return (f"{why}: the kubelet only starts pods already bound to its node; it "
                    "writes the pod's status, not its binding (look for the 'bind' step)")
        if got == truth["creator"]:
            return (f"{why}: the {got} created the pod without a node; another component "
                    "wrote the binding (look for the 'bind' step)")
        if got == "kube-scheduler":
            return (f"{why}: right program, but give the component as c.trace names it "
                    "(the scheduler's name, the pod's spec.schedulerName)")
        return f"{why}: read the component of the 'bind' step of that pod in c.trace"
    if name == "bound_at":
        if _close(got, want):
            return None
        n = _number(got)
        if n is None:
            return f"bound_at should be a number of seconds (virtual time), got {got!r}"
        why = f"bound_at: {pod} was not bound at {n:g} s"
        if _close(got, truth["created_at"]):
            return (f"{why}: that is when the pod was created (and the scheduler first "
                    "failed to place it, FailedScheduling); the binding came later")
        if _close(got, truth["started_at"]):
            return (f"{why}: that is when the kubelet started its container, after the "
                    "image pull; the binding came before")
        return f"{why}: read the time of the 'bind' step of that pod"
    if name == "rs_writes":
        if got == want and _number(got) is not None:
            return None
        why = f"rs_writes: the ReplicaSet was not written {got!r} times"
        if got == truth["rs_version"]:
            return (f"{why}: {got} is its metadata.resourceVersion, the cluster-wide revision "
                    "of its last write, not a count of its writes")
        if got in (truth["rs_lines"], truth["rs_events"]):
            return (f"{why}: the trace's SuccessfulCreate lines are Events, separate objects "
                    "stored under /registry/events/, not writes of the ReplicaSet's key")
        if _number(got) is not None and got == want - 1:
            return f"{why}: its creation is a write too"
        return f"{why}: count the changes etcd kept for its key (c.store.history)"
    if name == "admission_plugin":
        if got == want:
            return None
        why = f"admission_plugin: {got!r} did not fill in the CPU request"
        if got in truth["other_plugins"]:
            return (f"{why}: it only checked the pod (and charged the quota); it changed "
                    "nothing in it")
        if got == "DefaultTolerationSeconds":
            return f"{why}: that plugin added the two tolerations"
        return f"{why}: read the 'admission' steps of the pod in c.trace"
    if name == "cpu_request":
        if got == want:
            return None
        if isinstance(got, (str, int, float)) and not isinstance(got, bool):
            try:
                if abs(cpu_cores(got) - cpu_cores(want)) < 1e-9:
                    return None
            except ValueError:
                pass
        why = f"cpu_request: the pod does not request {got!r} CPU"
        if got == truth["cpu_limit"]:
            return (f"{why}: that is the limit the plugin set (the LimitRange's default); "
                    "the request comes from defaultRequest")
        return f"{why}: read the pod's resources as the API server stored them (c.get)"
    if got == want:
        return None
    why = f"service_key: {got!r} is not the Service's key"
    if got == truth["endpoints_key"]:
        return f"{why}: that key holds the Service's Endpoints"
    return f"{why}: list the keys with c.store.keys() and pick the Service's"


def _judge_trace(case: Case, seen: Any) -> tuple[bool, str]:
    if not isinstance(seen, dict):
        return False, f"trace_facts should be a dict with the keys {', '.join(FACTS)}"
    truth = _trace_truth(TRACE_SEED, TRACE_REPLICAS)
    for name in case.expect:
        if name not in seen:
            return False, f"trace_facts has no key {name!r}"
        if is_stub(seen[name]):
            return False, f"{NOT_ANSWERED} ({name} is still ...)"
        problem = _fact_problem(name, seen[name], truth)
        if problem:
            return False, problem
    return True, ""


Q1 = Check("ex06.q1", title="answer from the trace", points=5, answer="trace_facts",
           probe="value",
           cases=[Case("which component bound the pod that waited", expect=("binder",)),
                  Case("when it was bound", expect=("bound_at",)),
                  Case("how many times the ReplicaSet was written", expect=("rs_writes",)),
                  Case("which admission plugin set the CPU request, and to what",
                       expect=("admission_plugin", "cpu_request")),
                  Case("the Service's etcd key", expect=("service_key",))],
           judge=_judge_trace,
           hint="find the pod with a FailedScheduling event, then read its steps in "
                "c.trace(...) (bind, admission); etcd's keys and their changes are in "
                "c.store.keys() and c.store.history(key).")


def _prepare() -> None:
    """Place every case with the reference plugin before any submission runs."""
    _trace_truth(TRACE_SEED, TRACE_REPLICAS)
    for case in Q2.cases:
        _reference(case.expect["seed"], case.expect["mixed"], case.expect["small_pods"])


EXERCISE = Exercise("ex06", "The control plane: the trace and a Score plugin", (Q1, Q2),
                    prepare=_prepare)
