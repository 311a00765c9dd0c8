"""Method plugin: orthogonalizers, which map a matrix G = U Σ Vᵀ to (an approximation of) its
polar factor U Vᵀ. See ../shared/METHODS.md, section 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from harness import Method, hookimpl, method

NEWTON_SCHULZ_COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "cubic": (1.5, -0.5, 0.0),
    "quintic": (15 / 8, -10 / 8, 3 / 8),
    "muon": (3.4445, -4.7750, 2.0315),
}
"""Odd-polynomial coefficients (a, b, c) of p(x) = a x + b x³ + c x⁵, one per named set.

``cubic`` and ``quintic`` are the Taylor (Newton–Schulz) iterations that converge to the
polar factor; ``muon`` is Keller Jordan's set for the Muon optimizer, chosen for a steep
slope at zero, which by design stops short of convergence: singular values end in about
[0.68, 1.13].
"""


def newton_schulz_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Per step, with p = min(m, n), q = max(m, n): X Xᵀ (2p²q), A² (2p³), B X (2p²q)."""
    p, q = sorted((sizes["m"], sizes["n"]))
    return params["steps"] * (4 * p * p * q + 2 * p**3)


@method(
    family="orthogonalizer",
    dtypes={"float16", "bfloat16", "float32", "float64"},
    flops=newton_schulz_flops,
    iterative=True,
)
def newton_schulz(
    G: Any,
    *,
    xp: Any,
    steps: int = 5,
    coefficients: Literal["muon", "cubic", "quintic"] = "muon",
    eps: float = 1e-7,
) -> Iterator[Any]:
    """Newton–Schulz odd polynomial iteration towards the polar factor of G.

    X₀ = G / (‖G‖_F + ε) on the wide orientation (Gᵀ if m > n, so that X Xᵀ is the smaller
    Gram matrix); then ``steps`` times A = X Xᵀ, X ← a X + (b A + c A²) X. The Frobenius
    normalisation puts every singular value in (0, 1], where the polynomial pushes them
    towards 1. Muon (Jordan et al. 2024) runs 5 steps of the ``muon`` set in bfloat16.
    Yields the iterate after every step (its convergence curve is stored with the result).
    Works on stacks of matrices (leading batch axes) as well.
    """
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS[coefficients]
    tall = G.shape[-2] > G.shape[-1]
    X = xp.matrix_transpose(G) if tall else G
    X = X / (xp.linalg.vector_norm(X, axis=(-2, -1), keepdims=True) + eps)
    for _ in range(steps):
        A = X @ xp.matrix_transpose(X)
        X = a * X + (b * A + c * (A @ A)) @ X
        yield xp.matrix_transpose(X) if tall else X


@method(family="orthogonalizer", dtypes={"float32", "float64"})
def svd_polar(G: Any, *, xp: Any) -> Any:
    """The exact polar factor from a thin SVD: G = U Σ Vᵀ gives Q = U Vᵀ (the reference)."""
    U, _, Vh = xp.linalg.svd(G, full_matrices=False)
    return U @ Vh


@hookimpl
def harness_methods() -> list[Method]:
    return [newton_schulz, svd_polar]
