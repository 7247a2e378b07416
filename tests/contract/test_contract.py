"""The Cluster contract, run against every backend (sim always; kind with -m kind).

Each test uses its own namespace so it also works on a shared real cluster.
Times are generous so the same assertions hold on kind's wall clock.
"""

from __future__ import annotations

import itertools

import pytest

import labsupport as ls

_counter = itertools.count()


def deployment(name: str, replicas: int = 2, image: str = "nginx:1.27", **spec_extra) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": image,
                                                        "ports": [{"containerPort": 80}]}]}},
                 **spec_extra},
    }


@pytest.fixture
def ns(cluster):
    name = f"contract-{next(_counter)}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    try:
        cluster.delete(f"namespace/{name}")
    except ls.LabSupportError:
        pass


def test_apply_returns_references_and_get_returns_api_shape(cluster, ns):
    refs = cluster.apply(deployment("web"), namespace=ns)
    assert refs == ["deployment/web"]
    obj = cluster.get("deploy/web", namespace=ns)
    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    meta = obj["metadata"]
    assert meta["name"] == "web" and meta["namespace"] == ns
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    assert meta["generation"] == 1
    # defaults written by the API server
    assert obj["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert obj["spec"]["revisionHistoryLimit"] == 10
    assert obj["spec"]["progressDeadlineSeconds"] == 600


def test_apply_yaml_text_with_several_documents(cluster, ns):
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""
    assert cluster.apply(text, namespace=ns) == ["configmap/settings", "service/web"]
    assert cluster.get("cm/settings", namespace=ns)["data"] == {"mode": "fast"}
    svc = cluster.get("svc/web", namespace=ns)
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["clusterIP"]


def test_invalid_manifest_applies_nothing(cluster, ns):
    bad = [deployment("good"), {**deployment("bad"), "spec": {**deployment("bad")["spec"], "replicas": "three"}}]
    with pytest.raises(ls.InvalidManifest) as err:
        cluster.apply(bad, namespace=ns)
    assert "spec.replicas" in str(err.value)
    with pytest.raises(ls.ObjectNotFound):
        cluster.get("deployment/good", namespace=ns)


def test_list_filters_by_namespace_and_selector(cluster, ns):
    cluster.apply(deployment("a", replicas=2), namespace=ns)
    cluster.apply(deployment("b", replicas=1), namespace=ns)
    cluster.wait_for_rollout("deployment/a", namespace=ns, timeout=180)
    cluster.wait_for_rollout("deployment/b", namespace=ns, timeout=180)
    pods = cluster.list("pods", namespace=ns, selector="app=a")
    assert len(pods) == 2 and all(p["metadata"]["labels"]["app"] == "a" for p in pods)
    assert len(cluster.list("po", namespace=ns)) == 3
    names = [d["metadata"]["name"] for d in cluster.list("deployments", namespace=ns)]
    assert names == ["a", "b"]


def test_rollout_and_views(cluster, ns):
    cluster.apply(deployment("web", replicas=3), namespace=ns)
    msg = cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    assert msg == 'deployment "web" successfully rolled out'
    pods = cluster.pods(namespace=ns)
    assert len(pods) == 3
    for p in pods:
        assert isinstance(p, ls.PodInfo)
        assert p.phase == "Running" and p.ready and p.node and p.ip
        assert p.owner and p.owner.startswith("replicaset/web-")
    nodes = cluster.nodes()
    assert all(isinstance(n, ls.NodeInfo) for n in nodes)
    assert all(n.ready is True for n in nodes)
    assert sum(n.pods for n in nodes) >= 3
    html = pods._repr_html_()
    assert "<table>" in html and "web-" in html


def test_scale_up_and_down(cluster, ns):
    cluster.apply(deployment("web", replicas=1), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    cluster.scale("deployment/web", 4, namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    assert len([p for p in cluster.pods(namespace=ns) if p.ready]) == 4
    cluster.scale("deployment/web", 2, namespace=ns)
    cluster.wait_until(lambda c: len(c.list("pods", namespace=ns)) == 2, timeout=120)
    assert cluster.get("deployment/web", namespace=ns)["spec"]["replicas"] == 2


def test_rolling_update_changes_image(cluster, ns):
    cluster.apply(deployment("web", replicas=2, image="nginx:1.26"), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    cluster.apply(deployment("web", replicas=2, image="nginx:1.27"), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=300)
    d = cluster.get("deployment/web", namespace=ns)
    assert d["metadata"]["generation"] == 2
    assert d["status"]["updatedReplicas"] == 2
    rs = cluster.list("replicasets", namespace=ns)
    assert len(rs) == 2
    live = [r for r in rs if r["spec"]["replicas"] > 0]
    assert len(live) == 1
    assert live[0]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_delete_cascades_to_pods(cluster, ns):
    cluster.apply(deployment("web", replicas=2), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    cluster.delete("deployment/web", namespace=ns)
    with pytest.raises(ls.ObjectNotFound):
        cluster.get("deployment/web", namespace=ns)
    cluster.wait_until(lambda c: not c.list("pods", namespace=ns), timeout=180)
    assert cluster.list("replicasets", namespace=ns) == []


def test_a_finalizer_keeps_a_deleted_object_until_it_is_removed(cluster, ns):
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "kept", "finalizers": ["example.com/keep"]},
                   "data": {"a": "1"}}, namespace=ns)
    cluster.delete("configmap/kept", namespace=ns)
    cluster.advance(2)
    meta = cluster.get("configmap/kept", namespace=ns)["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
    assert meta["finalizers"] == ["example.com/keep"]
    cluster.patch("configmap/kept", {"metadata": {"finalizers": None}}, namespace=ns,
                  type="merge")
    with pytest.raises(ls.ObjectNotFound):
        cluster.get("configmap/kept", namespace=ns)


def test_orphan_propagation_keeps_the_replicasets_without_their_owner(cluster, ns):
    cluster.apply(deployment("web", replicas=2), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    pods = sorted(p.name for p in cluster.pods(namespace=ns))
    cluster.delete("deployment/web", namespace=ns, propagation_policy="Orphan", wait=True)
    cluster.wait_until(lambda c: all("ownerReferences" not in r["metadata"]
                                     for r in c.list("replicasets", namespace=ns)), timeout=60)
    (rs,) = cluster.list("replicasets", namespace=ns)
    assert "finalizers" not in rs["metadata"] and "deletionTimestamp" not in rs["metadata"]
    assert sorted(p.name for p in cluster.pods(namespace=ns)) == pods
    cluster.delete(f"replicaset/{rs['metadata']['name']}", namespace=ns)


def test_get_missing_object_says_how_to_look(cluster, ns):
    with pytest.raises(ls.ObjectNotFound) as err:
        cluster.get("deployment/nope", namespace=ns)
    assert "nope" in str(err.value) and "cluster.list" in str(err.value)


def test_kill_pod_is_replaced(cluster, ns):
    cluster.apply(deployment("web", replicas=2), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    victim = cluster.pods(namespace=ns)[0].name
    cluster.kill_pod(victim, namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    cluster.wait_until(lambda c: len(c.pods(namespace=ns)) == 2, timeout=120)
    names = {p.name for p in cluster.pods(namespace=ns)}
    assert victim not in names


def test_events_describe_what_happened(cluster, ns):
    cluster.apply(deployment("web", replicas=1), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    events = cluster.events(namespace=ns)
    assert all(isinstance(e, ls.EventInfo) for e in events)
    reasons = {e.reason for e in events}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started"} <= reasons
    scheduled = [e for e in events if e.reason == "Scheduled"][0]
    assert scheduled.component == "default-scheduler" and scheduled.object.startswith("pod/web-")
    times = [e.time for e in events]
    assert times == sorted(times)


def test_fail_and_restore_node(cluster, ns):
    nodes = [n.name for n in cluster.nodes() if not n.taints]
    target = nodes[-1]
    start = cluster.now
    cluster.fail_node(target)
    cluster.wait_until(lambda c: next(n for n in c.nodes() if n.name == target).ready is None,
                       timeout=180, what=f"{target} to become Unknown")
    assert cluster.now - start >= 40
    cluster.restore_node(target)
    cluster.wait_until(lambda c: next(n for n in c.nodes() if n.name == target).ready is True,
                       timeout=180, what=f"{target} to become Ready")


def test_wait_until_times_out_with_a_clear_error(cluster):
    with pytest.raises(ls.WaitTimeout) as err:
        cluster.wait_until(lambda c: False, timeout=2, what="nothing")
    assert "nothing" in str(err.value)


def test_now_moves_forward(cluster):
    t0 = cluster.now
    cluster.advance(1)
    assert cluster.now >= t0 + 1


def test_server_reports_the_release_the_course_teaches(cluster):
    # The simulator is the course's release by construction; a kind cluster made
    # from clusters/kind/ runs the pinned node image, so it must say the same.
    from labsupport.version import KUBERNETES_VERSION, minor_of

    answer = cluster.server_version()
    assert minor_of(answer["gitVersion"]) == minor_of(KUBERNETES_VERSION)
    assert (answer["major"], answer["minor"].rstrip("+")) == tuple(KUBERNETES_VERSION.split("."))
    kubelets = {n.version for n in cluster.nodes()}
    assert {minor_of(v) for v in kubelets} == {minor_of(KUBERNETES_VERSION)}


def test_logs_of_a_container_its_previous_instance_and_the_refusals(cluster, ns):
    # busybox echoes, then exits 1: the kubelet restarts it, so a previous instance exists.
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {
        "containers": [
            {"name": "app", "image": "busybox:1.36",
             "command": ["sh", "-c", "echo hello from $(POD); sleep 5; exit 1"],
             "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
            {"name": "sidecar", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 3600"]}]}},
        namespace=ns)
    with pytest.raises(ls.Invalid) as err:
        cluster.logs("web", namespace=ns)
    assert "a container name must be specified for pod web, choose one of: [app sidecar]" \
        in str(err.value)
    with pytest.raises(ls.ObjectNotFound):
        cluster.logs("nope", namespace=ns)

    def restarted(c):
        cs = c.get("pod/web", namespace=ns)["status"].get("containerStatuses") or []
        return any(s["name"] == "app" and s["restartCount"] >= 1 for s in cs)

    cluster.wait_until(restarted, timeout=180, what="the app container to restart")
    assert cluster.logs("web", namespace=ns, container="app", previous=True) == \
        "hello from web\n"
    assert cluster.logs("pod/web", namespace=ns, container="app", tail=1) == "hello from web\n"
    with pytest.raises(ls.Invalid) as err:
        cluster.logs("web", namespace=ns, container="sidecar", previous=True)
    assert 'previous terminated container "sidecar" in pod "web" not found' in str(err.value)


# --- admission and updates (issue 16): the API server's own behaviour on both backends ---
def _pod(name: str, **resources) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                     "resources": resources}]}}


def test_limit_range_fills_in_container_defaults(cluster, ns):
    cluster.apply({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"},
                   "spec": {"limits": [{"type": "Container",
                                        "default": {"cpu": "500m", "memory": "256Mi"},
                                        "defaultRequest": {"cpu": "250m", "memory": "128Mi"}}]}},
                  namespace=ns)
    cluster.apply(_pod("web"), namespace=ns)
    pod = cluster.get("pod/web", namespace=ns)
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "250m", "memory": "128Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container web; "
        "cpu, memory limit for container web")


def test_resource_quota_refuses_with_the_api_servers_message(cluster, ns):
    cluster.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "small"},
                   "spec": {"hard": {"pods": "1"}}}, namespace=ns)
    # The quota controller writes status.used first (until then: "status unknown").
    cluster.wait_until(lambda c: "used" in (c.get("resourcequota/small", namespace=ns)
                                            .get("status") or {}), timeout=60)
    cluster.apply(_pod("a"), namespace=ns)
    with pytest.raises(ls.Forbidden) as err:
        cluster.apply(_pod("b"), namespace=ns)
    assert err.value.reason == "ExceededQuota"
    assert str(err.value) == ('pods "b" is forbidden: exceeded quota: small, requested: pods=1, '
                              "used: pods=1, limited: pods=1")
    assert cluster.get("resourcequota/small", namespace=ns)["status"]["used"] == {"pods": "1"}


def test_priority_admission_refuses_an_unknown_class_and_resolves_system_ones(cluster, ns):
    unknown = _pod("x")
    unknown["spec"]["priorityClassName"] = "no-such-class"
    with pytest.raises(ls.Forbidden) as err:
        cluster.apply(unknown, namespace=ns)
    assert err.value.reason == "Forbidden"
    assert str(err.value) == ('pods "x" is forbidden: no PriorityClass with name '
                              "no-such-class was found")
    critical = _pod("critical")
    critical["spec"]["priorityClassName"] = "system-cluster-critical"
    cluster.apply(critical, namespace=ns)
    spec = cluster.get("pod/critical", namespace=ns)["spec"]
    assert (spec["priority"], spec["preemptionPolicy"]) == (2000000000, "PreemptLowerPriority")


def test_a_deployments_selector_is_immutable(cluster, ns):
    cluster.apply(deployment("web", replicas=1), namespace=ns)
    changed = deployment("web", replicas=1)
    changed["spec"]["selector"]["matchLabels"]["app"] = "web2"
    changed["spec"]["template"]["metadata"]["labels"]["app"] = "web2"
    with pytest.raises(ls.InvalidManifest) as err:
        cluster.apply(changed, namespace=ns)
    assert err.value.field == "spec.selector"
    assert str(err.value).startswith(
        'The Deployment "web" is invalid: spec.selector: Invalid value: '
        '{"matchLabels":{"app":"web2"}}')
    assert str(err.value).endswith("field is immutable")


def test_status_sent_with_apply_is_ignored(cluster, ns):
    cluster.apply(deployment("web", replicas=1), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    obj = cluster.get("deployment/web", namespace=ns)
    obj["metadata"].pop("resourceVersion")  # not testing conflicts here
    obj["status"]["replicas"] = 99
    cluster.apply(obj, namespace=ns)
    assert cluster.get("deployment/web", namespace=ns)["status"]["replicas"] == 1


def test_a_service_gets_an_endpointslice_of_its_ready_pods(cluster, ns):
    cluster.apply([deployment("web", replicas=2),
                   {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}],
                  namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)

    def ready_addresses(c):
        found = []
        for s in c.list("endpointslices", namespace=ns,
                        selector="kubernetes.io/service-name=web"):
            found += [ep["addresses"][0] for ep in s.get("endpoints") or ()
                      if ep["conditions"].get("ready")]
        return sorted(found)

    pod_ips = sorted(p.ip for p in cluster.pods(namespace=ns))
    cluster.wait_until(lambda c: ready_addresses(c) == pod_ips, timeout=60)
    [s] = cluster.list("endpointslices", namespace=ns, selector="kubernetes.io/service-name=web")
    assert s["addressType"] == "IPv4"
    assert s["metadata"]["generateName"] == "web-"
    assert s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"
    assert s["ports"] == [{"name": "", "protocol": "TCP", "port": 80}]
    assert {ep["targetRef"]["name"] for ep in s["endpoints"]} == \
        {p.name for p in cluster.pods(namespace=ns)}


def test_patch_types_label_and_conflict(cluster, ns):
    cluster.apply(deployment("web", replicas=1), namespace=ns)
    out = cluster.patch("deployment/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.28"}]}}}}, namespace=ns)
    (container,) = out["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nginx:1.28" and container["ports"][0]["containerPort"] == 80
    out = cluster.patch("deployment/web", [{"op": "replace", "path": "/spec/replicas",
                                            "value": 2}], namespace=ns, type="json")
    assert out["spec"]["replicas"] == 2
    with pytest.raises(ls.Invalid, match="testing value /spec/replicas failed"):
        cluster.patch("deployment/web", [{"op": "test", "path": "/spec/replicas", "value": 5}],
                      namespace=ns, type="json")
    stale = out["metadata"]["resourceVersion"]
    cluster.patch("deployment/web", {"metadata": {"labels": {"a": "1"}}}, namespace=ns,
                  type="merge")
    with pytest.raises(ls.Conflict):
        cluster.patch("deployment/web", {"metadata": {"resourceVersion": stale,
                                                      "labels": {"a": "2"}}}, namespace=ns)
    assert cluster.label("deployment/web", namespace=ns, tier="front") == \
        "deployment.apps/web labeled"
    with pytest.raises(ls.Invalid, match=r"'tier' already has a value \(front\), and "
                                         "--overwrite is false"):
        cluster.label("deployment/web", namespace=ns, tier="back")


def test_cordon_and_drain_respect_a_disruption_budget(cluster, ns):
    cluster.apply(deployment("web", replicas=2), namespace=ns)
    cluster.wait_for_rollout("deployment/web", namespace=ns, timeout=180)
    cluster.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "web"},
                   "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}},
                  namespace=ns)
    cluster.wait_until(lambda c: (c.get("pdb/web", namespace=ns).get("status") or {}).get(
        "expectedPods") == 2, timeout=30)
    status = cluster.get("pdb/web", namespace=ns)["status"]
    assert (status["currentHealthy"], status["desiredHealthy"],
            status["disruptionsAllowed"]) == (2, 2, 0)
    node = cluster.pods(namespace=ns)[0].node
    try:
        assert cluster.cordon(node) == f"node/{node} cordoned"
        with pytest.raises(ls.TooManyRequests, match="would violate the pod's disruption "
                                                     "budget"):
            cluster.evict(cluster.pods(namespace=ns)[0].name, namespace=ns)
        with pytest.raises(ls.WaitTimeout, match=r'There are pending pods in node "[^"]+" when '
                                                 r"an error occurred: .*global timeout reached: "
                                                 "12s"):
            cluster.drain(node, timeout=12)
        cluster.patch("pdb/web", {"spec": {"minAvailable": 1}}, namespace=ns, type="merge")
        lines = cluster.drain(node, timeout=180)
        assert lines[0] == f"node/{node} already cordoned" and lines[-1] == \
            f"node/{node} drained"
        assert all(p.node != node for p in cluster.pods(namespace=ns))
    finally:
        cluster.uncordon(node)


