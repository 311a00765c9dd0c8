"""Method plugin: inverse p-th roots of SPD matrices (Shampoo's preconditioner roots), for the
``inverse_root`` task, whose inputs are ``(A, p)`` with p a Python int. Every method returns
X ≈ A^(−1/p); methods built on square roots support only the p they can reach (2, and 4 =
a square root of a square root for ``newton_schulz_sqrt``) and raise otherwise. See
the method catalogue (METHODS.md), section 4, and docs/methods.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from harness_builtins.shared import DTYPES, eye_like, matrix_power

from harness import Footprint, Method, hookimpl, method


def root_of(p: Any) -> int:
    """The task's root p (a Python int) checked: a positive integer."""
    if not isinstance(p, int) or p < 1:
        raise ValueError(f"the root p must be a positive integer, got {p!r}")
    return p


def roots_only(*allowed: int) -> Callable[[Any, Any], str | None]:
    """A method's ``supports``: it refuses a problem whose root p is not one of ``allowed``
    (the case is ``unsupported`` with the reason, not an error)."""

    def supports(A: Any, p: Any) -> str | None:
        if p in allowed:
            return None
        return f"computes A^(-1/p) only for p in {allowed}; this problem has p = {p}"

    return supports


def _require_square_root_power(name: str, p: int, allowed: tuple[int, ...]) -> None:
    """The same check for a direct call (outside the harness, ``supports`` is not asked)."""
    reason = roots_only(*allowed)(None, p)
    if reason is not None:
        raise ValueError(f"{name} {reason}")


def _frobenius(xp: Any, A: Any) -> Any:
    return xp.linalg.vector_norm(A, axis=(-2, -1), keepdims=True)


def _cube(sizes: Mapping[str, int]) -> float:
    return float(sizes["n"]) ** 3


@method(
    family="preconditioner",
    tasks={"inverse_root"},
    dtypes=DTYPES,
    flops=lambda sizes, params: 9 * _cube(sizes) + 2 * _cube(sizes),
)
def eigh_root(A: Any, p: Any, *, xp: Any, eps: float = 0.0) -> Any:
    """The reference: A + εI = U Λ Uᵀ (``xp.linalg.eigh``), X = U Λ^(−1/p) Uᵀ.

    Exact up to the eigensolver's backward error, but an eigenvalue pushed to ≤ 0 by
    rounding (κ(A) ≳ 1/u) is an error, not a NaN. Flops: about 9n³ for eigh, 2n³ for the
    product (a rough model; LAPACK's count depends on the algorithm)."""
    k = root_of(p)
    n = A.shape[-1]
    lam, U = xp.linalg.eigh(A + eps * eye_like(xp, A, n) if eps else A)
    smallest = float(xp.min(lam))
    if not smallest > 0:
        raise ValueError(
            f"eigh_root: A + εI has eigenvalue {smallest:.3g} ≤ 0 in {A.dtype}; "
            "raise eps or use a wider dtype"
        )
    return (U * xp.expand_dims(lam ** (-1.0 / k), axis=-2)) @ xp.matrix_transpose(U)


def coupled_newton_flops(
    sizes: Mapping[str, int], params: Mapping[str, Any], footprint: Footprint
) -> float:
    """Per step X M′, M′ᵏ (``matrix_power``: ⌊log₂ k⌋ + popcount(k) − 1 products) and its
    product with M, 2n³ each, for the steps it ran (it stops at ``tol``, usually long before
    ``steps``: counting all of them put it at 5–10× the measured peak)."""
    k = root_of(footprint.inputs[1])
    products = 2 + (k.bit_length() - 1) + k.bit_count() - 1
    return (footprint.steps or params["steps"]) * products * 2 * _cube(sizes)


@method(
    family="preconditioner",
    tasks={"inverse_root"},
    dtypes=DTYPES,
    flops=coupled_newton_flops,
    iterative=True,
)
def coupled_newton_root(
    A: Any, p: Any, *, xp: Any, steps: int = 100, tol: float = 1e-6
) -> Iterator[Any]:
    """Coupled Newton iteration for A^(−1/p), as in Shampoo (Gupta, Koren, Singer 2018;
    Anil et al. 2020).

    α = −1/p, z = (p + 1) / (2‖A‖_F), X₀ = z^(1/p) I, M₀ = z A; step:
    M′ = (1 − α) I + α M, X ← X M′, M ← M′ᵖ M. The invariant M = X^p A holds throughout,
    so M → I means X → A^(−1/p). Stops after ``steps`` steps, when max|M − I| ≤ ``tol``, or
    when that error grows (the grown iterate is dropped); yields X after every kept step.
    """
    k = root_of(p)
    alpha = -1.0 / k
    n = A.shape[-1]
    identity = eye_like(xp, A, n)
    z = (k + 1) / (2 * _frobenius(xp, A))
    X = z ** (1.0 / k) * identity
    M = z * A
    error = math.inf
    for _ in range(steps):
        step = (1 - alpha) * identity + alpha * M
        X_new, M_new = X @ step, matrix_power(xp, step, k) @ M
        new_error = float(xp.max(xp.abs(M_new - identity)))
        if not new_error < error and error < math.inf:  # growing (or NaN): keep the last X
            return
        X, M, error = X_new, M_new, new_error
        yield X
        if error <= tol:
            return


