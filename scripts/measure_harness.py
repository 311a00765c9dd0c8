"""How far the harness's own numbers can be trusted, and what it costs per case (issues 3, 19).

Run: ``.venv/bin/python scripts/measure_harness.py [--smoke SUITE] [--tiny-cases N]``.

Throughput (the default; issue 19): the harness's **fixed cost per case**, the wall time of a
run's cases (``runner.run_cases``: problems, isolation, warm-up, calibration, memory,
metrics, curves, storage) less the sum of their timed samples, over the cases that ran, for

- the smoke suite (``--smoke``, default ``smoke``; the before/after figures of issue 19 use
  a frozen copy of it) and a suite of ``--tiny-cases`` (default 1000) tiny cases (32×32
  orthogonalisations, newton_schulz at 1..9 steps and svd_polar, numpy, float32/64, a few
  ms of sampling each);
- inline and process-isolated (``--modes``), and with ``--dask N`` on a local Dask cluster
  of N workers (process-isolated; the per-case scheduling overhead is its excess over the
  local run);
- a breakdown of an inline case into its phases (``--breakdown``), by timing the harness's
  functions in place; isolation's share is the process run's excess over the inline one.

``--save FILE`` keeps every case's median and metrics; ``--compare BEFORE AFTER`` checks two
such files (e.g. of the harness before and after a change, run on the same machine) for
unchanged results: the distribution of per-case median ratios and the largest relative
metric difference. The script uses only the harness's stable API, so it can measure an older
checkout (``PYTHONPATH`` pointing at that checkout's ``harness`` and ``harness_builtins``).

Fidelity and repeatability (``--fidelity``; issues 3, 18; ``--only fidelity`` or ``--only
repeatability`` runs one part):

- fidelity: three numpy workloads (a sum of 20k floats, 360² and 1600² matmuls, nominally
  ~10 µs, ~1 ms and ~100 ms), each timed by the harness's ``measure()`` in this process, by
  pyperf (a script of its own run in a subprocess, whose worker processes pyperf spawns:
  ``PYPERF_SETTINGS``) and by timeit (the median of 7 autoranged repeats, in this process),
  interleaved over ``ROUNDS`` rounds so that drift hits all three alike, at ``--threads``
  BLAS threads (default 1; 0: the library's default). It prints each one's median over the
  rounds, the median of the per-round ratios harness / pyperf and harness / timeit, and the
  per-round ratios to pyperf. pyperf is a dev dependency (``pip install pyperf``);
- repeatability: for each value of ``--rounds`` (default ``1,3``; ``suite``: the suite's own
  timing), a copy of the smoke suite (``--smoke``) with ``timing: {rounds: N}`` merged in,
  run twice by ``python -m harness run COPY --json``; it prints the quantiles of the per-case
  median ratios (second / first), the share within 5% (the goal: 90% on a quiet machine)
  and the wall time of each run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from harness.plugins.registry import Registry
from harness.results.db import ResultsDB
from harness.run import execute as execute_module
from harness.run import executors, runner
from harness.run.timing import TimingOptions, measure
from harness.suite.loader import load

ROUNDS = 3
TINY_SUITE = """\
name: tiny
description: {cases} tiny cases, for the harness's fixed cost per case.
seed: {seeds}
timing: {{warmup: 1, min_time: 0.001, min_samples: 3, budget: 0, threads: 1}}
benchmarks:
  - task: orthogonalize
    sizes: [[32, 32]]
    methods:
      - name: newton_schulz
        params: {{steps: [1, 2, 3, 4, 5, 6, 7, 8, 9]}}
      - svd_polar
    backends: [numpy]
    dtypes: [float32, float64]
