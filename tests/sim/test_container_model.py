"""The container behaviour model: annotation > image catalogue + command > safe default.

One row per case of the table in labsupport.sim.workloads (RULES), then the
same model end to end on the simulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labsupport.sim import images
from labsupport.sim.workloads import RULES, behaviour

NS_FILE = "$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
DOCS_WAIT = f"until nslookup myservice.{NS_FILE}.svc.cluster.local; do echo waiting; sleep 2; done"
RETRY_30 = """for i in $(seq 1 30); do
  wget -q -O- http://api:8080/healthz > /dev/null 2>&1 && exit 0
  echo "waiting for api"
  sleep 2
done
echo "api never answered"
exit 1
"""
EXIT = "sim.labsupport.io/exit-after"
# (image, command, args, pod restartPolicy, init, annotations) ->
#     (rule, exit_after (None: runs until stopped), exit_code, waits_for)
CASES = [
    # annotation: always first
    ("nginx:1.27", None, None, None, False, {EXIT: "60"}, ("annotation", 60.0, 1, ())),
    ("busybox:1.36", ["sh", "-c", DOCS_WAIT], None, None, True, {EXIT: "3"},
     ("annotation", 3.0, 1, ())),
    ("busybox:1.36", ["sh", "-c", "exit 3"], None, None, False,
     {"sim.labsupport.io/exit-code": "7"}, ("annotation", 0.0, 7, ())),
    # one-shot programs
    ("busybox:1.36", ["echo", "hi"], None, "Never", False, {}, ("one-shot program", 0.0, 0, ())),
    ("busybox:1.36", ["echo", "hi"], None, "Always", False, {},
     ("one-shot program", 0.0, 0, ())),
    ("busybox:1.36", ["false"], None, None, False, {}, ("one-shot program", 0.0, 1, ())),
    ("perl:5.34.0", ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"], None, "Never", False,
     {}, ("one-shot program", 1.0, 0, ())),
    ("python:3.12", ["python", "-c", "import sys; sys.exit(4)"], None, "Never", False, {},
     ("one-shot program", 1.0, 4, ())),
    ("busybox:1.36", ["printenv"], None, None, False, {}, ("one-shot program", 0.0, 0, ())),
    ("busybox:1.36", ["nslookup", "kubernetes.default"], None, "Never", False, {},
     ("one-shot program", 0.0, 0, ())),
    # scripts whose outcome is certain
    ("busybox:1.36", ["sh", "-c", "exit 3"], None, None, False, {}, ("script", 0.0, 3, ())),
    ("busybox:1.36", ["sleep", "5"], None, None, False, {}, ("script", 5.0, 0, ())),
    ("busybox:1.36", ["sh", "-c", "sleep 5; exit 1"], None, None, False, {},
     ("script", 5.0, 1, ())),
    ("busybox:1.36", ["sh", "-c", "echo hi && sleep 10"], None, None, False, {},
     ("script", 10.0, 0, ())),
    ("busybox:1.36", ["/bin/sh", "-c"], ["echo start; sleep 2\nsleep 3"], None, True, {},
     ("script", 5.0, 0, ())),
    # retry loops
    ("busybox:1.28", ["sh", "-c", DOCS_WAIT], None, None, True, {},
     ("retry loop", 0.0, 0, ("myservice.<namespace>.svc.cluster.local",))),
    ("busybox:1.36", ["sh", "-c", RETRY_30], None, None, True, {},
     ("retry loop", 0.0, 0, ("api",))),
    ("busybox:1.36", ["sh", "-c", "until nc -z db 5432; do sleep 1; done; exec nginx"], None,
     None, False, {}, ("retry loop", None, 0, ("db",))),
    ("busybox:1.36", ["sh", "-c", "while ! wget -q http://web; do sleep 3; done"], None, None,
     True, {}, ("retry loop", 0.0, 0, ("web",))),
    # servers
    ("nginx:1.27", ["nginx", "-g", "daemon off;"], None, None, False, {}, ("server", None, 0, ())),
    ("python:3.12", ["python", "-m", "http.server", "8080"], None, None, False, {},
     ("server", None, 0, ())),
    ("busybox:1.36", ["sleep", "infinity"], None, None, False, {}, ("server", None, 0, ())),
    ("busybox:1.36", ["tail", "-f", "/dev/null"], None, None, False, {}, ("server", None, 0, ())),
    ("busybox:1.36", ["sh", "-c", "while true; do date; sleep 5; done"], None, "Never", False,
     {}, ("server", None, 0, ())),
    # an init container that runs a server never completes (as on a real cluster)
    ("nginx:1.27", None, None, None, True, {}, ("image", None, 0, ())),
    ("registry.k8s.io/e2e-test-images/agnhost:2.39", None, ["netexec", "--http-port=8080"],
     None, False, {}, ("server", None, 0, ())),
    # shells without a script
    ("busybox:1.36", ["sh"], None, None, False, {}, ("shell without a script", 0.0, 0, ())),
    # the image's own command
    ("busybox:1.36", None, None, None, False, {}, ("image", 0.0, 0, ())),
    ("python:3.12-slim", None, None, None, False, {}, ("image", 0.0, 0, ())),
    ("redis:7.2", None, None, None, False, {}, ("image", None, 0, ())),
    ("curlimages/curl:8.8.0", None, None, "Never", False, {}, ("image", 0.0, 2, ())),
    ("bitnami/redis:7.2", None, None, None, False, {}, ("image", None, 0, ())),
    # the safe default
    ("example.com/batch:1", None, None, "Never", False, {}, ("default", 1.0, 0, ())),
    ("example.com/batch:1", None, None, "OnFailure", False, {}, ("default", 1.0, 0, ())),
    ("example.com/app:1", None, None, None, False, {}, ("default", None, 0, ())),
    ("python:3.12", ["python", "app.py"], None, None, True, {}, ("default", 1.0, 0, ())),
    ("busybox:1.36", ["sh", "-c", "./run.sh"], None, None, False, {}, ("default", None, 0, ())),
    # a native sidecar is read like an app container
    ("example.com/proxy:1", None, None, None, "sidecar", {}, ("default", None, 0, ())),
]


@pytest.mark.parametrize("image,command,args,policy,init,ann,expected", CASES,
                         ids=[f"{i}-{case[-1][0]}" for i, case in enumerate(CASES)])
def test_model(image, command, args, policy, init, ann, expected):
    container = {"name": "c", "image": image}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    if init == "sidecar":
        container["restartPolicy"] = "Always"
    pod = {"metadata": {"annotations": ann}, "spec": {}}
    if policy:
        pod["spec"]["restartPolicy"] = policy
    b = behaviour(pod, container, init=bool(init))
    assert (b.rule, b.exit_after, b.exit_code, b.waits_for) == expected, b.why
    assert b.why  # a sentence for the student


def test_every_rule_has_a_case_and_is_documented():
    rules = [r for r, _, _ in RULES]
    assert {c[-1][0] for c in CASES} == set(rules)
    page = (Path(__file__).resolve().parents[2] / "docs" / "CONTAINERS.md").read_text()
    for rule in rules:
        assert f"| {rule} |" in page, rule


def test_retry_loop_details():
    b = behaviour({"spec": {}}, {"name": "c", "image": "busybox:1.36",
                                 "command": ["sh", "-c", RETRY_30]}, init=True)
    assert (b.wait_check, b.retry_seconds, b.give_up_after, b.give_up_code) == (
        "connect", 2.0, 60.0, 1)
    dns = behaviour({"spec": {}}, {"name": "c", "image": "busybox:1.28",
                                   "command": ["sh", "-c", DOCS_WAIT]}, init=True)
    assert (dns.wait_check, dns.retry_seconds, dns.give_up_after) == ("dns", 2.0, None)


@pytest.mark.parametrize("image,expected", [
    ("nginx", ("docker.io", "library/nginx", None, None)),
    ("nginx:1.27", ("docker.io", "library/nginx", "1.27", None)),
    ("docker.io/library/nginx:1.27", ("docker.io", "library/nginx", "1.27", None)),
    ("index.docker.io/nginx", ("docker.io", "library/nginx", None, None)),
    ("bitnami/redis:7.2", ("docker.io", "bitnami/redis", "7.2", None)),
    ("localhost/app", ("localhost", "app", None, None)),
    ("localhost:5000/team/app:v1", ("localhost:5000", "team/app", "v1", None)),
    ("registry.k8s.io/pause:3.10", ("registry.k8s.io", "pause", "3.10", None)),
    ("nginx@sha256:" + "ab" * 32, ("docker.io", "library/nginx", None, "sha256:" + "ab" * 32)),
])
def test_parse_reference(image, expected):
    ref = images.parse_reference(image)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize("image,problem", [
    ("Nginx", "must be lowercase"),
    ("nginx:", "invalid reference format"),
    ("nginx::1", "invalid reference format"),
    ("nginx:1.27 ", "invalid reference format"),
    ("-nginx", "invalid reference format"),
    ("nginx@sha256:abc", "invalid reference format"),
    ("nginx@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("", "at least one component"),
    ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
])
def test_invalid_reference(image, problem):
    with pytest.raises(images.InvalidReference) as err:
        images.parse_reference(image)
    assert problem in str(err.value) and isinstance(err.value, ValueError)


def test_catalogue():
    assert images.tag_exists("nginx:1.14.2") and images.tag_exists("busybox:1.28")
    assert images.tag_exists("perl:5.34.0") and images.tag_exists("postgres:16.2")
    assert images.tag_exists("nginx:1.99") is False
    assert images.tag_exists("example.com/app:1") is None
    assert images.lookup("k8s.gcr.io/pause:3.1").name == "registry.k8s.io/pause"
    assert images.lookup("labsupport/course:0.1.0").kind == "server"
    assert images.near_miss("ngnix:1.27") == "nginx"
    assert images.near_miss("busybx") == "busybox"
    assert images.near_miss("mono") is None and images.near_miss("nginx") is None


# --- end to end -----------------------------------------------------------------------


def _pod(name, containers, *, restart=None, init=None):
    spec = {"containers": containers}
    if restart:
        spec["restartPolicy"] = restart
    if init:
        spec["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _state(sim, name, init=False, index=0):
    st = sim.get(f"pod/{name}")["status"]
    return st["initContainerStatuses" if init else "containerStatuses"][index]


def test_pi_job_completes(sim):
    # The docs' Job example (concepts/workloads/controllers/job).
    sim.apply({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
               "spec": {"backoffLimit": 4, "template": {"spec": {
                   "restartPolicy": "Never",
                   "containers": [{"name": "pi", "image": "perl:5.34.0", "command":
                                   ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}]}}}})
    sim.advance(30)
    assert sim.get("job/pi")["status"].get("succeeded") == 1


def test_echo_never_succeeds_and_always_crash_loops(sim):
    echo = [{"name": "app", "image": "busybox:1.36", "command": ["echo", "hi"]}]
    sim.apply(_pod("once", echo, restart="Never"))
    sim.apply(_pod("loop", [dict(echo[0])], restart="Always"))
    sim.advance(40)
    assert sim.get("pod/once")["status"]["phase"] == "Succeeded"
    loop = _state(sim, "loop")
    assert loop["restartCount"] >= 2
    assert loop["lastState"]["terminated"]["exitCode"] == 0  # exit 0 is restarted too
    assert any(p.name == "loop" and p.status == "CrashLoopBackOff" for p in sim.pods()) or \
        "running" in loop["state"]


def test_init_retry_loop_waits_for_service(sim):
    waiter = {"name": "wait", "image": "busybox:1.28", "command": ["sh", "-c", DOCS_WAIT]}
    sim.apply(_pod("app", [{"name": "app", "image": "nginx:1.27"}], init=[waiter]))
    sim.advance(60)
    pod = [p for p in sim.pods() if p.name == "app"][0]
    assert pod.status == "Init:0/1"
    assert "running" in _state(sim, "app", init=True)["state"]
    sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "myservice"},
               "spec": {"selector": {"app": "db"}, "ports": [{"port": 80}]}})
    sim.advance(10)
    done = _state(sim, "app", init=True)["state"]
    assert done["terminated"]["exitCode"] == 0
    assert sim.get("pod/app")["status"]["phase"] == "Running"


def test_init_wget_loop_needs_ready_endpoints(sim):
    waiter = {"name": "wait", "image": "busybox:1.36", "command": ["sh", "-c", RETRY_30]}
    sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
               "spec": {"selector": {"app": "api"}, "ports": [{"port": 8080}]}})
    sim.apply(_pod("client", [{"name": "app", "image": "nginx:1.27"}], init=[waiter]))
    sim.advance(20)
    assert "running" in _state(sim, "client", init=True)["state"]  # no endpoints yet
    api = _pod("api", [{"name": "app", "image": "nginx:1.27"}])
    api["metadata"]["labels"] = {"app": "api"}
    sim.apply(api)
    sim.advance(20)
    assert _state(sim, "client", init=True)["state"]["terminated"]["exitCode"] == 0


def test_counted_retry_loop_gives_up(sim):
    script = RETRY_30.replace("seq 1 30", "seq 1 3")
    waiter = {"name": "wait", "image": "busybox:1.36", "command": ["sh", "-c", script]}
    sim.apply(_pod("client", [{"name": "app", "image": "nginx:1.27"}], init=[waiter],
                   restart="Never"))
    sim.advance(30)
    st = _state(sim, "client", init=True)["state"]["terminated"]
    assert st["exitCode"] == 1
    assert sim.get("pod/client")["status"]["phase"] == "Failed"


def test_native_sidecar_runs_with_the_app(sim):
    sidecar = {"name": "proxy", "image": "nginx:1.27", "restartPolicy": "Always"}
    sim.apply(_pod("web", [{"name": "app", "image": "nginx:1.27"}], init=[sidecar]))
    sim.advance(30)
    side = _state(sim, "web", init=True)
    assert "running" in side["state"] and side["started"] is True
    assert "running" in _state(sim, "web")["state"]
    pod = [p for p in sim.pods() if p.name == "web"][0]
    assert pod.status == "Running" and pod.ready


def test_native_sidecar_stops_after_job_container(sim):
    sidecar = {"name": "log", "image": "busybox:1.36", "restartPolicy": "Always",
               "command": ["tail", "-f", "/dev/null"]}
    sim.apply(_pod("batch", [{"name": "main", "image": "busybox:1.36",
                              "command": ["sh", "-c", "sleep 5"]}],
                   init=[sidecar], restart="Never"))
    sim.advance(30)
    st = sim.get("pod/batch")["status"]
    assert st["phase"] == "Succeeded"
    assert "terminated" in st["initContainerStatuses"][0]["state"]


def test_native_sidecar_restarted_when_it_exits(sim):
    sidecar = {"name": "flaky", "image": "busybox:1.36", "restartPolicy": "Always",
               "command": ["sh", "-c", "sleep 5; exit 1"]}
    sim.apply(_pod("web", [{"name": "app", "image": "nginx:1.27"}], init=[sidecar],
                   restart="Never"))
    sim.advance(60)
    side = _state(sim, "web", init=True)
    assert side["restartCount"] >= 2
    assert "running" in _state(sim, "web")["state"]


def test_every_tag_of_the_course_image_exists():
    # Students build and load their own versions of it (lessons 05 and 11).
    assert images.tag_exists("labsupport/course:0.2.0") is None
    assert images.lookup("labsupport/course:9.9.9").kind == "server"


def test_a_sidecars_readiness_counts_for_the_pod(sim):
    # Its readiness probe never passes: the app is ready, the pod is not.
    sidecar = {"name": "proxy", "image": "nginx:1.27", "restartPolicy": "Always",
               "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}}
    pod = _pod("web", [{"name": "app", "image": "nginx:1.27"}], init=[sidecar])
    pod["metadata"]["annotations"] = {"sim.labsupport.io/never-ready.proxy": "true"}
    sim.apply(pod)
    sim.advance(30)
    assert _state(sim, "web")["ready"] is True
    assert _state(sim, "web", init=True)["ready"] is False
    conds = {c["type"]: c["status"] for c in sim.get("pod/web")["status"]["conditions"]}
    assert conds["Ready"] == conds["ContainersReady"] == "False"


def test_a_jobs_pod_succeeds_only_once_its_sidecar_has_stopped(sim):
    sidecar = {"name": "log", "image": "busybox:1.36", "restartPolicy": "Always",
               "command": ["tail", "-f", "/dev/null"]}
    sim.apply(_pod("batch", [{"name": "main", "image": "busybox:1.36",
                              "command": ["sh", "-c", "sleep 5"]}],
                   init=[sidecar], restart="Never"))
    phases = []
    for _ in range(40):
        sim.advance(0.5)
        st = sim.get("pod/batch")["status"]
        side = st["initContainerStatuses"][0]["state"]
        phases.append((st["phase"], "running" in side))
    assert ("Succeeded", True) not in phases           # never Succeeded with the sidecar up
    assert phases[-1] == ("Succeeded", False)


def test_an_init_container_waits_for_its_configmap(sim):
    init = {"name": "setup", "image": "busybox:1.36", "command": ["sh", "-c", "exit 0"],
            "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings",
                                                                        "key": "mode"}}}]}
    sim.apply(_pod("web", [{"name": "app", "image": "nginx:1.27"}], init=[init]))
    sim.advance(30)
    waiting = _state(sim, "web", init=True)["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError",
                       "message": 'configmap "settings" not found'}
    sim.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
               "data": {"mode": "fast"}})
    sim.advance(30)
    assert "terminated" in _state(sim, "web", init=True)["state"]
    assert sim.get("pod/web")["status"]["phase"] == "Running"


def test_a_failing_init_container_restarts_at_once_then_backs_off(sim):
    init = {"name": "setup", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}
    sim.apply(_pod("web", [{"name": "app", "image": "nginx:1.27"}], init=[init]))
    starts = []
    for _ in range(80):
        sim.advance(0.5)
        st = _state(sim, "web", init=True)
        starts.append(st["restartCount"])
    counts = sorted(set(starts))
    first_restart = starts.index(1) * 0.5
    second_restart = starts.index(2) * 0.5
    assert counts[:3] == [0, 1, 2]
    assert second_restart - first_restart >= 10          # then the 10 s back-off
    assert first_restart <= 3                            # the first restart at once
