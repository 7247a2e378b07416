"""Pod generation (KEP-5067, GA in 1.35): metadata.generation and status.observedGeneration."""

from __future__ import annotations

# A container that ignores SIGTERM keeps its pod terminating for the whole grace period.
POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p", "annotations": {"sim.labsupport.io/ignore-sigterm": "true"}},
       "spec": {"terminationGracePeriodSeconds": 20,
                "containers": [{"name": "app", "image": "nginx:1.27"}]}}


def _observed(pod):
    return (pod["metadata"]["generation"], pod["status"].get("observedGeneration"),
            {c.get("observedGeneration") for c in pod["status"]["conditions"]})


def test_a_new_pod_is_generation_1_and_its_status_says_so(sim):
    sim.apply(POD)
    sim.advance(10)
    assert _observed(sim.get("pod/p")) == (1, 1, {1})


def test_a_spec_change_is_a_new_generation_the_kubelet_reports_at_once(sim):
    sim.apply(POD)
    sim.advance(10)
    pod = sim.get("pod/p")
    pod["metadata"]["labels"] = {"team": "web"}          # metadata: same generation
    sim.apply(pod)
    sim.advance(1)
    assert sim.get("pod/p")["metadata"]["generation"] == 1
    pod = sim.get("pod/p")
    pod["spec"]["containers"][0]["image"] = "nginx:1.28"  # one of the mutable spec fields
    sim.apply(pod)
    assert sim.get("pod/p")["metadata"]["generation"] == 2
    sim.advance(0.5)
    assert _observed(sim.get("pod/p")) == (2, 2, {2})


def test_a_graceful_deletion_is_a_new_generation(sim):
    sim.apply(POD)
    sim.advance(10)
    sim.delete("pod/p")
    pod = sim.get("pod/p")                               # terminating for up to 20 s
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["generation"] == 2
    sim.advance(1)
    assert sim.get("pod/p")["status"]["observedGeneration"] == 2


def test_controllers_pods_have_a_generation_too(sim):
    sim.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "web",
                                                              "image": "nginx:1.27"}]}}}})
    sim.wait_for_rollout("deployment/web")
    for pod in sim.list("pods"):
        assert _observed(pod) == (1, 1, {1})
