"""ConfigMaps, Secrets and the downward API in a container's environment and volumes."""

from __future__ import annotations

from simhelpers import pod

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
      "data": {"color": "blue", "mode": "fast"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
          "data": {"password": "czNjcjN0"}}  # base64 of "s3cr3t"


def _app(env=None, env_from=None, **extra):
    c = {"name": "app", "image": "nginx:1.27", **extra}
    if env is not None:
        c["env"] = env
    if env_from is not None:
        c["envFrom"] = env_from
    return c


def _state(sim, name="p"):
    return sim.get(f"pod/{name}")["status"]["containerStatuses"][0]["state"]


def _env(sim, name="p"):
    worker = next(w for k in sim.kubelets.values() for w in k.workers.values() if w.name == name)
    return dict(worker.apps[0].env)


def test_missing_configmap_blocks_the_container_until_it_exists(sim):
    sim.apply(pod("p", containers=[_app(env=[{"name": "COLOR", "valueFrom": {
        "configMapKeyRef": {"name": "app-config", "key": "color"}}}])]))
    sim.advance(30)
    waiting = _state(sim)["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError",
                       "message": 'configmap "app-config" not found'}
    assert sim.pods()[0].status == "CreateContainerConfigError"
    failed = [e for e in sim.events() if e.reason == "Failed"]
    assert failed and failed[0].type == "Warning"
    assert failed[0].message == 'Error: configmap "app-config" not found'
    sim.apply(CM)
    sim.advance(11)  # the next pod sync (10 s after the last failure) starts it
    assert "running" in _state(sim)
    assert _env(sim) == {"COLOR": "blue"}


def test_missing_key_and_missing_secret(sim):
    sim.apply(CM)
    sim.apply(pod("key", containers=[_app(env=[{"name": "SIZE", "valueFrom": {
        "configMapKeyRef": {"name": "app-config", "key": "size"}}}])]))
    sim.apply(pod("sec", containers=[_app(env_from=[{"secretRef": {"name": "db"}}])]))
    sim.advance(10)
    assert _state(sim, "key")["waiting"]["message"] == \
        "couldn't find key size in ConfigMap default/app-config"
    assert _state(sim, "sec")["waiting"]["message"] == 'secret "db" not found'
    sim.apply(SECRET)
    sim.advance(11)
    assert _env(sim, "sec") == {"password": "s3cr3t"}  # base64-decoded


def test_optional_references_do_not_block(sim):
    sim.apply(pod("p", containers=[_app(
        env=[{"name": "COLOR", "valueFrom": {"configMapKeyRef": {
            "name": "app-config", "key": "color", "optional": True}}},
             {"name": "X", "value": "1"}],
        env_from=[{"secretRef": {"name": "db", "optional": True}}])]))
    sim.advance(5)
    assert "running" in _state(sim)
    assert _env(sim) == {"X": "1"}


def test_values_expansion_and_the_downward_api(sim):
    sim.apply(CM)
    p = pod("p", containers=[_app(
        env_from=[{"configMapRef": {"name": "app-config"}, "prefix": "CFG_"}],
        env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
             {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
             {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
             {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
             {"name": "APP", "valueFrom": {"fieldRef": {
                 "fieldPath": "metadata.labels['app']"}}},
             {"name": "MEM", "valueFrom": {"resourceFieldRef": {
                 "resource": "limits.memory", "divisor": "1Mi"}}},
             {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
             {"name": "GREETING", "value": "$(POD) in $(NS) says $(CFG_color), $$(POD) $(NOPE)"}],
        resources={"limits": {"memory": "128Mi", "cpu": "500m"}})])
    p["metadata"]["labels"] = {"app": "web"}
    sim.apply(p)
    sim.advance(5)
    p = sim.get("pod/p")
    env = _env(sim)
    assert env["CFG_color"] == "blue" and env["CFG_mode"] == "fast"
    assert (env["POD"], env["NS"], env["NODE"]) == ("p", "default", p["spec"]["nodeName"])
    assert env["IP"] == p["status"]["podIP"] and env["APP"] == "web"
    assert (env["MEM"], env["CPU"]) == ("128", "1")  # cpu rounds up to whole cores
    assert env["GREETING"] == "p in default says blue, $(POD) $(NOPE)"


def test_missing_configmap_volume_gives_failed_mount_and_container_creating(sim):
    sim.apply(pod("p", containers=[_app(volumeMounts=[{"name": "config",
                                                        "mountPath": "/etc/app"}])],
                  volumes=[{"name": "config", "configMap": {"name": "app-config"}}]))
    sim.advance(60)
    assert sim.pods()[0].status == "ContainerCreating"
    mounts = [e for e in sim.events() if e.reason == "FailedMount"]
    assert mounts[0].message == \
        'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found'
    assert mounts[0].type == "Warning"
    # The pod worker gives up waiting after 2 min 3 s in silence: SyncPod records no
    # event for a wait its timeout interrupted (pkg/kubelet/kubelet.go, wait.Interrupted).
    sim.advance(100)
    assert not any(e.message.startswith("Unable to attach or mount volumes")
                   for e in sim.events())
    sim.apply(CM)
    sim.advance(130)  # the volume manager's retries reach at most 2 min 2 s apart
    assert sim.pods()[0].status == "Running"
