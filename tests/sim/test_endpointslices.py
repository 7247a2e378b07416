"""EndpointSlices (discovery.k8s.io/v1): the controller, and kube-proxy reading them."""

from __future__ import annotations

import warnings

import pytest

import labsupport as ls
from labsupport.sim.controllers.endpointslice import CONTROLLER_NAME
from tests.sim.simhelpers import deployment


def service(name="web", selector=None, ports=None, **spec):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {"team": "a"}},
            "spec": {"selector": selector or {"app": name},
                     "ports": ports or [{"port": 80, "targetPort": 8080}], **spec}}


def slices(c, svc="web"):
    return c.list("endpointslices", selector=f"kubernetes.io/service-name={svc}")


def ips(s):
    return sorted(ep["addresses"][0] for ep in s.get("endpoints") or ())


@pytest.fixture
def sim():
    return ls.connect(seed=0)


def test_a_service_gets_one_slice_of_its_ready_pods(sim):
    sim.apply([deployment("web", replicas=3), service()])
    sim.wait_for_rollout("deployment/web")
    sim.advance(1)
    [s] = slices(sim)
    svc = sim.get("service/web")
    meta = s["metadata"]
    assert s["apiVersion"] == "discovery.k8s.io/v1" and s["kind"] == "EndpointSlice"
    assert meta["generateName"] == "web-" and meta["name"].startswith("web-")
    assert meta["labels"] == {"team": "a", "kubernetes.io/service-name": "web",
                              "endpointslice.kubernetes.io/managed-by":
                                  "endpointslice-controller.k8s.io"}
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                        "uid": svc["metadata"]["uid"], "controller": True,
                                        "blockOwnerDeletion": True}]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "", "protocol": "TCP", "port": 8080}]
    pods = {p.name: p for p in sim.pods()}
    assert ips(s) == sorted(p.ip for p in pods.values())
    for ep in s["endpoints"]:
        pod = pods[ep["targetRef"]["name"]]
        assert ep["conditions"] == {"ready": True, "serving": True, "terminating": False}
        assert ep["nodeName"] == pod.node
        assert ep["targetRef"] == {"kind": "Pod", "namespace": "default", "name": pod.name,
                                   "uid": sim.get(f"pod/{pod.name}")["metadata"]["uid"]}


