"""The report's plots (harness.report.charts, figure, svg, analysis) on the rows of a real
run: Pareto fronts in their methods' colours, dtype and backend told apart, log/linear
variants and CSV data in every figure, timing distributions from the stored samples,
exponents only through three sizes of one shape family, convergence legends, and near-zero
errors on log axes. The same figures in a real browser: test_report_browser_charts.py.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import subprocess
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import HARNESS

from harness.report import charts, svg
from harness.report.analysis import (
    log_floor,
    pareto_front,
    power_law,
    scaling_exponent,
    shape_family,
)
from harness.report.figure import Table, csv_text, data_url, figure
from harness.report.rows import Row, by_problem, group_repetitions, problem_groups, series_name
from harness.results.db import ResultsDB

SUITE = """
name: charts
repetitions: 2
timing: {warmup: 0, min_time: 0, min_samples: 10, budget: 0, threads: 1, roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[8, 8], [16, 16], [32, 32], [16, 32]]
    methods:
      - name: newton_schulz
        params: {steps: 3}
      - svd_polar
    backends: [numpy, torch]
    dtypes: [float64, float32, bfloat16, float16]
"""


def charted_rows(folder: Path) -> list[Row]:
    """The measured rows of a run of ``SUITE`` through the real CLI: newton_schulz (with
    convergence curves) and svd_polar (none; its alignment error is 0 or -2e-16), numpy and
    torch, four dtypes, three square sizes and one 1:2."""
    (folder / "charts.yaml").write_text(SUITE)
    db = folder / "r.sqlite"
    done = subprocess.run(
        [*HARNESS, "run", str(folder / "charts.yaml"), "--db", str(db), "--inline"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = ResultsDB(db)
    rows = group_repetitions(results.cases(1))
    results.close()
    return [r for r in rows if r.median_s is not None]


def charts_page(rows: list[Row]) -> str:
    """A page of every figure of ``rows``, framed as the report frames its pages (inline
    stylesheet and script)."""
    styles = charts.Styles(rows)
    figures = [charts.overview_front(rows, styles, "orthogonalize")]
    for title, group in problem_groups(rows).items():
        figures += [
            charts.accuracy_vs_time(group, "orthogonality_error", styles, title),
            charts.accuracy_vs_time(group, "alignment_error", styles, title),
            charts.distribution(group, styles, title),
            charts.backend_comparison(group, styles, title),
            charts.convergence(group, "orthogonality_error", "step", styles, title),
        ]
    figures += [charts.scaling(g, styles, "m·n", t) for t, g in by_problem(rows).items()]
    static = files("harness.report") / "static"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>charts</title>'
        f"<style>{(static / 'report.css').read_text()}</style></head><body>{styles.key()}"
        f'<div class="charts">{"".join(figures)}</div>'
        f"<script>{(static / 'report.js').read_text()}</script></body></html>"
    )


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    return charted_rows(tmp_path_factory.mktemp("charts"))


class Elements(HTMLParser):
    """Every start tag with its attributes, the text inside ``<figcaption>``, and the
    enclosing ``<g>``'s attributes of each element."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.groups: list[dict[str, str]] = [{}]
        self.captions: list[str] = []
        self._in_caption = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = {k: v or "" for k, v in attrs}
        self.elements.append((tag, found, self.groups[-1]))
        if tag == "g":
            self.groups.append(found)
        self._in_caption = tag == "figcaption"

    def handle_endtag(self, tag: str) -> None:
        if tag == "g":
            self.groups.pop()
        self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.captions.append(data)

    def having(self, tag: str, css_class: str) -> list[tuple[dict[str, str], dict[str, str]]]:
        return [(a, g) for t, a, g in self.elements if t == tag and css_class in a.get("class", "")]


def _csv(html: str) -> list[list[str]]:
    """The rows of the first CSV link in ``html``, decoded from its data URL."""
    href = next(a["href"] for _, a, _ in Elements(html).elements if "csv" in a.get("class", ""))
    prefix = "data:text/csv;charset=utf-8,"
    assert href.startswith(prefix)
    return list(csv.reader(io.StringIO(unquote(href[len(prefix) :]))))


