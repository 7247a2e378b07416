"""kube-proxy: random, round robin and least connection; session affinity; readiness."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from simhelpers import deployment, pod

import labsupport as ls
from labsupport.errors import Invalid
from labsupport.sim.proxy import IPVS_ACTIVE_WEIGHT, IPVS_FIN_TIMEOUT

READINESS = {"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}}


def service(name: str = "web", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def cluster(mode: str, replicas: int = 4, annotations: dict | None = None, **svc) -> ls.Cluster:
    c = ls.connect(seed=0, proxy_mode=mode)
    c.apply([deployment(replicas=replicas, annotations=annotations), service(**svc)])
    c.wait_for_rollout("deployment/web")
    c.advance(2)
    return c


def endpoint_pods(c) -> list[str]:
    """Pod names in the order of the Endpoints object (kube-proxy's order)."""
    ep = c.get("endpoints/web")
    return [a["targetRef"]["name"] for s in ep["subsets"] for a in s.get("addresses", [])]


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_random_modes_share_like_a_fair_die(mode):
    c = cluster(mode)
    r = c.send_traffic("service/web", rps=100, duration=80)
    counts = np.array(list(r.per_pod.values()))
    assert len(counts) == 4 and counts.sum() == 8000
    chi2 = ((counts - 2000) ** 2 / 2000).sum()
    assert chi2 < 16.27  # chi-square, 3 degrees of freedom, p = 0.001
    assert counts.max() - counts.min() > 1  # not round robin
    # consecutive requests are independent: the same pod follows itself 1/4 of the time
    same = (r.pod[1:] == r.pod[:-1]).mean()
    assert same == pytest.approx(0.25, abs=0.03)


def test_ipvs_round_robin_takes_turns_in_endpoint_order():
    c = cluster("ipvs")
    r = c.send_traffic("service/web", rps=50, duration=40)
    order = endpoint_pods(c)
    names = [r.pod_names[i] for i in r.pod[:12]]
    assert names == (order * 3)[:12]
    assert sorted(r.per_pod.values()) == [500, 500, 500, 500]


def _least_connection_reference(times, done, pods, order):
    """IPVS lc from scratch: pick the lowest 256 x active + inactive, first on ties."""
    active = dict.fromkeys(order, 0)
    inactive = dict.fromkeys(order, 0)
    closing, forgetting, chosen = [], [], []
    for t, d, p in zip(times, done, pods, strict=True):
        while closing and closing[0][0] <= t:
            when, q = heapq.heappop(closing)
            active[q] -= 1
            inactive[q] += 1
            heapq.heappush(forgetting, (when + IPVS_FIN_TIMEOUT, q))
        while forgetting and forgetting[0][0] <= t:
            inactive[heapq.heappop(forgetting)[1]] -= 1
        best = min(order, key=lambda q: (active[q] * IPVS_ACTIVE_WEIGHT + inactive[q],
                                         order.index(q)))
        chosen.append(best)
        active[p] += 1
        heapq.heappush(closing, (d, p))
    return chosen


def test_ipvs_least_connection_favours_the_pod_that_answers_fast():
    c = ls.connect(seed=0, proxy_mode="ipvs-lc")
    c.network.set(latency=0)
    slow = {"sim.labsupport.io/service-time": "constant:2"}
    fast = {"sim.labsupport.io/service-time": "constant:0.01"}
    for name, ann in (("slow", slow), ("fast-1", fast), ("fast-2", fast)):
        c.apply(pod(name, annotations=ann) | {"metadata": {"name": name, "annotations": ann,
                                                            "labels": {"app": "web"}}})
    c.apply(service())
    c.advance(10)
    r = c.send_traffic("service/web", rps=20, duration=300, pattern="poisson", seed=3)
    assert r.errors == 0
    names = [r.pod_names[i] for i in r.pod]
    done = r.times + r.latency
    assert names == _least_connection_reference(r.times, done, names, endpoint_pods(c))
    assert r.per_pod["slow"] < 0.1 * r.requests
    rr = ls.connect(seed=0, proxy_mode="ipvs")
    assert rr.proxy.scheduler == "rr"


def test_session_affinity_sticks_per_client_ip():
    c = cluster("iptables", sessionAffinity="ClientIP")
    spec = c.get("service/web")["spec"]
    assert spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 10800
    one = c.send_traffic("service/web", rps=20, duration=30)
    assert len([n for n in one.per_pod.values() if n]) == 1
    many = c.send_traffic("service/web", rps=50, duration=60, clients=40)
    for client in range(40):
        assert len(set(many.pod[many.client == client].tolist())) == 1
    assert len(set(many.pod.tolist())) == 4
    # without affinity a client's requests spread over every pod
    plain = cluster("iptables")
    spread = plain.send_traffic("service/web", rps=20, duration=30)
    assert len(spread.per_pod) == 4


def test_session_affinity_expires_after_its_timeout():
    c = cluster("ipvs", sessionAffinity="ClientIP",
                sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10}})
    quick = c.send_traffic("service/web", rps=1, duration=30)    # gaps of 1 s < 10 s
    assert len(quick.per_pod) == 1
    slow = c.send_traffic("service/web", rps=0.05, duration=200)  # gaps of 20 s > 10 s
    assert len(slow.per_pod) == 4  # round robin again at each expiry


