"""Reserve before PreBind: a pod waiting for its volumes already takes room on its node.

Upstream schedule_one.go assumes the pod in the scheduler cache and runs the
Reserve plugins before the binding cycle, whose VolumeBinding PreBind waits
for the claims; a failed PreBind unreserves and forgets the pod.
"""

from __future__ import annotations

import labsupport as ls


def _pod(name, claim, cpu="600m"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                     "resources": {"requests": {"cpu": cpu}}}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {
                         "claimName": claim}}]}}


def _claim(name, cls=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": spec}


def test_two_pods_waiting_for_volumes_do_not_overcommit_a_node():
    c = ls.connect(nodes=1, node_cpu="1", seed=0)
    try:
        c.apply([_claim("a"), _claim("b"), _pod("first", "a"), _pod("second", "b")])
        c.advance(10)
        nodes = {p.name: p.node for p in c.pods()}
        assert sum(1 for n in nodes.values() if n) == 1, nodes
        waiting = next(name for name, node in nodes.items() if node is None)
        failed = [e.message for e in c.events()
                  if e.reason == "FailedScheduling" and e.object == f"pod/{waiting}"]
        assert failed and failed[0].startswith("0/1 nodes are available: 1 Insufficient cpu.")
        # Only the scheduled pod's claim was provisioned.
        assert len(c.list("pv")) == 1
    finally:
        c.close()


def test_a_failed_pre_bind_gives_the_room_back():
    c = ls.connect(nodes=1, node_cpu="1", seed=0)
    try:
        c.apply([{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                  "metadata": {"name": "slow"}, "provisioner": "example.com/nowhere",
                  "volumeBindingMode": "WaitForFirstConsumer"},
                 _claim("a", "slow"), _pod("first", "a")])
        c.advance(5)
        assert c.scheduler.table.requested("node-1")["cpu"] == 600
        c.advance(600)  # bindTimeoutSeconds: PreBind fails, Unreserve
        assert any('running PreBind plugin "VolumeBinding"' in e.message
                   for e in c.events() if e.reason == "FailedScheduling")
        c.delete("pod/first")
        c.apply(_pod("other", "a2", cpu="900m"))
        c.apply(_claim("a2"))
        c.advance(10)
        assert c.get("pod/other")["spec"].get("nodeName") == "node-1"
    finally:
        c.close()
