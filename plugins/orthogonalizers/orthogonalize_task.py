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
- ``subspace_error``: ‖UUᵀ − PPᵀ‖_F / √k for U an orthonormal basis of range(Q) (of its row
  space for a wide Q, against PᵀP): whether Q spans the column (row) space of G, which is
  what QR-type methods deliver even though they are not the polar factor. Measured on the
  orthonormalised output, so it is 0 for any Q with the right span, orthonormal or not.

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
from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
from harness_builtins import workloads

from harness import Problem, Task, hookimpl, task


def _projector_distance(P: np.ndarray, U: np.ndarray, sigma: np.ndarray) -> float:
    """‖UUᵀ − PPᵀ‖_F for tall P with orthonormal columns and U an orthonormal basis of
    range(Q) (the left singular vectors ``U`` of Q, with singular values ``sigma``, kept
    for singular values above max(m, n)·ε·σ₁): the
    distance between the subspaces alone, whatever Q's column norms (for a Q that is not
    orthonormal, ‖QQᵀ − PPᵀ‖ would mix in its orthogonality error even when its span is
    exact), through m×k and k×k products only.

    With A = PᵀU and R = U − PA (the part of U outside range(P)), UUᵀ − PPᵀ =
    P(AAᵀ − I)Pᵀ + PARᵀ + RAᵀPᵀ + RRᵀ, whose blocks are mutually orthogonal, so its squared
    norm is ‖AAᵀ − I‖² + 2‖RAᵀ‖² + ‖RᵀR‖²: a sum of squares, free of cancellation.
    """
    Q = U[:, sigma > max(U.shape) * np.finfo(float).eps * sigma[0]]
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
    tall_P, tall_Q = (P, Q) if m >= n else (P.T, Q.T)
    U, sigma, _ = np.linalg.svd(tall_Q, full_matrices=False)  # one SVD serves σ and the span
    subspace = _projector_distance(tall_P, U, sigma)
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


def _matrix_step_metrics(P: np.ndarray, Q: np.ndarray) -> dict[str, float]:
    """The metrics of a curve's step, from the k×k Gram matrix W = QᵀQ (QQᵀ when Q is wide)
    instead of an SVD of Q: ``orthogonality_error`` ‖W − I‖_F / √k exactly;
    ``max_sigma_error`` and ``spectral_norm_error`` from σᵢ = √λᵢ(W) (symmetric
    eigenvalues of k×k, a few times cheaper than the m×n SVD; σ − 1 = (λ − 1)/(σ + 1) is
    accurate to about k·ε·‖Q‖², which the curve's errors, far above it, never see);
    ``polar_distance`` and ``alignment_error`` exactly (elementwise). ``subspace_error``
    (a few more m×k×k products) is left to the full metrics, at the last step."""
    m, n = Q.shape
    k = min(m, n)
    gram = Q.T @ Q if m >= n else Q @ Q.T
    eigenvalues = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    sigma_error = np.abs(eigenvalues - 1.0) / (np.sqrt(eigenvalues) + 1.0)
    q_norm = math.sqrt(float(np.trace(gram)))
    p_norm = np.linalg.norm(P)
    return {
        "orthogonality_error": float(np.linalg.norm(gram - np.eye(k)) / math.sqrt(k)),
        "max_sigma_error": float(np.max(sigma_error)),
        "polar_distance": float(np.linalg.norm(Q - P) / p_norm),
        "spectral_norm_error": float(sigma_error[-1]),
        "alignment_error": float(1.0 - np.sum(Q * P) / (q_norm * p_norm) if q_norm > 0 else 1.0),
    }


def _judged(
    problem: Problem, Q: np.ndarray, judge: Callable[[np.ndarray, np.ndarray], dict[str, float]]
) -> dict[str, float]:
    """``judge(P, Q)`` against the polar factor P; for a stack, each metric's worst."""
    polar = problem.reference["polar"]
    if Q.shape != polar.shape:
        raise ValueError(f"output has shape {Q.shape}, expected {polar.shape}")
    if Q.ndim == 2:
        return judge(polar, Q)
    per_matrix = [judge(P, X) for P, X in zip(polar, Q, strict=True)]
    return {name: max(m[name] for m in per_matrix) for name in per_matrix[0]}


def orthogonalize_metrics(problem: Problem, Q: np.ndarray) -> dict[str, float]:
    return _judged(problem, Q, _matrix_metrics)


def orthogonalize_step_metrics(problem: Problem, Q: np.ndarray) -> dict[str, float]:
    """The metrics of each step of a convergence curve (``_matrix_step_metrics``)."""
    return _judged(problem, Q, _matrix_step_metrics)


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
    step_metrics=orthogonalize_step_metrics,
    exact="polar",
    main_metric="orthogonality_error",
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
