"""Method plugin: inverse p-th roots stored in 4 (or 8) bits, as in 4-bit Shampoo (Wang, Zhou,
Li, Huang, *4-bit Shampoo for Memory-Efficient Network Training*, NeurIPS 2024), for the
``inverse_root`` task; its functions also serve ``shampoo`` in ``second_order``.

Block-wise quantisation with the *linear square* ("Linear-2") code book the paper prefers:
the 2ᵇ codes tⱼ = −1 + 2j/(2ᵇ − 1) mapped to sign(tⱼ) tⱼ², each block of ``block`` consecutive
entries scaled by its largest magnitude and every entry rounded to the nearest code. Two 4-bit
codes share a byte, so an n×n matrix takes n²/2 bytes plus one scale per block.

What is quantised (``quantize``): ``eigenvectors``, the paper's choice, keeps the eigenvalues
Λ of A = U Λ Uᵀ in full precision and stores U quantised; the root is rebuilt from V, the
dequantised U after ``rectify`` Björck steps V ← 1.5 V − 0.5 V VᵀV (the paper's orthogonal
rectification), as V Λ^(−1/p) Vᵀ. ``matrix`` (the paper's naive 4-bit Shampoo) stores A itself
quantised (its diagonal in full precision) and takes the root of the dequantised matrix.
``none`` keeps U and Λ in the working precision (the 32-bit baseline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from array_api_compat import device as array_device
from harness_builtins.preconditioners.inverse_roots import root_of
from harness_builtins.shared import DTYPES, eye_like

from harness import Method, hookimpl, method

Quantize = Literal["eigenvectors", "matrix", "none"]


def state_bytes(xp: Any, *arrays: Any) -> int:
    """Bytes that ``arrays`` occupy: entries × the width of each one's dtype."""
    total = 0
    for a in arrays:
        kind = xp.iinfo(a.dtype) if xp.isdtype(a.dtype, "integral") else xp.finfo(a.dtype)
        total += math.prod(a.shape) * kind.bits // 8
    return total


def linear_square_codebook(xp: Any, bits: int, like: Any) -> Any:
    """The 2ᵇ codes sign(t) t², t = −1 + 2j/(2ᵇ − 1), ascending, in ``like``'s dtype."""
    levels = 2**bits
    t = [-1 + 2 * j / (levels - 1) for j in range(levels)]
    return xp.asarray(
        [math.copysign(v * v, v) for v in t], dtype=like.dtype, device=array_device(like)
    )


@dataclass(frozen=True)
class QuantizedMatrix:
    """A matrix stored block-wise in ``bits`` bits: ``codes`` (uint8, two codes a byte for 4
    bits; the last block padded with zeros), one ``scales`` entry per block, and the matrix's
    ``shape``."""

    codes: Any
    scales: Any
    shape: tuple[int, ...]
    bits: int

    def arrays(self) -> tuple[Any, Any]:
        return self.codes, self.scales


def quantize(xp: Any, X: Any, bits: int = 4, block: int = 64) -> QuantizedMatrix:
    """X block-wise on the linear square code book (see the module docstring)."""
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    if block < 2 or block % 2:
        raise ValueError(f"block must be an even number ≥ 2, got {block}")
    flat = xp.reshape(X, (-1,))
    padding = -flat.shape[0] % block
    if padding:
        flat = xp.concat([flat, xp.zeros(padding, dtype=X.dtype, device=array_device(X))])
    blocks = xp.reshape(flat, (-1, block))
    scales = xp.max(xp.abs(blocks), axis=1)
    safe = xp.where(scales > 0, scales, xp.ones_like(scales))
    normalised = xp.reshape(blocks / safe[:, None], (-1,))
    book = linear_square_codebook(xp, bits, X)
    codes = xp.searchsorted((book[1:] + book[:-1]) / 2, normalised)
    if bits == 4:
        codes = codes[0::2] * 16 + codes[1::2]
    return QuantizedMatrix(xp.astype(codes, xp.uint8), scales, tuple(X.shape), bits)


