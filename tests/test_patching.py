"""The pure patch algorithms (labsupport/patching.py) and kubectl's verb rules."""

from __future__ import annotations

import pytest

from labsupport.errors import Invalid
from labsupport.patching import (
    PatchFailed,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from labsupport.patchverbs import check_overwrites, drain_filter, parse_taints, reorganize_taints

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a"]},
       "spec": {"containers": [{"name": "app", "image": "x:1", "ports": [{"containerPort": 80}]},
                               {"name": "side", "image": "y:1"}],
                "volumes": [{"name": "data", "emptyDir": {}}]}}


def test_rfc7386_examples():
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch(["a", "b"], ["c", "d"]) == ["c", "d"]
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_json_patch_operations_and_escaping():
    doc = {"a/b": 1, "m~n": 2, "list": [1, 2, 3]}
    out = json_patch(doc, [
        {"op": "replace", "path": "/a~1b", "value": 10},
        {"op": "remove", "path": "/m~0n"},
        {"op": "add", "path": "/list/1", "value": 9},
        {"op": "copy", "from": "/list/0", "path": "/first"},
        {"op": "test", "path": "/first", "value": 1},
    ])
    assert out == {"a/b": 10, "list": [1, 9, 2, 3], "first": 1}
    assert doc == {"a/b": 1, "m~n": 2, "list": [1, 2, 3]}  # untouched


@pytest.mark.parametrize("op, cause", [
    ({"op": "remove", "path": "/nope"}, "Unable to remove nonexistent key: nope: missing value"),
    ({"op": "replace", "path": "/nope", "value": 1},
     "replace operation does not apply: doc is missing key: /nope: missing value"),
    ({"op": "add", "path": "/x/y", "value": 1},
     'add operation does not apply: doc is missing path: "/x/y": missing value'),
    ({"op": "test", "path": "/a", "value": "1"}, "testing value /a failed: test failed"),
    ({"op": "add", "path": "/l/5", "value": 1},
     "Unable to access invalid index: 5: invalid index referenced"),
    ({"op": "frob", "path": "/a"}, "Unexpected kind: frob: unknown object type"),
])
def test_json_patch_errors_are_the_servers(op, cause):
    with pytest.raises(PatchFailed) as err:
        json_patch({"a": 1, "l": [0]}, [op])
    assert err.value.cause == cause
    assert "the server rejected our request due to an error in our request" in str(err.value)


def test_strategic_merges_containers_by_name_and_ports_by_container_port():
    new = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "app", "ports": [{"containerPort": 443}]}, {"name": "new", "image": "z"}]}})
    assert [c["name"] for c in new["spec"]["containers"]] == ["app", "side", "new"]
    assert new["spec"]["containers"][0]["image"] == "x:1"
    assert new["spec"]["containers"][0]["ports"] == [{"containerPort": 80},
                                                     {"containerPort": 443}]


