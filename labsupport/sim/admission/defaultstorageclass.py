"""DefaultStorageClass admission: a new claim that names no class gets the default one.

Upstream: plugin/pkg/admission/storage/storageclass/setdefault/admission.go.
On create only, a PersistentVolumeClaim without ``spec.storageClassName``
(and without the old ``volume.beta.kubernetes.io/storage-class`` annotation)
gets the name of the StorageClass annotated
``storageclass.kubernetes.io/is-default-class: "true"`` (the newest one when
several are). ``storageClassName: ""`` is a choice, not an omission: such a
claim keeps it and binds only volumes without a class. With no default
class the claim is left alone; the PV controller gives it the default class
later, when there is one (RetroactiveDefaultStorageClass).

kind ships one class, ``standard`` (provisioner ``rancher.io/local-path``,
``WaitForFirstConsumer``, reclaim policy ``Delete``), marked as the default.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(nodes=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
    ...              "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
    ...              "resources": {"requests": {"storage": "1Gi"}}}})
    >>> c.get("pvc/data")["spec"]["storageClassName"]
    'standard'
"""

from __future__ import annotations

from labsupport.sim.controllers.pvbinding import ANN_STORAGE_CLASS
from labsupport.sim.controllers.volumes import default_class

__all__ = ["NAME", "set_default_class"]

NAME = "DefaultStorageClass"


def set_default_class(claim: dict, classes: list[dict]) -> str:
    """Give ``claim`` the default class if it names none; the audit note, or "".

    Example:
        >>> claim = {"metadata": {"name": "data"}, "spec": {}}
        >>> set_default_class(claim, [{"metadata": {"name": "fast", "annotations": {
        ...     "storageclass.kubernetes.io/is-default-class": "true"}}}])
        'set storageClassName "fast" on persistentvolumeclaim "data"'
        >>> set_default_class({"metadata": {"name": "d"}, "spec": {"storageClassName": ""}}, [])
        ''
    """
    spec = claim.setdefault("spec", {})
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    if spec.get("storageClassName") is not None or ANN_STORAGE_CLASS in annotations:
        return ""
    default = default_class(classes)
    if default is None:
        return ""
    spec["storageClassName"] = default["metadata"]["name"]
    return (f'set storageClassName "{spec["storageClassName"]}" on persistentvolumeclaim '
            f'"{claim["metadata"].get("name", "")}"')
