"""How fast an HPA may change replicas: stabilization windows and scaling policies.

The replica calculator says what the metrics ask for; this module decides
how much of it happens now, as upstream ``pkg/controller/podautoscaler``
(horizontal.go) does:

* Without ``spec.behavior``: the HPA remembers its recommendations and uses
  the highest of the last 300 s (scale-down stabilization), then allows at
  most ``max(2 * current, 4)`` replicas (scale-up limit) and clamps to
  ``[minReplicas, maxReplicas]``.
* With ``spec.behavior``: each direction has a stabilization window (the
  lowest recommendation of the scale-up window, the highest of the scale-down
  window) and policies (``Pods`` or ``Percent`` per ``periodSeconds``)
  combined by ``selectPolicy`` (``Max``, ``Min`` or ``Disabled``), counting
  the changes already made within each period, and may set a ``tolerance``
  (a quantity such as ``"0.05"`` or ``"50m"``) that replaces the cluster-wide
  0.1 in that direction (:func:`tolerances`; KEP-4951, GA in 1.37).

Times are kept in whole milliseconds so that comparisons at a window's edge
are exact, as on the 15 s grid of the simulated controller.

Example:
    >>> from labsupport.sim.controllers.hpascaling import Recorder, normalize
    >>> rec = Recorder()
    >>> rec.record_initial(2, now=0.0)
    >>> normalize(rec, None, current=2, desired=10, min_replicas=1, max_replicas=20,
    ...           now=15.0).replicas                     # at most max(2 * 2, 4)
    4
    >>> normalize(rec, None, current=4, desired=3, min_replicas=1, max_replicas=20,
    ...           now=30.0).replicas      # the window still holds 10: up to 2 * 4
    8
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labsupport.errors import Invalid
from labsupport.quantity import parse_quantity
from labsupport.sim.controllers.replicacalc import TOLERANCE, Tolerances

__all__ = ["Rules", "Recorder", "Normalized", "normalize", "scaling_rules", "default_behavior",
           "tolerances",
           "DOWNSCALE_STABILIZATION", "SCALE_UP_LIMIT_FACTOR", "SCALE_UP_LIMIT_MINIMUM"]

# horizontal.go: scaleUpLimitFactor and scaleUpLimitMinimum (the limit without behavior).
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
# --horizontal-pod-autoscaler-downscale-stabilization (5 minutes).
DOWNSCALE_STABILIZATION = 300

# pkg/apis/autoscaling/v2/defaults.go: defaultHPAScaleUpRules / defaultHPAScaleDownRules.
_DEFAULT_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                     "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                  {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_DEFAULT_SCALE_DOWN = {"selectPolicy": "Max",
                       "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
_SELECT = ("Max", "Min", "Disabled")


def default_behavior(behavior: dict | None) -> dict | None:
    """``spec.behavior`` with its missing fields filled, as the API server does.

    Upstream fills a given behavior (``SetDefaults_HorizontalPodAutoscalerBehavior``)
    and leaves an absent one absent; the scale-down window stays unset and
    means the controller's 300 s. A ``tolerance`` is kept as given and never
    defaulted: unset, the controller's ``--horizontal-pod-autoscaler-tolerance``
    applies (KEP-4951).

    Example:
        >>> b = default_behavior({"scaleDown": {"stabilizationWindowSeconds": 60}})
        >>> b["scaleUp"]["policies"][0], b["scaleDown"]["stabilizationWindowSeconds"]
        ({'type': 'Pods', 'value': 4, 'periodSeconds': 15}, 60)
        >>> b = default_behavior({"scaleUp": {"tolerance": "50m"}})
        >>> b["scaleUp"]["tolerance"], "tolerance" in b["scaleDown"]
        ('50m', False)
    """
    if behavior is None:
        return None
    out = dict(behavior)
    for direction, default in (("scaleUp", _DEFAULT_SCALE_UP), ("scaleDown", _DEFAULT_SCALE_DOWN)):
        given = behavior.get(direction) or {}
        rules = {k: (list(v) if isinstance(v, list) else v) for k, v in default.items()}
        # tolerance: HPAScalingRules.Tolerance (KEP-4951), kept only when given.
        for key in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
            if given.get(key) is not None:
                rules[key] = given[key]
        out[direction] = rules
    return out


@dataclass(frozen=True)
class Rules:
    """The scaling rules of one direction: window (s), selectPolicy, policies, tolerance.

    ``tolerance`` is None when the direction sets none (the controller's
    default applies).
    """

    stabilization_window: int
    select_policy: str = "Max"
    policies: tuple[tuple[str, int, int], ...] = ()   # (type, value, periodSeconds)
    tolerance: float | None = None

    def longest_period(self) -> int:
        """The longest ``periodSeconds`` of the policies."""
        return max((p[2] for p in self.policies), default=0)


def scaling_rules(behavior: dict | None, downscale_window: int = DOWNSCALE_STABILIZATION,
                  ) -> tuple[Rules, Rules] | None:
    """(scale-up, scale-down) rules of a ``spec.behavior``, or None when it is absent.

    Raises:
        Invalid: an unknown selectPolicy or policy type, a non-positive value
            or period, or a tolerance that is not a non-negative quantity (the
            API server's validation).
    """
    filled = default_behavior(behavior)
    if filled is None:
        return None
    out = []
    for direction in ("scaleUp", "scaleDown"):
        r = filled[direction]
        select = r.get("selectPolicy") or "Max"
        if select not in _SELECT:
            raise Invalid(f"spec.behavior.{direction}.selectPolicy: Unsupported value: "
                          f'"{select}": supported values: "Disabled", "Max", "Min"')
        if not r.get("policies"):
            raise Invalid(f"spec.behavior.{direction}.policies: Required value: must specify "
                          "at least one Policy")
        policies = []
        for i, p in enumerate(r["policies"]):
            kind, value, period = p.get("type"), p.get("value"), p.get("periodSeconds")
            where = f"spec.behavior.{direction}.policies[{i}]"
            if kind not in ("Pods", "Percent"):
                raise Invalid(f'{where}.type: Unsupported value: "{kind}": supported values: '
                              '"Percent", "Pods"')
            if not isinstance(value, int) or value <= 0:
                raise Invalid(f"{where}.value: Invalid value: {value!r}: must be greater than zero")
            if not isinstance(period, int) or not 0 < period <= 1800:
                raise Invalid(f"{where}.periodSeconds: Invalid value: {period!r}: must be "
                              "greater than zero and less than or equal to 1800")
            policies.append((kind, value, period))
        window = r.get("stabilizationWindowSeconds")
        if window is None:
            window = downscale_window if direction == "scaleDown" else 0
        tolerance = _tolerance(r.get("tolerance"), f"spec.behavior.{direction}.tolerance")
        out.append(Rules(int(window), select, tuple(policies), tolerance))
    return out[0], out[1]


def _tolerance(value: object, where: str) -> float | None:
    # KEP-4951: HPAScalingRules.tolerance is a resource.Quantity that validation
    # (pkg/apis/autoscaling/validation) requires to be >= 0; the controller reads it
    # with Quantity.AsApproximateFloat64().
    if value is None:
        return None
    try:
        number = parse_quantity(value)      # type: ignore[arg-type]
    except Invalid:
        raise Invalid(f"{where}: Invalid value: {value!r}: a tolerance is a quantity such as "
                      '"0.05" or "50m" (5%)') from None
    if not number >= 0:        # negative (or NaN)
        raise Invalid(f"{where}: Invalid value: {value!r}: must be greater than or equal to 0")
    return number


def tolerances(behavior: dict | None, default: float = TOLERANCE) -> Tolerances:
    """The HPA's tolerances: ``spec.behavior.scaleDown/scaleUp.tolerance``, else ``default``.

    Upstream ``tolerancesForHpa`` (pkg/controller/podautoscaler/horizontal.go,
    KEP-4951 HPAConfigurableTolerance: alpha 1.33, beta 1.35, GA 1.37): each
    direction starts from the cluster-wide ``--horizontal-pod-autoscaler-tolerance``
    (``default``) and is replaced by the HPA's own ``tolerance`` when it sets one.
    The replica calculator then keeps the current replicas while
    ``1 - scaleDown <= ratio <= 1 + scaleUp``: the scale-up tolerance decides
    for ratios above 1, the scale-down tolerance for ratios below 1.

    Example:
        >>> tolerances(None)
        Tolerances(scale_down=0.1, scale_up=0.1)
        >>> t = tolerances({"scaleUp": {"tolerance": "0.05"}, "scaleDown": {"tolerance": "200m"}})
        >>> t
        Tolerances(scale_down=0.2, scale_up=0.05)
        >>> t.is_within(1.07), t.is_within(0.85)     # 7% above: scale; 15% below: keep
        (False, True)

    Raises:
        Invalid: a tolerance that is not a non-negative quantity.
    """
    behavior = behavior or {}
    down = _tolerance((behavior.get("scaleDown") or {}).get("tolerance"),
                      "spec.behavior.scaleDown.tolerance")
    up = _tolerance((behavior.get("scaleUp") or {}).get("tolerance"),
                    "spec.behavior.scaleUp.tolerance")
    return Tolerances(default if down is None else down, default if up is None else up)


@dataclass
class Recorder:
    """What one HPA remembers between syncs: recommendations and scale events.

    Entries are ``[replicas, time_ms]`` and ``[change, time_ms, outdated]``;
    old entries are reused, as upstream does, so the lists stay short.
    """

    recommendations: list[list[int]] = field(default_factory=list)
    scale_ups: list[list] = field(default_factory=list)
    scale_downs: list[list] = field(default_factory=list)

    def record_initial(self, current: int, now: float) -> None:
        """The first sync remembers the current replicas as a recommendation."""
        if not self.recommendations:
            self.recommendations.append([current, _ms(now)])

    def store_scale_event(self, rules: tuple[Rules, Rules] | None, previous: int, new: int,
                          now: float) -> None:
        """Remember a rescale (only with behavior: the policies count them)."""
        if rules is None:
            return
        up = new > previous
        events = self.scale_ups if up else self.scale_downs
        cutoff = _ms(now) - (rules[0] if up else rules[1]).longest_period() * 1000
        reuse = None
        for i, ev in enumerate(events):
            if ev[1] < cutoff:
                ev[2] = True
            if ev[2]:
                reuse = i
        entry = [abs(new - previous), _ms(now), False]
        if reuse is None:
            events.append(entry)
        else:
            events[reuse] = entry


@dataclass(frozen=True)
class Normalized:
    """The replicas to set now, and why (the AbleToScale and ScalingLimited conditions)."""

    replicas: int
    able_reason: str
    able_message: str
    limited: bool
    limited_reason: str
    limited_message: str


_READY = ("ReadyForNewScale", "recommended size matches current size")
_DOWN_STABILIZED = ("ScaleDownStabilized", "recent recommendations were higher than current "
                    "one, applying the highest recent recommendation")
_UP_STABILIZED = ("ScaleUpStabilized", "recent recommendations were lower than current one, "
                  "applying the lowest recent recommendation")
_WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
_UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the "
             "maximum scale rate")
_DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the "
               "maximum scale rate")
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica "
             "count")
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica "
            "count")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def normalize(rec: Recorder, rules: tuple[Rules, Rules] | None, current: int, desired: int,
              min_replicas: int, max_replicas: int, now: float,
              downscale_window: int = DOWNSCALE_STABILIZATION) -> Normalized:
    """Stabilize and limit ``desired`` (``normalizeDesiredReplicas[WithBehaviors]``)."""
    if rules is None:
        stabilized = _stabilize(rec, desired, now, downscale_window)
        able = _READY if stabilized == desired else _DOWN_STABILIZED
        replicas, limit = _limit_default(current, stabilized, min_replicas, max_replicas)
    else:
        stabilized, stable_reason = _stabilize_with_rules(rec, rules, current, desired, now)
        able = _READY if stabilized == desired else stable_reason
        replicas, limit = _limit_with_rules(rec, rules, current, stabilized, min_replicas,
                                            max_replicas, now)
    return Normalized(replicas, able[0], able[1], replicas != stabilized, limit[0], limit[1])


def _stabilize(rec: Recorder, desired: int, now: float, window: int) -> int:
    # stabilizeRecommendation: the highest recommendation not older than the window.
    t = _ms(now)
    cutoff = t - window * 1000
    highest = desired
    old = None
    for i, (value, when) in enumerate(rec.recommendations):
        if when < cutoff:
            old = i
        elif value > highest:
            highest = value
    if old is None:
        rec.recommendations.append([desired, t])
    else:
        rec.recommendations[old] = [desired, t]
    return highest


def _limit_default(current: int, desired: int, low: int, high: int) -> tuple[int, tuple]:
    # convertDesiredReplicasWithRules
    up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if high > up_limit:
        allowed, why = up_limit, _UP_LIMIT
    else:
        allowed, why = high, _TOO_MANY
    if desired < low:
        return low, _TOO_FEW
    if desired > allowed:
        return allowed, why
    return desired, _WITHIN


def _stabilize_with_rules(rec: Recorder, rules: tuple[Rules, Rules], current: int,
                          desired: int, now: float) -> tuple[int, tuple]:
    # stabilizeRecommendationWithBehaviors
    t = _ms(now)
    up_cutoff = t - rules[0].stabilization_window * 1000
    down_cutoff = t - rules[1].stabilization_window * 1000
    up = down = desired
    old = None
    for i, (value, when) in enumerate(rec.recommendations):
        if when > up_cutoff:
            up = min(value, up)
        if when > down_cutoff:
            down = max(value, down)
        if when < up_cutoff and when < down_cutoff:
            old = i
    recommendation = max(current, up)
    recommendation = min(recommendation, down)
    if old is None:
        rec.recommendations.append([desired, t])
    else:
        rec.recommendations[old] = [desired, t]
    return recommendation, (_UP_STABILIZED if desired >= current else _DOWN_STABILIZED)


def _changes_within(period: int, events: list[list], now_ms: int) -> int:
    # getReplicasChangePerPeriod
    cutoff = now_ms - period * 1000
    return sum(ev[0] for ev in events if ev[1] > cutoff)


def _policy_limit(rec: Recorder, r: Rules, current: int, now: float, up: bool) -> int:
    # calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors
    if r.select_policy == "Disabled":
        return current
    t = _ms(now)
    pick_highest = (r.select_policy != "Min") == up
    result: int | None = None
    for kind, value, period in r.policies:
        start = (current - _changes_within(period, rec.scale_ups, t)
                 + _changes_within(period, rec.scale_downs, t))
        if kind == "Pods":
            proposed = start + value if up else start - value
        elif up:
            proposed = math.ceil(start * (1 + value / 100))
        else:
            proposed = int(start * (1 - value / 100))
        if result is None:
            result = proposed
        else:
            result = max(result, proposed) if pick_highest else min(result, proposed)
    if result is None:
        return current
    return result


def _limit_with_rules(rec: Recorder, rules: tuple[Rules, Rules], current: int, desired: int,
                      low: int, high: int, now: float) -> tuple[int, tuple]:
    # convertDesiredReplicasWithBehaviorRate
    if desired > current:
        up_limit = max(_policy_limit(rec, rules[0], current, now, up=True), current)
        if high > up_limit:
            allowed, why = up_limit, _UP_LIMIT
        else:
            allowed, why = high, _TOO_MANY
        if desired > allowed:
            return allowed, why
    elif desired < current:
        down_limit = min(_policy_limit(rec, rules[1], current, now, up=False), current)
        if low < down_limit:
            allowed, why = down_limit, _DOWN_LIMIT
        else:
            allowed, why = low, _TOO_FEW
        if desired < allowed:
            return allowed, why
    return desired, _WITHIN
