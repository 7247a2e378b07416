"""Updates in the simulated API server: status ignored, immutable fields, conflicts.

Texts: pkg/apis/{apps,batch,core}/validation (ValidateImmutableField,
ValidatePodUpdate, ValidateServiceUpdate, ValidateJobSpecUpdate,
ValidatePersistentVolumeClaimUpdate, ValidateConfigMapUpdate, ValidateSecretUpdate,
ValidateStatefulSetUpdate), printed as kubectl prints them since 1.34 (bad
values as JSON); OptimisticLockErrorMsg for conflicts.
"""

from __future__ import annotations

import pathlib

import pytest
from simhelpers import deployment

import labsupport as ls
from labsupport.kinds import type_for_kind
from labsupport.sim.updates import POD_UPDATABLE_FIELDS

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


def svc(name: str = "web", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


# --- status is the status subresource's -----------------------------------------------
def test_node_get_then_apply_works(sim):
    node = sim.get("node/node-1")
    assert sim.apply(node) == ["node/node-1"]
    assert sim.get("node/node-1")["status"]["nodeInfo"] == node["status"]["nodeInfo"]


def test_status_sent_with_an_update_is_ignored(sim):
    sim.apply(deployment("web", replicas=2))
    sim.advance(20)
    obj = sim.get("deployment/web")
    before = obj["status"]
    obj["status"] = {"replicas": 99, "readyReplicas": 99}
    sim.apply(obj)
    assert sim.get("deployment/web")["status"] == before


def test_status_sent_with_a_create_is_ignored(sim):
    obj = svc(type="LoadBalancer")
    obj["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    sim.apply(obj)
    assert sim.get("service/web")["status"] == {"loadBalancer": {}}


def _scenario(sim) -> None:
    sim.apply((DATA / "guestbook.yaml").read_text())
    sim.apply((DATA / "stateful-and-daemons.yaml").read_text())
    sim.apply([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
         "stringData": {"a": "1"}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
         "spec": {"limits": [{"type": "Container", "max": {"cpu": "4"}}]}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
         "spec": {"hard": {"pods": "100"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "c", "image": "busybox:1.36", "command": ["true"]}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "often"},
         "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
             "restartPolicy": "OnFailure", "containers": [
                 {"name": "c", "image": "busybox:1.36", "command": ["true"]}]}}}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": "frontend"},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "frontend"}, "maxReplicas": 5}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb"},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guestbook"}}}},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
         "metadata": {"name": "high"}, "value": 1000},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "deny"}, "spec": {"podSelector": {}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"},
         "spec": {"defaultBackend": {"service": {"name": "frontend", "port": {"number": 80}}}}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "hostPath": {"path": "/data"}}},
        svc("external", type="ExternalName", externalName="example.com", selector=None),
    ])
    sim.advance(30)


