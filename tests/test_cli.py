"""The first slice end to end through the command line, in subprocesses."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from conftest import REPO, run_cli


@pytest.mark.slow
def test_default_suite_runs_and_stores_every_case(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_DB"}
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "orthogonalize spectrum=gaussian" in result.stdout
    assert "unavailable" in result.stdout and "no CUDA device" in result.stdout
    db = sqlite3.connect(tmp_path / "results" / "harness.sqlite")  # the documented default
    assert db.execute("SELECT suite, status FROM runs").fetchall() == [("smoke", "finished")]
    statuses = dict(
        db.execute(
            "SELECT backend, group_concat(DISTINCT status) FROM cases GROUP BY backend"
        ).fetchall()
    )
    assert statuses == {
        "numpy": "ok",
        "torch": "ok",
        "torch-cuda": "unavailable",
        "cupy": "unavailable",
    }
    metadata = json.loads(db.execute("SELECT metadata FROM runs").fetchone()[0])
    assert metadata["backends"]["numpy"]["blas"]
    assert {p["name"] for p in metadata["plugins"]} >= {"numpy", "torch", "orthogonalizers"}


def test_json_output_for_scripts(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(
        "timing: {warmup: 0, min_time: 0, min_samples: 3, budget: 0, roofline: false}\n"
        "benchmarks:\n"
        "  - task: orthogonalize\n"
        "    sizes: [[16, 32]]\n"
        "    methods: [svd_polar]\n"
        "    backends: [numpy]\n"
        "    dtypes: [float64]\n"
    )
    result = run_cli("run", str(suite), "--db", str(tmp_path / "r.sqlite"), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    (case,) = out["cases"]
    assert case["status"] == "ok" and len(case["samples"]) == 3
    assert case["median_s"] > 0 and case["metrics"]["polar_distance"] < 1e-12
    assert case["sizes"] == {"m": 16, "n": 32}


def test_help_explains_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("plugins", "run", "HARNESS_BLOCK_PLUGINS", "HARNESS_DB"):
        assert word in result.stdout
    assert "default: smoke" in run_cli("run", "--help").stdout


def test_shipped_smoke_suite_is_the_repository_file():
    import harness.suites

    assert (REPO / "suites" / "smoke.yaml").samefile(
        os.path.join(os.path.dirname(harness.suites.__file__), "smoke.yaml")
    )


def test_roofline_is_measured_once_then_read_from_the_cache(tmp_path):
    env = {**os.environ, "HARNESS_CACHE": str(tmp_path)}
    args = ("roofline", "--backend", "numpy", "--dtype", "float64", "--json")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    measured = json.loads(first.stdout)["numpy"]["float64"]
    assert measured["gemm_gflops"] > 0 and measured["copy_gbs"] > 0 and measured["gemm_shape"]
    again = json.loads(run_cli(*args, env=env).stdout)["numpy"]["float64"]
    assert again == measured  # from the cache, not measured again
    assert run_cli("roofline", "--backend", "numpi", env=env).returncode == 2
