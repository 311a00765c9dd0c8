"""Preconditioned CG (task spd_solve): the shared driver against direct solves, on numpy and
torch, float64 and float32; every preconditioner on a small Poisson problem; Jacobi-PCG
against scipy's cg; κ(P⁻¹A) from CG's coefficients; the backend-neutral diagonal."""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
import pytest
import scipy.sparse as sp
from harness_builtins.preconditioners.linear_preconditioners import (
    lanczos_interval,
    nystrom_preconditioner,
)
from harness_builtins.preconditioners.pcg import kappa_estimate, pcg
from harness_builtins.preconditioners.spd_solve_task import poisson, poisson_solve
from harness_builtins.shared import diagonal

from harness.plugins.registry import Registry
from harness.run.case import Case, CaseResult, RunOptions
from harness.run.runner import ProblemCache, run_case
from harness.run.timing import TimingOptions

REGISTRY = Registry.load()
QUICK = RunOptions(TimingOptions(warmup=0, min_time=0, min_samples=1, budget=0), "inline")
BACKENDS_DTYPES = [(b, d) for b in ("numpy", "torch") for d in ("float64", "float32")]
PCG_METHODS = ["pcg_identity", "pcg_jacobi", "pcg_chebyshev_poly", "pcg_neumann_poly"]
REFERENCES = ["scipy_cg", "ilu_cg", "amg_cg"]
# tol = 1e-8 on the recursive residual; the forward error is then about κ·1e-8 in float64,
# and float32 rounding (u = 6e-8) times κ ≈ 1e2 in float32
FORWARD_TOL = {"float64": 1e-7, "float32": 2e-5}


def run(
    method_name: str,
    backend: str = "numpy",
    dtype: str = "float64",
    n: int = 16,
    params: dict | None = None,
    **problem,
) -> CaseResult:
    case = Case("spd_solve", method_name, backend, dtype, {"n": n}, problem, params or {}, 0)
    return run_case(case, REGISTRY, ProblemCache(REGISTRY), QUICK)


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
@pytest.mark.parametrize("method_name", [*PCG_METHODS, "pcg_nystrom"])
def test_pcg_agrees_with_a_direct_solve(method_name, backend, dtype):
    result = run(method_name, backend, dtype, matrix="poisson2d")
    assert result.status == "ok", result.message
    assert result.metrics["forward_error"] < FORWARD_TOL[dtype]
    assert result.metrics["relative_residual"] < (2e-8 if dtype == "float64" else 1e-5)


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
def test_pcg_on_a_dense_kernel_matrix(backend, dtype):
    result = run("pcg_nystrom", backend, dtype, n=200, matrix="rbf_kernel", ridge=1e-2)
    assert result.status == "ok", result.message
    assert result.metrics["forward_error"] < (1e-6 if dtype == "float64" else 1e-3)
    plain = run("pcg_identity", backend, dtype, n=200, matrix="rbf_kernel", ridge=1e-2)
    assert result.metrics["iterations"] < plain.metrics["iterations"] / 2


@pytest.mark.parametrize("matrix", ["poisson2d", "poisson3d", "graph_laplacian"])
@pytest.mark.parametrize("method_name", [*PCG_METHODS, "pcg_nystrom", *REFERENCES])
def test_every_preconditioner_converges(method_name, matrix):
    n = {"poisson2d": 24, "poisson3d": 8, "graph_laplacian": 600}[matrix]
    result = run(method_name, n=n, matrix=matrix)
    assert result.status == "ok", result.message
    assert result.metrics["relative_residual"] < 2e-8
    assert result.metrics["forward_error"] < 1e-7
    if method_name not in ("pcg_identity", "pcg_jacobi", "scipy_cg", "pcg_nystrom"):  # no help here
        plain = run("pcg_identity", n=n, matrix=matrix).metrics["iterations"]
        assert result.metrics["iterations"] < plain


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jacobi_pcg_takes_as_many_steps_as_scipy_cg(dtype):
    # a graph Laplacian: its diagonal (the degrees) varies, so Jacobi changes the iteration
    ours = run("pcg_jacobi", dtype=dtype, n=2000, matrix="graph_laplacian")
    scipy = run("scipy_cg", dtype=dtype, n=2000, matrix="graph_laplacian")
    plain = run("pcg_identity", dtype=dtype, n=2000, matrix="graph_laplacian")
    assert abs(ours.metrics["iterations"] - scipy.metrics["iterations"]) <= 1
    assert ours.metrics["iterations"] < plain.metrics["iterations"]


