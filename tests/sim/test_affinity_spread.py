"""InterPodAffinity and PodTopologySpread (issue 15), on small hand-made clusters.

Scores are worked out by hand in the comments from upstream's formulas
(interpodaffinity/scoring.go, podtopologyspread/scoring.go); every case is
also checked on the fast path's vectorised plugins (``verdicts``).
"""

from __future__ import annotations

import math

import labsupport as ls
from labsupport.sim.scheduler import NodeTable, Scheduler
from labsupport.sim.scheduler.reference import schedule_one

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
AFF = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
SPREAD = "node(s) didn't match pod topology spread constraints"
MISSING = SPREAD + " (missing required label)"


def cluster(zones: dict[str, str | None]) -> tuple[NodeTable, Scheduler]:
    t = NodeTable()
    for name, zone in zones.items():
        labels = {HOST: name} | ({ZONE: zone} if zone else {})
        t.upsert_node({"metadata": {"name": name, "labels": labels},
                       "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    return t, Scheduler(t, seed=0)


def pod(name: str, app: str | None = None, affinity: dict | None = None,
        spread: list | None = None, owner: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": "default"}
    if app:
        meta["labels"] = {"app": app}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": owner, "controller": True}]
    spec: dict = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}
    if affinity:
        spec["affinity"] = affinity
    if spread:
        spec["topologySpreadConstraints"] = spread
    return {"metadata": meta, "spec": spec}


def term(app: str, key: str = HOST) -> dict:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}


def place(t: NodeTable, p: dict, node: str) -> None:
    t.add_pod(p, node)


def column(d, plugin: str) -> dict[str, int]:
    return {r["node"]: r[plugin] for r in d.table if r["filter"] == "passed"}


def reasons(d) -> dict[str, str]:
    return {r["node"]: r["filter"] for r in d.table}


def fast_agrees(s: Scheduler, p: dict, nodes: list[str], d) -> None:
    passed, scores = s._fast.verdicts(p, nodes)
    by_node = {r["node"]: r["filter"] == "passed" for r in d.table}
    assert passed == [by_node[n] for n in nodes]
    ok = [n for n, good in zip(nodes, passed, strict=True) if good]
    if len(ok) > 1:
        _, scores = s._fast.verdicts(p, ok)
        for plugin in ("InterPodAffinity", "PodTopologySpread"):
            assert scores[plugin] == [column(d, plugin)[n] for n in ok], plugin


# -- InterPodAffinity: Filter ---------------------------------------------------------------
def test_required_anti_affinity_filters_nodes_with_a_matching_pod():
    t, s = cluster({"n1": "a", "n2": "a", "n3": "b"})
    place(t, pod("db", "db"), "n1")
    p = pod("web", "web", {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("db", ZONE)]}})
    d = schedule_one(s, p)
    assert reasons(d) == {"n1": ANTI, "n2": ANTI, "n3": "passed"}
    assert d.node == "n3"


def test_existing_pods_anti_affinity_rejects_the_incoming_pod():
    t, s = cluster({"n1": "a", "n2": "b"})
    place(t, pod("db", "db", {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web")]}}), "n1")
    p = pod("web", "web")
    d = schedule_one(s, p)
    assert reasons(d) == {"n1": EXISTING, "n2": "passed"}
    fast_agrees(s, p, ["n1", "n2"], d)


def test_required_affinity_and_the_first_pod_of_a_group():
    t, s = cluster({"n1": "a", "n2": "b"})
    # No pod matches anywhere: a pod matching its own term may go anywhere.
    first = pod("web-1", "web", {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]}})
    assert schedule_one(s, first).node in ("n1", "n2")
    # ...but not a pod whose own labels do not match.
    other = pod("api", "api", {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]}})
    d = schedule_one(s, other)
    assert d.node is None
    assert d.message.startswith(f"0/2 nodes are available: 2 {AFF}. ")
    # With web-1 on n1 (zone a), both must go to zone a.
    place(t, first, "n1")
    d = schedule_one(s, other)
    assert reasons(d) == {"n1": "passed", "n2": AFF}
    fast_agrees(s, other, ["n1", "n2"], d)


def test_affinity_needs_the_topology_key_on_the_node():
    t, s = cluster({"n1": "a", "n2": None})
    p = pod("web", "web", {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]}})
    d = schedule_one(s, p)
    assert reasons(d) == {"n1": "passed", "n2": AFF}


def test_namespace_selector_and_namespaces():
    t, s = cluster({"n1": "a", "n2": "b"})
    t.listers.add({"kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "x"}}})
    db = pod("db", "db")
    db["metadata"]["namespace"] = "shop"
    place(t, db, "n1")
    anti = {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": HOST}
    # Same namespace by default: the db in "shop" does not count.
    p = pod("w1", "web", {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [anti]}})
    assert reasons(schedule_one(s, p)) == {"n1": "passed", "n2": "passed"}
    by_label = dict(anti, namespaceSelector={"matchLabels": {"team": "x"}})
    p = pod("w2", "web", {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [by_label]}})
    d = schedule_one(s, p)
    assert reasons(d) == {"n1": ANTI, "n2": "passed"}
    fast_agrees(s, p, ["n1", "n2"], d)
    by_name = dict(anti, namespaces=["shop"])
    p = pod("w3", "web", {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [by_name]}})
    assert reasons(schedule_one(s, p)) == {"n1": ANTI, "n2": "passed"}


