"""The report's plots of one task's rows: accuracy against time with the Pareto front,
scaling with fitted exponents, the backends side by side, convergence curves, and time over
commits.

A series is one ``label · backend · dtype``; ``Styles`` gives it the same look in every plot
of a page: the colour names the method (with its distinguishing parameters), the marker
shape the backend, a hollow marker the second dtype.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from harness.report import svg
from harness.report.analysis import pareto_front, scaling_exponent
from harness.report.markup import count, seconds
from harness.report.rows import Row, series_name
from harness.results.compare import CaseComparison

SECONDS_LABEL = "median time (s)"
CURVE_POINTS = 60
"""A convergence curve longer than this is drawn through this many of its steps."""


class Styles:
    """One look per series, fixed for all plots of a page."""

    def __init__(self, rows: Sequence[Row]):
        self.labels = list(dict.fromkeys(r.label for r in rows))
        self.backends = list(dict.fromkeys(r.backend for r in rows))
        self.dtypes = sorted({r.dtype for r in rows}, reverse=True)  # float64 before float32

    def of(self, row: Row) -> svg.Style:
        return svg.Style(
            color=svg.PALETTE[self.labels.index(row.label) % len(svg.PALETTE)],
            marker=self.marker(row.backend),
            filled=self.dtypes.index(row.dtype) % 2 == 0,
        )

    def marker(self, backend: str) -> str:
        return svg.MARKERS[self.backends.index(backend) % len(svg.MARKERS)]

    def key(self) -> str:
        """The page's legend, once for all its plots: colour, shape, fill."""
        grey = "#555"
        entries = [
            (label, svg.Style(svg.PALETTE[i % len(svg.PALETTE)]))
            for i, label in enumerate(self.labels)
        ]
        entries += [(backend, svg.Style(grey, self.marker(backend))) for backend in self.backends]
        entries += [
            (dtype, svg.Style(grey, filled=i % 2 == 0)) for i, dtype in enumerate(self.dtypes)
        ]
        return f'<div class="key">{svg.legend(entries)}</div>'


def _time_tip(row: Row) -> str:
    """What a point of a row says beyond its series' name."""
    low_high = row.interval
    interval = f" [{seconds(low_high[0])} – {seconds(low_high[1])}]" if low_high else ""
    reps = f", {len(row.ok)} repetitions" if len(row.ok) > 1 else ""
    return f"{row.size_text}: {seconds(row.median_s)}{interval}{reps}"


def accuracy_vs_time(
    rows: Sequence[Row], metric: str, styles: Styles, title: str, hidden: bool = False
) -> str:
    """Error against time for one size and problem; the Pareto front (no other case both
    faster and more accurate) is ringed and joined by a dashed step line. Empty when no row
    has the metric; ``hidden`` until the page's metric selector picks it."""
    judged = [
        (row, (t, e))
        for row in rows
        if (t := row.median_s) is not None and (e := row.metric(metric)) is not None
    ]
    if not judged:
        return ""
    coords = [coord for _, coord in judged]
    front = set(pareto_front(coords))
    series: dict[str, svg.Series] = {}
    for i, (row, (t, e)) in enumerate(judged):
        s = series.setdefault(series_name(row), svg.Series(series_name(row), styles.of(row)))
        s.points.append(
            svg.Point(
                t,
                e,
                f"{_time_tip(row)}\n{metric} {e:.3g}" + ("\nPareto front" if i in front else ""),
                x_range=row.interval,
                y_range=row.metric_range(metric),
                highlight=i in front,
            )
        )
    ordered = sorted(front, key=lambda i: coords[i])
    front_line = svg.Series(
        "Pareto front",
        svg.Style("#444"),
        [svg.Point(*coords[i], "") for i in ordered],
        line="step",
        markers=False,
        dashed=True,
    )
    x = svg.Axis.fit(SECONDS_LABEL, [c[0] for c in coords], format=seconds)
    y = svg.Axis.fit(metric.replace("_", " "), [c[1] for c in coords])
    chart = svg.plot([front_line, *series.values()], x, y, f"{metric} against time, {title}")
    return svg.figure(
        chart,
        f"{title}: {metric} against median time; ringed: the Pareto front; bars: the interval.",
        data_metric=metric,
        hidden=hidden,
    )


