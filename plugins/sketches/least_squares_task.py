"""Task plugin: ``least_squares``, judging solutions of min‖Ax − b‖₂ for a tall m×n A.

The family's inputs here are ``(A, b)``, A dense. A method's output is x, or
``(x, [iterations])`` for an iterative solver (``sketch_precondition_lsqr``).

Metrics, in float64 on the host, against x* from a float64 dense least-squares solve (LAPACK's
SVD-based gelsd through numpy.linalg.lstsq), r* = b − Ax*:

- ``residual_ratio``: ‖Ax − b‖ / ‖Ax* − b‖ − 1, computed without cancellation from
  ‖Ax − b‖² = ‖r*‖² + ‖A(x − x*)‖² (r* ⊥ range(A)): with t = ‖A(x − x*)‖²/‖r*‖², the ratio
  is t / (1 + √(1 + t)). Exact for the exact minimiser x*; below about κ(A)·10⁻¹⁶ it measures
  the reference's own rounding;
- ``forward_error``: ‖x − x*‖ / ‖x*‖;
- ``iterations``: the solver's iteration count, where it reports one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.orthogonalizers.orthogonalize_task import _random_orthonormal

from harness import Problem, Task, hookimpl, task

COHERENT_WEIGHT = 1e3
"""How much heavier the first n rows are in a ``coherent`` input, before orthonormalising."""


def least_squares_metrics(problem: Problem, output: Any) -> dict[str, float]:
    x, *rest = output if isinstance(output, tuple) else (output,)
    A = problem.inputs[0]
    exact = problem.reference["solution"]
    t = (np.linalg.norm(A @ (x - exact)) / problem.reference["residual_norm"]) ** 2
    metrics = {
        "residual_ratio": float(t / (1 + math.sqrt(1 + t))),
        "forward_error": float(np.linalg.norm(x - exact) / np.linalg.norm(exact)),
    }
    if rest:
        metrics["iterations"] = float(rest[0][0])
    return metrics


@task(
    name="least_squares",
    family="sketch",
    size_names=("m", "n"),
    metrics=least_squares_metrics,
    exact="solution",
    main_metric="residual_ratio",
)
def generate_least_squares(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    kappa: float = 1e2,
    coherence: Literal["incoherent", "coherent"] = "incoherent",
    noise: float = 1e-3,
) -> Problem:
    """A tall m×n A = U diag(σ) Vᵀ with σ log-spaced from 1 to 1/``kappa`` (condition number
    kappa), b = A x₀ + noise·‖A x₀‖·g/‖g‖ (x₀, g standard normal), and x* by a float64
    lstsq.

    ``incoherent``: U Haar-random (every row has leverage about n/m: uniform row sampling
    works). ``coherent``: U from the QR of a Gaussian matrix whose first n rows are 1000×
    heavier, so that those n rows hold almost all the leverage (uniform row sampling misses
    them: Avron et al. 2010's hard case). ``noise`` > 0 keeps b out of range(A), since the
    residual ratio divides by ‖Ax* − b‖. Sizes up to 10⁶×few hundred fit in memory; the
    reference solve then takes seconds to a minute.
    """
    m, n = sizes["m"], sizes["n"]
    if not 1 <= n < m:
        raise ValueError(f"least squares needs a tall A (1 ≤ n < m), got {m}×{n}")
    if kappa < 1 or noise <= 0:
        raise ValueError(f"need kappa ≥ 1 and noise > 0, got kappa={kappa}, noise={noise}")
    if coherence == "incoherent":
        U = _random_orthonormal(rng, m, n)
    else:
        G = rng.standard_normal((m, n))
        G[:n] *= COHERENT_WEIGHT
        U = np.linalg.qr(G)[0]
    sigma = np.logspace(0.0, -math.log10(kappa), n)
    A = (U * sigma) @ _random_orthonormal(rng, n, n).T
    signal = A @ rng.standard_normal(n)
    g = rng.standard_normal(m)
    b = signal + noise * np.linalg.norm(signal) * g / np.linalg.norm(g)
    exact = np.linalg.lstsq(A, b, rcond=None)[0]
    return Problem(
        inputs=(A, b),
        reference={"solution": exact, "residual_norm": float(np.linalg.norm(A @ exact - b))},
    )


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_least_squares]
