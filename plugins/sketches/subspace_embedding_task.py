"""Task plugin: ``subspace_embedding``, how well a sketch S preserves an n-dimensional subspace.

S (s×m) is an ε-subspace embedding of range(A) when ‖S x‖ ∈ [(1 − ε)‖x‖, (1 + ε)‖x‖] for
every x in range(A); with U an orthonormal basis of range(A) that is |σᵢ(S U) − 1| ≤ ε for
all i. So the thing sketched is U itself: the family's inputs are ``(U, s)``, U an m×n
matrix with orthonormal columns (computed in float64 from the generated A, then cast) and s
the sketch size, and a method returns S U. Sketching U rather than A keeps the metric free of
A's conditioning, which float32 rounding of S A would otherwise mix in (σ(S A R⁻¹) for
A = QR loses about κ(A)·u); range(A) is all that matters to the embedding.

Metrics, in float64 on the host, from the singular values σ₁ ≥ … ≥ σₙ of the output S U
(σᵢ = 0 past its row count):

- ``distortion``: max |σᵢ(S U) − 1|, the ε above (1 when S misses a direction);
- ``epsilon_squared``: max |σᵢ² − 1|, the ε of the squared-norm form (1 ± ε)‖x‖²;
- ``sigma_min`` and ``sigma_max``;
- ``sketched_condition``: σ₁/σₙ = κ(A R⁻¹) for R from a QR of S A, the condition number
  sketch-and-precondition least squares (Blendenpik, LSRN) iterates on; absent when σₙ = 0;
- ``rows``: rows of the output (s, or what a sampling sketch kept).

The main metric is ``distortion``; ``sigma_min`` is higher-is-better (a direction lost when it
falls), every other metric lower-is-better (``rows`` too: a smaller sketch is cheaper).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from harness import Problem, Task, hookimpl, task


def subspace_embedding_metrics(problem: Problem, SU: np.ndarray) -> dict[str, float]:
    n = problem.inputs[0].shape[1]
    if SU.ndim != 2 or SU.shape[1] != n:
        raise ValueError(f"output has shape {SU.shape}, expected (s, {n})")
    sigma = np.zeros(n)
    computed = np.linalg.svd(SU, compute_uv=False)
    sigma[: len(computed)] = computed
    metrics = {
        "distortion": float(np.max(np.abs(sigma - 1.0))),
        "epsilon_squared": float(np.max(np.abs(sigma**2 - 1.0))),
        "sigma_min": float(sigma[-1]),
        "sigma_max": float(sigma[0]),
        "rows": float(SU.shape[0]),
    }
    if sigma[-1] > 0:
        metrics["sketched_condition"] = float(sigma[0] / sigma[-1])
    return metrics


def orthonormal_basis(A: np.ndarray) -> np.ndarray:
    """An orthonormal basis of range(A) (full column rank): Q of a thin QR in float64."""
    return np.linalg.qr(A)[0]


def graded_rows(m: int, n: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """A = D G: a Gaussian G with its rows scaled by D, log-spaced from 1 down to 1/κ in a
    random order. κ(A) grows with κ, and so does the spread of U's leverage scores (the large
    rows carry range(A)), which is what a sampling sketch feels."""
    scales = np.logspace(0, -math.log10(kappa), m)[rng.permutation(m)]
    return scales[:, None] * rng.standard_normal((m, n))


def spiky_rows(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian m×n matrix whose n rows at random positions are replaced by 10√m·eⱼ
    (row rⱼ spikes in column j): each spike row has leverage ≈ 100/101, so uniform sampling
    misses a direction unless it happens to pick all n of those rows (s ≳ m)."""
    A = rng.standard_normal((m, n))
    spikes = rng.choice(m, size=n, replace=False)
    A[spikes] = 0.0
    A[spikes, np.arange(n)] = 10 * math.sqrt(m)
    return A


def disjoint_sparse_basis(m: int, n: int, density: float, rng: np.random.Generator) -> Any:
    """A sparse m×n U with orthonormal columns: each row is nonzero with probability
    ``density``, in one uniformly random column (every column gets at least one row), with
    N(0, 1) values, and each column is normalised. Disjoint column supports make UᵀU = I
    exactly; leverage scores are the squared entries. CSR, density·m nonzeros."""
    from scipy.sparse import csr_array

    count = max(n, round(density * m))
    rows = np.sort(rng.choice(m, size=count, replace=False))
    cols = np.concatenate([rng.permutation(n), rng.integers(0, n, size=count - n)])
    cols = cols[rng.permutation(count)]
    values = rng.standard_normal(count)
    norms = np.sqrt(np.bincount(cols, weights=values**2, minlength=n))
    return csr_array((values / norms[cols], (rows, cols)), shape=(m, n))


@task(
    name="subspace_embedding",
    family="sketch",
    size_names=("m", "n"),
    metrics=subspace_embedding_metrics,
    main_metric="distortion",
    higher_is_better=("sigma_min",),
)
def generate_subspace_embedding(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    matrix: Literal["gaussian", "ill_conditioned", "coherent", "sparse"] = "gaussian",
    s: int = 0,
    kappa: float = 1e6,
    density: float = 0.01,
) -> Problem:
    """Inputs (U, s): an orthonormal basis U (m×n, m ≥ n) of range(A), and the sketch size s
    (0, the default, means 4n; a list sweeps it).

    ``gaussian``: A Gaussian (incoherent: leverage scores all ≈ n/m). ``ill_conditioned``:
    A = D G with row scales log-spaced over [1/``kappa``, 1] (``graded_rows``).
    ``coherent``: n spike rows of leverage ≈ 1 among Gaussian ones, where uniform sampling
    fails (``spiky_rows``). ``sparse``: a scipy.sparse U with disjoint column supports and
    ``density``·m nonzeros (``disjoint_sparse_basis``), which each backend gets as its
    sparse CSR matrix.
    """
    m, n = sizes["m"], sizes["n"]
    if n > m:
        raise ValueError(f"subspace_embedding needs m ≥ n, got m = {m}, n = {n}")
    if s < 0:
        raise ValueError(f"sketch size s must be positive (0 for 4n), got {s}")
    s = s or 4 * n
    if matrix == "sparse":
        if not 0 < density <= 1:
            raise ValueError(f"density must lie in (0, 1], got {density}")
        return Problem(inputs=(disjoint_sparse_basis(m, n, density, rng), s))
    if matrix == "gaussian":
        A = rng.standard_normal((m, n))
    elif matrix == "ill_conditioned":
        A = graded_rows(m, n, kappa, rng)
    else:
        A = spiky_rows(m, n, rng)
    return Problem(inputs=(orthonormal_basis(A), s))


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_subspace_embedding]
