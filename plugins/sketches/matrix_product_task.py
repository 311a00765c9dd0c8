"""Task plugin: ``matrix_product``, approximating Aᵀ B by (S A)ᵀ (S B).

A (m×n) and B (m×p) are sketched with one S, so that the two sketches are coordinated: the
same rows (sampling sketches), hash buckets (CountSketch) or Gaussian rows (a shared seed)
act on A and on B. The family's inputs are ``(C, s)`` with C = [A B] side by side (dense,
or scipy.sparse CSR, which each backend gets as its sparse CSR matrix) and s the sketch
size; a method returns S C, and the metrics split it back into S A and S B. One call of
the sketch on C is the same as two calls with the same seed, one on A and one on B.

The product (S A)ᵀ (S B) (2 s n p flops, the same for every sketch) is formed by the metric
on the host in float64, so a method's time is the sketch's alone.

Metrics, in float64 on the host:

- ``error``: ‖AᵀB − (SA)ᵀ(SB)‖_F / (‖A‖_F ‖B‖_F), the normalisation of the approximate
  matrix-multiplication bounds (E[error²] ≤ 2/s for a Gaussian or CountSketch S; Woodruff,
  "Sketching as a tool for numerical linear algebra" 2014, §2.3);
- ``product_relative_error``: ‖AᵀB − (SA)ᵀ(SB)‖_F / ‖AᵀB‖_F (large when AᵀB is small);
- ``rows``: rows of the output (s, or what a sampling sketch kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from harness import Problem, Task, hookimpl, task


def matrix_product_metrics(problem: Problem, SC: np.ndarray) -> dict[str, float]:
    n = problem.reference["n"]
    product = problem.reference["product"]
    width = problem.inputs[0].shape[1]
    if SC.ndim != 2 or SC.shape[1] != width:
        raise ValueError(f"output has shape {SC.shape}, expected (s, {width})")
    residual = np.linalg.norm(product - SC[:, :n].T @ SC[:, n:])
    return {
        "error": float(residual / problem.reference["norms"]),
        "product_relative_error": float(residual / np.linalg.norm(product)),
        "rows": float(SC.shape[0]),
    }


@task(
    name="matrix_product",
    family="sketch",
    size_names=("m", "n", "p"),
    metrics=matrix_product_metrics,
    example_sizes=(512, 16, 4),
    main_metric="error",
)
def generate_matrix_product(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    matrix: Literal["gaussian", "correlated", "heavy_rows", "sparse"] = "gaussian",
    s: int = 256,
    density: float = 0.01,
) -> Problem:
    """Inputs (C, s): C = [A B] with A m×n and B m×p, and the sketch size s (a list sweeps it).

    ``gaussian``: A, B independent Gaussian. ``correlated``: B = A W + 0.1 G (W n×p Gaussian
    / √n), so AᵀB is large. ``heavy_rows``: A and B Gaussian with rows scaled by one shared
    log-normal factor e^{2z} (z ~ N(0, 1)): a few rows carry most of AᵀB, which uniform
    sampling misses and norm- or leverage-based sampling finds. ``sparse``: A and B
    independent scipy.sparse matrices with ``density``·m·(n + p) N(0, 1) entries at uniformly
    random positions (CSR).
    """
    m, n, p = sizes["m"], sizes["n"], sizes["p"]
    if s < 1:
        raise ValueError(f"sketch size s must be a positive integer, got {s}")
    if matrix == "sparse":
        from scipy.sparse import hstack
        from scipy.sparse import random_array as sparse_random

        if not 0 < density <= 1:
            raise ValueError(f"density must lie in (0, 1], got {density}")
        A = sparse_random(
            (m, n), density=density, format="csr", rng=rng, data_sampler=rng.standard_normal
        )
        B = sparse_random(
            (m, p), density=density, format="csr", rng=rng, data_sampler=rng.standard_normal
        )
        C = hstack([A, B], format="csr")
        product = (A.T @ B).toarray()
        norms = np.sqrt(A.multiply(A).sum() * B.multiply(B).sum())
    else:
        A = rng.standard_normal((m, n))
        if matrix == "correlated":
            B = A @ rng.standard_normal((n, p)) / np.sqrt(n) + 0.1 * rng.standard_normal((m, p))
        else:
            B = rng.standard_normal((m, p))
        if matrix == "heavy_rows":
            scales = np.exp(2 * rng.standard_normal(m))[:, None]
            A, B = scales * A, scales * B
        C = np.hstack([A, B])
        product = A.T @ B
        norms = np.linalg.norm(A) * np.linalg.norm(B)
    return Problem(inputs=(C, s), reference={"n": n, "product": product, "norms": float(norms)})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_matrix_product]
