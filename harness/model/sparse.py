"""One small interface to a backend's sparse matrix: ``SparseOperator``.

``Backend.to_device`` moves a task's scipy.sparse input as the library's own CSR matrix
(scipy.sparse on numpy, a torch sparse CSR tensor on torch, cupyx.scipy.sparse on cupy), so
that ``A @ x`` works on it with the library's dense arrays and the library's own functions
(scipy.sparse.linalg, pyamg, ...) take it as it is. The three libraries spell everything else
differently (``nnz`` against ``_nnz()``, ``toarray()`` against ``to_dense()``, no diagonal in
torch). A method that needs more than ``A @ x`` wraps its input once::

    A = as_operator(A)          # a SparseOperator for a sparse A; a dense A is left alone
    A.shape, A.dtype, A.nnz     # the same on every backend
    A @ X, A.matvec(x), A.matmat(X), A.rmatmat(Y)   # A X, A x, A X, Aᵀ Y (dense in, dense out)
    X @ A, A.T, A.diagonal(), A.todense()

and builds sparse matrices of its own (a CountSketch S, a sampling matrix) with
``SparseOperator.from_coo(rows, cols, values, shape, like=A)`` in the library of ``like``,
where that library has sparse matrices (``has_sparse_matrices``: numpy, torch, cupy; not
array-api-strict, whose backend therefore takes no sparse problem).
A product of two operators is an operator; a product with a dense array is dense.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def _library(matrix: Any) -> str | None:
    """``"scipy"``, ``"torch"`` or ``"cupy"`` for a sparse matrix of that library, else None."""
    module = type(matrix).__module__
    if module.startswith("scipy.sparse"):
        return "scipy"
    if module.startswith("cupyx.scipy.sparse"):
        return "cupy"
    if module == "torch" and str(getattr(matrix, "layout", "")).startswith("torch.sparse"):
        return "torch"
    return None


def is_sparse(A: Any) -> bool:
    """Whether A is a ``SparseOperator`` or a sparse matrix of scipy, torch or cupy."""
    return isinstance(A, SparseOperator) or _library(A) is not None


def has_sparse_matrices(like: Any) -> bool:
    """Whether ``like``'s library has sparse matrices ``SparseOperator.from_coo`` can build:
    numpy (scipy.sparse), torch, cupy (cupyx.scipy.sparse), for a dense array or a sparse
    matrix of theirs. False for a library without them (array-api-strict)."""
    like = like.matrix if isinstance(like, SparseOperator) else like
    return type(like).__module__.split(".")[0] in ("numpy", "torch", "cupy", "cupyx", "scipy")


def as_operator(A: Any) -> Any:
    """A sparse A as a ``SparseOperator``; a dense array (or an operator) returned as it is."""
    if isinstance(A, SparseOperator) or _library(A) is None:
        return A
    return SparseOperator(A)


class SparseOperator:
    """An m×n sparse matrix on a backend's device, wrapping the library's CSR matrix.

    ``matrix`` is the library's own object (kept in CSR: scipy ``csr_array``/``csr_matrix``,
    torch ``sparse_csr``, ``cupyx.scipy.sparse.csr_matrix``) for whatever this interface
    does not cover. Products with dense arrays run the library's sparse-times-dense kernel
    (O(nnz·k) for k right-hand sides); products of two operators its sparse-times-sparse one.
    """

    __array_ufunc__ = (
        None  # numpy defers ``X @ A`` to __rmatmul__ instead of making an object array
    )

    def __init__(self, matrix: Any) -> None:
        library = _library(matrix)
        if library is None:
            raise TypeError(
                f"SparseOperator wraps a scipy, torch or cupy sparse matrix, not {type(matrix)}"
            )
        if library == "torch" and str(matrix.layout) != "torch.sparse_csr":
            matrix = matrix.to_sparse_csr()
        elif library != "torch" and matrix.format != "csr":
            matrix = matrix.tocsr()
        self.matrix = matrix
        self.library = library

    @classmethod
    def from_coo(
        cls, rows: Any, cols: Any, values: Any, shape: tuple[int, int], *, like: Any
    ) -> SparseOperator:
        """The matrix with ``values[k]`` at (``rows[k]``, ``cols[k]``), duplicates summed, in
        the library, dtype and device of ``like`` (a dense array or a ``SparseOperator``).
        rows, cols, values are host numpy arrays (the values are cast to like's dtype)."""
        like = like.matrix if isinstance(like, SparseOperator) else like
        module = type(like).__module__
        if module.startswith("torch"):
            import torch

            index = torch.from_numpy(np.stack([rows, cols]).astype(np.int64))
            data = torch.from_numpy(np.asarray(values)).to(dtype=like.dtype)
            coo = torch.sparse_coo_tensor(
                index, data, size=shape, device=like.device, check_invariants=False
            )
            with warnings.catch_warnings():  # "sparse CSR support is in beta": known, noise
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                return cls(coo.coalesce().to_sparse_csr())
        if module.startswith(("cupy", "cupyx")):
            import cupy
            import cupyx.scipy.sparse

            data = cupy.asarray(np.asarray(values, dtype=like.dtype))
            coo = cupyx.scipy.sparse.coo_matrix(
                (data, (cupy.asarray(rows), cupy.asarray(cols))), shape=shape
            )
            return cls(coo.tocsr())
        if not has_sparse_matrices(like):
            raise TypeError(f"{type(like).__module__} has no sparse matrices (like={type(like)})")
        from scipy.sparse import coo_array

        entries = np.asarray(values, dtype=like.dtype)
        return cls(coo_array((entries, (rows, cols)), shape=shape).tocsr())

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)

    @property
    def dtype(self) -> Any:
        """The library's dtype object (``numpy.float64``, ``torch.float32``, ...)."""
        return self.matrix.dtype

    @property
    def nnz(self) -> int:
        """Stored entries (explicit zeros included)."""
        return int(self.matrix._nnz() if self.library == "torch" else self.matrix.nnz)

    @property
    def T(self) -> SparseOperator:
        """Aᵀ, stored as CSR (one conversion, O(nnz))."""
        if self.library == "torch":
            return SparseOperator(self.matrix.t().to_sparse_csr())
        return SparseOperator(self.matrix.T.tocsr())

    def matmat(self, X: Any) -> Any:
        """A X for a dense n×k array X: dense m×k."""
        return self.matrix @ X

    def matvec(self, x: Any) -> Any:
        """A x for a dense 1-D x of length n: dense, length m."""
        return self.matrix @ x

    def rmatmat(self, Y: Any) -> Any:
        """Aᵀ Y for a dense m×k array Y: dense n×k (the transpose product, no copy of A)."""
        return self._transposed_view() @ Y

    def _transposed_view(self) -> Any:
        """Aᵀ without a copy: CSC (torch's ``t()``; ``.T`` fails on a torch sparse CSR)."""
        return self.matrix.t() if self.library == "torch" else self.matrix.T

    def __matmul__(self, other: Any) -> Any:
        if isinstance(other, SparseOperator):
            product = self.matrix @ other.matrix
            return SparseOperator(product)
        return self.matrix @ other

    def __rmatmul__(self, X: Any) -> Any:
        """X A for a dense k×m X: (Aᵀ Xᵀ)ᵀ, dense k×n."""
        return (self._transposed_view() @ X.T).T

    def todense(self) -> Any:
        """A as the library's dense 2-D array."""
        return self.matrix.to_dense() if self.library == "torch" else self.matrix.toarray()

    def diagonal(self) -> Any:
        """The main diagonal as a dense 1-D array in A's library, dtype and device (duplicate
        entries summed, as the matrix product would)."""
        if self.library != "torch":
            return self.matrix.diagonal()
        crow, col, values = (
            self.matrix.crow_indices(),
            self.matrix.col_indices(),
            self.matrix.values(),
        )
        import torch

        rows = torch.arange(self.shape[0], device=crow.device).repeat_interleave(
            crow[1:] - crow[:-1]
        )
        on_diagonal = rows == col
        zeros = torch.zeros(min(self.shape), dtype=values.dtype, device=values.device)
        return zeros.index_add(0, rows[on_diagonal], values[on_diagonal])

    def __repr__(self) -> str:
        shape, dtype, nnz = self.shape, self.dtype, self.nnz
        return f"SparseOperator({self.library}, {shape=}, {dtype=}, {nnz=})"
