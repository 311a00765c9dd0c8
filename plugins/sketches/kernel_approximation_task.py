"""Task plugin: ``kernel_approximation``, judging random feature maps Φ with
Φ(X) Φ(X)ᵀ ≈ K, the n×n kernel matrix of n points X (n×d).

Inputs ``(X, features, kernel)``: the points (scaled by the task, see the generator), the
number m of random directions (the third size, so that flop models see it) and the kernel,
``"rbf"`` K(x, y) = exp(−‖x − y‖²/2) or ``"softmax"`` K(x, y) = exp(xᵀy). A method returns
Φ(X) (n × F, F = 2m or m); K̂ = ΦΦᵀ.

Metrics, in float64 on the host, against the exact K in float64:

- ``frobenius_error``: ‖K̂ − K‖_F / ‖K‖_F;
- ``spectral_error``: ‖K̂ − K‖₂ / ‖K‖₂;
- ``downstream_error``: the error of what the kernel feeds. For ``rbf``, kernel ridge
  regression: fitted on a random half of the points (the train rows), predicting the other
  half, ŷ = K̂_te,tr (K̂_tr,tr + λ n_tr I)⁻¹ y_tr against the same with K, relative (Frobenius)
  error, λ = ``ridge``. For ``softmax``, (non-causal) attention as linear attention computes
  it (Katharopoulos et al. 2020; Performer): D̂⁻¹ K̂ V with D̂ = diag(K̂ 1), against softmax
  attention D⁻¹ K V, relative Frobenius error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins.orthogonalizers.orthogonalize_task import real_matrix
from harness_builtins.sketches.low_rank_approx_task import spectral_norm

from harness import Problem, Task, hookimpl, task

VALUE_COLUMNS = 8
"""Columns of the random values V (synthetic and gradient points) and regression targets."""


def exact_kernel(X: np.ndarray, kernel: str) -> np.ndarray:
    """K in float64: exp(−‖xᵢ − xⱼ‖²/2) (``rbf``) or exp(xᵢᵀxⱼ) (``softmax``)."""
    gram = X @ X.T
    if kernel == "softmax":
        return np.exp(gram)
    norms = np.diag(gram)
    return np.exp(np.minimum(gram - (norms[:, None] + norms[None, :]) / 2, 0.0))


def ridge_predictions(K: np.ndarray, y: np.ndarray, train: np.ndarray, ridge: float) -> np.ndarray:
    """Kernel ridge predictions on the rows outside ``train``: K_te,tr (K_tr,tr + λ n_tr I)⁻¹ y."""
    test = np.setdiff1d(np.arange(len(K)), train)
    system = K[np.ix_(train, train)] + ridge * len(train) * np.eye(len(train))
    return K[np.ix_(test, train)] @ np.linalg.solve(system, y[train])


def attention(K: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Row-normalised attention D⁻¹ K V, D = diag(K 1)."""
    return (K @ V) / K.sum(axis=1, keepdims=True)


def downstream(K: np.ndarray, reference: Mapping[str, Any]) -> np.ndarray:
    """What the kernel feeds: kernel ridge predictions (rbf) or the attention output (softmax)."""
    if reference["kernel"] == "rbf":
        return ridge_predictions(K, reference["targets"], reference["train"], reference["ridge"])
    return attention(K, reference["targets"])


def kernel_approximation_metrics(problem: Problem, output: Any) -> dict[str, float]:
    Phi = np.asarray(output)
    K = problem.reference["kernel_matrix"]
    if Phi.ndim != 2 or Phi.shape[0] != K.shape[0]:
        raise ValueError(f"the features are {Phi.shape}, expected {K.shape[0]} rows (one a point)")
    K_hat = Phi @ Phi.T
    exact_output = problem.reference["downstream"]
    return {
        "frobenius_error": float(np.linalg.norm(K_hat - K) / np.linalg.norm(K)),
        "spectral_error": spectral_norm(K_hat - K) / problem.reference["kernel_norm"],
        "downstream_error": float(
            np.linalg.norm(downstream(K_hat, problem.reference) - exact_output)
            / np.linalg.norm(exact_output)
        ),
    }


