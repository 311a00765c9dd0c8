"""How far the harness's own numbers can be trusted on this machine (issue 3's figures).

Run: ``.venv/bin/python scripts/measure_harness.py`` (about two minutes on 2 cores). Prints:

1. Fidelity: numpy workloads of about 10 µs, 1 ms and 100 ms, timed by the harness
   (``harness.run.timing.measure``) and independently by ``timeit`` (best of 5 medians of 7
   repeats at ``autorange``'s loop count), interleaved in the same process; the ratio for each.
2. Repeatability: the smoke suite run twice (``harness run smoke``, worker processes);
   the distribution of per-case median ratios, and the share within 5%.
3. Overhead: the smoke suite's wall time against the sum of its timed regions, and the fixed
   cost per case (worker start, problem transfer, metrics, database) that this leaves.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

from harness.plugins.registry import Registry
from harness.run.timing import TimingOptions, measure
from harness.suite.loader import load

ROUNDS = 3


def timeit_best_of_medians(call, rounds: int = 5, repeat: int = 7) -> float:
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    return min(
        statistics.median(timer.repeat(repeat=repeat, number=number)) / number
        for _ in range(rounds)
    )


def fidelity() -> None:
    rng = np.random.default_rng(0)
    vector = rng.standard_normal(20_000)
    small = rng.standard_normal((360, 360))
    large = rng.standard_normal((1600, 1600))
    workloads = {
        "~10 us: sum of 20k floats": vector.sum,
        "~1 ms: 360^2 matmul": lambda: small @ small,
        "~100 ms: 1600^2 matmul": lambda: large @ large,
    }
    backend = Registry.load().backend("numpy")
    options = TimingOptions(warmup=2, min_time=0.02, min_samples=7, budget=0.5)
    print("1. Fidelity: harness median against timeit best-of-medians (same process)")
    print(f"   {'workload':28} {'harness':>12} {'timeit':>12} {'ratio':>7}")
    for name, call in workloads.items():
        ratios = []
        for _ in range(ROUNDS):  # interleaved, so drift hits both alike
            ours = measure(call, backend, options).summary.median
            theirs = timeit_best_of_medians(call)
            ratios.append(ours / theirs)
        ratio = statistics.median(ratios)
        print(
            f"   {name:28} {ours * 1e6:10.1f}us {theirs * 1e6:10.1f}us {ratio:7.3f}"
            f"   (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
        )


def run_smoke(db: Path) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", "smoke", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if out.returncode not in (0, 1):
        sys.exit(f"harness run failed:\n{out.stderr}")
    return wall, json.loads(out.stdout)["cases"]


def key(case: dict) -> str:
    return json.dumps(
        [case[k] for k in ("method", "params", "backend", "dtype", "sizes", "problem")]
    )


def repeatability_and_overhead() -> None:
    # measure (or read) the roofline first, so that neither smoke run pays for it
    threads = load("smoke", Registry.load()).options.threads
    command = [sys.executable, "-m", "harness", "roofline"]
    subprocess.run(
        command + (["--threads", str(threads)] if threads else []), check=True, capture_output=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        walls, runs = [], []
        for i in range(2):
            wall, cases = run_smoke(Path(tmp) / f"run{i}.sqlite")
            walls.append(wall)
            runs.append({key(c): c for c in cases if c["status"] == "ok"})
    ratios = sorted(
        runs[1][k]["median_s"] / runs[0][k]["median_s"] for k in runs[0] if k in runs[1]
    )
    within = sum(abs(r - 1) <= 0.05 for r in ratios) / len(ratios)
    q = np.percentile(ratios, [0, 10, 25, 50, 75, 90, 100])
    print("\n2. Repeatability: smoke suite twice, per-case median ratio (second / first)")
    print(
        f"   {len(ratios)} cases; quantiles 0/10/25/50/75/90/100%: "
        + " ".join(f"{v:.3f}" for v in q)
    )
    print(f"   within 5%: {within:.0%} of cases (goal: 90%)")
    print("\n3. Overhead: wall time of the smoke suite against its timed regions")
    for i, (wall, cases) in enumerate(zip(walls, runs, strict=True)):
        timed = sum(c["number"] * sum(c["samples"]) for c in cases.values())
        per_case = (wall - timed) / len(cases)
        print(
            f"   run {i + 1}: wall {wall:.1f} s, timed {timed:.1f} s ({timed / wall:.0%}), "
            f"fixed cost {per_case * 1e3:.0f} ms per case ({len(cases)} cases run)"
        )


if __name__ == "__main__":
    fidelity()
    repeatability_and_overhead()
