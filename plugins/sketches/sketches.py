"""Method plugin: random sketches, family ``sketch``.

One call convention for every sketch here, and for every task and method that uses one:

    sketch(A, s, *, xp, seed=0, **params) -> S @ A

applies an s×m random matrix S from the left to an m×n matrix A, which is a dense array of
any backend or a sparse matrix (the backend's sparse CSR, or a ``harness.model.sparse``
``SparseOperator``), and returns the dense s×n array S A in A's namespace, dtype and device.
S itself is never returned and, for the sparse and sampling sketches, never formed densely.
``apply_sketch(name, A, s, xp=xp, seed=seed, **params)`` calls the sketch named ``name``;
``SKETCH_NAMES`` lists them. A test matrix applied from the right (a range finder's A Ω) is
the transpose of a left sketch of Aᵀ: A Ω = apply_sketch(name, Aᵀ, ℓ, xp=xp)ᵀ.

Every sketch is scaled so that E[SᵀS] = I (oblivious sketches) or E[(SA)ᵀ(SA)] = AᵀA (the
data-dependent leverage-score sampling), so ‖S A x‖ estimates ‖A x‖ without bias. The random
draws (entries, rows, signs) are made on the host with numpy's PCG64 from ``seed`` and
moved to the device, so that one seed gives the same S on every backend and dtype; the draw
and the transfer are part of the measured time. A suite's repetition r runs with seed r,
so results are a distribution over sketches, never one lucky draw.

Sketches whose transform needs a dense input (SRHT, SRDCT, SRFT, leverage scores) densify a
sparse A (m×n memory); the others run on a sparse A through the library's sparse product.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from array_api_compat import device as array_device
from array_api_compat import is_cupy_namespace, is_numpy_namespace
from harness_builtins.shared import (
    DTYPES,
    INDEX_BYTES,
    dense,
    matrix_bytes,
    scatter_add_rows,
    sparse_product,
    stored_entries,
    to_host,
)

from harness import Footprint, Method, hookimpl, method
from harness.model.sparse import SparseOperator, as_operator
from harness.names import did_you_mean

SKETCH_TASKS = {"subspace_embedding", "matrix_product"}
"""The tasks whose inputs are ``(A, s)``: the sketches run on them as methods."""

HADAMARD_BLOCK = 64
"""Size of the dense Hadamard block each FWHT stage multiplies by (see ``fwht``)."""


# ----------------------------------------------------------------------------- helpers


def _check_size(s: Any, m: int, *, at_most: int | None = None) -> None:
    if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1:
        raise ValueError(f"sketch size s must be a positive integer, got {s!r}")
    if at_most is not None and s > at_most:
        raise ValueError(f"sketch size s = {s} exceeds the {at_most} rows it samples from")


def _device(A: Any) -> Any:
    """A's device (a dense array or a SparseOperator; None: the library's default)."""
    if isinstance(A, SparseOperator):
        return A.matrix.device if A.library == "torch" else None
    return array_device(A)


def _to_like(xp: Any, host: np.ndarray, A: Any) -> Any:
    """A host numpy array moved to A's device, in A's dtype."""
    return xp.asarray(host, dtype=A.dtype, device=_device(A))


def _index_like(xp: Any, host: np.ndarray, A: Any) -> Any:
    """A host integer index array on A's device (int64)."""
    return xp.asarray(host.astype(np.int64), device=_device(A))


def _distinct_rows(rng: np.random.Generator, s: int, m: int, k: int) -> np.ndarray:
    """m × k row indices in [0, s): k distinct rows drawn uniformly for each of m columns
    (Floyd's algorithm, vectorised over the columns)."""
    rows = np.empty((m, k), dtype=np.int64)
    for t, j in enumerate(range(s - k, s)):
        draw = rng.integers(0, j + 1, size=m)
        if t:
            draw = np.where((rows[:, :t] == draw[:, None]).any(axis=1), j, draw)
        rows[:, t] = draw
    return rows


