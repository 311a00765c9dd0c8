"""Task plugin: ``trace_estimation``, judging estimates of tr(A) for a symmetric positive
semidefinite n×n A.

The family's input here is ``(A,)``; a method returns its estimate (a 0-d or one-element
array). Metric, in float64 on the host: ``relative_error`` |t̂ − tr(A)| / tr(A), against the
exact trace Σᵢ λᵢ of the generated spectrum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.orthogonalizers.orthogonalize_task import _random_orthonormal

from harness import Problem, Task, hookimpl, task


def trace_estimation_metrics(problem: Problem, output: Any) -> dict[str, float]:
    estimate = np.asarray(output, dtype=np.float64)
    if estimate.size != 1:
        raise ValueError(f"a trace estimate is one number, got an array of shape {estimate.shape}")
    trace = problem.reference["trace"]
    return {"relative_error": float(abs(estimate.item() - trace) / trace)}


@task(
    name="trace_estimation",
    family="sketch",
    size_names=("n",),
    metrics=trace_estimation_metrics,
    exact="trace",
    main_metric="relative_error",
)
def generate_trace_estimation(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    spectrum: Literal["polynomial", "exponential", "flat"] = "polynomial",
    exponent: float = 2.0,
    rate: float = 0.1,
) -> Problem:
    """A dense symmetric positive semidefinite A = U diag(λ) Uᵀ (U Haar-random) and its exact
    trace Σλᵢ.

    ``polynomial``: λᵢ = i^(−exponent) (exponent 2: the top 10 eigenvalues hold 95% of the
    trace, where Hutch++'s deflation pays). ``exponential``: λᵢ = exp(−rate·(i − 1)).
    ``flat``: λᵢ uniform in [1, 2] (no dominant subspace: Hutch++ has nothing to deflate and
    spends a third of its products for nothing).
    """
    n = sizes["n"]
    i = np.arange(1, n + 1, dtype=np.float64)
    if spectrum == "polynomial":
        eigenvalues = i**-exponent
    elif spectrum == "exponential":
        eigenvalues = np.exp(-rate * (i - 1))
    else:
        eigenvalues = rng.uniform(1.0, 2.0, n)
    U = _random_orthonormal(rng, n, n)
    A = (U * eigenvalues) @ U.T
    A = (A + A.T) / 2
    return Problem(inputs=(A,), reference={"trace": float(np.trace(A))})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_trace_estimation]
