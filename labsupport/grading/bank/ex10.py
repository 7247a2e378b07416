"""Checks of exercise 10: broken manifests fixed so every pod runs within its quota.

The notebook is ``solutions/ex10_resources.md``. The platform team owns two
namespaces, each with its guard rails (:data:`PLATFORM`): ``team-a`` has a
LimitRange (defaults, and at most 1 cpu per container) and a ResourceQuota;
``team-b`` has a ResourceQuota on requests *and* limits (so every container
there must say both) and at most 4 pods. The learner gets :data:`BROKEN`, the
teams' manifests with four problems, and writes ``manifests`` (YAML text, or
a list of dicts): the same objects, fixed.

The grader applies :data:`PLATFORM` to a fresh seeded simulated cluster, then
each object of the answer on its own, in order (as ``kubectl apply -f`` does),
lets 60 s pass, and looks at what the API server refused, the events of the
controllers and the scheduler, and the pods. Four checks, 2 points each, one
per object that was broken:

- ``ex10.q1`` the Pod ``team-b/worker`` is running (it needs requests and
  limits for cpu and memory, because team-b's quota limits both);
- ``ex10.q2`` the Deployment ``team-a/report`` has all its replicas running
  (its container asked for more cpu than team-a's LimitRange allows);
- ``ex10.q3`` the Deployment ``team-b/api`` keeps at least :data:`API_MIN`
  replicas and all of them run (it asked for more pods than team-b's quota
  leaves);
- ``ex10.q4`` the Deployment ``team-a/uploader`` runs with its claim
  ``team-a/uploads`` bound (the claim named a StorageClass that does not exist).

Every message names the object and the field that is still wrong, with the
API server's or the controller's own words. Objects must stay in their
namespaces, and the answer may not bring its own ResourceQuota or LimitRange.

Example:
    >>> EXERCISE
    <Exercise ex10 'Resources within quota': 4 checks, 8 points>
    >>> [key for key in sorted(expected_objects())][:2]
    [('Deployment', 'team-a', 'report'), ('Deployment', 'team-a', 'uploader')]
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from labsupport.grading.checks import Case, Check, Exercise

__all__ = ["EXERCISE", "PLATFORM", "BROKEN", "REFERENCE", "API_MIN", "parse", "run",
           "expected_objects"]

#: The platform team's objects: namespaces, a LimitRange and two ResourceQuotas.
PLATFORM = """\
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: team-a}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 250m, memory: 128Mi}
    max: {cpu: "1", memory: 1Gi}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: team-a, namespace: team-a}
spec:
  hard: {requests.cpu: "2", requests.memory: 2Gi, pods: "5", persistentvolumeclaims: "2"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: team-b, namespace: team-b}
spec:
  hard: {requests.cpu: "2", requests.memory: 2Gi, limits.cpu: "4", limits.memory: 4Gi,
         pods: "4"}
"""

#: The teams' manifests, with four problems.
BROKEN = """\
apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: team-b}
spec:
  containers:
  - name: worker
    image: busybox:1.36
    command: [sh, -c, "while true; do sleep 5; done"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: team-b}
spec:
  replicas: 6
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: nginx:1.27
        resources:
          requests: {cpu: 250m, memory: 256Mi}
          limits: {cpu: 500m, memory: 512Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: report, namespace: team-a}
spec:
  replicas: 1
  selector: {matchLabels: {app: report}}
  template:
    metadata: {labels: {app: report}}
    spec:
      containers:
      - name: report
        image: python:3.12
        command: [python, -m, http.server]
        resources:
          requests: {cpu: 1500m, memory: 512Mi}
          limits: {cpu: "2", memory: 512Mi}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: uploads, namespace: team-a}
spec:
  storageClassName: fast
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 1Gi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: uploader, namespace: team-a}
spec:
  replicas: 1
  selector: {matchLabels: {app: uploader}}
  template:
    metadata: {labels: {app: uploader}}
    spec:
      volumes:
      - name: uploads
        persistentVolumeClaim: {claimName: uploads}
      containers:
      - name: uploader
        image: nginx:1.27
        volumeMounts:
        - {name: uploads, mountPath: /srv/uploads}
"""

#: A fixed version: each of the four problems mended, nothing else changed.
REFERENCE = (BROKEN
             .replace("""    command: [sh, -c, "while true; do sleep 5; done"]
