"""PodDisruptionBudget status, the Eviction API and c.drain on the simulator."""

from __future__ import annotations

import pytest
from simhelpers import deployment, pod

import labsupport as ls
from labsupport.errors import Invalid, TooManyRequests, WaitTimeout


def _pdb(name="web", **spec):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def _ready(replicas=3, nodes=3, **spec):
    c = ls.connect(nodes=nodes, seed=0)
    c.apply(deployment("web", replicas=replicas))
    c.wait_for_rollout("deployment/web")
    c.apply(_pdb(**spec))
    c.advance(1)
    return c


@pytest.mark.parametrize("spec, expected, desired, allowed", [
    ({"minAvailable": 2}, 3, 2, 1),
    ({"minAvailable": "50%"}, 3, 2, 1),     # ceil(1.5)
    ({"maxUnavailable": 1}, 3, 2, 1),
    ({"maxUnavailable": "50%"}, 3, 1, 2),   # 3 - ceil(1.5)
    ({"maxUnavailable": 0}, 3, 3, 0),
    ({"minAvailable": "100%"}, 3, 3, 0),
])
def test_pdb_status_values(spec, expected, desired, allowed):
    c = _ready(**spec)
    s = c.get("pdb/web")["status"]
    assert (s["expectedPods"], s["desiredHealthy"], s["currentHealthy"],
            s["disruptionsAllowed"]) == (expected, desired, 3, allowed)
    assert s["observedGeneration"] == 1
    (cond,) = s["conditions"]
    assert cond["type"] == "DisruptionAllowed"
    assert (cond["status"], cond["reason"]) == (
        ("True", "SufficientPods") if allowed else ("False", "InsufficientPods"))


def test_percentage_of_a_pod_without_controller_fails_safe():
    c = ls.connect(nodes=1, seed=0)
    c.apply(pod("lonely") | {"metadata": {"name": "lonely", "labels": {"app": "web"}}})
    c.apply(_pdb(minAvailable="50%"))
    c.advance(5)
    s = c.get("pdb/web")["status"]
    assert s["expectedPods"] == 0 and s["disruptionsAllowed"] == 0
    assert any(e.reason == "UnmanagedPods" for e in c.events())


def test_eviction_decrements_then_answers_429():
    c = _ready(minAvailable=2)
    names = [p.name for p in c.pods()]
    c.evict(names[0])
    s = c.get("pdb/web")["status"]
    assert s["disruptionsAllowed"] == 0 and names[0] in s["disruptedPods"]
    evicted = c.get(f"pod/{names[0]}")
    cond = [x for x in evicted["status"]["conditions"] if x["type"] == "DisruptionTarget"]
    assert cond[0]["reason"] == "EvictionByEvictionAPI"
    with pytest.raises(TooManyRequests) as err:
        c.evict(names[1])
    assert err.value.message == ("Cannot evict pod as it would violate the pod's disruption "
                                 "budget.")
    # The handler decremented the budget; the controller has not recounted yet.
    assert err.value.causes == ("The disruption budget web needs 2 healthy pods and has 3 "
                                "currently",)
    c.advance(0.5)
    s = c.get("pdb/web")["status"]
    # An int minAvailable expects every selected pod, the terminating one included;
    # a pod being deleted leaves disruptedPods and is not healthy.
    assert s["expectedPods"] == len(c.list("pods")) == 4
    assert "disruptedPods" not in s
    ready = sum(1 for p in c.list("pods") if not p["metadata"].get("deletionTimestamp")
                and ls.PodInfo.from_object(p).ready)
    assert s["currentHealthy"] == ready
    # The ReplicaSet replaces the evicted pod; once it is Ready, one more may go.
    c.advance(40)
    assert c.get("pdb/web")["status"]["disruptionsAllowed"] == 1
    c.evict(names[1])


def test_always_allow_still_protects_ready_pods():
    c = _ready(minAvailable=3, unhealthyPodEvictionPolicy="AlwaysAllow")
    with pytest.raises(TooManyRequests):
        c.evict(c.pods()[0].name)


