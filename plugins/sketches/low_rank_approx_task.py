"""Task plugin: ``low_rank_approx``, judging rank-k approximations of an m×n matrix A.

The family's inputs here are ``(A, k)``: A dense and k, the target rank (the third size, so
that flop models see it). A method's output is either

- Q, an m×l basis whose range approximates A's top left singular subspace (a range finder;
  l ≥ k, orthonormal or not): Â = P A with P the orthogonal projector onto range(Q);
- (U, s, Vᵀ), a rank-k factorisation (a randomized SVD): Â = U diag(s) Vᵀ.

Metrics, in float64 on the host, against the exact singular values σ₁ ≥ σ₂ ≥ … of A:

- ``spectral_ratio``: ‖A − Â‖₂ / σ_{k+1}, ≥ 1 for a rank-k Â (Eckart–Young); a range finder's
  l = k + p columns can go below 1. Halko, Martinsson and Tropp's bounds are on this ratio;
- ``frobenius_ratio``: ‖A − Â‖_F / ‖A − A_k‖_F, with ‖A − A_k‖_F = (Σ_{j>k} σⱼ²)^½;
- ``sigma_error``: maxᵢ≤ₖ |σ̂ᵢ − σᵢ| / σᵢ, σ̂ the top k singular values of the output
  (s, or those of QᵀA for an orthonormalised Q; randomized methods underestimate them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.orthogonalizers.orthogonalize_task import _random_orthonormal, real_matrix

from harness import Problem, Task, hookimpl, task

DENSE_NORM_LIMIT = 400
"""Up to this min(m, n) ‖E‖₂ comes from a dense SVD; above, from ARPACK (scipy's svds)."""


def spectral_norm(E: np.ndarray) -> float:
    """‖E‖₂ to float64 precision: LAPACK for small E, Lanczos bidiagonalisation (ARPACK,
    tol = 0, i.e. machine precision) for large ones."""
    if min(E.shape) <= DENSE_NORM_LIMIT:
        return float(np.linalg.norm(E, 2))
    from scipy.sparse.linalg import svds

    return float(svds(E, k=1, tol=0, return_singular_vectors=False, random_state=0)[0])


def low_rank_approx_metrics(problem: Problem, output: Any) -> dict[str, float]:
    A, k = problem.inputs
    sigma = problem.reference["singular_values"]
    if isinstance(output, tuple):
        U, s, Vt = output
        E = A - (U * s) @ Vt
        estimated = np.sort(s)[::-1][:k]
    else:
        Q = np.linalg.qr(output)[0]
        B = Q.T @ A
        E = A - Q @ B
        estimated = np.linalg.svd(B, compute_uv=False)[:k]
    if len(estimated) < k:
        raise ValueError(f"the output has rank {len(estimated)}, below the target rank k = {k}")
    return {
        "spectral_ratio": spectral_norm(E) / sigma[k],
        "frobenius_ratio": float(np.linalg.norm(E) / math.sqrt(np.sum(sigma[k:] ** 2))),
        "sigma_error": float(np.max(np.abs(estimated - sigma[:k]) / sigma[:k])),
    }


def digits_matrix() -> np.ndarray:
    """scikit-learn's bundled digits images as a 1797×64 matrix (one 8×8 image a row, pixels
    scaled to [0, 1]; shipped with scikit-learn, never downloaded)."""
    from sklearn.datasets import load_digits

    return load_digits().data / 16.0


def _block(M: np.ndarray, m: int, n: int, what: str) -> np.ndarray:
    """The top-left m×n block of M, or of Mᵀ where that is the orientation that fits."""
    for candidate in (M, M.T):
        if m <= candidate.shape[0] and n <= candidate.shape[1]:
            return np.ascontiguousarray(candidate[:m, :n])
    raise ValueError(
        f"the {what} matrix is {M.shape[0]}×{M.shape[1]}: sizes {m}×{n} fit neither it nor "
        "its transpose"
    )


@task(
    name="low_rank_approx",
    family="sketch",
    size_names=("m", "n", "k"),
    metrics=low_rank_approx_metrics,
    main_metric="spectral_ratio",
)
def generate_low_rank_approx(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    spectrum: Literal[
        "polynomial", "exponential", "low_rank_noise", "digits", "gradient", "momentum"
    ] = "polynomial",
    exponent: float = 1.0,
    rate: float = 0.1,
    rank: int = 10,
    noise: float = 1e-2,
    layer: Literal["fc2", "fc1"] = "fc2",
    train_step: Literal[10, 1] = 10,
    workload_seed: int = 0,
) -> Problem:
    """An m×n matrix A, the target rank k, and A's exact singular values.

    ``polynomial``: A = U diag(σ) Vᵀ with Haar-random U, V and σⱼ = j^(−exponent).
    ``exponential``: σⱼ = exp(−rate·(j − 1)). ``low_rank_noise``: U_r V_rᵀ + noise·E/√max(m, n),
    Haar U_r, V_r of ``rank`` columns, E standard normal (``rank`` singular values near 1 over
    a Marchenko–Pastur floor of about ``noise``). ``digits``: the top-left m×n block of the
    1797×64 digits images matrix (or of its transpose; about 60 nonzero singular values, a
    few constant-zero pixels). ``gradient`` / ``momentum``: the top-left block of a real
    gradient or momentum matrix of the digits MLP (``layer`` fc1 3072×768 or fc2 768×3072,
    step ``train_step``; harness_builtins.workloads, needs torch the first time). Exact σ for
    the real and noisy inputs come from a float64 SVD (LAPACK's gesdd).
    """
    m, n, k = sizes["m"], sizes["n"], sizes["k"]
    r = min(m, n)
    if not 1 <= k < r:
        raise ValueError(f"the target rank k = {k} must lie in [1, min(m, n) − 1 = {r - 1}]")
    if spectrum in ("polynomial", "exponential"):
        j = np.arange(1, r + 1, dtype=np.float64)
        sigma = j**-exponent if spectrum == "polynomial" else np.exp(-rate * (j - 1))
        A = (_random_orthonormal(rng, m, r) * sigma) @ _random_orthonormal(rng, n, r).T
    else:
        if spectrum == "low_rank_noise":
            signal = min(rank, r)
            A = _random_orthonormal(rng, m, signal) @ _random_orthonormal(rng, n, signal).T
            A += noise * rng.standard_normal((m, n)) / math.sqrt(max(m, n))
        elif spectrum == "digits":
            A = _block(digits_matrix(), m, n, "digits")
        else:
            A = real_matrix(m, n, spectrum, layer, train_step, workload_seed)
        sigma = np.linalg.svd(A, compute_uv=False)
    if sigma[k] <= 1e-12 * sigma[0]:
        raise ValueError(
            f"σ_(k+1) of this {spectrum} matrix is {sigma[k]:.3g} (σ₁ = {sigma[0]:.3g}): A has "
            f"numerical rank ≤ k = {k}, so the error ratios are undefined; lower k"
        )
    return Problem(inputs=(A, k), reference={"singular_values": sigma})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_low_rank_approx]
