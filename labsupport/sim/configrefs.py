"""What a container's configuration refers to: ConfigMaps, Secrets, the downward API.

Before the kubelet creates a container it builds the container's environment
(kubernetes ``pkg/kubelet/kubelet_pods.go``, ``makeEnvironmentVariables``):
first every ``envFrom`` source, then every ``env`` entry in order, a later
entry replacing an earlier one. A literal ``value`` has its ``$(VAR)``
references expanded from the variables defined before it (``$$`` is a
literal ``$``; an unknown reference stays as written). A ``valueFrom`` reads
a ConfigMap key, a Secret key (base64-decoded), a pod field or a container
resource. A ConfigMap or Secret that does not exist, or a key it lacks, is an
error unless the reference says ``optional: true``; the kubelet then reports
``CreateContainerConfigError`` and tries again on its next sync.

Volumes are checked by the volume manager before any container starts: a
missing ConfigMap or Secret in a ``configMap``, ``secret`` or ``projected``
volume fails ``MountVolume.SetUp`` (kubernetes ``pkg/volume/configmap``,
``pkg/volume/secret``) and the pod stays ``ContainerCreating``.

The messages are the kubelet's: the not-found errors come from its ConfigMap
and Secret managers, whose group resource is the singular ``configmap`` /
``secret``, so they read ``configmap "app-config" not found``.

Example:
    >>> pod = {"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    ...        "spec": {"nodeName": "node-1"}}
    >>> c = {"name": "app", "env": [
    ...     {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ...     {"name": "GREETING", "value": "hello from $(POD)"}]}
    >>> environment(lambda kind, ns, name: None, pod, c, "10.244.1.2")
    {'POD': 'web', 'GREETING': 'hello from web'}
    >>> c = {"name": "app", "env": [{"name": "COLOR", "valueFrom": {
    ...     "configMapKeyRef": {"name": "app-config", "key": "color"}}}]}
    >>> try:
    ...     environment(lambda kind, ns, name: None, pod, c, "10.244.1.2")
    ... except ConfigError as err:
    ...     print(err)
    configmap "app-config" not found
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from labsupport.errors import Invalid
from labsupport.quantity import cpu_cores, memory_bytes

__all__ = ["ConfigError", "Lookup", "NO_ENV", "environment", "expand", "lookup_in",
           "volume_errors"]

#: Looks an object up: ``lookup("ConfigMap", namespace, name)`` -> the object or None.
Lookup = Callable[[str, str, str], "dict | None"]

#: The environment of a container that declares none (shared, read-only).
NO_ENV: MappingProxyType = MappingProxyType({})

# The group resources of the kubelet's ConfigMap and Secret managers
# (pkg/kubelet/configmap/configmap_manager.go, pkg/kubelet/secret/secret_manager.go).
_RESOURCE = {"ConfigMap": "configmap", "Secret": "secret"}


class ConfigError(Exception):
    """A configuration reference the kubelet cannot resolve; the message is the kubelet's."""


