"""Distributions of durations, as the workload annotations write them.

A service time is written ``"kind:parameters"``: ``exponential:0.02``,
``constant:0.05``, ``lognormal:0.02,0.5`` or ``uniform:0.01,0.03``.

Example:
    >>> from labsupport.sim.distribution import Distribution
    >>> Distribution.parse("uniform:0.01,0.03").mean
    0.02
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labsupport.errors import Invalid

__all__ = ["Distribution"]


@dataclass(frozen=True)
class Distribution:
    """A distribution of durations, written ``"kind:parameters"``.

    ``exponential:MEAN``, ``constant:S`` (or a bare number),
    ``lognormal:MEAN,SIGMA`` (its mean, and the sigma of its logarithm),
    ``uniform:LOW,HIGH``; all in seconds.

    Example:
        >>> d = Distribution.parse("lognormal:0.02,0.5")
        >>> d.kind, d.mean
        ('lognormal', 0.02)
        >>> Distribution.parse("0.05")
        Distribution('constant:0.05')
    """

    kind: str
    params: tuple[float, ...]

    @classmethod
    def parse(cls, text: str) -> Distribution:
        """Read ``"exponential:0.02"`` and friends.

        Raises:
            Invalid: an unknown kind or wrong parameters; the message shows the forms.
        """
        raw = str(text).strip()
        kind, _, rest = raw.partition(":")
        if not rest:
            kind, rest = "constant", raw
        kind = kind.strip().lower()
        try:
            params = tuple(float(p) for p in rest.split(","))
        except ValueError:
            params = ()
        want = {"exponential": 1, "constant": 1, "lognormal": 2, "uniform": 2}.get(kind)
        ok = (want == len(params) and all(math.isfinite(p) and p >= 0 for p in params)
              and not (kind == "uniform" and params[0] > params[1]))
        if not ok:
            raise Invalid(f'"{raw}" is not a distribution; write exponential:MEAN, constant:S, '
                          "lognormal:MEAN,SIGMA or uniform:LOW,HIGH with seconds zero or more")
        return cls(kind, params)

    @property
    def mean(self) -> float:
        """The mean duration in seconds."""
        if self.kind == "uniform":
            return (self.params[0] + self.params[1]) / 2
        return self.params[0]

    def transform(self, exp: Any, normal: Any, uniform: Any) -> Any:
        """Durations from standard draws (numpy arrays of Exp(1), N(0,1), U(0,1)).

        Each kind uses one of the three, so a run draws the same numbers
        whatever the distribution, and the same seed gives the same run.

        Example:
            >>> import numpy as np
            >>> Distribution.parse("exponential:0.5").transform(np.array([2.0]), None, None)
            array([1.])
        """
        import numpy as np

        p = self.params
        if self.kind == "exponential":
            return exp * p[0]
        if self.kind == "constant":
            return np.full(len(uniform if normal is None else normal), p[0])
        if self.kind == "uniform":
            return p[0] + (p[1] - p[0]) * uniform
        mean, sigma = p
        if mean <= 0:
            return np.zeros(len(normal))
        return np.exp(math.log(mean) - sigma * sigma / 2 + sigma * normal)

    def __repr__(self) -> str:
        return f"Distribution('{self.kind}:{','.join(f'{p:g}' for p in self.params)}')"