def dequantize(xp: Any, Q: QuantizedMatrix) -> Any:
    """The matrix ``quantize`` stored, in the scales' dtype."""
    codes = xp.astype(Q.codes, xp.int64)
    if Q.bits == 4:
        codes = xp.reshape(xp.stack([codes // 16, codes % 16], axis=1), (-1,))
    values = xp.take(linear_square_codebook(xp, Q.bits, Q.scales), codes)
    blocks = xp.reshape(values, (Q.scales.shape[0], -1)) * Q.scales[:, None]
    return xp.reshape(xp.reshape(blocks, (-1,))[: math.prod(Q.shape)], Q.shape)


def bjorck(xp: Any, V: Any, steps: int) -> Any:
    """``steps`` Björck orthonormalisation steps V ← 1.5 V − 0.5 V VᵀV (the paper's
    orthogonal rectification of the dequantised eigenvectors)."""
    for _ in range(steps):
        V = 1.5 * V - 0.5 * V @ (xp.matrix_transpose(V) @ V)
    return V


@dataclass(frozen=True)
class StoredRoot:
    """An inverse root kept as the optimizer would keep it: X = V diag(scale) Vᵀ, with the
    arrays that are its stored state."""

    V: Any
    scale: Any
    state: tuple[Any, ...]

    def apply_left(self, xp: Any, G: Any) -> Any:
        """X G without forming X: V (scale ⊙ (Vᵀ G))."""
        return self.V @ (self.scale[:, None] * (xp.matrix_transpose(self.V) @ G))

    def matrix(self, xp: Any) -> Any:
        return (self.V * self.scale[None, :]) @ xp.matrix_transpose(self.V)


def stored_inverse_root(
    xp: Any,
    A: Any,
    p: int,
    *,
    eps: float,
    quantize_what: Quantize,
    bits: int,
    block: int,
    rectify: int,
) -> StoredRoot:
    """(A + ε λ_max I)^(−1/p) through the storage ``quantize_what`` (module docstring); ε
    relative to A's largest eigenvalue, as in the paper's Λ + max(λ) ε I."""
    n = A.shape[-1]
    if quantize_what == "matrix":
        diagonal = xp.linalg.diagonal(A)
        stored = quantize(xp, A - xp.linalg.diagonal(A)[:, None] * eye_like(xp, A, n), bits, block)
        A = dequantize(xp, stored) + diagonal[:, None] * eye_like(xp, A, n)
        state: tuple[Any, ...] = (*stored.arrays(), diagonal)
    lam, U = xp.linalg.eigh(A)
    lam = xp.clip(lam, min=0.0) + eps * xp.max(lam)  # quantising A can make it indefinite
    if not float(xp.min(lam)) > 0:
        raise ValueError(
            f"the matrix has an eigenvalue ≤ 0 in {A.dtype} (after quantisation, for "
            "quantize: matrix); set eps > 0"
        )
    scale = lam ** (-1.0 / p)
    if quantize_what == "eigenvectors":
        stored = quantize(xp, U, bits, block)
        U = bjorck(xp, dequantize(xp, stored), rectify)
        state = (*stored.arrays(), lam)
    elif quantize_what == "none":
        state = (U, lam)
    return StoredRoot(U, scale, state)


@method(
    family="preconditioner",
    tasks={"inverse_root"},
    dtypes=DTYPES,
    flops=lambda sizes, params: (9 + 2 + 2 * params["rectify"] * 2) * float(sizes["n"]) ** 3,
)
def quantized_eigh_root(
    A: Any,
    p: Any,
    *,
    xp: Any,
    quantize: Quantize = "eigenvectors",
    bits: Literal[4, 8] = 4,
    block: int = 64,
    rectify: int = 1,
    eps: float = 0.0,
) -> Any:
    """A^(−1/p) as 4-bit Shampoo stores it (Wang et al., NeurIPS 2024): eigh, then the
    eigenvector matrix U quantised block-wise (``block`` entries a scale) on the linear square
    code book in ``bits`` bits, dequantised, rectified by ``rectify`` Björck steps, and
    X = V Λ^(−1/p) Vᵀ with Λ in full precision. ``quantize: matrix`` quantises A itself
    instead (the paper's naive variant), ``none`` nothing. The ``relative_error`` against the
    exact root is the paper's normwise relative error (NRE) of A^(−1/p). ``eps`` adds
    ε λ_max I (0 here: the task's A is damped already)."""
    root = stored_inverse_root(
        xp,
        A,
        root_of(p),
        eps=eps,
        quantize_what=quantize,
        bits=bits,
        block=block,
        rectify=rectify,
    )
    return root.matrix(xp)


@hookimpl
def harness_methods() -> list[Method]:
    return [quantized_eigh_root]
