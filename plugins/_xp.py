"""Small helpers for methods written against the array namespace ``xp``.

The array API standard has no random numbers, no triangular solve and no matrix power; these
fill the gaps the built-in methods need, for every backend alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import device as array_device
from array_api_compat import is_array_api_obj


def eye_like(xp: Any, like: Any, rows: int, cols: int | None = None) -> Any:
    """The rows×cols identity in ``like``'s dtype, on its device (no batch axes)."""
    return xp.eye(rows, cols, dtype=like.dtype, device=array_device(like))


def gaussian_like(xp: Any, like: Any, shape: tuple[int, ...], seed: int, std: float = 1.0) -> Any:
    """Standard-normal × ``std`` entries drawn on the host from ``seed`` (numpy's PCG64), then
    cast and moved to ``like``'s dtype and device.

    The standard has no random module, and drawing on the host makes the draw identical on
    every backend. The transfer is part of the calling method's measured time.
    """
    draw = np.random.default_rng(seed).standard_normal(shape) * std
    return xp.asarray(draw, dtype=like.dtype, device=array_device(like))


def matrix_power(xp: Any, M: Any, p: int) -> Any:
    """M^p for an integer p ≥ 1 by repeated squaring (⌊log₂ p⌋ + popcount(p) − 1 products)."""
    if p < 1:
        raise ValueError(f"matrix_power needs p ≥ 1, got {p}")
    result = None
    square = M
    while True:
        if p & 1:
            result = square if result is None else result @ square
        p >>= 1
        if not p:
            return result
        square = square @ square


def frobenius(xp: Any, X: Any) -> Any:
    """‖X‖_F of each matrix in a stack, kept as (..., 1, 1) so that it broadcasts."""
    return xp.linalg.vector_norm(X, axis=(-2, -1), keepdims=True)


def wide(xp: Any, G: Any) -> tuple[Any, bool]:
    """G on its wide orientation (rows ≤ columns), and whether it was transposed."""
    tall = G.shape[-2] > G.shape[-1]
    return (xp.matrix_transpose(G) if tall else G), tall


def tall(xp: Any, G: Any) -> tuple[Any, bool]:
    """G on its tall orientation (rows ≥ columns), and whether it was transposed."""
    is_wide = G.shape[-2] < G.shape[-1]
    return (xp.matrix_transpose(G) if is_wide else G), is_wide


def back(xp: Any, X: Any, transposed: bool) -> Any:
    """Undo ``wide``/``tall``: X transposed back when it was transposed."""
    return xp.matrix_transpose(X) if transposed else X


def diagonal(xp: Any, A: Any) -> Any:
    """The main diagonal of a square matrix A as a dense 1-D array on A's device, in A's dtype,
    whatever A is: a dense array of any backend, a scipy.sparse or cupyx.scipy.sparse matrix
    (their ``.diagonal()``), or a torch sparse CSR tensor (which has no diagonal: it is read
    from the compressed rows, summing duplicate entries as the matrix product would)."""
    if "sparse_csr" in str(getattr(A, "layout", "")):  # torch.sparse_csr
        crow, col, values = A.crow_indices(), A.col_indices(), A.values()
        rows = xp.arange(A.shape[0], dtype=crow.dtype, device=crow.device)
        rows = rows.repeat_interleave(crow[1:] - crow[:-1])
        on_diagonal = rows == col
        zeros = xp.zeros(A.shape[0], dtype=values.dtype, device=values.device)
        return zeros.index_add(0, rows[on_diagonal], values[on_diagonal])
    if is_array_api_obj(A):
        return xp.linalg.diagonal(A)
    return xp.asarray(A.diagonal())  # scipy.sparse on the host, cupyx.scipy.sparse on a GPU
