"""The HTML report in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
Playwright. Two runs of a small suite at two commits go through the real CLI into a temporary
database; their report (overview, task page, comparison, history) is opened from file://,
the run through the real CLI in test_report.py. A run stored through the database's API
(test_report_pages.synthetic_run: an unstable case, a failure, cases that did not run for
two reasons) shows the overview's links, the contents, the collapsed rows and the warning.

Screenshots are kept under the test's tmp dir and copied to reports/test-artifacts/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import launched_chromium
from conftest import HARNESS, REPO, SitePackages
from test_report_pages import MIXED_SECTIONS, mixed_cases, synthetic_run

from harness import report as html_report
from harness.results.db import ResultsDB

ARTIFACTS = REPO / "reports" / "test-artifacts"
HOSTILE_METHOD = 'polar"><img src=x onerror="window.__xss=1">'
PLUGIN = f"""
from harness import hookimpl

from harness import method

@method(name={HOSTILE_METHOD!r}, family="orthogonalizer")
def hostile_polar(G, *, xp):
    u, _, vh = xp.linalg.svd(G, full_matrices=False)
    return u @ vh

@hookimpl
def harness_methods():
    return [hostile_polar]
"""
SUITE = """
name: browser
repetitions: 2
timing: {{warmup: 0, min_time: 0, min_samples: 3, budget: 0, threads: 1, roofline: false}}
benchmarks:
  - task: orthogonalize
    sizes: [[8, 8], [16, 32]]
    methods:
      - name: newton_schulz
        params: {{steps: 3}}
      - randomized_cholesky_qr
      - {hostile!r}
    backends: {backends}
    dtypes: [float64]
