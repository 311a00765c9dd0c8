"""Method plugin: conjugate gradients over a sequence of related SPD systems, for the
``spd_sequence`` task (inputs ``(cx, cy, b)``, output ``(X, iterations)``; see its module):
from scratch (``cg_sequence``), or deflated by a subspace recycled from one system to the next
(``recycled_cg``). Both run the one driver, ``solve_sequence``, the first with no subspace.

Deflated CG (Saad, Yeung, Erhel, Guyomarc'h, *A deflated version of the conjugate gradient
algorithm*, SIAM J. Sci. Comput. 2000) runs CG on the A-orthogonal complement of a subspace
span(W) of approximate eigenvectors of the smallest eigenvalues: with E = WᵀAW,
x₀ = W E⁻¹ Wᵀ b, r₀ = b − A x₀ (so Wᵀr₀ = 0), p₀ = r₀ − W E⁻¹ WᵀA r₀, and each step
α = rᵀr / pᵀAp, x ← x + αp, r ← r − αAp, β = r₊ᵀr₊ / rᵀr, p ← βp + r₊ − W E⁻¹ WᵀA r₊.
The deflated eigenvalues no longer slow it: the rate follows κ of A restricted to the
complement. In exact arithmetic Wᵀr stays 0; in float32 it drifts and the iteration diverged
(measured: a 64×64 problem, residual 10⁴ after 3000 steps), so after each step c = E⁻¹Wᵀr
moves x by Wc and r by −AWc together (r stays b − Ax), two more k×n products a step.

Recycling (Parks, de Sturler et al., *Recycling Krylov subspaces for sequences of
linear systems*, SIAM J. Sci. Comput. 2006; for neural-operator data: Wang et al., ICLR 2024)
carries W along the sequence: after a system, the Rayleigh–Ritz procedure on span(W and the
first ``directions`` search directions of that solve) gives the ``subspace`` Ritz vectors of
the smallest Ritz values, the next W. Over the sequence they converge towards the smallest
eigenvectors, as long as the matrices drift slowly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from array_api_compat import device as array_device
from harness_builtins.preconditioners.spd_sequence_task import poisson_stencil
from harness_builtins.shared import DTYPES

from harness import Method, hookimpl, method

Operator = Callable[[Any], Any]


def deflated_cg(
    xp: Any,
    apply: Operator,
    b: Any,
    W: Any | None,
    *,
    tol: float,
    maxiter: int,
    directions: int,
) -> tuple[Any, int, list[Any]]:
    """Deflated CG (module docstring) for A x = b on flat vectors, W (k × n, its rows the
    basis) or None (plain CG from x₀ = 0). Stops when ‖r‖ < ``tol``‖b‖ (the recursive
    residual) or after ``maxiter`` steps. Returns x, the steps taken and the first
    ``directions`` search directions p."""
    if W is not None:
        AW = apply(W)
        E_inverse = xp.linalg.inv(W @ AW.T)

        def project(v: Any) -> Any:  # W E⁻¹ WᵀA v
            return (E_inverse @ (AW @ v)) @ W

        x = (E_inverse @ (W @ b)) @ W
        r = b - apply(x)
        p = r - project(r)
    else:
        x, r = xp.zeros_like(b), xp.asarray(b, copy=True)
        p = xp.asarray(r, copy=True)
    threshold = tol * tol * float(b @ b)
    rr = r @ r
    kept: list[Any] = []
    steps = 0
    while float(rr) >= threshold and steps < maxiter:
        if len(kept) < directions:
            kept.append(p)
        q = apply(p)
        alpha = rr / (p @ q)
        x = x + alpha * p
        r = r - alpha * q
        if W is not None:  # keep Wᵀr = 0 against rounding: x, r moved by W E⁻¹ Wᵀr together
            c = E_inverse @ (W @ r)
            x, r = x + c @ W, r - c @ AW
        rr_next = r @ r
        p = (rr_next / rr) * p + r
        if W is not None:
            p = p - project(r)
        rr = rr_next
        steps += 1
    return x, steps, kept


def ritz_subspace(xp: Any, apply: Operator, basis: Any, size: int) -> Any:
    """The ``size`` Ritz vectors of the smallest Ritz values of A on the span of the rows of
    ``basis``, as rows: Q from a QR of the basis, eigh of QᵀAQ."""
    Q, _ = xp.linalg.qr(basis.T)
    T = Q.T @ apply(Q.T).T
    _, Y = xp.linalg.eigh((T + T.T) / 2)
    return (Q @ Y[:, :size]).T


def solve_sequence(
    xp: Any,
    cx: Any,
    cy: Any,
    b: Any,
    *,
    subspace: int,
    directions: int,
    refresh: int,
    tol: float,
    maxiter: int,
) -> tuple[Any, Any]:
    """Each system of the sequence by deflated CG with the recycled W (none while
    ``subspace`` is 0, and for the first system); W rebuilt by ``ritz_subspace`` after every
    ``refresh``-th system, from W and the solve's first ``directions`` search directions.
    ``tol`` is raised to 10 ε of the working precision (1.2e-6 in float32): the projection
    feeds rounding back into every step, so deflated CG's residual stalls near it where plain
    CG's recursive residual would drift on below the true one."""
    if subspace < 0 or directions < 0 or refresh < 1 or maxiter < 1:
        raise ValueError(
            f"need subspace ≥ 0, directions ≥ 0, refresh ≥ 1, maxiter ≥ 1; got {subspace}, "
            f"{directions}, {refresh}, {maxiter}"
        )
    T, m, _ = b.shape
    tol = max(tol, 10 * float(xp.finfo(b.dtype).eps))  # below it, deflated CG stagnates
    W = None
    solutions, iterations = [], []
    for t in range(T):

        def apply(u: Any, t: int = t) -> Any:  # A_t on flat vectors (or the rows of a matrix)
            grids = xp.reshape(u, (*u.shape[:-1], m, m))
            return xp.reshape(poisson_stencil(cx[t, ...], cy[t, ...], grids), u.shape)

        keep = directions if subspace else 0
        x, steps, kept = deflated_cg(
            xp, apply, xp.reshape(b[t, ...], (-1,)), W, tol=tol, maxiter=maxiter, directions=keep
        )
        solutions.append(xp.reshape(x, (m, m)))
        iterations.append(steps)
        if subspace and t % refresh == 0 and (kept or W is not None):
            basis = xp.stack(kept) if kept else None
            if W is not None:
                basis = W if basis is None else xp.concat([W, basis])
            W = ritz_subspace(xp, apply, basis, subspace)
    counts = xp.asarray(iterations, dtype=b.dtype, device=array_device(b))  # the case's dtype
    return xp.stack(solutions), counts


