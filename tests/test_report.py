"""The HTML report: escaping, repetitions as one row, Pareto front and scaling exponents, the
CLI (latest run, asv link, two runs, publishing). The pages in a real browser:
test_report_browser.py."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import run_cli

from harness import hookimpl, method
from harness import report as html_report
from harness.plugins.registry import Registry
from harness.report.analysis import pareto_front, scaling_exponent
from harness.report.rows import group_repetitions, main_metric
from harness.results.db import ResultsDB
from harness.results.records import StoredCase
from harness.run.case import Status
from harness.run.runner import run_suite
from harness.suite.loader import load

QUICK_TIMING = (
    "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, isolation: inline, "
    "roofline: false}\n"
)
HOSTILE = '<script>alert("x")</script>\''


class Tags(HTMLParser):
    """The tags of a page, the text of its scripts, and every attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.attributes += [value or "" for _, value in attrs]

    def handle_data(self, data: str) -> None:
        if self.lasttag == "script":
            self.scripts.append(data)


def _run(
    tmp_path: Path, suite_text: str, registry: Registry | None = None
) -> tuple[ResultsDB, int]:
    registry = registry or Registry.load()
    suite_file = tmp_path / f"s{len(list(tmp_path.glob('s*.yaml')))}.yaml"
    suite_file.write_text(suite_text)
    db = ResultsDB(tmp_path / "r.sqlite")
    return db, run_suite(load(str(suite_file), registry), registry, db)


def test_strings_from_plugins_and_suites_are_escaped(tmp_path):
    @method(name=f"hostile{HOSTILE}", family="orthogonalizer")
    def hostile(G, *, xp, note: str = "x"):
        raise ValueError(f"{HOSTILE} {note}")

    @method(name=f"polar{HOSTILE}", family="orthogonalizer")
    def polar(G, *, xp, note: str = "x"):
        u, _, vh = xp.linalg.svd(G, full_matrices=False)
        return u @ vh

    class Plugin:
        @hookimpl
        def harness_methods(self):
            return [hostile, polar]

    registry = Registry.load(extra=[("hostile", Plugin())])
    db, run_id = _run(
        tmp_path,
        f"name: {json.dumps('suite' + HOSTILE)}\n"
        + QUICK_TIMING
        + "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 8], [8, 16]]\n"
        "    methods:\n"
        + "".join(
            f"      - name: {json.dumps(name)}\n"
            f"        params: {{note: {json.dumps([HOSTILE, 'plain'])}}}\n"
            for name in (f"hostile{HOSTILE}", f"polar{HOSTILE}")
        )
        + "      - svd_polar\n    backends: [numpy, cupy]\n    dtypes: [float64]\n",
        registry,
    )
    pages = html_report.write(db, [run_id], tmp_path / "site")
    assert {p.name for p in pages} == {"index.html", "task-orthogonalize.html"}
    for page in pages:
        html = page.read_text()
        parser = Tags()
        parser.feed(html)
        assert parser.tags.count("script") == 1, page.name  # the report's own script only
        assert not any("alert" in script for script in parser.scripts)
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27;" in html
    task_page = (tmp_path / "site" / "task-orthogonalize.html").read_text()
    parser = Tags()
    parser.feed(task_page)
    # the hostile name reached the plots (an attribute and a <title>) and the table, escaped
    assert any(value.startswith(f"polar{HOSTILE}") for value in parser.attributes)
    assert task_page.count('<path class="mark') + task_page.count('<circle class="mark') > 0
    assert "unavailable" in task_page and "svd_polar" in task_page
    overview = (tmp_path / "site" / "index.html").read_text()
    assert "Failures" in overview and "ValueError" in overview


