"""Method plugin: spectral filters and spectral-norm estimators (family ``spectral_filter``).

Two tasks, two kinds of input (the method catalogue, METHODS.md, section 3; docs/methods.md):

- ``spectral_norm``: one input W, an m×n matrix or a circular convolution's kernel
  (c_out, c_in, N, N) zero-padded to the N×N input it acts on. Output ``(estimate, side)``:
  the estimate of ‖W‖₂ and the side of the truth the method promises it lies on
  (``UPPER`` = +1, ``LOWER`` = −1, ``NO_BOUND`` = 0), so the task can tell a broken promise.
- ``graph_filter``: inputs ``(L, X, g, lambda_max)``: a symmetric PSD matrix L (the backend's
  sparse CSR, or dense), a block of signals X (n × b), the response g (a
  ``harness_builtins.spectral.filters.Filter``, evaluated on the host in float64) and λ_max(L).
  Output ``(Y, products)`` with Y ≈ g(L) X and ``products`` = [products with L per signal],
  or Y alone (``exact_eigh``).

Methods: ``power_iteration`` (lower bound), ``gram_iteration`` (upper bound), ``lanczos``
(both tasks: Ritz values, and f(A)v), ``chebyshev`` (graph filters), ``exact_eigh`` (the
reference for both). The iterative ones yield after every step, so each case keeps its
convergence curve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES, dense, gaussian_like, to_host

from harness import Method, hookimpl, method

NORM_TASK = {"spectral_norm"}
FILTER_TASK = {"graph_filter"}

UPPER, LOWER, NO_BOUND = 1.0, -1.0, 0.0
"""The side of the truth an estimate promises to lie on (the second output of a norm method)."""

State = tuple[list[Any], list[Any], list[Any]]
"""Lanczos after k steps: the basis vectors q₁..q_k (blocks), α₁..α_k and β₁..β_k."""


# ----------------------------------------------------------------------------- shared helpers


def _nonzero(xp: Any, x: Any) -> Any:
    """x with zeros replaced by ones: safe divisor for normalising a zero vector/matrix."""
    return xp.where(x > 0, x, xp.ones_like(x))


def _is_complex(xp: Any, x: Any) -> bool:
    return xp.isdtype(x.dtype, "complex floating")


def adjoint(xp: Any, G: Any) -> Any:
    """Gᴴ of each matrix in a stack (the plain transpose for real G: no copy)."""
    return xp.matrix_transpose(xp.conj(G) if _is_complex(xp, G) else G)


def operator_matrices(xp: Any, W: Any) -> Any:
    """A stack (B, m, n) of matrices whose largest singular value, over the stack, is ‖W‖₂.

    A matrix W is a stack of one. A 4-D W is a convolution kernel (c_out, c_in, N, N), zero-
    padded to the N×N input it acts on with circular boundary: the convolution is block-
    diagonalised by the 2-D DFT, so its singular values are those of the c_out × c_in
    matrices K̂(ω) = Σ_{p,q} K[:, :, p, q] e^{−2πi(pω₁ + qω₂)/N}, one per frequency ω (Sedghi,
    Gupta and Long, ICLR 2019). A real kernel has K̂(−ω) = conj(K̂(ω)), so the rfft's
    N(N/2 + 1) frequencies hold every singular value. Complex for 4-D W."""
    if W.ndim == 2:
        return W[None, ...]
    if W.ndim == 4:
        F = xp.fft.rfftn(xp.permute_dims(W, (2, 3, 0, 1)), axes=(0, 1))
        # a contiguous copy: on a strided stack numpy's batched matmul skips BLAS (10-100x)
        return xp.reshape(F, (-1, F.shape[2], F.shape[3]), copy=True)
    raise ValueError(
        f"a spectral-norm input is a matrix or a 4-D convolution kernel, got shape {W.shape}"
    )


def _estimate(xp: Any, per_matrix: Any, side: float) -> tuple[Any, Any]:
    """(max over the stack, side) as 0-d arrays on the estimate's device."""
    estimate = xp.max(per_matrix)
    return estimate, xp.asarray(side, dtype=estimate.dtype, device=array_device(estimate))


def _count(xp: Any, like: Any, products: int) -> Any:
    return xp.asarray([float(products)], dtype=like.dtype, device=array_device(like))


# ------------------------------------------------------------------------ spectral norm bounds


