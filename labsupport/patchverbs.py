"""What ``kubectl label``, ``annotate``, ``taint`` and ``drain`` decide before they patch.

These are kubectl's client-side rules, the same on every backend, so
:class:`labsupport.cluster.Cluster` builds its ``label``, ``annotate``,
``cordon``, ``uncordon``, ``taint`` and ``drain`` on them and on the two
calls each backend provides (``patch`` and ``evict``). The texts are
kubectl's own.

Example:
    >>> add, remove = parse_taints(["dedicated=gpu:NoSchedule", "spot:NoExecute-"])
    >>> add
    [{'key': 'dedicated', 'value': 'gpu', 'effect': 'NoSchedule'}]
    >>> remove
    [{'key': 'spot', 'effect': 'NoExecute'}]
    >>> drain_filter({"metadata": {"name": "web", "namespace": "default"},
    ...               "spec": {}, "status": {"phase": "Running"}})
    ('error', 'cannot delete Pods that declare no controller (use --force to override)')
"""

from __future__ import annotations

import json
import re
from typing import Any

from labsupport.errors import Invalid

__all__ = ["verb_metadata", "set_unschedulable", "verb_taint", "parse_taints", "taint_text",
           "reorganize_taints", "check_overwrites", "aggregate", "CHANGE_CAUSE",
           "drain_filter", "drain_errors", "display_name", "DAEMONSET_FATAL",
           "LOCAL_STORAGE_FATAL", "UNMANAGED_FATAL", "DAEMONSET_WARNING", "LOCAL_STORAGE_WARNING",
           "UNMANAGED_WARNING"]

# staging/src/k8s.io/kubectl/pkg/drain/filters.go
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def display_name(obj: dict) -> str:
    """How kubectl names an object in its output: ``pod/web``, ``deployment.apps/web``."""
    group = obj.get("apiVersion", "v1").rpartition("/")[0]
    kind = obj.get("kind", "").lower()
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else \
        f"{kind}/{obj['metadata']['name']}"


# --- label and annotate ----------------------------------------------------------------

#: annotate.go validateNoAnnotationOverwrites: the one annotation it always lets change.
CHANGE_CAUSE = "kubernetes.io/change-cause"


def aggregate(messages: list[str]) -> str:
    """How apimachinery's ``utilerrors.NewAggregate`` prints several errors.

    One error is printed as is; several, without repeats, as ``[a, b]``.

    Example:
        >>> aggregate(["x"]), aggregate(["x", "y", "x"])
        ('x', '[x, y]')
    """
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def check_overwrites(current: dict | None, wanted: dict, what: str) -> None:
    """Refuse to set a key the object already has without ``overwrite=True``, as kubectl does.

    kubectl refuses any key that is already there, even with the same value
    (label.go ``validateNoOverwrites``, annotate.go
    ``validateNoAnnotationOverwrites``, which lets ``kubernetes.io/change-cause``
    through). Removing a key (a value of None) is never refused.

    Args:
        current: the object's labels or annotations now.
        wanted: the new values (None removes).
        what: ``"labels"`` or ``"annotations"``.

    Raises:
        Invalid: with kubectl's text.

    Example:
        >>> check_overwrites({"app": "web"}, {"app": "web"}, "labels")
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: 'app' already has a value (web), and --overwrite is false
    """
    current = current or {}
    clashes = [(k, current[k]) for k, v in wanted.items() if v is not None and k in current]
    if what == "labels":
        if clashes:
            raise Invalid(aggregate([f"'{k}' already has a value ({v}), and --overwrite is false"
                                     for k, v in clashes]))
        return
    clashes = [(k, v) for k, v in clashes if k != CHANGE_CAUSE]
    if clashes:
        raise Invalid("--overwrite is false but found the following declared annotation(s): "
                      + "; ".join(f"'{k}' already has a value ({v})" for k, v in clashes))


# --- taint -----------------------------------------------------------------------------