def _marks(html: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        (a, g)
        for t, a, g in Elements(html).elements
        if "mark" in a.get("class", "").split() and t in ("path", "circle")
    ]


# analysis


def test_an_exponent_needs_three_sizes_of_one_shape_family():
    assert scaling_exponent([64, 128], [1.0, 8.0]) is None
    assert scaling_exponent([64, 64, 128], [1.0, 1.1, 8.0]) is None
    law = power_law([64, 128, 256], [1e-9 * n**3 for n in (64, 128, 256)])
    assert law is not None and law.exponent == pytest.approx(3.0)
    assert law(512) == pytest.approx(1e-9 * 512**3)
    assert shape_family({"m": 8, "n": 8}) == shape_family({"m": 32, "n": 32}) == "m:n=1:1"
    assert shape_family({"m": 16, "n": 32}) == "m:n=1:2" != shape_family({"m": 32, "n": 16})
    assert shape_family({"n": 100}) == shape_family({"n": 7}) == "n"


def test_a_log_floor_takes_zeros_and_rounding_but_not_real_negatives():
    assert log_floor([3e-15, 1e-12, -2e-16, 0.0]) == pytest.approx(1e-16)
    assert log_floor([3e-3, 0.5, 0.0]) == pytest.approx(1e-4)
    assert log_floor([1e-3, 0.5]) is None  # nothing to clamp
    assert log_floor([-0.5, 0.3, 2.0]) is None  # a real sign: the axis is linear
    assert log_floor([-1.0, 3.0]) is None
    assert log_floor([0.0, -1e-17]) is None  # nothing positive: linear


def test_a_log_axis_draws_near_zero_values_at_its_floor():
    axis = svg.Axis.fit("alignment error", [3e-15, 1e-12, -2e-16, 0.0])
    assert (axis.scale, axis.floor) == ("log", pytest.approx(1e-16))
    assert axis.fraction(-2e-16) == axis.fraction(0.0) == axis.fraction(1e-16) > 0
    assert axis.fraction(1e-12) < 1
    linear = axis.linear()
    assert (linear.scale, linear.floor, linear.low < -2e-16) == ("linear", None, True)
    assert svg.Axis.fit("gain", [-0.5, 0.3, 2.0]).scale == "linear"


# styles and legends


def test_dtype_and_backend_look_different_and_every_key_glyph_is_distinct(rows):
    styles = charts.Styles(rows)
    assert styles.dtypes == ["float64", "float32", "bfloat16", "float16"]
    assert len({styles.fill(d) for d in styles.dtypes}) == 4
    assert len({styles.dash(d) for d in styles.dtypes}) == 4
    assert styles.backends == ["numpy", "torch"]
    assert styles.marker("numpy") != styles.marker("torch")
    looks = {styles.of(r) for r in rows}
    assert len(looks) == len({series_name(r) for r in rows})  # one look per series
    key = styles.key()
    swatches = re.findall(r'<svg class="swatch"[^>]*>(.*?)</svg>([^<]*)</li>', key)
    names = [name for _, name in swatches]
    assert names == ["newton_schulz", "svd_polar", "numpy", "torch", *styles.dtypes]
    glyphs = [glyph for glyph, _ in swatches]
    assert len(set(glyphs)) == len(glyphs), "two key entries share a glyph"
    # the legend of a subset lists only what those rows use
    only = styles.key([r for r in rows if r.dtype == "bfloat16"])
    assert "bfloat16" in only and "float64" not in only and "numpy" not in only


# accuracy against time


