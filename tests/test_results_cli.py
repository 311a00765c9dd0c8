"""The terminal side of results: `harness run`'s summary, quiet and JSON modes and exit
status; `harness runs`, `show`, `export` and `merge` on real stored runs."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import run_cli
from v1_database import write_v1

from harness.cli import main
from harness.results.db import ResultsDB

TINY = """\
name: tiny
timing: {warmup: 0, min_time: 0, min_samples: 3, budget: 0, roofline: false}
benchmarks:
  - task: orthogonalize
    problem: {spectrum: logspace}
    sizes: [[16, 32], [32, 32]]
    methods: [svd_polar, {name: newton_schulz, params: {steps: 5}}]
    backends: [numpy]
    dtypes: [float64]
"""


def cli(*args: str, **env: str):
    """The ``harness`` command in this process."""
    return CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database holding one run of TINY (four cases), and what `harness run` printed."""
    folder = tmp_path_factory.mktemp("stored")
    (folder / "tiny.yaml").write_text(TINY)
    db = folder / "r.sqlite"
    result = cli("run", folder / "tiny.yaml", "--db", db, "--inline")
    assert result.exit_code == 0, result.stderr
    return db, result.stdout


def test_run_ends_with_a_summary(stored):
    db, out = stored
    assert "orthogonalize spectrum=logspace" in out  # the cases table
    assert "summary" in out and "slowest:" in out
    assert f"run 1 stored in {db}: 4 ok (4 of 4 cases)" in " ".join(out.split())
    assert "newton_schulz(steps=5) numpy float64" in out


def test_quiet_prints_the_summary_line_only(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    result = cli("run", tmp_path / "tiny.yaml", "--db", tmp_path / "r.sqlite", "--inline", "-q")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"run 1 stored in {tmp_path / 'r.sqlite'}: 4 ok (4 of 4 cases)"
    ]


def test_exit_status_says_whether_cases_failed_as_configured(tmp_path):
    suite = tmp_path / "timeout.yaml"
    suite.write_text(TINY.replace("roofline: false", "roofline: false, timeout: 0.001"))
    suite.write_text(suite.read_text().replace("[[16, 32], [32, 32]]", "[[16, 32]]"))
    db = tmp_path / "r.sqlite"
    failed = cli("run", suite, "--db", db, "--json")
    assert failed.exit_code == 1
    out = json.loads(failed.stdout)
    assert out["exit_status"] == 1 and out["summary"]["counts"] == {"timeout": 2}
    assert [c["status"] for c in out["cases"]] == ["timeout", "timeout"]
    assert "timeout svd_polar numpy float64 16x32" in failed.stderr  # as it happened
    assert cli("run", suite, "--db", db, "--no-fail", "-q").exit_code == 0
    assert cli("run", suite, "--db", db, "--fail-on", "error,crashed", "-q").exit_code == 0
    typo = cli("run", suite, "--db", db, "--fail-on", "timout")
    assert typo.exit_code == 2 and "unknown status 'timout'; did you mean 'timeout'?" in (
        typo.stderr
    )
    assert [r.planned for r in ResultsDB(db).runs()] == [2, 2, 2]


def test_runs_lists_every_run(stored):
    db, _ = stored
    (run,) = json.loads(cli("runs", "--db", db, "--json").stdout)
    assert (run["id"], run["suite"], run["state"], run["done"], run["planned"]) == (
        1,
        "tiny",
        "finished",
        4,
        4,
    )
    assert run["commit"] and run["host"] and run["cores"]
    table = cli("runs", "--db", db).stdout
    assert "finished" in table and "4/4" in table and run["commit"][:10] in table
    missing = cli("runs", "--db", db.parent / "none.sqlite")
    assert missing.exit_code == 2 and "no results database at" in missing.stderr


def test_show_prints_a_run(stored):
    db, _ = stored
    shown = cli("show", "1", "--db", db)
    assert shown.exit_code == 0
    uuid = ResultsDB(db).run(1).uuid
    for text in (uuid, "tiny.yaml", "4 of 4", "svd_polar", "orthogonality error", "summary"):
        assert text in shown.stdout
    out = json.loads(cli("show", "--db", db, "--json").stdout)  # the latest run
    assert out["run"]["id"] == 1 and out["state"] == "finished" and len(out["cases"]) == 4
    unknown = cli("show", "9", "--db", db)
    assert (
        unknown.exit_code == 2
        and "no run 9" in unknown.stderr
        and "runs: 1 to 1" in (unknown.stderr)
    )


