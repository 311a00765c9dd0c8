"""Method plugin: AuON and Hybrid-AuON (Maity 2025, *AuON: A Linear-time Alternative to
Semi-Orthogonal Momentum Updates*), updates bounded in spectral norm without being
orthogonal. The ``orthogonalize`` task scores them by ``spectral_norm_error`` and
``alignment_error`` (cosine with the polar factor), not by orthogonality.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness_builtins.orthogonalizers.orthogonalizers import (
    NEWTON_SCHULZ_COEFFICIENTS,
    odd_polynomial_iterates,
)
from harness_builtins.shared import frobenius

from harness import Method, hookimpl, method


def cosh_rms_scaling(xp: Any, G: Any, alpha: float, eps: float) -> Any:
    """X / √mean(cosh(α X)²) with X = G / (‖G‖_F + ε), the mean over each matrix's entries.

    ‖X‖₂ ≤ ‖X‖_F = 1 and the cosh root-mean-square is ≥ 1, so the result is a spectral
    contraction; heavy-tailed entries make the RMS larger and shrink the update more.
    """
    X = G / (frobenius(xp, G) + eps)
    rms = xp.sqrt(xp.mean(xp.cosh(alpha * X) ** 2, axis=(-2, -1), keepdims=True))
    return X / rms


def auon_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """O(mn): a norm, cosh, a mean, two scalings; counted as about 10 mn."""
    return 10.0 * sizes["m"] * sizes["n"]


@method(family="orthogonalizer", dtypes={"bfloat16", "float32", "float64"}, flops=auon_flops)
def auon(G: Any, *, xp: Any, alpha: float = 1.5, eps: float = 1e-7) -> Any:
    """AuON: U = X / √mean(cosh(α X)²), X = G / ‖G‖_F, α = 1.5; linear time, no matrix
    products. Keeps G's singular vectors and the *shape* of its spectrum (so it is far from
    orthogonal); bounds the spectral norm below 1. (The optimizer's per-matrix learning-rate
    factor √max(1, m/n) is not part of this map.)"""
    return cosh_rms_scaling(xp, G, alpha, eps)


def hybrid_auon_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """One Newton–Schulz step (``newton_schulz_flops`` of one step) and AuON's map."""
    p, q = sorted((sizes["m"], sizes["n"]))
    return 3 * p * p * q + 2 * p**3 + auon_flops(sizes, params)


@method(
    family="orthogonalizer",
    dtypes={"bfloat16", "float32", "float64"},
    flops=hybrid_auon_flops,
)
def hybrid_auon(G: Any, *, xp: Any, alpha: float = 1.5, eps: float = 1e-7) -> Any:
    """Hybrid-AuON: one Newton–Schulz step with Muon's coefficients (3.4445, −4.7750,
    2.0315) on G / ‖G‖_F, then the AuON cosh-RMS scaling of the result. The single step
    lifts the small singular values (slope 3.4 at zero), so the output is better aligned
    with the polar factor than AuON's at the cost of one quintic step."""
    (X,) = odd_polynomial_iterates(xp, G, NEWTON_SCHULZ_COEFFICIENTS["muon"], 1, eps)
    return cosh_rms_scaling(xp, X, alpha, eps)


@hookimpl
def harness_methods() -> list[Method]:
    return [auon, hybrid_auon]
