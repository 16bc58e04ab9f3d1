"""Duration distributions named in scenario files.

A scenario gives a duration as a small mapping, in **minutes** (the unit people use for
calls), for example ``{dist: lognormal, mean: 30, sd: 20}``. The model works in seconds;
:func:`sampler` returns a function that draws an array of durations in seconds from a
numpy Generator.

Parameterisation by mean and standard deviation (not by the distribution's native
parameters) lets a planner swap a lognormal for a gamma without re-deriving numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # numpy is imported where samples are drawn: validation does not need it
    import numpy as np

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Exponential(BaseModel):
    """Exponential duration with the given mean (minutes)."""

    model_config = _STRICT
    dist: Literal["exponential"]
    mean: float = Field(gt=0)

    @property
    def mean_min(self) -> float:
        return self.mean


class LogNormal(BaseModel):
    """Lognormal duration with the given mean and standard deviation (minutes)."""

    model_config = _STRICT
    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    @property
    def mean_min(self) -> float:
        return self.mean


class Gamma(BaseModel):
    """Gamma duration with the given mean and standard deviation (minutes)."""

    model_config = _STRICT
    dist: Literal["gamma"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    @property
    def mean_min(self) -> float:
        return self.mean


class Fixed(BaseModel):
    """A constant duration (minutes); zero is allowed (for example no wrap-up)."""

    model_config = _STRICT
    dist: Literal["fixed"]
    value: float = Field(ge=0)

    @property
    def mean_min(self) -> float:
        return self.value


class Empirical(BaseModel):
    """Draw from listed durations (minutes), optionally with weights (normalised)."""

    model_config = _STRICT
    dist: Literal["empirical"]
    values: list[Annotated[float, Field(ge=0)]] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    @property
    def mean_min(self) -> float:
        import numpy as np

        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return float(np.dot(w / w.sum(), self.values))


Distribution = Annotated[
    Exponential | LogNormal | Gamma | Fixed | Empirical, Field(discriminator="dist")
]

Sampler = Callable[["np.random.Generator", int], "np.ndarray"]


def sampler(spec: Distribution) -> Sampler:
    """Return ``draw(rng, n) -> seconds`` for a validated distribution spec."""
    import numpy as np

    if isinstance(spec, Exponential):
        scale = spec.mean * 60.0
        return lambda rng, n: rng.exponential(scale, n)
    if isinstance(spec, LogNormal):
        # Moment matching: if X ~ LN(m, s) then E X = exp(m + s^2/2),
        # Var X = (exp(s^2) - 1) exp(2m + s^2).
        s2 = np.log1p((spec.sd / spec.mean) ** 2)
        m = np.log(spec.mean * 60.0) - s2 / 2
        s = np.sqrt(s2)
        return lambda rng, n: rng.lognormal(m, s, n)
    if isinstance(spec, Gamma):
        shape = (spec.mean / spec.sd) ** 2
        scale = spec.mean * 60.0 / shape
        return lambda rng, n: rng.gamma(shape, scale, n)
    if isinstance(spec, Fixed):
        value = spec.value * 60.0
        return lambda rng, n: np.full(n, value)
    if isinstance(spec, Empirical):
        values = np.asarray(spec.values) * 60.0
        p = None
        if spec.weights is not None:
            w = np.asarray(spec.weights, dtype=float)
            p = w / w.sum()
        return lambda rng, n: rng.choice(values, size=n, p=p)
    raise TypeError(f"unknown distribution spec {spec!r}")