""", """    command: [sh, -c, "while true; do sleep 5; done"]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 200m, memory: 128Mi}
""")
             .replace("replicas: 6", "replicas: 3")
             .replace("""          requests: {cpu: 1500m, memory: 512Mi}
          limits: {cpu: "2", memory: 512Mi}""", """          requests: {cpu: "1", memory: 512Mi}
          limits: {cpu: "1", memory: 512Mi}""")
             .replace("storageClassName: fast", "storageClassName: standard"))

#: The api Deployment must keep at least this many replicas.
API_MIN = 3
#: Virtual seconds the grader waits after applying.
SETTLE = 60.0
#: team-a's LimitRange: the most one container may ask for.
_MAX = {"cpu": "1", "memory": "1Gi"}


def expected_objects() -> dict[tuple[str, str, str], dict]:
    """The objects of :data:`BROKEN`, by ``(kind, namespace, name)``."""
    objs, _ = parse(BROKEN)
    return {_key(o): o for o in objs}


def _key(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or "default"), str(meta.get("name")))


def parse(answer: Any) -> tuple[list[dict], str]:
    r"""The objects of an answer (YAML text, a dict or a list of dicts), or ``([], why not)``.

    Example:
        >>> parse("kind: Pod\nmetadata: {name: a}")[0][0]["kind"]
        'Pod'
        >>> parse(3)[1]
        'manifests should be YAML text (like BROKEN) or a list of manifests (dicts), got int'
    """
    import yaml

    if isinstance(answer, str):
        try:
            docs = [d for d in yaml.safe_load_all(answer) if d is not None]
        except yaml.YAMLError as e:
            return [], f"manifests is not valid YAML: {str(e).splitlines()[0]}"
    elif isinstance(answer, dict):
        docs = [answer]
    elif isinstance(answer, list):
        docs = answer
    else:
        return [], ("manifests should be YAML text (like BROKEN) or a list of manifests "
                    f"(dicts), got {type(answer).__name__}")
    if not all(isinstance(d, dict) for d in docs):
        return [], "every document of manifests should be one Kubernetes object (a mapping)"
    return docs, ""


@cache
def _run(answer_json: str, seed: int, nodes: int) -> dict[str, Any]:
    import labsupport as ls
    from labsupport.errors import LabSupportError

    objs, problem = parse(json.loads(answer_json))
    out: dict[str, Any] = {"problem": problem, "refused": {}, "objects": {}, "events": [],
                           "deployments": {}, "pods": {}, "claims": {}}
    if problem:
        return out
    own = sorted({f"{o.get('kind')} {_key(o)[1]}/{_key(o)[2]}" for o in objs
                  if o.get("kind") in ("ResourceQuota", "LimitRange")})
    if own:
        out["problem"] = (f"the answer brings its own {', '.join(own)}: the quotas and limit "
                          "ranges are the platform team's; leave them out and fix the workloads")
        return out
    c = ls.connect(seed=seed, nodes=nodes)
    c.apply(PLATFORM)
    c.advance(1.0)
    for obj in objs:
        key = _key(obj)
        out["objects"]["/".join(key)] = obj
        try:
            c.apply(obj)
        except LabSupportError as e:
            out["refused"]["/".join(key)] = str(e).splitlines()[0]
    c.advance(SETTLE)
    for ns in ("team-a", "team-b"):
        out["events"] += [[ns, ev.reason, ev.object, ev.message] for ev in c.events(ns)]
        for d in c.list("deployments", namespace=ns):
            out["deployments"][f"{ns}/{d['metadata']['name']}"] = {
                "replicas": d["spec"].get("replicas", 1),
                "ready": d["status"].get("readyReplicas", 0)}
        for p in c.list("pods", namespace=ns):
            out["pods"][f"{ns}/{p['metadata']['name']}"] = {
                "phase": p["status"].get("phase"), "node": p["spec"].get("nodeName"),
                "claims": sorted((v.get("persistentVolumeClaim") or {}).get("claimName", "")
                                 for v in p["spec"].get("volumes") or ()
                                 if v.get("persistentVolumeClaim"))}
        for pvc in c.list("persistentvolumeclaims", namespace=ns):
            out["claims"][f"{ns}/{pvc['metadata']['name']}"] = {
                "phase": pvc["status"].get("phase"),
                "class": pvc["spec"].get("storageClassName")}
    return out


def run(answer: Any, *, seed: int = 0, nodes: int = 3) -> dict[str, Any]:
    """Apply the platform and then ``answer`` on a fresh cluster; what happened after 60 s.

    Returns:
        ``problem`` (why the answer could not be applied at all, or ``""``),
        ``refused`` (``"Kind/ns/name"``: the API server's refusal),
        ``objects`` (the answer's objects by the same key), ``events``
        (``[namespace, reason, object, message]``), ``deployments``
        (``"ns/name"``: replicas and ready), ``pods`` (``"ns/name"``: phase,
        node, claims) and ``claims`` (``"ns/name"``: phase, class).
    """
    return _run(json.dumps(answer, sort_keys=True), seed, nodes)


# --- the judges ---------------------------------------------------------------------------

def _last_event(row: dict, ns: str, prefix: str, reasons: tuple[str, ...]) -> str:
    found = [msg for n, reason, obj, msg in row["events"]
             if n == ns and reason in reasons and obj.startswith(prefix)]
    return found[-1] if found else ""


def _missing(row: dict, kind: str, ns: str, name: str) -> str | None:
    if row["problem"]:
        return row["problem"]
    if f"{kind}/{ns}/{name}" in row["objects"]:
        return None
    moved = [k for k in row["objects"] if k.startswith(f"{kind}/") and k.endswith(f"/{name}")]
    if moved:
        return (f"the {kind} {name} must stay in namespace {ns} (it is in "
                f"{moved[0].split('/')[1]}): a quota holds only in its own namespace, moving "
                "away from it is not a fix")
    return f"the {kind} {ns}/{name} is missing from manifests: keep every object and fix it"


def _resources(obj: dict, pod_template: bool) -> list[dict]:
    spec = obj.get("spec") or {}
    if pod_template:
        spec = ((spec.get("template") or {}).get("spec")) or {}
    return [c.get("resources") or {} for c in spec.get("containers") or ()]


def _judge_worker(case: Case, seen: Any) -> tuple[bool, str]:
    row = run(seen, **case.expect)
    missing = _missing(row, "Pod", "team-b", "worker")
    if missing:
        return False, missing
    refused = row["refused"].get("Pod/team-b/worker")
    if refused:
        field = "spec.containers[0].resources"
        if "must specify" in refused:
            return False, (f"Pod team-b/worker: {field}: the API server refused it: {refused}. "
                           "team-b's quota limits requests and limits of cpu and memory, so "
                           "every container there must state all four")
        return False, f"Pod team-b/worker: {field}: the API server refused it: {refused}"
    pod = row["pods"].get("team-b/worker") or {}
    if pod.get("phase") != "Running":
        why = _last_event(row, "team-b", "pod/worker", ("FailedScheduling",))
        return False, (f"Pod team-b/worker is {pod.get('phase')} after {SETTLE:g} s"
                       + (f": {why}" if why else ""))
    return True, ""


def _deployment_problem(row: dict, ns: str, name: str, minimum: int = 1) -> str | None:
    obj = row["objects"][f"Deployment/{ns}/{name}"]
    refused = row["refused"].get(f"Deployment/{ns}/{name}")
    if refused:
        return f"Deployment {ns}/{name}: the API server refused it: {refused}"
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    if not isinstance(replicas, int) or replicas < minimum:
        return (f"Deployment {ns}/{name}: spec.replicas: {replicas!r} — the team needs at "
                f"least {minimum}")
    status = row["deployments"].get(f"{ns}/{name}") or {"ready": 0}
    if status["ready"] >= replicas:
        return None
    head = f"Deployment {ns}/{name}: {status['ready']} of {replicas} replicas running"
    failed = _last_event(row, ns, f"replicaset/{name}-", ("FailedCreate",))
    if failed:
        refusal = failed.split(" is forbidden: ", 1)[-1]
        return f"{head}; the ReplicaSet could not create the others: {refusal}"
    pending = [p for p, v in sorted(row["pods"].items())
               if p.startswith(f"{ns}/{name}-") and v["phase"] != "Running"]
    if pending:
        why = _last_event(row, ns, "pod/" + pending[0].split("/", 1)[1], ("FailedScheduling",))
        return f"{head}; pod {pending[0]} is Pending" + (f": {why}" if why else "")
    return head


def _judge_report(case: Case, seen: Any) -> tuple[bool, str]:
    row = run(seen, **case.expect)
    missing = _missing(row, "Deployment", "team-a", "report")
    if missing:
        return False, missing
    problem = _deployment_problem(row, "team-a", "report")
    if not problem:
        return True, ""
    if "maximum cpu usage per Container" in problem or "maximum memory usage" in problem:
        obj = row["objects"]["Deployment/team-a/report"]
        over = _over_max(_resources(obj, True))
        if over:
            problem += f" — {over}"
    return False, problem


def _over_max(resources: list[dict]) -> str:
    """The first request or limit above team-a's LimitRange max, named by its field.

    Example:
        >>> _over_max([{"requests": {"cpu": "1500m"}, "limits": {"cpu": "2"}}]).split(" is ")[0]
        'spec.template.spec.containers[0].resources.limits.cpu: 2'
    """
    from labsupport.quantity import parse_quantity

    for i, res in enumerate(resources):
        for part in ("limits", "requests"):
            for name, top in _MAX.items():
                value = (res.get(part) or {}).get(name)
                if value is not None and parse_quantity(value) > parse_quantity(top):
                    return (f"spec.template.spec.containers[{i}].resources.{part}.{name}: "
                            f"{value} is above the LimitRange team-a/limits max of {top} per "
                            "container")
    return ""


def _judge_api(case: Case, seen: Any) -> tuple[bool, str]:
    row = run(seen, **case.expect)
    missing = _missing(row, "Deployment", "team-b", "api")
    if missing:
        return False, missing
    problem = _deployment_problem(row, "team-b", "api", API_MIN)
    if not problem:
        return True, ""
    if "exceeded quota: team-b" in problem and "pods=" in problem:
        replicas = row["objects"]["Deployment/team-b/api"]["spec"].get("replicas")
        problem += (f" — spec.replicas: {replicas} does not fit team-b's quota of 4 pods "
                    "next to the other pods of the namespace")
    return False, problem


def _judge_uploads(case: Case, seen: Any) -> tuple[bool, str]:
    row = run(seen, **case.expect)
    for kind, name in (("PersistentVolumeClaim", "uploads"), ("Deployment", "uploader")):
        missing = _missing(row, kind, "team-a", name)
        if missing:
            return False, missing
    refused = row["refused"].get("PersistentVolumeClaim/team-a/uploads")
    if refused:
        return False, f"PersistentVolumeClaim team-a/uploads: the API server refused it: {refused}"
    pods = [v for p, v in row["pods"].items() if p.startswith("team-a/uploader-")]
    if pods and not any("uploads" in v["claims"] for v in pods):
        return False, ("Deployment team-a/uploader: spec.template.spec.volumes no longer mounts "
                       "the claim uploads; the uploader needs its storage, fix the claim instead")
    claim = row["claims"].get("team-a/uploads") or {}
    if claim.get("phase") != "Bound":
        why = _last_event(row, "team-a", "persistentvolumeclaim/uploads",
                          ("ProvisioningFailed",))
        return False, (f"PersistentVolumeClaim team-a/uploads is {claim.get('phase')}: "
                       f"spec.storageClassName: {claim.get('class')!r}"
                       + (f" — {why}" if why else "")
                       + "; the cluster's StorageClass is 'standard' (the default)")
    problem = _deployment_problem(row, "team-a", "uploader")
    return (False, problem) if problem else (True, "")


_CASES = [Case("the notebook's cluster: 3 nodes", expect={"seed": 0, "nodes": 3}),
          Case("another day, 2 nodes", expect={"seed": 5, "nodes": 2}, hidden=True)]

Q1 = Check("ex10.q1", title="team-b/worker runs within team-b's quota", points=2,
           answer="manifests", probe="value", cases=_CASES, judge=_judge_worker,
           many_answers=True,
           hint="read team-b's ResourceQuota: which resources does it limit, and what must "
                "every container in the namespace state because of that?")
Q2 = Check("ex10.q2", title="team-a/report fits team-a's LimitRange", points=2,
           answer="manifests", probe="value", cases=_CASES, judge=_judge_report,
           many_answers=True,
           hint="compare the report container's resources with the LimitRange's max.")
Q3 = Check("ex10.q3", title="team-b/api: every replica within the pod quota", points=2,
           answer="manifests", probe="value", cases=_CASES, judge=_judge_api,
           many_answers=True,
           hint="count the pods team-b's quota allows and the pods already in the namespace.")
Q4 = Check("ex10.q4", title="team-a/uploader gets its volume", points=2,
           answer="manifests", probe="value", cases=_CASES, judge=_judge_uploads,
           many_answers=True,
           hint="list the cluster's StorageClasses (kubectl get storageclass).")

EXERCISE = Exercise("ex10", "Resources within quota", (Q1, Q2, Q3, Q4))
