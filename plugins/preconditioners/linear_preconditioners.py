"""Method plugin: preconditioned conjugate gradients for A x = b (A symmetric positive definite),
for the ``spd_solve`` task, whose inputs are ``(A, b)``: A dense or the backend's sparse CSR
matrix, b dense. Every method builds its preconditioner P⁻¹ (the build is part of the measured
time) and runs the one shared driver, ``harness_builtins.preconditioners.pcg.pcg``, yielding
``(x, alphas, betas)`` after every CG step. Names carry a ``pcg_`` prefix: ``identity``,
``jacobi`` and ``nystrom`` alone would be ambiguous among the other families' methods (the
Nyström approximation is also a sketch). See the method catalogue (METHODS.md), section 4, and
docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from harness_builtins.preconditioners.pcg import (
    CG_VECTOR_FLOPS,
    CG_VECTOR_PASSES,
    JACOBI_VECTOR_FLOPS,
    JACOBI_VECTOR_PASSES,
    Preconditioner,
    cg_bytes,
    cg_flops,
    pcg,
)
from harness_builtins.shared import DTYPES, diagonal, gaussian_like

from harness import Method, hookimpl, method

TASKS = {"spd_solve"}


@method(
    family="preconditioner",
    tasks=TASKS,
    dtypes=DTYPES,
    iterative=True,
    flops=cg_flops(CG_VECTOR_FLOPS),
    bytes=cg_bytes(CG_VECTOR_PASSES),
)
def pcg_identity(
    A: Any, b: Any, *, xp: Any, tol: float = 1e-8, maxiter: int = 10_000
) -> Iterator[tuple[Any, Any, Any]]:
    """Plain conjugate gradients (P = I; Hestenes and Stiefel 1952): the baseline every
    preconditioner must beat. Iterations grow like √κ(A)·log(2/tol)/2."""
    yield from pcg(xp, A, b, None, tol=tol, maxiter=maxiter)


@method(
    family="preconditioner",
    tasks=TASKS,
    dtypes=DTYPES,
    iterative=True,
    flops=cg_flops(JACOBI_VECTOR_FLOPS),
    bytes=cg_bytes(JACOBI_VECTOR_PASSES),
)
def pcg_jacobi(
    A: Any, b: Any, *, xp: Any, tol: float = 1e-8, maxiter: int = 10_000
) -> Iterator[tuple[Any, Any, Any]]:
    """Jacobi (diagonal) preconditioning: P⁻¹ = diag(A)⁻¹, z = r / diag(A). Optimal among
    diagonal scalings to within a factor of the number of nonzeros per row (van der Sluis
    1969); does nothing for a constant diagonal (Poisson)."""
    inverse_diagonal = 1 / diagonal(xp, A)
    yield from pcg(xp, A, b, lambda r: r * inverse_diagonal, tol=tol, maxiter=maxiter)


def lanczos_interval(xp: Any, A: Any, like: Any, steps: int, seed: int) -> tuple[float, float]:
    """An estimate [λ_lo, λ_hi] of A's spectrum from ``steps`` Lanczos steps (no
    reorthogonalisation) from a Gaussian start vector drawn from ``seed``.

    Tₖ's extreme Ritz values θ lie inside the spectrum; λ_hi = θ_max + |βₖ yₖ| adds the
    residual norm of the top Ritz pair (Zhou and Li 2011's safeguard), so it is, in practice,
    an upper bound on λ_max. λ_lo = θ_min is an overestimate of λ_min (few steps barely see
    the bottom of the spectrum), which only leaves the lowest eigenvalues less damped."""
    n = like.shape[0]
    v = gaussian_like(xp, like, (n,), seed)
    v = v / xp.linalg.vector_norm(v)
    v_previous, beta = xp.zeros_like(v), 0.0
    diagonal_, off = [], []
    for _ in range(steps):
        w = A @ v - beta * v_previous
        alpha = float(w @ v)
        w = w - alpha * v
        beta = float(xp.linalg.vector_norm(w))
        diagonal_.append(alpha)
        off.append(beta)
        if beta == 0:  # an invariant subspace: the Ritz values are exact
            break
        v_previous, v = v, w / beta
    theta, vectors = np.linalg.eigh(
        np.diag(diagonal_) + np.diag(off[:-1], 1) + np.diag(off[:-1], -1)
    )
    return float(theta[0]), float(theta[-1] + abs(off[-1] * vectors[-1, -1]))


def chebyshev_preconditioner(
    xp: Any, A: Any, low: float, high: float, degree: int
) -> Preconditioner:
    """z = p(A) r with p of degree ``degree`` the polynomial of ``degree`` + 1 steps of
    Chebyshev iteration for A z = r from z = 0 on [low, high] (Saad 2003, Algorithm 12.1):
    θ = (high + low)/2, δ = (high − low)/2, σ = θ/δ, ρ₀ = 1/σ, d₀ = r/θ, z = d₀, then
    res ← res − A d, ρ′ = 1/(2σ − ρ), d ← ρ′ρ d + (2ρ′/δ) res, z ← z + d.

    1 − λ p(λ) is the scaled Chebyshev polynomial T_{d+1}((θ − λ)/δ)/T_{d+1}(θ/δ), below 1 on
    (0, high], so p > 0 there and P⁻¹ = p(A) is symmetric positive definite: ``degree``
    products with A per application."""
    if not 0 < low < high:  # a degenerate estimate (A = cI, or rounding): widen it
        low = high / 2
    theta, delta = (high + low) / 2, (high - low) / 2
    sigma = theta / delta

    def apply(r: Any) -> Any:
        d = r / theta
        z, residual, rho = d, r, 1 / sigma
        for _ in range(degree):
            residual = residual - A @ d
            rho_next = 1 / (2 * sigma - rho)
            d = (rho_next * rho) * d + (2 * rho_next / delta) * residual
            z = z + d
            rho = rho_next
        return z

    return apply


@method(family="preconditioner", tasks=TASKS, dtypes=DTYPES, iterative=True)
def pcg_chebyshev_poly(
    A: Any,
    b: Any,
    *,
    xp: Any,
    degree: int = 4,
    lanczos_steps: int = 10,
    seed: int = 0,
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> Iterator[tuple[Any, Any, Any]]:
    """Chebyshev polynomial preconditioning (Rutishauser 1959; Johnson, Micchelli and Paul
    1983; Saad 1985): P⁻¹ = p(A), the degree-``degree`` polynomial with the smallest
    max |1 − λ p(λ)| on the interval [λ_lo, λ_hi] that ``lanczos_steps`` Lanczos steps
    estimate (``lanczos_interval``). Each CG step costs 1 + ``degree`` products with A; it
    pays where inner products or synchronisation are dear (GPUs, distributed), not in
    products with A."""
    if degree < 0:
        raise ValueError(f"degree must be ≥ 0, got {degree}")
    low, high = lanczos_interval(xp, A, b, lanczos_steps, seed)
    yield from pcg(
        xp, A, b, chebyshev_preconditioner(xp, A, low, high, degree), tol=tol, maxiter=maxiter
    )


def neumann_preconditioner(xp: Any, A: Any, omega: float, degree: int) -> Preconditioner:
    """z = ω Σ_{j=0}^{d} (I − ωA)ʲ r, by Horner: y ← r + (I − ωA) y, ``degree`` times."""

    def apply(r: Any) -> Any:
        y = r
        for _ in range(degree):
            y = r + y - omega * (A @ y)
        return omega * y

    return apply


@method(family="preconditioner", tasks=TASKS, dtypes=DTYPES, iterative=True)
def pcg_neumann_poly(
    A: Any,
    b: Any,
    *,
    xp: Any,
    degree: int = 3,
    lanczos_steps: int = 10,
    seed: int = 0,
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> Iterator[tuple[Any, Any, Any]]:
    """Truncated Neumann series (Dubois, Greenbaum and Rodrigue 1979):
    A⁻¹ = ω Σⱼ (I − ωA)ʲ, cut at j = ``degree``, with ω = 1/λ_hi from ``lanczos_steps``
    Lanczos steps. On an eigenvalue λ, p(λ) = (1 − (1 − ωλ)^{d+1})/λ > 0 for 0 < ωλ < 2, so
    P⁻¹ stays positive definite even if λ_hi is a little low. Odd degrees use the products
    better (an even degree adds a term that is negative near λ_max). ``degree`` products
    with A per CG step."""
    if degree < 0:
        raise ValueError(f"degree must be ≥ 0, got {degree}")
    _, high = lanczos_interval(xp, A, b, lanczos_steps, seed)
    yield from pcg(
        xp, A, b, neumann_preconditioner(xp, A, 1 / high, degree), tol=tol, maxiter=maxiter
    )


def nystrom_preconditioner(
    xp: Any, A: Any, like: Any, rank: int, mu: float, seed: int
) -> Preconditioner:
    """The randomized Nyström preconditioner of Frangella, Tropp and Udell (2023, *Randomized
    Nyström Preconditioning*, Algorithms 2.1 and 5.1).

    Ω = qr(G), G n×k Gaussian (drawn on the host from ``seed``); Y = A Ω;
    ν = √n·u·‖Y‖_F (u: the dtype's unit roundoff), Y_ν = Y + νΩ; L Lᵀ = Ωᵀ Y_ν (Cholesky);
    B = Y_ν L⁻ᵀ; U Σ Vᵀ = B (thin SVD); Λ̂ = max(Σ² − ν, 0), so Â = U Λ̂ Uᵀ ≈ A. For A + μI:

    P⁻¹ = (λ̂ₖ + μ) U (Λ̂ + μI)⁻¹ Uᵀ + (I − UUᵀ),

    applied as z = r + U ((λ̂ₖ + μ)/(Λ̂ + μ) − 1) ⊙ (Uᵀ r): 4nk flops per application.
    It maps the top k eigenvalues of A down to about λ̂ₖ + μ and leaves the rest."""
    n = like.shape[0]
    if not 0 < rank < n:
        raise ValueError(f"rank must be in (0, {n}), got {rank}")
    Omega, _ = xp.linalg.qr(gaussian_like(xp, like, (n, rank), seed))
    Y = A @ Omega
    nu = float(n**0.5 * xp.finfo(like.dtype).eps * xp.linalg.vector_norm(Y))
    Y = Y + nu * Omega
    core = xp.matrix_transpose(Omega) @ Y
    L = xp.linalg.cholesky((core + xp.matrix_transpose(core)) / 2)
    B = xp.matrix_transpose(xp.linalg.solve(L, xp.matrix_transpose(Y)))
    U, sigma, _ = xp.linalg.svd(B, full_matrices=False)
    lam = xp.clip(sigma * sigma - nu, min=0.0)
    floor = float(lam[-1]) + mu
    if not floor > 0:
        raise ValueError(
            "the Nyström approximation's k-th eigenvalue is 0: set mu > 0 or lower the rank"
        )
    scale = floor / (lam + mu) - 1

    def apply(r: Any) -> Any:
        return r + U @ (scale * (r @ U))

    return apply


def rank_below_n(A: Any, b: Any, *, params: dict[str, Any]) -> str | None:
    """pcg_nystrom's ``supports``: the sketch rank k must lie in (0, n)."""
    n, rank = A.shape[0], params["rank"]
    return None if 0 < rank < n else f"rank must be in (0, {n}) for this n, got {rank}"


@method(family="preconditioner", tasks=TASKS, dtypes=DTYPES, iterative=True, supports=rank_below_n)
def pcg_nystrom(
    A: Any,
    b: Any,
    *,
    xp: Any,
    rank: int = 50,
    mu: float = 0.0,
    seed: int = 0,
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> Iterator[tuple[Any, Any, Any]]:
    """Nyström-PCG (Frangella, Tropp and Udell 2023): CG on A with the rank-``rank``
    randomized Nyström preconditioner (``nystrom_preconditioner``), A read as Â + ``mu`` I
    (leave mu = 0 when A already includes its shift or ridge). Strong when A has a few large
    eigenvalues over a flat tail (kernel matrices + ridge: κ(P⁻¹A) ≈ (λₖ + μ)/μ); useless on
    a flat spectrum (Poisson). Build: one product of A with an n×k block, QR, Cholesky, SVD."""
    precondition = nystrom_preconditioner(xp, A, b, rank, mu, seed)
    yield from pcg(xp, A, b, precondition, tol=tol, maxiter=maxiter)


@hookimpl
def harness_methods() -> list[Method]:
    return [pcg_identity, pcg_jacobi, pcg_chebyshev_poly, pcg_neumann_poly, pcg_nystrom]
