"""The plugin declarations, the registry, profiles and plugins written by students."""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.sim.scheduler import NodeTable, Profile, Scheduler
from labsupport.sim.scheduler import framework as fw
from labsupport.sim.scheduler.plugins import REGISTRY

# pkg/scheduler/apis/config/v1/default_plugins.go (v1.37): the MultiPoint list, with
# DynamicResources before DefaultPreemption (applyFeatureGates, DRA on since v1.34).
# (name, extension points the plugin implements upstream, weight, modelled)
UPSTREAM = [
    ("SchedulingGates", {"PreEnqueue"}, 0, False),
    ("PrioritySort", {"QueueSort"}, 0, True),
    ("NodeUnschedulable", {"Filter"}, 0, True),
    ("NodeName", {"Filter"}, 0, True),
    ("TaintToleration", {"Filter", "PreScore", "Score"}, 3, True),
    ("NodeAffinity", {"PreFilter", "Filter", "PreScore", "Score"}, 2, True),
    ("NodePorts", {"PreFilter", "Filter"}, 0, True),
    ("NodeResourcesFit", {"PreFilter", "Filter", "PreScore", "Score"}, 1, True),
    ("VolumeRestrictions", {"PreFilter", "Filter"}, 0, True),
    ("NodeVolumeLimits", {"PreFilter", "Filter"}, 0, False),
    ("VolumeBinding", {"PreFilter", "Filter", "Reserve", "PreBind", "PreScore", "Score"}, 0,
     True),
    ("VolumeZone", {"PreFilter", "Filter"}, 0, False),
    # Modelled since issue 15 (tests/sim/test_affinity_spread.py).
    ("PodTopologySpread", {"PreFilter", "Filter", "PreScore", "Score"}, 2, True),
    ("InterPodAffinity", {"PreFilter", "Filter", "PreScore", "Score"}, 2, True),
    ("DynamicResources", {"PreEnqueue", "PreFilter", "Filter", "PostFilter", "Reserve",
                          "PreBind"}, 0, True),
    ("DefaultPreemption", {"PostFilter"}, 0, True),
    ("NodeResourcesBalancedAllocation", {"PreScore", "Score"}, 1, True),
    ("ImageLocality", {"Score"}, 1, True),
    ("DefaultBinder", {"Bind"}, 0, True),
]
REASONS = {
    "NodeUnschedulable": ("node(s) were unschedulable",),
    "NodeName": ("node(s) didn't match the requested node name",),
    "TaintToleration": ("node(s) had untolerated taint(s)",),
    "NodeAffinity": ("node(s) didn't match Pod's node affinity/selector",),
    "NodePorts": ("node(s) didn't have free ports for the requested pod ports",),
    # volumerestrictions/volume_restrictions.go, volumebinding/binder.go (tests/sim/test_storage.py).
    "VolumeRestrictions": ("node(s) had no available disk",
                           "node has pod using PersistentVolumeClaim with the same name and "
                           "ReadWriteOncePod access mode"),
    "VolumeBinding": ("node(s) had volume node affinity conflict",
                      "node(s) didn't find available persistent volumes to bind",
                      "node(s) did not have enough free storage",
                      "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"),
    "NodeResourcesFit": ("Too many pods", "Insufficient cpu", "Insufficient memory",
                         "Insufficient ephemeral-storage"),  # then "Insufficient <name>"
    "PodTopologySpread": ("node(s) didn't match pod topology spread constraints",
                          "node(s) didn't match pod topology spread constraints "
                          "(missing required label)"),
    "InterPodAffinity": ("node(s) didn't match pod affinity rules",
                         "node(s) didn't match pod anti-affinity rules",
                         "node(s) didn't satisfy existing pods anti-affinity rules"),
}


def node(name, cpu="4", memory="8Gi", labels=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}}


def pod(name="p", cpu="100m"):
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu}}}]}}


def api_pod(name, cpu="100m"):
    obj = pod(name, cpu)
    obj["spec"]["containers"][0]["image"] = "nginx:1.27"
    return {"apiVersion": "v1", "kind": "Pod", **obj}


def table(*nodes):
    t = NodeTable()
    for n in nodes:
        t.upsert_node(n)
    return t


# -- one declaration per upstream plugin -----------------------------------------------
def test_the_registry_lists_the_default_plugins_in_upstream_order():
    assert list(REGISTRY) == [name for name, *_ in UPSTREAM]