def test_match_label_keys_narrow_the_selector_to_the_pods_own_value():
    t, s = cluster({"n1": "a", "n2": "b"})
    old = pod("old", "web")
    old["metadata"]["labels"]["pod-template-hash"] = "v1"
    place(t, old, "n1")
    anti = {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST,
            "matchLabelKeys": ["pod-template-hash"]}
    new = pod("new", "web", {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [anti]}})
    new["metadata"]["labels"]["pod-template-hash"] = "v2"
    assert reasons(schedule_one(s, new)) == {"n1": "passed", "n2": "passed"}
    new["metadata"]["labels"]["pod-template-hash"] = "v1"
    assert reasons(schedule_one(s, new)) == {"n1": ANTI, "n2": "passed"}


# -- InterPodAffinity: Score ----------------------------------------------------------------
def test_preferred_terms_are_weighted_and_normalized_by_min_and_max():
    t, s = cluster({"n1": "a", "n2": "a", "n3": "b"})
    place(t, pod("db", "db"), "n1")
    p = pod("web", "web", {
        "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "podAffinityTerm": term("db", ZONE)}]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "podAffinityTerm": term("db", HOST)}]}})
    d = schedule_one(s, p)
    # zone a: +10; host n1: -5. Raw n1 5, n2 10, n3 0; min 0, max 10.
    assert column(d, "InterPodAffinity") == {"n1": 50, "n2": 100, "n3": 0}
    assert d.node == "n2"
    fast_agrees(s, p, ["n1", "n2", "n3"], d)


def test_existing_pods_required_affinity_counts_with_hard_pod_affinity_weight_1():
    t, s = cluster({"n1": "a", "n2": "b", "n3": "c"})
    place(t, pod("db", "db", {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]}}), "n2")
    place(t, pod("cache", "cache", {"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 3, "podAffinityTerm": term("web", ZONE)}]}}), "n3")
    p = pod("web", "web")
    d = schedule_one(s, p)
    # zone b: +1 (hardPodAffinityWeight); zone c: -3. Raw 0, 1, -3: min -3, max 1.
    assert column(d, "InterPodAffinity") == {"n1": 75, "n2": 100, "n3": 0}
    fast_agrees(s, p, ["n1", "n2", "n3"], d)


def test_no_affinity_anywhere_skips_the_score():
    t, s = cluster({"n1": "a", "n2": "b"})
    d = schedule_one(s, pod("web", "web"))
    assert column(d, "InterPodAffinity") == {"n1": 0, "n2": 0}


# -- PodTopologySpread: Filter ------------------------------------------------------------
def spread(key: str, skew: int = 1, hard: bool = True, **extra) -> list:
    return [{"maxSkew": skew, "topologyKey": key, "labelSelector": {"matchLabels": {"app": "web"}},
             "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway", **extra}]


def test_max_skew_filters_the_fuller_domain_and_a_missing_label():
    t, s = cluster({"n1": "a", "n2": "a", "n3": "b", "n4": None})
    place(t, pod("w1", "web"), "n1")
    p = pod("web", "web", spread=spread(ZONE))
    d = schedule_one(s, p)
    # zone a: 1, zone b: 0 -> a would be 2 - 0 > 1; n4 has no zone label.
    assert reasons(d) == {"n1": SPREAD, "n2": SPREAD, "n3": "passed", "n4": MISSING}
    fast_agrees(s, p, ["n1", "n2", "n3", "n4"], d)


def test_min_domains_makes_the_global_minimum_zero():
    t, s = cluster({"n1": "a", "n2": "b"})
    place(t, pod("w1", "web"), "n1")
    place(t, pod("w2", "web"), "n2")
    p = pod("web", "web", spread=spread(ZONE, minDomains=3))
    d = schedule_one(s, p)
    # Two domains < 3: minimum 0, so 1 + 1 - 0 > 1 on both.
    assert d.message.startswith(f"0/2 nodes are available: 2 {SPREAD}. ")
    assert schedule_one(s, pod("web", "web", spread=spread(ZONE))).node is not None


def test_node_affinity_policy_honor_leaves_out_nodes_the_pod_cannot_use():
    t, s = cluster({"n1": "a", "n2": "b", "n3": "c"})
    place(t, pod("w1", "web"), "n1")
    place(t, pod("w2", "web"), "n2")
    p = pod("web", "web", spread=spread(ZONE))
    p["spec"]["nodeSelector"] = {ZONE: "a"}
    # Honor (default): only zone a counts, minimum 1: on n1 1 + 1 - 1 <= 1.
    assert schedule_one(s, p).node == "n1"
    # Ignore: zone c (no pod) counts, minimum 0: 1 + 1 - 0 > 1.
    p["spec"]["topologySpreadConstraints"][0]["nodeAffinityPolicy"] = "Ignore"
    d = schedule_one(s, p)
    assert d.node is None
    assert d.message.startswith("0/3 nodes are available: 1 " + SPREAD + ", 2 node(s) didn't "
                                "match Pod's node affinity/selector. ")


# -- PodTopologySpread: Score -------------------------------------------------------------
def test_schedule_anyway_score_by_hand():
    t, s = cluster({"n1": "a", "n2": "a", "n3": "b"})
    for i in range(2):
        place(t, pod(f"w{i}", "web"), "n1")
    place(t, pod("w9", "web"), "n3")
    p = pod("web", "web", spread=spread(ZONE, hard=False))
    d = schedule_one(s, p)
    # Two zones: weight ln(4). Raw: a round(2 ln 4) = 3, b round(ln 4) = 1.
    # Normalized 100 * (max + min - s) / max: 100 * 1 // 3 = 33, 100 * 3 // 3 = 100.
    assert round(2 * math.log(4)) == 3
    assert column(d, "PodTopologySpread") == {"n1": 33, "n2": 33, "n3": 100}
    fast_agrees(s, p, ["n1", "n2", "n3"], d)


def test_system_default_spread_for_a_pod_owned_by_a_replicaset():
    t, s = cluster({"n1": None, "n2": None, "n3": None})
    t.listers.add({"kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "default"},
                   "spec": {"selector": {"matchLabels": {"app": "web"}}}})
    for i in range(2):
        place(t, pod(f"w{i}", "web"), "n1")
    place(t, pod("w9", "web"), "n3")
    p = pod("web", "web", owner="web-1")
    d = schedule_one(s, p)
    # hostname maxSkew 3: weight ln(3 + 2); no zone labels: the zone term adds nothing.
    # Raw: n1 round(2 ln 5 + 2) = 5, n2 2, n3 round(ln 5 + 2) = 4; max 5, min 2.
    assert column(d, "PodTopologySpread") == {"n1": 40, "n2": 100, "n3": 60}
    fast_agrees(s, p, ["n1", "n2", "n3"], d)
    # Not owned, no Service: no default constraints.
    d = schedule_one(s, pod("lone", "web"))
    assert column(d, "PodTopologySpread") == {"n1": 0, "n2": 0, "n3": 0}


def test_a_service_selector_gives_default_constraints_too():
    t, s = cluster({"n1": None, "n2": None})
    t.listers.add({"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"selector": {"app": "web"}}})
    place(t, pod("w0", "web"), "n1")
    d = schedule_one(s, pod("web", "web"))
    # hostname: weight ln(4); raw n1 round(ln 4 + 2) = 3, n2 2 (zone: no labels).
    # Normalized: 100 * (3 + 2 - 3) // 3 = 66 and 100 * (3 + 2 - 2) // 3 = 100.
    assert column(d, "PodTopologySpread") == {"n1": 66, "n2": 100}


# -- the two reported bugs, in a whole cluster ------------------------------------------------
def deployment(name: str, replicas: int, extra_spec: dict) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": "nginx:1.27", "resources": {
                             "requests": {"cpu": "100m", "memory": "64Mi"}}}],
                         **extra_spec}}}}


