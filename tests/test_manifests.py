"""labsupport.manifests and labsupport.schema: reading and checking manifests."""

from __future__ import annotations

import copy
import datetime
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport import manifests
from labsupport.errors import Invalid, InvalidManifest
from labsupport.manifests import KUBERNETES_VERSION, dump, load, validate
from labsupport.schema import available_versions, schema_for
from labsupport.yamlread import read_yaml

DATA = Path(__file__).parent / "data"
DEMO = DATA / "microservices-demo.yaml"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  strategy:
    rollingUpdate:
      maxSurge: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
"""


def deployment(**changes: str) -> str:
    """DEPLOYMENT with text replacements, e.g. deployment(**{"replicas: 2": "replicas: x"})."""
    text = DEPLOYMENT
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def error_of(source, **kwargs) -> InvalidManifest:
    with pytest.raises(InvalidManifest) as info:
        load(source, **kwargs)
    return info.value


def deployment_dict() -> dict:
    return yaml.safe_load(DEPLOYMENT)


# ---- good inputs ---------------------------------------------------------------------

def test_manifests_are_checked_against_the_course_version():
    assert schema_for(KUBERNETES_VERSION).version == KUBERNETES_VERSION == "1.37"
    assert schema_for().version == KUBERNETES_VERSION


def test_microservices_demo_loads_every_object():
    objs = load(DEMO)
    kinds = [o["kind"] for o in objs]
    for kind in ("Namespace", "ServiceAccount", "ConfigMap", "Secret", "Deployment", "Service",
                 "PersistentVolumeClaim", "HorizontalPodAutoscaler", "Ingress"):
        assert kind in kinds
    assert kinds.count("Deployment") >= 10
    assert objs[0] == {"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": "boutique",
                                    "labels": {"app.kubernetes.io/part-of": "boutique"}}}


def test_namespace_is_set_on_namespaced_objects_only():
    objs = load(DEMO, namespace="boutique")
    for obj in objs:
        if obj["kind"] == "Namespace":
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == "boutique", obj["kind"]


def test_cluster_scoped_kinds_never_get_a_namespace():
    text = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:reader"}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: rancher.io/local-path
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
"""
    objs = load(text, namespace="shop")
    assert all("namespace" not in o["metadata"] for o in objs)


def test_scope_comes_from_the_kinds_table():
    text = """\
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: alice}
spec: {request: LS0t, signerName: kubernetes.io/kube-apiserver-client, usages: [client auth]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: labs}
spec: {priorityLevelConfiguration: {name: workload-low}}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl}
template:
  spec:
    containers: [{name: app, image: "nginx:1.27"}]
"""
    scope = {o["kind"]: o["metadata"].get("namespace") for o in load(text, namespace="shop")}
    assert scope == {"CertificateSigningRequest": None, "ValidatingWebhookConfiguration": None,
                     "FlowSchema": None, "PodTemplate": "shop"}


def test_explicit_namespace_is_kept():
    text = deployment(**{"  name: web\n": "  name: web\n  namespace: prod\n"})
    assert load(text, namespace="dev")[0]["metadata"]["namespace"] == "prod"


def test_path_as_str_and_pathlib(monkeypatch):
    monkeypatch.chdir(DATA)
    assert load("microservices-demo.yaml") == load(DEMO)


def test_folder_loads_yaml_yml_json_sorted(tmp_path):
    (tmp_path / "b.yml").write_text(SERVICE)
    (tmp_path / "a.yaml").write_text(DEPLOYMENT)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    (tmp_path / "c.json").write_text(json.dumps(cm))
    (tmp_path / "notes.txt").write_text("not a manifest")
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    objs = load(tmp_path)
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("Deployment", "web"), ("Service", "web"), ("ConfigMap", "c")]


def test_json_file_with_a_list(tmp_path):
    path = tmp_path / "objs.json"
    objs = [yaml.safe_load(DEPLOYMENT), yaml.safe_load(SERVICE)]
    path.write_text(json.dumps(objs))
    assert load(path) == objs


def test_dict_and_list_are_deep_copied():
    original = deployment_dict()
    before = copy.deepcopy(original)
    [obj] = load(original, namespace="x")
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    assert original == before
    [again] = load([original])
    assert again == before and again is not original