def test_no_request_reaches_a_pod_that_is_not_ready():
    c = ls.connect(seed=0)
    c.apply([deployment(replicas=2, container_extra=READINESS), service()])
    c.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "never", "labels": {"app": "web"},
                          "annotations": {"sim.labsupport.io/never-ready": "true"}},
             "spec": {"containers": [{"name": "app", "image": "nginx:1.27", **READINESS}]}})
    c.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "flips", "labels": {"app": "web"},
                          "annotations": {"sim.labsupport.io/fail-readiness-after": "60"}},
             "spec": {"containers": [{"name": "app", "image": "nginx:1.27", **READINESS}]}})
    removed = []

    def watch(ev):
        if ev.key == "/registry/services/endpoints/default/web" and not removed:
            ready = {a["targetRef"]["name"] for s in ev.object.get("subsets", [])
                     for a in s.get("addresses", [])}
            if "flips" in seen and "flips" not in ready:
                removed.append(c.now)
            seen.update(ready)

    seen: set[str] = set()
    c.store.watch("/registry/services/endpoints/", watch)
    c.advance(15)
    assert "flips" in seen and "never" not in seen
    r = c.send_traffic("service/web", rps=50, duration=120, pattern="poisson")
    assert "never" not in r.per_pod and r.errors == 0
    flips = r.times[np.array(r.pod_names)[r.pod] == "flips"]
    assert len(flips) > 100 and removed
    assert flips.max() < removed[0] <= c.now  # none after it left the Endpoints
    assert c.get("pod/flips")["status"]["containerStatuses"][0]["restartCount"] == 0


def test_nodeport_and_clusterip_addresses():
    c = cluster("iptables", replicas=3, type="NodePort")
    svc = c.get("service/web")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    ip = svc["spec"]["clusterIP"]
    via_ip = c.send_traffic(f"{ip}:80", rps=10, duration=10)
    via_node = c.send_traffic(f"node-2:{node_port}", rps=10, duration=10)
    assert via_ip.errors == via_node.errors == 0 and len(via_node.per_pod) == 3
    # a NodePort request takes one more hop (client -> node-2 -> pod's node)
    assert via_node.mean > via_ip.mean
    rules = c.proxy.rules("service/web")
    assert f"-d {ip}/32" in rules and "--probability 0.33333333333" in rules
    assert "--probability 0.50000000000" in rules and rules.count("-j KUBE-SEP-") == 3


def test_proxy_modes_are_checked():
    with pytest.raises(Invalid, match='unknown proxy mode "ipvs-wrr"'):
        ls.connect(proxy_mode="ipvs-wrr")
    c = ls.connect()
    c.proxy.mode = "ipvs-lc"
    assert c.proxy.scheduler == "lc"
    assert "TCP  10.96.0.1:443 lc" in c.proxy.rules("service/kubernetes")
