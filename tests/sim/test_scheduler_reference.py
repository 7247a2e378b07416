"""The fast path against the reference cycle (schedule_one), on random clusters.

The reference cycle runs every plugin node by node; the fast path runs the
vectorised plugins with caches and shortcuts. They must agree on everything a
decision holds: which nodes pass each Filter, every Score plugin's scores, the
sampled walk (nodes checked, feasible count, the round-robin start), the
FailedScheduling message and the chosen node (same random draws).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport.sim.scheduler import NodeTable, Profile, Scheduler
from labsupport.sim.scheduler.reference import schedule_one

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
# A ReplicaSet in both tables' listers: pods it owns get the default spread.
REPLICASET = {"kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "default"},
              "spec": {"selector": {"matchLabels": {"app": "a"}}}}
TOLERATIONS = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                "effect": "NoExecute", "tolerationSeconds": 300}]


def node(name, cpu, mem, pods, zone, disk, taint, cordon):
    taints = [{"key": "team", "value": "x", "effect": taint}] if taint else []
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "topology.kubernetes.io/zone": zone,
                                                  "disk": disk}},
            "spec": {"taints": taints, "unschedulable": cordon},
            "status": {"allocatable": {"cpu": f"{cpu}m", "memory": f"{mem}Mi",
                                       "pods": str(pods)}}}


def pod_terms(spec, meta, app, extra):
    """InterPodAffinity and PodTopologySpread terms (issue 15) on a generated pod."""
    if app is None:
        return
    meta["labels"] = {"app": app}
    kind, key, hard = extra
    term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}
    if kind == "owned" and app == "a":
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": "rs", "controller": True}]
    elif kind in ("podAffinity", "podAntiAffinity"):
        spec.setdefault("affinity", {})[kind] = (
            {"requiredDuringSchedulingIgnoredDuringExecution": [term]} if hard else
            {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 7, "podAffinityTerm": term}]})
    elif kind == "spread":
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": key, "labelSelector": {"matchLabels": {"app": app}},
            "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway"}]


def pod(i, cpu, mem, selector, tolerate, port, prefer, named, app=None, extra=None):
    requests = {k: v for k, v in (("cpu", None if cpu is None else f"{cpu}m"),
                                  ("memory", None if mem is None else f"{mem}Mi")) if v}
    container = {"name": "app", "resources": {"requests": requests}}
    if port:
        container["ports"] = [{"containerPort": port, "hostPort": port}]
    spec = {"containers": [container], "tolerations": list(TOLERATIONS)}
    if tolerate:
        spec["tolerations"].append({"key": "team", "operator": "Exists"})
    if selector:
        spec["nodeSelector"] = {"topology.kubernetes.io/zone": selector}
    affinity = {}
    if prefer:
        affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": 5, "preference": {"matchExpressions": [
                {"key": "disk", "operator": "In", "values": [prefer]}]}}]
    if named is not None:
        affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [named]}]}]}
    if affinity:
        spec["affinity"] = {"nodeAffinity": affinity}
    meta = {"name": f"p{i}", "namespace": "default"}
    pod_terms(spec, meta, app, extra)
    return {"metadata": meta, "spec": spec}


node_st = st.tuples(st.integers(0, 4000), st.integers(0, 4096), st.integers(0, 8),
                    st.sampled_from(["a", "b", "c"]), st.sampled_from(["ssd", "hdd"]),
                    st.sampled_from([None, None, "NoSchedule", "PreferNoSchedule"]),
                    st.booleans())
pod_st = st.tuples(st.one_of(st.none(), st.integers(0, 1500)),
                   st.one_of(st.none(), st.integers(0, 1500)),
                   st.sampled_from([None, None, "a", "b"]), st.booleans(),
                   st.sampled_from([None, None, None, 80]),
                   st.sampled_from([None, "ssd", "hdd"]), st.integers(-8, 200),
                   st.sampled_from([None, "a", "a", "b"]),
                   st.tuples(st.sampled_from(["owned", "owned", "podAffinity", "podAntiAffinity",
                                              "spread", "none"]),
                             st.sampled_from([HOST, ZONE]), st.booleans()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(node_st, min_size=1, max_size=12), st.integers(0, 150),
       st.lists(pod_st, min_size=1, max_size=30),
       st.sampled_from(["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"]),
       st.sampled_from([None, 30, 100]), st.integers(0, 3))
def test_fast_path_agrees_with_the_reference_cycle(nodes, copies, pods, strategy, pct, seed):
    # A few node shapes, repeated up to 150 times, so that sampling (100+ nodes) happens.
    objs = [node(f"n{i:03d}", *nodes[i % len(nodes)]) for i in range(len(nodes) + copies)]
    tables = [NodeTable(), NodeTable()]
    for t in tables:
        t.listers.add(REPLICASET)
        for o in objs:
            t.upsert_node(o)
    profile = Profile(scoring_strategy=strategy, percentage_of_nodes_to_score=pct)
    fast, ref = (Scheduler(t, profile=profile, seed=seed) for t in tables)
    for i, (cpu, mem, selector, tolerate, port, prefer, named, app, extra) in enumerate(pods):
        name = f"n{named:03d}" if 0 <= named < len(objs) else (None if named >= 0 else "gone")
        p = pod(i, cpu, mem, selector, tolerate, port, prefer, name, app, extra)
        start = ref.next_start_node_index
        got = fast.schedule(p)
        want = schedule_one(ref, p)
        assert (got.node, got.message, got.nodes_checked, got.feasible) == (
            want.node, want.message, want.nodes_checked, want.feasible)
        assert fast.next_start_node_index == ref.next_start_node_index
        # Sampling: the reference checked nodes_checked nodes from the start.
        checked = [r["node"] for r in want.table]
        assert len(checked) == want.nodes_checked
        if name is None and checked:
            order = tables[1].names()
            assert checked[0] == order[start % len(order)]
        # Feasibility and scores, node by node, from the vectorised plugins.
        passed, scores = fast._fast.verdicts(p, checked)
        assert passed == [r["filter"] == "passed" for r in want.table]
        feasible = [r for r in want.table if r["filter"] == "passed"]
        if len(feasible) > 1:
            names = [r["node"] for r in feasible]
            _, scores = fast._fast.verdicts(p, names)
            for plugin, values in scores.items():
                assert values == [r[plugin] for r in feasible], plugin
            totals = [sum(w * r[k] for k, w in want.weights.items()) for r in feasible]
            assert totals == [r["total"] for r in feasible]
        if want.node is not None:
            for t in tables:
                t.add_pod(p, want.node)


# -- resources other than cpu and memory (issue 15 of the project) -------------------------
GPU, FOO, HUGE = "nvidia.com/gpu", "example.com/foo", "hugepages-2Mi"

other_node_st = st.tuples(
    st.integers(500, 4000), st.integers(512, 4096), st.integers(1, 8),
    st.sampled_from(["a", "b", "c"]),
    st.one_of(st.none(), st.integers(0, 20)),     # ephemeral-storage, Gi (None: not listed)
    st.one_of(st.none(), st.integers(0, 4)),      # nvidia.com/gpu (None: not listed)
    st.one_of(st.none(), st.integers(0, 3)),      # example.com/foo
    st.one_of(st.none(), st.integers(0, 256)))    # hugepages-2Mi, Mi

other_pod_st = st.tuples(
    st.one_of(st.none(), st.integers(0, 1500)), st.one_of(st.none(), st.integers(0, 1500)),
    st.one_of(st.none(), st.integers(0, 8)),      # ephemeral-storage, Gi
    st.one_of(st.none(), st.integers(0, 2)),      # gpu
    st.one_of(st.none(), st.integers(0, 2)),      # foo
    st.one_of(st.none(), st.integers(0, 128)),    # hugepages-2Mi, Mi
    st.sampled_from([None, "init", "sidecar"]),   # where the gpu request also appears
    st.integers(0, 3))                            # init / sidecar gpu count


def other_node(name, cpu, mem, pods, zone, disk, gpu, foo, huge):
    n = node(name, cpu, mem, pods, zone, "ssd", None, False)
    alloc = n["status"]["allocatable"]
    for key, value in ((EPHEMERAL, None if disk is None else f"{disk}Gi"),
                       (GPU, gpu), (FOO, foo), (HUGE, None if huge is None else f"{huge}Mi")):
        if value is not None:
            alloc[key] = str(value)
    return n


EPHEMERAL = "ephemeral-storage"


def other_pod(i, cpu, mem, disk, gpu, foo, huge, where, extra_gpu):
    requests = {k: v for k, v in (("cpu", None if cpu is None else f"{cpu}m"),
                                  ("memory", None if mem is None else f"{mem}Mi"),
                                  (EPHEMERAL, None if disk is None else f"{disk}Gi"),
                                  (GPU, gpu), (FOO, foo),
                                  (HUGE, None if huge is None else f"{huge}Mi"))
                if v is not None}
    spec = {"containers": [{"name": "app", "resources": {"requests": requests}}],
            "tolerations": list(TOLERATIONS)}
    if where is not None:
        init = {"name": "init", "resources": {"requests": {GPU: str(extra_gpu),
                                                           EPHEMERAL: "1Gi"}}}
        if where == "sidecar":
            init["restartPolicy"] = "Always"
        spec["initContainers"] = [init]
    return {"metadata": {"name": f"q{i}", "namespace": "default"}, "spec": spec}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(other_node_st, min_size=1, max_size=8), st.integers(0, 120),
       st.lists(other_pod_st, min_size=1, max_size=30), st.sampled_from([None, 50, 100]),
       st.booleans(), st.integers(0, 3))
def test_fast_path_agrees_on_extended_resources(nodes, copies, pods, pct, ignore, seed):
    """ephemeral-storage, extended resources and hugepages: same nodes, messages, scores."""
    from labsupport.sim.scheduler.plugins.noderesources import NodeResourcesFit

    objs = [other_node(f"n{i:03d}", *nodes[i % len(nodes)])
            for i in range(len(nodes) + copies)]
    tables = [NodeTable(), NodeTable()]
    for t in tables:
        for o in objs:
            t.upsert_node(o)
    if ignore:  # NodeResourcesFitArgs.ignoredResourceGroups: example.com/* is not checked
        profile = Profile(disabled=["NodeResourcesFit"], plugins=[
            NodeResourcesFit(ignored_resource_groups=["example.com"])],
            percentage_of_nodes_to_score=pct)
    else:
        profile = Profile(percentage_of_nodes_to_score=pct)
    fast, ref = (Scheduler(t, profile=profile, seed=seed) for t in tables)
    for i, args in enumerate(pods):
        p = other_pod(i, *args)
        got = fast.schedule(p)
        want = schedule_one(ref, p)
        assert (got.node, got.message, got.nodes_checked, got.feasible) == (
            want.node, want.message, want.nodes_checked, want.feasible)
        if ignore or args[4] is None or args[4] == 0:
            assert "Insufficient example.com/foo" not in want.message
        checked = [r["node"] for r in want.table]
        passed, _ = fast._fast.verdicts(p, checked)
        assert passed == [r["filter"] == "passed" for r in want.table]
        feasible = [r for r in want.table if r["filter"] == "passed"]
        if len(feasible) > 1:
            _, scores = fast._fast.verdicts(p, [r["node"] for r in feasible])
            for plugin, values in scores.items():
                assert values == [r[plugin] for r in feasible], plugin
        if want.node is not None:
            for t in tables:
                t.add_pod(p, want.node)
