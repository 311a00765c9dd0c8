"""Throughput of many short cases: the local executor against a LocalCluster of 2 Dask workers.

The cases are small orthogonalizations (numpy, float64, one BLAS thread, two timing samples
of one call each), so the executor's own work per case is what shows. After a warm-up (the
workers load the registry and start their fork servers), the executors take turns over the
same cases, ``--rounds`` times, and the median pass counts. Dask runs twice: with the machine
lock (the default: the two workers, on one machine, time one case at a time) and with
``concurrent_timing``.

The per-case scheduling overhead is (Dask wall time − local wall time) / cases, with the
machine lock on, so that both run one case at a time; it is set against the local time per
case. Under ``--isolation inline`` each case is a few milliseconds, so nearly all of the
difference is Dask's round trips.

    .venv/bin/python scripts/bench_distributed.py [--cases 40] [--rounds 3] [--isolation inline]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from harness.plugins.registry import Registry
from harness.run.case import Case, RunOptions
from harness.run.dask_executor import DaskExecutor
from harness.run.executors import Executor, LocalExecutor
from harness.run.timing import TimingOptions


def cases(count: int) -> list[Case]:
    methods = ("newton_schulz", "svd_polar")
    return [
        Case("orthogonalize", methods[i % 2], "numpy", "float64", {"m": 32, "n": 32}, {}, {}, i)
        for i in range(count)
    ]


def wall_seconds(
    executor: Executor, todo: list[Case], registry: Registry, options: RunOptions
) -> float:
    """Seconds for one pass over ``todo``."""
    start = time.perf_counter()
    results = list(executor.run(todo, registry, options))
    seconds = time.perf_counter() - start
    assert all(r.status == "ok" for r in results), {r.status for r in results}
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--isolation", choices=("process", "inline"), default="process")
    args = parser.parse_args()
    registry = Registry.load()
    todo = cases(args.cases)
    options = RunOptions(
        TimingOptions(warmup=0, min_time=0, min_samples=2, budget=0),
        isolation=args.isolation,
        threads=1,
        roofline=False,
    )
    concurrent = dataclasses.replace(options, concurrent_timing=True)
    with LocalExecutor() as local, DaskExecutor.local(2) as dask:
        runs = {
            "local executor": (local, options),
            "Dask, 2 workers, machine lock": (dask, options),
            "Dask, 2 workers, concurrent_timing": (dask, concurrent),
        }
        for executor, run_options in runs.values():  # warm up: registry, fork server
            wall_seconds(executor, todo[:4], registry, run_options)
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):  # interleaved, so that the machine's load hits all alike
            for name, (executor, run_options) in runs.items():
                seconds[name].append(wall_seconds(executor, todo, registry, run_options))
    per_case = {name: statistics.median(s) / args.cases for name, s in seconds.items()}
    print(
        f"{args.cases} cases (isolation {args.isolation}), median of {args.rounds} "
        "interleaved passes, wall time per case:"
    )
    for name, value in per_case.items():
        print(f"  {name:36s} {1e3 * value:8.1f} ms")
    overhead = per_case["Dask, 2 workers, machine lock"] - per_case["local executor"]
    print(
        f"  scheduling overhead per case: {1e3 * overhead:.1f} ms "
        f"= {100 * overhead / per_case['local executor']:.0f}% of a local case's time"
    )


if __name__ == "__main__":
    main()