def _data(kind: str, obj: dict) -> dict[str, str]:
    """The key/value pairs of a ConfigMap or Secret (a Secret's ``data`` is base64)."""
    if kind == "ConfigMap":
        return {**(obj.get("data") or {}), **(obj.get("binaryData") or {})}
    out = {}
    for k, v in (obj.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(str(v), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            out[k] = str(v)
    # The API server folds stringData into data on write; accept it as written too.
    out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    return out


def _source(lookup: Lookup, kind: str, namespace: str, name: str,
            optional: bool) -> dict[str, str] | None:
    obj = lookup(kind, namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{_RESOURCE[kind]} "{name}" not found')
    return _data(kind, obj)


_REF = re.compile(r"\$\$|\$\(([^)]*)\)")


def expand(text: str, defined: dict[str, str]) -> str:
    """Expand ``$(VAR)`` from ``defined``; ``$$`` is ``$``; unknown references stay.

    The rules of kubernetes ``third_party/forked/golang/expansion``.

    Example:
        >>> expand("$(A)-$(B)-$$(A)", {"A": "x"})
        'x-$(B)-$(A)'
    """
    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return defined[name] if name in defined else m.group(0)

    return _REF.sub(one, text)


def _field(pod: dict, path: str, ip: str, host_ip: str) -> str:
    """A pod field for ``fieldRef`` (kubelet ``podFieldSelectorRuntimeValue``)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": ip,
        "status.podIPs": ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in ("metadata.labels", "metadata.annotations"):
        items = sorted((meta.get(path.split(".")[1]) or {}).items())
        return "\n".join(f'{k}="{v}"' for k, v in items)
    if path not in simple:
        raise ConfigError(f"unsupported fieldPath: {path}")
    return str(simple[path])


def _resource(container: dict, ref: dict, node_allocatable: dict[str, str]) -> str:
    """A container resource for ``resourceFieldRef``, as a whole number of divisors.

    A limit that is not set is the node's allocatable amount (kubelet
    ``defaultPodLimitsForDownwardAPI``); values round up
    (``pkg/api/v1/resource``: ``convertResourceCPUToString`` and friends).
    """
    what = ref.get("resource", "")
    section, _, name = what.partition(".")
    res = (container.get("resources") or {}).get(section) or {}
    value = res.get(name)
    if value is None and section == "limits":
        value = node_allocatable.get(name)
    if value is None:
        value = "0"
    divisor = ref.get("divisor") or "1"
    try:
        if name == "cpu":
            amount = math.ceil(round(cpu_cores(value) / cpu_cores(divisor), 9))
        else:
            amount = math.ceil(round(memory_bytes(value) / memory_bytes(divisor), 9))
    except (Invalid, ZeroDivisionError):
        raise ConfigError(f"unsupported container resource : {what}") from None
    return str(amount)


def environment(lookup: Lookup, pod: dict, container: dict, ip: str, host_ip: str = "",
                node_allocatable: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables of ``container`` when it starts now.

    Args:
        lookup: finds ConfigMaps and Secrets: ``lookup(kind, namespace, name)``.
        pod: the pod (its metadata and spec).
        container: the container's spec.
        ip: the pod's IP (``status.podIP``).
        host_ip: the node's IP (``status.hostIP``).
        node_allocatable: the node's allocatable ``cpu`` and ``memory``, for
            ``limits`` that the container does not set.

    Raises:
        ConfigError: a reference that cannot be resolved, with the kubelet's message.

    Example:
        >>> secret = {"data": {"password": "czNjcjN0"}}
        >>> find = lambda kind, ns, name: secret if kind == "Secret" else None
        >>> c = {"envFrom": [{"secretRef": {"name": "db"}, "prefix": "DB_"},
        ...                  {"configMapRef": {"name": "extra", "optional": True}}]}
        >>> environment(find, {"metadata": {"namespace": "default"}}, c, "10.244.1.2")
        {'DB_password': 's3cr3t'}
    """
    if not container.get("env") and not container.get("envFrom"):
        return NO_ENV  # type: ignore[return-value]
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    env: dict[str, str] = {}
    for src in container.get("envFrom") or ():
        kind, ref = ("ConfigMap", src["configMapRef"]) if src.get("configMapRef") else \
            ("Secret", src.get("secretRef") or {})
        data = _source(lookup, kind, namespace, ref.get("name", ""), bool(ref.get("optional")))
        prefix = src.get("prefix") or ""
        for k, v in (data or {}).items():
            env[prefix + k] = v
    for var in container.get("env") or ():
        name, value, source = var.get("name", ""), var.get("value"), var.get("valueFrom")
        if value:
            env[name] = expand(str(value), env)
            continue
        if not source:
            env[name] = ""
            continue
        if source.get("fieldRef"):
            env[name] = _field(pod, source["fieldRef"].get("fieldPath", ""), ip, host_ip)
        elif source.get("resourceFieldRef"):
            env[name] = _resource(container, source["resourceFieldRef"], node_allocatable or {})
        else:
            kind, ref = ("ConfigMap", source["configMapKeyRef"]) \
                if source.get("configMapKeyRef") else ("Secret", source.get("secretKeyRef") or {})
            optional = bool(ref.get("optional"))
            data = _source(lookup, kind, namespace, ref.get("name", ""), optional)
            if data is None:
                continue
            key = ref.get("key", "")
            if key not in data:
                if optional:
                    continue
                raise ConfigError(
                    f"couldn't find key {key} in {kind} {namespace}/{ref.get('name')}")
            env[name] = data[key]
    return env


def _volume_error(lookup: Lookup, namespace: str, kind: str, ref: dict, name: str) -> str | None:
    optional = bool(ref.get("optional"))
    obj = lookup(kind, namespace, name)
    if obj is None:
        return None if optional else f'{_RESOURCE[kind]} "{name}" not found'
    data = _data(kind, obj)
    for item in ref.get("items") or ():
        if item.get("key") not in data and not optional:
            # pkg/volume/configmap and pkg/volume/secret: MakePayload
            what = "configmap references non-existent config key" if kind == "ConfigMap" \
                else "secret references non-existent secret key"
            return f"{what}: {item.get('key')}"
    return None


def volume_errors(lookup: Lookup, pod: dict) -> list[tuple[str, str]]:
    """The volumes of ``pod`` that cannot be set up now, with the reason of each.

    Example:
        >>> pod = {"metadata": {"namespace": "default"}, "spec": {"volumes": [
        ...     {"name": "config", "configMap": {"name": "app-config"}},
        ...     {"name": "extra", "secret": {"secretName": "x", "optional": True}}]}}
        >>> volume_errors(lambda kind, ns, name: None, pod)
        [('config', 'configmap "app-config" not found')]
    """
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    out = []
    for vol in (pod.get("spec") or {}).get("volumes") or ():
        errors: list[str | None] = []
        if vol.get("configMap"):
            errors.append(_volume_error(lookup, namespace, "ConfigMap", vol["configMap"],
                                        vol["configMap"].get("name", "")))
        elif vol.get("secret"):
            errors.append(_volume_error(lookup, namespace, "Secret", vol["secret"],
                                        vol["secret"].get("secretName", "")))
        elif vol.get("projected"):
            for src in vol["projected"].get("sources") or ():
                for kind, field in (("ConfigMap", "configMap"), ("Secret", "secret")):
                    if src.get(field):
                        errors.append(_volume_error(lookup, namespace, kind, src[field],
                                                    src[field].get("name", "")))
        found = [e for e in errors if e]
        if found:
            out.append((vol.get("name", ""), ", ".join(found)))
    return out


def lookup_in(store: Any) -> Lookup:
    """A :data:`Lookup` that reads the simulator's store (no copies)."""
    def find(kind: str, namespace: str, name: str) -> dict | None:
        plural = "configmaps" if kind == "ConfigMap" else "secrets"
        return store.peek(f"/registry/{plural}/{namespace}/{name}")

    return find
