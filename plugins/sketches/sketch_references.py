"""Reference baseline plugin: other libraries' sketches, randomized SVDs and least-squares
solver, run in the same tasks as the harness's own methods so that they can be compared case
by case (compare, never copy).

- ``sklearn_randomized_svd``: sklearn.utils.extmath.randomized_svd (low_rank_approx; numpy);
- ``torch_svd_lowrank``: torch.svd_lowrank (low_rank_approx; torch, torch-cuda);
- ``sklearn_gaussian_projection``, ``sklearn_sparse_projection``: scikit-learn's
  GaussianRandomProjection and SparseRandomProjection (the sketch tasks with inputs (A, s),
  ``harness_builtins.sketches.sketches.SKETCH_TASKS``; numpy);
- ``scipy_clarkson_woodruff``: scipy.linalg.clarkson_woodruff_transform (the same; numpy);
- ``numpy_lstsq``: numpy.linalg.lstsq (least_squares; numpy).

Each is restricted to the backends its library takes and imports its library inside the call,
so this plugin loads without scikit-learn or torch. A case is ``unsupported`` with the reason
where the backend does not fit, or where scikit-learn is missing (naming the extra that
installs it); torch's cases are ``unavailable`` without torch, as the backend says. See
the method catalogue (METHODS.md), section 2, and docs/methods.md.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from harness_builtins.shared import DTYPES
from harness_builtins.sketches.randomized_svd import randomized_svd_flops
from harness_builtins.sketches.sketches import SKETCH_TASKS

from harness import Method, hookimpl, method

NEEDS_SKLEARN = {"sklearn": "pip install 'linalg-harness[references]'"}
"""``requires=`` of the scikit-learn references: unsupported, saying so, where it is missing."""


def sklearn_svd_flops(sizes: Any, params: Any) -> float:
    """As ``randomized_svd``'s, with scikit-learn's 'auto' iteration count where unset."""
    q = params["power_iterations"]
    if q is None:
        q = 7 if sizes["k"] < 0.1 * min(sizes["m"], sizes["n"]) else 4
    return randomized_svd_flops(sizes, {**params, "power_iterations": q})


@method(
    requires=NEEDS_SKLEARN,
    family="sketch",
    tasks={"low_rank_approx"},
    backends={"numpy"},
    dtypes=DTYPES,
    flops=sklearn_svd_flops,
)
def sklearn_randomized_svd(
    A: Any,
    k: int,
    *,
    xp: Any,
    oversampling: int = 10,
    power_iterations: int | None = None,
    normalizer: Literal["auto", "LU", "QR", "none"] = "auto",
    seed: int = 0,
) -> tuple[Any, Any, Any]:
    """scikit-learn's ``sklearn.utils.extmath.randomized_svd(A, k, n_oversamples=p,
    n_iter=q, power_iteration_normalizer=normalizer, random_state=seed)`` (Halko et al.
    2011, Algorithm 5.1; its defaults otherwise: transpose when m < n, sign flip). ``None``
    iterations means scikit-learn's 'auto': 7 when k < 0.1·min(m, n), else 4; 'auto'
    normalisation is LU when q > 2. Returns (U, s, Vᵀ) of rank k."""
    from sklearn.utils.extmath import randomized_svd

    return randomized_svd(
        A,
        k,
        n_oversamples=oversampling,
        n_iter="auto" if power_iterations is None else power_iterations,
        power_iteration_normalizer=normalizer,
        random_state=seed,
    )


@method(
    family="sketch",
    tasks={"low_rank_approx"},
    backends={"torch", "torch-cuda"},
    dtypes=DTYPES,
    flops=randomized_svd_flops,
)
def torch_svd_lowrank(
    A: Any, k: int, *, xp: Any, oversampling: int = 10, power_iterations: int = 2, seed: int = 0
) -> tuple[Any, Any, Any]:
    """``torch.svd_lowrank(A, q=k + p, niter=q)`` (Halko et al. 2011, Algorithms 4.4 and 5.1
    with QR re-orthonormalisation), its Gaussian test matrix drawn from torch's generator
    seeded with ``seed`` inside ``torch.random.fork_rng`` (the global generator is left as it
    was), then truncated to rank k. Returns (U, s, Vᵀ)."""
    import torch

    devices = [A.device] if A.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        U, s, V = torch.svd_lowrank(A, q=k + oversampling, niter=power_iterations)
    return U[:, :k], s[:k], V[:, :k].mT


def _check_sketch_size(A: Any, s: int) -> None:
    if s < 1 or s > A.shape[0]:
        raise ValueError(f"sketch size s = {s} must lie in [1, m = {A.shape[0]}]")


def _left_projection(projection: Any, A: Any) -> Any:
    """S A for the projection's S (s×m): scikit-learn projects samples (rows), so S A is the
    transform of Aᵀ (n samples of m features), transposed back."""
    SA = projection.fit_transform(A.T).T
    return np.ascontiguousarray(SA.toarray() if hasattr(SA, "toarray") else SA)


@method(
    requires=NEEDS_SKLEARN, family="sketch", tasks=SKETCH_TASKS, backends={"numpy"}, dtypes=DTYPES
)
def sklearn_gaussian_projection(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """scikit-learn's ``GaussianRandomProjection(n_components=s, random_state=seed)``:
    Sᵢⱼ ~ N(0, 1/s), the reference for the ``gaussian`` sketch (same distribution, another
    random stream). The fit draws S; both are timed."""
    from sklearn.random_projection import GaussianRandomProjection

    _check_sketch_size(A, s)
    return _left_projection(GaussianRandomProjection(n_components=s, random_state=seed), A)


@method(
    requires=NEEDS_SKLEARN, family="sketch", tasks=SKETCH_TASKS, backends={"numpy"}, dtypes=DTYPES
)
def sklearn_sparse_projection(
    A: Any, s: int, *, xp: Any, seed: int = 0, density: float = 0.0
) -> Any:
    """scikit-learn's ``SparseRandomProjection(n_components=s, density=ρ, dense_output=True,
    random_state=seed)`` (Li, Hastie and Church 2006): ±1/√(ρ s) with probability ρ/2 each;
    ``density`` 0 means scikit-learn's 'auto', ρ = 1/√m. The reference for ``very_sparse``."""
    from sklearn.random_projection import SparseRandomProjection

    _check_sketch_size(A, s)
    projection = SparseRandomProjection(
        n_components=s,
        density="auto" if density == 0 else density,
        dense_output=True,
        random_state=seed,
    )
    return _left_projection(projection, A)


