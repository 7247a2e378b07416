"""A day of kubectl against the served simulator: everyday commands, checked one by one.

One simulated cluster serves the whole module (at 20 simulated seconds per
second, so rollouts finish in a moment); the tests run in file order, each a
step of the story: apply a folder, look at it, change it, roll it out and
back, move pods off a node, read metrics and events, clean up.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

import labsupport as ls
from labsupport.errors import ClusterUnavailable

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 64Mi}}
"""
SERVICE_AND_CONFIG = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue}
"""


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    folder = tmp_path_factory.mktemp("manifests")
    (folder / "deployment.yaml").write_text(DEPLOYMENT)
    (folder / "service.yaml").write_text(SERVICE_AND_CONFIG)
    cluster = ls.connect(nodes=2, seed=0)
    cluster.serve(speed=20)
    cluster.manifests = folder
    yield cluster
    errors = list(cluster._server.errors)
    cluster.close()
    assert not errors, errors


def k(c, args: str, rc: int = 0, timeout: float = 60) -> str:
    """Run kubectl; check its exit code; return its standard output."""
    run = c.kubectl(shlex.split(args), timeout=timeout)
    assert run.returncode == rc, f"kubectl {args}\n{run}"
    return run.stdout if rc == 0 else run.stderr


def _web_pods(c) -> list[str]:
    return k(c, "get pods -l app=web -o jsonpath={.items[*].metadata.name}").split()


def test_version_and_api_resources(c):
    assert "Server Version: v1.37.0" in k(c, "version")
    resources = k(c, "api-resources").splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = [line.split() for line in resources[1:]]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in rows
    assert ["pods", "po", "v1", "true", "Pod"] in rows
    assert ["pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics"] in rows


def test_apply_a_folder_and_wait_for_the_rollout(c):
    out = k(c, f"apply -f {c.manifests}")
    assert out.splitlines() == ["deployment.apps/web created", "service/web created",
                                "configmap/settings created"]
    assert 'deployment "web" successfully rolled out' in k(
        c, "rollout status deploy/web --timeout=30s")


def test_get_in_every_format(c):
    wide = k(c, "get pods -o wide").splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len(wide) == 3 and all(line.split()[1:3] == ["1/1", "Running"] for line in wide[1:])
    assert all(re.fullmatch(r"10\.244\.\d+\.\d+", line.split()[5]) for line in wide[1:])
    manifest = k(c, "get deploy web -o yaml")
    assert "kind: Deployment" in manifest and "image: nginx:1.27" in manifest
    as_json = json.loads(k(c, "get deploy web -o json"))
    assert as_json["status"]["readyReplicas"] == 2
    assert k(c, "get deploy web -o jsonpath={.spec.replicas}") == "2"
    svc = k(c, "get svc web").splitlines()
    assert svc[0].split()[:5] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"]
    assert svc[1].split()[:2] == ["web", "ClusterIP"] and "80/TCP" in svc[1]
    assert k(c, "get cm settings -o jsonpath={.data.color}") == "blue"


def test_describe_pod_and_node(c):
    pod = _web_pods(c)[0]
    described = k(c, f"describe pod {pod}")
    assert f"Name:             {pod}" in described
    assert "Controlled By:  ReplicaSet/web-" in described
    assert re.search(r"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned",
                     described)
    node = k(c, "describe node node-1")
    assert "Name:               node-1" in node
    assert "Failed to get lease" not in node and "HolderIdentity:  node-1" in node
    assert "Non-terminated Pods:" in node


def test_logs(c):
    pod = _web_pods(c)[0]
    log = k(c, f"logs {pod}")
    assert "Configuration complete; ready for start up" in log
    assert k(c, f"logs {pod} --tail=1").count("\n") == 1


def test_scale_set_image_and_rollout_history(c):
    assert k(c, "scale deploy web --replicas=3") == "deployment.apps/web scaled\n"
    assert k(c, "set image deploy/web web=nginx:1.28") == "deployment.apps/web image updated\n"
    assert "successfully rolled out" in k(c, "rollout status deploy/web --timeout=30s")
    assert k(c, "get deploy web -o jsonpath={.spec.template.spec.containers[0].image}") == \
        "nginx:1.28"
    history = k(c, "rollout history deploy/web").splitlines()
    assert history[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert [line.split()[0] for line in history[2:] if line.strip()] == ["1", "2"]


def test_rollout_undo_and_restart(c):
    assert "deployment.apps/web rolled back" in k(c, "rollout undo deploy/web")
    assert "successfully rolled out" in k(c, "rollout status deploy/web --timeout=30s")
    assert k(c, "get deploy web -o jsonpath={.spec.template.spec.containers[0].image}") == \
        "nginx:1.27"
    assert k(c, "rollout restart deploy/web") == "deployment.apps/web restarted\n"
    assert "successfully rolled out" in k(c, "rollout status deploy/web --timeout=30s")
    annotations = json.loads(k(c, "get deploy web -o jsonpath={.spec.template.metadata."
                                  "annotations}"))
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert len(_web_pods(c)) == 3


def test_label_and_annotate(c):
    assert k(c, "label deploy web tier=front") == "deployment.apps/web labeled\n"
    assert k(c, "annotate deploy web note=hello") == "deployment.apps/web annotated\n"
    assert k(c, "get deploy -l tier=front -o name") == "deployment.apps/web\n"
    assert k(c, "get deploy web -o jsonpath={.metadata.annotations.note}") == "hello"


def test_cordon_taint_and_drain(c):
    assert k(c, "cordon node-2") == "node/node-2 cordoned\n"
    assert k(c, "get nodes").splitlines()[2].split()[:2] == ["node-2", "Ready,SchedulingDisabled"]
    assert k(c, "uncordon node-2") == "node/node-2 uncordoned\n"
    assert k(c, "taint nodes node-1 dedicated=gpu:NoSchedule") == "node/node-1 tainted\n"
    assert k(c, "get node node-1 -o jsonpath={.spec.taints[0].key}") == "dedicated"
    assert k(c, "taint nodes node-1 dedicated=gpu:NoSchedule-") == "node/node-1 untainted\n"
    drained = k(c, "drain node-2 --ignore-daemonsets --timeout=30s")
    assert drained.splitlines()[0] == "node/node-2 cordoned"
    assert drained.splitlines()[-1] == "node/node-2 drained"
    assert k(c, "get pods --field-selector spec.nodeName=node-2 -o name") == ""
    assert "successfully rolled out" in k(c, "rollout status deploy/web --timeout=30s")
    assert k(c, "uncordon node-2") == "node/node-2 uncordoned\n"


def test_top_nodes_and_pods(c):
    c.advance(30)  # a complete 15 s metrics window after the last rollout
    nodes = k(c, "top nodes").splitlines()
    assert nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert [line.split()[0] for line in nodes[1:]] == ["node-1", "node-2"]
    pods = k(c, "top pods -l app=web").splitlines()
    assert pods[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert sorted(line.split()[0] for line in pods[1:]) == sorted(_web_pods(c))
    assert all(re.fullmatch(r"\d+m", line.split()[1]) for line in pods[1:])


def test_explain_and_events(c):
    explain = k(c, "explain deployment.spec.replicas")
    assert "FIELD: replicas <integer>" in explain
    events = k(c, "get events").splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("ScalingReplicaSet" in line and "deployment/web" in line for line in events)
    scheduled = k(c, "get events --field-selector reason=Scheduled").splitlines()[1:]
    assert scheduled and all(" Scheduled " in line for line in scheduled)


def test_watch_with_a_timeout(c):
    out = k(c, "get pods -l app=web -w --request-timeout=2s")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "READY", "STATUS"]
    assert {line.split()[0] for line in lines[1:]} >= set(_web_pods(c))


def test_auth_can_i_and_whoami(c):
    assert k(c, "auth can-i create pods") == "yes\n"
    assert k(c, "auth can-i delete nodes") == "yes\n"
    assert "kubernetes-admin" in k(c, "auth whoami")


def test_exec_is_refused_clearly(c):
    pod = _web_pods(c)[0]
    err = k(c, f"exec {pod} -- ls", rc=1)
    assert "the simulator has no processes" in err


def test_delete_with_and_without_orphans(c):
    assert k(c, "delete cm settings") == 'configmap "settings" deleted from default namespace\n'
    assert k(c, "get cm settings", rc=1).startswith(
        'Error from server (NotFound): configmaps "settings" not found')
    replicasets = k(c, "get rs -l app=web -o name").split()
    assert replicasets
    assert k(c, "delete deploy web --cascade=orphan") == \
        'deployment.apps "web" deleted from default namespace\n'
    assert k(c, "get rs -l app=web -o name").split() == replicasets
    for rs in replicasets:
        k(c, f"delete {rs} --wait=true --timeout=30s")
    k(c, "wait --for=delete pod -l app=web --timeout=30s")
    assert k(c, "get pods -l app=web -o name") == ""
