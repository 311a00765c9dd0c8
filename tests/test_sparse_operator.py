"""harness.model.sparse.SparseOperator: one interface to each backend's sparse CSR matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from harness_builtins.shared import diagonal

from harness.model.sparse import SparseOperator, as_operator, is_sparse
from harness.plugins.registry import Registry

A_HOST = scipy.sparse.random_array(
    (30, 20), density=0.2, rng=np.random.default_rng(0), format="csr"
) + scipy.sparse.eye_array(30, 20)
DENSE = A_HOST.toarray()


def _backends() -> list:
    registry = Registry.load()
    return [
        pytest.param(name, marks=pytest.mark.skipif(name == "cupy", reason="no GPU here"))
        for name in ("numpy", "torch", "cupy")
        if name in registry.backends
    ]


@pytest.fixture(params=_backends())
def backend(request):
    backend = Registry.load().backends[request.param]
    if not backend.availability().available:
        pytest.skip(str(backend.availability()))
    return backend


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_operator_on_the_backends_csr(backend, dtype):
    A = as_operator(backend.to_device(A_HOST, dtype))
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    X = np.random.default_rng(1).standard_normal((20, 3))
    Y = np.random.default_rng(2).standard_normal((30, 3))

    def close(got, want):
        np.testing.assert_allclose(backend.to_numpy(got), want, rtol=tolerance, atol=tolerance)

    assert isinstance(A, SparseOperator) and is_sparse(A) and as_operator(A) is A
    assert A.shape == (30, 20) and A.nnz == A_HOST.nnz
    assert str(A.dtype).endswith(dtype)
    close(A @ backend.to_device(X, dtype), DENSE @ X)
    close(A.matmat(backend.to_device(X, dtype)), DENSE @ X)
    close(A.matvec(backend.to_device(X[:, 0], dtype)), DENSE @ X[:, 0])
    close(A.rmatmat(backend.to_device(Y, dtype)), DENSE.T @ Y)
    close(backend.to_device(Y.T, dtype) @ A, Y.T @ DENSE)
    close(A.T.todense(), DENSE.T)
    close(A.diagonal(), np.diagonal(DENSE))
    product = A.T @ A
    assert isinstance(product, SparseOperator)
    close(product.todense(), DENSE.T @ DENSE)


def test_from_coo_builds_in_the_library_of_like_and_sums_duplicates(backend):
    like = backend.to_device(np.zeros((2, 2)), "float32")
    S = SparseOperator.from_coo(
        np.array([0, 0, 2]), np.array([1, 1, 0]), np.array([1.0, 2.0, 5.0]), (3, 2), like=like
    )
    assert S.nnz == 2 and str(S.dtype).endswith("float32")
    np.testing.assert_array_equal(backend.to_numpy(S.todense()), [[0, 3], [0, 0], [5, 0]])
    assert type(S.todense()) is type(like)


def test_dense_arrays_pass_through_and_other_objects_are_refused():
    dense = np.eye(3)
    assert as_operator(dense) is dense and not is_sparse(dense)
    with pytest.raises(TypeError, match="SparseOperator wraps"):
        SparseOperator(dense)


def test_diagonal_helper_reads_sparse_inputs_of_every_backend(backend):
    square = (A_HOST @ A_HOST.T).tocsr()
    got = diagonal(backend.xp, backend.to_device(square, "float64"))
    np.testing.assert_allclose(backend.to_numpy(got), square.diagonal(), rtol=1e-12)