def _preconditioned_kappa(Pinv: np.ndarray, A: np.ndarray) -> float:
    eigenvalues = np.sort(np.linalg.eigvals(Pinv @ A).real)
    return float(eigenvalues[-1] / eigenvalues[0])


def test_kappa_estimate_is_close_to_the_true_condition_number():
    problem = REGISTRY.task("spd_solve").generate(
        {"n": 300}, np.random.default_rng(0), matrix="graph_laplacian"
    )
    A, b = problem.inputs
    dense = A.toarray()
    for _, alphas, betas in pcg(xnp, A, b, lambda r: r / A.diagonal()):  # noqa: B007
        pass  # the last yield is final: its views are not overwritten
    true = _preconditioned_kappa(np.diag(1 / A.diagonal()), dense)
    assert kappa_estimate(alphas, betas) == pytest.approx(true, rel=0.02)
    # the estimate only grows towards κ as CG runs: a lower bound
    assert kappa_estimate(alphas[:5], betas[:4]) < kappa_estimate(alphas, betas) * 1.0001


def test_kappa_estimate_of_the_nystrom_preconditioner():
    problem = REGISTRY.task("spd_solve").generate(
        {"n": 200}, np.random.default_rng(0), matrix="rbf_kernel", ridge=1e-2
    )
    A, b = problem.inputs
    apply = nystrom_preconditioner(xnp, A, b, rank=20, mu=0.0, seed=0)
    Pinv = np.stack([apply(e) for e in np.eye(len(b))], axis=1)
    np.testing.assert_allclose(Pinv, Pinv.T, atol=1e-10)  # symmetric, as CG needs
    true = _preconditioned_kappa(Pinv, A)
    assert true < _preconditioned_kappa(np.eye(len(b)), A) / 10
    result = run("pcg_nystrom", n=200, matrix="rbf_kernel", ridge=1e-2, params={"rank": 20})
    assert result.metrics["kappa_estimate"] == pytest.approx(true, rel=0.05)


def test_pcg_stores_a_residual_curve_and_references_their_iterations():
    result = run("pcg_identity", matrix="poisson2d")
    assert [point["step"] for point in result.curve] == list(range(1, len(result.curve) + 1))
    assert result.curve[-1]["iterations"] == result.metrics["iterations"] == len(result.curve)
    residuals = [point["relative_residual"] for point in result.curve]
    assert residuals[-1] < 1e-8 < residuals[0]
    amg = run("amg_cg", matrix="poisson2d")
    assert amg.curve is None or amg.curve == []
    assert 1 <= amg.metrics["iterations"] < 20
    assert "kappa_estimate" not in amg.metrics


def test_references_run_on_numpy_only():
    result = run("scipy_cg", backend="torch")
    assert result.status == "unsupported"


def test_lanczos_interval_brackets_the_top_of_the_spectrum():
    A = poisson(20, 2)
    eigenvalues = np.linalg.eigvalsh(A.toarray())
    low, high = lanczos_interval(xnp, A, np.ones(A.shape[0]), steps=10, seed=0)
    assert eigenvalues[0] <= low < high
    assert eigenvalues[-1] <= high < eigenvalues[-1] * 1.1


@pytest.mark.parametrize("dimensions", [2, 3])
def test_poisson_reference_is_exact(dimensions):
    m = 9
    A = poisson(m, dimensions)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    x = poisson_solve(b, m, dimensions)
    assert np.linalg.norm(A @ x - b) < 1e-12 * np.linalg.norm(b)


def _sparse_with_gaps() -> sp.csr_array:
    rng = np.random.default_rng(0)
    A = sp.random_array((30, 30), density=0.2, format="csr", rng=rng)
    A.setdiag(np.where(np.arange(30) % 3 == 0, 0.0, rng.random(30) + 1))
    A.eliminate_zeros()  # some rows have no diagonal entry at all
    return A


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_diagonal_of_sparse_and_dense_matrices(backend, dtype):
    device = REGISTRY.backend(backend)
    A = _sparse_with_gaps()
    expected = A.diagonal()
    for value in (A, A.toarray()):
        on_device = device.to_device(value, dtype)
        d = diagonal(device.xp, on_device)
        assert d.shape == (30,)
        assert str(d.dtype).endswith(dtype)
        np.testing.assert_allclose(device.to_numpy(d), expected, rtol=1e-6)
