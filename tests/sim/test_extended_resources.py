"""NodeResourcesFit beyond cpu and memory: extended resources, ephemeral-storage, hugepages.

Upstream: pkg/scheduler/framework/plugins/noderesources/fit.go (fitsRequest),
k8s.io/component-helpers/resource (PodRequests: init containers, sidecars),
pkg/kubelet/lifecycle/predicate.go (the kubelet's admission) and
pkg/apis/core/validation (requests and limits of resources that cannot be
overcommitted).
"""

from __future__ import annotations

import pytest

import labsupport as ls
from labsupport.errors import Invalid, InvalidManifest
from labsupport.sim.scheduler import NodeTable, Profile, Scheduler
from labsupport.sim.scheduler.plugins.noderesources import NodeResourcesFit
from labsupport.sim.scheduler.podinfo import extra_requests
from labsupport.sim.scheduler.reference import schedule_one

GPU = "nvidia.com/gpu"
GI = 2**30


def pod(name, resources=None, *, init=None, **spec):
    containers = [{"name": "app", "image": "nginx:1.27", "resources": resources or {}}]
    body = {"containers": containers, **spec}
    if init is not None:
        body["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


def gpus(n):
    return {"limits": {GPU: str(n)}}


@pytest.fixture
def cluster():
    c = ls.connect(nodes=1, seed=0)
    c.add_node("gpu-1", extended={GPU: 2})
    yield c
    c.close()


def failed_scheduling(c, name):
    return [e.message for e in c.events() if e.reason == "FailedScheduling"
            and e.object == f"pod/{name}"]


def test_nodes_list_ephemeral_storage_and_hugepages_like_kind(cluster):
    alloc = cluster.get("node/node-1")["status"]["allocatable"]
    assert alloc["ephemeral-storage"] == "100Gi"
    assert (alloc["hugepages-1Gi"], alloc["hugepages-2Mi"]) == ("0", "0")
    assert GPU not in alloc
    gpu = cluster.get("node/gpu-1")["status"]
    assert gpu["capacity"][GPU] == gpu["allocatable"][GPU] == "2"


def test_gpu_pods_go_to_the_gpu_node_until_its_gpus_are_taken(cluster):
    for i in range(3):
        cluster.apply(pod(f"train-{i}", gpus(1)))
    cluster.advance(5)
    placed = {p.name: p.node for p in cluster.pods()}
    assert placed == {"train-0": "gpu-1", "train-1": "gpu-1", "train-2": None}
    # The request was defaulted from the limit.
    assert cluster.get("pod/train-0")["spec"]["containers"][0]["resources"]["requests"] == {
        GPU: "1"}
    (message, *_) = failed_scheduling(cluster, "train-2")
    assert message.startswith("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.")
    cluster.delete("pod/train-0")
    cluster.advance(60)
    assert {p.name: p.node for p in cluster.pods()}["train-2"] == "gpu-1"


def test_an_extended_resource_no_node_has(cluster):
    cluster.apply(pod("foo", {"limits": {"example.com/foo": "1"}}))
    cluster.advance(5)
    (message, *_) = failed_scheduling(cluster, "foo")
    assert message.startswith("0/2 nodes are available: 2 Insufficient example.com/foo.")


def test_ephemeral_storage_and_hugepages(cluster):
    cluster.apply(pod("scratch", {"requests": {"ephemeral-storage": "101Gi"}}))
    cluster.apply(pod("fits", {"requests": {"ephemeral-storage": "100Gi"}}))
    cluster.apply(pod("huge", {"requests": {"memory": "64Mi", "hugepages-2Mi": "4Mi"},
                               "limits": {"memory": "64Mi", "hugepages-2Mi": "4Mi"}}))
    cluster.advance(5)
    (message, *_) = failed_scheduling(cluster, "scratch")
    assert message.startswith("0/2 nodes are available: 2 Insufficient ephemeral-storage.")
    assert {p.name: p.phase for p in cluster.pods()}["fits"] == "Running"
    (message, *_) = failed_scheduling(cluster, "huge")
    assert message.startswith("0/2 nodes are available: 2 Insufficient hugepages-2Mi.")


def test_init_containers_and_sidecars_count_as_the_resource_helpers_say():
    init = [{"name": "warm", "resources": {"requests": {GPU: "2"}}}]
    app = {"requests": {GPU: "1", "ephemeral-storage": "1Gi"}}
    assert extra_requests(pod("p", app, init=init)["spec"]) == (
        ("ephemeral-storage", GI), (GPU, 2))          # max(2, 1): the init container runs alone
    sidecar = [{"name": "proxy", "restartPolicy": "Always",
                "resources": {"requests": {GPU: "1"}}}]
    assert extra_requests(pod("p", app, init=sidecar)["spec"]) == (
        ("ephemeral-storage", GI), (GPU, 2))          # 1 + 1: the sidecar keeps running
    both = [*sidecar, {"name": "warm", "resources": {"requests": {GPU: "2"}}}]
    assert extra_requests(pod("p", app, init=both)["spec"])[1] == (GPU, 3)  # 1 sidecar + 2
    overhead = pod("p", app)["spec"] | {"overhead": {"ephemeral-storage": "1Gi"}}
    assert extra_requests(overhead)[0] == ("ephemeral-storage", 2 * GI)
    assert extra_requests(pod("p", {"requests": {GPU: "0", "cpu": "1"}})["spec"]) == ()


def test_a_sidecar_gpu_is_held_next_to_the_app_containers(cluster):
    sidecar = [{"name": "proxy", "image": "nginx:1.27", "restartPolicy": "Always",
                "resources": gpus(1)}]
    cluster.apply(pod("one", gpus(1)))
    cluster.apply(pod("two", gpus(1), init=sidecar))
    cluster.advance(5)
    assert {p.name: p.node for p in cluster.pods()} == {"one": "gpu-1", "two": None}
    (message, *_) = failed_scheduling(cluster, "two")
    assert message.startswith("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.")


def test_every_failing_resource_is_a_reason_of_its_own():
    t = NodeTable()
    t.upsert_node({"metadata": {"name": "n1"}, "status": {"allocatable": {
        "cpu": "1", "memory": "1Gi", "pods": "110", "ephemeral-storage": "10Gi", GPU: "1"}}})
    p = pod("p", {"requests": {"cpu": "2", "ephemeral-storage": "20Gi", GPU: "2",
                               "example.com/foo": "1"}})
    d = schedule_one(Scheduler(t), p)
    assert d.table[0]["filter"] == ("Insufficient cpu, Insufficient ephemeral-storage, "
                                    "Insufficient example.com/foo, Insufficient nvidia.com/gpu")
    assert d.message.startswith(
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient ephemeral-storage, "
        "1 Insufficient example.com/foo, 1 Insufficient nvidia.com/gpu.")
    assert Scheduler(t).schedule(p).message == d.message   # the fast path says the same


def test_ignored_resources_and_groups_are_not_checked():
    t = NodeTable()
    t.upsert_node({"metadata": {"name": "n1"}, "status": {"allocatable": {
        "cpu": "1", "memory": "1Gi", "pods": "110"}}})
    p = pod("p", {"requests": {"example.com/foo": "1", "hugepages-2Mi": "2Mi", "cpu": "1"}})
    for fit in (NodeResourcesFit(ignored_resources=["example.com/foo"]),
                NodeResourcesFit(ignored_resource_groups=["example.com"])):
        profile = Profile(disabled=["NodeResourcesFit"], plugins=[fit])
        d = schedule_one(Scheduler(t, profile=profile), p)
        # Hugepages are not extended resources: never ignored.
        assert d.table[0]["filter"] == "Insufficient hugepages-2Mi"
    with pytest.raises(Invalid, match="lists of names"):
        NodeResourcesFit(ignored_resources="example.com/foo")


def test_scores_count_only_cpu_and_memory():
    """LeastAllocated and BalancedAllocation read cpu and memory (the default resources)."""
    t = NodeTable()
    for name, n_gpus in (("a", "8"), ("b", "1")):
        t.upsert_node({"metadata": {"name": name}, "status": {"allocatable": {
            "cpu": "4", "memory": "8Gi", "pods": "110", GPU: n_gpus}}})
    p = pod("p", {"requests": {"cpu": "1", "memory": "1Gi", GPU: "1"}})
    d = schedule_one(Scheduler(t, profile=Profile(percentage_of_nodes_to_score=100)), p)
    a, b = d.table
    assert (a["NodeResourcesFit"], a["NodeResourcesBalancedAllocation"]) == (
        b["NodeResourcesFit"], b["NodeResourcesBalancedAllocation"])


def test_the_kubelet_rejects_a_pod_bound_by_hand_that_does_not_fit(cluster):
    cluster.apply(pod("greedy", gpus(3), nodeName="gpu-1"))
    cluster.apply(pod("disk", {"requests": {"ephemeral-storage": "200Gi"}},
                      nodeName="node-1"))
    cluster.apply(pod("ok", gpus(2), nodeName="gpu-1"))
    cluster.advance(5)
    greedy = cluster.get("pod/greedy")["status"]
    assert (greedy["phase"], greedy["reason"]) == ("Failed", "OutOfnvidia.com/gpu")
    assert greedy["message"] == ("Pod was rejected: Node didn't have enough resource: "
                                 "nvidia.com/gpu, requested: 3, used: 0, capacity: 2")
    events = {(e.object, e.reason): e for e in cluster.events()}
    event = events[("pod/greedy", "OutOfnvidia.com/gpu")]
    assert (event.type, event.component) == ("Warning", "kubelet")
    assert event.message == ("Node didn't have enough resource: nvidia.com/gpu, "
                             "requested: 3, used: 0, capacity: 2")
    disk = cluster.get("pod/disk")["status"]
    assert (disk["reason"], disk["message"]) == (
        "OutOfephemeral-storage", "Pod was rejected: Node didn't have enough resource: "
        f"ephemeral-storage, requested: {200 * GI}, used: 0, capacity: {100 * GI}")
    assert cluster.get("pod/ok")["status"]["phase"] == "Running"
    # The GPUs of "ok" are in use now.
    cluster.apply(pod("late", gpus(1), nodeName="gpu-1"))
    cluster.advance(5)
    late = cluster.get("pod/late")["status"]
    assert late["message"].endswith("nvidia.com/gpu, requested: 1, used: 2, capacity: 2")


def test_the_kubelet_admits_an_extended_resource_its_node_does_not_list(cluster):
    # predicate.go removeMissingExtendedResources: it may be a cluster-level resource.
    cluster.apply(pod("cluster-level", {"limits": {"example.com/foo": "1"}},
                      nodeName="node-1"))
    cluster.advance(5)
    assert cluster.get("pod/cluster-level")["status"]["phase"] == "Running"


@pytest.mark.parametrize("resources, error", [
    ({"requests": {GPU: "1"}, "limits": {GPU: "2"}},
     'spec.containers[0].resources.requests: Invalid value: "1": '
     "must be equal to nvidia.com/gpu limit of 2"),
    ({"requests": {GPU: "1"}},
     "spec.containers[0].resources.limits: Required value: "
     "Limit must be set for non overcommitable resources"),
    ({"limits": {GPU: "500m"}},
     'spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "500m": '
     "must be an integer"),
    ({"requests": {"hugepages-2Mi": "2Mi"}, "limits": {"hugepages-2Mi": "2Mi"}},
     "spec.containers[0].resources: Forbidden: HugePages require cpu or memory"),
    ({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
     'spec.containers[0].resources.requests: Invalid value: "2": '
     "must be less than or equal to cpu limit of 1"),
])
def test_the_api_server_refuses_overcommitted_extended_resources(cluster, resources, error):
    with pytest.raises(InvalidManifest) as info:
        cluster.apply(pod("bad", resources))
    assert error in str(info.value)


def test_add_node_checks_its_extended_resources():
    c = ls.connect(nodes=0)
    with pytest.raises(Invalid, match="not an extended resource name"):
        c.add_node(extended={"gpu": 1})
    with pytest.raises(Invalid, match="whole number"):
        c.add_node(extended={GPU: "1.5"})
    with pytest.raises(Invalid, match="must map resource names"):
        c.add_node(extended=[GPU])
    assert c.add_node(extended={"example.com/foo": "3"}) == "node-1"
