"""Task plugin: ``inverse_root``, judging X ≈ A^(−1/p) for a symmetric positive definite A.

The family's inputs are ``(A, p)``: the n×n matrix and the root p as a Python int, so a
method always knows which root it is judged on; the sqrt-only
methods refuse p ≠ 2 with a clear error. Metrics, in float64 on the host, for the output X:

- ``residual``: ‖X^p A − I‖_F / √n;
- ``relative_error``: ‖X − X*‖_F / ‖X*‖_F against X* = U Λ^(−1/p) Uᵀ from A = U Λ Uᵀ (eigh
  in float64);
- ``symmetry_error``: ‖X − Xᵀ‖_F / ‖X‖_F.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from harness_builtins import workloads

from harness import Problem, Task, hookimpl, task


def inverse_root_metrics(problem: Problem, X: np.ndarray) -> dict[str, float]:
    A, p, exact = problem.inputs[0], problem.reference["p"], problem.reference["inverse_root"]
    n = A.shape[-1]
    residual = np.linalg.matrix_power(X, p) @ A - np.eye(n)
    return {
        "residual": float(np.linalg.norm(residual) / math.sqrt(n)),
        "relative_error": float(np.linalg.norm(X - exact) / np.linalg.norm(exact)),
        "symmetry_error": float(np.linalg.norm(X - X.T) / max(np.linalg.norm(X), 1e-300)),
    }


@task(
    name="inverse_root",
    family="preconditioner",
    size_names=("n",),
    metrics=inverse_root_metrics,
    exact="inverse_root",
    main_metric="relative_error",
)
def generate_inverse_root(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    p: Literal[2, 4] = 4,
    spectrum: Literal["logspace", "gradient", "momentum"] = "logspace",
    kappa: float = 1e3,
    layer: Literal["fc2", "fc1"] = "fc2",
    train_step: Literal[10, 1] = 10,
    workload_seed: int = 0,
) -> Problem:
    """An n×n SPD matrix A and the root p; the reference A^(−1/p) from eigh in float64.

    ``logspace``: A = U diag(λ) Uᵀ (= G Gᵀ for G = U diag(√λ)) with Haar-random U and
    eigenvalues log-spaced from 1 down to 1/kappa, so κ(A) = kappa. ``gradient`` /
    ``momentum``: Shampoo's left statistic of a real matrix G from the digits MLP
    (``harness_builtins.workloads``; ``layer``, ``train_step``, ``workload_seed`` as in the
    orthogonalize task), A = (G Gᵀ)[:n, :n] / λ_max + I / kappa: the principal n×n block of
    G Gᵀ (n ≤ 768 for fc2, ≤ 3072 for fc1), scaled to λ_max = 1, plus the damping ε I with
    ε = 1/kappa, so κ(A) ≤ kappa + 1. Real statistics have a few large eigenvalues over a
    long flat tail at ε.
    """
    n = sizes["n"]
    if spectrum == "logspace":
        U, r = np.linalg.qr(rng.standard_normal((n, n)))
        U = U * np.sign(np.diag(r))
        lam = np.logspace(0.0, -math.log10(kappa), n)
        A = (U * lam) @ U.T
    else:
        G = workloads.training_matrix(layer, spectrum, train_step, workload_seed)
        if n > G.shape[0]:
            raise ValueError(f"the {layer} statistic G Gᵀ is {G.shape[0]}×{G.shape[0]}, n = {n}")
        S = G[:n] @ G[:n].T
        A = S / np.linalg.eigvalsh(S)[-1] + np.eye(n) / kappa
    A = (A + A.T) / 2
    lam, U = np.linalg.eigh(A)
    exact = (U * lam ** (-1.0 / p)) @ U.T
    return Problem(inputs=(A, p), reference={"p": p, "inverse_root": exact})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_inverse_root]
