"""Task plugin: ``spectral_norm``, judging estimates of ‖W‖₂ and the side of the truth they lie on.

A method's output is ``(estimate, side)`` (``spectral_filters``): side = +1
for a method that promises an upper bound (Gram iteration), −1 for a lower bound (power
iteration, Lanczos), 0 for none. Metrics, in float64 on the host, against the exact norm σ:

- ``relative_error``: |σ̂ − σ| / σ;
- ``signed_error``: (σ̂ − σ) / σ (positive above the truth);
- ``bound_violation``: how far, relative to σ, the estimate lies on the wrong side of the
  truth for the side it promised (0 when the promise holds, and for side 0);
- ``bound_violated``: 1.0 when ``bound_violation`` exceeds ``BOUND_SLACK``, else 0.0.

A broken bound is a failure of the method, recorded as a metric rather than as the case's
status: the case still measured a time and an error that a report must show next to the
violation (a status of ``error`` would hide both), and every point of the convergence curve
carries its own ``bound_violated``, so the step at which a bound broke is visible. Filter on
``bound_violated = 1`` to list the failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from harness import Problem, Task, hookimpl, task

BOUND_SLACK = 1e-5
"""Relative distance on the wrong side of σ forgiven as rounding: about 100 float32 unit
roundoffs (float32 Gram iteration lands within a few 1e-7 of σ, on either side, once
converged). A real violation (a missing rescaling, power iteration overshooting) is orders of
magnitude larger; the tests hold float64 bounds to 1e-12."""


def spectral_norm_metrics(problem: Problem, output: Any) -> dict[str, float]:
    estimate, side = (float(np.ravel(part)[0]) for part in output)
    sigma = problem.reference["norm"]
    signed = (estimate - sigma) / sigma
    violation = max(0.0, -np.sign(side) * signed) if side else 0.0
    return {
        "relative_error": abs(signed),
        "signed_error": signed,
        "bound_violation": violation,
        "bound_violated": float(violation > BOUND_SLACK),
    }


def _logspace(rng: np.random.Generator, m: int, n: int, kappa: float) -> np.ndarray:
    from harness_builtins.orthogonalizers.orthogonalize_task import _random_orthonormal

    k = min(m, n)
    s = np.logspace(0.0, -np.log10(kappa), k)
    return (_random_orthonormal(rng, m, k) * s) @ _random_orthonormal(rng, n, k).T


def circular_conv_norm(kernel: np.ndarray) -> float:
    """The exact ‖·‖₂ of a circular convolution with a zero-padded (c_out, c_in, N, N) kernel:
    the largest singular value over the per-frequency matrices of its 2-D DFT (Sedghi, Gupta
    and Long, ICLR 2019)."""
    F = np.fft.rfft2(kernel, axes=(-2, -1))
    per_frequency = np.moveaxis(F, (0, 1), (-2, -1))
    return float(np.linalg.svd(per_frequency, compute_uv=False)[..., 0].max())


@task(
    name="spectral_norm",
    family="spectral_filter",
    size_names=("m", "n"),
    metrics=spectral_norm_metrics,
    main_metric="relative_error",
)
def generate_spectral_norm(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    matrix: Literal["gaussian", "logspace", "gradient", "momentum", "conv"] = "gaussian",
    kappa: float = 1000.0,
    kernel_size: int = 3,
    image_size: int = 32,
    layer: Literal["fc2", "fc1"] = "fc2",
    train_step: Literal[10, 1] = 10,
    workload_seed: int = 0,
) -> Problem:
    """A linear operator W and its exact spectral norm ‖W‖₂ (float64 SVD).

    ``gaussian``: m×n, i.i.d. N(0, 1) (σ₁ ≈ √m + √n, with no gap at the top: the hard case
    for power iteration). ``logspace``: U diag(s) Vᵀ with Haar U, V and s log-spaced from 1 to
    1/``kappa`` (a gap σ₂/σ₁ = kappa^(−1/(min(m,n)−1))). ``gradient`` / ``momentum``: the
    top-left m×n block of a real gradient or momentum matrix of the digits MLP (see
    ``harness_builtins.workloads``; needs torch and scikit-learn; fc1 3072×768, fc2
    768×3072, so 768×3072 is a whole matrix). ``conv``: a circular convolution layer with
    m = c_out, n = c_in channels, a ``kernel_size``² kernel with i.i.d. N(0, 1/(c_in k²))
    entries (LeCun's fan-in scale; He's would be 2/(c_in k²)), on ``image_size``² inputs; the
    input is the kernel zero-padded to (c_out, c_in, image_size, image_size), and ‖W‖₂ = the
    largest singular value over the per-frequency matrices of its 2-D DFT.
    """
    m, n = sizes["m"], sizes["n"]
    if matrix == "conv":
        if not 1 <= kernel_size <= image_size:
            raise ValueError(f"kernel_size {kernel_size} must be in 1..image_size ({image_size})")
        kernel = np.zeros((m, n, image_size, image_size))
        scale = 1 / np.sqrt(n * kernel_size**2)
        kernel[:, :, :kernel_size, :kernel_size] = scale * rng.standard_normal(
            (m, n, kernel_size, kernel_size)
        )
        return Problem(inputs=(kernel,), reference={"norm": circular_conv_norm(kernel)})
    if matrix == "gaussian":
        W = rng.standard_normal((m, n))
    elif matrix == "logspace":
        W = _logspace(rng, m, n, kappa)
    else:
        from harness_builtins.orthogonalizers.orthogonalize_task import real_matrix

        W = real_matrix(m, n, matrix, layer, train_step, workload_seed)
    return Problem(inputs=(W,), reference={"norm": float(np.linalg.norm(W, 2))})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_spectral_norm]
