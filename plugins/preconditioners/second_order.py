"""Method plugin: second-order optimizer kernels for the ``fisher_product`` task, whose inputs
are ``(gradients, g, damping)``: N per-example gradients (N×m×n), the gradient g (m×n) and λ.
Each method returns ``(X, state_bytes)``: its approximation of the damped natural gradient
(F + λI)⁻¹ g, F = (1/N) Σᵢ vec(Gᵢ) vec(Gᵢ)ᵀ, and the bytes of the state it keeps (the arrays an
optimizer would carry from step to step, counted by ``quantized_roots.state_bytes``). See the
method catalogue (METHODS.md), section 4, and docs/methods.md.

- ``dense_natural_gradient``: F + λI formed (mn × mn) and solved; the exact baseline, and
  the memory a full-matrix method needs.
- ``mfac``: M-FAC's matrix-free inverse Fisher product from the N stored gradients (Frantar,
  Kurtic, Alistarh, *M-FAC: Efficient Matrix-Free Approximations of Second-Order
  Information*, NeurIPS 2021): exact, in O(N·mn) memory.
- ``psgd_kron``: PSGD's Kronecker-factored preconditioner P = (QₗᵀQₗ) ⊗ (QᵣᵀQᵣ), fitted on
  the Lie group of upper-triangular matrices against Hessian-vector pairs (Li, *Preconditioned
  Stochastic Gradient Descent*, IEEE TNNLS 2018; *Preconditioner on Matrix Lie Group for SGD*,
  ICLR 2019; Pooladzandi and Li, *Curvature-Informed SGD via General Purpose Lie-Group
  Preconditioners*, 2024).
- ``shampoo``: L^(−1/p) g R^(−1/p) from the Kronecker statistics L = (1/N) Σ Gᵢ Gᵢᵀ,
  R = (1/N) Σ Gᵢᵀ Gᵢ (Gupta, Koren, Singer, ICML 2018), its roots optionally stored in 4 bits
  as in 4-bit Shampoo (Wang et al., NeurIPS 2024; ``quantized_roots``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.preconditioners.inverse_roots import root_of
from harness_builtins.preconditioners.quantized_roots import (
    Quantize,
    state_bytes,
    stored_inverse_root,
)
from harness_builtins.shared import DTYPES, eye_like

from harness import Method, hookimpl, method


def _sizes(sizes: Mapping[str, int]) -> tuple[float, float, float, float]:
    N, m, n = (float(sizes[k]) for k in ("gradients", "m", "n"))
    return N, m, n, m * n


def _flat(xp: Any, gradients: Any) -> Any:
    """Γ: the N per-example gradients as the rows of an N × mn matrix."""
    return xp.reshape(gradients, (gradients.shape[0], -1))


def _with_bytes(xp: Any, X: Any, *state: Any) -> tuple[Any, Any]:
    """(X, [bytes of ``state``]), the count in X's dtype (as every output of a case is; exact
    up to 2²⁴ bytes in float32, to 6e-8 relative above)."""
    return X, xp.asarray([state_bytes(xp, *state)], dtype=X.dtype, device=array_device(X))


@method(
    family="preconditioner",
    tasks={"fisher_product"},
    dtypes=DTYPES,
    flops=lambda sizes, params: (lambda N, m, n, d: 2 * N * d * d + d**3 / 3 + 2 * d * d)(
        *_sizes(sizes)
    ),
)
def dense_natural_gradient(gradients: Any, g: Any, damping: Any, *, xp: Any) -> Any:
    """(F + λI)⁻¹ g with F = ΓᵀΓ/N formed densely (mn × mn) and ``xp.linalg.solve``: exact up
    to rounding, O((mn)²) state and O(N(mn)² + (mn)³) work."""
    Gamma = _flat(xp, gradients)
    d = Gamma.shape[1]
    F = xp.matrix_transpose(Gamma) @ Gamma / gradients.shape[0] + damping * eye_like(xp, g, d)
    X = xp.linalg.solve(F, xp.reshape(g, (d, 1)))
    return _with_bytes(xp, xp.reshape(X, g.shape), F)


def mfac_coefficients(xp: Any, K: Any, damping: float) -> tuple[Any, Any]:
    """The recursive Woodbury form of M-FAC (Frantar et al. 2021, the static algorithm) from
    the Gram matrix K = ΓΓᵀ of the N stored gradients.

    F₀⁻¹ = I/λ, Fᵢ = Fᵢ₋₁ + gᵢgᵢᵀ/N, so by Sherman–Morrison
    Fᵢ⁻¹ = Fᵢ₋₁⁻¹ − vᵢvᵢᵀ/dᵢ with vᵢ = Fᵢ₋₁⁻¹gᵢ, dᵢ = N + gᵢᵀvᵢ. Every vᵢ is a combination
    Σⱼ Cᵢⱼ gⱼ of the stored gradients, and gⱼᵀvᵢ = (C K)ᵢⱼ, so the rows of the lower-triangular
    C follow from K alone: Cᵢ = eᵢ/λ − Σ_{j<i} ((C K)ⱼᵢ/dⱼ) Cⱼ. O(N³) work, never touching a
    gradient. Returns (C, d)."""
    N = K.shape[0]
    identity = eye_like(xp, K, N)
    C = xp.zeros_like(K)
    d = xp.zeros((N,), dtype=K.dtype, device=array_device(K))
    for i in range(N):
        row = identity[i, :] / damping
        if i:
            weights = (C[:i, :] @ K[:, i]) / d[:i]
            row = row - weights @ C[:i, :]
        C[i, :] = row
        d[i] = N + row @ K[:, i]
    return C, d


@method(
    family="preconditioner",
    tasks={"fisher_product"},
    dtypes=DTYPES,
    flops=lambda sizes, params: (lambda N, m, n, d: 2 * N * N * d + 2 * N**3 + 4 * N * d)(
        *_sizes(sizes)
    ),
)
def mfac(gradients: Any, g: Any, damping: Any, *, xp: Any) -> Any:
    """M-FAC's inverse empirical Fisher product (Frantar, Kurtic, Alistarh, NeurIPS 2021):
    (λI + (1/N) Σ gᵢgᵢᵀ)⁻¹ x = x/λ − Σᵢ vᵢ(vᵢᵀx)/dᵢ = x/λ − Γᵀ Cᵀ diag(1/d) C Γ x, with C and
    d from the recursive Woodbury form (``mfac_coefficients``) on the N × N Gram matrix ΓΓᵀ.
    Matrix-free: the state is the N gradients and C (N·mn + N² numbers), the product
    O(N·mn). Exact (equal to the dense damped inverse up to rounding)."""
    Gamma = _flat(xp, gradients)
    C, d = mfac_coefficients(xp, Gamma @ xp.matrix_transpose(Gamma), float(damping))
    x = xp.reshape(g, (-1,))
    X = x / damping - ((((C @ (Gamma @ x)) / d) @ C) @ Gamma)
    return _with_bytes(xp, xp.reshape(X, g.shape), Gamma, C, d)


def psgd_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Per fitting step: the Hessian-vector product (4N·mn), A = Qₗ H Qᵣᵀ and the two solves
    for B (about 2(m²n + mn²) + (m³ + n³)), the two Gram differences and Q updates
    (about 4(m²n + mn²) + 2(m³ + n³)); then P g once."""
    N, m, n, d = _sizes(sizes)
    per_step = 4 * N * d + 6 * (m * m * n + m * n * n) + 3 * (m**3 + n**3)
    return params["steps"] * per_step + 4 * (m * m * n + m * n * n)


