"""The report's plots of one task's rows: accuracy against time with the Pareto front (and a
small one for the overview), the timing samples' distributions, scaling with fitted
exponents, the backends side by side, convergence curves, and time over commits.

A series is one ``label · backend · dtype``; ``Styles`` gives it the same look in every plot
of a page: the colour names the method (with its distinguishing parameters), the marker
shape the backend, the marker's fill and the line's dash the dtype (float64 solid, float32
hollow and dashed, bfloat16 dotted, float16 tinted and dash-dotted). Every figure has its
log/linear button and its data as CSV (``harness.report.figure``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np

from harness.report import svg
from harness.report.analysis import MIN_SIZES, pareto_front, power_law, shape_family
from harness.report.figure import SMALL, Table, figure
from harness.report.markup import count, seconds
from harness.report.rows import (
    Declared,
    Row,
    metric_names,
    problem_groups,
    problem_title,
    series_name,
)
from harness.results.compare import CaseComparison

SECONDS_LABEL = "median time (s)"
CURVE_POINTS = 60
"""A convergence curve longer than this is drawn through this many of its steps."""
DTYPES = ("float64", "float32", "bfloat16", "float16")
"""The dtypes in the order of ``svg.FILLS`` and ``svg.DASHES``; others follow, by name."""
VIOLIN_FROM = 8
"""A case with fewer samples shows each sample as a tick, not a violin."""
VIOLIN_POINTS = 24
"""Points along each side of a violin's outline."""
ROW_HEADER = ("method", "backend", "dtype", "size")
GREY = "#555"


def _row_fields(row: Row) -> tuple[object, ...]:
    return (row.label, row.backend, row.dtype, row.size_text)


class Styles:
    """One look per series, fixed for all plots of a page."""

    def __init__(self, rows: Sequence[Row]):
        self.labels = list(dict.fromkeys(r.label for r in rows))
        self.backends = list(dict.fromkeys(r.backend for r in rows))
        self.dtypes = sorted({r.dtype for r in rows}, key=self._dtype_rank)

    @staticmethod
    def _dtype_rank(dtype: str) -> tuple[int, str]:
        return (DTYPES.index(dtype), "") if dtype in DTYPES else (len(DTYPES), dtype)

    def of(self, row: Row) -> svg.Style:
        return svg.Style(
            color=svg.PALETTE[self.labels.index(row.label) % len(svg.PALETTE)],
            marker=self.marker(row.backend),
            fill=self.fill(row.dtype),
            dash=self.dash(row.dtype),
        )

    def marker(self, backend: str) -> str:
        return svg.MARKERS[self.backends.index(backend) % len(svg.MARKERS)]

    def _dtype_index(self, dtype: str) -> int:
        unknown = [d for d in self.dtypes if d not in DTYPES]
        return DTYPES.index(dtype) if dtype in DTYPES else len(DTYPES) + unknown.index(dtype)

    def fill(self, dtype: str) -> svg.Fill:
        return svg.FILLS[self._dtype_index(dtype) % len(svg.FILLS)]

    def dash(self, dtype: str) -> str | None:
        return svg.DASHES[self._dtype_index(dtype) % len(svg.DASHES)]

    def key(self, rows: Sequence[Row] | None = None) -> str:
        """The legend of the page's plots (or of those of ``rows`` alone): a list each for
        the colours (methods), the shapes (backends) and the fills and dashes (dtypes)."""
        shown = {(r.label, r.backend, r.dtype) for r in rows} if rows is not None else None
        labels, backends, dtypes = (
            [v for v in values if shown is None or any(s[i] == v for s in shown)]
            for i, values in enumerate((self.labels, self.backends, self.dtypes))
        )
        methods = [
            (label, svg.Style(svg.PALETTE[self.labels.index(label) % len(svg.PALETTE)]))
            for label in labels
        ]
        shapes = [(backend, svg.Style(GREY, self.marker(backend))) for backend in backends]
        fills = [
            (dtype, svg.Style(GREY, fill=self.fill(dtype), dash=self.dash(dtype)))
            for dtype in dtypes
        ]
        return (
            '<div class="key">'
            + svg.legend(methods, title="method (colour)")
            + svg.legend(shapes, title="backend (shape)")
            + svg.legend(fills, lines=True, title="dtype (fill, line)")
            + "</div>"
        )


