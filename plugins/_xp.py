"""Small helpers for methods written against the array namespace ``xp``.

The array API standard has no random numbers, no triangular solve and no matrix power; these
fill the gaps the built-in methods need, for every backend alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import device as array_device
from array_api_compat import is_cupy_namespace, is_numpy_namespace, is_torch_namespace

from harness.sparse import as_operator, is_sparse


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
    whatever A is: a dense array of any backend, or a sparse matrix of any backend (through
    ``harness.sparse.SparseOperator.diagonal``, which sums duplicate entries as the matrix
    product would)."""
    if is_sparse(A):
        return as_operator(A).diagonal()
    return xp.linalg.diagonal(A)


def scatter_add_rows(xp: Any, X: Any, index: np.ndarray, rows: int) -> Any:
    """Y (rows × n) with Y[index[j, c]] += X[j] for every row j of the m×n array X and every
    column c of the host integer array ``index`` (m × k, or length m for k = 1): the product
    P X with the 0/1 matrix P that has k ones in each column, in one pass over X.

    The array API has no scatter. numpy: P as a scipy.sparse CSC matrix (built as it is, no
    sort), whose product streams X once, row after row; torch: ``index_add_`` once per c;
    cupy: ``cupyx.scatter_add`` once per c.
    """
    index = np.asarray(index).reshape(X.shape[0], -1)
    m, k = index.shape
    if is_numpy_namespace(xp):
        from scipy.sparse import csc_array

        P = csc_array(
            (np.ones(m * k, dtype=X.dtype), index.reshape(-1), np.arange(0, m * k + 1, k)),
            shape=(rows, m),
        )
        return P @ X
    if not (is_torch_namespace(xp) or is_cupy_namespace(xp)):
        raise NotImplementedError(f"scatter_add_rows has no scatter for {xp.__name__}")
    Y = xp.zeros((rows, *X.shape[1:]), dtype=X.dtype, device=array_device(X))
    for c in range(k):
        column = xp.asarray(index[:, c], device=array_device(X))
        if is_cupy_namespace(xp):
            import cupyx

            cupyx.scatter_add(Y, column, X)
        else:
            Y.index_add_(0, column, X)
    return Y