def _hessian_vector(xp: Any, Gamma: Any, damping: Any, V: Any) -> Any:
    """(F + λI) V = Γᵀ(Γ vec V)/N + λV, matrix-free."""
    v = xp.reshape(V, (-1,))
    return xp.reshape(((Gamma @ v) @ Gamma) / Gamma.shape[0], V.shape) + damping * V


def _lie_group_step(xp: Any, Q: Any, gradient: Any, step: float) -> Any:
    """Q ← Q − μ/max|∇| ∇ Q for the upper-triangular ∇: a step on the group of
    upper-triangular matrices, normalised as in Li's PSGD."""
    scale = xp.max(xp.abs(gradient))
    return Q - (step / xp.where(scale > 0, scale, xp.ones_like(scale))) * (gradient @ Q)


@method(
    family="preconditioner",
    tasks={"fisher_product"},
    dtypes=DTYPES,
    flops=psgd_flops,
    iterative=True,
)
def psgd_kron(
    gradients: Any,
    g: Any,
    damping: Any,
    *,
    xp: Any,
    steps: int = 200,
    step: float = 0.1,
    seed: int = 0,
) -> Iterator[Any]:
    """PSGD's Kronecker-factored preconditioner (Li 2018, 2019; Pooladzandi and Li 2024):
    P = (QₗᵀQₗ) ⊗ (QᵣᵀQᵣ), P g = QₗᵀQₗ g QᵣᵀQᵣ, with Qₗ (m×m) and Qᵣ (n×n) upper triangular.

    Each of ``steps`` fitting steps draws a probe V (m×n, standard normal, from ``seed``) and
    its Hessian-vector product H = (F + λI)V (matrix-free from the gradients), and takes a
    step on the Lie group against the criterion E[hᵀPh + vᵀP⁻¹v], minimal at P = H⁻¹:
    A = Qₗ H Qᵣᵀ, B = Qₗ⁻ᵀ V Qᵣ⁻¹, Qₗ ← Qₗ − μ/max|∇ₗ| ∇ₗ Qₗ with ∇ₗ = triu(AAᵀ − BBᵀ),
    Qᵣ likewise with ∇ᵣ = triu(AᵀA − BᵀB), μ = ``step``; then Qₗ, Qᵣ are rebalanced to equal
    largest diagonals. Starts from Q = (‖V‖/‖H‖)^(1/4) I (the best scalar P for a first pair).
    Yields (P g, state bytes) after every step; the state is Qₗ, Qᵣ (m² + n² numbers)."""
    if steps < 1 or not step > 0:
        raise ValueError(f"psgd_kron needs steps ≥ 1 and step > 0, got {steps} and {step}")
    _, m, n = gradients.shape
    Gamma = _flat(xp, gradients)
    rng = np.random.default_rng(seed)

    def probe() -> tuple[Any, Any]:
        V = xp.asarray(rng.standard_normal((m, n)), dtype=g.dtype, device=array_device(g))
        return V, _hessian_vector(xp, Gamma, damping, V)

    V, H = probe()
    scale = (xp.linalg.vector_norm(V) / xp.linalg.vector_norm(H)) ** 0.25
    Ql, Qr = scale * eye_like(xp, g, m), scale * eye_like(xp, g, n)
    for _ in range(steps):
        V, H = probe()
        A = Ql @ H @ xp.matrix_transpose(Qr)
        left = xp.linalg.solve(xp.matrix_transpose(Ql), V)  # Qₗ⁻ᵀ V
        B = xp.matrix_transpose(xp.linalg.solve(xp.matrix_transpose(Qr), xp.matrix_transpose(left)))
        At, Bt = xp.matrix_transpose(A), xp.matrix_transpose(B)
        Ql = _lie_group_step(xp, Ql, xp.triu(A @ At - B @ Bt), step)
        Qr = _lie_group_step(xp, Qr, xp.triu(At @ A - Bt @ B), step)
        rho = xp.sqrt(
            xp.max(xp.abs(xp.linalg.diagonal(Ql))) / xp.max(xp.abs(xp.linalg.diagonal(Qr)))
        )
        Ql, Qr = Ql / rho, Qr * rho
        X = xp.matrix_transpose(Ql) @ (Ql @ g @ xp.matrix_transpose(Qr)) @ Qr
        yield _with_bytes(xp, X, Ql, Qr)


