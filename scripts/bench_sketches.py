"""The sketch figures of issue 5, measured in one run with the harness's own timing
(``harness.run.timing.measure``, warm cache) on the numpy backend (and torch for comparison),
with one BLAS thread: on 2 shared cores two-thread BLAS calls wait on each other's wake-ups,
and the FWHT's many small GEMMs then run 4-8x slower and erratically.

Run: ``.venv/bin/python scripts/bench_sketches.py`` (a few minutes on 2 busy cores; about
3 GB of memory). Prints:

1. CountSketch (``countsketch``, s = 1000) of a 10⁶ × 100 float64 matrix: its median time
   against one read of the matrix (800 MB) at the copy bandwidth measured in this run by
   ``harness.run.roofline.measure_bandwidth`` (goal: within 3×), and against numpy's own
   column sum (one streaming read in practice).
2. The fast Walsh–Hadamard transform's block size (``fwht(block=b)``) on 2¹⁸ × 64: the
   time per block size, which is what ``HADAMARD_BLOCK`` was chosen from.
3. SRHT against the Gaussian sketch (n = 64, s = 64 and 256) as the number of rows m grows:
   the median time of each over 3 alternating rounds, their ratio, and the m from which the
   SRHT stays faster on this machine.
   The Gaussian sketch's time includes drawing its s·m normal numbers, as in the method.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from harness.plugins.registry import Registry
from harness.run.roofline import measure_bandwidth
from harness.run.timing import TimingOptions, measure

REGISTRY = Registry.load()
OPTIONS = TimingOptions(warmup=1, min_time=0, min_samples=5, budget=0)
ROUNDS = 3
"""Part 3 alternates the two sketches this many times and keeps each one's median."""


def median_seconds(call: Any, backend: Any) -> float:
    summary = measure(call, backend, OPTIONS).summary
    assert summary is not None
    return summary.median


def countsketch_against_bandwidth() -> None:
    from harness_builtins.sketches.sketches import countsketch

    numpy = REGISTRY.backend("numpy")
    bandwidth = measure_bandwidth(numpy, "float64")["copy_gbs"]
    A = np.random.default_rng(0).standard_normal((10**6, 100))
    one_read = A.nbytes / (bandwidth * 1e9)
    column_sum = median_seconds(lambda: A.sum(axis=0), numpy)
    print("1. CountSketch, 10^6 x 100 float64, s = 1000")
    print(
        f"   copy bandwidth {bandwidth:.1f} GB/s: one read of {A.nbytes / 1e6:.0f} MB "
        f"= {one_read * 1e3:.1f} ms; numpy A.sum(axis=0) {column_sum * 1e3:.1f} ms"
    )
    for name in ("numpy", "torch"):
        backend = REGISTRY.backend(name)
        X = backend.from_numpy(A, "float64")
        seconds = median_seconds(lambda X=X, b=backend: countsketch(X, 1000, xp=b.xp), backend)
        print(
            f"   {name:6s} countsketch {seconds * 1e3:7.1f} ms = {seconds / one_read:5.2f} x "
            f"one read at the copy bandwidth, {seconds / column_sum:5.2f} x A.sum(axis=0)"
        )
        del X


def fwht_block_sizes() -> None:
    from harness_builtins.sketches.sketches import HADAMARD_BLOCK, fwht

    print(f"2. FWHT of a 2^18 x 64 float64 array by block size (HADAMARD_BLOCK = {HADAMARD_BLOCK})")
    X = np.random.default_rng(0).standard_normal((2**18, 64))
    for name in ("numpy", "torch"):
        backend = REGISTRY.backend(name)
        Xb = backend.from_numpy(X, "float64")
        times = {
            block: median_seconds(
                lambda b=block, xp=backend.xp, Xb=Xb: fwht(xp, Xb, block=b), backend
            )
            for block in (2, 4, 8, 16, 32, 64, 128)
        }
        print(f"   {name:6s} " + "  ".join(f"b={b}: {t * 1e3:.0f} ms" for b, t in times.items()))


def srht_against_gaussian(n: int = 64) -> None:
    from harness_builtins.sketches.sketches import gaussian, srht

    backend = REGISTRY.backend("numpy")
    print(f"3. SRHT against Gaussian sketch, numpy float64, n = {n}")
    for s in (64, 256):
        print(f"   s = {s}\n   m          gaussian ms   srht ms   gaussian/srht")
        ratios = {}
        for m in (128, 256, 512, 1024, 4096, 16384, 65536, 262144, 300000, 524288):
            if m < s:
                continue
            A = np.random.default_rng(m).standard_normal((m, n))
            rounds = [
                (
                    median_seconds(lambda A=A, s=s: gaussian(A, s, xp=backend.xp), backend),
                    median_seconds(lambda A=A, s=s: srht(A, s, xp=backend.xp), backend),
                )
                for _ in range(ROUNDS)
            ]
            t_gauss, t_srht = np.median(rounds, axis=0)
            ratios[m] = t_gauss / t_srht
            print(f"   {m:<9d}  {t_gauss * 1e3:11.1f}  {t_srht * 1e3:8.1f}  {ratios[m]:10.2f}")
        faster = [m for m, ratio in ratios.items() if ratio > 1]
        where = f"at m = {', '.join(map(str, faster))}" if faster else "at no m measured"
        print(f"   s = {s}: SRHT faster {where} (300000 rows are padded to 2^19)")


if __name__ == "__main__":
    parts = {"1": countsketch_against_bandwidth, "2": fwht_block_sizes, "3": srht_against_gaussian}
    with threadpool_limits(1):
        for key in sys.argv[1:] or parts:
            parts[key]()
