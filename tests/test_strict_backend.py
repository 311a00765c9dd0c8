"""The array-api-strict backend, and the standard-only paths the built-in methods take on it:
the scatter-add as gathered row sums, the LU basis, the DCT through a complex FFT, sparse
problems refused with a reason, and the backend unavailable (with the install hint) where the
package is missing."""

from __future__ import annotations

import subprocess
import sys

import array_api_compat.numpy as xnp
import numpy as np
import pytest
import scipy.fft
import scipy.linalg
from conftest import run_one
from harness_builtins.backends.strict_backend import INSTALL_HINT, StrictBackend
from harness_builtins.shared import gathered_row_sums, scatter_add_rows, sparse_product, to_host
from harness_builtins.sketches.randomized_svd import standard_lu_basis
from harness_builtins.sketches.sketches import dct_ortho

from harness.plugins.registry import Registry

xs = pytest.importorskip("array_api_strict", reason="the strict extra is not installed")

RNG = np.random.default_rng(0)


def test_round_trips_dtypes_and_metadata() -> None:
    backend = Registry.load().backend("array-api-strict")
    assert backend.availability().available
    assert backend.dtypes == ("float32", "float64")
    assert not backend.supports_sparse
    host = RNG.standard_normal((5, 3))
    for dtype in backend.dtypes:
        device = backend.to_device(host, dtype)
        assert device.dtype == getattr(xs, dtype)
        back = backend.to_numpy(device)
        assert back.dtype == np.float64
        np.testing.assert_allclose(back, host, rtol=1e-6 if dtype == "float32" else 0)
    assert backend.to_device(3, "float64") == 3  # a scalar input passes as it is
    backend.synchronize()
    timer = backend.timer()
    timer.start()
    assert timer.stop() >= 0
    backend.reset_peak_memory()
    assert backend.peak_memory_bytes() > 0
    meta = backend.metadata()
    assert meta["library"] == "array_api_strict" and meta["version"] == xs.__version__


def test_other_backends_declare_sparse_matrices() -> None:
    backends = Registry.load().backends
    assert backends["numpy"].supports_sparse and backends["torch"].supports_sparse


def test_sparse_problem_is_unsupported_with_the_reason() -> None:
    result = run_one("spd_solve", "pcg_jacobi", {"n": 4}, backend="array-api-strict")
    assert (result.status, result.message) == (
        "unsupported",
        "backend array-api-strict has no sparse matrices",
    )
    dense = run_one(
        "spd_solve", "pcg_jacobi", {"n": 20}, backend="array-api-strict", matrix="rbf_kernel"
    )
    assert dense.status == "ok", dense.message


def test_unavailable_with_the_install_hint_without_the_package() -> None:
    """A fresh interpreter in which array_api_strict cannot be imported."""
    code = (
        "import sys; sys.modules['array_api_strict'] = None\n"
        "from harness_builtins.backends.strict_backend import StrictBackend\n"
        "print(StrictBackend().availability())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"unavailable: {INSTALL_HINT}"
    assert "pip install 'linalg-harness[strict]'" in INSTALL_HINT
    assert StrictBackend().availability().available


@pytest.mark.parametrize("k", [1, 3])
def test_gathered_row_sums_equal_the_native_scatter(k: int) -> None:
    X = RNG.standard_normal((40, 3))
    index = RNG.integers(0, 7, size=(40, k))
    expected = scatter_add_rows(xnp, X, index, 7)  # numpy: scipy.sparse's product
    got = scatter_add_rows(xs, xs.asarray(X), index, 7)  # no scatter: gathered row sums
    np.testing.assert_allclose(to_host(got), expected, rtol=1e-13, atol=1e-13)
    empty_rows = gathered_row_sums(xs, xs.asarray(X), np.array([0, 0]), np.array([1, 2]), 3)
    np.testing.assert_allclose(to_host(empty_rows)[1:], 0)  # rows nothing lands in stay 0


def test_sparse_product_with_weights_and_duplicates() -> None:
    X = RNG.standard_normal((6, 2))
    rows, cols = np.array([0, 2, 2, 0]), np.array([1, 5, 5, 3])
    values = np.array([2.0, -1.0, 0.5, 3.0])
    S = np.zeros((3, 6))
    np.add.at(S, (rows, cols), values)
    for xp in (xnp, xs):
        got = sparse_product(xp, rows, cols, values, (3, 6), xp.asarray(X))
        np.testing.assert_allclose(to_host(got), S @ X, rtol=1e-13)


def test_standard_lu_basis_equals_scipy() -> None:
    Y = RNG.standard_normal((30, 5))
    expected = scipy.linalg.lu(Y, permute_l=True)[0]
    np.testing.assert_allclose(to_host(standard_lu_basis(xs, xs.asarray(Y))), expected, atol=1e-13)


def test_dct_through_the_complex_fft() -> None:
    X = RNG.standard_normal((9, 2))
    expected = scipy.fft.dct(X, type=2, norm="ortho", axis=0)
    for dtype, tol in ((xs.float64, 1e-12), (xs.float32, 1e-5)):
        got = dct_ortho(xs, xs.asarray(X, dtype=dtype))
        assert got.dtype == dtype
        np.testing.assert_allclose(to_host(got), expected, atol=tol)


def test_randomized_svd_with_lu_runs_on_strict() -> None:
    sizes = {"m": 40, "n": 20, "k": 3}
    strict = run_one(
        "low_rank_approx",
        "randomized_svd",
        sizes,
        backend="array-api-strict",
        params={"orthonormalize": "lu", "power_iterations": 2},
    )
    reference = run_one(
        "low_rank_approx",
        "randomized_svd",
        sizes,
        params={"orthonormalize": "lu", "power_iterations": 2},
    )
    assert strict.status == "ok", strict.message
    for name, value in reference.metrics.items():
        assert strict.metrics[name] == pytest.approx(value, rel=1e-8, abs=1e-12), name
