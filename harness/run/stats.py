"""Summary statistics of one case's timing samples.

Medians, not means, are the headline (timing noise is one-sided: interruptions only add
time). The spread is the interquartile range; a case whose IQR exceeds ``unstable_above``
times its median is flagged ``unstable`` rather than silently reported.

The 95% interval of the median is the exact distribution-free one from order statistics
(``median_interval``): with the samples sorted, [x₍ⱼ₎, x₍ₙ₋ⱼ₊₁₎] covers the true median with
probability 1 − 2·P(B ≤ j − 1) for B ~ Binomial(n, ½), whatever the samples' distribution,
and j is the largest for which that is at least 95%. With fewer than ``MIN_INTERVAL_SAMPLES``
(6) samples no order-statistic interval reaches 95% (five samples' min–max covers 93.75%), and
the case has none: a percentile bootstrap would give one, but too narrow (it cannot reach
beyond the samples, and with five it covers the median far less often than it claims). The
ratio of two medians (``harness compare``) keeps a percentile bootstrap with a fixed seed,
so the same samples always give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
"""Resamples of a percentile-bootstrap interval."""
UNSTABLE_ABOVE = 0.10
LEVEL = 0.95
"""The confidence level of a median's interval."""
MIN_INTERVAL_SAMPLES = 6
"""The fewest samples whose order statistics give a ``LEVEL`` interval of the median."""


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
    ci_low: float | None
    ci_high: float | None
    """Order-statistic 95% interval of the median (``median_interval``); None with fewer than
    ``MIN_INTERVAL_SAMPLES`` samples."""
    ci_level: float | None
    """The interval's exact coverage (at least 0.95), or None."""
    unstable: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def relative_iqr(samples: list[float]) -> float:
    """IQR / median: the spread that decides stability (cheap: no bootstrap)."""
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return float((q3 - q1) / median) if median > 0 else 0.0


def median_interval(
    samples: Sequence[float] | np.ndarray, level: float = LEVEL
) -> tuple[float, float, float] | None:
    """The distribution-free interval of the median from order statistics, and its exact
    coverage: [x₍ⱼ₎, x₍ₙ₋ⱼ₊₁₎] for the largest j with 1 − 2·P(B ≤ j − 1) ≥ ``level``, B ~
    Binomial(n, ½) (the count of samples below the true median). None when even the min–max
    (j = 1) covers less than ``level``: fewer than 6 samples at 95%."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = x.size
    below, j = 0.0, 0  # below: P(B ≤ j − 1)
    while j < n // 2:
        more = below + math.comb(n, j) / 2**n
        if 1 - 2 * more < level:
            break
        below, j = more, j + 1
    if j == 0:
        return None
    return float(x[j - 1]), float(x[n - j]), 1 - 2 * below


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
    interval = median_interval(x)
    ci_low, ci_high, ci_level = interval if interval else (None, None, None)
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
        ci_level=ci_level,
        unstable=relative_iqr(samples) > unstable_above,
    )