@method(family="spectral_filter", tasks=NORM_TASK, dtypes=DTYPES, iterative=True)
def power_iteration(W: Any, *, xp: Any, steps: int = 100, seed: int = 0) -> Iterator[Any]:
    """Power iteration on WᴴW (von Mises 1929; as in spectral normalisation of GANs, Miyato et
    al., ICLR 2018, which takes one step per training update).

    From a Gaussian v₀ (drawn from ``seed``), step k: u = W v / ‖W v‖, z = Wᴴ u,
    σ̂ₖ = ‖z‖, v = z / ‖z‖. Since ‖u‖ = 1, σ̂ = ‖Wᴴu‖ ≤ ‖W‖₂: a **lower bound** at every step
    (and σ̂ ≥ ‖W v‖ ≥ uᵀWv, the GAN estimate). The error falls like (σ₂/σ₁)^{2k}: slowly
    without a spectral gap. Two matrix-vector products per step. On a convolution, the same
    per frequency (a batch of small matrices), σ̂ = max over frequencies.
    """
    A = operator_matrices(xp, W)
    Ah = adjoint(xp, A)
    v = gaussian_like(xp, W, (A.shape[0], A.shape[2], 1), seed)
    if _is_complex(xp, A):
        v = xp.astype(v, A.dtype)
    v = v / xp.linalg.vector_norm(v, axis=(-2, -1), keepdims=True)
    for _ in range(steps):
        u = A @ v
        u = u / _nonzero(xp, xp.linalg.vector_norm(u, axis=(-2, -1), keepdims=True))
        z = Ah @ u
        sigma = xp.linalg.vector_norm(z, axis=(-2, -1), keepdims=True)
        v = z / _nonzero(xp, sigma)
        yield _estimate(xp, sigma, LOWER)


@method(family="spectral_filter", tasks=NORM_TASK, dtypes=DTYPES, iterative=True)
def gram_iteration(W: Any, *, xp: Any, steps: int = 10) -> Iterator[Any]:
    """Gram iteration (Delattre, Barthélemy, Araujo and Allauzen, "Efficient bound of Lipschitz
    constant for convolutional layers by Gram iteration", ICML 2023): an **upper bound** on
    ‖W‖₂ that converges superlinearly.

    With H₀ = W and Hₜ₊₁ = HₜᴴHₜ, σᵢ(Hₜ) = σᵢ(W)^(2ᵗ), so ‖W‖₂ = ‖Hₜ‖₂^(1/2ᵗ) ≤
    ‖Hₜ‖_F^(1/2ᵗ) = (Σᵢ σᵢ^(2ᵗ⁺¹))^(1/2ᵗ⁺¹), whose relative excess is about
    log(multiplicity of σ₁)/2ᵗ⁺¹ once the top singular value dominates. The powers overflow at
    once, so each step normalises first: rₜ₊₁ = 2(rₜ + log‖Gₜ‖_F), Gₜ₊₁ = (Gₜ/‖Gₜ‖_F)ᴴ
    (Gₜ/‖Gₜ‖_F), hence Hₜ = e^{rₜ} Gₜ and the bound after t steps is
    exp((rₜ + log‖Gₜ‖_F)/2ᵗ). Works on the smaller Gram matrix (min(m, n)², one product of
    2 min(m,n)² max(m,n) flops, then 2 min(m,n)³ per step). On a convolution, the same on
    every frequency's matrix after the FFT, bound = max over frequencies (Delattre et al.,
    Theorem 2).
    """
    G = operator_matrices(xp, W)
    if G.shape[-2] < G.shape[-1]:
        G = adjoint(xp, G)  # tall, so that GᴴG is the smaller Gram matrix
    log_scale = 0.0
    for step in range(1, steps + 1):
        frobenius = _nonzero(xp, xp.linalg.vector_norm(G, axis=(-2, -1), keepdims=True))
        log_scale = 2 * (log_scale + xp.log(frobenius))
        G = G / frobenius
        G = adjoint(xp, G) @ G
        log_norm = xp.log(xp.linalg.vector_norm(G, axis=(-2, -1), keepdims=True))
        yield _estimate(xp, xp.exp((log_scale + log_norm) / 2**step), UPPER)


# ------------------------------------------------------------------------------------- Lanczos


def _inner(xp: Any, Q: Any, V: Any) -> Any:
    """Re ⟨qⱼ, vⱼ⟩ for every column j."""
    if _is_complex(xp, Q):
        return xp.real(xp.sum(xp.conj(Q) * V, axis=0))
    return xp.sum(Q * V, axis=0)


