"""Method plugin: ``jacobi_svd``, the polar factor by one-sided (Hestenes) Jacobi SVD with a
randomized pivot order; its convergence curve is one point per sweep.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES, back, eye_like, tall

from harness import Method, hookimpl, method


def tournament(labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A round-robin schedule (the circle method): p − 1 rounds (p rounds if p is odd) of
    ⌊p/2⌋ disjoint pairs that together visit every pair of ``labels`` exactly once."""
    players = [*labels.tolist(), *([-1] if len(labels) % 2 else [])]  # -1: a bye
    count = len(players)
    rounds = []
    for _ in range(count - 1):
        pairs = [(players[i], players[count - 1 - i]) for i in range(count // 2)]
        pairs = [(i, j) for i, j in pairs if i >= 0 and j >= 0]
        rounds.append((np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])))
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def jacobi_svd_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Per sweep, p(p − 1)/2 rotations of two q-columns of X (dots 6q, update 6q) and of
    two p-columns of V (6p); then the product U Vᵀ (2p²q)."""
    p, q = sorted((sizes["m"], sizes["n"]))
    return params["sweeps"] * (p * (p - 1) / 2) * (12 * q + 6 * p) + 2 * p * p * q


@method(
    family="orthogonalizer",
    dtypes=DTYPES,
    flops=jacobi_svd_flops,
    iterative=True,
)
def jacobi_svd(G: Any, *, xp: Any, sweeps: int = 12, seed: int = 0) -> Iterator[Any]:
    """One-sided Jacobi SVD (Hestenes 1958) with randomized pivoting, yielding the polar
    factor estimate after every sweep.

    On the tall orientation X (q×p), start from V = I and rotate pairs of columns (i, j):
    with α = ‖xᵢ‖², β = ‖xⱼ‖², γ = xᵢᵀxⱼ, τ = β − α, the rotation
    t = 2γ sgn(τ) / (|τ| + √(τ² + 4γ²)), c = 1/√(1 + t²), s = c t,
    [xᵢ, xⱼ] ← [c xᵢ − s xⱼ, s xᵢ + c xⱼ] (and the same on V's columns) makes the pair
    orthogonal, keeping X = G V. A sweep visits every pair once, in rounds of ⌊p/2⌋ disjoint
    pairs that are rotated at once (a round-robin tournament); the order is a fresh random
    relabelling of the columns each sweep, drawn from ``seed`` ("randomized pivoting", as in
    *A Unified Perspective on Orthogonalization and Diagonalization*), and converges
    (asymptotically quadratically) to X = U Σ. The iterate after each sweep is
    X diag(‖xᵢ‖)⁻¹ Vᵀ, which converges to U Vᵀ. Works on stacks (the same order for each).
    """
    X, transposed = tall(xp, G)
    p = X.shape[-1]
    V = eye_like(xp, X, p)
    if X.ndim > 2:
        V = xp.broadcast_to(V, (*X.shape[:-2], p, p))
    rng = np.random.default_rng(seed)
    where = np.arange(p)  # where[label] = the column that label now sits in
    dev = array_device(X)
    for _ in range(sweeps):
        for first, second in tournament(rng.permutation(p)):
            h = len(first)
            order = np.concatenate([where[first], where[second]])
            order = np.concatenate([order, np.setdiff1d(np.arange(p), order)])
            index = xp.asarray(order, device=dev)
            X, V = xp.take(X, index, axis=-1), xp.take(V, index, axis=-1)
            labels = np.empty(p, dtype=np.int64)
            labels[order] = np.arange(p)  # label at old column order[k] now sits at k
            where = labels[where]
            X, V = _rotate(xp, X, V, h)
        norms = xp.linalg.vector_norm(X, axis=-2, keepdims=True)
        yield back(xp, (X / norms) @ xp.matrix_transpose(V), transposed)


def _rotate(xp: Any, X: Any, V: Any, h: int) -> tuple[Any, Any]:
    """Rotate columns k and h + k of X (and V) together, for k < h, to make them orthogonal."""
    xi, xj = X[..., :, :h], X[..., :, h : 2 * h]
    alpha = xp.sum(xi * xi, axis=-2, keepdims=True)
    beta = xp.sum(xj * xj, axis=-2, keepdims=True)
    gamma = xp.sum(xi * xj, axis=-2, keepdims=True)
    tau = beta - alpha
    sign = xp.where(tau >= 0, xp.ones_like(tau), -xp.ones_like(tau))
    denominator = xp.abs(tau) + xp.sqrt(tau * tau + 4 * gamma * gamma)
    safe = xp.where(denominator > 0, denominator, xp.ones_like(denominator))
    t = xp.where(denominator > 0, 2 * gamma * sign / safe, xp.zeros_like(denominator))
    c = 1 / xp.sqrt(1 + t * t)
    s = c * t

    def turn(M: Any) -> Any:
        mi, mj = M[..., :, :h], M[..., :, h : 2 * h]
        return xp.concat([c * mi - s * mj, s * mi + c * mj, M[..., :, 2 * h :]], axis=-1)

    return turn(X), turn(V)


@hookimpl
def harness_methods() -> list[Method]:
    return [jacobi_svd]