@pytest.mark.parametrize(("name", "points", "weight", "modelled"), UPSTREAM)
def test_each_plugin_is_declared_as_upstream(name, points, weight, modelled):
    plugin = REGISTRY[name]()
    assert plugin.name == name
    assert set(plugin.extension_points) == points
    assert list(plugin.extension_points) == [p for p in fw.EXTENSION_POINTS if p in points]
    assert plugin.weight == weight
    assert plugin.modelled is modelled
    assert plugin.reasons == REASONS.get(name, ())
    assert plugin.upstream.startswith("pkg/scheduler/framework/plugins/")
    if fw.FILTER in points and modelled:
        # InterPodAffinity and PodTopologySpread reject with either code; their
        # declared one is Unschedulable (anti-affinity, skew), see their modules.
        preemption_may_help = name in ("NodePorts", "NodeResourcesFit", "InterPodAffinity",
                                       "PodTopologySpread", "VolumeRestrictions")
        assert (plugin.filter_code == fw.UNSCHEDULABLE) is preemption_may_help


def test_the_default_profile_weights_and_table_columns():
    # PodTopologySpread and InterPodAffinity are modelled since issue 15: they
    # are Score plugins of the default profile, weight 2 each, as upstream.
    assert Profile().score_weights == {"TaintToleration": 3, "NodeAffinity": 2,
                                       "NodeResourcesFit": 1, "PodTopologySpread": 2,
                                       "InterPodAffinity": 2,
                                       "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1}


# -- the registry is what the cycle iterates ---------------------------------------------
class OnlyEvenNodes(fw.Plugin):
    """A Filter and Score added in one place: the registry."""

    name = "OnlyEvenNodes"
    extension_points = (fw.FILTER, fw.SCORE)
    reasons = ("node(s) are odd",)
    weight = 4

    def filter(self, pod, node):
        if int(node.name[-1]) % 2:
            return fw.Status(self.filter_code, self.reasons, self.name)
        return fw.Status.success()

    def score(self, pod, node):
        return 10 * int(node.name[-1])


def test_a_plugin_added_to_the_registry_runs_in_both_cycles_and_shows_in_explain(monkeypatch):
    monkeypatch.setitem(REGISTRY, "OnlyEvenNodes", OnlyEvenNodes)
    nodes = [node(f"node-{i}") for i in range(1, 6)]
    d = Scheduler(table(*nodes)).schedule(pod(), explain=True)
    rows = {r["node"]: r for r in d.table}
    assert rows["node-1"]["filter"] == "node(s) are odd"
    assert rows["node-1"]["plugin"] == "OnlyEvenNodes"
    assert rows["node-4"]["OnlyEvenNodes"] == 40 and d.weights["OnlyEvenNodes"] == 4
    assert d.node == "node-4"
    assert Scheduler(table(*nodes)).schedule(pod()).node == "node-4"  # the fast path too
    nothing = Scheduler(table(node("node-1"))).schedule(pod())
    assert nothing.message.startswith("0/1 nodes are available: 1 node(s) are odd.")


# -- profiles ------------------------------------------------------------------------------
def test_most_allocated_profile_packs_pods():
    c = ls.connect("sim", nodes=3, seed=0,
                   scheduler=ls.SchedulerProfile(scoring_strategy="MostAllocated"))
    for i in range(3):
        c.apply(api_pod(f"p{i}", cpu="500m"))
        c.advance(1)
    assert len({p.node for p in c.pods()}) == 1
    spread = ls.connect("sim", nodes=3, seed=0)
    for i in range(3):
        spread.apply(api_pod(f"p{i}", cpu="500m"))
        spread.advance(1)
    assert len({p.node for p in spread.pods()}) == 3


def test_a_disabled_plugin_is_not_run():
    cordoned = node("node-1") | {"spec": {"unschedulable": True}}
    t = table(cordoned)
    assert Scheduler(t).schedule(pod()).node is None
    profile = Profile(disabled=["NodeUnschedulable", "ImageLocality"])
    d = Scheduler(t, profile=profile).schedule(pod(), explain=True)
    assert d.node == "node-1" and "ImageLocality" not in d.table[0]
    with pytest.raises(Invalid, match="no default scheduler plugin is called 'NodeAfinity'"):
        Profile(disabled=["NodeAfinity"])
    with pytest.raises(Invalid, match="DefaultBinder cannot be disabled"):
        Profile(disabled=["DefaultBinder"])
    with pytest.raises(Invalid, match="inside scheduler="):
        ls.connect("sim", scheduler=Profile(), scoring_strategy="MostAllocated")


def test_profile_as_a_dict_and_weights():
    c = ls.connect("sim", nodes=1, seed=0, scheduler={"weights": {"NodeAffinity": 5}})
    assert c.scheduler.profile.score_weights["NodeAffinity"] == 5
    with pytest.raises(Invalid, match="not a Score plugin"):
        Profile(weights={"NodeName": 2})


# -- plugins students write ----------------------------------------------------------------
class PreferSSD(ls.SchedulerPlugin):
    weight = 5

    def score(self, pod, node):
        return 100 if node.labels.get("disk") == "ssd" else 0


def ssd_cluster(**kw):
    c = ls.connect("sim", nodes=0, seed=0, **kw)
    for i, disk in enumerate(["hdd", "hdd", "ssd"], 1):
        c.add_node(f"node-{i}", cpu="4", memory="8Gi", labels={"disk": disk})
    return c


def test_a_student_score_plugin_steers_placement_and_shows_in_explain():
    c = ssd_cluster(scheduler=ls.SchedulerProfile(plugins=[PreferSSD()]))
    c.apply(api_pod("web"))
    c.advance(1)
    d = c.explain_scheduling("pod/web")
    assert d.node == "node-3"
    assert [r["PreferSSD"] for r in d.table] == [0, 0, 100]
    assert "PreferSSD &times;5" in d._repr_html_()


def test_a_student_plugin_on_a_large_cluster_keeps_the_fast_path():
    nodes = [node(f"n{i:03d}", labels={"disk": "ssd" if i == 150 else "hdd"})
             for i in range(200)]
    fast = Scheduler(table(*nodes), profile=Profile(plugins=[PreferSSD()],
                                                    percentage_of_nodes_to_score=100))
    d = fast.schedule(pod())
    assert d.node == "n150" and d.nodes_checked == 200
    assert d.table is None  # no table: it was the fast path


def test_a_student_filter_and_function_plugins():
    def no_node_1(pod, node):
        return "node(s) are node-1" if node.name == "node-1" else True

    class NoNode1(ls.SchedulerPlugin):
        def filter(self, pod, node):
            return no_node_1(pod, node)

    def avoid_node_3(pod, node):
        return 0 if node.name == "node-3" else 50

    c = ssd_cluster()
    c.add_scheduler_plugin(NoNode1)
    c.add_scheduler_plugin(avoid_node_3, weight=3)
    c.apply(api_pod("web"))
    c.advance(1)
    d = c.explain_scheduling("pod/web")
    assert d.table[0]["filter"] == "node(s) are node-1" and d.table[0]["plugin"] == "NoNode1"
    assert [r["avoid_node_3"] for r in d.table] == [None, 50, 0]
    assert d.node == "node-2" and d.weights["avoid_node_3"] == 3


@pytest.mark.parametrize(("body", "problem"), [
    ("return 1 / 0", "raised ZeroDivisionError: division by zero"),
    ("return 250", "returned an invalid score 250, it should in the range of [0, 100]"),
    ("return 0.5", "returned 0.5 (float); a score is an int from 0 to 100"),
])
def test_a_broken_student_plugin_is_reported_with_its_name_and_the_pod(body, problem):
    namespace: dict = {}
    exec(f"def score(self, pod, node):\n    {body}\n", namespace)  # noqa: S102
    broken = type("Broken", (ls.SchedulerPlugin,), {"score": namespace["score"]})
    c = ssd_cluster()
    c.add_scheduler_plugin(broken())
    c.apply(api_pod("web"))
    c.advance(1)  # no crash
    p = c.get("pod/web")
    cond = p["status"]["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "SchedulerError")
    event = [e for e in c.events() if e.reason == "FailedScheduling"][0]
    assert event.message.startswith('running Score plugins: plugin "Broken" failed with: '
                                    "score(pod default/web, node node-1) ")
    assert problem in event.message and "Fix the plugin's score method" in event.message
    assert c.explain_scheduling("pod/web").reason == "SchedulerError"


def test_a_broken_student_filter_is_reported_too():
    class Picky(ls.SchedulerPlugin):
        def filter(self, pod, node):
            return node.labels["zone"]  # KeyError: the nodes have no zone label

    t = table(node("node-1"), node("node-2"))
    d = Scheduler(t, profile=Profile(plugins=[Picky()])).schedule(pod("web"))
    assert d.node is None and d.reason == "SchedulerError"
    assert d.message.startswith('running "Picky" filter plugin: filter(pod default/web, '
                                "node node-1) raised KeyError: 'zone'")


def test_bad_student_plugins_are_refused_when_added():
    with pytest.raises(Invalid, match="defines neither score"):
        ls.connect("sim", nodes=1).add_scheduler_plugin(ls.SchedulerPlugin())
    with pytest.raises(Invalid, match="weight of scheduler plugin 'PreferSSD'"):
        Profile(plugins=[PreferSSD()]).with_plugin(PreferSSD(), weight=0)
    with pytest.raises(Invalid, match="name of a default plugin"):
        Profile(plugins=[type("NodeName", (PreferSSD,), {})()])
    with pytest.raises(Invalid, match="a scheduler plugin is a SchedulerPlugin"):
        Profile(plugins=[42])
