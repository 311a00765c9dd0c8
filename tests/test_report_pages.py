"""The report's pages as a reader meets them: the overview's headline per task (Pareto front,
fastest method per accuracy level, best backend, failures and unstable cases linked to their
rows), a task page's contents, summary-plots-table order, cases that did not run collapsed to
one line per reason, constant columns in the caption, an unstable case as a warning.

The runs are stored through the results database's own API (``synthetic_run``), so every
status and flag is the one written here; tests/test_report_browser.py opens such a report
in Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from conftest import REPO

from harness import report as html_report
from harness.plugins.registry import Registry
from harness.report.headline import headline
from harness.report.rows import group_repetitions
from harness.results.db import ResultsDB
from harness.suite.loader import load


def case(
    method: str,
    seconds: float | None,
    error: float | None,
    *,
    backend: str = "numpy",
    n: int = 64,
    status: str = "ok",
    message: str | None = None,
    unstable: bool = False,
    dtype: str = "float64",
    task: str = "t",
) -> dict[str, Any]:
    """A stored case as the runner records it: ``seconds`` per call (nine samples spread
    ±10% around it) and the metric ``error``."""
    ran = status == "ok"
    samples = [seconds * (0.9 + 0.025 * i) for i in range(9)] if ran and seconds else None
    return {
        "task": task,
        "method": method,
        "backend": backend,
        "dtype": dtype,
        "sizes": {"n": n},
        "problem": {"kind": "dense"},
        "params": {},
        "seed": 0,
        "status": status,
        "message": message,
        "number": 1 if ran else None,
        "samples": samples,
        "stats": {"ci_low": seconds * 0.95, "ci_high": seconds * 1.05} if samples else None,
        "median_s": seconds if ran else None,
        "unstable": int(unstable),
        "flops": 2.0 * n**3 if ran else None,
        "metrics": {"error": error, "drift": 0.5} if ran else None,
        "curve": [],
    }


def synthetic_run(
    path: Path, cases: list[dict[str, Any]], metadata: dict[str, Any] | None = None
) -> tuple[ResultsDB, int]:
    """A finished run of ``cases`` stored in a new database at ``path`` (or added to the one
    there), with ``metadata`` beside the machine's (the tasks' declarations, ``"tasks"``)."""
    db = ResultsDB(path)
    meta = {"cpu": "test", "cores": 2, **(metadata or {})}
    run_id = db.start_run("synthetic", "synthetic.yaml", "", meta)
    for record in cases:
        db.add_case(run_id, record)
    db.finish_run(run_id)
    return db, run_id


def mixed_cases() -> list[dict[str, Any]]:
    """At two sizes: a fast rough method, a slow exact one, one beaten by both, on two
    backends; one unstable case, one failure, and cases that did not run for two reasons."""
    cases = []
    for n, scale in ((64, 1.0), (128, 8.0)):
        for backend, slower in (("numpy", 1.0), ("torch", 1.5)):
            cases += [
                case("rough", 1e-3 * scale * slower, 1e-2, backend=backend, n=n),
                case("exact", 1e-2 * scale * slower, 3e-15, backend=backend, n=n),
                case("beaten", 2e-2 * scale * slower, 1e-3, backend=backend, n=n),
            ]
    cases[0]["unstable"] = 1
    cases.append(case("broken", None, None, status="error", message="ValueError: boom"))
    for method in ("rough", "exact", "beaten"):
        for n in (64, 128):
            cases.append(
                case(
                    method,
                    None,
                    None,
                    backend="cupy",
                    n=n,
                    status="unavailable",
                    message="cupy is not installed",
                )
            )
    cases.append(
        case(
            "exact",
            None,
            None,
            dtype="float32",
            status="unsupported",
            message="exact supports float64 only",
        )
    )
    return cases


class Page(HTMLParser):
    """The ids, links, table rows and headings of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "href" in values:
            self.links.append(values["href"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def write_report(tmp_path: Path, cases: list[dict[str, Any]]) -> Path:
    db, run_id = synthetic_run(tmp_path / "r.sqlite", cases)
    html_report.write(db, [run_id], tmp_path / "site")
    db.close()
    return tmp_path / "site"


def test_the_headline_names_the_front_the_fastest_per_level_and_the_best_backend(tmp_path):
    db, run_id = synthetic_run(tmp_path / "r.sqlite", mixed_cases())
    found = headline(group_repetitions(db.cases(run_id)), "error")
    assert [(s.label, s.wins, s.of) for s in found.front] == [("rough", 2, 2), ("exact", 2, 2)]
    levels = [(lv.loosest, lv.tightest, lv.fastest.label) for lv in found.levels]
    # "beaten" never wins; 1e-14 is the last decade any case (3e-15) reaches
    assert levels == [(1e-2, 1e-2, "rough"), (1e-3, 1e-14, "exact")]
    assert {(s.row.label, s.label, s.wins, s.of) for s in found.backends} == {
        ("rough", "numpy", 2, 2),
        ("exact", "numpy", 2, 2),
        ("beaten", "numpy", 2, 2),
    }
    assert [r.method for r in found.failed] == ["broken"]
    assert [(r.method, r.backend, r.size_text) for r in found.unstable] == [
        ("rough", "numpy", "64")
    ]


def test_errors_count_by_magnitude_and_rounding_never_decides_a_level(tmp_path):
    cases = [
        case("a", 1e-3, -2e-16),
        case("b", 2e-3, 0.0),  # slower, and as accurate as "a" within rounding
        case("c", 1e-4, 0.1),
        case("d", 1e-5, -0.5),  # a signed error, far from the answer
    ]
    db, run_id = synthetic_run(tmp_path / "r.sqlite", cases)
    levels = headline(group_repetitions(db.cases(run_id)), "error").levels
    assert [(lv.loosest, lv.fastest.label) for lv in levels] == [
        (1.0, "d"),
        (0.1, "c"),
        (0.01, "a"),
    ]
    assert levels[-1].tightest == 1e-15


MIXED_SECTIONS = [
    "Summary",
    "Accuracy against time",
    "Timing distributions",
    "Scaling",
    "Backends",
    "Cases",
    "Did not run",
]
"""The sections of the mixed run's task page, in order."""


def test_the_task_page_opens_on_contents_then_summary_plots_and_table(tmp_path):
    page = Page((write_report(tmp_path, mixed_cases()) / "task-t.html").read_text())
    assert page.headings == MIXED_SECTIONS
    contents = [link for link in page.links if link.startswith("#")]
    assert contents[: len(page.headings)] == [
        "#summary",
        "#accuracy",
        "#distributions",
        "#scaling",
        "#backends",
        "#cases",
        "#did-not-run",
    ]
    assert all(link[1:] in page.ids for link in contents), "a link to no anchor"


def test_cases_that_did_not_run_are_one_line_per_reason(tmp_path):
    html = (write_report(tmp_path, mixed_cases()) / "task-t.html").read_text()
    table = html[html.index('<table class="sortable cases">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr id=") == 13  # 12 measured and the failure; none that did not run
    assert "unavailable" not in table and "unsupported" not in table
    lines = re.findall(r'<li id="did-not-run-\d+">(.*?)</li>', html)
    assert len(lines) == 2
    assert lines[0].startswith('<span class="count">6</span> cases <span class="unavailable">')
    assert "cupy is not installed" in lines[0] and "method rough, exact, beaten" in lines[0]
    assert lines[1].startswith('<span class="count">1</span> case <span class="unsupported">')


def test_columns_constant_over_the_table_move_to_its_caption(tmp_path):
    html = (write_report(tmp_path, mixed_cases()) / "task-t.html").read_text()
    caption = re.search(r"<caption>(.*?)</caption>", html)
    assert caption and caption.group(1) == (
        "In every row: problem kind=dense, dtype float64, reps 1, % peak not measured, "
        "drift 0.5 (where measured)."
    )
    head = re.search(r'<table class="sortable cases">.*?<thead>(.*?)</thead>', html).group(1)
    assert ">dtype<" not in head and ">drift<" not in head and ">problem<" not in head
    assert ">backend<" in head and ">GFLOP/s<" in head and ">status<" in head


def test_an_unstable_case_is_a_warning_not_ok(tmp_path):
    html = (write_report(tmp_path, mixed_cases()) / "task-t.html").read_text()
    cells = re.findall(r'<td class="(ok[^"]*)"[^>]*>([^<]*)</td>', html)
    assert ("ok unstable", "⚠ ok unstable") in cells
    assert sum(cls == "ok unstable" for cls, _ in cells) == 1
    assert all(text == "ok" for cls, text in cells if cls == "ok")


def test_the_overview_links_findings_failures_and_unstable_cases_to_their_rows(tmp_path):
    site = write_report(tmp_path, mixed_cases())
    overview = (site / "index.html").read_text()
    task = Page((site / "task-t.html").read_text())
    links = [link for link in Page(overview).links if link.startswith("task-t.html#")]
    anchors = {link.split("#", 1)[1] for link in links}
    assert anchors <= task.ids, "a link from the overview to no anchor"
    assert {"accuracy", "backends"} <= anchors
    assert "case-13" in anchors  # the failure (the 13th case stored)
    assert sum(a.startswith("case-") for a in anchors) >= 3  # and the levels' and unstable
    assert "On the" in overview and "<b>rough</b> (2 of 2)" in overview
    assert "Failed (1):" in overview and "Unstable timings (1):" in overview
    assert overview.index("Results by task") < overview.index("Run and machine")


def test_a_task_with_nothing_measured_says_so(tmp_path):
    cases = [case("m", None, None, status="unavailable", message="no device")]
    site = write_report(tmp_path, cases)
    assert "Nothing was measured." in (site / "index.html").read_text()
    page = Page((site / "task-t.html").read_text())
    assert page.headings == ["Summary", "Cases", "Did not run"]


def test_a_task_measured_without_findings_says_why(tmp_path):
    site = write_report(tmp_path, [case("m", 1e-3, None)])  # one backend, no error value
    assert "No finding: no method was measured on two backends" in (site / "index.html").read_text()


def test_the_demo_suite_is_what_the_readme_says():
    """README's Quickstart: the default suite covers the four families on numpy and torch,
    the tasks it names, and lists torch-cuda and cupy (cases that cannot run here)."""
    registry = Registry.load()
    smoke = load("smoke", registry)
    quickstart = (REPO / "README.md").read_text().split("## Quickstart")[1].split("\n## ")[0]
    families = {registry.tasks[c.task].family for c in smoke.cases}
    assert families == {"orthogonalizer", "preconditioner", "sketch", "spectral_filter"}
    for task in {c.task for c in smoke.cases}:
        assert f"`{task}`" in quickstart, task
    gpu = [c for c in smoke.cases if c.backend in ("torch-cuda", "cupy")]
    assert f"(the {len(gpu)} torch-cuda and cupy cases)" in quickstart
    assert {c.backend for c in smoke.cases} == {"numpy", "torch", "torch-cuda", "cupy"}


def test_the_screenshots_docs_show_are_in_the_repository():
    doc = (REPO / "docs" / "reports.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(\.\./(reports/[^)]+\.png)\)", doc)
    assert images == ["reports/demo-overview.png", "reports/demo-task-orthogonalize.png"]
    ignored = (REPO / ".gitignore").read_text().splitlines()
    for image in images:
        assert (REPO / image).stat().st_size > 20_000, image
        assert f"!/{image}" in ignored, f"{image} is ignored by git"
