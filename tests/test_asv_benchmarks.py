"""The asv benchmarks in benchmarks/: generated from the registry and a suite file, stable
names and versions, and ``asv check`` passing (in this Python, no environment built)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest

from harness.cli.asv import html_dir, project_root

REPO = Path(__file__).resolve().parent.parent
MODULE = REPO / "benchmarks" / "suite_cases.py"

SUITE = """\
name: other
timing: {{warmup: 0, min_time: 0.001, min_samples: 2, budget: 0.01, threads: 1{extra}}}
benchmarks:
  - task: orthogonalize
    sizes: [[24, 16], [16, 32]]
    methods:
      - cholesky_qr2
      - name: newton_schulz
        params: {{steps: 3}}
    backends: [numpy]
    dtypes: [float64]
"""


def load_benchmarks(monkeypatch: pytest.MonkeyPatch, suite: Path | None) -> ModuleType:
    """A fresh import of benchmarks/suite_cases.py, tracking ``suite`` (default: its own)."""
    if suite is None:
        monkeypatch.delenv("HARNESS_ASV_SUITE", raising=False)
    else:
        monkeypatch.setenv("HARNESS_ASV_SUITE", str(suite))
    spec = importlib.util.spec_from_file_location("suite_cases_under_test", MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_suite(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / f"other{len(extra)}.yaml"
    path.write_text(SUITE.format(extra=extra))
    return path


def test_the_default_suite_is_suites_asv_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmarks(monkeypatch, None)
    assert module.suite_path() == REPO / "suites" / "asv.yaml"
    assert module.Orthogonalize.param_names == ["method", "size", "problem", "backend", "dtype"]
    assert "svd_polar" in module.Orthogonalize.params[0]


def test_an_environment_variable_picks_another_suite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = load_benchmarks(monkeypatch, write_suite(tmp_path))
    bench = module.Orthogonalize
    assert bench.params == [
        ["cholesky_qr2", "newton_schulz(steps=3)"],
        ["24x16", "16x32"],
        ["default"],
        ["numpy"],
        ["float64"],
    ]
    tracked = {name for name in dir(bench) if name.startswith("track_")}
    assert {"track_time", "track_peak_memory", "track_traced_peak"} <= tracked
    assert {"track_orthogonality_error", "track_subspace_error"} <= tracked  # from the task
    results = bench().setup_cache()
    labels = ("newton_schulz(steps=3)", "16x32", "default", "numpy", "float64")
    bench().setup(results, *labels)
    assert 0 < bench().track_time(results, *labels) < 1
    assert bench().track_orthogonality_error(results, *labels) >= 0
    assert bench().track_traced_peak(results, *labels) > 16 * 32 * 8
    with pytest.raises(NotImplementedError):  # not a case of the suite: asv shows n/a
        bench().setup(results, "cholesky_qr2", "16x32", "gaussian", "numpy", "float64")


def test_versions_follow_the_measurement_not_the_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = load_benchmarks(monkeypatch, write_suite(tmp_path))
    again = load_benchmarks(monkeypatch, write_suite(tmp_path))
    other_timing = load_benchmarks(monkeypatch, write_suite(tmp_path, ", max_samples: 3"))
    assert first.Orthogonalize.version == again.Orthogonalize.version
    assert first.Orthogonalize.version != other_timing.Orthogonalize.version


def test_a_renamed_method_keeps_its_label(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmarks(monkeypatch, None)
    monkeypatch.setitem(module.RENAMED, "polar_svd", "svd_polar")
    assert module.method_label("polar_svd", {}) == "svd_polar"
    assert module.method_label("newton_schulz", {"steps": 5, "coefficients": "muon"}) == (
        "newton_schulz(coefficients=muon, steps=5)"
    )


def test_asv_check_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "asv", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No problems found" in done.stdout


def test_the_asv_command_finds_the_project_and_its_site(tmp_path: Path) -> None:
    assert project_root(REPO / "benchmarks") == REPO
    assert html_dir(REPO) == REPO / "reports" / "asv"
    with pytest.raises(click.ClickException):
        project_root(tmp_path)
