"""Streaming PCA (``streaming_pca``): Oja's rate on a spiked model, the frequent-directions
bound, the exact reference, and the task's metric.

Oja's rate, the fact checked: on the spiked model Σ = I + signal · v vᵀ (k = 1, gap = signal,
λ₁ = 1 + signal, the other d − 1 eigenvalues 1), Oja's rule with η_s = α / (gap · (s₀ + s))
has E sin²θ_s ≈ α²/(2α − 1) · (d − 1) λ₁λ₂ / (gap² s) once past its burn-in (Jain et al., COLT
2016, give the 1/s rate for α > ½; the constant is the stationary variance of the linearised
recursion: v_{s+1} = (1 − 2α/s) v_s + α² λ₁λ₂ / (gap² s²) per coordinate). Checked over 24
streams at s = 4000, 8000, 16000 (mini-batches of 10 rows, s₀ = 20, α = 2 and 3): s · E sin²θ
within 25% of the constant and the log-log slope within 0.2 of −1 (measured: ratios 0.95–1.06,
slopes −1.03 and −1.02).
"""

from __future__ import annotations

import array_api_compat.numpy as xnp
import numpy as np
import pytest
from harness_builtins.spectral.streaming_pca import (
    block_power,
    covariance_eigh,
    frequent_directions,
    frequent_directions_sketches,
    oja,
)
from harness_builtins.spectral.streaming_pca_task import (
    generate_streaming_pca,
    streaming_pca_metrics,
    subspace_distance,
)

from harness.model.params import bind

D, SIGNAL, BATCH, OFFSET, STREAMS = 20, 4.0, 10, 20.0, 24
MARKS = (4000, 8000, 16000)


def stream(seed: int, n: int = MARKS[-1], d: int = D, k: int = 1, **problem: object):
    params = bind(generate_streaming_pca.params, {"signal": SIGNAL, "batch": BATCH, **problem})
    return generate_streaming_pca.generate(
        {"n": n, "d": d, "k": k}, np.random.default_rng(seed), **params
    )


@pytest.mark.parametrize("alpha", [2.0, 3.0])
def test_oja_converges_at_its_theoretical_rate(alpha: float) -> None:
    squared = np.zeros((STREAMS, len(MARKS)))
    for seed in range(STREAMS):
        problem = stream(seed)
        v = problem.reference["top_vectors"]
        column = 0
        for Q, seen in oja.iterates(
            *problem.inputs, xp=xnp, step=alpha / SIGNAL, offset=OFFSET, seed=seed
        ):
            if int(seen[0]) in MARKS:
                squared[seed, column] = subspace_distance(Q, v) ** 2
                column += 1
    constant = alpha**2 / (2 * alpha - 1) * (D - 1) * (1 + SIGNAL) / SIGNAL**2
    ratios = squared.mean(axis=0) * np.array(MARKS) / constant
    slope = np.polyfit(np.log(MARKS), np.log(squared.mean(axis=0)), 1)[0]
    assert np.all((ratios > 0.75) & (ratios < 1.25)), ratios
    assert abs(slope + 1) < 0.2, slope


def test_exact_reference_reaches_the_population_subspace_on_real_rows() -> None:
    problem = stream(0, n=1797, d=64, k=4, data="digits", batch=100)
    curve = [
        streaming_pca_metrics(problem, out)
        for out in covariance_eigh.iterates(*problem.inputs, xp=xnp)
    ]
    assert curve[-1]["samples"] == 1797 and curve[-1]["subspace_distance"] < 1e-10
    assert curve[0]["subspace_distance"] > 10 * curve[-2]["subspace_distance"] > 0


def test_frequent_directions_keeps_its_covariance_bound() -> None:
    """‖XᵀX − BᵀB‖₂ ≤ ‖X − X_k‖_F² / (ℓ − k) after every batch (Ghashami et al. 2016)."""
    X = stream(1, n=600, d=30, k=3).inputs[0]
    rows = 10
    for B, seen in frequent_directions_sketches(xnp, X, 7, rows):
        assert B.shape[0] < 2 * rows + 7
        seen_rows = X[:seen]
        sigma = np.linalg.svd(seen_rows, compute_uv=False)
        error = np.linalg.norm(seen_rows.T @ seen_rows - B.T @ B, 2)
        for k in range(rows):
            assert error <= np.sum(sigma[k:] ** 2) / (rows - k) * (1 + 1e-12)


def test_every_method_converges_on_the_spiked_model() -> None:
    problem = stream(2, n=4096, d=64, k=4, batch=32)
    final = {}
    for name, method, params in (
        ("eigh", covariance_eigh, {}),
        ("oja", oja, {"step": 2 / SIGNAL, "offset": 20.0}),
        ("block_power", block_power, {"block": 32}),
        ("frequent_directions", frequent_directions, {"sketch": 32}),
    ):
        *_, last = method.iterates(*problem.inputs, xp=xnp, **params)
        final[name] = streaming_pca_metrics(problem, last)["subspace_distance"]
    assert final["eigh"] < 0.12 and all(value < 0.4 for value in final.values()), final


def test_metric_is_that_of_the_orthonormalised_basis() -> None:
    U = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 3)))[0]
    skewed = U @ np.array([[3.0, 1.0, 0.0], [0.0, 1e-3, 2.0], [0.0, 0.0, 5.0]])
    assert subspace_distance(skewed, U) < 1e-12
    assert subspace_distance(np.eye(10)[:, 7:], np.eye(10)[:, :3]) == 1.0


def test_bad_sizes_and_parameters_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="needs 1 ≤ k < d"):
        stream(0, n=10, d=4, k=4)
    X = stream(0, n=40, d=6, k=2).inputs[0]
    with pytest.raises(ValueError, match="qr_every must be ≥ 1"):
        next(oja.iterates(X, 2, 8, xp=xnp, qr_every=0))
    with pytest.raises(ValueError, match="the sketch needs ℓ > k"):
        next(frequent_directions.iterates(X, 2, 8, xp=xnp, sketch=2))