"""
"""20 cases per seed."""


# --- throughput (issue 19)


def tiny_suite(folder: Path, cases: int) -> Path:
    path = folder / "tiny.yaml"
    seeds = list(range(max(1, cases // 20)))
    path.write_text(TINY_SUITE.format(cases=20 * len(seeds), seeds=seeds))
    return path


def run_once(
    suite_path: str,
    isolation: str,
    registry: Registry,
    folder: Path,
    executor: Any = None,
    first: int | None = None,
) -> tuple[float, list[Any]]:
    """Wall seconds of ``run_cases`` of a fresh run of the suite (its ``first`` cases
    only, when given), and its stored cases."""
    suite = load(suite_path, registry)
    suite.cases = suite.cases[:first]
    db = ResultsDB(folder / f"{time.monotonic_ns()}.sqlite")
    run_id = runner.start_run(suite, registry, db)
    started = time.perf_counter()
    run_cases = functools.partial(runner.run_cases, run_id, registry, db, isolation=isolation)
    run_cases(executor=executor) if executor is not None else run_cases()
    wall = time.perf_counter() - started
    return wall, db.cases(run_id)


def fixed_cost(wall: float, cases: list[Any]) -> tuple[float, float, int]:
    """(fixed seconds per case run, timed seconds, cases run): the wall time less the timed
    samples, over the cases that were measured (the others cost next to nothing)."""
    ran = [c for c in cases if c.status == "ok"]
    timed = sum((c.number or 0) * sum(c.samples or []) for c in ran)
    return (wall - timed) / max(1, len(ran)), timed, len(ran)


def report_throughput(
    name: str, suite_path: str, modes: list[str], registry: Registry, folder: Path, save: dict
) -> dict[str, float]:
    """Run the suite in each mode; print its fixed cost per case; keep the results."""
    costs = {}
    for mode in modes:
        # The run's start, once per process (the fork server importing the array libraries,
        # a case server), is paid by a first run of two cases, and reported apart.
        backends = sorted({case.backend for case in load(suite_path, registry).cases})
        executors.start_case_workers(registry, backends)  # the fork server imports them all
        start_wall, start_cases = run_once(suite_path, mode, registry, folder, first=2)
        wall, cases = run_once(suite_path, mode, registry, folder)
        per_case, timed, ran = fixed_cost(wall, cases)
        start = start_wall - sum(
            (c.number or 0) * sum(c.samples or []) for c in start_cases if c.status == "ok"
        )
        print(
            f"   {name:6} {mode:8} first run of 2 cases (the run's start, once): "
            f"{start:5.2f} s outside timed samples"
        )
        costs[mode] = per_case
        save[f"{name}/{mode}"] = [_kept(c) for c in cases]
        print(
            f"   {name:6} {mode:8} {ran:5} cases run: wall {wall:7.1f} s, timed {timed:6.1f} s,"
            f" fixed cost {per_case * 1e3:7.1f} ms per case"
        )
    return costs


def report_dask(suite_path: str, workers: int, registry: Registry, folder: Path) -> None:
    from harness.run.dask_executor import DaskExecutor

    with DaskExecutor.local(workers) as executor:
        # the workers' start (fork servers, case servers), apart, as for a local run
        run_once(suite_path, "process", registry, folder, executor, first=2 * workers)
        wall, cases = run_once(suite_path, "process", registry, folder, executor)
    per_case, timed, ran = fixed_cost(wall * workers, cases)
    print(
        f"   dask   local:{workers}  {ran:5} cases run: wall {wall:7.1f} s, timed {timed:6.1f} s,"
        f" fixed cost {per_case * 1e3:7.1f} ms per case per worker (wall × workers)"
    )


def _kept(case: Any) -> dict[str, Any]:
    return {
        "key": case.case_key,
        "status": case.status,
        "median_s": case.median_s,
        "metrics": case.metrics,
        "curve_steps": len(case.curve or []),
    }


# --- the breakdown of an inline case


class Phases:
    """Seconds spent in named functions of the harness, wrapped in place for one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.active: list[str] = []

    def wrap(self, owner: Any, name: str, phase: str, within: str = "") -> Callable[[], None]:
        """Time every call of ``owner.name`` as ``phase`` (not counted again inside a phase
        of the same name, nor inside ``within``); returns the undo."""
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if phase in self.active or within in self.active:
                return original(*args, **kwargs)
            self.active.append(phase)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - started
                self.active.remove(phase)

        assign = object.__setattr__ if _frozen(owner) else setattr
        assign(owner, name, timed)
        return lambda: assign(owner, name, original)