def test_aliases_give_independent_copies():
    text = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  labels: &labels {app: web}
---
apiVersion: v1
kind: Secret
metadata:
  name: b
  labels: {app: web}
stringData: &data {k: v}
"""
    a, b = load(text)
    assert a["metadata"]["labels"] == {"app": "web"}
    shared = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: one, labels: &l {app: web}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: two, labels: *l}
"""
    one, two = load(shared)
    one["metadata"]["labels"]["app"] = "changed"
    assert two["metadata"]["labels"] == {"app": "web"}


def test_merge_keys_in_a_valid_object():
    text = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: merged
  labels:
    <<: {app: web, tier: front}
    tier: back
"""
    [obj] = load(text)
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "back"}


def test_list_kind_is_flattened_and_empty_documents_skipped():
    text = "---\n---\n" + json.dumps({
        "apiVersion": "v1", "kind": "List",
        "items": [yaml.safe_load(DEPLOYMENT), yaml.safe_load(SERVICE)]}) + "\n---\n\n---\n"
    objs = load(text)
    assert [o["kind"] for o in objs] == ["Deployment", "Service"]


def test_generate_name_replaces_name():
    text = """\
apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "busybox:1.36", command: [sh, -c, "true"]}]
"""
    assert load(text)[0]["metadata"] == {"generateName": "migrate-"}
    assert len(load(text + "---\n" + text)) == 2  # generated names never clash


@pytest.mark.parametrize("surge", ['"25%"', "1", "0"])
def test_int_or_string_fields_take_both(surge):
    text = deployment(**{"maxSurge: 1": f"maxSurge: {surge}"})
    assert load(text)[0]["spec"]["strategy"]["rollingUpdate"]["maxSurge"] in ("25%", 1, 0)


def test_dates_stay_strings():
    text = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: c, annotations: {released: 2024-05-01}}
data: {when: 2024-05-01T10:00:00Z}
"""
    [obj] = load(text)
    assert obj["metadata"]["annotations"]["released"] == "2024-05-01"
    assert obj["data"]["when"] == "2024-05-01T10:00:00Z"


def test_validate_accepts_a_good_object_and_returns_none():
    assert validate(deployment_dict()) is None
    for obj in load(DEMO):
        assert validate(obj) is None


def test_custom_kinds_by_name_or_group():
    text = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: c}\nspec: {x: 1}\n"
    assert load(text, custom_kinds={"CronTab"})[0]["spec"] == {"x": 1}
    assert load(text, custom_kinds={("stable.example.com", "CronTab")})
    assert load(text, custom_kinds=[("stable.example.com/v1", "CronTab")])
    validate(yaml.safe_load(text), custom_kinds={"CronTab"})


def test_a_release_gets_its_own_schema_and_never_another():
    oldest = available_versions()[0]
    assert schema_for(f"v{oldest[0]}.{oldest[1]}.3").version == f"{oldest[0]}.{oldest[1]}"
    assert schema_for("v1.36.4").version == "1.36"
    assert load(DEPLOYMENT, version="1.30")
    # A newer release than any installed is refused, not checked with the newest
    # schema (which lacks its fields), and so is one older than every schema.
    newest = available_versions()[-1]
    with pytest.raises(Invalid, match=r"no Kubernetes schema for 1\.999 is installed.*"
                                      r"pip install --upgrade kubernetes-validate"):
        schema_for("1.999")
    with pytest.raises(Invalid, match=f"installed: .*{newest[0]}.{newest[1]}"):
        schema_for("1.2")
    with pytest.raises(Invalid, match="must look like"):
        schema_for("latest")


