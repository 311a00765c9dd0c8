"""Method plugin: polynomial orthogonalizers, which map a matrix G = U Σ Vᵀ to (an
approximation of) its polar factor U Vᵀ, and the exact SVD reference. See
the method catalogue (METHODS.md), section 1, and docs/methods.md.

Every polynomial method here runs one loop, ``odd_polynomial_iterates``, with a schedule of
coefficients (a, b, c) per step; they differ only in where the schedule comes from.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness_builtins.orthogonalizers.polar_express import (
    POLAR_EXPRESS_PUBLISHED,
    Coefficients,
    with_safety_factor,
)
from harness_builtins.shared import DTYPES, back, frobenius, wide

from harness import Method, hookimpl, method


@dataclass(frozen=True)
class Schedule:
    """Per-step coefficients of p(x) = a x + b x³ + c x⁵ (the last step repeats once the
    schedule runs out) and the normalisation X₀ = G / (‖G‖_F · scale + ε)."""

    steps: tuple[Coefficients, ...]
    scale: float = 1.0

    def at(self, step: int) -> Coefficients:
        return self.steps[min(step, len(self.steps) - 1)]


MUON = (3.4445, -4.7750, 2.0315)

NEWTON_SCHULZ_COEFFICIENTS: dict[str, Schedule] = {
    "cubic": Schedule(((1.5, -0.5, 0.0),)),
    "quintic": Schedule(((15 / 8, -10 / 8, 3 / 8),)),
    "muon": Schedule((MUON,)),
    "you": Schedule(
        (
            (4.0848, -6.8946, 2.9270),
            (3.9505, -6.3029, 2.6377),
            (3.7418, -5.5913, 2.3037),
            (2.8769, -3.1427, 1.2046),
            (2.8366, -3.0525, 1.2012),
        )
    ),
    "polar_express": Schedule(with_safety_factor(POLAR_EXPRESS_PUBLISHED, 1.01), scale=1.01),
}
"""The named coefficient sets.

``cubic`` and ``quintic`` are the Taylor (Newton–Schulz) iterations, which converge to the
polar factor; ``muon`` is Keller Jordan's set for the Muon optimizer, chosen for a steep slope
at zero, which by design stops short of convergence (singular values end in about
[0.68, 1.13]); ``you`` is You Jiacheng's per-step set for 5 steps (its last step repeats
after that); ``polar_express`` is the published Polar Express table for ℓ = 1e-3 (Amsel et al.
2025) with its safety factor 1.01 on every step but the last and normalisation ‖G‖_F · 1.01.
"""

ROOT_COEFFICIENTS: dict[tuple[int, int], Coefficients] = {
    (2048, 2048): (3.4916, -4.8224, 2.1095),
    (2048, 3072): (3.4509, -4.5790, 1.9325),
    (2048, 8192): (2.9794, -3.6674, 1.6207),
    (2048, 16384): (3.1943, -3.8221, 1.5322),
}
"""ROOT's size-adaptive sets, keyed by (min dim, max dim); any other shape uses Muon's."""


def narrow_range(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype``'s largest value is below √(float32's largest), as float16's 65504 is:
    the square of any of its entries is then finite in float32, while a sum of squares in the
    dtype itself overflows (in float16, as soon as ‖X‖_F > 255.9). bfloat16 has float32's
    range and is not narrow."""
    return float(xp.finfo(dtype).max) < math.sqrt(float(xp.finfo(xp.float32).max))


def frobenius_normalized(xp: Any, X: Any, scale: float, eps: float) -> Any:
    """X / (‖X‖_F · scale + ε) per matrix of a stack, in X's dtype.

    For a dtype of narrow range (``narrow_range``: float16) the norm and the division are
    computed in float32 and the result cast back: numpy's float16 norm sums the squares in
    float16, which overflows to inf (and X₀ to 0) for ‖X‖_F > 255.9, and ‖X‖_F itself may
    exceed 65504 where every entry does not. The result has ‖X₀‖_F ≤ 1, so its entries and
    everything the iteration computes from it stay in range.
    """
    if not narrow_range(xp, X.dtype):
        return X / (frobenius(xp, X) * scale + eps)
    single = xp.astype(X, xp.float32)
    return xp.astype(single / (frobenius(xp, single) * scale + eps), X.dtype)