def _time_tip(row: Row) -> str:
    """What a point of a row says beyond its series' name."""
    low_high = row.interval
    interval = f" [{seconds(low_high[0])} – {seconds(low_high[1])}]" if low_high else ""
    reps = f", {len(row.ok)} repetitions" if len(row.ok) > 1 else ""
    return f"{row.size_text}: {seconds(row.median_s)}{interval}{reps}"


def _judged(rows: Sequence[Row], metric: str) -> list[tuple[Row, tuple[float, float]]]:
    """The rows with a time and ``metric``, with (time, metric)."""
    return [
        (row, (t, e))
        for row in rows
        if (t := row.median_s) is not None and (e := row.metric(metric)) is not None
    ]


def accuracy_vs_time(
    rows: Sequence[Row],
    metric: str,
    styles: Styles,
    title: str,
    hidden: bool = False,
    size: tuple[int, int] = (svg.WIDTH, svg.HEIGHT),
    legend_html: str = "",
    higher_is_better: bool = False,
) -> str:
    """``metric`` against time for one size and problem; the Pareto front (no other case both
    faster and better: a lower metric, or a higher one when ``higher_is_better``) is a grey
    staircase under its points, drawn larger in their own colours. Empty when no row has
    the metric; ``hidden`` until the page's metric selector picks it."""
    judged = _judged(rows, metric)
    if not judged:
        return ""
    coords = [coord for _, coord in judged]
    front = set(pareto_front(coords, higher_is_better))
    series: dict[str, svg.Series] = {}
    table = Table((*ROW_HEADER, SECONDS_LABEL, "low", "high", metric, "pareto_front"))
    for i, (row, (t, e)) in enumerate(judged):
        s = series.setdefault(series_name(row), svg.Series(series_name(row), styles.of(row)))
        tip = f"{_time_tip(row)}\n{metric} {e:.3g}" + ("\nPareto front" if i in front else "")
        s.points.append(
            svg.Point(
                t,
                e,
                tip,
                x_range=row.interval,
                y_range=row.metric_range(metric),
                highlight=i in front,
            )
        )
        table.rows.append((*_row_fields(row), t, *(row.interval or (None, None)), e, i in front))
    ordered = sorted(front, key=lambda i: coords[i])
    front_line = svg.Series(
        "Pareto front",
        svg.Style("#333"),
        [svg.Point(*coords[i], "") for i in ordered],
        line="step",
        markers=False,
        role="front",
    )
    x = svg.Axis.fit(SECONDS_LABEL, [c[0] for c in coords], format=seconds)
    y = svg.Axis.fit(metric.replace("_", " "), [c[1] for c in coords])
    better = "higher is better: upper left" if higher_is_better else "lower is better: lower left"
    return figure(
        [front_line, *series.values()],
        x,
        y,
        f"{metric} against time, {title}",
        f"{title}: {metric} against median time ({better} is best); the grey staircase joins "
        "the Pareto front (larger marks); bars: the interval.",
        legend_html,
        table=table,
        size=size,
        data_metric=metric,
        hidden=hidden,
    )


def overview_front(
    rows: Sequence[Row], styles: Styles, title: str, declared: Declared | None = None
) -> str:
    """A small accuracy-against-time plot of a task's main metric (``Declared.main_metric``
    of what the run stored; none: the fallback of a run stored without declarations) with
    its Pareto front in the metric's direction, for the overview; of the largest size and
    problem when ``rows`` span several (a front across sizes compares unlike cases), with
    the key of what it shows. Empty when no row has a time and the metric."""
    declared = declared or Declared()
    metric = declared.main_metric(metric_names(rows))
    if metric is None:
        return ""
    groups = [g for g in problem_groups(rows).values() if _judged(g, metric)]
    if not groups:
        return ""
    group = max(groups, key=lambda g: (g[0].size_elements, len(_judged(g, metric))))
    return accuracy_vs_time(
        group,
        metric,
        styles,
        f"{title}, {problem_title(group[0])}",
        size=SMALL,
        legend_html=styles.key(group),
        higher_is_better=declared.higher_is_better(metric),
    )