def test_the_pareto_front_is_a_line_under_points_in_their_methods_colours(rows):
    styles = charts.Styles(rows)
    lines = 0
    for title, group in problem_groups(rows).items():
        html = charts.accuracy_vs_time(group, "orthogonality_error", styles, title)
        coords = [(r.median_s, r.metric("orthogonality_error")) for r in group]
        drawn = len(Elements(html).having("path", "front"))
        assert drawn == 2 * (len(pareto_front(coords)) > 1)  # on the log and linear plots
        lines += drawn
    assert lines > 0
    page = Elements(html)
    highlighted = page.having("circle", "highlight") + page.having("path", "highlight")
    assert highlighted
    for mark, group_attributes in highlighted:
        assert "stroke" not in mark  # no ring: the series' colour
        assert group_attributes["stroke"] in svg.PALETTE[:2]
    css = (files("harness.report") / "static" / "report.css").read_text()
    assert not re.search(r"\.highlight\s*{[^}]*stroke:\s*#000", css)
    table = _csv(html)
    assert table[0] == [
        *charts.ROW_HEADER,
        charts.SECONDS_LABEL,
        "low",
        "high",
        "orthogonality_error",
        "pareto_front",
    ]
    assert len(table) - 1 == len(group)
    on_front = [line for line in table[1:] if line[-1] == "True"]
    assert 0 < len(on_front) == len(highlighted) // 2


def test_a_near_zero_error_is_drawn_at_the_floor_and_the_caption_says_so(rows):
    group = problem_groups(rows)["8×8"]

    def set_error(row: Row, value: float) -> Row:
        records = [
            dataclasses.replace(r, metrics={**r.metrics, "alignment_error": value})
            for r in row.records
        ]
        return Row(tuple(records), row.shown_params)

    exact = [r for r in group if r.method == "svd_polar" and r.dtype == "float64"]
    rows_now = [
        set_error(exact[0], -2.2e-16),
        set_error(exact[1], 0.0),
        *[r for r in group if r not in exact],
    ]
    html = charts.accuracy_vs_time(rows_now, "alignment_error", charts.Styles(rows), "8×8")
    page = Elements(html)
    assert page.having("path", "floor")
    caption = "".join(page.captions)
    assert "are drawn at" in caption and "down to -2.2e-16" in caption
    marks = [m for m in _marks(html)]
    assert len(marks) == 2 * len(rows_now)  # nothing vanished, on either plot


def test_the_overview_plot_is_small_and_shows_the_largest_size(rows):
    html = charts.overview_front(rows, charts.Styles(rows), "orthogonalize")
    assert html.startswith('<figure class="chart small"')
    assert "orthogonality_error against time, orthogonalize, 32×32" in html
    assert charts.overview_front([], charts.Styles(rows), "nothing") == ""


# every figure


def test_every_figure_has_log_and_linear_plots_and_its_data_as_csv(rows):
    page = charts_page(rows)
    figures = page.count('<figure class="chart')
    assert figures == page.count('class="csv"') == page.count("download=")
    assert page.count('class="scale-toggle"') == figures  # every one has a log axis
    assert page.count('data-scale="linear" hidden') == figures
    for tag, attributes, _ in Elements(page).elements:
        if tag == "svg" and "plot" in attributes.get("class", ""):
            assert attributes["width"] == "100%" and attributes["viewbox"].startswith("0 0 ")


def test_a_figure_without_a_log_axis_has_no_toggle():
    series = [svg.Series("s", svg.Style("#000"), [svg.Point(1, 2, "a"), svg.Point(2, 3, "b")])]
    x = svg.Axis.fit("x", [1, 2], log=False)
    y = svg.Axis.fit("y", [-1, 3])  # log asked, but a real negative: linear
    html = figure(series, x, y, "plain", "caption")
    assert "scale-toggle" not in html and 'data-scale="linear"' not in html
    assert _csv(html) == [["series", "x", "y"], ["s", "1", "2"], ["s", "2", "3"]]


def test_csv_is_quoted_with_ten_digits():
    table = Table(("name", "value"), [('a, "b"', 0.1 + 0.2), ("c", None), ("d", 1 / 3 * 1e-16)])
    text = csv_text(table)
    assert text == 'name,value\n"a, ""b""",0.3\nc,\nd,3.333333333e-17\n'
    assert unquote(data_url(text).split(",", 1)[1]) == text
    hard = "a%20b #1 · 100%\n"
    assert data_url(hard) == "data:text/csv;charset=utf-8,a%2520b %231 · 100%25%0A"
    assert unquote(data_url(hard).split(",", 1)[1]) == hard