def _record(**changes):
    record = StoredCase(
        id=0,
        run_id=1,
        task="t",
        method="sketch",
        backend="numpy",
        dtype="float64",
        sizes={"n": 64},
        problem={},
        params={"seed": 0, "rank": 8},
        seed=0,
        status=Status.OK,
        message=None,
        number=None,
        samples=None,
        host_samples=None,
        stats={"ci_low": 0.9, "ci_high": 1.2},
        median_s=1.0,
        unstable=0,
        flops=None,
        peak_fraction=None,
        peak_memory_bytes=None,
        traced_peak_bytes=None,
        threads=None,
        metrics={"error": 0.1},
        curve=[],
        finished_at="",
        repetition=0,
        case_key="",
        machine=None,
    )
    return dataclasses.replace(record, **changes)


def test_repetitions_are_one_row_with_their_median_and_spread():
    records = [
        _record(repetition=r, params={"seed": r, "rank": 8}, median_s=t, metrics={"error": e})
        for r, t, e in [(0, 3.0, 0.3), (1, 1.0, 0.1), (2, 2.0, 0.2)]
    ]
    records.append(_record(method="exact", params={}))
    rows = group_repetitions(records)
    assert [r.repetitions for r in rows] == [3, 1]
    sketch = rows[0]
    assert sketch.median_s == 2.0 and sketch.interval == (1.0, 3.0)
    assert sketch.metric("error") == 0.2 and sketch.metric_range("error") == (0.1, 0.3)
    assert sketch.params == {"rank": 8}  # the repetitions' seeds are a distribution
    assert "repetitions" in sketch.interval_kind
    assert rows[1].interval == (0.9, 1.2)  # one case: the bootstrap interval of its median


def test_a_seed_the_suite_sweeps_keeps_its_rows_apart():
    records = [
        _record(repetition=r, params={"seed": seed, "rank": 8}) for seed in (10, 20) for r in (0, 1)
    ]
    rows = group_repetitions(records)
    assert [(r.params["seed"], r.repetitions) for r in rows] == [(10, 2), (20, 2)]
    assert [r.label for r in rows] == ["sketch seed=10", "sketch seed=20"]


def test_a_failed_repetition_marks_the_row():
    rows = group_repetitions(
        [_record(repetition=0), _record(repetition=1, status=Status.ERROR, message="boom")]
    )
    assert rows[0].status_text == "error (1 of 2)" and rows[0].message == "boom"
    assert rows[0].median_s == 1.0  # over the measured repetitions


def test_the_main_metric_is_the_tasks_first_error():
    assert main_metric(["iterations", "relative_residual", "forward_error"]) == "relative_residual"
    assert main_metric(["orthogonality_error", "polar_distance"]) == "orthogonality_error"
    assert main_metric(["gain"]) == "gain" and main_metric([]) is None


def test_pareto_front_keeps_what_nothing_beats():
    points = [(1.0, 5.0), (2.0, 1.0), (3.0, 2.0), (0.5, 9.0), (2.0, 1.0), (4.0, 0.5)]
    assert pareto_front(points) == [3, 0, 1, 4, 5]


