"""Feature gates: the switches that turn a Kubernetes feature on or off.

Every Kubernetes component takes ``--feature-gates=Name=true,...``. A feature
starts as alpha (off by default), becomes beta (usually on) and then stable
(GA: on, and soon locked so it can no longer be turned off). The table below
lists the gates of Kubernetes 1.37 whose behaviour the simulator models, with
their 1.37 default and where that is documented. A simulated cluster starts
with these defaults; ``SimCluster(feature_gates={"HPAGeneration": True})``
turns one on, as a kind config's ``featureGates:`` would.

Example:
    >>> from labsupport.featuregates import DEFAULTS, resolve
    >>> DEFAULTS["MaxUnavailableStatefulSet"].enabled
    True
    >>> gates = resolve({"HPAGeneration": True})
    >>> gates["HPAGeneration"], gates["DeploymentReplicaSetTerminatingReplicas"]
    (True, True)
    >>> resolve({"JobManagedBy": False})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    labsupport.errors.Invalid: feature gate JobManagedBy is GA and locked to true ...
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from labsupport.errors import Invalid
from labsupport.version import KUBERNETES_VERSION

__all__ = ["FeatureGate", "DEFAULTS", "resolve"]


@dataclass(frozen=True)
class FeatureGate:
    """One gate as Kubernetes 1.37 ships it.

    Attributes:
        name: the gate's name, as ``--feature-gates`` spells it.
        stage: ``"alpha"``, ``"beta"`` or ``"GA"``.
        enabled: its default in 1.37.
        locked: True when it can no longer be changed.
        source: where its 1.37 state is documented.
    """

    name: str
    stage: str
    enabled: bool
    locked: bool
    source: str


def _gate(name: str, stage: str, enabled: bool, source: str, locked: bool = False) -> FeatureGate:
    return FeatureGate(name, stage, enabled, locked, source)


#: The 1.37 gates behind behaviour the simulator models, by name.
DEFAULTS: dict[str, FeatureGate] = {g.name: g for g in (
    _gate("PodObservedGenerationTracking", "GA", True,
          "KEP-5067 stable in 1.35 (kubernetes PR 134948): pods have metadata.generation "
          "and status.observedGeneration", locked=True),
    _gate("JobPodReplacementPolicy", "GA", True,
          "KEP-3939 stable in 1.34 (PR 132173): Jobs report status.terminating", locked=True),
    _gate("JobManagedBy", "GA", True,
          "KEP-4368 stable in 1.35 (PR 135080): spec.managedBy hands a Job to another "
          "controller", locked=True),
    _gate("HPAConfigurableTolerance", "GA", True,
          "KEP-4951 stable in 1.37: spec.behavior.scaleUp/scaleDown.tolerance", locked=True),
    _gate("DeploymentReplicaSetTerminatingReplicas", "beta", True,
          "KEP-3973 beta in 1.35 (PR 133087): status.terminatingReplicas"),
    _gate("MaxUnavailableStatefulSet", "beta", True,
          "KEP-961: on in 1.35 (PR 133153), off in 1.36 (PR 137904), on again in 1.37 "
          "(PR 139466): StatefulSet rollingUpdate.maxUnavailable"),
    _gate("PodTopologyLabelsAdmission", "beta", True,
          "KEP-4742 beta in 1.35 (PR 135158): a bound pod gets its node's "
          "topology.kubernetes.io/zone and region labels"),
    _gate("HPAGeneration", "alpha", False,
          "new in 1.37 (PRs 138228, 138653), planned to be on by default one release later: "
          "HPAs get metadata.generation, status.observedGeneration and an immediate "
          "reconcile when their spec changes"),
)}


def resolve(overrides: Mapping[str, bool] | None = None) -> dict[str, bool]:
    """The gates of a cluster: the 1.37 defaults with ``overrides`` applied.

    Raises:
        Invalid: an unknown gate (with the closest known names), a value that
            is not True or False, or a locked gate set against its default.
    """
    gates = {name: g.enabled for name, g in DEFAULTS.items()}
    if overrides is None:
        return gates
    if not isinstance(overrides, Mapping):
        raise Invalid("feature_gates must be a dict of gate names to True or False, "
                      f'such as {{"HPAGeneration": True}}, got {overrides!r}')
    for name, value in overrides.items():
        gate = DEFAULTS.get(name)
        if gate is None:
            close = difflib.get_close_matches(str(name), DEFAULTS, n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise Invalid(f"unknown feature gate {name!r}: the simulator models "
                          f"{', '.join(sorted(DEFAULTS))}{hint}")
        if not isinstance(value, bool):
            raise Invalid(f"feature gate {name} must be True or False, got {value!r}")
        if gate.locked and value != gate.enabled:
            raise Invalid(f"feature gate {name} is {gate.stage} and locked to "
                          f"{str(gate.enabled).lower()} in Kubernetes {KUBERNETES_VERSION}; "
                          f"it cannot be turned {'off' if gate.enabled else 'on'}")
        gates[name] = value
    return gates