# distributions


def test_distributions_show_every_stored_sample(rows):
    styles = charts.Styles(rows)
    group = problem_groups(rows)["16×16"]
    html = charts.distribution(group, styles, "16×16")
    table = _csv(html)
    assert table[0] == [*charts.ROW_HEADER, "repetition", "seconds per call"]
    stored = [s for row in group for r in row.ok for s in r.samples]
    assert sorted(float(line[-1]) for line in table[1:]) == pytest.approx(sorted(stored), 1e-9)
    page = Elements(html)
    assert len(_marks(html)) == 2 * len(group)  # a median mark per case, on each plot
    # violins: 10 samples x 2 repetitions each, so every case has one (40 corners and back)
    areas = page.having("path", "area")
    assert len(areas) == 2 * 2 * len(group)  # violin and box, on each plot
    assert charts.distribution([], styles, "none") == ""


def test_a_case_with_few_samples_shows_a_tick_per_sample(rows):
    row = rows[0]
    record = dataclasses.replace(row.records[0], samples=[1e-5, 2e-5, 4e-5])
    html = charts.distribution([Row((record,))], charts.Styles(rows), "few")
    areas = Elements(html).having("path", "area")
    assert len(areas) == 2 * (3 + 1)  # three ticks and the box, on each plot


# scaling and convergence


def test_exponents_only_through_three_sizes_of_one_family_with_the_fit_drawn(rows):
    styles = charts.Styles(rows)
    html = charts.scaling(rows, styles, "m·n", "all sizes")
    legend = re.findall(r"</svg>([^<]*)</li>", html)
    assert all("k = " in entry and "(m:n=1:1)" in entry for entry in legend)
    assert "m:n=1:2" not in html  # one size of that family: no exponent
    fits = Elements(html).having("path", "fit")
    assert len(fits) == 2 * len(legend)
    two_sizes = [r for r in rows if r.size_text in ("8×8", "16×16")]
    html = charts.scaling(two_sizes, styles, "m·n", "two sizes")
    assert "k = " not in html and not Elements(html).having("path", "fit")


def test_convergence_legends_list_only_the_series_with_curves(rows):
    styles = charts.Styles(rows)
    group = problem_groups(rows)["8×8"]
    html = charts.convergence(group, "orthogonality_error", "step", styles, "8×8")
    legend = re.findall(r"</svg>([^<]*)</li>", html)
    with_curves = {series_name(r) for r in group if r.curves}
    assert with_curves and set(legend) == with_curves
    assert not any("svd_polar" in entry for entry in legend)


def test_a_long_category_label_is_shortened_in_the_middle_and_whole_on_hover():
    name = "a_method_with_a_very_long_name coefficients=polar_express · array-api-strict · float64"
    series = [svg.Series("s", svg.Style("#000"), [svg.Point(1e-3, 0, "t")])]
    html = svg.plot(series, svg.Axis.fit("t", [1e-3]), svg.Axis.categorical("case", [name]), "x")
    shown = re.search(r"<title>([^<]*)</title>([^<]*)</text>", html)
    assert shown is not None and shown.group(1) == name
    assert len(shown.group(2)) < len(name) and "…" in shown.group(2)
    assert shown.group(2).endswith("array-api-strict · float64")


def test_equal_or_zero_samples_draw_a_box_and_no_violin(rows):
    styles = charts.Styles(rows)
    for samples in ([2e-5] * 10, [0.0, *[1e-5] * 9]):
        record = dataclasses.replace(rows[0].records[0], samples=samples)
        html = charts.distribution([Row((record,))], styles, "equal")
        assert len(Elements(html).having("path", "area")) == 2  # the box, on each plot
        assert "nan" not in html.lower()