def lanczos_steps(
    xp: Any, apply: Callable[[Any], Any], V: Any, steps: int
) -> Iterator[tuple[State, Any]]:
    """The Lanczos process (Lanczos 1950; Golub and Van Loan, *Matrix Computations*, §10.1) for
    a Hermitian operator ``apply``, run on every column of V (n × b) at once, without
    reorthogonalisation (the Ritz values and f(A)v converge regardless: Paige 1976; Musco,
    Musco and Sidford, SODA 2018).

    q₁ = v/‖v‖; step j: w = A qⱼ − βⱼ₋₁ qⱼ₋₁, αⱼ = qⱼᴴ w, w ← w − αⱼ qⱼ, βⱼ = ‖w‖,
    qⱼ₊₁ = w/βⱼ. Yields ``((basis, alphas, betas), norms)`` after every step, the lists
    growing in place, and ‖v‖ per column; stops early if every column's βⱼ is 0 (an invariant
    subspace: the answers are exact). One product with A per step."""
    norms = xp.linalg.vector_norm(V, axis=0)
    Q = V / _nonzero(xp, norms)
    Q_previous, beta = None, None
    basis: list[Any] = []
    alphas: list[Any] = []
    betas: list[Any] = []
    for _ in range(min(steps, V.shape[0])):
        basis.append(Q)
        W = apply(Q)
        alpha = _inner(xp, Q, W)
        W = W - alpha * Q
        if Q_previous is not None:
            W = W - beta * Q_previous
        beta = xp.linalg.vector_norm(W, axis=0)
        alphas.append(alpha)
        betas.append(beta)
        yield (basis, alphas, betas), norms
        if float(xp.max(beta)) == 0:
            return
        Q_previous, Q = Q, W / _nonzero(xp, beta)


def tridiagonals(alphas: list[Any], betas: list[Any]) -> np.ndarray:
    """The k×k Lanczos matrices Tₖ (diagonal α, off-diagonal β₁..βₖ₋₁), one per column, as a
    (b, k, k) numpy float64 stack."""
    a = np.stack([to_host(x) for x in alphas], axis=-1)  # (b, k)
    b = np.stack([to_host(x) for x in betas[:-1]], axis=-1) if len(betas) > 1 else None
    T = np.zeros((*a.shape, a.shape[-1]))
    k = a.shape[-1]
    T[:, range(k), range(k)] = a
    if b is not None:
        T[:, range(k - 1), range(1, k)] = b
        T[:, range(1, k), range(k - 1)] = b
    return T


def lanczos_extreme_eigenvalues(state: State) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest Ritz values (eigenvalues of Tₖ), per column: they lie inside
    [λ_min, λ_max] and converge to its ends (Kaniel–Paige–Saad bounds)."""
    theta = np.linalg.eigvalsh(tridiagonals(state[1], state[2]))
    return theta[:, 0], theta[:, -1]


def lanczos_function(xp: Any, state: State, norms: Any, g: Callable[[np.ndarray], Any]) -> Any:
    """f(A) v ≈ ‖v‖ Vₖ f(Tₖ) e₁ for every column (Gallopoulos and Saad 1992; Saad 1992), with
    f(Tₖ)e₁ = S f(Θ) Sᵀe₁ from the eigendecomposition of the small Tₖ on the host."""
    basis = state[0]
    theta, S = np.linalg.eigh(tridiagonals(state[1], state[2]))  # (b, k), (b, k, k)
    coefficients = np.einsum("bik,bk,bk->ib", S, g(theta), S[:, 0, :])  # (k, b)
    coefficients = xp.asarray(coefficients, dtype=basis[0].dtype, device=array_device(norms))
    coefficients = coefficients * norms
    Y = basis[0] * coefficients[0, :]
    for i in range(1, len(basis)):
        Y = Y + basis[i] * coefficients[i, :]
    return Y


def _lanczos_setup(
    xp: Any, A: Any, rest: tuple[Any, ...], seed: int
) -> tuple[Callable[[Any], Any], Any, Callable[[State, Any], Any]]:
    """(operator, start block, answer from a state) for either task's inputs."""
    if rest:  # graph_filter: (L, X, g, lambda_max)
        X, g = rest[0], rest[1]
        return (
            lambda Q: A @ Q,
            X,
            lambda state, norms: (
                lanczos_function(xp, state, norms, g),
                _count(xp, X, len(state[0])),
            ),
        )
    G = operator_matrices(xp, A)  # spectral_norm: Lanczos on GᴴG for every matrix of the stack
    if G.shape[-2] < G.shape[-1]:
        G = adjoint(xp, G)
    Gh = adjoint(xp, G)

    def apply(Q: Any) -> Any:  # Q: (n, B), column j for the j-th matrix
        column_stack = xp.matrix_transpose(Q)[..., None]
        return xp.matrix_transpose((Gh @ (G @ column_stack))[..., 0])

    V = gaussian_like(xp, A, (G.shape[-1], G.shape[0]), seed)
    if _is_complex(xp, G):
        V = xp.astype(V, G.dtype)

    def answer(state: State, norms: Any) -> Any:
        top = np.sqrt(np.maximum(lanczos_extreme_eigenvalues(state)[1], 0.0))
        return _estimate(xp, xp.asarray(top, dtype=norms.dtype, device=array_device(norms)), LOWER)

    return apply, V, answer


