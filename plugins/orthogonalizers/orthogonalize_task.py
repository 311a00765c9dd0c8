"""Task plugin: ``orthogonalize``, judging how close a method's output is to the polar factor.

Metrics, all in float64 on the host, for the m×n output Q (k = min(m, n)) of an input
G = U Σ Vᵀ with polar factor P = U Vᵀ:

- ``orthogonality_error``: ‖QᵀQ − I‖_F / √k (QQᵀ when Q is wide);
- ``max_sigma_error``: max |σᵢ(Q) − 1|;
- ``polar_distance``: ‖Q − P‖_F / ‖P‖_F against the exact polar factor of the input;
- ``spectral_norm_error``: |σ_max(Q) − 1| (for updates meant to sit on the spectral-norm
  trust region, such as AuON, which is not an orthogonalizer);
- ``alignment_error``: 1 − ⟨Q, P⟩ / (‖Q‖_F ‖P‖_F), one minus the cosine between Q and the
  polar factor (0 when Q is a positive multiple of P);
- ``subspace_error``: ‖QQᵀ − PPᵀ‖_F / √k for a tall Q (QᵀQ − PᵀP for a wide one): whether
  Q spans the column (row) space of G, which is what QR-type methods deliver even though
  they are not the polar factor.

Which metric is meaningful for which method is in docs/methods.md: the polynomial methods
and svd_polar aim at P (all metrics); QR, Cholesky QR, Gram–Schmidt aim at an orthonormal
basis of range(G) (orthogonality, σ and subspace errors; their ``polar_distance`` is
reported but large by design); Cayley and the Householder chain produce an orthogonal
matrix from G but not its polar factor (orthogonality and σ errors only); AuON is scored by
spectral norm and alignment. For a batched input (``batch`` > 0, a stack of matrices) each
metric is the maximum over the stack (the worst matrix).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from harness_builtins import workloads

from harness import Problem, Task, hookimpl, task


def _projector_distance(P: np.ndarray, Q: np.ndarray) -> float:
    """‖QQᵀ − PPᵀ‖_F for tall P with orthonormal columns, through m×k and k×k products only.

    With A = PᵀQ and R = Q − PA (the part of Q outside range(P)), QQᵀ − PPᵀ =
    P(AAᵀ − I)Pᵀ + PARᵀ + RAᵀPᵀ + RRᵀ, whose blocks are mutually orthogonal, so its squared
    norm is ‖AAᵀ − I‖² + 2‖RAᵀ‖² + ‖RᵀR‖²: a sum of squares, free of cancellation.
    """
    A = P.T @ Q
    R = Q - P @ A
    k = A.shape[0]
    return math.sqrt(
        np.linalg.norm(A @ A.T - np.eye(k)) ** 2
        + 2 * np.linalg.norm(R @ A.T) ** 2
        + np.linalg.norm(R.T @ R) ** 2
    )


def _matrix_metrics(P: np.ndarray, Q: np.ndarray) -> dict[str, float]:
    m, n = Q.shape
    k = min(m, n)
    small = (lambda X, Y: X.T @ Y) if m >= n else (lambda X, Y: X @ Y.T)
    sigma = np.linalg.svd(Q, compute_uv=False)
    subspace = _projector_distance(P, Q) if m >= n else _projector_distance(P.T, Q.T)
    q_norm = np.linalg.norm(Q)
    return {
        "orthogonality_error": float(np.linalg.norm(small(Q, Q) - np.eye(k)) / math.sqrt(k)),
        "max_sigma_error": float(np.max(np.abs(sigma - 1.0))),
        "polar_distance": float(np.linalg.norm(Q - P) / np.linalg.norm(P)),
        "spectral_norm_error": float(abs(sigma[0] - 1.0)),
        "alignment_error": float(
            1.0 - np.sum(Q * P) / (q_norm * np.linalg.norm(P)) if q_norm > 0 else 1.0
        ),
        "subspace_error": float(subspace / math.sqrt(k)),
    }


def orthogonalize_metrics(problem: Problem, Q: np.ndarray) -> dict[str, float]:
    polar = problem.reference["polar"]
    if Q.shape != polar.shape:
        raise ValueError(f"output has shape {Q.shape}, expected {polar.shape}")
    if Q.ndim == 2:
        return _matrix_metrics(polar, Q)
    per_matrix = [_matrix_metrics(P, X) for P, X in zip(polar, Q, strict=True)]
    return {name: max(m[name] for m in per_matrix) for name in per_matrix[0]}


def _random_orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))  # Haar-distributed: fix the signs QR leaves free


def _synthetic(
    rng: np.random.Generator, m: int, n: int, spectrum: str, kappa: float, rank: int, noise: float
) -> np.ndarray:
    k = min(m, n)
    if spectrum == "gaussian":
        return rng.standard_normal((m, n))
    if spectrum == "logspace":
        s = np.logspace(0.0, -math.log10(kappa), k)
        return (_random_orthonormal(rng, m, k) * s) @ _random_orthonormal(rng, n, k).T
    # low_rank_noise
    r = min(rank, k)
    low_rank = _random_orthonormal(rng, m, r) @ _random_orthonormal(rng, n, r).T
    return low_rank + noise * rng.standard_normal((m, n)) / math.sqrt(max(m, n))


def real_matrix(m: int, n: int, kind: str, layer: str, step: int, seed: int) -> np.ndarray:
    """The top-left m×n block of a captured training matrix (or of its transpose, if that is
    the orientation that fits)."""
    G = workloads.training_matrix(layer, kind, step, seed)
    for candidate in (G, G.T):
        if m <= candidate.shape[0] and n <= candidate.shape[1]:
            return np.ascontiguousarray(candidate[:m, :n])
    raise ValueError(
        f"the {layer} {kind} matrix is {G.shape[0]}×{G.shape[1]}: sizes {m}×{n} do not fit "
        "in it or its transpose"
    )


@task(
    name="orthogonalize",
    family="orthogonalizer",
    size_names=("m", "n"),
    metrics=orthogonalize_metrics,
    exact="polar",
)
def generate_orthogonalize(
    sizes: Mapping[str, int],
    rng: np.random.Generator,
    *,
    spectrum: Literal[
        "gaussian", "logspace", "low_rank_noise", "gradient", "momentum"
    ] = "gaussian",
    kappa: float = 100.0,
    rank: int = 8,
    noise: float = 1e-3,
    batch: int = 0,
    layer: Literal["fc2", "fc1"] = "fc2",
    train_step: Literal[10, 1] = 10,
    workload_seed: int = 0,
) -> Problem:
    """An m×n matrix G with a chosen singular spectrum, and its exact polar factor.

    ``gaussian``: i.i.d. N(0, 1) entries. ``logspace``: G = U diag(s) Vᵀ with Haar-random
    U, V and singular values log-spaced from 1 down to 1/kappa (condition number kappa).
    ``low_rank_noise``: G = U_r V_rᵀ + noise · E / √max(m, n) with Haar U_r, V_r of ``rank``
    columns and E standard normal: ``rank`` singular values near 1 above a noise floor of
    about ``noise``. ``gradient`` / ``momentum``: the gradient or momentum matrix of
    ``layer`` (fc1 3072×768, fc2 768×3072) at training step ``train_step`` of the digits MLP
    in ``harness_builtins.workloads`` (trained from ``workload_seed``, cached on disk; see
    docs/methods.md), its top-left m×n block (transposed if that fits instead), so
    768×3072 or 3072×768 is the whole matrix. ``batch`` > 0 stacks that many independent
    synthetic draws into a (batch, m, n) input; metrics are then the maximum over the stack.
    """
    m, n = sizes["m"], sizes["n"]
    if spectrum in ("gradient", "momentum"):
        if batch:
            raise ValueError("batch applies to synthetic spectra, not to real matrices")
        G = real_matrix(m, n, spectrum, layer, train_step, workload_seed)
    elif batch:
        G = np.stack([_synthetic(rng, m, n, spectrum, kappa, rank, noise) for _ in range(batch)])
    else:
        G = _synthetic(rng, m, n, spectrum, kappa, rank, noise)
    U, _, Vh = np.linalg.svd(G, full_matrices=False)
    return Problem(inputs=(G,), reference={"polar": U @ Vh})


@hookimpl
def harness_tasks() -> list[Task]:
    return [generate_orthogonalize]
