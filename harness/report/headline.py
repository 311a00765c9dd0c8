"""What a task's results say, in a few lines: who is on the accuracy–time Pareto front, who
is fastest at each accuracy level, which backend is fastest for each method, and which cases
failed or were unstable.

Every finding is counted over the task's *comparison groups*, the rows of one size and
problem (``rows.problem_groups``): methods are only ever compared on the same input.

- **Pareto front**: in each group, the rows no other row beats on both median time and the
  main metric (``analysis.pareto_front``, in the metric's direction); a method is on the
  front in ``k`` of ``n`` groups when one of its rows (any backend or dtype) is.
- **Fastest at an accuracy level**: for each decade ``10^-d`` between the largest and the
  smallest error measured, the fastest row of each group whose error is ≤ ``10^-d``; the
  method fastest in the most groups wins the level. Consecutive levels with the same winner
  are one ``Level`` (``loosest`` … ``tightest``). An error counts by its magnitude (a
  signed error of −5e-6 is 5e-6), and one at or below ``ERROR_FLOOR`` (float64 rounding:
  zero, −2e-16, 4e-16) as ``ERROR_FLOOR``: rounding noise never decides a level.
  For a higher-is-better metric (an accuracy) a level is a value to reach, ≥ the level,
  loosest (lowest) first: the decades ``10^d`` between the smallest and the largest value
  when they are positive and span a factor of 10 or more, else evenly spaced round values
  (``0.5, 0.6, … 1``; ``higher_levels``). Such a value counts as it is.
- **Best backend**: per method and dtype, in each group where it was measured on two
  backends or more, the backend with the smallest median time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.analysis import pareto_front
from harness.report.rows import Row, problem_groups
from harness.run.case import FAILED, Status

ERROR_FLOOR = 1e-15
"""Errors at or below this (float64 rounding, a few machine epsilons) are counted as this."""


@dataclass(frozen=True)
class Share:
    """``label`` holds in ``wins`` of ``of`` comparison groups; ``row`` is one such row."""

    label: str
    wins: int
    of: int
    row: Row


@dataclass(frozen=True)
class Level:
    """The method fastest at every level from ``loosest`` to ``tightest``: an error at most
    the level, or a higher-is-better metric at least it."""

    loosest: float
    tightest: float
    fastest: Share


@dataclass(frozen=True)
class Headline:
    metric: str | None
    measured: int
    """How many rows have a median time."""
    front: list[Share]
    levels: list[Level]
    backends: list[Share]
    """Per method, the backend fastest most often: ``Share.label`` is the backend,
    ``Share.row.label`` the method."""
    failed: list[Row]
    unstable: list[Row]
    higher_is_better: bool = False
    """Whether a larger ``metric`` is better: the levels are then values to reach."""


def _value(row: Row, metric: str, higher_is_better: bool) -> float | None:
    """The row's ``metric`` as the findings count it: an error by its magnitude, at least
    ``ERROR_FLOOR``; a higher-is-better value as it is."""
    value = row.metric(metric)
    if value is None or not math.isfinite(value):
        return None
    return value if higher_is_better else max(abs(value), ERROR_FLOOR)


def _judged(
    rows: Sequence[Row], metric: str, higher_is_better: bool = False
) -> dict[str, list[tuple[Row, float, float]]]:
    """Per comparison group, the measured rows with their median time and metric."""
    groups: dict[str, list[tuple[Row, float, float]]] = {}
    for title, group in problem_groups(rows).items():
        judged = [
            (row, t, e)
            for row in group
            if (t := row.median_s) is not None
            and (e := _value(row, metric, higher_is_better)) is not None
        ]
        if judged:
            groups[title] = judged
    return groups


def _shares(winners: Sequence[Row], of: int) -> list[Share]:
    """The labels of ``winners``, most frequent first, each with one of its rows."""
    counts = Counter(row.label for row in winners)
    first = {row.label: row for row in reversed(winners)}
    return [Share(label, n, of, first[label]) for label, n in counts.most_common()]


def pareto_methods(rows: Sequence[Row], metric: str, higher_is_better: bool = False) -> list[Share]:
    """The method labels on the Pareto front of ``metric`` against time, most often first."""
    groups = _judged(rows, metric, higher_is_better)
    winners: list[Row] = []
    for judged in groups.values():
        front = pareto_front([(t, e) for _, t, e in judged], higher_is_better)
        winners += {judged[i][0].label: judged[i][0] for i in front}.values()
    return _shares(winners, len(groups))


def higher_levels(values: Sequence[float]) -> list[float]:
    """The levels of a higher-is-better metric, lowest (loosest) first, the first at or
    below every value: decades when the values are positive and span a factor of 10 or more,
    else multiples of a round step (1, 2 or 5 times a power of 10) about a fifth of their
    range."""
    low, high = min(values), max(values)
    if low > 0 and high >= 10 * low:
        return [
            10.0**d for d in range(math.floor(math.log10(low)), math.floor(math.log10(high)) + 1)
        ]
    if high == low:
        return [low]
    raw = (high - low) / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step), math.floor(high / step)
    return [float(f"{k * step:.12g}") for k in range(first, last + 1)]


def fastest_by_level(
    rows: Sequence[Row], metric: str, higher_is_better: bool = False
) -> list[Level]:
    """The fastest method at each level of ``metric`` (each decade of error; for a
    higher-is-better metric, ``higher_levels``), consecutive levels with one winner merged,
    loosest first."""
    groups = _judged(rows, metric, higher_is_better)
    values = [e for judged in groups.values() for _, _, e in judged]
    if not values:
        return []
    if higher_is_better:
        thresholds = higher_levels(values)
    else:
        top, bottom = math.ceil(math.log10(max(values))), math.floor(math.log10(min(values)))
        thresholds = [10.0**decade for decade in range(top, bottom - 1, -1)]

    def reaches(value: float, threshold: float) -> bool:
        return value >= threshold if higher_is_better else value <= threshold

    levels: list[Level] = []
    for threshold in thresholds:
        winners = [
            min((item for item in judged if reaches(item[2], threshold)), key=lambda i: i[1])[0]
            for judged in groups.values()
            if any(reaches(e, threshold) for _, _, e in judged)
        ]
        if not winners:
            continue
        best = _shares(winners, len(groups))[0]
        if levels and levels[-1].fastest.label == best.label:
            levels[-1] = Level(levels[-1].loosest, threshold, levels[-1].fastest)
        else:
            levels.append(Level(threshold, threshold, best))
    return levels


def best_backends(rows: Sequence[Row]) -> list[Share]:
    """Per method label (in order of appearance), the backend fastest in the most groups
    where the method ran on two backends or more at one dtype."""
    wins: dict[str, list[Row]] = {}
    for group in problem_groups(rows).values():
        same: dict[tuple[str, str], list[tuple[float, Row]]] = {}
        for row in group:
            if (t := row.median_s) is not None:
                same.setdefault((row.label, row.dtype), []).append((t, row))
        for (label, _), entries in same.items():
            if len({row.backend for _, row in entries}) > 1:
                wins.setdefault(label, []).append(min(entries, key=lambda e: e[0])[1])
    shares = []
    for fastest in wins.values():
        counts = Counter(row.backend for row in fastest)
        backend, n = counts.most_common(1)[0]
        row = next(r for r in fastest if r.backend == backend)
        shares.append(Share(backend, n, len(fastest), row))
    return shares


def headline(rows: Sequence[Row], metric: str | None, higher_is_better: bool = False) -> Headline:
    """The findings of one task's ``rows`` on its main ``metric`` (none: no accuracy
    findings), lower-is-better unless ``higher_is_better``."""
    return Headline(
        metric=metric,
        measured=sum(r.median_s is not None for r in rows),
        front=pareto_methods(rows, metric, higher_is_better) if metric else [],
        levels=fastest_by_level(rows, metric, higher_is_better) if metric else [],
        backends=best_backends(rows),
        failed=[r for r in rows if r.status in FAILED],
        unstable=[r for r in rows if r.unstable and r.status == Status.OK],
        higher_is_better=higher_is_better,
    )