def test_get_modify_apply_round_trip_for_every_stored_kind(sim):
    _scenario(sim)
    kinds: dict[str, list[str]] = {}
    for key in sim.store.keys():
        obj = sim.store.peek(key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            continue
        kinds.setdefault(obj["kind"], []).append(key)
    # Every kind the scenario made the simulator store, from users and controllers.
    assert {"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Service",
            "Endpoints", "Node", "Namespace", "ConfigMap", "Secret", "ServiceAccount", "Lease",
            "LimitRange", "ResourceQuota", "PersistentVolumeClaim", "PersistentVolume", "Job",
            "CronJob", "HorizontalPodAutoscaler", "PodDisruptionBudget", "PriorityClass",
            "StorageClass", "ControllerRevision", "NetworkPolicy", "Ingress"} <= set(kinds)
    for kind, keys in sorted(kinds.items()):
        rt = type_for_kind(kind)
        obj = sim.store.peek(keys[0])
        meta = obj["metadata"]
        ref = f"{rt.singular}/{meta['name']}"
        ns = meta.get("namespace", "default")
        got = sim.get(ref, namespace=ns)
        got["metadata"].setdefault("labels", {})["touched"] = "yes"
        assert sim.apply(got, namespace=ns) == [ref], kind
        after = sim.get(ref, namespace=ns)
        assert after["metadata"]["labels"]["touched"] == "yes", kind
        assert after.get("spec") == got.get("spec"), kind
        assert int(after["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])


# --- immutable fields ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet"])
def test_selector_is_immutable(sim, kind):
    obj = deployment("web", replicas=1)
    obj["kind"] = kind
    if kind == "DaemonSet":
        del obj["spec"]["replicas"]
    sim.apply(obj)
    obj["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "front"}}
    obj["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(obj)
    assert str(err.value) == (
        f'The {kind} "web" is invalid: spec.selector: Invalid value: '
        '{"matchLabels":{"app":"web","tier":"front"}}: field is immutable')
    assert err.value.field == "spec.selector"


def test_statefulset_spec_beyond_the_allowed_fields_is_forbidden(sim):
    sim.apply((DATA / "stateful-and-daemons.yaml").read_text())
    sts = next(o for o in sim.list("statefulsets"))
    sts["spec"]["serviceName"] = "other"
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(sts)
    assert str(err.value).endswith(
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
        "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
        "and 'minReadySeconds' are forbidden")


def test_pod_image_may_change_but_not_env(sim):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
    sim.apply(pod)
    sim.advance(10)
    pod["spec"]["containers"][0]["image"] = "nginx:1.28"
    sim.apply(pod)
    assert sim.get("pod/p")["spec"]["containers"][0]["image"] == "nginx:1.28"
    pod["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "fast"}]
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(pod)
    text = str(err.value)
    assert text.startswith('The Pod "p" is invalid: spec: Forbidden: pod updates may not change '
                           "fields other than `spec.containers[*].image`,")
    assert ",".join(POD_UPDATABLE_FIELDS) in text
    assert "core.PodSpec{" in text and '"MODE"' in text


def test_pod_tolerations_may_only_be_added(sim):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                    "activeDeadlineSeconds": 600}}
    sim.apply(pod)
    pod["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    pod["spec"]["activeDeadlineSeconds"] = 300
    sim.apply(pod)
    assert sim.get("pod/p")["spec"]["activeDeadlineSeconds"] == 300
    pod["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    with pytest.raises(ls.InvalidManifest, match="pod updates may not change"):
        sim.apply(pod)


def test_service_cluster_ip_may_not_change(sim):
    sim.apply(svc())
    obj = sim.get("service/web")
    obj["spec"]["clusterIP"] = "10.96.0.99"
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(obj)
    assert str(err.value) == ('The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: '
                              '["10.96.0.99"]: may not change once set')


def test_external_name_services_get_no_cluster_ip_and_type_changes(sim):
    sim.apply(svc("ext", type="ExternalName", externalName="db.example.com", selector=None))
    spec = sim.get("service/ext")["spec"]
    assert "clusterIP" not in spec and "clusterIPs" not in spec
    sim.apply(svc("ext", type="ClusterIP"))
    ip = sim.get("service/ext")["spec"]["clusterIP"]
    assert ip.startswith("10.96.")
    sim.apply(svc("ext", type="ExternalName", externalName="db.example.com"))
    assert "clusterIP" not in sim.get("service/ext")["spec"]
    with pytest.raises(ls.InvalidManifest, match="spec.externalName: Required value"):
        sim.apply(svc("ext2", type="ClusterIP") | {})  # a valid create first
        sim.apply(svc("ext2", type="ExternalName"))


def test_job_template_is_immutable(sim):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "c", "image": "busybox:1.36", "command": ["true"]}]}}}}
    sim.apply(job)
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(job)
    assert str(err.value).startswith('The Job "once" is invalid: spec.template: Invalid value: {')
    assert str(err.value).endswith("}: field is immutable")


def test_claim_spec_is_immutable_and_resize_needs_expansion(sim):
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    sim.apply(claim)
    changed = {**claim, "spec": {**claim["spec"], "accessModes": ["ReadWriteMany"]}}
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply(changed)
    assert str(err.value) == (
        'The PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after '
        "creation except resources.requests and volumeAttributesClassName for bound claims")


def test_bound_claim_grows_only_when_its_class_allows_expansion(sim):
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    sim.apply(claim)
    sim.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
               "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}],
                        "volumes": [{"name": "d",
                                     "persistentVolumeClaim": {"claimName": "data"}}]}})
    sim.advance(30)
    assert sim.get("pvc/data")["status"]["phase"] == "Bound"
    bigger = sim.get("pvc/data")
    bigger["spec"]["resources"]["requests"]["storage"] = "2Gi"
    with pytest.raises(ls.Forbidden) as err:
        sim.apply(bigger)
    # kind's "standard" class does not set allowVolumeExpansion.
    assert str(err.value) == (
        'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
        "resized and the storageclass that provisions the pvc must support resize")


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_immutable_config_maps_and_secrets(sim, kind):
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "settings"},
           "data": {"mode": "ZmFzdA=="}, "immutable": True}
    sim.apply(obj)
    with pytest.raises(ls.InvalidManifest) as err:
        sim.apply({**obj, "data": {"mode": "c2xvdw=="}, "immutable": False})
    assert str(err.value) == (
        f'The {kind} "settings" is invalid: \n'
        "* immutable: Forbidden: field is immutable when `immutable` is set\n"
        "* data: Forbidden: field is immutable when `immutable` is set")


# --- resourceVersion conflicts -------------------------------------------------------------
def test_stale_resource_version_is_a_conflict(sim):
    sim.apply(deployment("web", replicas=1))
    stale = sim.get("deployment/web")
    sim.scale("deployment/web", 3)
    stale["spec"]["replicas"] = 5
    with pytest.raises(ls.LabSupportError) as err:
        sim.apply(stale)
    assert type(err.value).__name__ == "Conflict"
    assert str(err.value).startswith(
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
        "please apply your changes to the latest version and try again")
    assert sim.get("deployment/web")["spec"]["replicas"] == 3
    fresh = sim.get("deployment/web")
    fresh["spec"]["replicas"] = 5
    sim.apply(fresh)
    assert sim.get("deployment/web")["spec"]["replicas"] == 5
