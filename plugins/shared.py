"""What the built-in methods of every family share, written against the array namespace
``xp``: the dtypes they run in (``DTYPES``); random normals drawn on the host from a seed
(the standard has no random numbers), identity, matrix power, Frobenius norm, the diagonal;
orienting a matrix wide or tall and back; moving an array to the host (DLPack) or a sparse
matrix to dense; and the scatter-add the standard lacks (``gathered_row_sums``,
``scatter_add_rows``, ``sparse_product``), one implementation for every backend.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import (
    array_namespace,
    is_cupy_namespace,
    is_numpy_namespace,
    is_torch_namespace,
    to_device,
)
from array_api_compat import device as array_device

from harness.model.sparse import SparseOperator, as_operator, has_sparse_matrices, is_sparse

DTYPES = {"float32", "float64"}
"""The dtypes of the built-in methods that need at least single precision (most of them)."""


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
    ``harness.model.sparse.SparseOperator.diagonal``, which sums duplicate entries as the matrix
    product would)."""
    if is_sparse(A):
        return as_operator(A).diagonal()
    return xp.linalg.diagonal(A)


def dense(A: Any) -> Any:
    """A as a dense array of its own library: a sparse matrix of scipy, torch or cupy, or a
    ``SparseOperator``, densified on its device; a dense array as it is."""
    return as_operator(A).todense() if is_sparse(A) else A


DLPACK_CPU = 1
"""``__dlpack_device__()[0]`` of an array in host memory (DLPack's kDLCPU)."""


def to_host(x: Any) -> np.ndarray:
    """A (small) device array as a numpy float64 array on the host, a synchronisation: through
    the standard's DLPack interchange, after array-api-compat's ``to_device(x, "cpu")`` for an
    array that is not in host memory (torch on CUDA, cupy)."""
    xp = array_namespace(x)
    if x.dtype != xp.float64:  # numpy cannot import bfloat16 through DLPack
        x = xp.astype(x, xp.float64)
    if x.__dlpack_device__()[0] != DLPACK_CPU:
        x = to_device(x, "cpu")
    return np.array(np.from_dlpack(x), dtype=np.float64, copy=True)


def sparse_product(
    xp: Any, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int], X: Any
) -> Any:
    """S X, dense, for the sparse ``shape`` matrix S with ``values[t]`` at (``rows[t]``,
    ``cols[t]``) (host arrays; duplicates summed) and X dense or sparse of any backend.

    Where X's library has sparse matrices (numpy's scipy.sparse, torch, cupy; a sparse X),
    S is built there (``SparseOperator.from_coo``) and applied by its sparse product. Any other
    array library (array-api-strict) gets ``gathered_row_sums``, in the standard alone.
    """
    if isinstance(X, SparseOperator) or has_sparse_matrices(X):
        S = SparseOperator.from_coo(rows, cols, values, shape, like=X)
        return (S @ X).todense() if isinstance(X, SparseOperator) else S.matmat(X)
    return gathered_row_sums(xp, X, rows, cols, shape[0], values)


def gathered_row_sums(
    xp: Any,
    X: Any,
    targets: np.ndarray,
    sources: np.ndarray,
    rows: int,
    weights: np.ndarray | None = None,
) -> Any:
    """Y (``rows`` × n) with Y[targets[t]] += weights[t] · X[sources[t]] for every t (weights
    1 when None): the product of X with a sparse matrix, written in the array API standard,
    which has no scatter and no sparse matrices.

    The entries are grouped by target row on the host (a stable sort), each target row's
    sources padded to the longest group w (padding weighs 0), so that Y is one ``take`` of
    rows × w rows of X and one sum over the w axis: exact (no cancellation), deterministic,
    O(rows · w · n) work and memory, where w is about the mean group size for uniformly
    random targets (the sketches here). Measured against the libraries' own scatter (2¹⁷×64,
    float32), it is 7–40× slower, hence ``scatter_add_rows``'s native paths.
    """
    targets, sources = np.asarray(targets).reshape(-1), np.asarray(sources).reshape(-1)
    weights = np.ones(len(targets)) if weights is None else np.asarray(weights).reshape(-1)
    order = np.argsort(targets, kind="stable")
    targets, sources, weights = targets[order], sources[order], weights[order]
    counts = np.bincount(targets, minlength=rows)
    width = max(int(counts.max(initial=0)), 1)
    slot = np.arange(len(targets)) - (np.cumsum(counts) - counts)[targets]
    index = np.zeros((rows, width), dtype=np.int64)
    index[targets, slot] = sources
    padded_weights = np.zeros((rows, width))
    padded_weights[targets, slot] = weights
    trailing = X.shape[1:]
    picked = xp.take(X, xp.asarray(index.reshape(-1), device=array_device(X)), axis=0)
    picked = xp.reshape(picked, (rows, width, *trailing))
    scale = padded_weights.reshape(rows, width, *([1] * len(trailing)))
    return xp.sum(picked * xp.asarray(scale, dtype=X.dtype, device=array_device(X)), axis=1)


def scatter_add_rows(xp: Any, X: Any, index: np.ndarray, rows: int) -> Any:
    """Y (rows × n) with Y[index[j, c]] += X[j] for every row j of the m×n array X and every
    column c of the host integer array ``index`` (m × k, or length m for k = 1): the product
    P X with the 0/1 matrix P that has k ones in each column, in one pass over X.

    The array API has no scatter: any library is served by ``gathered_row_sums``. Three have a
    native one, 7–40× faster (measured on 2¹⁷×64 float32, k = 1 and 8), isolated here:
    numpy: P as a scipy.sparse CSC matrix (built as it is, no sort), whose product streams X
    once, row after row; torch: ``index_add_`` once per c; cupy: ``cupyx.scatter_add`` once
    per c.
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
        return gathered_row_sums(xp, X, index, np.repeat(np.arange(m), k), rows)
    Y = xp.zeros((rows, *X.shape[1:]), dtype=X.dtype, device=array_device(X))
    for c in range(k):
        column = xp.asarray(index[:, c], device=array_device(X))
        if is_cupy_namespace(xp):
            import cupyx

            cupyx.scatter_add(Y, column, X)
        else:
            Y.index_add_(0, column, X)
    return Y


INDEX_BYTES = 4
"""Bytes of a sparse matrix's column index and row pointer as bytes models count them
(scipy's int32); torch's int64 indices move more, so their share of bandwidth is a lower
bound there."""


def stored_entries(A: Any) -> int:
    """The entries A stores: its nonzeros when sparse, every entry when dense."""
    return int(A.nnz) if is_sparse(A) else math.prod(A.shape)


def matrix_bytes(A: Any, word: int) -> float:
    """Bytes one pass over A reads: its values, and for a sparse A (CSR) its column indices
    and row pointers."""
    if is_sparse(A):
        return float(A.nnz * (word + INDEX_BYTES) + (A.shape[0] + 1) * INDEX_BYTES)
    return float(stored_entries(A) * word)