def test_strategic_directives():
    deleted = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "side", "$patch": "delete"}]}})
    assert [c["name"] for c in deleted["spec"]["containers"]] == ["app"]
    replaced = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "only", "image": "q"}, {"$patch": "replace"}]}})
    assert replaced["spec"]["containers"] == [{"name": "only", "image": "q"}]
    ordered = strategic_merge_patch(POD, {"spec": {"$setElementOrder/containers": [
        {"name": "side"}, {"name": "app"}]}})
    assert [c["name"] for c in ordered["spec"]["containers"]] == ["side", "app"]
    # volumes are merge,retainKeys: the new source replaces emptyDir
    vol = strategic_merge_patch(POD, {"spec": {"volumes": [
        {"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/d"}}]}})
    assert vol["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/d"}}]
    fin = strategic_merge_patch(POD, {"metadata": {"finalizers": ["b"],
                                                   "$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert fin["metadata"]["finalizers"] == ["b"]


def test_merge_patch_replaces_the_list_strategic_does_not():
    patch = {"spec": {"containers": [{"name": "app", "image": "x:2"}]}}
    assert len(apply_patch(POD, patch, "merge")["spec"]["containers"]) == 1
    assert len(apply_patch(POD, patch, "strategic")["spec"]["containers"]) == 2


def test_unknown_type_and_custom_resources():
    with pytest.raises(Invalid, match="type must be one of"):
        apply_patch(POD, {}, "apply")
    with pytest.raises(Invalid, match="accepted media types include: application/json-patch"):
        apply_patch({"apiVersion": "x.io/v1", "kind": "Db"}, {"a": 1}, custom=True)


def test_label_overwrite_and_taint_texts():
    with pytest.raises(Invalid, match=r"^'app' already has a value \(web\), and --overwrite "
                                      r"is false$"):
        check_overwrites({"app": "web"}, {"app": "api"}, "labels")
    check_overwrites({"app": "web"}, {"x": "1", "app": None}, "labels")
    with pytest.raises(Invalid, match=r"^'app' already has a value \(web\)"):
        check_overwrites({"app": "web"}, {"app": "web"}, "labels")
    with pytest.raises(Invalid, match="invalid taint effect: NoRun, unsupported taint effect"):
        parse_taints(["a=b:NoRun"])
    node = {"metadata": {"name": "n1"},
            "spec": {"taints": [{"key": "a", "value": "b", "effect": "NoSchedule"}]}}
    with pytest.raises(Invalid, match="node n1 already has a taint"):
        reorganize_taints(node, False, *parse_taints(["a=c:NoSchedule"]))
    assert reorganize_taints(node, False, *parse_taints(["a:NoSchedule-"])) == ("untainted", [])
    with pytest.raises(Invalid, match='taint "z:NoSchedule" not found'):
        reorganize_taints(node, False, *parse_taints(["z:NoSchedule-"]))


@pytest.mark.parametrize("spec, text", [
    # utils.go parseTaint + apimachinery content.IsLabelKey / IsLabelValue / RegexError.
    ("-k:NoSchedule", "invalid taint spec: -k:NoSchedule, name part must consist of "
     "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
     "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
     "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("k=-v:NoSchedule", "invalid taint spec: k=-v:NoSchedule, a valid label must be an empty "
     "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
     "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
     "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ("/k:NoSchedule", "invalid taint spec: /k:NoSchedule, prefix part must be non-empty"),
    ("k=" + "v" * 64 + ":NoSchedule", "v:NoSchedule, must be no more than 63 bytes"),
    ("a=b=c:NoSchedule", "invalid taint spec: a=b=c:NoSchedule"),
])
def test_taint_spec_texts(spec, text):
    with pytest.raises(Invalid) as err:
        parse_taints([spec])
    assert text in str(err.value)


def test_duplicated_taint_prints_the_go_struct():
    with pytest.raises(Invalid, match=r"^duplicated taints with the same key and effect: "
                                      r"\{a c NoSchedule <nil>\}$"):
        parse_taints(["a=b:NoSchedule", "a=c:NoSchedule"])


def test_drain_filters_in_kubectls_order():
    ds = {"metadata": {"ownerReferences": [{"kind": "DaemonSet", "controller": True}]},
          "spec": {"volumes": [{"emptyDir": {}}]}, "status": {"phase": "Running"}}
    assert drain_filter(ds)[0] == "error"
    assert drain_filter(ds, ignore_daemonsets=True) == ("warning",
                                                        "ignoring DaemonSet-managed Pods")
    rs = {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "controller": True}]},
          "spec": {"volumes": [{"emptyDir": {}}]}, "status": {"phase": "Running"}}
    assert drain_filter(rs)[1] == ("Pods with local storage (use --delete-emptydir-data to "
                                   "override)")
    assert drain_filter(rs, delete_emptydir_data=True) == ("delete", "")
    done = {"metadata": {}, "spec": {}, "status": {"phase": "Succeeded"}}
    assert drain_filter(done) == ("delete", "")