def _sparse_sign_product(xp: Any, A: Any, s: int, k: int, seed: int) -> Any:
    """S A for the s×m S with k entries ±1/√k per column, at distinct uniformly random rows.

    Dense A: a scatter-add of A's rows (``scatter_add_rows``) into 2s rows, the entries with
    a + sign into row h, those with a − sign into row s + h, so that S A = (Y₊ − Y₋)/√k is one
    streaming pass over A with no scaled copy of it. Sparse A: S as a sparse matrix and the
    library's sparse product (O(k nnz(A)) work). The same seed gives the same S either way.
    """
    m = A.shape[0]
    rng = np.random.default_rng(seed)
    rows = _distinct_rows(rng, s, m, k)
    negative = rng.integers(0, 2, size=(m, k)).astype(bool)
    scale = 1 / math.sqrt(k)
    if isinstance(A, SparseOperator):
        values = np.where(negative, -scale, scale).reshape(-1)
        return sparse_product(xp, rows.reshape(-1), np.repeat(np.arange(m), k), values, (s, m), A)
    Y = scatter_add_rows(xp, A, rows + s * negative, 2 * s)
    return scale * (Y[:s, ...] - Y[s:, ...])


def _sample_rows(xp: Any, A: Any, rows: np.ndarray, weights: np.ndarray) -> Any:
    """The rows of A at ``rows`` (repeats allowed), row k scaled by ``weights[k]``."""
    if isinstance(A, SparseOperator):
        return sparse_product(xp, np.arange(len(rows)), rows, weights, (len(rows), A.shape[0]), A)
    picked = xp.take(A, _index_like(xp, rows, A), axis=0)
    return picked * xp.expand_dims(_to_like(xp, weights, A), axis=1)


def _random_signs(xp: Any, rng: np.random.Generator, m: int, A: Any) -> Any:
    """D of the SRHT family as an m×1 column of ±1 (to broadcast against A)."""
    return _to_like(xp, rng.integers(0, 2, size=(m, 1)) * 2.0 - 1.0, A)


def _subsample(xp: Any, rng: np.random.Generator, X: Any, s: int) -> Any:
    """√(M/s) · s rows of the M×n array X, drawn uniformly without replacement: with an
    orthogonal transform before it, the P of S = √(M/s) P H D (E[PᵀP] = (s/M) I)."""
    M = X.shape[0]
    rows = np.sort(rng.choice(M, size=s, replace=False))
    return math.sqrt(M / s) * xp.take(X, _index_like(xp, rows, X), axis=0)


def fwht(xp: Any, X: Any, *, block: int = HADAMARD_BLOCK) -> Any:
    """H X for the orthonormal Walsh–Hadamard matrix H = H₂^{⊗k} / √M of order M = 2^k
    (Sylvester ordering, scipy.linalg.hadamard's), along axis 0 of an M×n array X.

    Fast transform in radix-``block`` stages: H_M = H_{b₁} ⊗ H_{b₂} ⊗ ⋯ with bᵢ ≤ block, and
    the factor for bits i acts on one axis of X seen as an (outer, bᵢ, inner) array, so each
    stage is one batched product with the dense ±1 Sylvester matrix H_{bᵢ} (built by
    H_{2b} = [[H_b, H_b], [H_b, −H_b]]). O(M n Σ bᵢ) flops in ⌈k / log₂ block⌉ passes over X
    instead of the k memory-bound passes of the radix-2 butterfly (``block=2`` is that
    butterfly). The FWHT goes back to Fino and Algazi (1976).
    """
    M = X.shape[0]
    if M & (M - 1) or M == 0:
        raise ValueError(f"the Walsh–Hadamard transform needs a power-of-two length, got {M}")
    if block < 2 or block & (block - 1):
        raise ValueError(f"block must be a power of two ≥ 2, got {block}")
    rest = X.shape[1:]
    inner = math.prod(rest)
    outer, width = 1, M
    while width > 1:
        b = min(block, width)
        width //= b
        H = np.ones((1, 1))
        while H.shape[0] < b:
            H = np.block([[H, H], [H, -H]])
        X = _to_like(xp, H, X) @ xp.reshape(X, (outer, b, width * inner))
        outer *= b
    return xp.reshape(X, (M, *rest)) / math.sqrt(M)


