"""Method plugin: node embeddings for the ``graph_embedding`` task, whose inputs are
``(A, dim)``: A the normalised adjacency D^(−½) W D^(−½) (the backend's sparse CSR, or dense),
dim the embedding dimension.

- ``fastrp`` (FastRP: Chen, Sultan, Tian, Chen and Skiena, "Fast and Accurate Network
  Embeddings via Very Sparse Random Projection", CIKM 2019): E = Σᵢ αᵢ Aⁱ R for i = 1..q,
  with R (n × dim) a very sparse random projection (Li, Hastie and Church, KDD 2006): each
  entry ±1/√(ρ·dim) with probability ρ/2 each, 0 otherwise, density ρ = 1/√n by default.
  q products of A with an n × dim block: O(q · nnz(A) · dim), no eigendecomposition. Aⁱ R
  is a random projection of the rows of Aⁱ, so inner products of embeddings approximate
  those of the nodes' i-step neighbourhoods (Johnson–Lindenstrauss).
- ``spectral_embedding`` (the exact reference): the top ``rank`` eigenvectors of A by a
  dense eigh (Ng, Jordan and Weiss 2001); O(n³).

R is drawn on the host from ``seed`` (``random_features.method_rng``), so every backend sees
the same one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES, dense
from harness_builtins.sketches.random_features import method_rng

from harness import Method, hookimpl, method
from harness.model.sparse import is_sparse

TASKS = {"graph_embedding"}


def very_sparse_projection(
    rng: np.random.Generator, n: int, dim: int, density: float
) -> np.ndarray:
    """n × dim, entries ±1/√(ρ·dim) with probability ρ/2 each and 0 otherwise (ρ = density)."""
    if not 0 < density <= 1:
        raise ValueError(f"density must lie in (0, 1], got {density}")
    keep = rng.random((n, dim)) < density
    signs = rng.integers(0, 2, size=(n, dim)) * 2 - 1
    return np.where(keep, signs, 0) / np.sqrt(density * dim)


@method(family="sketch", tasks=TASKS, dtypes=DTYPES)
def fastrp(
    A: Any,
    dim: int,
    *,
    xp: Any,
    weights: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0),
    density: float = 0.0,
    seed: int = 0,
) -> Any:
    """FastRP: E = Σᵢ αᵢ Aⁱ R, i = 1..q, α = ``weights`` (q = their number), R a very sparse
    random projection (n × dim) of density ``density`` (0: 1/√n, Li et al.'s choice).
    Returns E (n × dim)."""
    n = A.shape[0]
    if not weights:
        raise ValueError("fastrp needs at least one weight (one power of A)")
    R = very_sparse_projection(method_rng(seed), n, dim, density if density > 0 else 1 / np.sqrt(n))
    device = getattr(A, "device", None) if is_sparse(A) else array_device(A)
    Y = xp.asarray(R, dtype=A.dtype, device=device)
    E = xp.zeros_like(Y)
    for alpha in weights:
        Y = A @ Y
        E = E + alpha * Y
    return E


@method(family="sketch", tasks=TASKS, dtypes=DTYPES)
def spectral_embedding(A: Any, dim: int, *, xp: Any, rank: int = 4) -> Any:
    """The exact spectral embedding: the eigenvectors of the ``rank`` largest eigenvalues of
    A (dense eigh; ``dim`` is not used). Returns n × rank."""
    if not 1 <= rank <= A.shape[0]:
        raise ValueError(f"rank must lie in [1, n = {A.shape[0]}], got {rank}")
    _, U = xp.linalg.eigh(dense(A))
    return U[:, -rank:]


@hookimpl
def harness_methods() -> list[Method]:
    return [fastrp, spectral_embedding]