def test_scaling_exponent_fits_a_power_law():
    sizes = [64, 128, 256, 512]
    assert scaling_exponent(sizes, [1e-9 * n**3 for n in sizes]) == pytest.approx(3.0)
    noisy = [1e-6 * n**1.5 * f for n, f in zip(sizes, [1.1, 0.9, 1.05, 0.95], strict=True)]
    assert scaling_exponent(sizes, noisy) == pytest.approx(1.5, abs=0.1)
    assert scaling_exponent([64, 64], [1.0, 2.0]) is None


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding one run of a tiny suite (and the machine's roofline), run through
    the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    suite = folder / "tiny.yaml"
    suite.write_text(
        QUICK_TIMING.replace("isolation: inline, roofline: false", "roofline: true")
        + "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 16]]\n"
        "    methods: [svd_polar]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    db = str(folder / "r.sqlite")
    assert run_cli("run", str(suite), "--db", db, "--inline").returncode == 0
    return db


def test_report_command_writes_the_latest_run(cli_db, tmp_path):
    result = run_cli("report", "--db", cli_db, "--out", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    assert "report written to" in result.stdout and "KiB" in result.stdout
    overview = (tmp_path / "site" / "index.html").read_text()
    db = ResultsDB(cli_db)
    gemm = db.run(1).metadata["roofline"]["numpy"]["float64"]["gemm_gflops"]
    assert f'<td class="num" data-v="{gemm!r}">{gemm:.1f}</td>' in overview  # measured GEMM rate
    page = (tmp_path / "site" / "task-orthogonalize.html").read_text()
    assert "<h1>orthogonalize · run 1</h1>" in page and "polar distance" in page


def test_report_without_a_database_says_so(tmp_path):
    result = run_cli("report", "--db", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2 and "no results database" in result.stderr


def test_report_of_an_unknown_run_says_so(cli_db, tmp_path):
    result = run_cli("report", "7", "--db", cli_db, "--out", str(tmp_path / "site"))
    assert result.returncode == 2 and "no run 7" in result.stderr


def test_report_links_to_an_asv_site_beside_it(cli_db, tmp_path):
    (tmp_path / "site" / "asv").mkdir(parents=True)
    (tmp_path / "site" / "asv" / "index.html").write_text("<html></html>")
    out = str(tmp_path / "site" / "latest")
    assert run_cli("report", "--db", cli_db, "--out", out).returncode == 0
    assert 'href="../asv/index.html"' in (tmp_path / "site" / "latest" / "index.html").read_text()


def test_two_runs_add_a_comparison_and_publishing_keeps_earlier_runs(tmp_path):
    suite = QUICK_TIMING + (
        "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 8], [16, 16]]\n"
        "    methods: [svd_polar, qr_householder]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    db, first = _run(tmp_path, suite)
    _, second = _run(tmp_path, suite)
    root = tmp_path / "pages"
    html_report.publish(db, [first], root)
    written = html_report.publish(db, [first, second], root)
    assert {p.name for p in written} >= {"index.html", "compare.html", "task-orthogonalize.html"}
    manifest = json.loads((root / "published.json").read_text())
    assert [e["title"] for e in manifest] == [f"run {first}", f"run {second}"]
    index = (root / "index.html").read_text()
    for entry in manifest:
        assert (root / entry["path"] / "index.html").is_file()
        assert f'href="{entry["path"]}/index.html"' in index
    assert (root / ".nojekyll").exists()
    compare = (root / manifest[1]["path"] / "compare.html").read_text()
    assert f"Run {second} against run {first}" in compare and "harness compare" in compare
    assert 'href="../../index.html"' in compare  # back to the index of published runs
    html_report.publish(db, [second], root)  # publishing a run again replaces its entry
    assert len(json.loads((root / "published.json").read_text())) == 2
    # A one-run report written where a two-run report was leaves no stale comparison.
    out = tmp_path / "report"
    html_report.write(db, [first, second], out)
    (out / "notes.html").write_text("mine")
    html_report.write(db, [second], out)
    assert not (out / "compare.html").exists() and (out / "notes.html").exists()


def test_non_finite_values_are_stored_as_null(tmp_path):
    import sqlite3

    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = db.start_run("s", "s.yaml", "", {})
    record = {
        "task": "t",
        "method": "m",
        "backend": "numpy",
        "dtype": "float64",
        "sizes": {},
        "problem": {},
        "params": {},
        "seed": 0,
        "status": "error",
        "metrics": {"a": float("nan"), "b": 1.0},
        "curve": [{"step": 1, "a": float("inf")}],
    }
    db.add_case(run_id, record)
    raw = (
        sqlite3.connect(tmp_path / "r.sqlite")
        .execute("SELECT metrics, curve FROM cases")
        .fetchone()
    )
    assert json.loads(raw[0]) == {"a": None, "b": 1.0}
    assert json.loads(raw[1]) == [{"step": 1, "a": None}]