def newton_schulz_sqrt_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Per step Z Y, Y T, T Z (3 products of 2n³), for each of log₂ p stages (counted for
    p = 4, two stages)."""
    return params["steps"] * 2 * 3 * 2 * _cube(sizes)


def coupled_sqrt_iterates(xp: Any, B: Any, steps: int) -> Iterator[tuple[Any, Any]]:
    """The coupled Newton–Schulz iteration for B^(1/2) and B^(−1/2) (Higham 2008, eq. 6.35).

    c = ‖B‖_F, Y₀ = B / c, Z₀ = I; T = (3I − Z Y)/2, Y ← Y T, Z ← T Z. Y → (B/c)^(1/2) and
    Z → (B/c)^(−1/2) quadratically once ‖I − Y Z‖ < 1, which the normalisation ensures for
    SPD B. Yields (Y √c, Z / √c) after every step.
    """
    c = _frobenius(xp, B)
    identity = eye_like(xp, B, B.shape[-1])
    Y, Z = B / c, identity
    root_c = xp.sqrt(c)
    for _ in range(steps):
        T = (3 * identity - Z @ Y) / 2
        Y, Z = Y @ T, T @ Z
        yield Y * root_c, Z / root_c


@method(
    family="preconditioner",
    tasks={"inverse_root"},
    dtypes=DTYPES,
    flops=newton_schulz_sqrt_flops,
    iterative=True,
    supports=roots_only(2, 4),
)
def newton_schulz_sqrt(A: Any, p: Any, *, xp: Any, steps: int = 30) -> Iterator[Any]:
    """A^(−1/p) for p = 2 or 4 by the coupled Newton–Schulz square-root iteration (Higham
    2008; used for matrix square roots in iSQRT-COV, Li et al. 2018).

    p = 2: the inverse-square-root half Z of one run on A (its square-root half Y is the
    by-product A^(1/2)). p = 4: a first run of ``steps`` steps gives A^(1/2) (Y), a second
    run on it gives (A^(1/2))^(−1/2) = A^(−1/4). Yields A^(−1/p)'s estimate after every step
    of the last run. Inverse-free (matrix products only); the slow phase takes about
    log(c/λ_min)/log 1.5 steps, so ill-conditioned A need more ``steps``.
    """
    k = root_of(p)
    _require_square_root_power("newton_schulz_sqrt", k, (2, 4))
    B = A
    if k == 4:
        for B, _ in coupled_sqrt_iterates(xp, A, steps):  # noqa: B007 - keep the last Y
            pass
    for _, inverse_sqrt in coupled_sqrt_iterates(xp, B, steps):
        yield inverse_sqrt


def taylor_inverse_sqrt_coefficients(degree: int) -> list[float]:
    """(1 − z)^(−1/2) = Σ_k C(2k, k)/4^k z^k, up to z^degree."""
    return [math.comb(2 * k, k) / 4**k for k in range(degree + 1)]


def _polynomial(xp: Any, Z: Any, coefficients: list[float] | np.ndarray) -> Any:
    """Σ_k c_k Z^k by Horner's rule (degree products)."""
    identity = eye_like(xp, Z, Z.shape[-1])
    result = float(coefficients[-1]) * identity
    for c in reversed(coefficients[:-1]):
        result = Z @ result + float(c) * identity
    return result


def _normalised(xp: Any, A: Any) -> tuple[Any, Any]:
    """Z = I − A/‖A‖_F (eigenvalues in [0, 1)) and ‖A‖_F."""
    c = _frobenius(xp, A)
    return eye_like(xp, A, A.shape[-1]) - A / c, c


