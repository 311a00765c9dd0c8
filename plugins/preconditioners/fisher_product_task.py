"""Task plugin: ``fisher_product``, judging second-order optimizer kernels on real per-example
gradients: how close a method's preconditioned gradient is to the damped natural gradient
X* = (F + λI)⁻¹ g, and how many bytes of optimizer state it keeps to produce it.

The family's inputs are ``(gradients, g, damping)``: the N per-example gradients of one weight
block (N×m×n), the gradient to precondition g = their mean (m×n), and λ (a Python float).
F = (1/N) Σᵢ vec(Gᵢ) vec(Gᵢ)ᵀ is their empirical Fisher (mn × mn). A method returns X (m×n),
or ``(X, state_bytes)`` with the bytes of the arrays it keeps between steps (a one-entry
array in the case's dtype; ``quantized_roots.state_bytes`` counts entries × dtype width, so
4-bit codes count half a byte).

Metrics, in float64 on the host:

- ``relative_error``: ‖X − X*‖_F / ‖X*‖_F;
- ``direction_error``: 1 − ⟨X, X*⟩ / (‖X‖_F ‖X*‖_F), one minus the cosine: blind to a scale
  factor, which a learning rate absorbs (Kronecker-factored methods such as Shampoo get the
  scale of F⁻¹ only up to a constant);
- ``state_bytes``: the bytes the method reported, where it did.

X* is computed by the Woodbury identity in float64: with the N×mn matrix Γ of the vec(Gᵢ),
(λI + ΓᵀΓ/N)⁻¹ g = (g − Γᵀ (NλI + ΓΓᵀ)⁻¹ Γ g) / λ, one N×N solve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from harness_builtins import workloads

from harness import Problem, Task, hookimpl, task


def natural_gradient(gradients: np.ndarray, g: np.ndarray, damping: float) -> np.ndarray:
    """(F + λI)⁻¹ g in float64 by the Woodbury identity (module docstring)."""
    N = gradients.shape[0]
    Gamma = gradients.reshape(N, -1)
    flat = g.reshape(-1)
    K = Gamma @ Gamma.T + N * damping * np.eye(N)
    return ((flat - Gamma.T @ np.linalg.solve(K, Gamma @ flat)) / damping).reshape(g.shape)


def fisher_product_metrics(problem: Problem, output: Any) -> dict[str, float]:
    X, *rest = output if isinstance(output, tuple) else (output,)
    exact = problem.reference["natural_gradient"]
    if X.shape != exact.shape:
        raise ValueError(f"output has shape {X.shape}, expected {exact.shape}")
    x_norm, exact_norm = np.linalg.norm(X), np.linalg.norm(exact)
    cosine = float(np.sum(X * exact) / (x_norm * exact_norm)) if x_norm > 0 else 0.0
    metrics = {
        "relative_error": float(np.linalg.norm(X - exact) / exact_norm),
        "direction_error": 1.0 - cosine,
    }
    if rest:
        metrics["state_bytes"] = float(np.asarray(rest[0]).reshape(-1)[0])
    return metrics


@task(
    name="fisher_product",
    family="preconditioner",
    size_names=("gradients", "m", "n"),
    metrics=fisher_product_metrics,
    exact="natural_gradient",
    example_sizes=(16, 6, 4),
    main_metric="direction_error",
)
def generate_fisher_product(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    damping: float = 1e-3,
    layer: Literal["fc2", "fc1"] = "fc2",
    train_step: Literal[10, 1] = 10,
    workload_seed: int = 0,
) -> Problem:
    """N = ``gradients`` per-example gradients of an m×n block of a layer of the digits MLP
    (``harness_builtins.workloads.per_example_factors``: Gᵢ = δᵢ[:m] aᵢ[:n]ᵀ for N images drawn
    without replacement, m ≤ 768 and n ≤ 3072 for fc2, the reverse for fc1), g their mean, and
    λ = ``damping`` × tr(F)/(mn), the damping relative to F's mean eigenvalue. The reference
    X* = (F + λI)⁻¹ g in float64."""
    N, m, n = sizes["gradients"], sizes["m"], sizes["n"]
    inputs, output_gradients = workloads.per_example_factors(layer, train_step, workload_seed)
    if inputs.shape[0] < N or output_gradients.shape[1] < m or inputs.shape[1] < n:
        raise ValueError(
            f"{layer} has {inputs.shape[0]} examples of {output_gradients.shape[1]}×"
            f"{inputs.shape[1]} gradients; asked for {N} of {m}×{n}"
        )
    if not damping > 0:
        raise ValueError(f"damping must be positive, got {damping}")
    chosen = rng.choice(inputs.shape[0], size=N, replace=False)
    gradients = output_gradients[chosen, :m, None] * inputs[chosen, None, :n]
    g = gradients.mean(axis=0)
    lam = damping * float(np.sum(gradients**2)) / (N * m * n)
    return Problem(
        inputs=(gradients, g, lam),
        reference={"natural_gradient": natural_gradient(gradients, g, lam)},
    )


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_fisher_product]
