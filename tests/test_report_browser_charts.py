"""The report's figures in a real browser (headless Chromium driven by Playwright, as in
test_report_browser.py): every figure of a real run (test_report_charts.charted_rows) on
one page opened from file://. The log/linear button swaps the plots, the CSV link
downloads the plotted data, distributions are drawn, the key's glyphs are distinct,
Pareto points keep their colour, plots take the page's width, and nothing logs an error or
asks the network.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from browser import launched_chromium
from test_report_charts import charted_rows, charts_page

from harness.report.rows import Row, problem_groups

CSV_PREFIX = "data:text/csv;charset=utf-8,"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Row]]:
    folder = tmp_path_factory.mktemp("charts")
    rows = charted_rows(folder)
    page = folder / "charts.html"
    page.write_text(charts_page(rows), encoding="utf-8")
    return page, rows


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launched_chromium()


@pytest.fixture
def opened(browser: object, made: tuple[Path, list[Row]]) -> Iterator[tuple[object, list[str]]]:
    """The page at 1400 px wide, and every console message, page error, failed request and
    request that is neither file:// nor data: it caused."""
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "request",
        lambda r: r.url.startswith(("file://", "data:")) or problems.append(f"network: {r.url}"),
    )
    page.goto(made[0].as_uri())
    yield page, problems
    page.close()


def _figure(page: object, label: str) -> object:
    return page.locator(f"figure.chart:has(svg[aria-label^='{label}'])").first


def test_the_axis_button_swaps_log_and_linear_plots(opened):
    page, problems = opened
    figure = _figure(page, "orthogonality_error against time, 8×8")
    log, linear = (
        figure.locator(".variant[data-scale=log]"),
        figure.locator(".variant[data-scale=linear]"),
    )
    button = figure.locator("button.scale-toggle")
    assert button.is_visible() and button.inner_text() == "linear axes"
    assert log.is_visible() and not linear.is_visible()
    log_ticks = log.locator("text.tick").all_text_contents()
    assert "1e-15" in log_ticks
    button.click()
    assert linear.is_visible() and not log.is_visible()
    assert button.inner_text() == "log axes" and button.get_attribute("aria-pressed") == "true"
    linear_ticks = linear.locator("text.tick").all_text_contents()
    assert linear_ticks != log_ticks and "1e-15" not in linear_ticks
    assert linear.locator(".mark").count() == log.locator(".mark").count() > 0
    # the linear plot's marks show the same tips (drawn once, in the log plot)
    tips = [
        v.locator(".mark").evaluate_all("ms => ms.map(m => m.dataset.tip)") for v in (log, linear)
    ]
    assert tips[0] == tips[1] and all("\n" in tip for tip in tips[1])
    mark = linear.locator(".mark").first.bounding_box()
    page.mouse.move(mark["x"] + mark["width"] / 2, mark["y"] + mark["height"] / 2)
    assert page.locator(".tooltip").is_visible()
    button.click()
    assert log.is_visible() and not linear.is_visible()
    assert problems == []


def test_the_csv_link_downloads_the_plotted_data(opened, made):
    page, problems = opened
    figure = _figure(page, "orthogonality_error against time, 8×8")
    link = figure.locator("a.csv")
    href = link.get_attribute("href")
    assert href.startswith(CSV_PREFIX)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "orthogonality_error-against-time-8-8.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text == unquote(href[len(CSV_PREFIX) :])
    assert "newton_schulz,numpy,float64,8×8," in text  # spaces and × as they are
    table = list(csv.DictReader(io.StringIO(text)))
    group = problem_groups(made[1])["8×8"]
    expected = {
        (r.label, r.backend, r.dtype): (r.median_s, r.metric("orthogonality_error")) for r in group
    }
    got = {
        (t["method"], t["backend"], t["dtype"]): (
            float(t["median time (s)"]),
            float(t["orthogonality_error"]),
        )
        for t in table
    }
    assert got.keys() == expected.keys()
    for case, values in expected.items():
        assert got[case] == pytest.approx(values, rel=1e-9)  # ten significant digits
    assert problems == []


def test_distributions_are_drawn_for_every_case(opened, made):
    page, problems = opened
    for title, group in problem_groups(made[1]).items():
        figure = _figure(page, f"timing samples, {title}")
        figure.scroll_into_view_if_needed()
        plot = figure.locator(".variant[data-scale=log] svg.plot")
        assert plot.locator(".mark").count() == len(group)
        assert plot.locator("path.area").count() == 2 * len(group)  # a violin and a box
        box = plot.locator("path.area").first.bounding_box()
        assert box is not None and box["width"] > 3 and box["height"] > 3
    assert problems == []


def test_key_glyphs_are_distinct_and_pareto_points_keep_their_colour(opened):
    page, problems = opened
    items = page.locator("body > div.key").locator("li:not(.legend-title)")
    glyphs = items.locator("svg.swatch").evaluate_all("svgs => svgs.map(s => s.innerHTML)")
    names = items.all_inner_texts()
    assert len(names) == 8 and len(set(glyphs)) == len(glyphs)
    # drawn pixels differ too: each swatch as the browser paints it
    shots = {items.nth(i).locator("svg.swatch").screenshot() for i in range(items.count())}
    assert len(shots) == len(names)
    strokes = page.locator(".variant[data-scale=log] .mark.highlight").evaluate_all(
        "marks => marks.map(m => [getComputedStyle(m).stroke,"
        " getComputedStyle(m.closest('g.series')).stroke])"
    )
    assert strokes and all(own == series for own, series in strokes)
    assert all(own != "rgb(0, 0, 0)" for own, _ in strokes)
    assert problems == []


def test_plots_take_the_page_width(browser, made):
    for width, low, high in ((1400, 600, 700), (700, 560, 700)):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(made[0].as_uri())
        plot = page.locator("figure.chart:not(.small) svg.plot").first.bounding_box()
        assert plot is not None and low <= plot["width"] <= high, (width, plot)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()


def test_a_near_zero_error_is_on_the_floor_and_said(opened):
    page, problems = opened
    figures = page.locator("figure.chart:has(svg[aria-label^='alignment_error against time'])")
    floored = figures.filter(has=page.locator("path.floor"))
    assert floored.count() > 0, "svd_polar's alignment error is 0 or -2e-16 at some size"
    assert "are drawn at" in floored.first.locator("figcaption").inner_text()
    assert problems == []