def _points(
    source: str, n: int, d: int, rng: np.random.Generator, gradient_layer: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """n points in d dimensions, before scaling, and the digits' labels where there are some."""
    if source == "gaussian":
        return rng.standard_normal((n, d)), None
    if source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()  # shipped inside scikit-learn, never downloaded
        images = digits.data / 16.0
        if n > len(images) or d > images.shape[1]:
            raise ValueError(
                f"the digits data set has {len(images)} points in {images.shape[1]} dimensions, "
                f"asked for {n}×{d}"
            )
        rows = np.sort(rng.choice(len(images), size=n, replace=False))
        return images[rows, :d], digits.target[rows]
    return real_matrix(n, d, "gradient", gradient_layer, 10, 0), None


def _targets(X: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Regression targets (rbf) or attention values (softmax): the digits' one-hot labels,
    centred; else cos and sin of ``VALUE_COLUMNS``/2 random projections Xg, g ~ N(0, I)
    (smooth functions of the points)."""
    if labels is not None:
        onehot = np.eye(10)[labels]
        return onehot - onehot.mean(axis=0)
    G = rng.standard_normal((X.shape[1], VALUE_COLUMNS // 2))
    return np.concatenate([np.cos(X @ G), np.sin(X @ G)], axis=1)


@task(
    name="kernel_approximation",
    family="sketch",
    size_names=("n", "d", "features"),
    metrics=kernel_approximation_metrics,
    example_sizes=(32, 8, 16),
    main_metric="frobenius_error",
)
def generate_kernel_approximation(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    kernel: Literal["rbf", "softmax"] = "rbf",
    data: Literal["gaussian", "digits", "gradient"] = "gaussian",
    radius: float = 1.0,
    ridge: float = 1e-3,
    layer: Literal["fc1", "fc2"] = "fc1",
) -> Problem:
    """n points X (n×d), the number of random directions m = ``features``, the kernel, and
    the exact kernel matrix K with what it feeds.

    ``data``: ``gaussian`` (i.i.d. N(0, 1) entries), ``digits`` (n of scikit-learn's 1797
    8×8 images at random, the first d ≤ 64 pixels), ``gradient`` (the top-left n×d block of a
    real gradient of the digits MLP, ``layer`` fc1 3072×768 or fc2 768×3072, step 10: rows
    are gradient rows; needs torch the first time). Real points are centred; then every point
    is scaled to length ``radius`` (a zero row stays zero), as normalised queries and keys
    are: ``radius`` sets the kernel's bandwidth (rbf) or temperature (softmax) relative to the
    data, and the variance of random features grows with it (for positive random features
    like exp(4 radius²)). Ridge regression (rbf) uses λ =
    ``ridge`` on a random half of the points; its targets and the attention values
    (softmax) are the centred one-hot labels for digits, else cos/sin of random projections.
    """
    n, d, features = sizes["n"], sizes["d"], sizes["features"]
    if n < 4 or d < 2 or features < 1:
        raise ValueError(f"kernel_approximation needs n ≥ 4, d ≥ 2, features ≥ 1; got {sizes}")
    X, labels = _points(data, n, d, rng, layer)
    if data != "gaussian":
        X = X - X.mean(axis=0)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X = X * (radius / np.where(norms > 0, norms, 1.0))
    K = exact_kernel(X, kernel)
    reference = {
        "kernel": kernel,
        "kernel_matrix": K,
        "kernel_norm": spectral_norm(K),
        "targets": _targets(X, labels, rng),
        "train": np.sort(rng.choice(n, size=n // 2, replace=False)),
        "ridge": ridge,
    }
    reference["downstream"] = downstream(K, reference)
    return Problem(inputs=(X, features, kernel), reference=reference)


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_kernel_approximation]
