"""Method plugin: streaming principal subspace estimators for the ``streaming_pca`` task, whose
inputs are ``(X, k, batch)``: the stream X (n × d), read ``batch`` rows at a time, in order,
once; the subspace dimension k.

Each method is a generator that yields ``(Q, samples)`` after every mini-batch: Q (d × k) its
current estimate, ``samples`` = [rows seen so far]. Memory is O(dk) (Oja, block power),
O(dℓ) (frequent directions) or O(d²) (the exact reference):

- ``oja`` (Oja 1982; the stochastic power method): Q ← Q + η_s X_bᵀ X_b Q for the mini-batch
  X_b, η_s a schedule of the rows s seen before it, thin QR every ``qr_every`` batches (and
  after the last). With η_s = α / (gap · (s₀ + s)), α > ½, the error falls like 1/s: E‖sin Θ‖_F²
  ≈ α²/(2α − 1) · Σ_{i≤k<j} λᵢλⱼ / ((λᵢ − λⱼ)² s) (Jain, Jin, Kakade, Netrapalli and
  Sidford, COLT 2016, for k = 1; the linearised recursion gives the constant), the
  statistical rate of the exact eigenvectors when α = 1;
- ``block_power`` (the block stochastic power method: Mitliagkas, Caramanis and Jain, NIPS
  2013): S ← S + X_bᵀ X_b Q over ``block`` mini-batches, then Q ← qr(S); one power step per
  block, each on a fresh block of rows (a last, incomplete block is left out);
- ``frequent_directions`` (Liberty, KDD 2013; Ghashami, Liberty, Phillips and Woodruff, SICOMP
  2016): a sketch B of ℓ rows with ‖XᵀX − BᵀB‖₂ ≤ ‖X − X_k‖_F² / (ℓ − k): rows are appended
  to B; when it holds 2ℓ rows, B's singular values are shrunk, σᵢ ← (σᵢ² − σ_{ℓ+1}²)^½,
  keeping ℓ rows. The estimate: B's top-k right singular vectors;
- ``covariance_eigh`` (the exact reference): C ← C + X_bᵀ X_b, Q = top-k eigenvectors of C
  (eigh, O(d³) per batch): the best estimate from the rows seen.

The random start of ``oja`` and ``block_power`` is drawn on the host from ``seed``
(``harness_builtins.sketches.random_features.method_rng``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES
from harness_builtins.sketches.random_features import method_rng

from harness import Method, hookimpl, method

TASKS = {"streaming_pca"}

Schedule = Literal["inverse", "inverse_sqrt", "constant"]


def batches(X: Any, batch: int) -> Iterator[tuple[Any, int]]:
    """The mini-batches of X in order, each with the number of rows seen after it."""
    if batch < 1:
        raise ValueError(f"batch must be ≥ 1, got {batch}")
    n = X.shape[0]
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        yield X[start:stop, :], stop


def _seen(xp: Any, like: Any, samples: int) -> Any:
    return xp.asarray([float(samples)], dtype=like.dtype, device=array_device(like))


def _random_basis(xp: Any, X: Any, k: int, seed: int) -> Any:
    """An orthonormal d × k start: thin QR of a Gaussian drawn on the host (``method_rng``)."""
    start = method_rng(seed).standard_normal((X.shape[1], k))
    return xp.linalg.qr(xp.asarray(start, dtype=X.dtype, device=array_device(X)))[0]


def step_size(schedule: Schedule, step: float, offset: float, seen: int) -> float:
    """η after ``seen`` rows: step/(offset + seen), step/√(offset + seen), or step."""
    if schedule == "inverse":
        return step / (offset + seen)
    if schedule == "inverse_sqrt":
        return step / (offset + seen) ** 0.5
    return step


@method(family="spectral_filter", tasks=TASKS, dtypes=DTYPES, iterative=True)
def oja(
    X: Any,
    k: int,
    batch: int,
    *,
    xp: Any,
    schedule: Schedule = "inverse",
    step: float = 1.0,
    offset: float = 10.0,
    qr_every: int = 1,
    seed: int = 0,
) -> Iterator[Any]:
    """Oja's rule on mini-batches: Q ← Q + η X_bᵀ(X_b Q), η = ``step``/(``offset`` + s)
    (``schedule`` inverse), ``step``/√(``offset`` + s) (inverse_sqrt) or ``step``
    (constant), s the rows seen before the batch; thin QR every ``qr_every`` batches and
    after the last. For the 1/s rate set step = α/gap with α > ½ (α = 1: the exact
    eigenvectors' rate). Yields (Q, [rows seen]) after every batch."""
    if qr_every < 1:
        raise ValueError(f"qr_every must be ≥ 1, got {qr_every}")
    Q = _random_basis(xp, X, k, seed)
    seen, count = 0, 0
    for X_b, after in batches(X, batch):
        Q = Q + step_size(schedule, step, offset, seen) * (xp.matrix_transpose(X_b) @ (X_b @ Q))
        seen, count = after, count + 1
        if count % qr_every == 0 or seen == X.shape[0]:
            Q = xp.linalg.qr(Q)[0]
        yield Q, _seen(xp, X, seen)


@method(family="spectral_filter", tasks=TASKS, dtypes=DTYPES, iterative=True)
def block_power(
    X: Any, k: int, batch: int, *, xp: Any, block: int = 8, seed: int = 0
) -> Iterator[Any]:
    """Block stochastic power method (Mitliagkas et al. 2013): S accumulates X_bᵀ X_b Q over
    ``block`` mini-batches, then Q ← qr(S); a last, incomplete block is not used (a power step
    on a few rows would undo the estimate). Yields (Q, [rows seen]) after every batch."""
    if block < 1:
        raise ValueError(f"block must be ≥ 1, got {block}")
    Q = _random_basis(xp, X, k, seed)
    S = xp.zeros_like(Q)
    for count, (X_b, seen) in enumerate(batches(X, batch), start=1):
        S = S + xp.matrix_transpose(X_b) @ (X_b @ Q)
        if count % block == 0:
            Q, S = xp.linalg.qr(S)[0], xp.zeros_like(Q)
        yield Q, _seen(xp, X, seen)


def shrink(xp: Any, B: Any, rows: int) -> Any:
    """Frequent directions' shrinkage: B's top ``rows`` right singular directions, with
    σᵢ² reduced by σ_{rows+1}² (the sketch then has ``rows`` rows)."""
    _, s, Vh = xp.linalg.svd(B, full_matrices=False)
    delta = s[rows] ** 2 if s.shape[0] > rows else 0.0
    kept = xp.sqrt(xp.clip(s[:rows] ** 2 - delta, min=0.0))
    return kept[:, None] * Vh[:rows, :]


def frequent_directions_sketches(
    xp: Any, X: Any, batch: int, rows: int
) -> Iterator[tuple[Any, int]]:
    """The frequent-directions sketch B after every mini-batch, with the rows seen: batches
    appended to B, B shrunk to ``rows`` rows whenever it reaches 2 ``rows`` (so it never holds
    more than 2 ``rows`` + ``batch``). Then ‖XᵀX − BᵀB‖₂ ≤ ‖X − X_k‖_F² / (rows − k) for
    every k < rows (Ghashami et al. 2016, Theorem 1.1)."""
    B = X[:0, :]
    for X_b, seen in batches(X, batch):
        B = xp.concat([B, X_b], axis=0)
        if B.shape[0] >= 2 * rows:
            B = shrink(xp, B, rows)
        yield B, seen


@method(family="spectral_filter", tasks=TASKS, dtypes=DTYPES, iterative=True)
def frequent_directions(X: Any, k: int, batch: int, *, xp: Any, sketch: int = 0) -> Iterator[Any]:
    """Frequent directions (Liberty 2013; Ghashami et al. 2016) with ℓ = ``sketch`` rows
    (0: 2k): batches appended to B, B shrunk to ℓ rows whenever it reaches 2ℓ; the estimate
    is B's top-k right singular vectors. Yields (Q, [rows seen]) after every batch."""
    rows = sketch if sketch > 0 else 2 * k
    if rows <= k:
        raise ValueError(f"the sketch needs ℓ > k = {k} rows, got {rows}")
    for B, seen in frequent_directions_sketches(xp, X, batch, rows):
        Vh = xp.linalg.svd(B, full_matrices=B.shape[0] < k)[2]
        yield xp.matrix_transpose(Vh[:k, :]), _seen(xp, X, seen)


@method(family="spectral_filter", tasks=TASKS, dtypes=DTYPES, iterative=True)
def covariance_eigh(X: Any, k: int, batch: int, *, xp: Any) -> Iterator[Any]:
    """The exact reference: C ← C + X_bᵀ X_b, Q = the eigenvectors of C's k largest
    eigenvalues (eigh). Yields (Q, [rows seen]) after every batch."""
    d = X.shape[1]
    C = xp.zeros((d, d), dtype=X.dtype, device=array_device(X))
    for X_b, seen in batches(X, batch):
        C = C + xp.matrix_transpose(X_b) @ X_b
        yield xp.linalg.eigh(C)[1][:, d - k :], _seen(xp, X, seen)


@hookimpl
def harness_methods() -> list[Method]:
    return [oja, block_power, frequent_directions, covariance_eigh]
