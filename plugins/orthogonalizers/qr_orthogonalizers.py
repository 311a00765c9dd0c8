"""Method plugin: QR-type orthogonalizers, which return an orthonormal basis Q of range(G)
(of the row space when G is wide) — *not* the polar factor. The ``orthogonalize`` task scores
them by orthogonality, σ and subspace errors; their ``polar_distance`` is large by design.

All work on the tall orientation X (q×p, q ≥ p; Gᵀ when G is wide) and transpose back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness_builtins.shared import DTYPES, back, gaussian_like, tall

from harness import Method, hookimpl, method


class RankDeficientError(ArithmeticError):
    """The input is (numerically) rank-deficient, so a Cholesky-based QR cannot factor it."""


def _dims(sizes: Mapping[str, int]) -> tuple[int, int]:
    p, q = sorted((sizes["m"], sizes["n"]))
    return p, q


def qr_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Householder QR of a q×p matrix, R and then the thin Q: 2 × (2p²q − 2p³/3)."""
    p, q = _dims(sizes)
    return 4 * p * p * q - 4 * p**3 / 3


@method(family="orthogonalizer", dtypes=DTYPES, flops=qr_flops)
def qr_householder(G: Any, *, xp: Any) -> Any:
    """Q from a thin Householder QR, X = QR (``xp.linalg.qr``), with the signs fixed so that
    R has a positive diagonal (the unique QR of a full-rank X). Orthonormal to working
    precision for any κ; spans range(X); not the polar factor."""
    X, transposed = tall(xp, G)
    Q, R = xp.linalg.qr(X)
    signs = xp.sign(xp.linalg.diagonal(R))
    signs = xp.where(signs == 0, xp.ones_like(signs), signs)
    return back(xp, Q * xp.expand_dims(signs, axis=-2), transposed)


def cholesky_qr_pass(xp: Any, X: Any) -> Any:
    """One Cholesky QR pass: XᵀX = L Lᵀ (R = Lᵀ), Q = X R⁻¹ = (L⁻¹ Xᵀ)ᵀ.

    Raises ``RankDeficientError`` when the Cholesky factorisation fails or its pivots show
    the Gram matrix to be singular in working precision (min Lᵢᵢ ≤ √u · max Lᵢᵢ, u the unit
    round-off, i.e. κ(X) beyond about 1/√u): Cholesky QR squares the condition number, and
    past that point it would return garbage or NaNs rather than an orthonormal Q.
    """
    gram = xp.matrix_transpose(X) @ X
    try:
        L = xp.linalg.cholesky(gram)
    except Exception as exc:  # numpy's LinAlgError, torch's linalg.LinAlgError, ...
        raise RankDeficientError(
            f"Cholesky QR: the Gram matrix XᵀX is not positive definite ({exc}); "
            "the input is rank-deficient in working precision"
        ) from exc
    pivots = xp.linalg.diagonal(L)
    smallest, largest = float(xp.min(pivots)), float(xp.max(pivots))
    unit_roundoff = float(xp.finfo(X.dtype).eps) / 2
    if not smallest > math.sqrt(unit_roundoff) * largest:  # also catches NaN
        raise RankDeficientError(
            f"Cholesky QR: pivot ratio min/max diag(R) = {smallest / largest:.3g} is below "
            f"√u = {math.sqrt(unit_roundoff):.3g}; the input is rank-deficient (or κ ≳ 1/√u) "
            "in working precision"
        )
    return xp.matrix_transpose(xp.linalg.solve(L, xp.matrix_transpose(X)))


