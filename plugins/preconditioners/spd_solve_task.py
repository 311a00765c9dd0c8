"""Task plugin: ``spd_solve``, judging solutions of A x = b for symmetric positive definite A.

The family's inputs are ``(A, b)``: A a scipy.sparse CSR matrix (Poisson, graph Laplacian;
each backend gets its own sparse CSR copy) or a dense array (RBF kernel), b a dense vector.
A method's output is one of

- ``(x, alphas, betas)``: a CG-type method yielding its Lanczos coefficients
  (``harness_builtins.preconditioners.pcg.pcg``);
- ``(x, [iterations])``: a solver that only reports its iteration count (the scipy
  references);
- ``x`` alone (a direct solver).

Metrics, in float64 on the host:

- ``relative_residual``: ‖b − A x‖ / ‖b‖, the true residual (not the recursively updated one);
- ``iterations``: CG steps taken (a curve point's step number, for an iterative method);
- ``kappa_estimate``: κ(P⁻¹A) ≈ θ_max/θ_min of the Lanczos matrix built from CG's α, β
  (``pcg.kappa_estimate``, beside it): a lower bound that tightens as CG converges;
  CG-type outputs only, from the second step on;
- ``forward_error``: ‖x − x*‖ / ‖x*‖ against a float64 direct solve x*, where the task could
  afford one (see ``generate_spd_solve``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.preconditioners.pcg import kappa_estimate

from harness import Problem, Task, hookimpl, task

SPARSE_DIRECT_LIMIT = 200_000
"""Largest graph Laplacian (unknowns) given a sparse direct reference solve (SuperLU, about
2 s at this size); Poisson problems use the fast sine transform at any size, RBF kernels
(at most 1797 points) a dense Cholesky solve."""


def spd_solve_metrics(problem: Problem, output: Any) -> dict[str, float]:
    x, *rest = output if isinstance(output, tuple) else (output,)
    A, b = problem.inputs[0], problem.inputs[1]
    metrics = {"relative_residual": float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))}
    if len(rest) == 2:  # CG's α and β
        alphas, betas = rest
        metrics["iterations"] = float(len(alphas))
        if len(alphas) >= 2:
            metrics["kappa_estimate"] = kappa_estimate(alphas, betas)
    elif len(rest) == 1:  # an iteration count
        metrics["iterations"] = float(rest[0][0])
    exact = problem.reference.get("solution")
    if exact is not None:
        metrics["forward_error"] = float(np.linalg.norm(x - exact) / np.linalg.norm(exact))
    return metrics


def _second_difference(m: int) -> Any:
    """The m×m Dirichlet second-difference matrix tridiag(−1, 2, −1)."""
    from scipy.sparse import diags_array

    return diags_array([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], offsets=[-1, 0, 1])


def poisson(m: int, dimensions: int) -> Any:
    """The 2·d-point finite-difference Laplacian on an m^d grid with Dirichlet boundaries
    (unscaled: 2d on the diagonal, −1 to each neighbour), Σᵢ I ⊗ … ⊗ T ⊗ … ⊗ I, as CSR.
    Eigenvalues Σᵢ 4 sin²(πkᵢ/(2(m + 1))), so κ ≈ 4(m + 1)²/π² independently of d."""
    from scipy.sparse import eye_array, kron

    T, identity = _second_difference(m), eye_array(m)
    A = None
    for axis in range(dimensions):
        term = None
        for other in range(dimensions):
            factor = T if other == axis else identity
            term = factor if term is None else kron(term, factor)
        A = term if A is None else A + term
    return A.tocsr()


def poisson_solve(b: np.ndarray, m: int, dimensions: int) -> np.ndarray:
    """The exact solution of ``poisson(m, d)`` x = b: the orthonormal DST-I diagonalises T, so
    x = S Λ⁻¹ S b with S = S⁻¹ the d-dimensional DST-I (O(n log n), float64)."""
    from scipy.fft import dstn

    shape = (m,) * dimensions
    lam_1d = 4 * np.sin(np.pi * np.arange(1, m + 1) / (2 * (m + 1))) ** 2
    lam = sum(np.meshgrid(*([lam_1d] * dimensions), indexing="ij", sparse=True))
    coefficients = dstn(b.reshape(shape), type=1, norm="ortho") / lam
    return dstn(coefficients, type=1, norm="ortho").reshape(-1)


def geometric_graph_laplacian(n: int, degree: float, rng: np.random.Generator) -> Any:
    """L = D − W of a random geometric graph: n points uniform in the unit square, an edge of
    weight 1 between points closer than r = √(degree/(πn)) (mean degree ≈ ``degree``, a bit
    less near the border), as CSR."""
    from scipy.sparse import coo_array, diags_array
    from scipy.spatial import cKDTree

    points = rng.random((n, 2))
    pairs = cKDTree(points).query_pairs(math.sqrt(degree / (math.pi * n)), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    W = coo_array((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    return (diags_array(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()


def digits_rbf_kernel(n: int, length_scale: float, rng: np.random.Generator) -> np.ndarray:
    """K_ij = exp(−‖xᵢ − xⱼ‖² / (2ℓ²)) on n images of scikit-learn's bundled digits (1797
    8×8 images, pixels scaled to [0, 1]; shipped inside scikit-learn, never downloaded),
    chosen at random without replacement."""
    from scipy.spatial.distance import pdist, squareform
    from sklearn.datasets import load_digits

    images = load_digits().data / 16.0
    if n > len(images):
        raise ValueError(f"the digits data set has {len(images)} images, n = {n}")
    X = images[np.sort(rng.choice(len(images), size=n, replace=False))]
    return np.exp(-squareform(pdist(X, "sqeuclidean")) / (2 * length_scale**2))


@task(
    name="spd_solve",
    family="preconditioner",
    size_names=("n",),
    metrics=spd_solve_metrics,
    main_metric="relative_residual",
)
def generate_spd_solve(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    matrix: Literal["poisson2d", "poisson3d", "graph_laplacian", "rbf_kernel"] = "poisson2d",
    shift: float = 1e-2,
    degree: float = 10.0,
    ridge: float = 1e-3,
    length_scale: float = 2.0,
) -> Problem:
    """A symmetric positive definite A, b ~ N(0, I) from the seed, and a float64 reference x*.

    ``poisson2d`` / ``poisson3d``: the 5- / 7-point Dirichlet Laplacian on an n×n / n×n×n
    grid (n = grid points per side; n² / n³ unknowns; sparse; κ ≈ 0.4 (n + 1)²); x* by the
    fast sine transform. ``graph_laplacian``: L + ``shift`` I for the Laplacian of a random
    geometric graph on n nodes with mean ``degree`` (sparse; κ ≈ 2 max degree / shift); x* by
    SuperLU when n ≤ 200 000, none above. ``rbf_kernel``: K + ``ridge`` I for the Gaussian
    kernel with ``length_scale`` on n ≤ 1797 digits images (dense; a few large eigenvalues over
    a fast-decaying tail, so κ ≈ λ_max(K)/ridge, 6e5 at n = 1797 with the defaults); x* by a
    dense Cholesky solve.
    """
    n = sizes["n"]
    if matrix in ("poisson2d", "poisson3d"):
        dimensions = 2 if matrix == "poisson2d" else 3
        A = poisson(n, dimensions)
        b = rng.standard_normal(A.shape[0])
        return Problem(inputs=(A, b), reference={"solution": poisson_solve(b, n, dimensions)})
    if matrix == "graph_laplacian":
        from scipy.sparse import eye_array
        from scipy.sparse.linalg import spsolve

        A = (geometric_graph_laplacian(n, degree, rng) + shift * eye_array(n)).tocsr()
        b = rng.standard_normal(n)
        exact = spsolve(A.tocsc(), b) if n <= SPARSE_DIRECT_LIMIT else None
        return Problem(inputs=(A, b), reference={"solution": exact} if exact is not None else {})
    from scipy.linalg import cho_factor, cho_solve

    A = digits_rbf_kernel(n, length_scale, rng) + ridge * np.eye(n)
    b = rng.standard_normal(n)
    return Problem(inputs=(A, b), reference={"solution": cho_solve(cho_factor(A), b)})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_spd_solve]
