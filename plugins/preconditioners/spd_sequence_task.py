"""Task plugin: ``spd_sequence``, judging solvers of a sequence of related SPD systems
A₁x₁ = b₁, …, A_T x_T = b_T, as when generating training data for a neural operator (Wang et
al., *Accelerating Data Generation for Neural Operators via Krylov Subspace Recycling*, ICLR
2024): variable-coefficient Poisson problems −∇·(a_t ∇u) = f_t on the unit square, zero on
the boundary, whose coefficient fields a_t drift slowly from one system to the next.

The family's inputs are ``(cx, cy, b)``: the coefficients of the T operators on the edges of
an m×m grid of unknowns, cx (T × (m+1) × m) on the edges between vertical neighbours (the
first and last row of edges reach the boundary), cy (T × m × (m+1)) between horizontal ones,
and the right-hand sides b (T × m × m). Operator t is the 5-point stencil

    (A_t u)ᵢⱼ = Σ over the four edges e of (i, j) of c_e (uᵢⱼ − u_neighbour)

with u = 0 outside the grid (``poisson_stencil``, written against ``xp``: no sparse matrices
needed, so it runs on every backend). A method returns ``(X, iterations)``: the T solutions
(T × m × m) and the iterations each took (T).

Metrics, in float64 on the host:

- ``total_iterations``: the sum over the sequence (the time is the harness's);
- ``first_iterations``, ``last_iterations``: the first and the last system's (recycling
  needs a few systems to pay off);
- ``max_relative_residual``: maxₜ ‖b_t − A_t x_t‖ / ‖b_t‖, the true residuals;
- ``max_forward_error``: maxₜ ‖x_t − x_t*‖ / ‖x_t*‖ against sparse direct solves (SuperLU) in
  float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as array_device

from harness import Problem, Task, hookimpl, task


def poisson_stencil(cx: Any, cy: Any, u: Any) -> Any:
    """A u for the variable-coefficient 5-point operator of the module docstring, on a stack of
    grids u (..., m, m) with edge coefficients cx ((m+1) × m) and cy (m × (m+1)) (or stacks
    of them broadcasting with u); zero Dirichlet boundary. Array API only."""
    xp = array_namespace(u)
    *batch, m, _ = u.shape
    zeros_row = xp.zeros((*batch, 1, m), dtype=u.dtype, device=array_device(u))
    padded = xp.concat([zeros_row, u, zeros_row], axis=-2)
    flux_x = cx * (padded[..., 1:, :] - padded[..., :-1, :])
    zeros_col = xp.zeros((*batch, m, 1), dtype=u.dtype, device=array_device(u))
    padded = xp.concat([zeros_col, u, zeros_col], axis=-1)
    flux_y = cy * (padded[..., :, 1:] - padded[..., :, :-1])
    return (flux_x[..., :-1, :] - flux_x[..., 1:, :]) + (flux_y[..., :, :-1] - flux_y[..., :, 1:])


def _sparse_operator(cx: np.ndarray, cy: np.ndarray) -> Any:
    """The same operator as a scipy CSR matrix (for the reference solves)."""
    from scipy.sparse import diags_array

    m = cy.shape[0]
    diagonal = (cx[:-1] + cx[1:] + cy[:, :-1] + cy[:, 1:]).reshape(-1)
    down = np.zeros((m, m))
    down[:-1] = cx[1:-1]  # coupling (i, j)–(i+1, j)
    right = np.zeros((m, m))
    right[:, :-1] = cy[:, 1:-1]  # coupling (i, j)–(i, j+1)
    off_down, off_right = -down.reshape(-1)[:-m], -right.reshape(-1)[:-1]
    return diags_array(
        [diagonal, off_down, off_down, off_right, off_right], offsets=[0, m, -m, 1, -1]
    ).tocsr()


def spd_sequence_metrics(problem: Problem, output: Any) -> dict[str, float]:
    X, iterations = output
    cx, cy, b = problem.inputs
    if X.shape != b.shape:
        raise ValueError(f"solutions have shape {X.shape}, expected {b.shape}")
    residuals = [
        np.linalg.norm(b[t] - poisson_stencil(cx[t], cy[t], X[t])) / np.linalg.norm(b[t])
        for t in range(b.shape[0])
    ]
    exact = problem.reference["solutions"]
    errors = [np.linalg.norm(X[t] - exact[t]) / np.linalg.norm(exact[t]) for t in range(len(X))]
    iterations = np.asarray(iterations).reshape(-1)
    return {
        "total_iterations": float(np.sum(iterations)),
        "first_iterations": float(iterations[0]),
        "last_iterations": float(iterations[-1]),
        "max_relative_residual": float(max(residuals)),
        "max_forward_error": float(max(errors)),
    }


def smooth_field(rng: np.random.Generator, m: int, modes: int = 4) -> np.ndarray:
    """A smooth random field on the (m+2)×(m+2) grid of nodes (the boundary included):
    Σ_{k,l ≤ modes} ξ_kl sin(kπx) sin(lπy)/(k² + l²), ξ standard normal, scaled to unit
    maximum magnitude."""
    x = np.linspace(0.0, 1.0, m + 2)
    field = np.zeros((m + 2, m + 2))
    for k in range(1, modes + 1):
        for j in range(1, modes + 1):
            weight = rng.standard_normal() / (k * k + j * j)
            field += weight * np.outer(np.sin(k * math.pi * x), np.sin(j * math.pi * x))
    return field / np.max(np.abs(field))


@task(
    name="spd_sequence",
    family="preconditioner",
    size_names=("n", "systems"),
    metrics=spd_sequence_metrics,
    example_sizes=(6, 3),
    main_metric="max_relative_residual",
)
def generate_spd_sequence(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    contrast: float = 3.0,
    drift: float = 0.05,
) -> Problem:
    """T = ``systems`` variable-coefficient Poisson problems on an n×n grid of unknowns.

    a_t = exp(``contrast`` · (cos θ_t φ₁ + sin θ_t φ₂)) at the grid's nodes, θ_t = t ·
    ``drift`` (radians), φ₁, φ₂ independent smooth random fields (``smooth_field``): a
    log-normal-like coefficient with contrast up to e^(2·contrast), rotating slowly from one
    field to the other. Edge coefficients are the arithmetic means of their two nodes'. The
    right-hand sides f_t are independent smooth fields (drawn as φ, scaled by (n+1)⁻² so
    that x has order-one entries). The reference solutions come from SuperLU in float64.
    """
    n, T = sizes["n"], sizes["systems"]
    if n < 2 or T < 1:
        raise ValueError(f"need n ≥ 2 and at least one system, got n = {n}, systems = {T}")
    phi1, phi2 = smooth_field(rng, n), smooth_field(rng, n)
    cx, cy, b, exact = [], [], [], []
    for t in range(T):
        theta = t * drift
        a = np.exp(contrast * (math.cos(theta) * phi1 + math.sin(theta) * phi2))
        cx.append((a[:-1, 1:-1] + a[1:, 1:-1]) / 2)
        cy.append((a[1:-1, :-1] + a[1:-1, 1:]) / 2)
        b.append(smooth_field(rng, n)[1:-1, 1:-1] / (n + 1) ** 2)
    from scipy.sparse.linalg import spsolve

    for t in range(T):
        exact.append(spsolve(_sparse_operator(cx[t], cy[t]).tocsc(), b[t].reshape(-1)))
    return Problem(
        inputs=(np.stack(cx), np.stack(cy), np.stack(b)),
        reference={"solutions": np.stack(exact).reshape(T, n, n)},
    )


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_spd_sequence]