def test_cordon_makes_the_node_controller_add_the_unschedulable_taint(cluster):
    # pkg/controller/nodelifecycle doNoScheduleTaintingPass (TaintNodesByCondition).
    node = cluster.list("nodes")[-1]["metadata"]["name"]

    def tainted(c):
        return any(t["key"] == "node.kubernetes.io/unschedulable" and t["effect"] == "NoSchedule"
                   for t in c.get(f"node/{node}")["spec"].get("taints") or ())
    try:
        cluster.cordon(node)
        cluster.wait_until(tainted, timeout=30)
    finally:
        cluster.uncordon(node)
    cluster.wait_until(lambda c: not tainted(c), timeout=30)


def test_claims_get_the_default_class_and_a_missing_claim_keeps_a_pod_off_the_nodes(cluster, ns):
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "64Mi"}}}}
    cluster.apply(claim, namespace=ns)
    assert cluster.get("pvc/data", namespace=ns)["spec"]["storageClassName"] == "standard"
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan"},
                   "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}],
                            "volumes": [{"name": "d", "persistentVolumeClaim": {
                                "claimName": "missing"}}]}}, namespace=ns)
    cluster.wait_until(lambda c: any(e.reason == "FailedScheduling"
                                     for e in c.events(namespace=ns)), timeout=60)
    message = [e.message for e in cluster.events(namespace=ns)
               if e.reason == "FailedScheduling"][0]
    assert 'persistentvolumeclaim "missing" not found' in message
    assert cluster.pods(namespace=ns)[0].node is None


def test_an_extended_resource_no_node_has_keeps_a_pod_pending(cluster, ns):
    # NodeResourcesFit (issue 15): a resource a node does not list has 0 allocatable;
    # the API server copies the limit into the request.
    cluster.apply(_pod("foo", limits={"example.com/foo": "1"}), namespace=ns)
    pod = cluster.get("pod/foo", namespace=ns)
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"example.com/foo": "1"}
    cluster.wait_until(lambda c: any(e.reason == "FailedScheduling"
                                     for e in c.events(namespace=ns)), timeout=60)
    message = [e.message for e in cluster.events(namespace=ns)
               if e.reason == "FailedScheduling"][0]
    assert message.startswith("0/") and " nodes are available: " in message
    assert " Insufficient example.com/foo" in message   # kind: also the control plane's taint
    assert cluster.pods(namespace=ns)[0].node is None
