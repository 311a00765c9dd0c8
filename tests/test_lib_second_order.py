"""Second-order optimizer kernels: M-FAC equal to the dense damped inverse, PSGD converging to
H⁻¹ when H is a Kronecker product, 4-bit quantised roots within 4-bit Shampoo's reported error,
and the bytes of state each keeps; on real per-example gradients of the digits MLP."""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import numpy as xnp
from harness_builtins import workloads
from harness_builtins.preconditioners import quantized_roots, second_order
from harness_builtins.preconditioners.fisher_product_task import (
    fisher_product_metrics,
    generate_fisher_product,
)
from harness_builtins.preconditioners.inverse_root_task import generate_inverse_root


def fisher_problem(N: int, m: int, n: int, damping: float = 1e-3):
    return generate_fisher_product.generate(
        {"gradients": N, "m": m, "n": n}, np.random.default_rng(0), damping=damping
    )


def dense_damped_inverse_product(problem) -> np.ndarray:
    gradients, g, lam = problem.inputs
    Gamma = gradients.reshape(len(gradients), -1)
    F = Gamma.T @ Gamma / len(gradients) + lam * np.eye(Gamma.shape[1])
    return np.linalg.solve(F, g.reshape(-1)).reshape(g.shape)


def test_per_example_gradients_average_to_the_captured_gradient():
    for layer in workloads.LAYERS:
        a, delta = workloads.per_example_factors(layer, 10)
        G = workloads.training_matrix(layer, "gradient", 10)
        assert np.linalg.norm(delta.T @ a / len(a) - G) < 1e-6 * np.linalg.norm(G)


def test_reference_is_the_dense_damped_inverse():
    problem = fisher_problem(40, 8, 6)
    exact = dense_damped_inverse_product(problem)
    reference = problem.reference["natural_gradient"]
    assert np.linalg.norm(reference - exact) < 1e-9 * np.linalg.norm(exact)


@pytest.mark.parametrize(("N", "m", "n"), [(16, 8, 8), (64, 8, 6), (200, 12, 10)])
def test_mfac_equals_the_dense_damped_inverse(N, m, n):
    """Fewer gradients than parameters (rank-deficient F) and more: M-FAC's recursive
    Woodbury form is exact, not an approximation, in float64."""
    problem = fisher_problem(N, m, n)
    X, state = second_order.mfac(*problem.inputs, xp=xnp)
    exact = dense_damped_inverse_product(problem)
    assert np.linalg.norm(X - exact) < 1e-8 * np.linalg.norm(exact)
    assert state[0] == 8 * (N * m * n + N * N + N)  # the gradients, C and d, in float64


def test_mfac_recursion_matches_sherman_morrison_step_by_step():
    rng = np.random.default_rng(3)
    Gamma, lam = rng.standard_normal((5, 7)), 0.3
    C, d = second_order.mfac_coefficients(xnp, Gamma @ Gamma.T, lam)
    inverse = np.eye(7) / lam
    for i, g in enumerate(Gamma):
        v = inverse @ g
        np.testing.assert_allclose(C[i] @ Gamma, v, rtol=1e-10)
        assert d[i] == pytest.approx(5 + g @ v)
        inverse -= np.outer(v, v) / (5 + g @ v)


def test_psgd_kron_converges_to_the_inverse_of_a_kronecker_hessian(monkeypatch):
    """With H = A ⊗ B exactly, the Lie-group fit reaches P = H⁻¹ (up to the noise floor of
    its normalised step)."""
    rng = np.random.default_rng(1)

    def spd(k):
        U, _ = np.linalg.qr(rng.standard_normal((k, k)))
        return (U * np.logspace(0, -1.5, k)) @ U.T

    A, B = spd(8), spd(6)
    monkeypatch.setattr(second_order, "_hessian_vector", lambda xp, Gamma, lam, V: A @ V @ B)
    g = rng.standard_normal((8, 6))
    exact = np.linalg.solve(A, g) @ np.linalg.inv(B)
    X, state = second_order.psgd_kron(np.zeros((2, 8, 6)), g, 0.0, xp=xnp, steps=2000, step=0.01)
    assert np.linalg.norm(X - exact) < 0.02 * np.linalg.norm(exact)
    assert state[0] == 8 * (8 * 8 + 6 * 6)


