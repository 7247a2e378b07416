from __future__ import annotations

import pytest

from labsupport.errors import ResourceExpired
from labsupport.sim.store import Store, registry_key


def test_revisions_increase_and_set_resource_version():
    s = Store()
    a = {"metadata": {"name": "a"}}
    assert s.put("/registry/pods/default/a", a) == 1
    assert a["metadata"]["resourceVersion"] == "1"
    assert s.put("/registry/pods/default/a", {"metadata": {"name": "a"}}) == 2
    assert s.delete("/registry/pods/default/a") == 3
    assert s.delete("/registry/pods/default/a") is None
    assert s.revision == 3


def test_keys_follow_the_registry_layout():
    assert registry_key("pods", "default", "web") == "/registry/pods/default/web"
    assert registry_key("minions", None, "node-1") == "/registry/minions/node-1"


def test_watch_replays_history_then_follows():
    s = Store()
    s.put("/registry/pods/default/a", {"metadata": {}})
    s.put("/registry/services/specs/default/x", {"metadata": {}})
    rev = s.revision
    s.put("/registry/pods/default/b", {"metadata": {}})
    seen = []
    stop = s.watch("/registry/pods/", lambda e: seen.append((e.type, e.key, e.revision)), since=rev)
    s.delete("/registry/pods/default/a")
    stop()
    s.put("/registry/pods/default/c", {"metadata": {}})
    assert seen == [("ADDED", "/registry/pods/default/b", 3),
                    ("DELETED", "/registry/pods/default/a", 4)]


def test_watch_from_compacted_revision_is_410_gone():
    s = Store(history=3)
    for i in range(6):
        s.put(f"/registry/pods/default/p{i}", {"metadata": {}})
    with pytest.raises(ResourceExpired) as err:
        list(s.history("/registry/pods/", since=1))
    assert "410 Gone" in str(err.value)
    assert len(list(s.history("/registry/pods/", since=s.oldest_revision))) == 3
    s.compact()
    with pytest.raises(ResourceExpired):
        s.watch("/registry/", lambda e: None, since=2)


def test_get_returns_a_copy():
    s = Store()
    s.put("/registry/configmaps/default/c", {"metadata": {"name": "c"}, "data": {"k": "v"}})
    copy = s.get("/registry/configmaps/default/c")
    copy["data"]["k"] = "changed"
    assert s.get("/registry/configmaps/default/c")["data"]["k"] == "v"


def test_cluster_store_holds_real_keys(sim):
    sim.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    keys = sim.store.keys()
    assert "/registry/configmaps/default/c" in keys
    assert "/registry/minions/node-1" in keys
    assert "/registry/namespaces/kube-system" in keys
    assert "/registry/services/specs/default/kubernetes" in keys
    obj = sim.get("configmap/c")
    assert obj["metadata"]["resourceVersion"] == str(
        int(sim.store.get("/registry/configmaps/default/c")["metadata"]["resourceVersion"]))
