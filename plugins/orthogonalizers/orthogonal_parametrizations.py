"""Method plugin: orthogonal parametrisations, which build an exactly orthogonal matrix
from G but not its polar factor: the Cayley transform and a Householder reflection chain.
The ``orthogonalize`` task scores them by orthogonality and σ errors only (their
``polar_distance`` and ``subspace_error`` are reported but not what they aim at).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness_builtins.shared import DTYPES, back, eye_like, tall

from harness import Method, hookimpl, method


def cayley_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """LU solve of an n×n system with n right-hand sides: about 2n³/3 + 2n³."""
    n = sizes["n"]
    return 8 * n**3 / 3


def square_only(G: Any) -> str | None:
    """cayley's ``supports``: a non-square G is ``unsupported`` (the transform maps square
    skew matrices)."""
    m, n = G.shape[-2:]
    return None if m == n else f"cayley needs a square input, got {m}×{n}"


@method(family="orthogonalizer", dtypes=DTYPES, flops=cayley_flops, supports=square_only)
def cayley(G: Any, *, xp: Any) -> Any:
    """The Cayley transform of the skew part of a square G: W = G − Gᵀ,
    Q = (I − W/2)⁻¹ (I + W/2).

    For skew W, Q is orthogonal with det Q = 1 (the Cayley retraction used on the Stiefel
    manifold, e.g. by geoopt and in orthogonal CNNs); I − W/2 has singular values ≥ 1, so
    the solve is well conditioned and Q is orthogonal to working precision. It depends only
    on the skew part of G, so it is *not* G's polar factor: the task scores it by
    orthogonality. A non-square G is refused (``square_only``); called directly, it raises.
    """
    m, n = G.shape[-2:]
    if m != n:
        raise ValueError(f"cayley needs a square input (it maps the skew part of G), got {m}×{n}")
    half_skew = (G - xp.matrix_transpose(G)) / 2
    identity = eye_like(xp, G, n)
    return xp.linalg.solve(identity - half_skew, identity + half_skew)


def householder_chain_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """r reflections, each applied to a q×p block: 4qp per reflection."""
    p, q = sorted((sizes["m"], sizes["n"]))
    r = params["reflections"] or p
    return 4 * min(r, p) * q * p


@method(family="orthogonalizer", dtypes=DTYPES, flops=householder_chain_flops)
def householder_chain(G: Any, *, xp: Any, reflections: int = 0) -> Any:
    """A Householder reflection chain (HRA: Householder Reflection Adaptation, Yuan et al.
    2024; the Householder projector of orthogonal CNNs): Q = H₁ H₂ ⋯ H_r [I_p; 0], with
    Hᵢ = I − 2 uᵢuᵢᵀ/‖uᵢ‖² and uᵢ the i-th column of G's tall orientation (q×p, q ≥ p).

    ``reflections`` = r (0: all p columns). A product of reflections is orthogonal to
    machine precision whatever G is, and Q − [I_p; 0] has rank ≤ r. Applied right to left
    to the q×p block, O(rqp). A parametrisation of orthogonal matrices, not G's polar factor:
    the task scores it by orthogonality. A zero column of G gives NaNs (an error).
    """
    X, transposed = tall(xp, G)
    q, p = X.shape[-2:]
    r = min(reflections or p, p)
    Q = eye_like(xp, X, q, p)
    for i in reversed(range(r)):
        u = X[..., :, i : i + 1]
        coefficient = 2 / xp.sum(u * u, axis=-2, keepdims=True)
        Q = Q - u @ (coefficient * (xp.matrix_transpose(u) @ Q))
    return back(xp, Q, transposed)


@hookimpl
def harness_methods() -> list[Method]:
    return [cayley, householder_chain]