def _lanczos_iterates(A: Any, *rest: Any, xp: Any, steps: int = 30, seed: int = 0) -> Iterator[Any]:
    """Lanczos (``lanczos_steps``), k = ``steps`` products with the operator.

    ``spectral_norm``: Lanczos on WᴴW (the smaller Gram matrix) from a Gaussian vector drawn
    from ``seed``; σ̂ = √θ_max(Tₖ), the top Ritz value, a **lower bound** on ‖W‖₂ that
    converges faster than power iteration's (Chebyshev rather than geometric rate in the gap;
    Kuczyński and Woźniakowski 1992). A convolution: per frequency, the maximum.

    ``graph_filter``: g(L) X ≈ ‖x‖ Vₖ g(Tₖ) e₁ for every column x of X (the Krylov space of x
    itself; Gallopoulos and Saad 1992), g(Tₖ) by eigh of the k×k Tₖ on the host. Exact for
    polynomials of degree < k; near-optimal among Krylov methods for any g (Musco, Musco and
    Sidford 2018). Needs no λ_max. Keeps the k basis blocks (k n b numbers).

    The timed call forms the answer once, after the last step; the convergence curve forms it
    after every step (so its seconds include an O(n j) product at step j).
    """
    apply, V, answer = _lanczos_setup(xp, A, rest, seed)
    for state, norms in lanczos_steps(xp, apply, V, steps):
        yield answer(state, norms)


def _lanczos_last(A: Any, *rest: Any, xp: Any, steps: int = 30, seed: int = 0) -> Any:
    """``_lanczos_iterates``'s last answer, formed once."""
    apply, V, answer = _lanczos_setup(xp, A, rest, seed)
    last = None
    for last in lanczos_steps(xp, apply, V, steps):  # noqa: B007 - only the last state is used
        pass
    if last is None:
        raise ValueError("lanczos needs steps ≥ 1")
    return answer(*last)


lanczos = dataclasses.replace(
    method(
        family="spectral_filter",
        name="lanczos",
        tasks=NORM_TASK | FILTER_TASK,
        dtypes=DTYPES,
        iterative=True,
    )(_lanczos_iterates),
    fn=_lanczos_last,
)


# ----------------------------------------------------------------------------------- Chebyshev


def chebyshev_coefficients(
    g: Callable[[np.ndarray], Any], lambda_max: float, degree: int
) -> np.ndarray:
    """c₀..c_K of the degree-K Chebyshev interpolant of g on [0, λ_max] (Mason and Handscomb,
    *Chebyshev Polynomials*, 2003, §6.3): with N = K + 1 Chebyshev–Gauss nodes
    x_k = cos(π(k + ½)/N) mapped to λ_k = λ_max (x_k + 1)/2,
    c_j = (2/N) Σ_k g(λ_k) cos(πj(k + ½)/N), and g ≈ c₀/2 + Σ_{j≥1} c_j T_j(2λ/λ_max − 1).
    Exact for polynomials of degree ≤ K. Host float64, by a DCT-II: O(K log K), rounding
    about 1e-16 Σ|c_j| whatever K (a direct cosine sum drifts like K·1e-16)."""
    from scipy.fft import dct

    nodes = degree + 1
    angles = np.pi * (np.arange(nodes) + 0.5) / nodes
    values = np.asarray(g(lambda_max * (np.cos(angles) + 1) / 2), dtype=np.float64)
    return dct(values, type=2) / nodes  # DCT-II: 2 Σ_k v_k cos(πj(k + ½)/N)


