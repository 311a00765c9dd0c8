"""The Polar Express coefficient schedule, recomputed from (lower bound, steps).

Amsel, Persson, Musco and Gower, *The Polar Express: Optimal Matrix Sign Methods and Their
Application to the Muon Algorithm* (2025). After normalisation the singular values of X lie in
[ℓ, u] with u = 1 and ℓ a guessed lower bound (1e-3). Each step applies the odd quintic

    p(x) = a x + b x³ + c x⁵

that minimises max_{x ∈ [ℓ, u]} |1 − p(x)| (the minimax, or Remez, polynomial). By the
equioscillation theorem the error of the optimum reaches its maximum E with alternating signs
at four points: ℓ, the two interior critical points q < r of p, and u:

    1 − p(ℓ) = +E,  1 − p(q) = −E,  1 − p(r) = +E,  1 − p(u) = −E.

``optimal_quintic`` solves this 4×4 linear system for (a, b, c, E), moves q and r to the
critical points of the new p (the roots of p′(x) = a + 3b x² + 5c x⁴) and repeats until E
stops changing (the Remez exchange). The singular values then lie in [p(ℓ), p(u)] =
[1 − E, 1 + E], so the next step works on ℓ ← p(ℓ), u ← 2 − ℓ.

Two details of the paper are needed to reproduce its published table (the test vector in
``POLAR_EXPRESS_PUBLISHED``):

- *cushioning*: the polynomial is fitted on [max(ℓ, 0.02407…·u), u] rather than on [ℓ, u],
  which keeps the first polynomials from growing too steep to be stable in low precision,
  and then rescaled by 2 / (p(ℓ) + p(u)) so that it is again centred on 1 over [ℓ, u];
- when ℓ/u > 1 − 5·10⁻⁶ the optimum is numerically the Taylor quintic (15/8, −10/8, 3/8)
  scaled to [0, u].

With both, ``polar_express_coefficients(1e-3, 8)`` matches the published steps 1 to 6 to
about 1e-15 relative, step 7 to about 2e-11 and step 8 to about 2e-9 (the paper prints
the limit (1.875, −1.25, 0.375) for step 8). Without the cushion the first step is
(8.470, −25.108, 18.629) instead of (8.287, −23.596, 17.300).

The published safety factor (for bfloat16) is applied by ``with_safety_factor``, not here.
"""

from __future__ import annotations

import math

import numpy as np

Coefficients = tuple[float, float, float]

POLAR_EXPRESS_CUSHION = 0.02407327424182761
"""The paper's cushion: the ratio ℓ/u below which the fitting interval is not widened."""

POLAR_EXPRESS_PUBLISHED: tuple[Coefficients, ...] = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)
"""The published 8 steps for ℓ = 1e-3 (before the safety factor); the last one repeats."""


def odd_quintic(coefficients: Coefficients, x: float) -> float:
    a, b, c = coefficients
    return a * x + b * x**3 + c * x**5


def optimal_quintic(lower: float, upper: float, *, max_iter: int = 100) -> Coefficients:
    """The odd quintic minimising max |1 − p(x)| over [lower, upper] (Remez exchange)."""
    if not 0 < lower <= upper:
        raise ValueError(f"need 0 < lower <= upper, got [{lower}, {upper}]")
    if lower / upper > 1 - 5e-6:  # numerically the Taylor quintic, scaled to [0, upper]
        return 15 / 8 / upper, -10 / 8 / upper**3, 3 / 8 / upper**5
    q, r = (3 * lower + upper) / 4, (lower + 3 * upper) / 4  # exact as lower → upper
    signs = np.array([1.0, -1.0, 1.0, -1.0])
    error = math.inf
    for _ in range(max_iter):
        x = np.array([lower, q, r, upper])
        system = np.stack([x, x**3, x**5, signs], axis=1)
        a, b, c, new_error = np.linalg.solve(system, np.ones(4))
        root = math.sqrt(9 * b * b - 20 * a * c)
        q, r = math.sqrt((-3 * b - root) / (10 * c)), math.sqrt((-3 * b + root) / (10 * c))
        if abs(new_error - error) <= 1e-15:
            break
        error = new_error
    return float(a), float(b), float(c)


def polar_express_coefficients(
    lower: float = 1e-3, steps: int = 8, *, cushion: float = POLAR_EXPRESS_CUSHION
) -> list[Coefficients]:
    """The Polar Express schedule: one optimal odd quintic per step, for σ ∈ [lower, 1]."""
    upper = 1.0
    schedule = []
    for _ in range(steps):
        coefficients = optimal_quintic(max(lower, cushion * upper), upper)
        scale = 2 / (odd_quintic(coefficients, lower) + odd_quintic(coefficients, upper))
        a, b, c = (scale * k for k in coefficients)
        schedule.append((a, b, c))
        lower = odd_quintic((a, b, c), lower)
        upper = 2 - lower
    return schedule


def with_safety_factor(
    schedule: tuple[Coefficients, ...] | list[Coefficients], factor: float = 1.01
) -> tuple[Coefficients, ...]:
    """Every step but the last as p(x / f) · ... : (a/f, b/f³, c/f⁵); the last one unchanged.

    Dividing x by f > 1 keeps round-off from pushing a singular value past the interval the
    polynomial was fitted on, where the steep early polynomials diverge.
    """
    *head, last = schedule
    return (*((a / factor, b / factor**3, c / factor**5) for a, b, c in head), last)
