"""Method plugin: sketched least squares min‖Ax − b‖₂ for a tall m×n A (m ≫ n), for the
``least_squares`` task, whose inputs are ``(A, b)``.

- ``sketch_and_solve``: x̃ = argmin ‖S(Ax − b)‖ for an s×m sketch S, s = ⌈factor·n⌉
  (Sarlós 2006): one pass over A, residual within a factor 1 + O(n/s) of the optimum for a
  subspace embedding, never the exact solution.
- ``sketch_precondition_lsqr``: Blendenpik (Avron, Maymounkov and Toledo 2010) / LSRN (Meng,
  Saunders and Mahoney 2014): S A = Q_S R, then LSQR on the preconditioned problem
  min‖A R⁻¹ y − b‖ (κ(A R⁻¹) = O(1) when S embeds range(A)), warm-started at the
  sketch-and-solve solution R⁻¹ Q_Sᵀ S b. Converges to the exact minimiser in a number of
  iterations independent of κ(A).

S comes from any sketch of ``sketches`` (beside it), applied to [A | b] at once (so that
data-dependent sketches such as leverage-score sampling see b too). See the method catalogue
(METHODS.md), section 2, and docs/methods.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Literal

from array_api_compat import device as array_device
from harness_builtins.shared import DTYPES
from harness_builtins.sketches.sketches import SKETCH_NAMES, apply_sketch

from harness import Method, hookimpl, method

TASKS = {"least_squares"}
SketchName = Literal[
    SKETCH_NAMES
]  # the sketches of harness_builtins.sketches.sketches, checked by suites


def sketch_system(
    xp: Any, A: Any, b: Any, factor: float, sketch: str, seed: int
) -> tuple[Any, Any]:
    """(S A, S b) for the s×m ``sketch`` S drawn from ``seed``, s = ⌈factor·n⌉."""
    m, n = A.shape
    s = math.ceil(factor * n)
    if not n <= s <= m:
        raise ValueError(
            f"sketch size ⌈{factor}·n⌉ = {s} must lie in [n, m] = [{n}, {m}] for A of shape "
            f"{m}×{n}: pick a sketch_factor between 1 and {m / n:.3g}"
        )
    SAb = apply_sketch(sketch, xp.concat((A, b[:, None]), axis=1), s, xp=xp, seed=seed)
    return SAb[:, :n], SAb[:, n]


def sketched_solution(xp: Any, SA: Any, Sb: Any) -> tuple[Any, Any]:
    """R from S A = Q_S R and x̃ = R⁻¹ Q_Sᵀ S b, the sketch-and-solve solution."""
    Q, R = xp.linalg.qr(SA)
    return R, xp.linalg.solve(R, xp.matrix_transpose(Q) @ Sb)


@method(family="sketch", tasks=TASKS, dtypes=DTYPES)
def sketch_and_solve(
    A: Any,
    b: Any,
    *,
    xp: Any,
    sketch: SketchName = "gaussian",
    sketch_factor: float = 4.0,
    seed: int = 0,
) -> Any:
    """Sketch-and-solve least squares (Sarlós 2006): x̃ = argmin ‖S A x − S b‖ through a
    Householder QR of the s×n matrix S A, s = ⌈``sketch_factor``·n⌉. For a Gaussian S,
    E‖Ax̃ − b‖² = (1 + n/(s − n − 1)) ‖Ax* − b‖², so the residual ratio is about
    n/(2(s − n)) whatever κ(A); the forward error grows with κ(A)."""
    SA, Sb = sketch_system(xp, A, b, sketch_factor, sketch, seed)
    return sketched_solution(xp, SA, Sb)[1]


def lsqr(
    xp: Any,
    matvec: Callable[[Any], Any],
    rmatvec: Callable[[Any], Any],
    b: Any,
    n: int,
    *,
    tol: float,
    maxiter: int,
) -> Iterator[tuple[Any, int]]:
    """LSQR for min‖M y − b‖ from y₀ = 0 (Paige and Saunders, ACM TOMS 8(1), 1982), with M
    given by ``matvec`` (v ↦ M v) and ``rmatvec`` (u ↦ Mᵀ u). Golub–Kahan bidiagonalisation
    β₁u₁ = b, α₁v₁ = Mᵀu₁; βᵢ₊₁uᵢ₊₁ = M vᵢ − αᵢuᵢ, αᵢ₊₁vᵢ₊₁ = Mᵀuᵢ₊₁ − βᵢ₊₁vᵢ, and the
    QR of the bidiagonal by Givens rotations updated one step at a time: ρ = √(ρ̄² + β²),
    c = ρ̄/ρ, s = β/ρ, θ = s α, ρ̄ ← −c α, φ = c φ̄, φ̄ ← s φ̄, y ← y + (φ/ρ) w,
    w ← v − (θ/ρ) w. Then ‖r‖ = φ̄ and ‖Mᵀr‖ = φ̄ α |c| without forming r.

    Stops when ‖Mᵀr‖ ≤ ``tol``·‖M‖·‖r‖ (‖M‖ estimated from below by the largest column
    norm of the bidiagonal so far) or ‖r‖ ≤ ``tol``·‖b‖, or after ``maxiter`` steps. Yields
    (y, steps) after every step. Two host synchronisations per step (α and β)."""
    beta = b_norm = float(xp.linalg.vector_norm(b))
    if beta == 0:
        return
    u = b / beta
    v = rmatvec(u)
    alpha = float(xp.linalg.vector_norm(v))
    if alpha == 0:  # Mᵀb = 0: y = 0 is the minimiser
        return
    v = v / alpha
    w = v
    y = xp.zeros(n, dtype=b.dtype, device=array_device(b))
    phi_bar, rho_bar, norm_M = beta, alpha, alpha
    for step in range(1, maxiter + 1):
        u = matvec(v) - alpha * u
        beta = float(xp.linalg.vector_norm(u))
        if beta > 0:
            u = u / beta
        norm_M = max(norm_M, math.hypot(alpha, beta))
        v = rmatvec(u) - beta * v
        alpha = float(xp.linalg.vector_norm(v))
        if alpha > 0:
            v = v / alpha
        rho = math.hypot(rho_bar, beta)
        c, s = rho_bar / rho, beta / rho
        theta, rho_bar = s * alpha, -c * alpha
        phi, phi_bar = c * phi_bar, s * phi_bar
        y = y + (phi / rho) * w
        w = v - (theta / rho) * w
        yield y, step
        if alpha * abs(c) <= tol * norm_M or phi_bar <= tol * b_norm:  # ‖Mᵀr‖ = φ̄ α |c|
            return


@method(family="sketch", tasks=TASKS, dtypes=DTYPES, iterative=True)
def sketch_precondition_lsqr(
    A: Any,
    b: Any,
    *,
    xp: Any,
    sketch: SketchName = "gaussian",
    sketch_factor: float = 4.0,
    tol: float = 1e-12,
    maxiter: int = 100,
    seed: int = 0,
) -> Iterator[tuple[Any, Any]]:
    """Sketch-and-precondition least squares (Blendenpik: Avron, Maymounkov and Toledo, SIAM
    J. Sci. Comput. 32(3), 2010; LSRN: Meng, Saunders and Mahoney, SIAM J. Sci. Comput.
    36(2), 2014): S A = Q_S R for the s×m ``sketch`` S (s = ⌈``sketch_factor``·n⌉), x₀ the
    sketch-and-solve solution R⁻¹ Q_Sᵀ S b, then LSQR on min‖A R⁻¹ z − r₀‖, r₀ = b − A x₀,
    and x = x₀ + R⁻¹ z. When S is a subspace embedding with distortion ε, the singular values
    of A R⁻¹ lie in [1/(1 + ε), 1/(1 − ε)], so LSQR gains a factor about ε per step, whatever
    κ(A) (for a Gaussian S, ε ≈ √(n/s): 0.5 at s = 4n). R⁻¹ is formed once (n³/3 flops) and
    applied as a product. Yields (x, [steps]) for the warm start (steps 0) and after every
    LSQR step, stopping at relative tolerance ``tol`` (LSQR's ‖(AR⁻¹)ᵀr‖ test) or
    ``maxiter`` steps."""
    n = A.shape[1]
    SA, Sb = sketch_system(xp, A, b, sketch_factor, sketch, seed)
    R, x0 = sketched_solution(xp, SA, Sb)
    R_inv = xp.linalg.inv(R)
    R_inv_t = xp.matrix_transpose(R_inv)
    At = xp.matrix_transpose(A)

    def steps(count: int) -> Any:
        return xp.asarray([float(count)], dtype=b.dtype, device=array_device(b))

    yield x0, steps(0)
    for z, count in lsqr(
        xp,
        lambda v: A @ (R_inv @ v),
        lambda u: R_inv_t @ (At @ u),
        b - A @ x0,
        n,
        tol=tol,
        maxiter=maxiter,
    ):
        yield x0 + R_inv @ z, steps(count)


@hookimpl
def harness_methods() -> list[Method]:
    return [sketch_and_solve, sketch_precondition_lsqr]
