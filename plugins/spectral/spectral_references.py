"""Method plugin: CPU reference baselines for the spectral-filter tasks, from scipy.

- ``expm_multiply`` (``graph_filter``, heat kernel only): scipy.sparse.linalg.expm_multiply,
  the truncated-Taylor method with scaling of Al-Mohy and Higham (SIAM J. Sci. Comput. 2011),
  which picks its degree and number of scaling steps from 1-norm estimates to reach double
  precision (it takes no tolerance).
- ``scipy_svds`` (``spectral_norm``, matrices only): scipy.sparse.linalg.svds with k = 1
  (ARPACK's implicitly restarted Lanczos on WᵀW), to its default tolerance (machine
  precision); promises no side.

Both run on the ``numpy`` backend only (scipy takes numpy and scipy.sparse inputs); they are
not iterative in the harness's sense (scipy owns the loop), so their cases have no curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from harness_builtins.spectral.spectral_filters import NO_BOUND

from harness import Method, hookimpl, method

REFERENCE = {"family": "spectral_filter", "backends": {"numpy"}, "dtypes": {"float32", "float64"}}


@method(tasks={"graph_filter"}, **REFERENCE)
def expm_multiply(L: Any, X: Any, g: Any, lambda_max: float, *, xp: Any) -> Any:
    """exp(−tL) X by scipy.sparse.linalg.expm_multiply(−t L, X) (Al-Mohy and Higham 2011):
    s scaling steps of a degree-m Taylor polynomial, (m, s) chosen from ‖tL‖₁ (computed exactly
    for a sparse L) so the backward error is below 2⁻⁵³; about s·m products with L, which grows
    like t‖L‖₁ where a Chebyshev expansion needs about √(t λ_max)."""
    from scipy.sparse.linalg import expm_multiply as scipy_expm_multiply

    if getattr(g, "kind", None) != "heat":
        raise ValueError(
            f"expm_multiply applies the heat kernel exp(-tL) only; this problem's filter is "
            f"{getattr(g, 'kind', g)!r}"
        )
    return scipy_expm_multiply(-g.t * L, X)


@method(tasks={"spectral_norm"}, **REFERENCE)
def scipy_svds(W: Any, *, xp: Any) -> tuple[Any, Any]:
    """‖W‖₂ by scipy.sparse.linalg.svds(W, k=1) (ARPACK, implicitly restarted Lanczos; Lehoucq,
    Sorensen and Yang 1998), from scipy's default start vector. Matrices only (a convolution's
    per-frequency stack would need one call per frequency)."""
    from scipy.sparse.linalg import svds

    if W.ndim != 2:
        raise ValueError(f"scipy_svds takes a matrix, got an input of shape {W.shape}")
    sigma = svds(W, k=1, return_singular_vectors=False)[0]
    return np.asarray(sigma, dtype=W.dtype), np.asarray(NO_BOUND, dtype=W.dtype)


@hookimpl
def harness_methods() -> list[Method]:
    return [expm_multiply, scipy_svds]
