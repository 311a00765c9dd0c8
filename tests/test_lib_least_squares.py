"""Sketched least squares (task least_squares): LSQR against scipy's, sketch-and-precondition
LSQR converging to the lstsq solution on ill-conditioned problems in a κ-independent number of
iterations, sketch-and-solve's residual ratio against theory, coherent inputs and uniform
sampling, numpy against torch, the lstsq reference and the task's errors."""

from __future__ import annotations

import array_api_compat.numpy as xnp
import array_api_compat.torch as xtorch
import numpy as np
import pytest
import torch
from conftest import run_one as run_case_inline
from harness_builtins.sketches.least_squares_task import least_squares_metrics
from harness_builtins.sketches.sketched_least_squares import (
    lsqr,
    sketch_and_solve,
    sketch_precondition_lsqr,
)

from harness.plugins.registry import Registry

REGISTRY = Registry.load()


def run_one(task: str, method: str, sizes: dict, **options):
    """One case through the runner (inline), with this module's registry."""
    return run_case_inline(task, method, sizes, registry=REGISTRY, **options)


def problem(m=2000, n=40, **structure):
    task = REGISTRY.task("least_squares")
    return task.generate({"m": m, "n": n}, np.random.default_rng(0), **structure)


def test_lsqr_takes_the_same_steps_as_scipy():
    from scipy.sparse.linalg import lsqr as scipy_lsqr

    A, b = problem(m=300, n=30, kappa=10.0).inputs
    ours = [
        y.copy() for y, _ in lsqr(xnp, A.__matmul__, A.T.__matmul__, b, 30, tol=0.0, maxiter=12)
    ]
    for steps in (1, 5, 12):
        theirs = scipy_lsqr(A, b, atol=0, btol=0, conlim=0, iter_lim=steps)[0]
        np.testing.assert_allclose(ours[steps - 1], theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("coherence", ["incoherent", "coherent"])
def test_sketch_precondition_lsqr_reaches_lstsq_in_few_iterations_whatever_kappa(coherence):
    iterations = []
    for kappa in (1e2, 1e10):
        prob = problem(kappa=kappa, coherence=coherence)
        metrics = least_squares_metrics(prob, sketch_precondition_lsqr(*prob.inputs, xp=xnp))
        # x* itself is only accurate to about κ·u: compare at that precision
        assert metrics["residual_ratio"] < 1e-12
        assert metrics["forward_error"] < 1e-15 * kappa * 100
        iterations.append(metrics["iterations"])
    assert max(iterations) <= 40  # a factor ≈ 0.5 per step at s = 4n, down to tol = 1e-12
    assert abs(iterations[0] - iterations[1]) <= 5  # independent of κ(A)
    plain = least_squares_metrics(prob, sketch_and_solve(*prob.inputs, xp=xnp))
    assert plain["forward_error"] > 1e3 * metrics["forward_error"]


def test_the_curve_starts_at_the_sketch_and_solve_solution():
    result = run_one("least_squares", "sketch_precondition_lsqr", {"m": 1000, "n": 20})
    assert [point["iterations"] for point in result.curve] == list(range(len(result.curve)))
    sketched = run_one("least_squares", "sketch_and_solve", {"m": 1000, "n": 20})
    assert result.curve[0]["residual_ratio"] == pytest.approx(sketched.metrics["residual_ratio"])
    ratios = [point["residual_ratio"] for point in result.curve]
    assert ratios[-1] < 1e-6 * ratios[0]


def test_sketch_and_solve_residual_ratio_matches_the_gaussian_theory():
    # E‖Ax̃ − b‖² / ‖Ax* − b‖² = 1 + n/(s − n − 1) for a Gaussian S (s × m): the ratio
    # ‖Ax̃ − b‖/‖Ax* − b‖ − 1 averages about n/(2(s − n − 1))
    n, factor = 40, 4.0
    prob = problem(n=n, kappa=1e4)
    s = int(factor * n)
    ratios = [
        least_squares_metrics(prob, sketch_and_solve(*prob.inputs, xp=xnp, seed=seed))
        for seed in range(20)
    ]
    squared = np.mean([(1 + r["residual_ratio"]) ** 2 for r in ratios])
    assert squared - 1 == pytest.approx(n / (s - n - 1), rel=0.25)


def test_uniform_sampling_fails_on_coherent_matrices_where_leverage_scores_do_not():
    prob = problem(m=4000, n=60, coherence="coherent")
    ratio = {
        sketch: least_squares_metrics(prob, sketch_and_solve(*prob.inputs, xp=xnp, sketch=sketch))[
            "residual_ratio"
        ]
        for sketch in ("uniform_rows", "leverage_scores", "gaussian")
    }
    assert ratio["uniform_rows"] > 10 > 1 > ratio["gaussian"] > ratio["leverage_scores"]


@pytest.mark.parametrize("method_name", ["sketch_and_solve", "sketch_precondition_lsqr"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_and_torch_agree_to_dtype_precision(method_name, dtype):
    A, b = problem(m=1000, n=20, kappa=10.0).inputs
    solutions = []
    for xp, to in ((xnp, np.asarray), (xtorch, torch.from_numpy)):
        out = REGISTRY.method(method_name)(to(A.astype(dtype)), to(b.astype(dtype)), xp=xp)
        x = out[0] if isinstance(out, tuple) else out
        solutions.append(np.asarray(x, dtype=np.float64))
    difference = np.linalg.norm(solutions[0] - solutions[1]) / np.linalg.norm(solutions[0])
    # κ = 10: the two libraries' rounding differs by about κ·u
    assert difference < {"float64": 1e-12, "float32": 1e-4}[dtype]


def test_numpy_lstsq_reference_and_float32():
    result = run_one("least_squares", "numpy_lstsq", {"m": 500, "n": 10}, kappa=1e3)
    assert result.metrics["forward_error"] < 1e-12
    single = run_one(
        "least_squares", "sketch_precondition_lsqr", {"m": 500, "n": 10}, dtype="float32"
    )
    assert single.status == "ok" and single.metrics["residual_ratio"] < 1e-6
    refused = run_one("least_squares", "numpy_lstsq", {"m": 500, "n": 10}, backend="torch")
    assert refused.status == "unsupported"


def test_bad_inputs_are_refused_clearly():
    with pytest.raises(ValueError, match=r"tall A \(1 ≤ n < m\), got 10×20"):
        problem(m=10, n=20)
    with pytest.raises(ValueError, match="noise > 0"):
        problem(noise=0.0)
    A, b = problem(m=100, n=30).inputs
    with pytest.raises(ValueError, match=r"sketch size ⌈4.0·n⌉ = 120 must lie in \[n, m\]"):
        sketch_and_solve(A, b, xp=xnp)