def jackson_damping(degree: int) -> np.ndarray:
    """Jackson kernel factors g₀..g_K (Weiße, Wellein, Alvermann and Fehske, "The kernel
    polynomial method", Rev. Mod. Phys. 2006, eq. 71, with K + 1 moments, M = K + 2):
    g_j = ((M − j) cos(πj/M) + sin(πj/M) cot(π/M)) / M. Multiplying c_j by g_j makes the
    expansion a convolution with a positive kernel: no Gibbs overshoot, a transition about
    π λ_max/(2M) wide instead of a sharp one."""
    M = degree + 2
    j = np.arange(degree + 1)
    return ((M - j) * np.cos(np.pi * j / M) + np.sin(np.pi * j / M) / np.tan(np.pi / M)) / M


@method(family="spectral_filter", tasks=FILTER_TASK, dtypes=DTYPES, iterative=True)
def chebyshev(
    L: Any,
    X: Any,
    g: Callable[[np.ndarray], Any],
    lambda_max: float,
    *,
    xp: Any,
    degree: int = 30,
    damping: Literal["none", "jackson"] = "none",
) -> Iterator[tuple[Any, Any]]:
    """Chebyshev polynomial filter (Hammond, Vandergheynst and Gribonval, ACHA 2011; ChebNet,
    Defferrard et al. 2016): g(L) X ≈ c₀/2 X + Σ_{j=1..K} c_j T_j(L̂) X with
    L̂ = 2L/λ_max − I (spectrum mapped from [0, λ_max] to [−1, 1]), coefficients from
    ``chebyshev_coefficients`` (K = ``degree``), and the three-term recurrence
    T₀ = X, T₁ = L̂X, T_{j+1} = 2L̂T_j − T_{j−1}: K products with L, 3 blocks of memory.
    ``damping="jackson"`` multiplies c_j by the Jackson factors (``jackson_damping``; the
    Gibbs cure of ChebGibbsNet, Zhang et al. 2022). Step j yields the partial sum up to c_j
    (the curve: error against products); the sweep over ``degree`` gives each degree's own
    interpolant.
    """
    if degree < 1:
        raise ValueError(f"chebyshev needs degree ≥ 1, got {degree}")
    c = chebyshev_coefficients(g, lambda_max, degree)
    if damping == "jackson":
        c = c * jackson_damping(degree)
    c = [float(cj) for cj in c]  # Python floats: numpy scalars would promote float32 X
    scale = 2.0 / lambda_max
    T_previous = X
    T = scale * (L @ X) - X
    Y = (c[0] / 2) * X + c[1] * T
    yield Y, _count(xp, X, 1)
    for j in range(2, degree + 1):
        T_next = L @ T
        T_next *= 2 * scale
        T_next -= 2 * T
        T_next -= T_previous
        Y += c[j] * T_next  # updated in place: the host reads each yield before the next
        T_previous, T = T, T_next
        yield Y, _count(xp, X, j)


# ----------------------------------------------------------------------------------- reference


@method(family="spectral_filter", tasks=NORM_TASK | FILTER_TASK, dtypes=DTYPES)
def exact_eigh(A: Any, *rest: Any, xp: Any) -> Any:
    """The exact answer, by dense factorisation (O(n³); for n up to a few thousand).

    ``spectral_norm``: ‖W‖₂ = σ_max from the singular values (``svdvals``), per frequency for
    a convolution; no side promised. ``graph_filter``: g(L) X = U g(Λ) Uᵀ X from the
    eigendecomposition L = U Λ Uᵀ (``eigh``), g evaluated on the host."""
    if not rest:
        sigma = xp.linalg.svdvals(operator_matrices(xp, A))[..., 0]
        return _estimate(xp, sigma, NO_BOUND)
    X, g = rest[0], rest[1]
    lam, U = xp.linalg.eigh(dense(A))
    h = xp.asarray(g(to_host(lam)), dtype=X.dtype, device=array_device(X))
    return U @ (h[:, None] * (xp.matrix_transpose(U) @ X))


@hookimpl
def harness_methods() -> list[Method]:
    return [power_iteration, gram_iteration, lanczos, chebyshev, exact_eigh]