def _frozen(owner: Any) -> bool:
    """A frozen dataclass instance (a ``Task``), whose fields only ``object.__setattr__`` sets."""
    params = getattr(type(owner), "__dataclass_params__", None)
    return not isinstance(owner, type) and params is not None and params.frozen


@contextlib.contextmanager
def phases_of(registry: Registry) -> Iterator[Phases]:
    """The phases of the run's cases: functions that exist in every version since issue 3."""
    phases = Phases()
    db_write = "add_cases" if hasattr(ResultsDB, "add_cases") else "add_case"
    targets = [
        (executors.ProblemCache, "get", "problem generation (once per problem)"),
        (executors, "execute", "execute"),
        (execute_module, "measure", "timing"),
        (execute_module, "_traced_peak", "tracemalloc call"),
        (execute_module, "_convergence_curve", "convergence curve"),
        (execute_module, "_seconds_per_step", "curve: seconds per step run"),
        (executors.MachineRecorder, "record", "machine record"),
        (ResultsDB, db_write, "database write"),
    ]
    undo = [phases.wrap(owner, name, phase) for owner, name, phase in targets]
    undo += [
        phases.wrap(task, "metrics", "metrics", within="convergence curve")
        for task in registry.entries["task"].values()
    ]
    try:
        yield phases
    finally:
        for step in undo:
            step()


def report_breakdown(name: str, suite_path: str, registry: Registry, folder: Path) -> None:
    with phases_of(registry) as phases:
        wall, cases = run_once(suite_path, "inline", registry, folder)
    per_case, timed, ran = fixed_cost(wall, cases)
    s = dict(phases.seconds)
    curve = s.get("convergence curve", 0.0)
    curve_metrics = curve - s.get("curve: seconds per step run", 0.0)
    rows = {
        "problem generation (once per problem)": s.get("problem generation (once per problem)"),
        "warm-up, calibration, sampling loop (untimed)": s.get("timing", 0.0) - timed,
        "tracemalloc call": s.get("tracemalloc call"),
        "final metrics": s.get("metrics", 0.0),
        "curve: seconds per step run": s.get("curve: seconds per step run"),
        "curve: judging the steps": curve_metrics,
        "execute, the rest (transfer, threads, stats)": s.get("execute", 0.0)
        - s.get("timing", 0.0)
        - s.get("tracemalloc call", 0.0)
        - s.get("metrics", 0.0)
        - curve,
        "machine record": s.get("machine record"),
        "database write": s.get("database write"),
    }
    accounted = sum(v or 0.0 for v in rows.values())
    rows["runner and the rest"] = (wall - timed) - accounted
    print(f"   {name}, inline, {ran} cases run: ms per case run")
    for phase, seconds in rows.items():
        print(f"     {phase:46} {(seconds or 0.0) / max(1, ran) * 1e3:8.2f}")
    print(f"     {'fixed cost (wall less timed samples)':46} {per_case * 1e3:8.2f}")


# --- unchanged results


METRIC_FLOOR = 1e-9
"""Metric changes are relative to max(|before|, this): a metric at round-off level (1e-16)
that moves by 1e-16 is no change."""


