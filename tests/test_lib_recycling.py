"""Krylov subspace recycling on a drifting sequence of variable-coefficient Poisson systems:
the stencil is the sparse matrix, deflated CG solves to tolerance, and recycling cuts the
total iterations against CG from scratch."""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import numpy as xnp
from harness_builtins.preconditioners import recycled_cg
from harness_builtins.preconditioners.spd_sequence_task import (
    _sparse_operator,
    generate_spd_sequence,
    poisson_stencil,
    spd_sequence_metrics,
)


def sequence(n: int, systems: int, **params):
    return generate_spd_sequence.generate(
        {"n": n, "systems": systems}, np.random.default_rng(0), **params
    )


def test_stencil_is_the_symmetric_positive_definite_sparse_operator():
    cx, cy, _ = sequence(7, 1).inputs
    A = _sparse_operator(cx[0], cy[0]).toarray()
    u = np.random.default_rng(1).standard_normal((7, 7))
    np.testing.assert_allclose(poisson_stencil(cx[0], cy[0], u).reshape(-1), A @ u.reshape(-1))
    np.testing.assert_allclose(A, A.T)
    assert np.linalg.eigvalsh(A)[0] > 0


def test_deflation_with_exact_eigenvectors_removes_them_from_the_rate():
    """Deflating the 10 smallest eigenvectors of A: the rest of the spectrum sets the rate,
    so CG needs fewer steps, and still reaches the solution."""
    cx, cy, b = sequence(24, 1, contrast=3.0).inputs
    A = _sparse_operator(cx[0], cy[0]).toarray()
    _, vectors = np.linalg.eigh(A)

    def apply(u):
        return (A @ u.T).T if u.ndim == 2 else A @ u

    rhs = b[0].reshape(-1)
    plain = recycled_cg.deflated_cg(xnp, apply, rhs, None, tol=1e-10, maxiter=5000, directions=0)
    deflated = recycled_cg.deflated_cg(
        xnp, apply, rhs, vectors[:, :10].T, tol=1e-10, maxiter=5000, directions=0
    )
    exact = np.linalg.solve(A, rhs)
    for x, _, _ in (plain, deflated):
        assert np.linalg.norm(x - exact) < 1e-8 * np.linalg.norm(exact)
    assert deflated[1] < 0.7 * plain[1]


def test_recycling_reduces_total_iterations_on_a_drifting_sequence():
    problem = sequence(32, 12, contrast=3.0, drift=0.05)
    scratch = spd_sequence_metrics(problem, recycled_cg.cg_sequence(*problem.inputs, xp=xnp))
    recycled = spd_sequence_metrics(
        problem, recycled_cg.recycled_cg(*problem.inputs, xp=xnp, subspace=16, directions=48)
    )
    for metrics in (scratch, recycled):
        assert metrics["max_relative_residual"] < 1e-7
        assert metrics["max_forward_error"] < 1e-6
    assert recycled["first_iterations"] == scratch["first_iterations"]  # nothing to recycle yet
    assert recycled["total_iterations"] < 0.85 * scratch["total_iterations"]
    assert recycled["last_iterations"] < 0.75 * scratch["last_iterations"]


def test_bad_parameters_are_refused_in_one_line():
    cx, cy, b = sequence(6, 2).inputs
    with pytest.raises(ValueError, match="refresh ≥ 1"):
        recycled_cg.recycled_cg(cx, cy, b, xp=xnp, refresh=0)
    with pytest.raises(ValueError, match="at least one system"):
        sequence(6, 0)
