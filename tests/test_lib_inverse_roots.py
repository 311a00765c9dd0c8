"""Inverse p-th roots against the eigh reference, on numpy and torch, float64 and float32."""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
import pytest
from conftest import run_one
from harness_builtins.preconditioners.inverse_roots import pade_sqrt_polynomials

from harness.plugins.registry import Registry
from harness.run.case import CaseResult

REGISTRY = Registry.load()
BACKENDS_DTYPES = [(b, d) for b in ("numpy", "torch") for d in ("float64", "float32")]
TOL = {"float64": 1e-10, "float32": 2e-4}


def run(
    method_name: str,
    backend: str = "numpy",
    dtype: str = "float64",
    n: int = 32,
    params: dict | None = None,
    **problem,
) -> CaseResult:
    return run_one(
        "inverse_root",
        method_name,
        {"n": n},
        backend=backend,
        dtype=dtype,
        params=params,
        registry=REGISTRY,
        **problem,
    )


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
@pytest.mark.parametrize("p", [2, 4])
@pytest.mark.parametrize("method_name", ["eigh_root", "coupled_newton_root", "newton_schulz_sqrt"])
def test_roots_agree_with_eigh(method_name, p, backend, dtype):
    result = run(method_name, backend, dtype, p=p, kappa=100.0)
    assert result.status == "ok", result.message
    tol = TOL[dtype] * (1e3 if method_name == "coupled_newton_root" and dtype == "float64" else 1)
    assert result.metrics["relative_error"] < tol
    assert result.metrics["residual"] < 50 * tol


@pytest.mark.parametrize(("backend", "dtype"), BACKENDS_DTYPES)
def test_pade_and_taylor_on_a_well_conditioned_matrix(backend, dtype):
    pade = run("pade_sqrt", backend, dtype, p=2, kappa=2.0, params={"degree": 8})
    taylor = run("taylor_sqrt", backend, dtype, p=2, kappa=2.0, params={"degree": 40})
    assert pade.status == taylor.status == "ok"
    # ‖A‖_F normalisation leaves z = 1 − λ/‖A‖_F up to about 0.9 even for κ = 2 (n = 32),
    # so both are truncation-limited: Padé [8/8] to ~4e-6, Taylor of degree 40 to ~1e-3
    assert pade.metrics["relative_error"] < 2e-5
    assert taylor.metrics["relative_error"] < 3e-3


def test_pade_converges_faster_than_taylor_in_the_degree():
    pade = run("pade_sqrt", p=2, kappa=100.0, params={"degree": 8}).metrics["relative_error"]
    taylor = run("taylor_sqrt", p=2, kappa=100.0, params={"degree": 8}).metrics["relative_error"]
    assert pade < taylor / 3


@pytest.mark.parametrize("method_name", ["pade_sqrt", "taylor_sqrt"])
def test_square_root_methods_refuse_p_4(method_name):
    """Declared through ``supports``: the case is unsupported, with the reason."""
    result = run(method_name, p=4)
    assert result.status == "unsupported"
    assert "only for p in (2,); this problem has p = 4" in result.message


def test_pade_polynomials_approximate_the_square_root():
    P, Q = pade_sqrt_polynomials(6)
    z = np.linspace(0, 0.9, 50)
    approx = np.polynomial.polynomial.polyval(z, P) / np.polynomial.polynomial.polyval(z, Q)
    np.testing.assert_allclose(approx, np.sqrt(1 - z), atol=2e-4)


def test_coupled_newton_stops_at_the_tolerance_and_stores_its_curve():
    result = run("coupled_newton_root", p=4, kappa=10.0, params={"tol": 1e-6})
    assert 3 <= len(result.curve) < 100
    residuals = [point["residual"] for point in result.curve]
    assert residuals[-1] < 1e-5 and residuals[-1] < residuals[0]


def test_eigh_root_reports_a_non_positive_eigenvalue_clearly():
    A = np.diag([1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="eigenvalue 0 ≤ 0"):
        REGISTRY.method("eigh_root")(A, 2, xp=xnp)


def test_kappa_sweep_sets_the_condition_number():
    task = REGISTRY.task("inverse_root")
    for kappa in (10.0, 1e4):
        A = task.generate({"n": 16}, np.random.default_rng(0), kappa=kappa).inputs[0]
        assert np.linalg.cond(A) == pytest.approx(kappa, rel=1e-8)
