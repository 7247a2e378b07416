"""The options of ``Cluster.delete``, read as kubectl reads its flags.

``c.delete(ref, propagation_policy=..., grace_period=..., force=...)`` is
``kubectl delete`` with ``--cascade``, ``--grace-period`` and ``--force``. Both
backends turn them into the same ``DeleteOptions`` body
(``propagationPolicy``, ``gracePeriodSeconds``), with kubectl's conversions
(staging/src/k8s.io/kubectl/pkg/cmd/delete/delete.go, ``Complete`` and
``Validate``):

* the policy is always sent, ``Background`` unless told otherwise;
  kubectl's lower-case words (``--cascade=orphan``) are accepted too;
* ``grace_period=0`` without ``force`` becomes 1 (to avoid losing data by
  accident); ``force=True`` alone means ``gracePeriodSeconds: 0``: the object
  leaves the API at once;
* ``force`` with a grace period above 0 is refused.

Example:
    >>> delete_options("orphan", None, False)
    {'propagationPolicy': 'Orphan'}
    >>> delete_options("Background", 0, False)
    {'propagationPolicy': 'Background', 'gracePeriodSeconds': 1}
    >>> delete_options("Background", None, True)
    {'propagationPolicy': 'Background', 'gracePeriodSeconds': 0}
"""

from __future__ import annotations

from typing import Any

from labsupport.errors import Invalid

__all__ = ["delete_options", "PROPAGATION_POLICIES"]

#: metav1.DeletionPropagation values, in the API's spelling.
PROPAGATION_POLICIES = ("Background", "Foreground", "Orphan")


def delete_options(propagation_policy: Any, grace_period: Any, force: Any) -> dict:
    """The DeleteOptions fields for ``Cluster.delete``'s arguments.

    Raises:
        Invalid: an unknown policy, a grace period that is not a whole number
            of seconds 0 or more, ``force`` that is not a bool, or ``force``
            with a grace period above 0.

    Example:
        >>> delete_options("Cascade", None, False)
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: propagation_policy must be one of "Background", \
"Foreground", "Orphan" (kubectl's --cascade=background|foreground|orphan); got 'Cascade'
        >>> delete_options("Background", 5, True)
        Traceback (most recent call last):
        ...
        labsupport.errors.Invalid: force=True and grace_period=5 cannot be given together \
(kubectl: --force and --grace-period greater than 0 cannot be specified together); \
use force=True alone, or grace_period=5 alone
    """
    policy = None
    if isinstance(propagation_policy, str):
        policy = next((p for p in PROPAGATION_POLICIES
                       if p.lower() == propagation_policy.lower()), None)
    if policy is None:
        raise Invalid('propagation_policy must be one of "Background", "Foreground", "Orphan" '
                      "(kubectl's --cascade=background|foreground|orphan); "
                      f"got {propagation_policy!r}")
    if not isinstance(force, bool):
        raise Invalid(f"force must be True or False, got {force!r}")
    if grace_period is not None and (isinstance(grace_period, bool)
                                     or not isinstance(grace_period, int) or grace_period < 0):
        raise Invalid("grace_period must be a whole number of seconds, 0 or more (or None for "
                      f"the object's own terminationGracePeriodSeconds); got {grace_period!r}")
    if force and grace_period is not None and grace_period > 0:
        raise Invalid(f"force=True and grace_period={grace_period} cannot be given together "
                      "(kubectl: --force and --grace-period greater than 0 cannot be specified "
                      f"together); use force=True alone, or grace_period={grace_period} alone")
    options: dict = {"propagationPolicy": policy}
    if force:
        options["gracePeriodSeconds"] = 0
    elif grace_period is not None:
        options["gracePeriodSeconds"] = max(1, grace_period)  # --grace-period=0 means 1
    return options