def _samples(row: Row) -> list[tuple[int, float]]:
    """Every stored timing sample (seconds per call) of the row's measured repetitions,
    with its repetition."""
    return [(r.repetition, s) for r in row.ok for s in (r.samples or [])]


def _violin(samples: np.ndarray, at: float, half_width: float = 0.4) -> svg.Polygon:
    """The outline of a violin at category ``at``: a Gaussian kernel density of
    log10(samples) (Silverman's bandwidth, 1.06·σ·n^(-1/5)), from the least sample to the
    greatest, scaled to ``half_width`` at its widest."""
    logs = np.log10(samples)
    bandwidth = 1.06 * logs.std() * len(logs) ** -0.2
    grid = np.linspace(logs.min(), logs.max(), VIOLIN_POINTS)
    density = np.exp(-0.5 * ((grid[:, None] - logs[None, :]) / bandwidth) ** 2).sum(axis=1)
    widths = half_width * density / density.max()
    upper = [(10**g, at + w) for g, w in zip(grid, widths, strict=True)]
    lower = [(10**g, at - w) for g, w in zip(grid[::-1], widths[::-1], strict=True)]
    return tuple(upper + lower)


def _case_distribution(row: Row, name: str, at: int, styles: Styles) -> svg.Series:
    """One case's samples at category ``at``: a violin (or a tick per sample, below
    ``VIOLIN_FROM``), the interquartile box, whiskers from the least to the greatest sample
    and a mark at the median."""
    samples = np.array(sorted(s for _, s in _samples(row)))
    q1, median, q3 = (float(q) for q in np.percentile(samples, [25, 50, 75]))
    low, high = float(samples[0]), float(samples[-1])
    areas: list[svg.Polygon] = []
    if len(samples) < VIOLIN_FROM:
        areas += [((float(s), at - 0.25), (float(s), at + 0.25)) for s in samples]
    elif 0 < low < high:  # a density of log10(time): none for equal samples
        areas.append(_violin(samples, at))
    areas.append(((q1, at - 0.1), (q3, at - 0.1), (q3, at + 0.1), (q1, at + 0.1)))
    reps = f" over {len(row.ok)} repetitions" if len(row.ok) > 1 else ""
    tip = (
        f"{row.size_text}: {len(samples)} samples{reps}\nmedian {seconds(median)}, "
        f"IQR {seconds(q1)} – {seconds(q3)}, range {seconds(low)} – {seconds(high)}"
    )
    point = svg.Point(median, at, tip, x_range=(low, high))
    return svg.Series(name, styles.of(row), [point], areas=areas)


def distribution(rows: Sequence[Row], styles: Styles, title: str) -> str:
    """The stored timing samples of each case (seconds per call, all repetitions together)
    as a violin with its box, one case a line, so noise and bimodality show and not only a
    median. Empty when no row has samples."""
    sampled = [row for row in rows if _samples(row)]
    if not sampled:
        return ""
    names = [series_name(row) for row in sampled]
    if len(set(names)) < len(names):  # rows of several sizes or problems
        names = [f"{name} · {problem_title(row)}" for name, row in zip(names, sampled, strict=True)]
    series = [
        _case_distribution(row, n, i, styles)
        for i, (row, n) in enumerate(zip(sampled, names, strict=True))
    ]
    table = Table(
        (*ROW_HEADER, "repetition", "seconds per call"),
        [(*_row_fields(row), rep, s) for row in sampled for rep, s in _samples(row)],
    )
    every = [s for row in sampled for _, s in _samples(row)]
    x = svg.Axis.fit("seconds per call", every, format=seconds)
    y = svg.Axis.categorical("case", names)
    return figure(
        series,
        x,
        y,
        f"timing samples, {title}",
        f"{title}: every timing sample of each case (seconds per call; all repetitions); "
        f"violin: their density, box: the middle half, whiskers: least to greatest, mark: "
        f"the median. Fewer than {VIOLIN_FROM} samples: a tick each.",
        table=table,
        size=(svg.WIDTH, _category_height(len(names))),
    )


