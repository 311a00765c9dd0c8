"""Method plugin: CPU reference solvers for the ``spd_solve`` task, wrapping scipy's conjugate
gradients (``scipy.sparse.linalg.cg``) with three preconditioners: Jacobi (``scipy_cg``, the
reference the shared PCG driver is measured against), incomplete LU (``ilu_cg``, scipy's
SuperLU ``spilu``) and smoothed-aggregation algebraic multigrid (``amg_cg``, pyamg).

They run on the ``numpy`` backend only (A arrives as a scipy.sparse CSR matrix or a numpy
array) and are not iterative methods in the harness's sense (scipy runs the loop): each
returns ``(x, [iterations])``, the iteration count from scipy's callback, so the task reports
their iterations and residual but no κ estimate and no convergence curve. The preconditioner's
setup (ILU factorisation, AMG hierarchy) is part of the measured time, as for the PCG methods.
See the method catalogue (METHODS.md), section 4, and docs/methods.md.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from harness_builtins.shared import diagonal

from harness import Method, hookimpl, method

REFERENCE = {
    "family": "preconditioner",
    "tasks": {"spd_solve"},
    "backends": {"numpy"},
    "dtypes": {"float32", "float64"},
}


def scipy_cg_solve(
    A: Any, b: np.ndarray, M: Any, tol: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray]:
    """scipy.sparse.linalg.cg from x₀ = 0 to ‖r‖ < tol·‖b‖ (rtol=tol, atol=0), preconditioned
    by M (a LinearOperator applying P⁻¹); the solution and its iteration count (callback
    calls) as a one-element float array."""
    from scipy.sparse.linalg import cg

    iterations = 0

    def count(_: np.ndarray) -> None:
        nonlocal iterations
        iterations += 1

    x, info = cg(A, b, rtol=tol, atol=0.0, maxiter=maxiter, M=M, callback=count)
    if info < 0:
        raise ArithmeticError(f"scipy.sparse.linalg.cg failed (info = {info})")
    return x, np.array([iterations], dtype=b.dtype)  # in the case's dtype, as every output


def _operator(A: Any, b: np.ndarray, apply: Any) -> Any:
    from scipy.sparse.linalg import LinearOperator

    return LinearOperator(A.shape, matvec=apply, dtype=b.dtype)


@method(**REFERENCE)
def scipy_cg(
    A: Any, b: Any, *, xp: Any, tol: float = 1e-8, maxiter: int = 10_000
) -> tuple[Any, Any]:
    """scipy.sparse.linalg.cg with the Jacobi preconditioner P⁻¹ = diag(A)⁻¹ (a
    LinearOperator r ↦ r / diag(A)): the reference for ``pcg_jacobi``, which runs the same
    recurrence and stopping test, so their iteration counts agree to ±1."""
    inverse_diagonal = 1 / diagonal(xp, A)
    return scipy_cg_solve(A, b, _operator(A, b, lambda r: r * inverse_diagonal), tol, maxiter)


@method(**REFERENCE)
def ilu_cg(
    A: Any,
    b: Any,
    *,
    xp: Any,
    drop_tol: float = 1e-3,
    fill_factor: float = 30.0,
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> tuple[Any, Any]:
    """CG preconditioned by an incomplete LU factorisation, scipy.sparse.linalg.spilu (SuperLU's
    threshold ILU, ILUTP: entries below ``drop_tol`` relative dropped, fill limited to
    ``fill_factor`` × nnz(A); Saad 1994), in SuperLU's symmetric mode (minimum degree on
    A + Aᵀ, diagonal pivots), so the factors stay close to an incomplete Cholesky L Lᵀ.
    They are still not exactly symmetric, and where dropping or the fill cap distorts them
    CG stalls: fill_factor = 10 in 3D, or drop_tol = 1e-2 on a 256² Poisson grid, run to
    ``maxiter`` (the case shows it as a large residual). Dense A are converted to CSC first
    (full fill)."""
    from scipy.sparse import csc_array
    from scipy.sparse.linalg import spilu

    factors = spilu(
        csc_array(A),
        drop_tol=drop_tol,
        fill_factor=fill_factor,
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return scipy_cg_solve(A, b, _operator(A, b, factors.solve), tol, maxiter)


@method(**REFERENCE, requires={"pyamg": "pip install 'linalg-harness[references]'"})
def amg_cg(
    A: Any,
    b: Any,
    *,
    xp: Any,
    cycle: Literal["V", "W", "F"] = "V",
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> tuple[Any, Any]:
    """CG preconditioned by one ``cycle`` of smoothed-aggregation algebraic multigrid (Vaněk,
    Mandel and Brezina 1996) from pyamg (``smoothed_aggregation_solver(A).aspreconditioner``,
    pyamg's defaults: symmetric strength of connection, Jacobi-smoothed prolongation,
    symmetric Gauss–Seidel smoothing), a symmetric preconditioner. Iterations barely grow
    with the grid size on Poisson problems. Needs pyamg (the ``references`` extra)."""
    import pyamg
    from scipy.sparse import csr_array

    hierarchy = pyamg.smoothed_aggregation_solver(csr_array(A))
    return scipy_cg_solve(A, b, hierarchy.aspreconditioner(cycle=cycle), tol, maxiter)


@hookimpl
def harness_methods() -> list[Method]:
    return [scipy_cg, ilu_cg, amg_cg]
