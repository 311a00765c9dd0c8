"""Task plugin: ``streaming_pca``, judging estimates of the top-k principal subspace of a stream of
rows, each seen once, in mini-batches.

Inputs ``(X, k, batch)``: the stream X (n × d, rows in the order they arrive), the subspace
dimension k and the mini-batch size (a method reads rows ``batch`` at a time, in order, once).
A method's output is ``(Q, samples)``: a d × k basis (orthonormal or not: it is
orthonormalised here) and ``samples`` = [rows seen]; iterative methods yield it after every
mini-batch, so each case stores a convergence curve against samples seen and seconds.

Metrics, in float64 on the host, against U, the top-k eigenvectors of the true covariance Σ:

- ``subspace_distance``: ‖(I − UUᵀ) Q̂‖₂ = sin θ_max, the sine of the largest principal angle
  between range(Q) and range(U), Q̂ an orthonormal basis of range(Q) (thin QR): 0 for the
  right subspace, 1 when some direction of Q is orthogonal to it;
- ``samples``: rows seen.

Σ is known for the spiked model; for real rows it is the second moment (1/n) XᵀX of the
(centred) rows of the whole stream, by float64 eigh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.orthogonalizers.orthogonalize_task import _random_orthonormal, real_matrix
from harness_builtins.sketches.low_rank_approx_task import digits_matrix

from harness import Problem, Task, hookimpl, task

GAP_FLOOR = 1e-9
"""The smallest relative gap (λ_k − λ_{k+1}) / λ_1 for which the top-k subspace is taken as
defined."""


def subspace_distance(Q: np.ndarray, U: np.ndarray) -> float:
    """sin θ_max between range(Q) and range(U) (U orthonormal): ‖(I − UUᵀ) orth(Q)‖₂."""
    Q_hat = np.linalg.qr(Q)[0]
    return float(min(np.linalg.norm(Q_hat - U @ (U.T @ Q_hat), 2), 1.0))


def streaming_pca_metrics(problem: Problem, output: Any) -> dict[str, float]:
    Q, samples = output if isinstance(output, tuple) else (output, np.array([np.nan]))
    U = problem.reference["top_vectors"]
    if Q.shape != U.shape:
        raise ValueError(f"the basis is {Q.shape}, expected {U.shape} (d × k)")
    return {
        "subspace_distance": subspace_distance(Q, U),
        "samples": float(np.ravel(samples)[0]),
    }


def _real_rows(data: str, n: int, d: int, layer: str) -> np.ndarray:
    if data == "digits":
        images = digits_matrix()
        if n > len(images) or d > images.shape[1]:
            raise ValueError(
                f"the digits data set has {len(images)} rows of {images.shape[1]} pixels, "
                f"asked for {n}×{d}"
            )
        return images[:n, :d]
    return real_matrix(n, d, "gradient", layer, 10, 0)


@task(
    name="streaming_pca",
    family="spectral_filter",
    size_names=("n", "d", "k"),
    metrics=streaming_pca_metrics,
    example_sizes=(64, 8, 2),
    main_metric="subspace_distance",
)
def generate_streaming_pca(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    data: Literal["spiked", "digits", "gradient"] = "spiked",
    signal: float = 4.0,
    batch: int = 32,
    layer: Literal["fc1", "fc2"] = "fc1",
) -> Problem:
    """A stream of n rows in d dimensions, k, the mini-batch size, and the true top-k
    eigenvectors.

    ``spiked``: xᵢ = √signal · U zᵢ + gᵢ with U (d × k) Haar-random orthonormal, zᵢ ~ N(0, I_k),
    gᵢ ~ N(0, I_d): Σ = I + signal · UUᵀ, eigenvalues 1 + signal (k times) and 1, gap
    ``signal``. ``digits``: the first n of scikit-learn's 1797 digits images (first d ≤ 64
    pixels); ``gradient``: the top-left n×d block of a real gradient of the digits MLP
    (``layer`` fc1 3072×768 or fc2 768×3072, step 10; its rows are gradient rows; needs torch
    the first time). Real rows are centred (the population mean taken as known), shuffled,
    and scaled so that Σ, their second moment, has λ₁ = 1 (so that a step size means the
    same on every data set).
    """
    n, d, k = sizes["n"], sizes["d"], sizes["k"]
    if not 1 <= k < d or batch < 1 or n < batch:
        raise ValueError(
            f"streaming_pca needs 1 ≤ k < d and 1 ≤ batch ≤ n; got {sizes}, batch {batch}"
        )
    if data == "spiked":
        U = _random_orthonormal(rng, d, k)
        X = np.sqrt(signal) * rng.standard_normal((n, k)) @ U.T + rng.standard_normal((n, d))
        eigenvalues = np.r_[np.full(k, 1.0 + signal), np.ones(d - k)]
    else:
        X = _real_rows(data, n, d, layer)
        X = (X - X.mean(axis=0))[rng.permutation(n)]
        X = X / max(np.linalg.norm(X, 2) / np.sqrt(n), np.finfo(float).tiny)
        eigenvalues, vectors = np.linalg.eigh(X.T @ X / n)
        eigenvalues, U = eigenvalues[::-1], vectors[:, ::-1][:, :k]
        if eigenvalues[k - 1] - eigenvalues[k] <= GAP_FLOOR * eigenvalues[0]:
            raise ValueError(
                f"the {data} rows have no gap after eigenvalue {k} ({eigenvalues[k - 1]:.3g} vs "
                f"{eigenvalues[k]:.3g}): the top-{k} subspace is not defined; change k"
            )
    reference = {"top_vectors": U, "eigenvalues": eigenvalues}
    return Problem(inputs=(X, k, batch), reference=reference)


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_streaming_pca]