def odd_polynomial_iterates(
    xp: Any, G: Any, schedule: Schedule, steps: int, eps: float
) -> Iterator[Any]:
    """The shared Newton–Schulz loop: yields X after each of ``steps`` steps.

    X₀ = G / (‖G‖_F · s + ε) on the wide orientation (Gᵀ if m > n, so that A = X Xᵀ is the
    smaller Gram matrix), computed in float32 for a float16 G (``frobenius_normalized``);
    step t, in G's dtype: A = X Xᵀ, X ← a X + (b A + c A²) X with (a, b, c) the schedule's
    t-th set. Works on stacks of matrices (leading batch axes).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    X, transposed = wide(xp, G)
    X = frobenius_normalized(xp, X, schedule.scale, eps)
    for step in range(steps):
        a, b, c = schedule.at(step)
        A = X @ xp.matrix_transpose(X)
        X = a * X + (b * A + c * (A @ A)) @ X
        yield back(xp, X, transposed)


def newton_schulz_flops(sizes: Mapping[str, int], params: Mapping[str, Any]) -> float:
    """Per step, with p = min(m, n), q = max(m, n): X Xᵀ (p²q: a symmetric product, half of a
    general one, as BLAS ``syrk`` computes it and numpy calls it for X @ Xᵀ; counted at 2p²q it
    put numpy's Newton–Schulz at 107–115% of the measured GEMM peak), A² (2p³), B X (2p²q)."""
    p, q = sorted((sizes["m"], sizes["n"]))
    return params["steps"] * (3 * p * p * q + 2 * p**3)


def custom_schedule(custom: Sequence[float]) -> Schedule:
    """A schedule from a flat list a₁, b₁, c₁, a₂, b₂, c₂, ... (the last triple repeats)."""
    values = [float(v) for v in custom]
    if not values or len(values) % 3:
        raise ValueError(
            "coefficients: custom needs `custom` to be a flat list of (a, b, c) triples, "
            f"one per step (3, 6, 9, ... numbers); got {len(values)} numbers"
        )
    return Schedule(tuple(tuple(values[i : i + 3]) for i in range(0, len(values), 3)))


@method(
    family="orthogonalizer",
    dtypes={"float16", "bfloat16", "float32", "float64"},
    flops=newton_schulz_flops,
    iterative=True,
)
def newton_schulz(
    G: Any,
    *,
    xp: Any,
    steps: int = 5,
    coefficients: Literal["muon", "cubic", "quintic", "you", "polar_express", "custom"] = "muon",
    custom: tuple = (),
    eps: float = 1e-7,
) -> Iterator[Any]:
    """Newton–Schulz odd polynomial iteration towards the polar factor of G.

    X₀ = G / (‖G‖_F · s + ε) on the wide orientation; then ``steps`` times A = X Xᵀ,
    X ← a X + (b A + c A²) X. The Frobenius normalisation puts every singular value in
    (0, 1], where the polynomial pushes them towards 1; in float16 it is computed in float32
    (the sum of squares overflows float16 from ‖G‖_F ≈ 256), the steps in float16.
    ``coefficients`` names the (a, b, c) schedule: ``cubic`` (1.5, −0.5, 0) and ``quintic``
    (15/8, −10/8, 3/8) converge; ``muon`` (3.4445, −4.7750, 2.0315; Jordan et al. 2024, run
    for 5 steps in bfloat16) stalls with σ in about [0.68, 1.13]; ``you`` is a 5-step
    per-step set; ``polar_express`` (Amsel et al. 2025) is the published 8-step optimal
    schedule with safety factor 1.01 (s = 1.01). Per-step schedules repeat their last step.
    ``coefficients: custom`` takes the schedule from ``custom``, a flat list
    [a₁, b₁, c₁, a₂, b₂, c₂, ...] (s = 1; the last triple repeats), e.g.
    ``custom: [3.4445, -4.7750, 2.0315]``. Yields the iterate after every step; works on
    stacks of matrices.
    """
    if coefficients == "custom":
        schedule = custom_schedule(custom)
    elif custom:
        raise ValueError(f"`custom` is only read with coefficients: custom (not {coefficients})")
    else:
        schedule = NEWTON_SCHULZ_COEFFICIENTS[coefficients]
    yield from odd_polynomial_iterates(xp, G, schedule, steps, eps)


def _quantile_last_axis(xp: Any, values: Any, q: float) -> Any:
    """The q-quantile along the last axis, linearly interpolated (numpy's default), kept as
    a trailing axis of length 1."""
    count = values.shape[-1]
    ordered = xp.sort(values, axis=-1)
    position = q * (count - 1)
    lo = math.floor(position)
    hi = min(lo + 1, count - 1)
    frac = position - lo
    return ordered[..., lo : lo + 1] * (1 - frac) + ordered[..., hi : hi + 1] * frac


def robust_core(xp: Any, G: Any, quantile: float) -> Any:
    """G − o, where o = sign(G) · max(|G| − τ, 0) soft-thresholds the outliers above
    τ = the ``quantile``-quantile of |G| (per matrix); that is, G clipped to [−τ, τ]."""
    *batch, m, n = G.shape
    tau = _quantile_last_axis(xp, xp.reshape(xp.abs(G), (*batch, m * n)), quantile)
    tau = xp.reshape(tau, (*batch, 1, 1))
    return xp.minimum(xp.maximum(G, -tau), tau)


@method(
    family="orthogonalizer",
    dtypes={"float16", "bfloat16", "float32", "float64"},
    flops=newton_schulz_flops,
    iterative=True,
)
def root(
    G: Any,
    *,
    xp: Any,
    steps: int = 5,
    robust: bool = False,
    quantile: float = 0.9,
    eps: float = 1e-7,
) -> Iterator[Any]:
    """ROOT (Robust Orthogonalized Optimizer, 2025): Newton–Schulz with size-adaptive
    coefficients, optionally on an outlier-free core of G.

    The quintic's (a, b, c) are chosen for the matrix shape, keyed by (min dim, max dim):
    (2048, 2048) → (3.4916, −4.8224, 2.1095), (2048, 3072) → (3.4509, −4.5790, 1.9325),
    (2048, 8192) → (2.9794, −3.6674, 1.6207), (2048, 16384) → (3.1943, −3.8221, 1.5322);
    every other shape uses Muon's (3.4445, −4.7750, 2.0315). With ``robust`` the input is
    split as G = B + O by soft-thresholding at τ = the ``quantile``-quantile of |G|
    (O = sign(G) max(|G| − τ, 0), B = G − O = clip(G, −τ, τ)) and only B is orthogonalised;
    the outliers O are dropped from the update. The task still scores the output against
    the polar factor of the whole G. Normalised and iterated as ``newton_schulz`` (the
    norm in float32 for a float16 input). Yields the iterate after every step.
    """
    p, q = sorted(G.shape[-2:])
    schedule = Schedule((ROOT_COEFFICIENTS.get((p, q), MUON),))
    core = robust_core(xp, G, quantile) if robust else G
    yield from odd_polynomial_iterates(xp, core, schedule, steps, eps)


@method(family="orthogonalizer", dtypes=DTYPES)
def svd_polar(G: Any, *, xp: Any) -> Any:
    """The exact polar factor from a thin SVD: G = U Σ Vᵀ gives Q = U Vᵀ (the reference)."""
    U, _, Vh = xp.linalg.svd(G, full_matrices=False)
    return U @ Vh


@hookimpl
def harness_methods() -> list[Method]:
    return [newton_schulz, root, svd_polar]
