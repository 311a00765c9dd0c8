"""Summary statistics of one case's timing samples.

Medians, not means, are the headline (timing noise is one-sided: interruptions only add
time). The spread is the interquartile range; a case whose IQR exceeds ``unstable_above``
times its median is flagged ``unstable`` rather than silently reported. The 95% interval of
the median is a percentile bootstrap with a fixed seed, so the same samples always give the
same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
"""Resamples of a percentile-bootstrap interval."""
UNSTABLE_ABOVE = 0.10


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    mean: float
    std: float
    mad: float
    """Median absolute deviation from the median (unscaled)."""
    ci_low: float
    ci_high: float
    """Bootstrap 95% interval of the median."""
    unstable: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def relative_iqr(samples: list[float]) -> float:
    """IQR / median: the spread that decides stability (cheap: no bootstrap)."""
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return float((q3 - q1) / median) if median > 0 else 0.0


def bootstrap_interval(
    samples: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
    base: Sequence[float] | np.ndarray | None = None,
) -> tuple[float, float]:
    """Percentile-bootstrap interval, at level 1 − ``alpha``, of the median of ``samples`` or,
    given ``base``, of median(samples) / median(base): each resampled on its own
    (``BOOTSTRAP_RESAMPLES`` times) with a fixed seed, so the same samples always give the
    same interval."""
    rng = np.random.default_rng(0)

    def medians(x: Sequence[float] | np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.median(rng.choice(x, size=(BOOTSTRAP_RESAMPLES, x.size)), axis=1)

    base_medians = None if base is None else medians(base)  # drawn first: stable intervals
    statistic = medians(samples)
    if base_medians is not None:
        statistic = statistic / base_medians
    low, high = np.percentile(statistic, [50 * alpha, 100 - 50 * alpha])
    return float(low), float(high)


def summarize(samples: list[float], unstable_above: float = UNSTABLE_ABOVE) -> Summary:
    """Statistics of ``samples`` (seconds); needs at least one sample."""
    x = np.asarray(samples, dtype=np.float64)
    median = float(np.median(x))
    q1, q3 = (float(q) for q in np.percentile(x, [25, 75]))
    ci_low, ci_high = bootstrap_interval(x)
    return Summary(
        n=int(x.size),
        median=median,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        min=float(x.min()),
        max=float(x.max()),
        mean=float(x.mean()),
        std=float(x.std(ddof=1)) if x.size > 1 else 0.0,
        mad=float(np.median(np.abs(x - median))),
        ci_low=ci_low,
        ci_high=ci_high,
        unstable=relative_iqr(samples) > unstable_above,
    )
