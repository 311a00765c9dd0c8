"""The roofline's two ceilings as cases meet them (docs/measurement.md): a rate above the
measured GEMM peak is flagged ``above_peak`` in the result, the database, the terminal table
and the report; a method's bytes model gives achieved GB/s and its share of the measured
bandwidth; a flop or bytes model may read the case's ``Footprint`` (a sparse input's
nonzeros, a solver's iterations); the triad probe runs without a temporary where the
namespace has ``out=``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nonconforming_plugin
import numpy as np
import pytest
import scipy.sparse
from conftest import run_cli
from harness_builtins.preconditioners.pcg import JACOBI_VECTOR_FLOPS, JACOBI_VECTOR_PASSES
from harness_builtins.shared import INDEX_BYTES
from test_report_pages import case, synthetic_run

from harness import hookimpl, method
from harness import report as html_report
from harness.plugins.registry import Registry
from harness.results.db import ResultsDB
from harness.run import roofline
from harness.run.case import Case, RunOptions
from harness.run.executors import CaseRunner
from harness.run.timing import TimingOptions

QUICK = RunOptions(TimingOptions(warmup=0, min_time=0, min_samples=2, budget=0), "inline")


def run(registry: Registry, case: Case):
    return CaseRunner(registry).run(case, QUICK)


def test_a_rate_above_the_measured_peak_is_flagged_everywhere(tmp_path: Path) -> None:
    """``overcounted`` claims 1e18 flops per call: far above any peak, so the probe (here: the
    method's model) is what is wrong, and every view says so."""
    registry = Registry.load(extra=[("nonconforming", nonconforming_plugin)])
    task = Case("orthogonalize", "overcounted", "numpy", "float64", {"m": 8, "n": 16}, {}, {}, 0)
    result = run(registry, task)
    assert result.status == "ok", result.message
    assert result.peak_fraction > roofline.ABOVE_PEAK and result.above_peak
    fair = run(registry, dataclasses.replace(task, method="svd_polar"))
    assert fair.above_peak is False or fair.above_peak is None
    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = db.start_run("s", "s.yaml", "", {})
    db.add_case(run_id, result.record())
    db.finish_run(run_id)
    (stored,) = db.cases(run_id)
    assert stored.above_peak == 1
    shown = run_cli("show", str(run_id), "--db", str(tmp_path / "r.sqlite"))
    assert shown.returncode == 0, shown.stderr
    assert "1 above the measured peak" in shown.stdout and "of peak  overcounted" in shown.stdout


def test_a_bytes_model_gives_gbs_and_the_share_of_bandwidth() -> None:
    """CountSketch on a dense m×n input: A read once, the s×n sketch written once, a row
    index and a sign per row of A."""
    registry = Registry.load()
    sizes, problem = {"m": 4096, "n": 8}, {"s": 64}
    result = run(
        registry,
        Case("subspace_embedding", "countsketch", "numpy", "float64", sizes, problem, {}, 0),
    )
    assert result.status == "ok", result.message
    assert result.bytes == (4096 * 8 + 64 * 8) * 8 + 4096 * (INDEX_BYTES + 8)
    measured = result.machine["roofline"]
    bandwidth = max(measured["copy_gbs"], measured["triad_gbs"])
    assert result.gbs == pytest.approx(result.bytes / result.median_s / 1e9)
    assert result.bandwidth_fraction == pytest.approx(result.gbs / bandwidth)
    assert result.flops == 2 * 4096 * 8  # a sign times each entry, added to a row


def test_models_read_the_footprint_a_solvers_iterations_and_nonzeros() -> None:
    """pcg_jacobi's models count per CG step one pass over the CSR matrix and a fixed number
    of vector passes (flops: 2 per stored entry and a fixed number per unknown), times the
    iterations it ran."""
    registry = Registry.load()
    spd = Case("spd_solve", "pcg_jacobi", "numpy", "float64", {"n": 12}, {}, {}, 0)
    result = run(registry, spd)
    assert result.status == "ok", result.message
    A = registry.task("spd_solve").generate({"n": 12}, np.random.default_rng(0)).inputs[0]
    assert scipy.sparse.issparse(A)
    unknowns, iterations = A.shape[0], result.metrics["iterations"]
    matrix = A.nnz * (8 + INDEX_BYTES) + (unknowns + 1) * INDEX_BYTES
    assert result.bytes == (matrix + JACOBI_VECTOR_PASSES * unknowns * 8) * iterations
    assert result.flops == (2 * A.nnz + JACOBI_VECTOR_FLOPS * unknowns) * iterations


def test_the_triad_needs_no_temporary_where_the_namespace_has_out() -> None:
    registry = Registry.load()
    xp = registry.backend("numpy").xp
    a, b, c = np.zeros(100_000), np.ones(100_000), np.full(100_000, 2.0)
    roofline._triad(xp, "float64", a, b, c, 3.0)()
    assert np.array_equal(a, b + 3.0 * c)
    strict = pytest.importorskip("array_api_strict")
    x = strict.ones(10)
    with pytest.raises(TypeError):  # the standard has no out=: measured through a temporary
        roofline._triad(strict, "float64", x, x, x, 3.0)()


def test_the_report_warns_above_peak_and_draws_the_roofline(tmp_path: Path) -> None:
    machine = {"roofline": {"gemm_gflops": 50.0, "copy_gbs": 20.0, "triad_gbs": 15.0}}
    cases = [case("gemm_like", 1e-3, 0.1), case("stream_like", 1e-3, 0.2)]
    cases[0] |= {"peak_fraction": 1.4, "above_peak": True, "machine": machine}
    cases[1] |= {"bytes": 2e7, "flops": 2e6, "bandwidth_fraction": 1.0, "machine": machine}
    cases[1] |= {"peak_fraction": 0.5}
    db, run_id = synthetic_run(tmp_path / "r.sqlite", cases)
    html_report.write(db, [run_id], tmp_path / "site")
    page = (tmp_path / "site" / "task-t.html").read_text()
    assert re.search(r'<td class="num above-peak"[^>]*title="above the measured peak', page)
    roof = page[page.index('<h2 id="roofline">') :]
    assert 'data-name="roof numpy · float64: 20 GB/s, 50 GFLOP/s"' in roof
    assert 'data-name="stream_like · numpy · float64"' in roof
    assert 'data-name="gemm_like' not in roof  # no bytes model: not on the roofline
    assert "GB/s" in page and "% bw" in page


def test_an_iterative_methods_flop_model_counts_the_steps_it_ran() -> None:
    """coupled_newton_root stops at its tolerance long before ``steps``: its flops are those
    of the steps it ran (4 products of 2n³ each at p = 4), counted with or without a curve."""
    registry = Registry.load()
    root = Case("inverse_root", "coupled_newton_root", "numpy", "float64", {"n": 16}, {}, {}, 0)
    with_curve = run(registry, root)
    assert with_curve.status == "ok", with_curve.message
    ran = int(with_curve.curve[-1]["step"])
    assert 1 <= ran < 100  # the default steps
    assert with_curve.flops == ran * 4 * 2 * 16**3
    no_curve = dataclasses.replace(QUICK, curves="none")
    assert CaseRunner(registry).run(root, no_curve).flops == with_curve.flops


def test_a_ceiling_measured_beside_a_busy_process_says_so(tmp_path: Path) -> None:
    """`harness roofline --refresh` with a busy loop running beside it: the measurement
    records the busy process and the command warns that the cached ceiling may be low."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        env = {**os.environ, "HARNESS_CACHE": str(tmp_path)}
        done = run_cli(
            "roofline", "--backend", "numpy", "--dtype", "float32", "--refresh", "--json", env=env
        )
    finally:
        busy.kill()
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["numpy"]["float32"]
    assert busy.pid in {p["pid"] for p in entry["busy_processes"]}
    assert "warning:" in done.stderr and "harness roofline --refresh" in done.stderr


def test_a_model_giving_nan_or_a_negative_count_is_the_cases_error() -> None:
    """A broken flop or bytes model is not stored as a rate: the case is an error naming it."""

    @method(family="orthogonalizer", bytes=lambda sizes, params, footprint: float("nan"))
    def nan_bytes(G: Any, *, xp: Any) -> Any:
        return G

    @method(family="orthogonalizer", flops=lambda sizes, params: -1.0)
    def negative_flops(G: Any, *, xp: Any) -> Any:
        return G

    class Plugin:
        @hookimpl
        def harness_methods(self) -> list[Any]:
            return [nan_bytes, negative_flops]

    registry = Registry.load(extra=[("broken-models", Plugin())])
    for name, model in (("nan_bytes", "bytes"), ("negative_flops", "flops")):
        case = Case("orthogonalize", name, "numpy", "float64", {"m": 4, "n": 8}, {}, {}, 0)
        result = run(registry, case)
        assert result.status == "error", result.message
        assert result.message.startswith(f"its {model} model gave")
