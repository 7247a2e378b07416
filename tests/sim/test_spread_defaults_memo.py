"""PodTopologySpread's shortcuts against what they stand for.

- The memo of the system default constraints (``_default_constraints``)
  against computing them (``_system_defaults``), as Services, controllers and
  pod labels change.
- The fast score when every feasible node has the keys
  (``_fast_score_labelled``) against the general fast score.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from labsupport.sim.scheduler import NodeTable
from labsupport.sim.scheduler.fastpath import FastCycle
from labsupport.sim.scheduler.listers import Listers, StoreListers
from labsupport.sim.scheduler.plugins.podtopologyspread import (
    _default_constraints,
    _fast_score_general,
    _fast_score_labelled,
    _system_defaults,
    soft_constraints,
)
from labsupport.sim.scheduler.podinfo import profile_of
from labsupport.sim.store import Store

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"


def owned(name, labels, kind="ReplicaSet", api="apps/v1", owner="rs"):
    return {"metadata": {"name": name, "namespace": "default", "labels": dict(labels),
                         "ownerReferences": [{"apiVersion": api, "kind": kind, "name": owner,
                                              "controller": True}]},
            "spec": {"containers": [{"name": "app"}]}}


def replicaset(selector, kind="ReplicaSet", name="rs"):
    spec = {"selector": selector if kind == "ReplicationController" else {"matchLabels": selector}}
    return {"kind": kind, "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def service(name, selector):
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": selector}}


def agree(pod, table):
    got = _default_constraints(pod, table)
    assert got == _system_defaults(pod, table)
    return got


def test_memo_follows_services_controllers_and_labels():
    table = NodeTable()
    pod = owned("p1", {"app": "a", "tier": "web"})
    assert agree(pod, table) == ()  # no ReplicaSet known: nothing selects the pod
    table.listers.add(replicaset({"app": "a"}))
    first = agree(pod, table)
    assert [(c.topology_key, c.max_skew) for c in first] == [(HOST, 3), (ZONE, 5)]
    assert first[0].selector.requirements == (("app", "In", frozenset({"a"})),)
    assert agree(pod, table) is first  # remembered
    table.listers.add(service("web", {"tier": "web"}))  # a Service selecting the pod
    merged = agree(pod, table)
    assert merged[0].selector.requirements == (("app", "In", frozenset({"a"})),
                                               ("tier", "In", frozenset({"web"})))
    other = owned("p2", {"app": "a", "tier": "db"})  # the Service does not select it
    assert agree(other, table)[0].selector.requirements == (("app", "In", frozenset({"a"})),)
    table.listers.add(replicaset({"app": "b"}))  # the controller's selector replaced
    assert agree(pod, table)[0].selector.requirements[0] == ("app", "In", frozenset({"b"}))
    table.listers.remove("Service", "default", "web")
    assert len(agree(pod, table)[0].selector.requirements) == 1
    table.listers.remove("ReplicaSet", "default", "rs")
    assert agree(pod, table) == ()


def test_memo_on_replication_controllers_and_bare_pods():
    table = NodeTable()
    table.listers.add(replicaset({"app": "a"}, kind="ReplicationController"))
    rc_pod = owned("p", {"app": "a"}, kind="ReplicationController", api="v1")
    assert agree(rc_pod, table)[0].selector.requirements == (("app", "In", frozenset({"a"})),)
    bare = {"metadata": {"name": "bare", "labels": {"app": "a"}}, "spec": {}}
    assert agree(bare, table) == ()
    table.listers.add(service("a", {"app": "a"}))
    assert agree(bare, table)[0].selector.requirements == (("app", "In", frozenset({"a"})),)


def test_store_listers_see_service_writes():
    store = Store()
    table = NodeTable()
    table.listers = StoreListers(store)
    store.put("/registry/replicasets/default/rs", replicaset({"app": "a"}))
    pod = owned("p", {"app": "a", "tier": "web"})
    assert len(agree(pod, table)[0].selector.requirements) == 1
    store.put("/registry/services/specs/default/web", service("web", {"tier": "web"}))
    assert len(agree(pod, table)[0].selector.requirements) == 2
    store.delete("/registry/services/specs/default/web")
    assert len(agree(pod, table)[0].selector.requirements) == 1


def test_services_versions_are_never_reused():
    a, b = Listers(), Listers()
    seen = {a.services_version, b.services_version}
    a.add(service("x", {"app": "x"}))
    b.add(service("x", {"app": "x"}))
    seen |= {a.services_version, b.services_version}
    assert len(seen) == 4


def build_table(rng, n_nodes, with_zone, unlabelled):
    table = NodeTable()
    table.listers.add(replicaset({"app": "a"}))
    for i in range(n_nodes):
        labels = {HOST: f"n{i}"}
        if with_zone and i not in unlabelled:
            labels[ZONE] = f"z{i % 3}"
        table.upsert_node({"metadata": {"name": f"n{i}", "labels": labels},
                           "status": {"allocatable": {"cpu": "8", "memory": "32Gi",
                                                      "pods": "110"}}})
    for j in range(rng.randrange(4 * n_nodes)):
        app = rng.choice(["a", "a", "b"])
        table.add_pod(owned(f"bound-{j}", {"app": app}), f"n{rng.randrange(n_nodes)}")
    return table


@pytest.mark.parametrize("seed", range(40))
def test_labelled_fast_score_agrees_with_the_general_one(seed):
    rng = random.Random(seed)
    n = rng.randrange(2, 30)
    unlabelled = set(rng.sample(range(n), rng.randrange(0, 3)))
    table = build_table(rng, n, rng.random() < 0.6, unlabelled)
    pod = owned("incoming", {"app": "a"})
    constraints, require_all = soft_constraints(pod, table)
    assert constraints and not require_all  # the system defaults (the labelled case's domain)
    cycle = FastCycle(table, pod, profile_of(pod))
    order = table.order()
    for _ in range(5):
        k = rng.randrange(1, len(order) + 1)
        feasible = np.asarray(sorted(rng.sample(order.tolist(), k)), np.int64)
        general = _fast_score_general(cycle, feasible, constraints, require_all)
        quick = _fast_score_labelled(cycle, feasible, constraints)
        gap = any(table.node_view(int(s)).labels.get(ZONE) is None for s in feasible)
        if ZONE in table.label_cols and gap:
            assert quick is None  # a feasible node without the zone: the general path
        else:
            assert quick is not None
            assert quick.tolist() == general.tolist()


@pytest.mark.parametrize("crowd", [10, 64, 65, 100])
def test_hostname_lookup_agrees_with_the_general_path_on_crowded_nodes(crowd):
    table = NodeTable()
    table.listers.add(replicaset({"app": "a"}))
    for i in range(5):
        table.upsert_node({"metadata": {"name": f"n{i}", "labels": {HOST: f"n{i}"}},
                           "status": {"allocatable": {"cpu": "8", "memory": "32Gi",
                                                      "pods": "200"}}})
    for j in range(crowd):  # n0 holds `crowd` matching pods, n1 one, the others none
        table.add_pod(owned(f"bound-{j}", {"app": "a"}), "n0")
    table.add_pod(owned("lone", {"app": "a"}), "n1")
    pod = owned("incoming", {"app": "a"})
    constraints, _ = soft_constraints(pod, table)
    cycle = FastCycle(table, pod, profile_of(pod))
    feasible = table.order()
    general = _fast_score_general(cycle, feasible, constraints, False)
    quick = _fast_score_labelled(cycle, feasible, constraints)
    assert general.tolist()[2:] == [100, 100, 100]  # the empty nodes score best
    if crowd > 64:
        assert quick is None  # counts spread too widely for the lookup table
    else:
        assert quick.tolist() == general.tolist()