def pods_of(c, app: str) -> list[dict]:
    return [p for p in c.store.table("pods").values()
            if (p["metadata"].get("labels") or {}).get("app") == app]


def test_three_replicas_with_hostname_anti_affinity_on_two_nodes():
    c = ls.connect("sim", nodes=2, seed=0)
    c.apply(deployment("web", 3, {"affinity": {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("web")]}}}))
    c.advance(30)
    pods = pods_of(c, "web")
    nodes = sorted(p["spec"].get("nodeName") or "" for p in pods)
    assert len(pods) == 3 and nodes[0] == "" and len(set(nodes[1:])) == 2
    pending = next(p for p in pods if not p["spec"].get("nodeName"))
    cond = pending["status"]["conditions"][0]
    assert cond["reason"] == "Unschedulable"
    assert cond["message"].startswith(f"0/2 nodes are available: 2 {ANTI}. ")


def test_six_replicas_max_skew_1_spread_2_2_2_with_one_busy_node():
    c = ls.connect("sim", nodes=3, node_cpu="4", seed=0)
    busy = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "busy"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                                     "resources": {"requests": {"cpu": "3"}}}]}}
    c.apply(busy)
    c.advance(5)
    c.apply(deployment("web", 6, {"topologySpreadConstraints": spread(HOST)}))
    c.advance(30)
    per_node: dict[str, int] = {}
    for p in pods_of(c, "web"):
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
    assert sorted(per_node.values()) == [2, 2, 2]