@method(family="sketch", tasks=SKETCH_TASKS, backends={"numpy"}, dtypes=DTYPES)
def scipy_clarkson_woodruff(A: Any, s: int, *, xp: Any, seed: int = 0) -> Any:
    """SciPy's ``scipy.linalg.clarkson_woodruff_transform(A, s, seed)``: CountSketch
    (Clarkson and Woodruff 2013), one ±1 per column of S; O(nnz(A)) on a sparse A. The
    reference for ``countsketch``."""
    from scipy.linalg import clarkson_woodruff_transform

    _check_sketch_size(A, s)
    SA = clarkson_woodruff_transform(A, s, seed)  # rng (scipy ≥ 1.15) or seed, by position
    return np.asarray(SA.toarray() if hasattr(SA, "toarray") else SA, dtype=A.dtype)


@method(family="sketch", tasks={"least_squares"}, backends={"numpy"}, dtypes=DTYPES)
def numpy_lstsq(A: Any, b: Any, *, xp: Any) -> Any:
    """``numpy.linalg.lstsq(A, b, rcond=None)``: LAPACK's gelsd (SVD by divide and conquer,
    O(mn²)), the dense direct solve every sketched solver is measured against; in float64 it
    is the task's own reference."""
    return np.linalg.lstsq(A, b, rcond=None)[0]


@hookimpl
def harness_methods() -> list[Method]:
    return [
        sklearn_randomized_svd,
        sklearn_gaussian_projection,
        sklearn_sparse_projection,
        torch_svd_lowrank,
        scipy_clarkson_woodruff,
        numpy_lstsq,
    ]
