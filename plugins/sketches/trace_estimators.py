"""Method plugin: randomized trace estimators for a symmetric positive semidefinite n×n A
known through products A Z, for the ``trace_estimation`` task, whose input is ``(A,)`` (dense
or the backend's sparse matrix).

- ``hutchinson`` (Hutchinson 1989; Girard 1987): tr(A) ≈ (1/m) Σᵢ zᵢᵀ A zᵢ with m Rademacher
  vectors zᵢ; unbiased, variance 2(‖A‖_F² − Σᵢ Aᵢᵢ²)/m, so the relative error falls like
  1/√m whatever the spectrum.
- ``hutchpp`` (Hutch++: Meyer, Musco, Musco and Woodruff, SOSA 2021): spends a third of the m
  products on a sketch of A's top subspace Q, takes tr(QᵀAQ) exactly and runs Hutchinson on
  the deflated (I − QQᵀ)A(I − QQᵀ); relative error O(1/m) for PSD A, which decaying spectra
  show.

The query vectors are drawn on the host from ``seed`` (numpy's PCG64), so every backend sees
the same ones. See the method catalogue (METHODS.md), section 2, and docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES

from harness import Method, hookimpl, method
from harness.model.sparse import is_sparse

TASKS = {"trace_estimation"}


def rademacher(xp: Any, like: Any, shape: tuple[int, int], rng: np.random.Generator) -> Any:
    """Independent ±1 entries, each sign with probability ½, drawn from ``rng`` on the host and
    moved to ``like``'s dtype and device (``like`` dense or sparse: scipy's and cupyx's sparse
    matrices have no device attribute, and need none)."""
    signs = rng.integers(0, 2, size=shape, dtype=np.int8) * 2 - 1
    device = getattr(like, "device", None) if is_sparse(like) else array_device(like)
    return xp.asarray(signs, dtype=like.dtype, device=device)


def quadratic_form_sum(xp: Any, A: Any, Z: Any) -> Any:
    """Σᵢ zᵢᵀ A zᵢ = tr(Zᵀ A Z) for the columns zᵢ of Z (one product A Z)."""
    return xp.sum(Z * (A @ Z))


def matvec_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """The m products with a dense A (2n² each); sparse inputs cost 2·nnz instead."""
    return 2.0 * sizes["n"] ** 2 * params["matvecs"]


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=matvec_flops)
def hutchinson(A: Any, *, xp: Any, matvecs: int = 30, seed: int = 0) -> Any:
    """Hutchinson's estimator: tr(A) ≈ (1/m) Σᵢ zᵢᵀ A zᵢ, zᵢ Rademacher, m = ``matvecs``
    (one block product A Z). Returns the estimate as a 0-d array."""
    if matvecs < 1:
        raise ValueError(f"matvecs must be ≥ 1, got {matvecs}")
    Z = rademacher(xp, A, (A.shape[0], matvecs), np.random.default_rng(seed))
    return quadratic_form_sum(xp, A, Z) / matvecs


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, flops=matvec_flops)
def hutchpp(A: Any, *, xp: Any, matvecs: int = 30, seed: int = 0) -> Any:
    """Hutch++ (Meyer et al. 2021, Algorithm 1) with m = ``matvecs`` products: S (n×⌊m/3⌋)
    and G (n×(m − 2⌊m/3⌋)) Rademacher, Q = orth(A S), then
    tr(A) ≈ tr(QᵀAQ) + (1/g) tr(Gᵀ(I − QQᵀ) A (I − QQᵀ)G), g = m − 2⌊m/3⌋.
    Needs m ≥ 3. Returns the estimate as a 0-d array."""
    sketch = matvecs // 3
    if sketch < 1:
        raise ValueError(f"hutchpp needs matvecs ≥ 3 (a third go to the sketch), got {matvecs}")
    queries = matvecs - 2 * sketch
    n = A.shape[0]
    rng = np.random.default_rng(seed)
    S = rademacher(xp, A, (n, sketch), rng)
    G = rademacher(xp, A, (n, queries), rng)
    Q = xp.linalg.qr(A @ S)[0]
    G = G - Q @ (xp.matrix_transpose(Q) @ G)
    return quadratic_form_sum(xp, A, Q) + quadratic_form_sum(xp, A, G) / queries


@hookimpl
def harness_methods() -> list[Method]:
    return [hutchinson, hutchpp]