def test_not_ready_pods_are_listed_not_ready(sim):
    probe = {"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}}
    sim.apply([deployment("web", replicas=1, container_extra=probe,
                          annotations={"sim.labsupport.io/never-ready": "true"}), service()])
    sim.advance(20)
    [s] = slices(sim)
    [ep] = s["endpoints"]
    assert ep["conditions"] == {"ready": False, "serving": False, "terminating": False}
    assert sim.proxy.service("default", "web").endpoints == ()


def test_a_service_without_pods_keeps_a_placeholder_slice(sim):
    sim.apply(service(selector={"app": "nobody"}))
    sim.advance(1)
    [s] = slices(sim)
    assert s["endpoints"] is None and s["ports"] is None
    assert s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == CONTROLLER_NAME


def test_the_placeholder_goes_when_pods_come_and_comes_back_when_they_go(sim):
    sim.apply(service())
    sim.advance(1)
    [placeholder] = slices(sim)
    sim.apply(deployment("web", replicas=2))
    sim.wait_for_rollout("deployment/web")
    sim.advance(1)
    [s] = slices(sim)
    # reconciler.go finalize turns the create into an update of the placeholder,
    # which keeps its name and uid.
    assert s["metadata"]["name"] == placeholder["metadata"]["name"] and len(ips(s)) == 2
    assert s["metadata"]["uid"] == placeholder["metadata"]["uid"]
    assert s["ports"] == [{"name": "", "protocol": "TCP", "port": 8080}]
    sim.scale("deployment/web", 0)
    sim.advance(60)
    [again] = slices(sim)
    assert again["endpoints"] is None and again["ports"] is None
    assert again["metadata"]["name"] == placeholder["metadata"]["name"]


def test_at_most_100_endpoints_per_slice():
    c = ls.connect(nodes=3, node_cpu="64", seed=0, max_pods=110)
    c.apply([deployment("web", replicas=150), service()])
    c.wait_for_rollout("deployment/web", timeout=600)
    c.advance(1)
    sizes = sorted(len(s["endpoints"]) for s in slices(c))
    assert sizes == [50, 100]
    assert len({ip for s in slices(c) for ip in ips(s)}) == 150
    assert len(c.proxy.service("default", "web").endpoints) == 150


def test_deleting_the_service_deletes_its_slices(sim):
    sim.apply([deployment("web", replicas=1), service()])
    sim.advance(20)
    assert slices(sim)
    sim.delete("service/web")
    sim.advance(5)
    assert slices(sim) == []


def test_a_terminating_pod_is_serving_and_terminating():
    c = ls.connect(nodes=1, seed=0)
    c.apply([{"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "p", "labels": {"app": "web"}},
              "spec": {"terminationGracePeriodSeconds": 30, "containers": [
                  {"name": "app", "image": "busybox:1.36",
                   "command": ["sh", "-c", "trap '' TERM; sleep 3600"]}]}},
             service()])
    c.advance(20)
    c.delete("pod/p")
    c.advance(1)
    [s] = slices(c)
    [ep] = s["endpoints"]
    # The kubelet keeps the pod Ready while its container runs (it ignores SIGTERM).
    assert ep["conditions"] == {"ready": False, "serving": True, "terminating": True}
    view = c.proxy.service("default", "web")
    # KEP-1669: with no ready endpoint, kube-proxy uses the serving terminating ones.
    assert [e.pod for e in view.endpoints] == ["p"]


def test_kube_proxy_reads_slices_not_endpoints(sim):
    sim.apply([deployment("web", replicas=2), service()])
    sim.wait_for_rollout("deployment/web")
    sim.advance(1)
    view = sim.proxy.service("default", "web")
    assert sorted(e.ip for e in view.endpoints) == ips(slices(sim)[0])
    # The v1 Endpoints object is still written for old readers (with a warning).
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ep = sim.get("endpoints/web")
    assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == ips(slices(sim)[0])
    assert "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice" in \
        str(seen[0].message)


def test_headless_service_slices_carry_the_headless_label_and_hostnames(sim):
    sim.apply([{"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "db-0", "labels": {"app": "db"}},
                "spec": {"hostname": "db-0", "subdomain": "db",
                         "containers": [{"name": "db", "image": "nginx:1.27"}]}},
               service("db", clusterIP="None")])
    sim.advance(20)
    [s] = slices(sim, "db")
    assert s["metadata"]["labels"] == {"team": "a", "service.kubernetes.io/headless": "",
                                       "kubernetes.io/service-name": "db",
                                       "endpointslice.kubernetes.io/managed-by": CONTROLLER_NAME}
    [ep] = s["endpoints"]
    assert ep["hostname"] == "db-0"
    assert list(ep) == ["addresses", "conditions", "hostname", "targetRef", "nodeName"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep1 = sim.get("endpoints/db")
    assert ep1["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert ep1["metadata"]["labels"]["endpoints.kubernetes.io/managed-by"] == "endpoint-controller"
    assert ep1["subsets"][0]["addresses"][0]["hostname"] == "db-0"


def test_hostname_is_set_for_a_matching_subdomain_whatever_the_service_type(sim):
    # endpointutil.ShouldSetHostname does not look at the Service's clusterIP.
    sim.apply([{"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "labels": {"app": "web"}},
                "spec": {"hostname": "h", "subdomain": "web",
                         "containers": [{"name": "web", "image": "nginx:1.27"}]}},
               service()])
    sim.advance(20)
    [s] = slices(sim)
    assert "service.kubernetes.io/headless" not in s["metadata"]["labels"]
    assert s["endpoints"][0]["hostname"] == "h"


def test_app_protocol_and_port_names_are_copied(sim):
    sim.apply([deployment("web", replicas=1),
               service(ports=[{"name": "http", "port": 80, "targetPort": 8080,
                               "appProtocol": "http"}])])
    sim.advance(20)
    [s] = slices(sim)
    assert s["ports"] == [{"name": "http", "protocol": "TCP", "port": 8080,
                           "appProtocol": "http"}]