def _category_height(categories: int) -> int:
    """A plot's drawing height with room for ``categories`` rows."""
    return max(svg.HEIGHT, svg.MARGIN_TOP + svg.MARGIN_BOTTOM + 24 * categories)


def scaling(rows: Sequence[Row], styles: Styles, size_names: str, title: str) -> str:
    """Median time against size (the product of the size's dimensions), log-log, a line per
    series and shape family (``analysis.shape_family``): where the family has at least
    ``analysis.MIN_SIZES`` sizes, the fitted power law, with its exponent k (time ∝ size^k)
    in the legend; else the points joined, and no exponent."""
    series: dict[tuple[str, str], svg.Series] = {}
    for row in sorted(rows, key=lambda r: r.size_elements):
        median_s = row.median_s
        if median_s is None:
            continue
        name = series_name(row)
        s = series.setdefault(
            (name, shape_family(row.sizes)), svg.Series(name, styles.of(row), line="straight")
        )
        s.points.append(
            svg.Point(row.size_elements, median_s, _time_tip(row), y_range=row.interval)
        )
    fits: list[svg.Series] = []
    exponents: dict[str, list[str]] = {}
    for (name, family), s in series.items():
        fitted = _fitted(s)
        if fitted is not None:
            s.line = "none"  # the fit is its line
            fits.append(fitted[0])
            exponents.setdefault(name, []).append(f"k = {fitted[1]:.2f} ({family})")
    entries = [
        (f"{s.name}: {', '.join(exponents[s.name])}" if s.name in exponents else s.name, s.style)
        for s in series.values()
    ]
    points = [p for s in series.values() for p in s.points]
    x = svg.Axis.fit(f"size ({size_names})", [p.x for p in points], format=count)
    y = svg.Axis.fit(SECONDS_LABEL, [p.y for p in points], format=seconds)
    return figure(
        [*fits, *series.values()],
        x,
        y,
        f"time against size, {title}",
        f"{title}: time against size, log-log. Through {MIN_SIZES} sizes or more of one "
        "shape family (8×8, 16×16, 32×32), the line is a least-squares fit time ∝ size^k, k in the "
        "legend; with fewer sizes the points are joined and no k is given.",
        svg.legend(entries, lines=True),
    )


def _ceilings(rows: Sequence[Row]) -> dict[str, tuple[float, float]]:
    """The measured peak GFLOP/s and bandwidth GB/s (the best of copy and triad) of each
    backend and dtype the rows ran on, from the machine each case records."""
    found = {}
    for row in rows:
        for record in row.ok:
            measured = (record.machine or {}).get("roofline") or {}
            peak = measured.get("gemm_gflops")
            bandwidth = max(measured.get("copy_gbs") or 0.0, measured.get("triad_gbs") or 0.0)
            if peak and bandwidth:
                found[f"{record.backend} · {record.dtype}"] = (peak, bandwidth)
    return found