def dct_ortho(xp: Any, X: Any) -> Any:
    """The orthonormal DCT-II along axis 0: Yₖ = cₖ Σⱼ Xⱼ cos(πk(2j+1)/(2M)), c₀ = √(1/M),
    cₖ = √(2/M). scipy.fft.dct on numpy, cupyx.scipy.fft.dct on cupy; the standard has no DCT,
    so on any other library (torch, array-api-strict) it is Makhoul's (1980) one-FFT
    algorithm: reorder v = (X₀, X₂, …, …, X₃, X₁), V = FFT(v) (complex: the standard's ``fft``
    takes complex input only), Yₖ = cₖ Re(e^{−iπk/(2M)} Vₖ)."""
    if is_numpy_namespace(xp):
        import scipy.fft

        return scipy.fft.dct(X, type=2, norm="ortho", axis=0)
    if is_cupy_namespace(xp):
        import cupyx.scipy.fft

        return cupyx.scipy.fft.dct(X, type=2, norm="ortho", axis=0)
    M = X.shape[0]
    v = xp.concat([X[0::2, ...], xp.flip(X[1::2, ...], axis=0)], axis=0)
    complex_dtype = xp.complex64 if v.dtype == xp.float32 else xp.complex128
    V = xp.fft.fft(xp.astype(v, complex_dtype), axis=0)  # the standard's fft takes complex only
    k = np.arange(M)
    twiddle = np.exp(-0.5j * np.pi * k / M) * np.where(k == 0, math.sqrt(1 / M), math.sqrt(2 / M))
    twiddle = xp.asarray(twiddle[:, None], dtype=V.dtype, device=array_device(V))
    return xp.real(V * twiddle)