def scaling(rows: Sequence[Row], styles: Styles, size_names: str, title: str) -> str:
    """Median time against size (the product of the size's dimensions), log-log, one line per
    series, each with its least-squares exponent k (time ∝ size^k) in the legend."""
    series: dict[str, svg.Series] = {}
    for row in sorted(rows, key=lambda r: r.size_elements):
        median_s = row.median_s
        if median_s is None:
            continue
        s = series.setdefault(
            series_name(row), svg.Series(series_name(row), styles.of(row), line="straight")
        )
        s.points.append(
            svg.Point(row.size_elements, median_s, _time_tip(row), y_range=row.interval)
        )
    entries = []
    for s in series.values():
        k = scaling_exponent([p.x for p in s.points], [p.y for p in s.points])
        entries.append((f"{s.name}: k = {k:.2f}" if k is not None else s.name, s.style))
    points = [p for s in series.values() for p in s.points]
    x = svg.Axis.fit(f"size ({size_names})", [p.x for p in points], format=count)
    y = svg.Axis.fit(SECONDS_LABEL, [p.y for p in points], format=seconds)
    return svg.figure(
        svg.plot(list(series.values()), x, y, f"time against size, {title}"),
        f"{title}: time against size, log-log; k is the fitted exponent, time ∝ size^k.",
        svg.legend(entries, lines=True),
    )


def backend_comparison(rows: Sequence[Row], styles: Styles, title: str) -> str:
    """For one size and problem, each method's time on every backend, one line per method
    and dtype: the marker's shape names the backend."""
    measured = [(row, t) for row in rows if (t := row.median_s) is not None]
    names = list(dict.fromkeys(f"{r.label} · {r.dtype}" for r, _ in measured))
    series: dict[str, svg.Series] = {}
    for row, median_s in measured:
        style = svg.Style(
            svg.PALETTE[styles.backends.index(row.backend) % len(svg.PALETTE)],
            styles.marker(row.backend),
        )
        s = series.setdefault(row.backend, svg.Series(row.backend, style))
        s.points.append(
            svg.Point(
                median_s,
                names.index(f"{row.label} · {row.dtype}"),
                f"{row.label} · {row.dtype}\n{_time_tip(row)}",
                x_range=row.interval,
            )
        )
    x = svg.Axis.fit(SECONDS_LABEL, [t for _, t in measured], format=seconds)
    y = svg.Axis.categorical("method · dtype", names)
    return svg.figure(
        svg.plot(list(series.values()), x, y, f"backends side by side, {title}"),
        f"{title}: median time of each method on each backend; bars: the interval.",
        svg.legend([(s.name, s.style) for s in series.values()]),
    )


def convergence(
    rows: Sequence[Row], metric: str, along: str, styles: Styles, title: str, hidden: bool = False
) -> str:
    """``metric`` after every step of the iterative methods, against the step number or the
    seconds to it (``along``); one line per repetition. Empty when no curve has the metric;
    ``hidden`` until the page's metric selector picks it."""
    series = []
    for row in rows:
        for curve in row.curves:
            points = [
                svg.Point(
                    point[along],
                    point[metric],
                    f"step {point['step']}, {seconds(point.get('seconds'))}: {point[metric]:.3g}",
                )
                for point in thin(curve)
                if point.get(along) is not None and point.get(metric) is not None
            ]
            if points:
                series.append(svg.Series(series_name(row), styles.of(row), points, line="straight"))
    points = [p for s in series for p in s.points]
    if not points:
        return ""
    x = (
        svg.Axis.fit("step", [p.x for p in points], log=False)
        if along == "step"
        else svg.Axis.fit(
            "seconds from the start", [p.x for p in points], log=False, format=seconds
        )
    )
    y = svg.Axis.fit(metric.replace("_", " "), [p.y for p in points])
    return svg.figure(
        svg.plot(series, x, y, f"{metric} against {along}, {title}"),
        f"{title}: {metric} after each step, against the {along}.",
        data_metric=metric,
        hidden=hidden,
    )