@method(family="preconditioner", tasks={"spd_sequence"}, dtypes=DTYPES)
def cg_sequence(
    cx: Any, cy: Any, b: Any, *, xp: Any, tol: float = 1e-8, maxiter: int = 10_000
) -> Any:
    """Conjugate gradients from scratch (x₀ = 0) on each system of the sequence, to a
    relative (recursive) residual ``tol``: the baseline recycling is measured against."""
    return solve_sequence(
        xp, cx, cy, b, subspace=0, directions=0, refresh=1, tol=tol, maxiter=maxiter
    )


@method(family="preconditioner", tasks={"spd_sequence"}, dtypes=DTYPES)
def recycled_cg(
    cx: Any,
    cy: Any,
    b: Any,
    *,
    xp: Any,
    subspace: int = 8,
    directions: int = 24,
    refresh: int = 1,
    tol: float = 1e-8,
    maxiter: int = 10_000,
) -> Any:
    """Deflated CG with a recycled subspace (Saad et al. 2000; Parks et al. 2006; Wang et al.,
    ICLR 2024): the ``subspace`` Ritz vectors of the smallest Ritz values, refreshed after
    every ``refresh``-th system by Rayleigh–Ritz on the old subspace and the solve's first
    ``directions`` search directions (module docstring). Each solve costs ``subspace`` extra
    operator applications (AW) and two k-vectors of inner products a step; a refresh costs
    ``subspace`` + ``directions`` applications and a QR."""
    return solve_sequence(
        xp,
        cx,
        cy,
        b,
        subspace=subspace,
        directions=directions,
        refresh=refresh,
        tol=tol,
        maxiter=maxiter,
    )


@hookimpl
def harness_methods() -> list[Method]:
    return [cg_sequence, recycled_cg]
