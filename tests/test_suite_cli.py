"""``harness validate`` and ``harness run --dry-run / --tier``, through the real command line;
and every shipped suite, in every tier it has, is valid."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from harness.plugins.registry import Registry
from harness.suite.loader import SuiteError, load
from harness.suite.schema import TIERS

SUITE = """
    name: tiny
    tiers: [full]
    benchmarks:
      - task: orthogonalize
        tiers: [ci]
        sizes: [[8, 16]]
        methods:
          - name: newton_schulz
            zip: {coefficients: [muon, polar_express], steps: [5, 8]}
        backends: [numpy, torch]
        dtypes: [float64]
      - task: inverse_root
        sizes: [16]
        methods: [eigh_root, randomized_cholesky_qr_typo]
        repetitions: 2
        backends: [numpy]
        dtypes: [float32]
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def test_validate_reports_every_problem_and_exits_2(tmp_path):
    path = write(tmp_path, SUITE.replace("name: tiny", "name: tiny\n    timng: {}"))
    result = run_cli("validate", path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: suite '{path}' is not valid:"
    assert lines[1] == f"{path}:2: timng: unknown key 'timng'; did you mean 'timing'?"
    assert lines[2].startswith(
        f"{path}:15: benchmarks[1].methods[1]: unknown method 'randomized_cholesky_qr_typo'; "
        "did you mean 'randomized_cholesky_qr'"
    )
    assert lines[3:] == ["2 problems"]
    as_json = json.loads(run_cli("validate", path, "--json").stdout)
    assert as_json["valid"] is False
    assert [(i["line"], i["field"]) for i in as_json["issues"]] == [
        (2, "timng"),
        (15, "benchmarks[1].methods[1]"),
    ]


def test_validate_summarises_a_valid_suite_per_task_and_backend(tmp_path):
    path = write(tmp_path, SUITE.replace(", randomized_cholesky_qr_typo", ""))
    result = run_cli("validate", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{path}: valid; 6 cases: orthogonalize 4 (numpy 2, torch 2); inverse_root 2 (numpy 2)\n"
    )
    result = run_cli("validate", path, "--tier", "ci", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["valid"], out["tier"], out["cases"]) == (True, "ci", 4)
    assert out["counts"] == {"orthogonalize": {"numpy": 2, "torch": 2}}
    unknown = run_cli("validate", "smok")
    assert unknown.returncode == 2 and "did you mean 'smoke'?" in unknown.stderr


def test_dry_run_lists_the_cases_and_writes_nothing(tmp_path):
    path = write(tmp_path, SUITE.replace(", randomized_cholesky_qr_typo", ""))
    db = tmp_path / "results.sqlite"
    result = run_cli("run", path, "--dry-run", "--db", str(db), "--tier", "full")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "#", "task", "method", "params", "backend", "dtype", "size", "problem", "seed", "rep"
    ]  # fmt: skip
    assert lines[1].split() == ["1", "inverse_root", "eigh_root", "-", "numpy", "float32", "16",
                                "-", "0", "0"]  # fmt: skip
    assert lines[2].split()[-1] == "1"  # the second repetition
    assert lines[3:] == [
        "2 cases in tier full: inverse_root 2 (numpy 2)",
        "dry run: nothing was run or written",
    ]
    assert not db.exists()
    as_json = json.loads(run_cli("run", path, "--dry-run", "--json", "--db", str(db)).stdout)
    assert as_json["count"] == len(as_json["cases"]) == 6
    assert as_json["cases"][0]["params"] == {"coefficients": "muon", "steps": 5}
    assert not db.exists()


def test_dry_run_of_an_invalid_suite_exits_2(tmp_path):
    result = run_cli("run", write(tmp_path, SUITE), "--dry-run")
    assert result.returncode == 2
    assert "randomized_cholesky_qr_typo" in result.stderr


SHIPPED = sorted(path.stem for path in (REPO / "suites").glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_suite_is_valid_in_every_tier(name):
    registry = Registry.load()
    assert load(name, registry).cases
    for tier in TIERS:
        try:
            assert load(name, registry, tier=tier).cases
        except SuiteError as exc:  # only a tier the suite does not have
            assert [i.field for i in exc.issues] == ["(tier)"], exc


def test_the_shipped_tiers():
    registry = Registry.load()
    for name, tier in [
        ("smoke", "smoke"),
        ("ci", "ci"),
        ("orthogonalizers", "full"),
        ("preconditioners", "full"),
        ("gpu", "gpu"),
    ]:
        assert load(name, registry, tier=tier).cases, (name, tier)
    gpu = load("gpu", registry)
    assert {c.backend for c in gpu.cases} == {"torch-cuda", "cupy"}
    ci = load("ci", registry)
    smoke = load("smoke", registry)
    assert ci.cases[: len(smoke.cases)] == smoke.cases  # ci extends smoke
    families = {registry.tasks[c.task].family for c in ci.cases}
    assert families == {"orthogonalizer", "preconditioner", "sketch", "spectral_filter"}