@method(
    family="preconditioner",
    tasks={"inverse_root"},
    dtypes=DTYPES,
    flops=lambda sizes, params: params["degree"] * 2 * _cube(sizes),
    supports=roots_only(2),
)
def taylor_sqrt(A: Any, p: Any, *, xp: Any, degree: int = 20) -> Any:
    """A^(−1/2) by a matrix Taylor polynomial (MTP; Song et al. 2022, *Fast Differentiable
    Matrix Square Root and Inverse Square Root*): with c = ‖A‖_F and Z = I − A/c,
    A^(−1/2) ≈ c^(−1/2) Σ_{k ≤ K} C(2k, k)/4^k Z^k, K = ``degree`` (Horner, K products).

    The eigenvalues of Z lie in [0, 1 − λ_min/c], so the truncation error near λ_min decays
    only like (1 − λ_min/c)^K: accurate for well-conditioned A, poor for large κ.
    Only p = 2 (raises otherwise)."""
    _require_square_root_power("taylor_sqrt", root_of(p), (2,))
    Z, c = _normalised(xp, A)
    return _polynomial(xp, Z, taylor_inverse_sqrt_coefficients(degree)) / xp.sqrt(c)


def pade_sqrt_polynomials(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (ascending) of P and Q with P(z)/Q(z) the [K/K] Padé approximant of
    √(1 − z), from its partial fractions (Kenney and Laub 1989; Higham 2008, *Functions of
    Matrices*):
    √(1 − z) ≈ 1 − Σ_j αⱼ z / (1 − βⱼ z), αⱼ = 2/(2K+1) sin²(jπ/(2K+1)),
    βⱼ = cos²(jπ/(2K+1)), j = 1..K; Q = Πⱼ (1 − βⱼ z), P = Q − z Σⱼ αⱼ Π_{i≠j} (1 − βᵢ z)."""
    j = np.arange(1, degree + 1)
    angle = j * np.pi / (2 * degree + 1)
    alpha, beta = 2 / (2 * degree + 1) * np.sin(angle) ** 2, np.cos(angle) ** 2
    factors = [np.polynomial.Polynomial([1.0, -b]) for b in beta]
    Q = np.polynomial.Polynomial([1.0])
    for f in factors:
        Q = Q * f
    P = Q
    for i, a in enumerate(alpha):
        others = np.polynomial.Polynomial([1.0])
        for f in factors[:i] + factors[i + 1 :]:
            others = others * f
        P = P - np.polynomial.Polynomial([0.0, a]) * others
    return P.coef, Q.coef


@method(
    family="preconditioner",
    tasks={"inverse_root"},
    dtypes=DTYPES,
    flops=lambda sizes, params: (2 * params["degree"] * 2 + 8 / 3) * _cube(sizes),
    supports=roots_only(2),
)
def pade_sqrt(A: Any, p: Any, *, xp: Any, degree: int = 8) -> Any:
    """A^(−1/2) by a matrix Padé approximant (MPA; Song et al. 2022): with c = ‖A‖_F and
    Z = I − A/c, √(A/c) ≈ Q(Z)⁻¹ P(Z) for the [K/K] Padé approximant P/Q of √(1 − z)
    (K = ``degree``), so A^(−1/2) ≈ c^(−1/2) P(Z)⁻¹ Q(Z): two degree-K polynomials (each
    evaluated as a product of its K linear factors) and one linear solve. Converges much
    faster in K than the Taylor polynomial, but is still
    limited near λ_min/c ≪ 1. Only p = 2 (raises otherwise)."""
    _require_square_root_power("pade_sqrt", root_of(p), (2,))
    Z, c = _normalised(xp, A)
    P, Q = (_factored(xp, Z, coefficients) for coefficients in pade_sqrt_polynomials(degree))
    return xp.linalg.solve(P, Q) / xp.sqrt(c)


def _factored(xp: Any, Z: Any, coefficients: np.ndarray) -> Any:
    """Σ_k c_k Z^k with c₀ = 1 as the product Πⱼ (I − Z/rⱼ) over its roots rⱼ (real and > 1
    for both Padé polynomials): K − 1 products, and far less rounding in float32 than the
    monomial form, whose terms cancel heavily near z = 1."""
    roots = np.polynomial.polynomial.polyroots(coefficients)
    if np.max(np.abs(roots.imag)) > 1e-8 * np.max(np.abs(roots)):
        raise ArithmeticError("the Padé polynomial has complex roots; use a smaller degree")
    identity = eye_like(xp, Z, Z.shape[-1])
    result = None
    for root in sorted(roots.real):
        factor = identity - Z / float(root)
        result = factor if result is None else result @ factor
    return result


@hookimpl
def harness_methods() -> list[Method]:
    return [eigh_root, coupled_newton_root, newton_schulz_sqrt, taylor_sqrt, pade_sqrt]
