"""harness-cubic-ns: a third-party linalg-harness plugin providing ``cubic_newton_schulz``.

The host finds this module through the entry point ``cubic_ns`` in the group ``harness``
(see pyproject.toml) and calls its ``harness_methods`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness import Method, hookimpl, method

__version__ = "0.1.0"


def cubic_newton_schulz_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Per step, with p = min(m, n), q = max(m, n): X Xᵀ (2p²q) and (X Xᵀ) X (2p²q)."""
    p, q = sorted((sizes["m"], sizes["n"]))
    return params["steps"] * 4 * p * p * q


@method(family="orthogonalizer", dtypes={"float32", "float64"}, flops=cubic_newton_schulz_flops)
def cubic_newton_schulz(G: Any, *, xp: Any, steps: int = 12) -> Any:
    """Cubic Newton–Schulz iteration towards the polar factor U Vᵀ of G = U Σ Vᵀ.

    X₀ = G / ‖G‖_F, then ``steps`` times X ← 1.5 X − 0.5 X Xᵀ X, on the wide orientation
    (Gᵀ if m > n, so that X Xᵀ is the smaller, p×p Gram matrix; the result is transposed
    back). Each step maps every singular value σ of X to f(σ) = (3σ − σ³)/2, which has the
    fixed point 1 and f'(1) = 0; since 0 < σ ≤ 1 after the Frobenius normalisation, all
    singular values rise monotonically to 1 (quadratically once near it) while the singular
    vectors stay put, so X → U Vᵀ. Small singular values grow only by a factor 1.5 per step,
    so an ill-conditioned G needs about log₁.₅(κ √rank) more steps than a well-conditioned one.
    """
    tall = G.shape[-2] > G.shape[-1]
    X = xp.matrix_transpose(G) if tall else G
    X = X / xp.linalg.vector_norm(X, axis=(-2, -1), keepdims=True)
    for _ in range(steps):
        X = 1.5 * X - 0.5 * ((X @ xp.matrix_transpose(X)) @ X)
    return xp.matrix_transpose(X) if tall else X


@hookimpl
def harness_methods() -> list[Method]:
    return [cubic_newton_schulz]