def test_state_bytes_order_on_a_large_block():
    """The point of the methods: on a 64×64 block from 128 gradients, M-FAC keeps N·mn numbers
    (not (mn)²), Shampoo m² + n², and 4-bit eigenvectors about an eighth of float32's bytes."""
    problem = fisher_problem(128, 64, 64)
    dense_bytes = 8 * (64 * 64) ** 2
    _, mfac_bytes = second_order.mfac(*problem.inputs, xp=xnp)
    _, full = second_order.shampoo(*problem.inputs, xp=xnp, quantize="none")
    _, four_bit = second_order.shampoo(*problem.inputs, xp=xnp, quantize="eigenvectors")
    assert mfac_bytes[0] < dense_bytes / 30
    assert full[0] == 8 * 2 * (64 * 64 + 64)
    # 64² entries: 2048 bytes of codes and 64 float64 scales, plus 64 float64 eigenvalues
    assert four_bit[0] == 2 * (64 * 64 // 2 + 8 * 64 + 8 * 64)


def test_quantisation_round_trip_is_within_half_a_code_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 13))  # 130 entries: padded to 3 blocks of 64
    stored = quantized_roots.quantize(xnp, X, bits=4, block=64)
    assert stored.codes.dtype == np.uint8 and stored.codes.shape == (96,)
    Y = quantized_roots.dequantize(xnp, stored)
    book = quantized_roots.linear_square_codebook(xnp, 4, X)
    widest_gap = float(np.max(np.diff(book)))
    scales = np.repeat(stored.scales, 64)[: X.size].reshape(X.shape)
    assert np.all(np.abs(Y - X) <= scales * widest_gap / 2 + 1e-15)


# 4-bit Shampoo (Wang, Zhou, Li, Huang, NeurIPS 2024), Table 1: the normwise relative error
# ‖Â − A^(-1/4)‖_F / ‖A^(-1/4)‖_F of the inverse 4th root with linear square (Linear-2) 4-bit
# quantisation, block 64, of the eigenvector matrix with orthogonal rectification is about 0.03
# on a preconditioner from real training and about 0.06 on a synthetic one; quantising A itself
# gives about 0.6 (and more on the synthetic matrix).
PAPER_NRE_EIGENVECTORS = {"gradient": 0.034, "logspace": 0.064}
PAPER_NRE_MATRIX = 0.6


@pytest.mark.parametrize("spectrum", ["gradient", "logspace"])
def test_four_bit_roots_are_within_the_papers_reported_error(spectrum):
    problem = generate_inverse_root.generate(
        {"n": 256}, np.random.default_rng(0), p=4, spectrum=spectrum, kappa=1e4
    )
    A, p = problem.inputs
    exact = problem.reference["inverse_root"]

    def nre(**params) -> float:
        X = quantized_roots.quantized_eigh_root(A, p, xp=xnp, **params)
        return float(np.linalg.norm(X - exact) / np.linalg.norm(exact))

    rectified = nre(quantize="eigenvectors", rectify=1)
    assert rectified < 1.25 * PAPER_NRE_EIGENVECTORS[spectrum]
    assert rectified < 0.5 * nre(quantize="eigenvectors", rectify=0)  # rectification helps
    assert nre(quantize="matrix", eps=1e-4) > 0.5 * PAPER_NRE_MATRIX  # and U ≫ A
    assert nre(quantize="eigenvectors", bits=8) < 0.1 * rectified
    assert nre(quantize="none") < 1e-12


def test_fisher_metrics_report_state_and_scale_free_direction():
    problem = fisher_problem(32, 6, 5)
    exact = problem.reference["natural_gradient"]
    metrics = fisher_product_metrics(problem, (3 * exact, np.array([100.0])))
    assert metrics["direction_error"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["relative_error"] == pytest.approx(2.0)
    assert metrics["state_bytes"] == 100.0


def test_bad_sizes_and_damping_are_refused_in_one_line():
    with pytest.raises(ValueError, match="asked for"):
        fisher_problem(5000, 6, 5)
    with pytest.raises(ValueError, match="damping must be positive"):
        fisher_problem(16, 6, 5, damping=0.0)
    with pytest.raises(ValueError, match="bits must be 4 or 8"):
        quantized_roots.quantize(xnp, np.eye(4), bits=3)
    problem = fisher_problem(16, 6, 5)
    with pytest.raises(ValueError, match="steps ≥ 1"):
        second_order.psgd_kron(*problem.inputs, xp=xnp, steps=0)
    with pytest.raises(ValueError, match="positive integer"):
        second_order.shampoo(*problem.inputs, xp=xnp, root=0)