# apimachinery api/validate/content (kube.go, dns.go, errors.go): the texts of
# IsLabelKey (IsQualifiedName), IsLabelValue and IsDNS1123Subdomain.
_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character")
_KEY_EXAMPLES = ("MyName", "my.name", "123-abc")
_VALUE_FMT = f"({_KEY_FMT})?"
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
              "'-', '_' or '.', and must start and end with an alphanumeric character")
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """content.RegexError: the message, its examples and the regular expression."""
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_error(length: int) -> str:
    """content.MaxLenError."""
    return f"must be no more than {length} bytes"


def _label_key_errors(key: str) -> list[str]:
    """content.IsLabelKey: what is wrong with ``key`` (a taint's key), in its words."""
    parts = key.split("/")
    errors: list[str] = []
    if len(parts) > 2:
        return ["a valid label key " + _regex_error(_KEY_MSG, _KEY_FMT, *_KEY_EXAMPLES)
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                errors.append("prefix part " + _max_len_error(253))
            if not re.fullmatch(_SUBDOMAIN_FMT, prefix):
                errors.append("prefix part " + _regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT,
                                                            "example.com"))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errors.append("name part " + _max_len_error(63))
    if not re.fullmatch(_KEY_FMT, name):
        errors.append("name part " + _regex_error(_KEY_MSG, _KEY_FMT, *_KEY_EXAMPLES))
    return errors