def cholesky_qr2_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Two passes of: Gram XᵀX (p²q, symmetric: ``syrk``), Cholesky (p³/3), the solve with
    L for the q rows (an LU of L, 2p³/3, then 2p²q)."""
    p, q = _dims(sizes)
    return 2 * (3 * p * p * q + p**3)


@method(family="orthogonalizer", dtypes=DTYPES, flops=cholesky_qr2_flops)
def cholesky_qr2(G: Any, *, xp: Any) -> Any:
    """Cholesky QR2 (Fukaya, Nakatsukasa et al. 2014): R = chol(XᵀX), Q = X R⁻¹, repeated
    once on Q. One pass leaves ‖QᵀQ − I‖ ~ u κ(X)²; the second brings it to ~u as long as
    κ(X) ≲ u^(−1/2). All matrix products, so fast on GPUs; fails (``RankDeficientError``,
    recorded as the case's error) on inputs that are rank-deficient in working precision."""
    X, transposed = tall(xp, G)
    return back(xp, cholesky_qr_pass(xp, cholesky_qr_pass(xp, X)), transposed)


def sketch_rows(p: int) -> int:
    """Dion's sketch size: 1.25 p rounded up to a multiple of 128."""
    return 128 * math.ceil(1.25 * p / 128)


def randomized_cholesky_qr_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Sketch S X (2kqp), QR of k×p (2p²k), X R⁻¹ (solve, 2p²q), one Cholesky QR pass."""
    p, q = _dims(sizes)
    k = sketch_rows(p)
    return 2 * k * q * p + 2 * p * p * k + 2 * p * p * q + 4 * p * p * q + p**3 / 3


@method(family="orthogonalizer", dtypes=DTYPES, flops=randomized_cholesky_qr_flops)
def randomized_cholesky_qr(G: Any, *, xp: Any, seed: int = 0) -> Any:
    """Randomized Cholesky QR, as in the Dion optimizer (Ahn et al. 2025).

    S is a k×q Gaussian sketch with entries of standard deviation 1/√k, k = 1.25 p rounded up
    to a multiple of 128; R from a QR of the small k×p matrix S X; Q₁ = X R⁻¹, then one
    Cholesky QR pass on Q₁. The sketch preconditions X (κ(Q₁) = O(1) with high probability),
    so unlike Cholesky QR2 it copes with ill-conditioned inputs. R's rows are signed so
    that its diagonal is positive, as in ``qr_householder``. A rank-deficient input (min |Rᵢᵢ|
    ≤ p·u·max |Rᵢᵢ|) raises ``RankDeficientError``: R⁻¹ would amplify rounding noise into
    a full-rank but meaningless Q. S is drawn on the host from
    ``seed`` (the array API has no random numbers) and moved to the device inside the timed
    call.
    """
    X, transposed = tall(xp, G)
    q, p = X.shape[-2:]
    k = sketch_rows(p)
    S = gaussian_like(xp, X, (k, q), seed, std=1 / math.sqrt(k))
    _, R = xp.linalg.qr(S @ X)
    diagonal = xp.linalg.diagonal(R)
    smallest, largest = float(xp.min(xp.abs(diagonal))), float(xp.max(xp.abs(diagonal)))
    unit_roundoff = float(xp.finfo(X.dtype).eps) / 2
    if not smallest > p * unit_roundoff * largest:  # also catches NaN
        raise RankDeficientError(
            f"randomized Cholesky QR: min/max |diag R| of the sketch's QR is "
            f"{smallest / largest:.3g}, below p·u = {p * unit_roundoff:.3g}; the input is "
            "rank-deficient in working precision"
        )
    R = R * xp.expand_dims(xp.sign(diagonal), axis=-1)  # positive diagonal
    Q1 = xp.matrix_transpose(xp.linalg.solve(xp.matrix_transpose(R), xp.matrix_transpose(X)))
    return back(xp, cholesky_qr_pass(xp, Q1), transposed)


def mgs_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Modified Gram–Schmidt on q×p: 2p²q."""
    p, q = _dims(sizes)
    return 2 * p * p * q


@method(family="orthogonalizer", dtypes=DTYPES, flops=mgs_flops)
def modified_gram_schmidt(G: Any, *, xp: Any) -> Any:
    """Modified Gram–Schmidt, the textbook baseline: for j = 1..p, qⱼ = xⱼ/‖xⱼ‖, then remove
    the qⱼ component from every later column at once. Loses orthogonality as the condition
    number grows, ‖QᵀQ − I‖ ~ u κ(X) (Björck 1967); a zero column gives NaNs (an error).
    p Python-level steps of O(qp) vector work each, so slow for wide p."""
    X, transposed = tall(xp, G)
    columns = []
    rest = X
    for _ in range(X.shape[-1]):
        column = rest[..., :, :1]
        column = column / xp.linalg.vector_norm(column, axis=-2, keepdims=True)
        columns.append(column)
        rest = rest[..., :, 1:]
        rest = rest - column @ (xp.matrix_transpose(column) @ rest)
    return back(xp, xp.concat(columns, axis=-1), transposed)


@hookimpl
def harness_methods() -> list[Method]:
    return [qr_householder, cholesky_qr2, randomized_cholesky_qr, modified_gram_schmidt]
