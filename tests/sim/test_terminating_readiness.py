"""A pod being deleted stays Ready until its containers stop (kubelet prober, 1.37)."""

from __future__ import annotations

import labsupport as ls


def _conditions(c, name):
    pod = c.get(f"pod/{name}")
    return {x["type"]: x["status"] for x in pod["status"]["conditions"]}


def _endpoint(c):
    [s] = c.list("endpointslices", selector="kubernetes.io/service-name=web")
    return s["endpoints"]


def test_a_prestop_keeps_the_pod_serving_until_its_container_exits():
    c = ls.connect(nodes=1, seed=0)
    c.apply([{"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"terminationGracePeriodSeconds": 60, "containers": [
                  {"name": "web", "image": "nginx:1.27", "lifecycle": {
                      "preStop": {"exec": {"command": ["sh", "-c", "sleep 20"]}}}}]}},
             {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
              "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}])
    c.advance(10)
    c.delete("pod/web")
    c.advance(10)  # in the preStop hook: nginx still serves
    status = c.get("pod/web")["status"]["containerStatuses"][0]
    assert "running" in status["state"] and status["ready"] is True
    assert _conditions(c, "web")["Ready"] == "True"
    [ep] = _endpoint(c)
    assert ep["conditions"] == {"ready": False, "serving": True, "terminating": True}
    assert [e.pod for e in c.proxy.service("default", "web").endpoints] == ["web"]
    c.advance(11)  # the hook ends 20 s after the deletion, SIGTERM, nginx exits: gone
    assert c.list("pods") == [] and _endpoint(c) is None


def test_a_ready_pod_wins_over_a_serving_terminating_one():
    c = ls.connect(nodes=1, seed=0)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"app": "web"}},
           "spec": {"terminationGracePeriodSeconds": 60, "containers": [
               {"name": "app", "image": "busybox:1.36",
                "command": ["sh", "-c", "trap '' TERM; sleep 3600"]}]}}
    c.apply([dict(pod, metadata=dict(pod["metadata"], name=n)) for n in ("old", "new")]
            + [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}])
    c.advance(20)
    c.delete("pod/old")
    c.advance(1)
    conds = {ep["targetRef"]["name"]: ep["conditions"] for ep in _endpoint(c)}
    assert conds == {"old": {"ready": False, "serving": True, "terminating": True},
                     "new": {"ready": True, "serving": True, "terminating": False}}
    assert [e.pod for e in c.proxy.service("default", "web").endpoints] == ["new"]