VERDICT_COLORS = {
    "slower": "#d62728",
    "faster": "#2ca02c",
    "same": "#7f7f7f",
    "unstable": "#ff7f0e",
    "not comparable": "#9467bd",
}


def ratios(rows: Sequence[CaseComparison], title: str) -> str:
    """The time ratio new/base of every case both runs measured, sorted, with its bootstrap
    interval; the colour is the verdict."""
    measured = sorted(
        ((row, ratio) for row in rows if (ratio := row.ratio) is not None),
        key=lambda pair: pair[1],
    )
    series: dict[str, svg.Series] = {}
    for rank, (row, ratio) in enumerate(measured, start=1):
        verdict = row.verdict
        style = svg.Style(VERDICT_COLORS.get(verdict, "#444"), filled=not row.accuracy_regressed)
        s = series.setdefault(verdict, svg.Series(verdict, style))
        i = row.identity
        s.points.append(
            svg.Point(
                rank,
                ratio,
                f"{i['method']} · {i['backend']} · {i['dtype']} · "
                f"{'×'.join(map(str, i['sizes'].values()))}\nnew/base {ratio:.3f}"
                + (f" (p={row.p_value:.2g})" if row.p_value is not None else ""),
                y_range=row.interval,
            )
        )
    ones = [svg.Point(0.5, 1.0, ""), svg.Point(len(measured) + 0.5, 1.0, "")]
    unit = svg.Series(
        "no change", svg.Style("#999"), ones, line="straight", markers=False, dashed=True
    )
    x = svg.Axis.fit("cases, by ratio", [0.5, len(measured) + 0.5], log=False)
    low_high = [v for row, ratio in measured for v in (row.interval or (ratio, ratio))]
    y = svg.Axis.fit("time new / base", [*low_high, 1.0])
    return svg.figure(
        svg.plot([unit, *series.values()], x, y, f"time ratios, {title}"),
        f"{title}: each case's median time in the new run over the base run's, sorted; bars: "
        "the bootstrap interval; a hollow marker: less accurate.",
        svg.legend([(s.name, s.style) for s in series.values()]),
    )


def thin(curve: list[dict[str, float]], most: int = CURVE_POINTS) -> list[dict[str, float]]:
    """At most ``most`` points of a long curve, evenly spaced in steps, first and last kept."""
    if len(curve) <= most:
        return curve
    picks = sorted({round(i * (len(curve) - 1) / (most - 1)) for i in range(most)})
    return [curve[i] for i in picks]


def history(rows_by_commit: dict[str, list[Row]], styles: Styles, title: str) -> str:
    """Median time of each series at each commit (the median over that commit's runs); empty
    when nothing was measured."""
    commits = list(rows_by_commit)
    series: dict[str, svg.Series] = {}
    for position, (commit, rows) in enumerate(rows_by_commit.items()):
        times: dict[str, list[tuple[Row, float]]] = {}
        for row in rows:
            if (median_s := row.median_s) is not None:
                times.setdefault(series_name(row), []).append((row, median_s))
        for name, same in times.items():
            median = statistics.median(t for _, t in same)
            s = series.setdefault(name, svg.Series(name, styles.of(same[0][0]), line="straight"))
            s.points.append(svg.Point(position, median, f"{commit}: {seconds(median)}"))
    points = [p for s in series.values() for p in s.points]
    if not points:
        return ""
    x = svg.Axis.categorical("commit", commits)
    y = svg.Axis.fit(SECONDS_LABEL, [p.y for p in points], format=seconds)
    return svg.figure(
        svg.plot(list(series.values()), x, y, f"time over commits, {title}"),
        f"{title}: median time at each commit, oldest first.",
    )