def test_drain_retries_every_5s_until_the_budget_allows():
    c = _ready(replicas=2, nodes=3, minAvailable=1)
    on = {p.node for p in c.pods()}
    node = sorted(on)[0] if len(on) == 2 else next(iter(on))
    if len(on) == 1:  # both pods on one node: the second eviction waits for a replacement
        node = next(iter(on))
    lines = c.drain(node, timeout=120)
    assert lines[0] == f"node/{node} cordoned" and lines[-1] == f"node/{node} drained"
    assert all(p.node != node for p in c.pods())
    assert c.get(f"node/{node}")["spec"]["unschedulable"] is True


def test_drain_two_pods_of_one_node_waits_for_the_budget():
    c = ls.connect(nodes=1, seed=0)
    c.apply(deployment("web", replicas=2))
    c.wait_for_rollout("deployment/web")
    c.add_node()
    c.apply(_pdb(minAvailable=1))
    c.advance(1)
    t0 = c.now
    lines = c.drain("node-1", timeout=120)
    retries = [x for x in lines if x.startswith("error when evicting pods/")]
    assert retries and retries[0].endswith("(will retry after 5s): Cannot evict pod as it "
                                           "would violate the pod's disruption budget.")
    assert lines[-1] == "node/node-1 drained"
    assert [p.node for p in c.pods()] == ["node-2", "node-2"]
    assert c.now - t0 >= 5


def test_drain_times_out_when_the_budget_never_allows():
    c = _ready(replicas=1, nodes=1, minAvailable=1)
    (name,) = [p.name for p in c.pods()]
    t0 = c.now
    with pytest.raises(WaitTimeout) as err:
        c.drain("node-1", timeout=12)
    # drain.go evictPods: the context is looked at before each try, 5 s apart, so the
    # try at 15 s is the first to see the 12 s deadline; cmd/drain prints the rest.
    assert c.now - t0 == pytest.approx(15)
    assert err.value.last == ('There are pending pods in node "node-1" when an error '
                              f'occurred: error when evicting pods/"{name}" -n "default": '
                              "global timeout reached: 12s")
    assert err.value.reasons == (f"pod/{name}",)


def test_drain_evicts_every_pod_at_once():
    """evictPods starts one goroutine per pod: the evictions do not wait for each other."""
    c = ls.connect(nodes=1, seed=0)
    for app in ("api", "web"):
        c.apply(deployment(app, replicas=1))
        c.wait_for_rollout(f"deployment/{app}")
    c.add_node()
    old = {p.name for p in c.pods()}
    t0 = c.now
    lines = c.drain("node-1", timeout=120)
    first, second = sorted(old)
    # Both "evicting pod" lines come before either pod is gone.
    assert lines[1:3] == [f"evicting pod default/{first}", f"evicting pod default/{second}"]
    assert sorted(lines[3:5]) == [f"pod/{first} evicted", f"pod/{second} evicted"]
    assert lines[5:] == ["node/node-1 drained"]
    # Both were killed at the same instant and their replacements created together.
    killed = {e.object: e.time for e in c.events() if e.reason == "Killing"
              and e.object.split("/")[-1] in old}
    assert len(killed) == 2 and len(set(killed.values())) == 1
    assert list(killed.values())[0] == pytest.approx(t0)
    new = [p for p in c.list("pods") if p["metadata"]["name"] not in old]
    assert len({p["metadata"]["creationTimestamp"] for p in new}) == 1


def test_drain_refuses_pods_without_controller():
    c = ls.connect(nodes=1, seed=0)
    c.apply(pod("lonely"))
    c.advance(5)
    with pytest.raises(Invalid, match=r'unable to drain node "node-1" due to error: cannot '
                                      r"delete Pods that declare no controller \(use --force "
                                      r"to override\): default/lonely"):
        c.drain("node-1")
    lines = c.drain("node-1", force=True)
    assert "Warning: deleting Pods that declare no controller: default/lonely" in lines