def test_export_writes_tidy_tables(stored, tmp_path):
    db, _ = stored
    cases = ResultsDB(db).cases(1)
    result = cli("export", "1", "--db", db, "--out", tmp_path / "cases.csv")
    assert result.exit_code == 0 and "4 rows written" in result.stderr
    rows = list(csv.DictReader((tmp_path / "cases.csv").open()))
    assert [r["method"] for r in rows] == [c.method for c in cases]
    first = list(rows[0])
    assert first[:10] == [
        "run_id",
        "case_id",
        "task",
        "method",
        "backend",
        "dtype",
        "seed",
        "repetition",
        "size_m",
        "size_n",
    ]
    assert first.index("problem_spectrum") < first.index("p_steps") < first.index("status")
    newton = next(r for r in rows if r["method"] == "newton_schulz")
    svd = next(r for r in rows if r["method"] == "svd_polar")
    assert (newton["p_steps"], newton["p_coefficients"], svd["p_steps"]) == ("5", "muon", "")
    assert float(rows[0]["time_median_s"]) == cases[0].median_s
    assert float(rows[0]["metric_orthogonality_error"]) == (cases[0].metrics["orthogonality_error"])

    as_json = json.loads(cli("export", "1", "--db", db, "--format", "json", "--out", "-").stdout)
    assert [r["case_id"] for r in as_json] == [c.id for c in cases]
    assert as_json[1]["p_custom"] == [] and as_json[0]["problem_spectrum"] == "logspace"

    import pyarrow.parquet as pq

    cli("export", "1", "--db", db, "--format", "parquet", "--out", tmp_path / "c.parquet")
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.column_names == first and table.num_rows == 4
    assert table.column("time_median_s").to_pylist() == [c.median_s for c in cases]

    samples = cli("export", "1", "--db", db, "--table", "samples", "--out", "-").stdout
    rows = list(csv.DictReader(io.StringIO(samples)))
    assert len(rows) == sum(len(c.samples) for c in cases) == 12
    assert [float(r["seconds"]) for r in rows[:3]] == cases[0].samples
    curves = cli("export", "1", "--db", db, "--table", "curves", "--format", "json", "--out", "-")
    steps = json.loads(curves.stdout)
    assert {r["method"] for r in steps} == {"newton_schulz"} and len(steps) == 10


def test_export_to_parquet_without_pyarrow_fake_missing_module(stored, tmp_path, monkeypatch):
    db, _ = stored
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it now fails
    result = cli("export", "1", "--db", db, "--format", "parquet", "--out", tmp_path / "c.pq")
    assert result.exit_code == 2
    assert "parquet export needs pyarrow: pip install 'linalg-harness[export]'" in result.stderr


def test_merge_imports_runs_once_with_new_ids(stored, tmp_path):
    db, _ = stored
    ours = tmp_path / "ours.sqlite"
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert cli("run", tmp_path / "tiny.yaml", "--db", ours, "--inline", "-q").exit_code == 0
    # Another machine's file holding the stored run, interrupted after two of its cases.
    partial = tmp_path / "partial.sqlite"
    shutil.copy(db, partial)
    conn = sqlite3.connect(partial)
    conn.execute("DELETE FROM cases WHERE id > 2")
    conn.execute("UPDATE runs SET status = 'running', finished_at = NULL")
    conn.commit()
    conn.close()

    first = json.loads(cli("merge", partial, "--db", ours, "--json").stdout)
    assert [(r["their_id"], r["id"], r["new"], r["cases_added"]) for r in first] == [
        (1, 2, True, 2)
    ]
    merged = ResultsDB(ours)
    assert merged.run(2).status == "running"
    # The complete file later: the run gets the cases it lacks, and is finished.
    again = json.loads(cli("merge", db, "--db", ours, "--json").stdout)
    assert [(r["id"], r["new"], r["cases_added"]) for r in again] == [(2, False, 2)]
    original = ResultsDB(db)
    assert merged.run(2).uuid == original.run(1).uuid
    assert merged.run(2).status == "finished"
    assert [c.case_key for c in merged.cases(2)] == [c.case_key for c in original.cases(1)]
    assert [c.samples for c in merged.cases(2)] == [c.samples for c in original.cases(1)]
    assert json.loads(cli("merge", db, "--db", ours, "--json").stdout)[0]["cases_added"] == 0

    # A v1 file merges too, and is only read.
    write_v1(tmp_path / "v1.sqlite")
    text = cli("merge", tmp_path / "v1.sqlite", "--db", ours).stdout
    assert f"{ours}: 2 runs added, 0 already there" in text
    assert [r.id for r in merged.runs()] == [1, 2, 3, 4]
    assert sqlite3.connect(tmp_path / "v1.sqlite").execute("PRAGMA user_version").fetchone() == (1,)
    assert sqlite3.connect(ours).execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize(
    "command", [["runs"], ["show", "1"], ["compare", "1", "2"], ["report"], ["run", "x.yaml"]]
)
def test_a_file_that_is_not_a_database_is_named_in_a_clear_error(tmp_path, command):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not sqlite\n")
    (tmp_path / "x.yaml").write_text(
        "benchmarks: [{task: orthogonalize, sizes: [[8, 8]], methods: [svd_polar]}]\n"
    )
    result = run_cli(*command, "--db", str(bad), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{bad} is not a harness results database" in result.stderr
    assert "Traceback" not in result.stderr
    assert bad.read_text() == "not sqlite\n"  # left as it was
