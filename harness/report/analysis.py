"""What the report's plots mark: the Pareto front of time against a metric, the power law of
time against size within one shape family, and the floor that keeps a near-zero error on a
log axis."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_SIZES = 3
"""A scaling exponent needs this many distinct sizes: through two, any two points fit."""
ROUNDING = 1e-8
"""A negative value within this fraction of the largest magnitude (or of 1) is rounding
(√ε of float64): an error of −2e-16 beside errors of 1e-15."""


def pareto_front(
    points: Sequence[tuple[float, float]], higher_is_better: bool = False
) -> list[int]:
    """Indices of the points no other point dominates, by increasing x.

    x is a cost (time); so is y (an error), unless ``higher_is_better`` (an accuracy): ``p``
    dominates ``q`` when it is no worse in both and better in one. Equal points are all on
    the front."""
    costs = [(x, -y if higher_is_better else y) for x, y in points]
    order = sorted(range(len(costs)), key=lambda i: costs[i])
    front: list[int] = []
    best_y = math.inf
    for i in order:
        x, y = costs[i]
        if y < best_y or (front and costs[front[-1]] == (x, y)):
            front.append(i)
            best_y = min(best_y, y)
    return front


@dataclass(frozen=True)
class PowerLaw:
    """time = coefficient · size^exponent, fitted by least squares in log-log."""

    exponent: float
    coefficient: float

    def __call__(self, size: float) -> float:
        return self.coefficient * size**self.exponent


def power_law(sizes: Sequence[float], seconds: Sequence[float | None]) -> PowerLaw | None:
    """The least-squares line log(time) = log(c) + k·log(size): time ∝ size^k.

    ``None`` unless there are ``MIN_SIZES`` distinct positive sizes with positive times (the
    caller passes sizes of one shape family, ``shape_family``: 8×8, 16×16, 32×32, not 8×8
    beside 16×32)."""
    pairs = [(s, t) for s, t in zip(sizes, seconds, strict=True) if s > 0 and t and t > 0]
    if len({s for s, _ in pairs}) < MIN_SIZES:
        return None
    x = np.log([s for s, _ in pairs])
    y = np.log([t for _, t in pairs])
    slope, intercept = np.polyfit(x, y, 1)
    return PowerLaw(float(slope), float(np.exp(intercept)))


def scaling_exponent(sizes: Sequence[float], seconds: Sequence[float | None]) -> float | None:
    """The exponent ``k`` of ``power_law`` (time ∝ size^k); ``None`` below ``MIN_SIZES``
    distinct sizes."""
    fit = power_law(sizes, seconds)
    return fit.exponent if fit else None


def shape_family(sizes: Mapping[str, int]) -> str:
    """Sizes of one family differ only in scale: each dimension over the smallest, with the
    dimensions' names (``m:n=1:4`` for 256×1024 and 64×256; ``n`` for any one-dimensional
    size)."""
    if len(sizes) <= 1:
        return ":".join(sizes)
    smallest = min(sizes.values()) or 1
    ratios = ":".join(f"{d / smallest:.3g}" for d in sizes.values())
    return f"{':'.join(sizes)}={ratios}"


def log_floor(values: Sequence[float]) -> float | None:
    """Where a log axis draws the values that are zero or nearly so, or ``None`` when there
    are none, or when the axis should be linear: no positive value, or a negative one that
    is more than rounding (below −``ROUNDING`` times the largest magnitude, or than
    −``ROUNDING`` for values below 1: errors are relative, so rounding leaves them near ε).

    The floor is a decade below the smallest positive value; a value at or below it (zero,
    −2e-16 from rounding) is drawn there, and the figure says so."""
    finite = [v for v in values if math.isfinite(v)]
    positive = [v for v in finite if v > 0]
    if not positive or len(positive) == len(finite):
        return None
    largest = max(1.0, *(abs(v) for v in finite))
    if any(v < -ROUNDING * largest for v in finite):
        return None
    return 10 ** (math.floor(math.log10(min(positive))) - 1)
