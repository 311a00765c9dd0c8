"""The single-page HTML report of a stored run."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import run_cli

from harness import hookimpl, method
from harness.db import ResultsDB
from harness.registry import Registry
from harness.report import render
from harness.runner import run_suite
from harness.suite import load


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def test_strings_from_plugins_are_escaped(tmp_path):
    @method(family="orthogonalizer")
    def hostile(G, *, xp):
        raise ValueError("<script>alert(1)</script>")

    class Plugin:
        @hookimpl
        def harness_methods(self):
            return [hostile]

    registry = Registry.load(extra=[("hostile", Plugin())])
    suite_file = tmp_path / "s.yaml"
    suite_file.write_text(
        "timing: {min_time: 0, min_samples: 1, budget: 0, isolation: inline, roofline: false}\n"
        "benchmarks:\n  - task: orthogonalize\n"
        "    sizes: [[8, 8]]\n    methods: [hostile, svd_polar]\n    backends: [numpy, cupy]\n"
        "    dtypes: [float64]\n"
    )
    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = run_suite(load(str(suite_file), registry), registry, db)
    page = render(db.run(run_id), db.cases(run_id))
    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<tr>") == 1 + 4  # header + hostile/svd_polar on numpy/cupy
    assert "unavailable" in page and "svd_polar" in page


def test_report_command_writes_the_latest_run(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 16]]\n"
        "    methods: [svd_polar]\n    backends: [numpy]\n"
    )
    db = str(tmp_path / "r.sqlite")
    assert run_cli("run", str(suite), "--db", db).returncode == 0
    result = run_cli("report", "--db", db, "--out", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert "<h2>orthogonalize</h2>" in page and "polar distance" in page


def test_report_without_a_database_says_so(tmp_path):
    result = run_cli("report", "--db", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2 and "no results database" in result.stderr


def test_report_links_to_an_asv_site_beside_it(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "timing: {roofline: false, min_samples: 1, budget: 0}\nbenchmarks:\n"
        "  - task: orthogonalize\n    sizes: [[8, 16]]\n    methods: [svd_polar]\n"
        "    backends: [numpy]\n"
    )
    db = str(tmp_path / "r.sqlite")
    assert run_cli("run", str(suite), "--db", db, "--inline").returncode == 0
    (tmp_path / "site" / "asv").mkdir(parents=True)
    (tmp_path / "site" / "asv" / "index.html").write_text("<html></html>")
    assert run_cli("report", "--db", db, "--out", str(tmp_path / "site" / "latest")).returncode == 0
    assert 'href="../asv/index.html"' in (tmp_path / "site" / "latest" / "index.html").read_text()


def test_non_finite_values_are_stored_as_null(tmp_path):
    import json
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