def _label_value_errors(value: str) -> list[str]:
    """content.IsLabelValue: what is wrong with ``value`` (a taint's value), in its words."""
    errors = []
    if len(value.encode()) > 63:
        errors.append(_max_len_error(63))
    if not re.fullmatch(_VALUE_FMT, value):
        errors.append(_regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _parse_taint(spec: str) -> dict:
    """One taint (kubectl taint utils.go ``parseTaint``): key[=value]:effect, or key."""
    parts = spec.split(":")
    value = None
    effect = None
    if len(parts) == 1:
        key = parts[0]
    elif len(parts) == 2:
        effect = parts[1]
        if effect not in _EFFECTS:  # validateTaintEffect
            raise Invalid(f"invalid taint effect: {effect}, unsupported taint effect")
        kv = parts[0].split("=")
        if len(kv) > 2:
            raise Invalid(f"invalid taint spec: {spec}")
        key = kv[0]
        if len(kv) == 2:
            value = kv[1]
            errors = _label_value_errors(value)
            if errors:
                raise Invalid(f"invalid taint spec: {spec}, {'; '.join(errors)}")
    else:
        raise Invalid(f"invalid taint spec: {spec}")
    errors = _label_key_errors(key)
    if errors:
        raise Invalid(f"invalid taint spec: {spec}, {'; '.join(errors)}")
    taint = {"key": key}
    if value:
        taint["value"] = value
    if effect:
        taint["effect"] = effect
    return taint


def parse_taints(specs: list[str]) -> tuple[list[dict], list[dict]]:
    """Taints to add and to remove (kubectl's ``parseTaints``); ``-`` at the end removes.

    Raises:
        Invalid: a spec kubectl refuses, in kubectl's words.

    Example:
        >>> parse_taints(["gpu"])
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: invalid taint spec: gpu
    """
    add: list[dict] = []
    remove: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        if not isinstance(spec, str):
            raise Invalid(f'a taint is text such as "dedicated=gpu:NoSchedule", got {spec!r}')
        if spec.endswith("-"):
            taint = _parse_taint(spec[:-1])
            remove.append({k: v for k, v in taint.items() if k != "value"})
            continue
        taint = _parse_taint(spec)
        if "effect" not in taint:
            raise Invalid(f"invalid taint spec: {spec}")
        ident = (taint["key"], taint["effect"])
        if ident in seen:
            # Go prints the corev1.Taint struct with %v: {Key Value Effect TimeAdded}.
            raise Invalid("duplicated taints with the same key and effect: "
                          f"{{{taint['key']} {taint.get('value', '')} {taint['effect']} <nil>}}")
        seen.add(ident)
        add.append(taint)
    return add, remove


def taint_text(taint: dict) -> str:
    """``Taint.ToString``: ``key=value:effect``, ``key:effect`` or ``key``."""
    text = taint["key"]
    if taint.get("value"):
        text += "=" + taint["value"]
    if taint.get("effect"):
        text += ":" + taint["effect"]
    return text


def reorganize_taints(node: dict, overwrite: bool, add: list[dict],
                      remove: list[dict]) -> tuple[str, list[dict]]:
    """The node's new taints and kubectl's verb for it (``reorganizeTaints``).

    Returns:
        ("tainted" | "untainted" | "modified", the new list of taints).

    Raises:
        Invalid: a taint to add exists with that effect and ``overwrite`` is False,
            or a taint to remove is not there (kubectl's texts).
    """
    old = list((node.get("spec") or {}).get("taints") or ())
    name = node["metadata"]["name"]
    if not overwrite:
        exists = [t["key"] for t in add for o in old
                  if t["key"] == o.get("key") and t.get("effect") == o.get("effect")]
        if exists:
            raise Invalid(f"node {name} already has {','.join(exists)} taint(s) with same "
                          "effect(s) and --overwrite is false")
    new = [dict(t) for t in add]
    for o in old:  # addTaints: keep old taints not replaced by a new one
        if not any(t["key"] == o.get("key") and t.get("effect") == o.get("effect") for t in new):
            new.append(o)
    added = len(old) != len(new)
    errors = []
    deleted = False
    for r in remove:
        before = len(new)
        new = [t for t in new if not (t.get("key") == r["key"]
                                      and ("effect" not in r or t.get("effect") == r["effect"]))]
        deleted = len(new) != before
        if not deleted:
            errors.append(f'taint "{taint_text(r)}" not found')
    if errors:
        raise Invalid(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    if (added and deleted) or overwrite:
        return "modified", new
    return ("tainted" if added else "untainted"), new


# --- drain -----------------------------------------------------------------------------

def _finished(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _controller(pod: dict) -> dict | None:
    for ref in pod["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def drain_filter(pod: dict, ignore_daemonsets: bool = False, delete_emptydir_data: bool = False,
                 force: bool = False) -> tuple[str, str]:
    """What ``kubectl drain`` does with one pod, its filters in order (filters.go).

    Returns:
        (``"delete"``, ``"skip"``, ``"warning"`` (kept), ``"warning-delete"`` or
        ``"error"``, kubectl's message).
    """
    ref = _controller(pod)
    if ref is not None and ref.get("kind") == "DaemonSet" and not _finished(pod):
        if not ignore_daemonsets:
            return "error", DAEMONSET_FATAL
        return "warning", DAEMONSET_WARNING  # not deleted; the next filters do not run
    if "kubernetes.io/config.mirror" in (pod["metadata"].get("annotations") or {}):
        return "skip", ""
    volumes = (pod.get("spec") or {}).get("volumes") or ()
    if any("emptyDir" in v for v in volumes) and not _finished(pod) \
            and not delete_emptydir_data:
        return "error", LOCAL_STORAGE_FATAL
    # The local-storage warning is dropped by the next filter, as in kubectl (a TODO there).
    if not _finished(pod) and ref is None:
        if not force:
            return "error", UNMANAGED_FATAL
        return "warning-delete", UNMANAGED_WARNING
    return "delete", ""


def drain_errors(failed: dict[str, list[str]]) -> str:
    """``PodDeleteList.errors`` as kubectl aggregates them (message -> pods "ns/name").

    Example:
        >>> print(drain_errors({DAEMONSET_FATAL: ["kube-system/ds-1"]}))
        cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/ds-1
    """
    errs = []
    for msg in sorted(failed):
        pods = ", ".join(failed[msg])
        errs.append(f"{msg}: {pods}" if msg.lower().startswith("cannot delete")
                    else f"cannot delete {msg}: {pods}")
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


# --- the verbs, on any cluster (a Cluster's get and patch) -----------------------------

def verb_metadata(cluster: Any, ref: str, namespace: str, field: str, changes: dict,
                  overwrite: bool) -> str:
    """``kubectl label`` / ``annotate``: a merge patch of ``metadata.<field>``.

    Returns:
        kubectl's line: ``pod/web labeled``, ``unlabeled`` (a label removed
        without ``overwrite``) or ``not labeled`` (nothing changed);
        ``annotate`` always says ``annotated``.
    """
    if not changes:
        raise Invalid(f"give at least one of the {field} to set, e.g. tier=\"front\", or None "
                      "to remove one")
    for key, value in changes.items():
        if not isinstance(key, str) or (value is not None and not isinstance(value, str)):
            raise Invalid(f"{field} are text: {key!r}={value!r}; write the value as a string, "
                          "or None to remove it")
    obj = cluster.get(ref, namespace=namespace)
    had = field in obj["metadata"]
    current = obj["metadata"].get(field) or {}
    if not overwrite:
        check_overwrites(current, changes, field)
    after = {k: v for k, v in current.items() if k not in changes or changes[k] is not None}
    after.update({k: v for k, v in changes.items() if v is not None})
    if after != current:
        patch = {k: v for k, v in changes.items() if current.get(k) != v}
        cluster.patch(ref, {"metadata": {field: patch}}, namespace=namespace, type="merge")
    if field == "annotations":
        return f"{display_name(obj)} annotated"  # annotate.go prints it whatever changed
    return f"{display_name(obj)} {_label_message(current, after, had, overwrite)}"


def _label_message(before: dict, after: dict, had: bool, overwrite: bool) -> str:
    """label.go ``updateDataChangeMsg``: compare the object's JSON before and after.

    kubectl always writes a labels map back (an empty one too), and calls a
    change that makes the JSON shorter without ``--overwrite`` "unlabeled".
    """
    def size(labels: dict | None) -> int:
        if labels is None:
            return 0
        return len(json.dumps(labels, separators=(",", ":"), sort_keys=True).encode()) + \
            len('"labels":,')
    old, new = size(before if had else None), size(after)
    if had and before == after:
        return "not labeled"
    if not overwrite and new < old:
        return "unlabeled"
    return "labeled"


def set_unschedulable(cluster: Any, node: str, value: bool) -> str:
    """``kubectl cordon`` / ``uncordon``: patch ``spec.unschedulable``; kubectl's line."""
    obj = cluster.get(f"node/{node}")
    verb = "cordoned" if value else "uncordoned"
    if bool((obj.get("spec") or {}).get("unschedulable")) == value:
        return f"node/{node} already {verb}"
    cluster.patch(f"node/{node}", {"spec": {"unschedulable": True if value else None}})
    return f"node/{node} {verb}"


def verb_taint(cluster: Any, node: str, specs: list[str], overwrite: bool) -> str:
    """``kubectl taint nodes``: parse, reorganize, patch ``spec.taints``; kubectl's line."""
    if not specs:
        raise Invalid('give at least one taint, e.g. c.taint("node-1", '
                      '"dedicated=gpu:NoSchedule"), or "dedicated:NoSchedule-" to remove it')
    add, remove = parse_taints(specs)
    # taint.go Validate: the same key (and effect) both added and removed.
    conflicts = ["{" + json.dumps(r["key"]) + ":" + json.dumps(r.get("effect", "")) + "}"
                 for a in add for r in remove
                 if a["key"] == r["key"] and r.get("effect", a["effect"]) == a["effect"]]
    if conflicts:
        raise Invalid("can not both modify and remove the following taint(s) in the same "
                      f"command: {', '.join(conflicts)}")
    obj = cluster.get(f"node/{node}")
    verb, taints = reorganize_taints(obj, overwrite, add, remove)
    cluster.patch(f"node/{node}", {"spec": {"taints": taints or None}})
    return f"node/{node} {verb}"
