"""The preconditioned conjugate gradient driver shared by every linear-system preconditioner,
and the Lanczos tridiagonal hidden in its coefficients.

Not a plugin by itself: ``linear_preconditioners`` (beside it) builds a preconditioner and
hands it to ``pcg``; the ``spd_solve`` task reads iterations and κ(P⁻¹A) from what it
yields with ``iterations_and_kappa``. See the method catalogue (METHODS.md), section 4,
and docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.shared import matrix_bytes, stored_entries

from harness import Footprint
from harness.model.method import BytesModel

Preconditioner = Callable[[Any], Any]
"""z = P⁻¹ r for a dense 1-D residual r: a symmetric positive definite linear map."""

CG_VECTOR_FLOPS = 10
"""Flops per unknown of one CG step besides A p: two inner products and three updates."""
JACOBI_VECTOR_FLOPS = CG_VECTOR_FLOPS + 3
"""A Jacobi step adds z = D⁻¹ r (1) and r·z (2)."""
CG_VECTOR_PASSES = 14
"""Vector reads and writes of one CG step besides the product A p, each of n words: read p
and write q around A p (2), p·q (2), x += αp (3), r −= αq (3), r·r (1), p ← z + βp (3)."""
JACOBI_VECTOR_PASSES = CG_VECTOR_PASSES + 5
"""A Jacobi step adds z = D⁻¹ r (read r and D⁻¹, write z: 3) and r·z (2)."""


def cg_bytes(vector_passes: int) -> BytesModel:
    """The bytes model of a CG method whose step makes ``vector_passes`` passes over
    n-vectors besides one product with A: per step one read of A (``matrix_bytes``) and
    ``vector_passes`` n-vectors, times the ``iterations`` the case ran (the preconditioner's
    build not counted, so the GB/s is a lower bound)."""

    def model(sizes: Any, params: Any, footprint: Footprint) -> float:
        A = footprint.inputs[0]
        step = matrix_bytes(A, footprint.word) + vector_passes * A.shape[0] * footprint.word
        return step * footprint.metrics.get("iterations", 0.0)

    return model


def cg_flops(vector_flops: int) -> Callable[..., float]:
    """The flop model of a CG method: per step, 2 flops per stored entry of A (its product)
    and ``vector_flops`` per unknown, times the ``iterations`` the case ran (the
    preconditioner's build not counted)."""

    def model(sizes: Any, params: Any, footprint: Footprint) -> float:
        A = footprint.inputs[0]
        step = 2.0 * stored_entries(A) + vector_flops * A.shape[0]
        return step * footprint.metrics.get("iterations", 0.0)

    return model


def pcg(
    xp: Any,
    A: Any,
    b: Any,
    precondition: Preconditioner | None = None,
    *,
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> Iterator[tuple[Any, Any, Any]]:
    """Preconditioned conjugate gradients for A x = b from x₀ = 0 (Hestenes and Stiefel 1952;
    Saad, *Iterative Methods for Sparse Linear Systems*, 2003, Algorithm 9.1).

    r₀ = b, z₀ = P⁻¹ r₀, p₀ = z₀; step j: αⱼ = rⱼᵀzⱼ / pⱼᵀA pⱼ, x ← x + αⱼ pⱼ,
    r ← r − αⱼ A pⱼ, z = P⁻¹ r, βⱼ = rⱼ₊₁ᵀzⱼ₊₁ / rⱼᵀzⱼ, p ← z + βⱼ p. Stops once
    ‖r‖ < ``tol``·‖b‖ (the recursively updated residual, as scipy.sparse.linalg.cg does), or
    after ``maxiter`` steps. ``precondition=None`` is plain CG (z = r, one inner product less).

    A is anything with ``A @ v`` for a dense 1-D v (a dense array, or a backend's sparse CSR
    matrix). Yields ``(x, alphas, betas)`` after every step: the iterate and the coefficients
    α₀..αₖ, β₀..βₖ₋₁ so far, as arrays on the device. The coefficient arrays are views of
    preallocated buffers and x is updated in place: consume (or copy) each yield before asking
    for the next, as the host does. One host synchronisation per step (the stopping test).
    """
    if maxiter < 1:
        raise ValueError(f"maxiter must be at least 1, got {maxiter}")
    x = xp.zeros_like(b)
    r = xp.asarray(b, copy=True)
    threshold = tol * tol * float(b @ b)
    alphas = xp.zeros(maxiter, dtype=b.dtype, device=array_device(b))
    betas = xp.zeros(maxiter, dtype=b.dtype, device=array_device(b))
    z = r if precondition is None else precondition(r)
    rz = r @ z
    p = xp.asarray(z, copy=True)
    if threshold == 0:  # b = 0: x = 0 is exact
        yield x, alphas[:0], betas[:0]
        return
    for k in range(maxiter):
        q = A @ p
        alpha = rz / (p @ q)
        x += alpha * p
        r -= alpha * q
        alphas[k] = alpha
        rr = r @ r
        if float(rr) < threshold:
            yield x, alphas[: k + 1], betas[:k]
            return
        if precondition is None:
            z, rz_next = r, rr
        else:
            z = precondition(r)
            rz_next = r @ z
        beta = rz_next / rz
        betas[k] = beta
        yield x, alphas[: k + 1], betas[:k]
        p *= beta
        p += z
        rz = rz_next


def lanczos_tridiagonal(alphas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The diagonal and off-diagonal of the k×k Lanczos matrix Tₖ of P⁻¹A that k CG steps
    build implicitly (Saad 2003, §6.7.3):

    Tⱼⱼ = 1/αⱼ + βⱼ₋₁/αⱼ₋₁ (β₋₁ = 0), Tⱼ,ⱼ₊₁ = √βⱼ / αⱼ.

    Its eigenvalues (Ritz values) approach the extreme eigenvalues of P⁻¹A from inside."""
    alphas, betas = np.asarray(alphas, float), np.asarray(betas, float)[: len(alphas) - 1]
    diagonal = 1 / alphas
    diagonal[1:] += betas / alphas[:-1]
    return diagonal, np.sqrt(np.maximum(betas, 0.0)) / alphas[:-1]


def kappa_estimate(alphas: np.ndarray, betas: np.ndarray) -> float:
    """κ(P⁻¹A) ≈ θ_max/θ_min, the extreme Ritz values of ``lanczos_tridiagonal`` (bisection
    for the two of them only, O(k)). A lower bound on the true κ that tightens as CG runs;
    NaN before the first step."""
    from scipy.linalg import eigvalsh_tridiagonal

    k = len(alphas)
    if k == 0:
        return float("nan")
    diagonal, off = lanczos_tridiagonal(alphas, betas)
    if k == 1:
        return 1.0
    low = eigvalsh_tridiagonal(diagonal, off, select="i", select_range=(0, 0))[0]
    high = eigvalsh_tridiagonal(diagonal, off, select="i", select_range=(k - 1, k - 1))[0]
    return float(high / low)
