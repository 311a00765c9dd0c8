"""Method plugin: the randomized range finder and randomized SVD of Halko, Martinsson and Tropp
(*Finding structure with randomness*, SIAM Review 53(2), 2011, Algorithms 4.1, 4.4 and 5.1),
for the ``low_rank_approx`` task, whose inputs are ``(A, k)``: an m×n matrix and the target
rank.

With l = k + p columns (p the oversampling):

1. Y = A Ω for an n×l test matrix Ω, taken from any sketch of ``harness_builtins.sketches.sketches``
   (A Ω = (S Aᵀ)ᵀ for the l×n sketch S; Gaussian by default);
2. Q = orth(Y), then q power iterations Q ← orth(A orth(Aᵀ Q)), re-orthonormalising after
   every product (by Householder QR, or by the row-permuted L factor of an LU factorisation
   as scikit-learn does: cheaper, spans the same space, not orthonormal);
3. for the SVD: B = Qᵀ A (l×n), B = Û Σ Vᵀ, U = Q Û, truncated to rank k.

The power iterations make the error depend on σⱼ^(2q+1) instead of σⱼ, which is what slow
singular value decay needs. See the method catalogue (METHODS.md), section 2, and docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from array_api_compat import device as array_device
from array_api_compat import is_cupy_array, is_numpy_array, is_torch_array
from harness_builtins.shared import DTYPES
from harness_builtins.sketches.sketches import SKETCH_NAMES, apply_sketch

from harness import Method, hookimpl, method

TASKS = {"low_rank_approx"}
SketchName = Literal[
    SKETCH_NAMES
]  # the sketches of harness_builtins.sketches.sketches, checked by suites
Orthonormalizer = Literal["qr", "lu"]


def orthonormal_basis(xp: Any, Y: Any, how: Orthonormalizer) -> Any:
    """A basis of range(Y) for a tall Y (rows ≥ columns).

    ``qr``: the Q factor of a Householder QR, orthonormal columns. ``lu``: P L from the
    partially pivoted Y = P L U (L unit lower trapezoidal, |Lᵢⱼ| ≤ 1): the same range as Y
    (U is invertible when Y has full rank), well enough conditioned to keep power iterations
    from collapsing onto the top singular vector, at about half the flops of QR. The array API
    has no LU: numpy, torch and cupy call the library's own (scipy.linalg.lu,
    torch.linalg.lu_factor, cupyx.scipy.linalg.lu), 3–8× faster than ``standard_lu_basis``
    (measured on 4096×60 and 20000×30 float64), which serves any other library.
    """
    if how == "qr":
        return xp.linalg.qr(Y)[0]
    if is_numpy_array(Y):
        from scipy.linalg import lu

        return lu(Y, permute_l=True, check_finite=False)[0]
    if is_torch_array(Y):
        import torch

        factors, pivots = torch.linalg.lu_factor(Y)
        lower = torch.tril(factors, diagonal=-1) + torch.eye(
            *Y.shape, dtype=Y.dtype, device=Y.device
        )
        # LAPACK's pivots are row swaps i <-> pivots[i] (1-based), applied in order to Y;
        # undo them on the rows of L to get P L.
        order = list(range(Y.shape[0]))
        for i, p in enumerate(pivots.tolist()):
            order[i], order[p - 1] = order[p - 1], order[i]
        permuted = torch.empty_like(lower)
        permuted[torch.tensor(order, device=Y.device)] = lower
        return permuted
    if is_cupy_array(Y):
        from cupyx.scipy.linalg import lu

        return lu(Y, permute_l=True)[0]
    return standard_lu_basis(xp, Y)


def standard_lu_basis(xp: Any, Y: Any) -> Any:
    """P L of Y = P L U with partial pivoting, for a tall m×ℓ Y, in the array API standard
    alone: ℓ elimination steps on the unpermuted rows (the pivot row of step j is the largest
    |entry| of column j among the rows not yet pivots; its multipliers are column j of P L),
    with no host synchronisation (the pivot stays a device index). O(mℓ²) flops; equal to
    scipy.linalg.lu(Y, permute_l=True)[0] to rounding."""
    m, columns = Y.shape
    free = xp.ones((m,), dtype=Y.dtype, device=array_device(Y))  # 1 on rows not yet pivots
    rows = xp.arange(m, device=array_device(Y))
    rest, basis = Y, []
    for _ in range(columns):
        column = rest[:, 0]
        pivot = xp.reshape(xp.argmax(xp.abs(column) * free), (1,))
        multipliers = column / xp.take(column, pivot) * free
        basis.append(multipliers)
        free = free * xp.astype(rows != pivot, Y.dtype)
        rest = rest[:, 1:] - xp.expand_dims(multipliers, axis=1) * xp.take(
            rest[:, 1:], pivot, axis=0
        )
    return xp.stack(basis, axis=1)


def test_matrix_product(xp: Any, A: Any, columns: int, sketch: str, seed: int) -> Any:
    """Y = A Ω (m×``columns``) with Ω = Sᵀ for the ``sketch`` S (columns×n) drawn from
    ``seed``: computed as (S Aᵀ)ᵀ by ``harness_builtins.sketches.sketches.apply_sketch``."""
    return xp.matrix_transpose(
        apply_sketch(sketch, xp.matrix_transpose(A), columns, xp=xp, seed=seed)
    )


def sample_columns(A: Any, k: int, oversampling: int) -> int:
    """l = k + p, checked against the shape of A."""
    m, n = A.shape
    if k < 1 or oversampling < 0:
        raise ValueError(f"rank k must be ≥ 1 and oversampling ≥ 0, got k={k}, p={oversampling}")
    if k + oversampling > min(m, n):
        raise ValueError(
            f"rank k + oversampling p = {k} + {oversampling} exceeds min(m, n) = {min(m, n)} "
            f"for A of shape {m}×{n}: lower the oversampling"
        )
    return k + oversampling


def _flops(sizes: Mapping[str, int], params: Mapping[str, Any], products: int) -> float:
    """``products`` products with A (2mnl each) and 1 + q Householder QRs (about 4·rows·l²
    each, forming Q included); the small SVD of B (O(n l²)) and whatever the sketch costs
    beyond a dense Ω are left out."""
    m, n, k = sizes["m"], sizes["n"], sizes["k"]
    width, q = k + params["oversampling"], params["power_iterations"]
    return products * 2.0 * m * n * width + (1 + q) * 4.0 * (m + n) * width**2


def range_finder_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Y = AΩ and two products per power iteration."""
    return _flops(sizes, params, 1 + 2 * params["power_iterations"])