def real_fourier_ortho(xp: Any, X: Any) -> Any:
    """F X for the real orthonormal Fourier matrix F along axis 0 of an M×n array: the rows
    of the unitary DFT combined into real ones, Re F₀, √2 Re Fₖ and √2 Im Fₖ (0 < k < M/2),
    and Re F_{M/2} for even M; M rows, FᵀF = I. One real FFT (scipy.fft on numpy)."""
    if is_numpy_namespace(xp):
        import scipy.fft

        R = scipy.fft.rfft(X, axis=0, norm="ortho")
    else:
        R = xp.fft.rfft(X, axis=0, norm="ortho")
    M = X.shape[0]
    pairs = R[1 : (M + 1) // 2, ...]
    parts = [xp.real(R[0:1, ...]), math.sqrt(2) * xp.real(pairs), math.sqrt(2) * xp.imag(pairs)]
    if M % 2 == 0:
        parts.append(xp.real(R[M // 2 : M // 2 + 1, ...]))
    return xp.concat(parts, axis=0)


def inclusion_probabilities(p: np.ndarray, s: int) -> np.ndarray:
    """πᵢ = min(1, c pᵢ) with c chosen so that Σ πᵢ = s: the inclusion probabilities of a
    without-replacement sample of s rows proportional to p (rows capped at 1 are always in;
    the remaining budget is shared in proportion to p among the rest)."""
    if s > np.count_nonzero(p):
        raise ValueError(f"sketch size s = {s} exceeds the {np.count_nonzero(p)} rows it can pick")
    pi = s * p / p.sum()
    capped = pi >= 1
    while True:
        free = ~capped
        pi = np.where(capped, 1.0, (s - capped.sum()) * p / p[free].sum())
        newly = free & (pi >= 1)
        if not newly.any():
            return pi
        capped |= newly


def pivotal_sample(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The rows picked by binary-tree pivotal sampling (Deville and Tillé 1998) with inclusion
    probabilities π (Σ π an integer s): exactly s rows, P(row i in) = πᵢ.

    Neighbouring undecided rows (in row order) duel in pairs, level by level: with
    πₐ + π_b < 1 one of them takes the sum and the other leaves (a wins with probability
    πₐ / (πₐ + π_b)); otherwise one is in for sure and the other keeps πₐ + π_b − 1 (a wins
    with probability (1 − π_b) / (2 − πₐ − π_b)). Each duel keeps both marginals and settles
    at least one row, and the picks are negatively correlated, so nearby rows (with similar
    scores) are rarely picked together: the dependent sampling of Shimizu, Cheng, Musco and
    Weare, "Improved Active Learning via Dependent Leverage Score Sampling" (ICLR 2024).
    """
    pi = pi.astype(np.float64, copy=True)
    eps = 1e-12
    active = np.flatnonzero((pi > eps) & (pi < 1 - eps))
    while len(active) > 1:
        a, b = active[0 : len(active) - 1 : 2], active[1::2]
        total = pi[a] + pi[b]
        low = total < 1
        u = rng.random(len(a))
        a_wins = np.where(low, u * total < pi[a], u * (2 - total) < 1 - pi[b])
        winner_value = np.where(low, total, 1.0)
        loser_value = np.where(low, 0.0, total - 1.0)
        winner, loser = np.where(a_wins, a, b), np.where(a_wins, b, a)
        pi[winner], pi[loser] = winner_value, loser_value
        survivors = np.where(low, winner, loser)
        undecided = survivors[(pi[survivors] > eps) & (pi[survivors] < 1 - eps)]
        active = np.concatenate([undecided, active[2 * len(a) :]])
        active.sort()
    return np.flatnonzero(pi > 0.5)


# ----------------------------------------------------------------------------- sketches


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def gaussian(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """Gaussian (Johnson–Lindenstrauss) sketch: Sᵢⱼ ~ N(0, 1/s) independent, E[SᵀS] = I.

    A dense s×m matrix; S A by one GEMM (2smn flops), or Aᵀ Sᵀ for a sparse A (2 s nnz(A)).
    Johnson and Lindenstrauss (1984); Sarlós (2006) for subspace embeddings with s = O(n/ε²).
    """
    A = as_operator(A)
    m = A.shape[0]
    _check_size(s, m)
    S = _to_like(xp, np.random.default_rng(seed).standard_normal((s, m)) / math.sqrt(s), A)
    if isinstance(A, SparseOperator):
        return xp.matrix_transpose(A.rmatmat(xp.matrix_transpose(S)))
    return S @ A


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def very_sparse(A: Any, s: int, *, xp: Any, seed: int = 0, density: float = 0.0) -> Any:
    """Very sparse random projection: Sᵢⱼ = ±1/√(ρ s) with probability ρ/2 each, else 0,
    independently (E[Sᵢⱼ²] = 1/s, so E[SᵀS] = I). ``density`` ρ; 0 (the default) means
    ρ = 1/√m. About ρ s m nonzeros, applied as a sparse matrix (2 ρ s m n flops for dense A;
    ``sparse_product``: gathered row sums on a library without sparse matrices).

    Achlioptas (2003) for ρ = 1/3; Li, Hastie and Church, "Very sparse random projections"
    (KDD 2006) for ρ = 1/√m; used by FastRP (Chen et al. 2019) for network embeddings.
    """
    A = as_operator(A)
    m = A.shape[0]
    _check_size(s, m)
    rho = density if density > 0 else 1 / math.sqrt(m)
    if not 0 < rho <= 1:
        raise ValueError(f"density must lie in (0, 1] (0 for 1/√m), got {density}")
    rng = np.random.default_rng(seed)
    count = rng.binomial(s * m, rho)
    flat = rng.choice(s * m, size=count, replace=False)
    scale = 1 / math.sqrt(rho * s)
    values = rng.integers(0, 2, size=count) * (2 * scale) - scale
    return sparse_product(xp, flat // m, flat % m, values, (s, m), A)


def sparse_sign_bytes(sizes: Any, params: Any, footprint: Footprint) -> float:
    """Bytes S A moves at least: one read of A (values, and indices where sparse), one write
    of the s×n result, and S's row indices (int32) and signs, ``vec_nnz`` per row of A."""
    A, s = footprint.inputs[0], int(footprint.inputs[1])
    m, n = A.shape
    per_entry = INDEX_BYTES + footprint.word
    return (
        matrix_bytes(A, footprint.word)
        + s * n * footprint.word
        + m * per_entry * params.get("vec_nnz", 1)
    )


def sparse_sign_flops(sizes: Any, params: Any, footprint: Footprint) -> float:
    """2 ``vec_nnz`` flops per stored entry of A: a sign times the entry, added to a row."""
    return 2.0 * params.get("vec_nnz", 1) * stored_entries(footprint.inputs[0])


@method(
    family="sketch",
    tasks=SKETCH_TASKS,
    dtypes=DTYPES,
    flops=sparse_sign_flops,
    bytes=sparse_sign_bytes,
)
def sparse_sign(A: Any, s: int, *, xp: Any, seed: int = 0, vec_nnz: int = 8) -> Any:
    """Sparse sign embedding (SJLT): every column of S has ``vec_nnz`` entries ±1/√vec_nnz
    (capped at s) at distinct uniformly random rows, independent signs; (SᵀS)ⱼⱼ = 1 exactly
    and E[SᵀS] = I. Applied as a sparse matrix: 2 vec_nnz · nnz(A) flops.

    Kane and Nelson, "Sparser Johnson–Lindenstrauss transforms" (JACM 2014); Nelson and
    Nguyễn, OSNAP (FOCS 2013); vec_nnz = 8 as recommended by Tropp et al. (2019) and
    Martinsson and Tropp, "Randomized numerical linear algebra" (Acta Numerica 2020).
    """
    A = as_operator(A)
    m = A.shape[0]
    _check_size(s, m)
    if vec_nnz < 1:
        raise ValueError(f"vec_nnz must be at least 1, got {vec_nnz}")
    return _sparse_sign_product(xp, A, s, min(vec_nnz, s), seed)


@method(
    family="sketch",
    tasks=SKETCH_TASKS,
    dtypes=DTYPES,
    flops=sparse_sign_flops,
    bytes=sparse_sign_bytes,
)
def countsketch(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """CountSketch: one ±1 per column of S, at a uniformly random row (a hash h(j) and a sign
    σ(j) per row j of A): (S A)ᵢ = Σ_{h(j)=i} σ(j) Aⱼ, E[SᵀS] = I. S is a sparse s×m matrix
    with m nonzeros, so S A costs O(nnz(A)) (one pass over A), dense or sparse.

    Charikar, Chen and Farach-Colton (2002); Clarkson and Woodruff, "Low rank approximation
    and regression in input sparsity time" (STOC 2013); the sparse_sign sketch with vec_nnz 1.
    """
    A = as_operator(A)
    m = A.shape[0]
    _check_size(s, m)
    return _sparse_sign_product(xp, A, s, 1, seed)


def _transform_sketch(
    xp: Any, A: Any, s: int, seed: int, transform: Literal["hadamard", "dct", "fourier"]
) -> Any:
    """√(M/s) P H D A for the orthogonal transform H (M×M) named by ``transform``."""
    A = as_operator(A)
    m = A.shape[0]
    M = 1 << max(m - 1, 0).bit_length() if transform == "hadamard" else m
    _check_size(s, m, at_most=M)
    rng = np.random.default_rng(seed)
    X = dense(A) * _random_signs(xp, rng, m, A)
    if transform == "hadamard":
        if m < M:
            padding = xp.zeros((M - m, X.shape[1]), dtype=X.dtype, device=array_device(X))
            X = xp.concat([X, padding], axis=0)
        Y = fwht(xp, X)
    else:
        Y = dct_ortho(xp, X) if transform == "dct" else real_fourier_ortho(xp, X)
    return _subsample(xp, rng, Y, s)


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def srht(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """Subsampled randomized Hadamard transform: S = √(M/s) P H D, D random ±1 signs on the m
    rows, A zero-padded to M = 2^⌈log₂ m⌉ rows, H the orthonormal Walsh–Hadamard matrix
    (``fwht``, this module's own fast transform), P s rows drawn uniformly without
    replacement. E[SᵀS] = I. O(M n log M) (here O(M n · block) at GEMM speed); a sparse A
    is densified. Ailon and Chazelle (2006); Tropp, "Improved analysis of the subsampled
    randomized Hadamard transform" (2011); Blendenpik (Avron, Maymounkov, Toledo 2010).
    """
    return _transform_sketch(xp, A, s, seed, "hadamard")


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def srdct(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """Subsampled randomized DCT: S = √(m/s) P C D with C the orthonormal DCT-II
    (``dct_ortho``: scipy.fft on numpy, cupyx on cupy, one complex FFT by Makhoul's algorithm
    on the others, torch and array-api-strict, which have no DCT), D random signs, P s of the
    m rows without replacement.
    E[SᵀS] = I; O(mn log m), any m (no padding). Used in Blendenpik (Avron et al. 2010) and
    in "Asymptotically free sketched ridge ensembles" (LeJeune, Patil et al. 2024).
    """
    return _transform_sketch(xp, A, s, seed, "dct")


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def srft(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """Subsampled randomized Fourier transform, real form: S = √(m/s) P F D with F the real
    orthonormal Fourier matrix (``real_fourier_ortho``: the unitary DFT's rows as cosine and
    sine rows, one real FFT: scipy.fft on numpy, xp.fft on torch and cupy), D random signs,
    P s of the m rows without replacement. E[SᵀS] = I; O(mn log m). Woolfe, Liberty, Rokhlin
    and Tygert (2008); Halko, Martinsson and Tropp (2011) §4.6.
    """
    return _transform_sketch(xp, A, s, seed, "fourier")


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def leverage_scores(
    A: Any,
    s: int,
    *,
    xp: Any,
    seed: int = 0,
    sampling: Literal["independent", "pivotal"] = "independent",
) -> Any:
    """Leverage-score row sampling: exact scores ℓᵢ = ‖Qᵢ,:‖² from a thin QR A = QR
    (Σ ℓᵢ = n; the QR, O(mn²), dominates the time, and a sparse A is densified for it).

    ``independent``: s rows drawn i.i.d. with pᵢ = ℓᵢ / n, each scaled by 1/√(s pᵢ), so
    E[(SA)ᵀ SA] = AᵀA (Drineas, Mahoney and Muthukrishnan 2006). ``pivotal``: s distinct rows
    by binary-tree pivotal sampling (``pivotal_sample``) with inclusion probabilities
    πᵢ = min(1, c ℓᵢ), Σπᵢ = s, each scaled by 1/√πᵢ (same expectation); dependent sampling
    needs up to half the samples for the same accuracy (Shimizu et al., ICLR 2024).
    """
    A = as_operator(A)
    m = A.shape[0]
    _check_size(s, m, at_most=m if sampling == "pivotal" else None)
    A_dense = dense(A)
    Q, _ = xp.linalg.qr(A_dense)
    scores = to_host(xp.sum(Q * Q, axis=1))
    rng = np.random.default_rng(seed)
    p = scores / scores.sum()
    if sampling == "independent":
        rows = rng.choice(m, size=s, p=p)
        return _sample_rows(xp, A_dense, rows, 1 / np.sqrt(s * p[rows]))
    pi = inclusion_probabilities(p, s)
    rows = pivotal_sample(pi, rng)
    return _sample_rows(xp, A_dense, rows, 1 / np.sqrt(pi[rows]))


@method(family="sketch", tasks=SKETCH_TASKS, dtypes=DTYPES)
def uniform_rows(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """Uniform row sampling, the baseline: s rows drawn i.i.d. uniformly, each scaled by
    √(m/s), so E[SᵀS] = I. O(sn). Fails on coherent matrices (a few rows carrying a
    direction are missed unless s ≳ m · max leverage); see Drineas and Mahoney (2016).
    """
    A = as_operator(A)
    m = A.shape[0]
    _check_size(s, m)
    rows = np.random.default_rng(seed).integers(0, m, size=s)
    return _sample_rows(xp, A, rows, np.full(s, math.sqrt(m / s)))


SKETCHES: dict[str, Method] = {
    sketch.name: sketch
    for sketch in (
        gaussian,
        very_sparse,
        sparse_sign,
        countsketch,
        srht,
        srdct,
        srft,
        leverage_scores,
        uniform_rows,
    )
}
SKETCH_NAMES: tuple[str, ...] = tuple(SKETCHES)


def apply_sketch(name: str, A: Any, s: int, *, xp: Any, seed: int = 0, **params: Any) -> Any:
    """S A for the s×m sketch named ``name`` (one of ``SKETCH_NAMES``) with its ``params``:
    a dense s×n array in A's namespace (A dense, the backend's sparse CSR, or a
    SparseOperator). The same seed gives the same S for any A with m rows."""
    sketch = SKETCHES.get(name)
    if sketch is None:
        raise ValueError(
            f"unknown sketch {name!r}{did_you_mean(name, SKETCH_NAMES)} "
            f"(sketches: {', '.join(SKETCH_NAMES)})"
        )
    return sketch(A, s, xp=xp, seed=seed, **params)


@hookimpl
def harness_methods() -> list[Method]:
    return list(SKETCHES.values())