def test_import_labsupport_stays_light():
    code = ("import sys, labsupport; "
            "print(sorted(m for m in ('yaml', 'labsupport.manifests', 'labsupport.schema', "
            "'kubernetes_validate', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_public_names():
    import labsupport as ls

    assert ls.load is load and ls.validate is validate


# ---- all or nothing ------------------------------------------------------------------

def test_one_bad_document_returns_nothing(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(DEPLOYMENT + "---\n" + SERVICE.replace("port: 80\n", 'port: "eighty"\n'))
    result = None
    with pytest.raises(InvalidManifest) as info:
        result = load(path)
    assert result is None  # the caller got no objects, so it applies none
    e = info.value
    assert e.source == str(path) and e.document == 2 and e.obj == "Service/web"
    assert e.field == "spec.ports[0].port"
    assert str(e).startswith(f"{path}, document 2 (Service/web): spec.ports[0].port: ")


def test_first_bad_document_wins_even_before_a_later_syntax_error():
    text = (DEPLOYMENT + "---\n" + deployment(**{"replicas: 2": "replicas: many"})
            + "---\nkind: [\n")
    e = error_of(text)
    assert e.document == 2 and e.field == "spec.replicas"
    e = error_of(DEPLOYMENT + "---\nkind: [\n")
    assert e.document == 2 and "YAML syntax error" in str(e)


def test_errors_in_folders_name_the_file(tmp_path):
    (tmp_path / "a.yaml").write_text(DEPLOYMENT)
    (tmp_path / "b.yaml").write_text(SERVICE + "---\n" + SERVICE.replace("web", "api", 1)
                                     .replace("port: 80", "port: 0", 1))
    e = error_of(tmp_path)
    assert e.source == str(tmp_path / "b.yaml") and e.document == 2
    assert "b.yaml, document 2 (Service/api): spec.ports[0].port: Invalid value: 0" in str(e)


# ---- bad YAML and bad documents ------------------------------------------------------

def test_broken_yaml_names_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(SERVICE + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
                    "  labels: {app: web\n")
    e = error_of(path)
    assert e.source == str(path) and e.document == 2
    assert "YAML syntax error at line 17, column 1" in str(e)
    assert str(e).startswith(f"{path}, document 2: ")


def test_tabs_get_a_hint():
    e = error_of("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n")
    assert "line 4, column 1" in str(e) and "tab" in str(e)


def test_bad_indentation_gets_a_hint():
    e = error_of("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n")
    assert "line 5" in str(e)
    e = error_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  url: a: b\n")
    assert "line 5, column 9" in str(e) and "quotes" in str(e)


def test_duplicate_keys_are_refused():
    e = error_of(deployment(**{"image: nginx:1.27": "image: nginx:1.27\n        image: x"}))
    assert 'the key "image" appears twice' in str(e) and "line 23" in str(e)


def test_document_that_is_not_a_mapping():
    e = error_of(SERVICE + "---\n- apiVersion: v1\n  kind: Pod\n")
    assert e.document == 2 and "is a list, not a Kubernetes object" in str(e)
    assert 'Remove the "- "' in str(e)
    e = error_of([yaml.safe_load(SERVICE), "web.yaml"])
    assert e.source == "<dict>" and e.document == 2 and "is a string" in str(e)


@pytest.mark.parametrize("field, text", [
    ("apiVersion", "kind: Pod\nmetadata: {name: p}\n"),
    ("kind", "apiVersion: v1\nmetadata: {name: p}\n"),
    ("metadata", "apiVersion: v1\nkind: ConfigMap\ndata: {}\n"),
    ("metadata.name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n"),
])
def test_missing_required_top_level_fields(field, text):
    e = error_of("# first\n---\n" + text)
    assert e.field == field and e.document == 1
    assert f"{field}: Required value" in str(e)


def test_unknown_kind_suggests_the_closest():
    e = error_of(deployment(**{"kind: Deployment": "kind: Deploymnet"}))
    assert e.field == "kind"
    assert 'Did you mean "Deployment" (apiVersion: apps/v1)?' in str(e)
    e = error_of("apiVersion: v1\nkind: service\nmetadata: {name: s}\n")
    assert 'Did you mean "Service" (apiVersion: v1)?' in str(e)


@pytest.mark.parametrize("api", ["v1", "extensions/v1beta1", "apps/v1beta2"])
def test_wrong_api_version_names_the_right_one(api):
    e = error_of(deployment(**{"apiVersion: apps/v1": f"apiVersion: {api}"}))
    assert e.field == "apiVersion" and e.value == api
    assert "Set apiVersion: apps/v1" in str(e)


def test_wrong_type_reads_like_kubernetes():
    e = error_of(deployment(**{"replicas: 2": 'replicas: "three"'}))
    assert str(e) == ('<text>, document 1 (Deployment/web): spec.replicas: Invalid value: '
                      '"three": must be an integer')
    e = error_of(deployment(**{"replicas: 2": 'replicas: "3"'}))
    assert "without quotes" in str(e)


def test_booleans_are_not_integers():
    e = error_of(deployment(**{"replicas: 2": "replicas: true"}))
    assert e.field == "spec.replicas" and e.value is True


def test_integers_keep_to_their_format():
    e = error_of(deployment(**{"replicas: 2": f"replicas: {2**31}"}))
    assert e.field == "spec.replicas" and "2147483647" in str(e)
    e = error_of(deployment(**{"replicas: 2": "replicas: -1"}))
    assert "greater than or equal to 0" in str(e)


def test_numbers_where_strings_belong_get_a_quoting_hint():
    text = deployment(**{"        ports:": '        env: [{name: PORT, value: 8080}]\n'
                                         '        ports:'})
    e = error_of(text)
    assert e.field == "spec.template.spec.containers[0].env[0].value"
    assert 'put it in quotes: "8080"' in str(e)


def test_unknown_field_suggests_a_close_name():
    e = error_of(deployment(**{"image: nginx": "imagee: nginx"}))
    assert e.field == "spec.template.spec.containers[0].imagee"
    assert 'unknown field "imagee", did you mean "image"?' in str(e)


def test_unknown_field_without_a_close_name_lists_the_fields():
    e = error_of(deployment(**{"image: nginx": "picture: nginx"}))
    assert "A Container has these fields:" in str(e) and "image" in str(e)


@pytest.mark.parametrize("text, hint", [
    (deployment(**{"      containers:": "      replicas: 3\n      containers:"}),
     "replicas belongs in the Deployment's spec"),
    (deployment(**{"  name: web\n": "  name: web\n  app: web\n"}), "metadata.labels"),
])
def test_misplaced_fields_get_a_hint(text, hint):
    assert hint in str(error_of(text))


def test_a_mapping_where_a_list_belongs():
    text = deployment(**{"      - name: web\n        image": "        name: web\n        image"})
    text = text.replace("        ports:\n        - containerPort", "        ports:\n        "
                        "- containerPort")
    e = error_of(text)
    assert e.field == "spec.template.spec.containers" and "must be a list" in str(e)


@pytest.mark.parametrize("kind, api, extra", [
    ("Deployment", "apps/v1", ""),
    ("ReplicaSet", "apps/v1", ""),
    ("StatefulSet", "apps/v1", "  serviceName: web\n"),
    ("DaemonSet", "apps/v1", ""),
    ("Job", "batch/v1", "  manualSelector: true\n"),
])
def test_selector_must_match_template_labels(kind, api, extra):
    policy = "      restartPolicy: Never\n" if kind == "Job" else ""
    text = f"""\
apiVersion: {api}
kind: {kind}
metadata: {{name: web}}
spec:
{extra}  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: webb}}
    spec:
{policy}      containers: [{{name: web, image: "nginx:1.27"}}]
"""
    e = error_of(text)
    assert e.field == "spec.template.metadata.labels" and e.value == {"app": "webb"}
    assert ("spec.template.metadata.labels: Invalid value: {'app': 'webb'}: selector does "
            "not match template labels") in str(e)
    assert load(text.replace("app: webb", "app: web"))


def test_selector_match_expressions():
    text = deployment(**{"    matchLabels:\n      app: web\n":
                         "    matchExpressions:\n    - {key: app, operator: In, values: [web]}\n"
                         "    - {key: canary, operator: DoesNotExist}\n"})
    assert load(text)
    bad = text.replace("operator: DoesNotExist", "operator: Exists")
    assert error_of(bad).field == "spec.template.metadata.labels"


def test_empty_selector_is_refused():
    text = deployment(**{"    matchLabels:\n      app: web\n": "    matchLabels: {}\n"})
    e = error_of(text)
    assert e.field == "spec.selector" and "empty selector" in str(e)


def test_duplicate_objects_in_one_load():
    e = error_of(DEPLOYMENT + "---\n" + SERVICE + "---\n" + DEPLOYMENT)
    assert e.document == 3 and e.field == "metadata.name"
    assert "Duplicate value" in str(e) and "document 1" in str(e)
    # Same name, different kinds or namespaces: fine.
    other_ns = deployment(**{"  name: web\n": "  name: web\n  namespace: other\n"})
    assert len(load(DEPLOYMENT + "---\n" + SERVICE + "---\n" + other_ns)) == 3
    with pytest.raises(InvalidManifest, match="Duplicate value"):
        load([deployment_dict(), deployment_dict()])


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n---\n"])
def test_empty_text(text):
    assert "contains no Kubernetes objects" in str(error_of(text))


def test_empty_file_and_empty_folder(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    e = error_of(path)
    assert e.source == str(path) and "contains no Kubernetes objects" in str(e)
    assert "contains no Kubernetes objects" in str(error_of(tmp_path))
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    assert "no .yaml, .yml or .json files" in str(error_of(nothing))
    assert load([]) == []


def test_missing_path_is_named(tmp_path):
    e = error_of("no-such-file.yaml")
    assert 'no such file or folder: "no-such-file.yaml"' in str(e)
    e = error_of(tmp_path / "missing.yml")
    assert "missing.yml" in str(e)


def test_not_utf8_and_bad_json(tmp_path):
    binary = tmp_path / "image.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "is not UTF-8 text" in str(error_of(binary))
    bad = tmp_path / "bad.json"
    bad.write_text('{"apiVersion": "v1",\n "kind": }')
    e = error_of(bad)
    assert "JSON syntax error at line 2, column 10" in str(e) and e.source == str(bad)


def test_wrong_source_type():
    with pytest.raises(InvalidManifest, match="cannot read Kubernetes objects from a int"):
        load(42)


def test_very_large_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(manifests.MAX_BYTES + 1)  # sparse: nothing is written or read
    e = error_of(path)
    assert e.source == str(path) and "20 MiB" in str(e)
    big_text = "a: b\n" * (manifests.MAX_BYTES // 5 + 1)
    assert "20 MiB" in str(error_of(big_text))


def test_billion_laughs_is_refused():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    e = error_of("\n".join(lines) + "\n")
    assert "billion laughs" in str(e) and "line 7" in str(e)


def test_recursive_and_unknown_aliases_are_refused():
    assert "inside the value it refers to" in str(error_of("a: &x [1, *x]\n"))
    assert "no anchor &y" in str(error_of("a: *y\n"))


def test_unsupported_tags_are_refused():
    assert "tag" in str(error_of("apiVersion: v1\nkind: !!python/name:os.system Pod\n"))
    assert "as int" in str(error_of("a: !!int nope\n"))


@pytest.mark.parametrize("kind, name, problem", [
    ("Deployment", "Web", "RFC 1123 subdomain"),
    ("Deployment", "web_app", "RFC 1123 subdomain"),
    ("Deployment", "-web", "RFC 1123 subdomain"),
    ("Deployment", "a" * 254, "no more than 253 characters"),
    ("Service", "1web", "DNS-1035 label"),
    ("Service", "web.api", "DNS-1035 label"),
    ("Namespace", "team.a", "RFC 1123 label"),
])
def test_invalid_names(kind, name, problem):
    api = "apps/v1" if kind == "Deployment" else "v1"
    spec = {"Deployment": yaml.safe_load(DEPLOYMENT)["spec"],
            "Service": {"ports": [{"port": 80}]}, "Namespace": {}}[kind]
    obj = {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}
    e = error_of(obj)
    assert e.field == "metadata.name" and e.value == name and problem in str(e)
    assert str(e).startswith(f"<dict>, document 1 ({kind}/{name}): metadata.name: ")


def test_role_names_may_contain_colons():
    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
            "metadata: {name: 'pod:reader'}\nrules: []\n")
    assert load(text)


@pytest.mark.parametrize("labels, field, value", [
    ("{app: web, 'my key': x}", "metadata.labels", "my key"),
    ("{app: web, tier: 'front end'}", "metadata.labels[tier]", "front end"),
    ("{app: web, '-x': y}", "metadata.labels", "-x"),
    ("{app: web, 'Example.com/x': y}", "metadata.labels", "Example.com/x"),
    ("{app: web, v: " + "a" * 64 + "}", "metadata.labels[v]", "a" * 64),
    ("{app: web, version: 1.0}", "metadata.labels[version]", 1.0),
])
def test_invalid_label_keys_and_values(labels, field, value):
    text = deployment(**{"  labels:\n    app: web\n": f"  labels: {labels}\n"})
    e = error_of(text)
    assert e.field == field and e.value == value


def test_invalid_labels_in_the_pod_template():
    text = deployment(**{"      labels:\n        app: web\n":
                         "      labels:\n        app: web\n        bad: 'a b'\n"})
    assert error_of(text).field == "spec.template.metadata.labels[bad]"


@pytest.mark.parametrize("change, field", [
    ({"cpu: 100m": "cpu: lots"}, "resources.requests[cpu]"),
    ({"memory: 64Mi": "memory: 64MB"}, "resources.requests[memory]"),
    ({"memory: 64Mi": "memory: true"}, "resources.requests[memory]"),
    ({"cpu: 100m": "cpu: -1"}, "resources.requests[cpu]"),
    ({"cpu: 100m": "memroy: 1Gi"}, "resources.requests"),
    # ValidateResourceRequirements reports request > limit at resources.requests (reqPath).
    ({"            memory: 64Mi\n": "            memory: 64Mi\n          limits: {memory: 32Mi}\n"},
     "resources.requests"),
])
def test_bad_resource_quantities(change, field):
    e = error_of(deployment(**change))
    assert e.field == "spec.template.spec.containers[0]." + field


def test_bad_quantity_message():
    e = error_of(deployment(**{"cpu: 100m": "cpu: lots"}))
    assert ('spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: '
            '"lots": must be a quantity such as "500m"') in str(e)


@pytest.mark.parametrize("remove, field", [
    ("      - name: web\n        image", "spec.template.spec.containers[0].name"),
    ("        image: nginx:1.27\n", "spec.template.spec.containers[0].image"),
])
def test_missing_required_container_fields(remove, field):
    text = DEPLOYMENT.replace(remove, "      - image" if "name" in remove else "")
    e = error_of(text)
    assert e.field == field and "Required value" in str(e)


def test_missing_fields_from_the_schema():
    text = deployment(**{"  selector:\n    matchLabels:\n      app: web\n": ""})
    assert error_of(text).field == "spec.selector"
    text = deployment(**{"        - containerPort: 80": "        - name: http"})
    assert error_of(text).field == "spec.template.spec.containers[0].ports[0].containerPort"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": []}}
    assert error_of(pod).field == "spec.containers"


@pytest.mark.parametrize("surge, problem", [
    ('"abc"', "percentage"),
    ("true", "must be an integer or a string"),
    ("1.5", "must be an integer or a string"),
    ("-1", "greater than or equal to 0"),
])
def test_bad_int_or_string(surge, problem):
    e = error_of(deployment(**{"maxSurge: 1": f"maxSurge: {surge}"}))
    assert e.field == "spec.strategy.rollingUpdate.maxSurge" and problem in str(e)


@pytest.mark.parametrize("port", ["0", "65536", "-80"])
def test_container_port_range(port):
    e = error_of(deployment(**{"containerPort: 80": f"containerPort: {port}"}))
    assert e.field == "spec.template.spec.containers[0].ports[0].containerPort"
    assert "between 1 and 65535, inclusive" in str(e)


def test_service_ports():
    assert error_of(SERVICE.replace("port: 80\n", "port: 99999\n", 1)).field == "spec.ports[0].port"
    e = error_of(SERVICE.replace("targetPort: 80", "targetPort: Not_A_Name"))
    assert e.field == "spec.ports[0].targetPort"
    assert load(SERVICE.replace("targetPort: 80", "targetPort: http"))
    two = SERVICE + "  - port: 443\n"
    assert error_of(two).field == "spec.ports[0].name"
    e = error_of(SERVICE.replace("  - port: 80", "  - name: HTTP\n    port: 80"))
    assert e.field == "spec.ports[0].name" and 'Try "http"' in str(e)


def test_unsupported_enum_value():
    text = deployment(**{"        ports:": "        imagePullPolicy: always\n        ports:"})
    e = error_of(text)
    assert e.field == "spec.template.spec.containers[0].imagePullPolicy"
    assert 'supported values: "Always", "IfNotPresent", "Never"' in str(e)
    assert 'Did you mean "Always"?' in str(e)


def test_volume_mount_must_name_a_volume():
    text = deployment(**{"        ports:": "        volumeMounts: [{name: data, mountPath: /d}]\n"
                                         "        ports:"})
    e = error_of(text)
    assert e.field == "spec.template.spec.containers[0].volumeMounts[0].name"


def test_secret_data_must_be_base64():
    e = error_of("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                 "data: {password: hunter2!}\n")
    assert e.field == "data[password]" and "stringData" in str(e)


def test_list_items_are_located():
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
  data: {k: 1}
"""
    e = error_of(text)
    assert e.obj == "ConfigMap/b" and e.field == "items[1].data[k]"


def test_custom_resources_need_custom_kinds():
    text = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: c}\n"
    e = error_of(text)
    assert e.field == "kind" and "custom resource" in str(e)
    assert 'custom_kinds={("stable.example.com", "CronTab")}' in str(e)
    e = error_of(text.replace("name: c", "name: Bad_Name"), custom_kinds={"CronTab"})
    assert e.field == "metadata.name"
    e = error_of(text.replace("{name: c}", "{name: c, labels: {a: 'b c'}}"),
                 custom_kinds={"CronTab"})
    assert e.field == "metadata.labels[a]"


def test_validate_errors_have_no_source():
    obj = deployment_dict()
    obj["spec"]["replicas"] = "three"
    with pytest.raises(InvalidManifest) as info:
        validate(obj)
    assert str(info.value) == ('Deployment/web: spec.replicas: Invalid value: "three": '
                               "must be an integer")


# ---- YAML reading matches PyYAML, dump/load round trip --------------------------------

PLAIN = st.text(alphabet="0123456789_:.+-eEbxoOaAfFnNlLsSuUyYtTrRiI~ ", min_size=1, max_size=8)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@settings(max_examples=500, database=None, deadline=None)
@given(PLAIN)
def test_plain_scalars_read_as_pyyaml_reads_them(value):
    text = f"k: {value}\n"
    try:
        expected = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        expected = None
    docs, error = read_yaml(text, "<text>")
    if expected is None or isinstance(expected.get("k") if isinstance(expected, dict)
                                      else None, (datetime.date, datetime.datetime)):
        return  # PyYAML failed, or read a date (we keep dates as strings)
    assert error is None
    got = docs[0][1]
    assert set(got) == set(expected)
    for key in expected:
        assert _same(got[key], expected[key]), (value, got, expected)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=20)


@settings(max_examples=200, database=None, deadline=None)
@given(st.lists(JSONISH, min_size=1, max_size=3))
def test_structures_read_as_pyyaml_reads_them(values):
    text = yaml.safe_dump_all(values)
    docs, error = read_yaml(text, "<text>")
    assert error is None
    assert [d for _, d, _ in docs] == list(yaml.safe_load_all(text))


NAMES = st.from_regex(r"\A[a-z]([-a-z0-9]{0,20}[a-z0-9])?\Z")
LABEL_VALUES = st.from_regex(r"\A([A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?)?\Z")
DATA_VALUES = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@st.composite
def objects(draw) -> dict:
    name = draw(NAMES)
    labels = draw(st.dictionaries(NAMES, LABEL_VALUES, max_size=3))
    if draw(st.booleans()):
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": labels},
                "data": draw(st.dictionaries(NAMES, DATA_VALUES, max_size=4))}
    app = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": draw(st.integers(0, 100)),
            "selector": {"matchLabels": app},
            "template": {
                "metadata": {"labels": {**labels, **app}},
                "spec": {"containers": [{
                    "name": draw(NAMES), "image": draw(NAMES) + ":1.0",
                    "args": draw(st.lists(DATA_VALUES, max_size=3)),
                    "ports": [{"containerPort": draw(st.integers(1, 65535))}],
                    "resources": {"requests": {
                        "cpu": draw(st.sampled_from(["100m", "1", 2, 0.5])),
                        "memory": draw(st.sampled_from(["64Mi", "1Gi", "128M"]))}},
                }]},
            },
        },
    }


@settings(max_examples=100, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(objects(), min_size=1, max_size=4, unique_by=lambda o: (o["kind"],
                                                                           o["metadata"]["name"])))
def test_dump_then_load_gives_the_same_objects(objs):
    assert load(dump(objs)) == objs
    assert load(objs) == objs


def test_dump_one_object_and_unicode():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
           "data": {"greeting": "grüß dich", "port": "8080", "flag": "yes"}}
    text = dump(obj)
    assert "grüß dich" in text and "'8080'" in text and "'yes'" in text
    assert load(text) == [obj]


@pytest.mark.parametrize("text, field", [
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "spec.containers"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "spec.ports"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n", "spec.selector"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
     "  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}}\n",
     "spec.template.spec.containers"),
    ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n", "spec.accessModes"),
    ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
     "spec: {accessModes: [ReadWriteOnce]}\n", "spec.resources[storage]"),
])
def test_a_missing_spec_is_checked_as_an_empty_one(text, field):
    e = error_of(text)
    assert e.field == field and "Required value" in str(e)


def test_headless_and_external_name_services_need_no_ports():
    headless = "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: None}\n"
    external = ("apiVersion: v1\nkind: Service\nmetadata: {name: ext}\n"
                "spec: {type: ExternalName, externalName: db.example.com}\n")
    assert len(load(headless + "---\n" + external)) == 2


def test_a_kind_cluster_config_is_not_an_object():
    text = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n"
    e = error_of(text)
    assert e.field == "kind" and "kind create cluster --config" in str(e)


def test_empty_list_items_are_reported():
    e = error_of("apiVersion: v1\nkind: List\nitems: [null]\n")
    assert e.field == "items[0]" and "is empty" in str(e)
    e = error_of("apiVersion: v1\nkind: List\nitems: {a: b}\n")
    assert e.field == "items" and "must be a list" in str(e)


def test_custom_kinds_argument_forms():
    text = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: c}\n"
    assert load(text, custom_kinds="CronTab")  # one name, not its letters
    with pytest.raises(Invalid, match="custom_kinds holds kind names"):
        load(text, custom_kinds=[("a", "b", "c")])


MANY_KINDS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
              cronSpec: {type: string, pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
            required: [cronSpec]
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "*/5 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: "busybox:1.36", command: ["sh", "-c", "date"]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: postgres
        image: postgres:16
        env: [{name: PGDATA, value: /var/lib/postgresql/data/pgdata}]
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 5Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      tolerations: [{operator: Exists, effect: NoSchedule}]
      hostNetwork: true
      containers: [{name: agent, image: "agent:1", resources: {limits: {memory: 200Mi}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{protocol: TCP, port: 8080}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: "50%", selector: {matchLabels: {app: web}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules: [{apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods}
subjects: [{kind: ServiceAccount, name: web, namespace: default}]
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: team}
spec: {hard: {requests.cpu: "4", requests.memory: 8Gi, pods: "20"}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000000
globalDefault: false
description: "for critical pods"
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  initContainers: [{name: init, image: "busybox:1.36", command: [sh, -c, "sleep 1"]}]
  containers:
  - name: app
    image: nginx:1.27
    lifecycle: {preStop: {exec: {command: [sh, -c, "sleep 5"]}}}
    startupProbe: {exec: {command: [cat, /tmp/ready]}, failureThreshold: 30}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: DoNotSchedule
    labelSelector: {matchLabels: {app: web}}
"""


def test_many_builtin_kinds_load():
    objs = load(MANY_KINDS, namespace="x")
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objs] == [
        ("CustomResourceDefinition", None), ("CronJob", "x"), ("StatefulSet", "x"),
        ("DaemonSet", "kube-system"), ("NetworkPolicy", "x"), ("PodDisruptionBudget", "x"),
        ("Role", "x"), ("RoleBinding", "x"), ("ResourceQuota", "x"), ("LimitRange", "x"),
        ("PriorityClass", None), ("Pod", "x")]


def test_volume_mounts_are_found_in_every_pod_spec():
    # A StatefulSet's claim templates count as volumes (MANY_KINDS mounts "data").
    sts = MANY_KINDS.split("---\n")[2]
    e = error_of(sts.replace("volumeClaimTemplates:\n  - metadata: {name: data}",
                             "volumeClaimTemplates:\n  - metadata: {name: other}"))
    assert e.field == "spec.template.spec.containers[0].volumeMounts[0].name"
    cron = MANY_KINDS.split("---\n")[1].replace(
        'command: ["sh", "-c", "date"]', 'volumeMounts: [{name: x, mountPath: /x}]')
    e = error_of(cron)
    assert e.field == ("spec.jobTemplate.spec.template.spec.containers[0]"
                       ".volumeMounts[0].name")