"""


def _commit(repo: Path, message: str) -> str:
    """A scratch repository with one commit; its hash."""
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of two runs of a small suite through the real CLI, each at its own commit
    (the harness records the commit git reports: here a scratch repository's, via GIT_DIR).

    The runs go side by side into one database; the base runs on numpy alone (no torch to
    import), the new one on numpy and torch. Neither measures the roofline (seconds of GEMMs;
    test_report.py covers that table)."""
    folder = tmp_path_factory.mktemp("browser")
    plugins = SitePackages(folder / "site-packages")
    plugins.root.mkdir()
    plugins.add("hostile-plugin", "hostile_plugin", PLUGIN)
    db = folder / "r.sqlite"
    commits, workers = [], []
    for name, backends in (("base", "[numpy]"), ("new", "[numpy, torch]")):
        commits.append(_commit(folder / name, name))
        suite = folder / f"{name}.yaml"
        suite.write_text(SUITE.format(hostile=HOSTILE_METHOD, backends=backends))
        workers.append(
            subprocess.Popen(
                [*HARNESS, "run", str(suite), "--db", str(db), "--inline"],
                env=plugins.env(GIT_DIR=str(folder / name / ".git")),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for worker in workers:
        output = worker.communicate(timeout=300)[0]
        assert worker.returncode == 0, output
    results = ResultsDB(db)
    by_commit = {
        results.run(i).metadata["project"]["commit"]: i
        for (i,) in results.conn.execute("SELECT id FROM runs")
    }
    html_report.write(results, [by_commit[c] for c in commits], folder / "report")
    results.close()
    return folder / "report"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launched_chromium()


class Opened:
    """A page loaded from file://, with every console error, page error and failed or
    non-file request it caused."""

    def __init__(self, browser: object, path: Path):
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on(
            "console",
            lambda m: m.type in ("error", "warning") and self.problems.append(f"console: {m.text}"),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "request",
            lambda r: r.url.startswith("file://") or self.problems.append(f"network: {r.url}"),
        )
        self.page.goto(path.as_uri())

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_page(browser: object) -> Iterator:
    opened: list[Opened] = []

    def open_(path: Path) -> Opened:
        opened.append(Opened(browser, path))
        return opened[-1]

    yield open_
    for page in opened:
        page.close()


def _keep(page: Opened, tmp_path: Path, name: str) -> None:
    """A full-page screenshot under the test's tmp dir, copied to reports/test-artifacts/."""
    shot = tmp_path / name
    page.page.screenshot(path=str(shot), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)


def test_every_page_loads_offline_with_data_in_every_plot(site, open_page, tmp_path):
    names = sorted(p.name for p in site.glob("*.html"))
    assert names == ["compare.html", "history.html", "index.html", "task-orthogonalize.html"]
    for name in names:
        opened = open_page(site / name)
        page = opened.page
        assert page.evaluate("window.__xss") is None, name
        plots = page.locator("svg.plot")
        for i in range(plots.count()):
            assert plots.nth(i).locator(".mark").count() > 0, f"{name}: plot {i} has no data"
        if name != "index.html":
            assert plots.count() > 0, name
        assert opened.problems == [], name
        if name in ("index.html", "task-orthogonalize.html"):
            _keep(opened, tmp_path, name.replace(".html", ".png"))
    assert (ARTIFACTS / "task-orthogonalize.png").stat().st_size > 10_000


def test_the_task_page_has_every_section(site, open_page):
    page = open_page(site / "task-orthogonalize.html").page
    headings = page.locator("h2").all_inner_texts()
    assert headings == [
        "Summary",
        "Accuracy against time",
        "Timing distributions",
        "Scaling",
        "Backends",
        "Convergence",
        "Cases",
    ]
    # repetitions are one row each: 2 sizes x 3 methods x 2 backends, not twice that
    assert page.locator("table.cases tbody tr").count() == 12
    assert page.locator("figure.chart:not([hidden]) .highlight").count() > 0  # Pareto fronts
    # two sizes: the scaling plot joins the points and fits no exponent (three are needed)
    assert "k = " not in page.locator("h2:text('Scaling') + div").inner_text()


def test_a_table_sorts_on_click(site, open_page):
    page = open_page(site / "task-orthogonalize.html").page
    table = page.locator("table.cases")
    column = table.locator("th").all_inner_texts().index("median time")

    def times() -> list[float]:
        cells = table.locator(f"tbody tr td:nth-child({column + 1})")
        return [float(v) for v in cells.evaluate_all("cs => cs.map(c => c.dataset.v)") if v]

    before = times()
    assert before != sorted(before)
    table.locator("th", has_text="median time").click()
    assert times() == sorted(before)
    table.locator("th", has_text="median time").click()
    assert times() == sorted(before, reverse=True)


def test_choosing_a_metric_shows_its_plots(site, open_page):
    page = open_page(site / "task-orthogonalize.html").page
    choice = page.locator("select.metric-choice")
    first = choice.input_value()
    visible = "figure.chart[data-metric='{}']:not([hidden])"
    assert page.locator(visible.format(first)).count() > 0
    choice.select_option("polar_distance")
    assert page.locator(visible.format(first)).count() == 0
    assert page.locator(visible.format("polar_distance")).count() > 0


def test_a_mark_shows_its_series_on_hover(site, open_page):
    page = open_page(site / "task-orthogonalize.html").page
    mark = page.locator("figure.chart:not([hidden]) svg.plot .mark").first
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    assert box is not None
    # The pointer goes where the mark is drawn: another series' mark at the same point may lie
    # on top of it, and then the tooltip is that one's (either is a numpy or torch series).
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.locator(".tooltip")
    assert tip.is_visible()
    series, point = tip.inner_text().split("\n", 1)
    assert series.endswith((" · numpy · float64", " · torch · float64"))
    assert point.startswith(("8×8: ", "16×32: "))  # the size, then the time


def test_comparison_and_history_pages(site, open_page):
    compare = open_page(site / "compare.html").page
    rows = compare.locator("table.comparison tbody tr")
    assert rows.count() == 24  # every case of either run, each repetition
    assert rows.filter(has_text="only in new").count() == 12  # the torch cases
    history = open_page(site / "history.html").page
    assert "over 2 commits" in history.locator("h1").inner_text()
    assert history.locator("table.history tbody tr").count() == 12


def test_the_case_table_fits_a_1400_pixel_window(site, open_page):
    """Six metrics, two backends: every column, the rate and status among them, is on
    screen and the table needs no sideways scrolling (the viewport is 1400 px wide). The
    run measured no roofline, so the share of peak is said in the caption."""
    opened = open_page(site / "task-orthogonalize.html")
    page = opened.page
    table = page.locator("table.cases")
    headers = table.locator("th").all_inner_texts()
    assert len(headers) >= 12 and {"GFLOP/s", "status"} <= set(headers)
    assert "% peak not measured" in table.locator("caption").inner_text()
    for i in range(len(headers)):
        box = table.locator("th").nth(i).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1400, headers[i]
    scroll = page.locator("table.cases").locator("xpath=..")
    assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    assert opened.problems == []


@pytest.fixture(scope="module")
def mixed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a stored run with an unstable case, a failure and cases that did not
    run (unavailable on cupy; one unsupported)."""
    folder = tmp_path_factory.mktemp("mixed")
    db, run_id = synthetic_run(folder / "r.sqlite", mixed_cases())
    html_report.write(db, [run_id], folder / "report")
    db.close()
    return folder / "report"


def _below_navigation(page: object, selector: str) -> bool:
    """Whether the element is in the viewport and not under the sticky navigation bar."""
    return page.evaluate(
        """s => { const box = document.querySelector(s).getBoundingClientRect();
                  const nav = document.querySelector("body > nav").getBoundingClientRect();
                  return box.top >= nav.bottom - 1 && box.top < window.innerHeight; }""",
        selector,
    )


def test_the_contents_lead_to_every_section(mixed_site, open_page):
    opened = open_page(mixed_site / "task-t.html")
    page = opened.page
    links = page.locator("nav.toc a")
    titles = links.all_inner_texts()
    assert titles == MIXED_SECTIONS
    for i, title in enumerate(titles):
        links.nth(i).click()
        target = page.evaluate("location.hash")
        assert page.locator(f"h2{target}").inner_text() == title
        assert _below_navigation(page, target), title
        page.evaluate("window.scrollTo(0, 0)")
    assert opened.problems == []


def test_cases_that_did_not_run_are_one_line_per_reason(mixed_site, open_page):
    opened = open_page(mixed_site / "task-t.html")
    page = opened.page
    assert page.locator("table.cases tbody tr").count() == 13
    assert page.locator("table.cases td.unavailable, table.cases td.unsupported").count() == 0
    lines = page.locator("ul.did-not-run li").all_inner_texts()
    assert len(lines) == 2
    assert lines[0].startswith("6 cases unavailable: cupy is not installed")
    assert lines[1].startswith("1 case unsupported: exact supports float64 only")
    caption = page.locator("table.cases caption").inner_text()
    assert caption.startswith("In every row: problem kind=dense, dtype float64")
    assert opened.problems == []


def test_an_unstable_case_is_a_warning_not_green(mixed_site, open_page):
    opened = open_page(mixed_site / "task-t.html")
    page = opened.page
    style = "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    warning = page.locator("table.cases td.unstable")
    assert warning.count() == 1 and warning.inner_text().startswith("⚠")
    ok = page.locator("table.cases td.ok:not(.unstable)").first
    warning_color, warning_background = warning.evaluate(style)
    ok_color, ok_background = ok.evaluate(style)
    assert warning_color != ok_color and warning_background != ok_background
    red, green, blue = map(int, re.findall(r"\d+", warning_color)[:3])
    assert red > green > blue  # amber, not green
    assert "unstable" in (warning.get_attribute("title") or "")
    assert opened.problems == []


def test_the_overview_links_to_the_rows_it_names(mixed_site, open_page):
    opened = open_page(mixed_site / "index.html")
    page = opened.page
    findings = page.locator("ul.findings")
    assert findings.locator("a").count() >= 5
    findings.locator("li", has_text="Failed (1)").locator("a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("task-t.html#case-13")
    row = page.locator("tr:target")
    assert row.count() == 1 and "broken" in row.inner_text() and "error" in row.inner_text()
    assert _below_navigation(page, "tr:target")
    page.go_back()
    page.locator("ul.findings li", has_text="Unstable timings").locator("a").first.click()
    page.wait_for_load_state()
    assert "⚠ ok unstable" in page.locator("tr:target").inner_text()
    assert opened.problems == []