def roofline(rows: Sequence[Row], styles: Styles, title: str) -> str:
    """The roofline model (Williams, Waterman and Patterson, CACM 2009): each case with a flop
    and a bytes model at its arithmetic intensity (flops per byte moved) and its achieved
    GFLOP/s, log-log, under the ceilings of its backend and dtype: the memory roof
    (bandwidth × intensity) up to the ridge point, then the measured GEMM peak. Empty when no
    case has both models."""
    series: dict[str, svg.Series] = {}
    intensities = []
    for row in rows:
        gflops, moved = row.gflops, [r.bytes for r in row.ok if r.bytes and r.flops]
        if gflops is None or not moved:
            continue
        flops = [r.flops for r in row.ok if r.bytes and r.flops]
        intensity = statistics.median(f / b for f, b in zip(flops, moved, strict=True))
        intensities.append(intensity)
        name = series_name(row)
        s = series.setdefault(name, svg.Series(name, styles.of(row)))
        share = row.bandwidth_fraction
        tip = f"{row.size_text}: {intensity:.3g} flop/byte, {gflops:.3g} GFLOP/s" + (
            f", {share:.0%} of bandwidth" if share is not None else ""
        )
        s.points.append(svg.Point(intensity, gflops, tip))
    if not series:
        return ""
    ceilings = _ceilings(rows)
    ridges = [peak / bandwidth for peak, bandwidth in ceilings.values()]
    low, high = min(intensities) / 4, max([max(intensities) * 4, *(2 * r for r in ridges)])
    roofs = []
    for n, (name, (peak, bandwidth)) in enumerate(ceilings.items()):
        ridge = peak / bandwidth
        corners = [(low, bandwidth * low), (ridge, peak), (high, peak)]
        if ridge <= low:
            corners = [(low, peak), (high, peak)]
        style = svg.Style(GREY, dash=svg.DASHES[1 + n % (len(svg.DASHES) - 1)])
        points = [
            svg.Point(x, y, f"{name}: {y:.3g} GFLOP/s at {x:.3g} flop/byte") for x, y in corners
        ]
        label = f"roof {name}: {bandwidth:.3g} GB/s, {peak:.3g} GFLOP/s"
        roofs.append(svg.Series(label, style, points, line="straight", markers=False))
    points = [p for s in [*roofs, *series.values()] for p in s.points]
    x = svg.Axis.fit("arithmetic intensity (flop/byte)", [p.x for p in points])
    y = svg.Axis.fit("GFLOP/s", [p.y for p in points])
    legend = svg.legend([(s.name, s.style) for s in [*series.values(), *roofs]], lines=True)
    return figure(
        [*roofs, *series.values()],
        x,
        y,
        f"roofline, {title}",
        f"{title}: achieved GFLOP/s against flops per byte moved (the methods' flop and bytes "
        "models), under the measured roofs: bandwidth × intensity, then the GEMM peak. A point "
        "above the memory roof ran from cache.",
        legend,
    )


def _fitted(s: svg.Series) -> tuple[svg.Series, float] | None:
    """The power law through the points of ``s`` (sizes of one shape family) as a line in
    its style across their sizes, with its exponent; ``None`` below ``MIN_SIZES`` sizes."""
    sizes = [p.x for p in s.points]
    law = power_law(sizes, [p.y for p in s.points])
    if law is None:
        return None
    ends = [svg.Point(v, law(v), "") for v in (min(sizes), max(sizes))]
    line = svg.Series(f"fit {s.name}", s.style, ends, "straight", markers=False, role="fit")
    return line, law.exponent


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
    return figure(
        list(series.values()),
        x,
        y,
        f"backends side by side, {title}",
        f"{title}: median time of each method on each backend; bars: the interval.",
        svg.legend([(s.name, s.style) for s in series.values()]),
        size=(svg.WIDTH, _category_height(len(names))),
    )


def convergence(
    rows: Sequence[Row], metric: str, along: str, styles: Styles, title: str, hidden: bool = False
) -> str:
    """``metric`` after every step of the iterative methods, against the step number or the
    seconds to it (``along``); one line per repetition, and a legend of the series with a
    curve. Empty when no curve has the metric; ``hidden`` until the page's metric selector
    picks it."""
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
    return figure(
        series,
        x,
        y,
        f"{metric} against {along}, {title}",
        f"{title}: {metric} after each step, against the {along}.",
        svg.legend([(s.name, s.style) for s in series], lines=True),
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
        style = svg.Style(
            VERDICT_COLORS.get(verdict, "#444"),
            fill="hollow" if row.accuracy_regressed else "solid",
        )
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
    return figure(
        [unit, *series.values()],
        x,
        y,
        f"time ratios, {title}",
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
    return figure(
        list(series.values()),
        x,
        y,
        f"time over commits, {title}",
        f"{title}: median time at each commit, oldest first.",
    )