def compare(before_path: str, after_path: str, ignored: set[str]) -> None:
    """Per-case median ratios (after / before) and metric differences, per saved run."""
    before = json.loads(Path(before_path).read_text())
    after = json.loads(Path(after_path).read_text())
    for run in sorted(set(before) & set(after)):
        b = {c["key"]: c for c in before[run] if c["status"] == "ok"}
        a = {c["key"]: c for c in after[run] if c["status"] == "ok"}
        shared = sorted(set(a) & set(b))
        ratios = np.array([a[k]["median_s"] / b[k]["median_s"] for k in shared])
        worst, where = 0.0, ""
        for k in shared:
            for metric, value in b[k]["metrics"].items():
                if metric in ignored:
                    continue
                other = a[k]["metrics"].get(metric, float("nan"))
                change = abs(other - value) / max(abs(value), METRIC_FLOOR)
                if not change <= worst:  # NaN counts as the worst
                    worst, where = change, metric
        q = np.percentile(ratios, [10, 50, 90]) if len(ratios) else [np.nan] * 3
        within = float(np.mean(np.abs(ratios - 1) <= 0.1)) if len(ratios) else np.nan
        print(
            f"   {run:14} {len(shared):5} cases ok in both (status differs: "
            f"{sum(a[k]['status'] != b[k]['status'] for k in shared)}): median ratio after/before "
            f"p10 {q[0]:.3f}, p50 {q[1]:.3f}, p90 {q[2]:.3f}, {within:.0%} within 10%; "
            f"largest metric change {worst:.1e} ({where or 'none'})"
        )


# --- fidelity and repeatability (issues 3, 18)


WORKLOADS = """\
import numpy as np

rng = np.random.default_rng(0)
vector = rng.standard_normal(20_000)
small = rng.standard_normal((360, 360))
large = rng.standard_normal((1600, 1600))
workloads = {
    "~10 us: sum of 20k floats": vector.sum,
    "~1 ms: 360^2 matmul": lambda: small @ small,
    "~100 ms: 1600^2 matmul": lambda: large @ large,
}
"""
"""The fidelity workloads, one source run both here and in pyperf's worker processes, so
that both time the same calls on the same data (same sizes, same seed)."""

PYPERF_SCRIPT = """\
import pyperf
from threadpoolctl import threadpool_limits

{workloads}
if {threads}:
    threadpool_limits({threads})
call = list(workloads.values())[{index}]


def time_loops(loops):
    started = pyperf.perf_counter()
    for _ in range(loops):
        call()
    return pyperf.perf_counter() - started


pyperf.Runner().bench_time_func("workload", time_loops)
"""
"""A pyperf benchmark of one workload (by its index), at the harness's BLAS threads."""

PYPERF_SETTINGS = ["--processes", "6", "--values", "3", "--warmups", "1", "--min-time", "0.1"]
"""pyperf's loops per value calibrated to 0.1 s (its default), in 6 worker processes of one
warm-up and 3 values each (its default: 20 processes, 3 values; ``--fast``: 10 and 2): a few
seconds per workload and round."""


def fidelity_workloads() -> dict[str, Callable[[], Any]]:
    namespace: dict[str, Any] = {}
    exec(WORKLOADS, namespace)
    return namespace["workloads"]