def shampoo_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """L and R (2N(m²n + mn²)), two eigh (about 9(m³ + n³)), rectification (4 products a
    Björck step, when quantising eigenvectors), and the application (4(m²n + mn²))."""
    N, m, n, _ = _sizes(sizes)
    rectify = params["rectify"] if params["quantize"] == "eigenvectors" else 0
    cubes = m**3 + n**3
    return 2 * N * (m * m * n + m * n * n) + (9 + 4 * rectify) * cubes + 4 * (m * m * n + m * n * n)


@method(
    family="preconditioner",
    tasks={"fisher_product"},
    dtypes=DTYPES,
    flops=shampoo_flops,
)
def shampoo(
    gradients: Any,
    g: Any,
    damping: Any,
    *,
    xp: Any,
    root: int = 2,
    eps: float = 1e-6,
    quantize: Quantize = "none",
    bits: Literal[4, 8] = 4,
    block: int = 64,
    rectify: int = 1,
) -> Any:
    """Shampoo's preconditioned gradient L^(−1/p) g R^(−1/p), p = ``root`` (Gupta, Koren,
    Singer 2018), from the Kronecker statistics L = (1/N) Σ Gᵢ Gᵢᵀ (m×m) and
    R = (1/N) Σ Gᵢᵀ Gᵢ (n×n), each damped by ``eps`` × its largest eigenvalue.

    L ⊗ R approximates F² up to a scalar, so p = 2 aims at the direction of F⁻¹ g (the task's
    target; its scale is the learning rate's business: see ``direction_error``), p = 4, the
    original Shampoo, at F^(−1/2) g (full-matrix AdaGrad's). ``quantize`` stores each factor's
    eigenvector matrix (``eigenvectors``, 4-bit Shampoo: Wang et al., NeurIPS 2024) or the
    factor itself (``matrix``, the paper's naive variant) in ``bits`` bits, ``block`` entries a
    scale, with ``rectify`` Björck steps (``quantized_roots``); ``none`` keeps U and Λ in the
    working precision. The state is what each factor's root is rebuilt from."""
    root = root_of(root)
    N, m, n = gradients.shape
    W = xp.reshape(xp.permute_dims(gradients, (1, 0, 2)), (m, N * n))
    Z = xp.reshape(gradients, (N * m, n))
    factors = (W @ xp.matrix_transpose(W) / N, xp.matrix_transpose(Z) @ Z / N)
    left, right = (
        stored_inverse_root(
            xp, S, root, eps=eps, quantize_what=quantize, bits=bits, block=block, rectify=rectify
        )
        for S in factors
    )
    X = xp.matrix_transpose(right.apply_left(xp, xp.matrix_transpose(left.apply_left(xp, g))))
    return _with_bytes(xp, X, *left.state, *right.state)


@hookimpl
def harness_methods() -> list[Method]:
    return [dense_natural_gradient, mfac, psgd_kron, shampoo]
