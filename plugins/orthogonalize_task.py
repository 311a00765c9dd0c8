"""Task plugin: ``orthogonalize``, judging how close a method's output is to the polar factor.

Metrics, all in float64 on the host, for the m×n output Q (k = min(m, n)):

- ``orthogonality_error``: ‖QᵀQ − I‖_F / √k (QQᵀ when Q is wide);
- ``max_sigma_error``: max |σᵢ(Q) − 1|;
- ``polar_distance``: ‖Q − UVᵀ‖_F / ‖UVᵀ‖_F against the exact polar factor of the input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np

from harness import Problem, Task, hookimpl, task


def orthogonalize_metrics(problem: Problem, Q: np.ndarray) -> dict[str, float]:
    m, n = Q.shape
    gram = Q.T @ Q if m >= n else Q @ Q.T
    k = min(m, n)
    sigma = np.linalg.svd(Q, compute_uv=False)
    polar = problem.reference["polar"]
    return {
        "orthogonality_error": float(np.linalg.norm(gram - np.eye(k)) / math.sqrt(k)),
        "max_sigma_error": float(np.max(np.abs(sigma - 1.0))),
        "polar_distance": float(np.linalg.norm(Q - polar) / np.linalg.norm(polar)),
    }


def _random_orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))  # Haar-distributed: fix the signs QR leaves free


@task(
    name="orthogonalize",
    family="orthogonalizer",
    size_names=("m", "n"),
    metrics=orthogonalize_metrics,
)
def generate_orthogonalize(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    spectrum: Literal["gaussian", "logspace"] = "gaussian",
    kappa: float = 100.0,
) -> Problem:
    """An m×n matrix G with a chosen singular spectrum, and its exact polar factor.

    ``gaussian``: i.i.d. N(0, 1) entries. ``logspace``: G = U diag(s) Vᵀ with Haar-random
    U, V and singular values log-spaced from 1 down to 1/kappa (condition number kappa).
    """
    m, n = sizes["m"], sizes["n"]
    if spectrum == "gaussian":
        G = rng.standard_normal((m, n))
    else:
        k = min(m, n)
        s = np.logspace(0.0, -math.log10(kappa), k)
        G = (_random_orthonormal(rng, m, k) * s) @ _random_orthonormal(rng, n, k).T
    U, _, Vh = np.linalg.svd(G, full_matrices=False)
    return Problem(inputs=(G,), reference={"polar": U @ Vh})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_orthogonalize]