def pyperf_median(folder: Path, index: int, threads: int) -> float:
    """Seconds per call of workload ``index``: the median of pyperf's values, from a pyperf
    run in worker processes of its own."""
    import pyperf

    script = folder / f"pyperf_workload_{index}.py"
    script.write_text(PYPERF_SCRIPT.format(workloads=WORKLOADS, threads=threads, index=index))
    output = folder / f"pyperf-{time.monotonic_ns()}.json"
    out = subprocess.run(
        [sys.executable, str(script), *PYPERF_SETTINGS, "--quiet", "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"pyperf failed:\n{out.stdout}{out.stderr}")
    return pyperf.Benchmark.load(str(output)).median()


def timeit_median(call: Callable[[], Any], repeat: int = 7) -> float:
    """Seconds per call: the median of ``repeat`` timeit repeats, autoranged (0.2 s each)."""
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    return statistics.median(timer.repeat(repeat=repeat, number=number)) / number


def fidelity(threads: int) -> None:
    """The harness's median of each workload against pyperf's and timeit's, interleaved over
    ``ROUNDS`` rounds so that drift hits all three alike."""
    import pyperf
    from threadpoolctl import threadpool_limits

    backend = Registry.load().backend("numpy")
    options = TimingOptions(warmup=2, min_time=0.02, min_samples=7, budget=0.5)
    blas = f"{threads} BLAS thread{'s' if threads > 1 else ''}" if threads else "BLAS default"
    print(
        f"Fidelity: harness median (this process) against pyperf's (worker processes) and "
        f"timeit's median of 7 (this process), {ROUNDS} rounds interleaved, {blas}"
    )
    print(f"   pyperf {pyperf.__version__}: {' '.join(PYPERF_SETTINGS)}, loops calibrated")
    print(
        f"   {'workload':26} {'harness':>10} {'pyperf':>10} {'timeit':>10} "
        f"{'/pyperf':>8} {'/timeit':>8}   per round: harness / pyperf"
    )
    limits = threadpool_limits(threads) if threads else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as tmp, limits:
        for index, (name, call) in enumerate(fidelity_workloads().items()):
            ours, perf, theirs = [], [], []
            for _ in range(ROUNDS):
                ours.append(measure(call, backend, options).summary.median)
                perf.append(pyperf_median(Path(tmp), index, threads))
                theirs.append(timeit_median(call))
            by_round = [o / p for o, p in zip(ours, perf, strict=True)]
            vs_timeit = [o / t for o, t in zip(ours, theirs, strict=True)]
            median = statistics.median
            print(
                f"   {name:26} {_duration(median(ours))} {_duration(median(perf))} "
                f"{_duration(median(theirs))} {median(by_round):8.3f} {median(vs_timeit):8.3f}"
                f"   {', '.join(f'{r:.3f}' for r in by_round)}"
            )


def _duration(seconds: float) -> str:
    """``seconds`` in µs or ms, 10 characters wide."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.2f} us"
    return f"{seconds * 1e3:7.2f} ms"


def smoke_copy(smoke: str, rounds: int | None, folder: Path) -> Path:
    """A copy of the smoke suite (a name or a path, found as ``harness run`` finds it) with
    ``rounds`` in its timing block (``None``: the suite's own timing, unchanged)."""
    from harness.suite.files import SUFFIXES, resolve

    source = resolve(smoke)
    doc = yaml.safe_load(source.read_text())
    if rounds is not None:
        doc["timing"] = {**(doc.get("timing") or {}), "rounds": rounds}
    parent = doc.get("extends")
    if isinstance(parent, str) and parent.endswith(SUFFIXES):  # relative to the source
        doc["extends"] = str((source.parent / parent).resolve())
    path = folder / f"{source.stem}-rounds-{rounds or 'suite'}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def repeatability(smoke: str, rounds: list[int | None]) -> None:
    """The smoke suite run twice for each ``rounds`` value: the per-case median ratios."""
    print("Repeatability: the smoke suite run twice, per-case median ratio (second / first)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in rounds:
            suite = smoke_copy(smoke, n, Path(tmp))
            runs, walls = [], []
            for i in range(2):
                started = time.perf_counter()
                db = f"{tmp}/{suite.stem}-{i}.db"
                out = subprocess.run(
                    [sys.executable, "-m", "harness", "run", str(suite), "--json", "--db", db],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                walls.append(time.perf_counter() - started)
                if out.returncode not in (0, 1):
                    sys.exit(f"harness run {suite.name} failed:\n{out.stderr}")
                cases = json.loads(out.stdout)["cases"]
                runs.append({c["case_key"]: c for c in cases if c["status"] == "ok"})
            ratios = sorted(
                runs[1][k]["median_s"] / runs[0][k]["median_s"] for k in runs[0] if k in runs[1]
            )
            label = f"rounds {n}" if n is not None else "the suite's own timing"
            if not ratios:
                print(f"   {label}: no case ok in both runs")
                continue
            q = np.percentile(ratios, [0, 10, 25, 50, 75, 90, 100])
            within = sum(abs(r - 1) <= 0.05 for r in ratios) / len(ratios)
            print(
                f"   {label}: {len(ratios)} cases; quantiles 0/10/25/50/75/90/100%: "
                + " ".join(f"{v:.3f}" for v in q)
            )
            print(
                f"      within 5%: {within:.0%} (goal: 90%); wall "
                + " s, ".join(f"{w:.1f}" for w in walls)
                + " s"
            )


def rounds_values(text: str) -> list[int | None]:
    """``--rounds``: integers of at least 1, or ``suite`` (its own timing, unchanged)."""
    values: list[int | None] = []
    for word in text.split(","):
        if word.strip() == "suite":
            values.append(None)
        elif word.strip().isdigit() and int(word) >= 1:
            values.append(int(word))
        else:
            raise argparse.ArgumentTypeError(
                f"not a rounds value (an integer >= 1, or suite): {word}"
            )
    return values


def _without(argv: list[str], option: str) -> list[str]:
    """``argv`` less ``option`` and its value (given as two words or as ``option=value``)."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == option:
            skip = True
        elif not word.startswith(option + "="):
            out.append(word)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", default="smoke", help="the smoke suite (name or path)")
    parser.add_argument("--tiny-cases", type=int, default=1000)
    parser.add_argument("--modes", default="inline,process")
    parser.add_argument("--suites", default="smoke,tiny")
    parser.add_argument("--breakdown", action="store_true", help="the phases of inline cases")
    parser.add_argument("--dask", type=int, default=0, help="also on a local Dask cluster")
    parser.add_argument("--save", help="keep every case's median and metrics in this file")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--ignore-metrics", default="", help="metrics --compare leaves out")
    parser.add_argument(
        "--fidelity", action="store_true", help="fidelity and repeatability instead (issues 3, 18)"
    )
    parser.add_argument(
        "--only", choices=["fidelity", "repeatability"], help="--fidelity: one part only"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="--fidelity: BLAS threads (0: the default)"
    )
    parser.add_argument(
        "--rounds",
        type=rounds_values,
        default="1,3",
        help="--fidelity: the smoke suite's timing.rounds values to compare (suite: its own)",
    )
    args = parser.parse_args()
    if args.compare:
        print("Results after against before (same machine)")
        compare(*args.compare, set(filter(None, args.ignore_metrics.split(","))))
        return
    if args.fidelity:
        if args.only != "repeatability":
            if importlib.util.find_spec("pyperf") is None:
                sys.exit(
                    "--fidelity compares against pyperf, which is not installed: "
                    "pip install pyperf (it is in the dev extra)"
                )
            fidelity(args.threads)
        if args.only != "fidelity":
            repeatability(args.smoke, args.rounds)
        return
    if "," in args.suites:  # each suite in a process of its own: its own fork server
        with tempfile.TemporaryDirectory() as tmp:
            saved = {}
            for i, name in enumerate(args.suites.split(",")):
                part = Path(tmp) / f"{i}.json"
                argv = _without(_without(sys.argv[1:], "--suites"), "--save")
                subprocess.run(
                    [sys.executable, __file__, *argv, "--suites", name, "--save", str(part)],
                    check=True,
                )
                saved |= json.loads(part.read_text())
        if args.save:
            Path(args.save).write_text(json.dumps(saved))
        return
    registry = Registry.load()
    saved = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        suites = {"smoke": args.smoke, "tiny": str(tiny_suite(folder, args.tiny_cases))}
        print("Fixed cost per case: wall time of the run's cases less their timed samples")
        for name in args.suites.split(","):
            report_throughput(name, suites[name], args.modes.split(","), registry, folder, saved)
        if args.dask and "tiny" in args.suites:
            report_dask(suites["tiny"], args.dask, registry, folder)
        if args.breakdown:
            print("Breakdown of the fixed cost")
            for name in args.suites.split(","):
                report_breakdown(name, suites[name], registry, folder)
    if args.save:
        Path(args.save).write_text(json.dumps(saved))


if __name__ == "__main__":
    main()