def randomized_svd_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """The range finder's products and B = QᵀA."""
    return _flops(sizes, params, 2 + 2 * params["power_iterations"])


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=range_finder_flops, iterative=True)
def range_finder(
    A: Any,
    k: int,
    *,
    xp: Any,
    oversampling: int = 10,
    power_iterations: int = 2,
    orthonormalize: Orthonormalizer = "qr",
    sketch: SketchName = "gaussian",
    seed: int = 0,
) -> Iterator[Any]:
    """Randomized range finder with power iterations (Halko, Martinsson and Tropp 2011,
    Algorithms 4.1 and 4.4, "randomized subspace iteration"): Q₀ = orth(A Ω) with
    Ω = Sᵀ for the (k + p)×n ``sketch`` S drawn from ``seed``, then
    Qⱼ = orth(A orth(Aᵀ Qⱼ₋₁)) for j = 1..q. Yields Q₀, Q₁, ..., Q_q, each m×(k + p): the
    convergence curve has one point per power iteration (step 1: none).

    Expected error with a Gaussian Ω and q = 0 (their Theorem 10.6):
    E‖A − QQᵀA‖₂ ≤ (1 + √(k/(p−1))) σ_{k+1} + e√(k+p)/p · (Σ_{j>k} σⱼ²)^½;
    with q power iterations the same bound holds for (AAᵀ)^q A, so the error factor over
    σ_{k+1} shrinks like its (2q+1)-th root (their Corollary 10.10).

    ``orthonormalize: lu`` re-normalises with P L of an LU factorisation (as scikit-learn
    does): Q then spans the same range without being orthonormal; the task judges the range,
    orthonormalising Q itself."""
    width = sample_columns(A, k, oversampling)
    if power_iterations < 0:
        raise ValueError(f"power_iterations must be ≥ 0, got {power_iterations}")
    Q = orthonormal_basis(xp, test_matrix_product(xp, A, width, sketch, seed), orthonormalize)
    yield Q
    At = xp.matrix_transpose(A)
    for _ in range(power_iterations):
        Z = orthonormal_basis(xp, At @ Q, orthonormalize)
        Q = orthonormal_basis(xp, A @ Z, orthonormalize)
        yield Q


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=randomized_svd_flops)
def randomized_svd(
    A: Any,
    k: int,
    *,
    xp: Any,
    oversampling: int = 10,
    power_iterations: int = 2,
    orthonormalize: Orthonormalizer = "qr",
    sketch: SketchName = "gaussian",
    seed: int = 0,
) -> tuple[Any, Any, Any]:
    """Randomized SVD (Halko, Martinsson and Tropp 2011, Algorithm 5.1): Q from the range
    finder (k + p columns, q power iterations re-orthonormalised by ``orthonormalize``, the
    last basis always by QR), B = QᵀA, B = Û Σ Vᵀ, and the rank-k truncation
    (Q Û_k, Σ_k, V_kᵀ). Same parameters as ``range_finder``; scikit-learn's
    ``randomized_svd`` is the same algorithm with LU normalisation by default."""
    last = None
    for last in range_finder.iterates(  # noqa: B007 - only the final basis is kept
        A,
        k,
        xp=xp,
        oversampling=oversampling,
        power_iterations=power_iterations,
        orthonormalize=orthonormalize,
        sketch=sketch,
        seed=seed,
    ):
        pass
    Q = last if orthonormalize == "qr" else orthonormal_basis(xp, last, "qr")
    U_small, s, Vt = xp.linalg.svd(xp.matrix_transpose(Q) @ A, full_matrices=False)
    return Q @ U_small[:, :k], s[:k], Vt[:k, :]


@hookimpl
def harness_methods() -> list[Method]:
    return [range_finder, randomized_svd]
