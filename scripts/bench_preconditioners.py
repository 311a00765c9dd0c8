"""The preconditioner figures of issue 4, measured in one run with the harness's own timing
(``harness.run.timing.measure`` on the numpy backend, one BLAS thread: on 2 shared cores a
two-thread dot product can be a hundred times slower than a one-thread one).

Run: ``.venv/bin/python scripts/bench_preconditioners.py`` (about three minutes on 2 cores).
Prints:

1. Jacobi-PCG (``pcg_jacobi``) against scipy.sparse.linalg.cg with the same Jacobi
   preconditioner (``scipy_cg``) on the 2D Poisson problem with 512 × 512 unknowns, to a
   relative residual of 1e-8: the median time of each over interleaved rounds, the ratio
   (goal ≤ 1.0) and both iteration counts (goal: equal ± 1).
2. Iterations (and time, relative residual, κ estimate) of every preconditioner on that
   system, AMG included.
3. ``coupled_newton_root`` against ``eigh_root`` for A^(−1/4) of a 1024 × 1024 SPD matrix
   (log-spaced spectrum, κ = 1e3) in float64 and float32: the time ratio and the accuracy
   each reached against the float64 eigh reference.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from harness.plugins.registry import Registry
from harness.run.execute import to_host
from harness.run.timing import TimingOptions, measure

REGISTRY = Registry.load()
BACKEND = REGISTRY.backend("numpy")
ONE_SAMPLE = TimingOptions(warmup=0, min_time=0, min_samples=1, budget=0)
ROUNDS = 3


def timed(method_name: str, problem: Any, dtype: str, params: dict | None = None) -> tuple:
    """(median seconds, host output) of one method on one problem, by the harness's protocol."""
    method = REGISTRY.method(method_name)
    inputs = tuple(BACKEND.to_device(value, dtype) for value in problem.inputs)
    timing = measure(lambda: method(*inputs, xp=BACKEND.xp, **(params or {})), BACKEND, ONE_SAMPLE)
    return timing.summary.median, to_host(timing.output, BACKEND)


def jacobi_against_scipy(problem: Any) -> None:
    metrics = REGISTRY.task("spd_solve").metrics
    times: dict[str, list[float]] = {"pcg_jacobi": [], "scipy_cg": []}
    iterations: dict[str, float] = {}
    for _ in range(ROUNDS):  # interleaved, so drift on the shared machine hits both alike
        for name in times:
            seconds, output = timed(name, problem, "float64")
            times[name].append(seconds)
            iterations[name] = metrics(problem, output)["iterations"]
    ours, scipy = (statistics.median(times[name]) for name in ("pcg_jacobi", "scipy_cg"))
    print("1. Jacobi-PCG vs scipy.sparse.linalg.cg (same Jacobi preconditioner), 2D Poisson")
    print("   512 x 512 unknowns, float64, rtol 1e-8, numpy, 1 thread")
    for name in times:
        rounds = ", ".join(f"{t:.3f}" for t in times[name])
        print(
            f"   {name:11} median {statistics.median(times[name]):.3f} s  (rounds: {rounds})"
            f"  iterations {iterations[name]:.0f}"
        )
    per_round = ", ".join(f"{a / b:.3f}" for a, b in zip(*times.values(), strict=True))
    print(
        f"   time ratio pcg_jacobi / scipy_cg: {ours / scipy:.3f} (per round: {per_round});"
        f" iterations differ by {abs(iterations['pcg_jacobi'] - iterations['scipy_cg']):.0f}"
    )


EVERY_PRECONDITIONER = [
    ("pcg_identity", {}),
    ("pcg_jacobi", {}),
    ("pcg_chebyshev_poly", {"degree": 4}),
    ("pcg_neumann_poly", {"degree": 3}),
    ("pcg_nystrom", {"rank": 20}),
    ("scipy_cg", {}),
    ("ilu_cg", {}),
    ("amg_cg", {}),
]


def every_preconditioner(problem: Any) -> None:
    metrics = REGISTRY.task("spd_solve").metrics
    print("\n2. Every preconditioner on the same system (float64; products with A per CG step:")
    print("   1 + degree for the polynomials)")
    print(
        f"   {'method':20} {'params':12} {'iterations':>10} {'time s':>8} {'rel. residual':>14}"
        f" {'kappa est.':>11}"
    )
    for name, params in EVERY_PRECONDITIONER:
        seconds, output = timed(name, problem, "float64", params)
        m = metrics(problem, output)
        shown = ",".join(f"{k}={v}" for k, v in params.items())
        kappa = f"{m['kappa_estimate']:.3g}" if "kappa_estimate" in m else "-"
        print(
            f"   {name:20} {shown:12} {m['iterations']:10.0f} {seconds:8.2f}"
            f" {m['relative_residual']:14.2e} {kappa:>11}"
        )


def roots() -> None:
    task = REGISTRY.task("inverse_root")
    problem = task.generate({"n": 1024}, np.random.default_rng(0), p=4, kappa=1e3)
    print("\n3. A^(-1/4), 1024 x 1024 SPD (log-spaced spectrum, kappa 1e3), numpy, 1 thread;")
    print("   accuracy against the float64 eigh reference")
    print(f"   {'dtype':8} {'method':20} {'time s':>8} {'relative error':>15} {'residual':>10}")
    for dtype in ("float64", "float32"):
        times: dict[str, list[float]] = {"eigh_root": [], "coupled_newton_root": []}
        accuracy: dict[str, dict[str, float]] = {}
        # tol: the coupled Newton iteration runs until max|M − I| stops decreasing, i.e. to
        # the accuracy the dtype allows, which is the accuracy eigh reaches too
        params = {"eigh_root": {}, "coupled_newton_root": {"tol": 0.0}}
        for _ in range(2):
            for name in times:
                seconds, output = timed(name, problem, dtype, params[name])
                times[name].append(seconds)
                accuracy[name] = task.metrics(problem, output)
        for name in times:
            print(
                f"   {dtype:8} {name:20} {statistics.median(times[name]):8.3f}"
                f" {accuracy[name]['relative_error']:15.2e} {accuracy[name]['residual']:10.2e}"
            )
        ratio = statistics.median(times["coupled_newton_root"]) / statistics.median(
            times["eigh_root"]
        )
        print(f"   {dtype:8} time ratio coupled_newton_root / eigh_root: {ratio:.2f}")


def main() -> None:
    with threadpool_limits(1):
        problem = REGISTRY.task("spd_solve").generate(
            {"n": 512}, np.random.default_rng(0), matrix="poisson2d"
        )
        jacobi_against_scipy(problem)
        every_preconditioner(problem)
        roots()


if __name__ == "__main__":
    main()
