"""The harness's own cost per case (issue 19), and that making it cheap kept isolation: a case
process per case forked from a warm case server, calibration reuse, cheaper curves and
memory, batched database writes. Real processes, real signals, real SQLite.

This module is also a plugin the tests register (the case server imports it by name).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HARNESS

from harness import hookimpl, method
from harness.plugins.registry import Registry
from harness.results.db import ResultsDB
from harness.run.case import Case, CaseResult, RunOptions, Status
from harness.run.execute import curve_steps
from harness.run.executors import CaseRunner, ProblemCache, run_case
from harness.run.isolation import CaseWorkers
from harness.run.runner import BATCH_CASES, BATCH_SECONDS, ResultBatch, run_suite
from harness.run.timing import TimingOptions, measure
from harness.suite.files import SuiteError
from harness.suite.loader import load

MARKS: list[int] = []
"""Left by ``leaves_marks`` in the process that runs it."""
QUICK = TimingOptions(warmup=0, min_time=0, min_samples=2, budget=0)


@method(family="orthogonalizer")
def leaves_marks(G, *, xp, marker: str = ""):
    """Writes, on its first call in a process, how many marks earlier calls left in this
    process, its pid and its parent's pid, and the input's sum; then leaves a mark, scales
    its input in place, and returns the polar factor."""
    if not MARKS:
        with open(marker, "a") as out:
            out.write(f"{len(MARKS)} {os.getpid()} {os.getppid()} {float(xp.sum(G)):.12g}\n")
    MARKS.append(1)
    u, _, vh = xp.linalg.svd(G, full_matrices=False)
    G *= 2.0
    return u @ vh


@method(family="orthogonalizer")
def kills_its_server(G, *, xp):
    """Kills the case server that forked it, then waits to be ended."""
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(600)


@hookimpl
def harness_methods():
    return [leaves_marks, kills_its_server]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load(extra=[("throughput_test", sys.modules[__name__])])


def _case(method_name: str, params: dict | None = None, seed: int = 0, n: int = 16) -> Case:
    return Case(
        "orthogonalize", method_name, "numpy", "float64", {"m": n, "n": n}, {}, params or {}, seed
    )


# --- isolation kept


def test_each_case_starts_from_the_servers_clean_state(tmp_path, registry):
    """Cases sharing a problem run in distinct processes of one server; what a case leaves
    behind (module state, its input scaled in place) is not seen by the next one. Inline,
    the same method sees the marks of the case before it."""
    marker = tmp_path / "marks"
    options = RunOptions(QUICK, roofline=False)
    workers = CaseWorkers(registry)
    problems = ProblemCache(registry)
    try:
        for _ in range(3):
            case = _case("leaves_marks", {"marker": str(marker)})
            assert run_case(case, registry, problems, options, workers=workers).status == "ok"
    finally:
        workers.close()
    lines = [line.split() for line in marker.read_text().splitlines()]
    assert [marks for marks, *_ in lines] == ["0", "0", "0"]
    assert len({pid for _, pid, _, _ in lines}) == 3  # a process per case ...
    assert len({parent for _, _, parent, _ in lines}) == 1  # ... forked from one server
    assert len({total for *_, total in lines}) == 1  # the problem as generated, every time
    inline = RunOptions(QUICK, isolation="inline", roofline=False)
    MARKS.clear()
    marker.unlink()
    for _ in range(2):
        run_case(_case("leaves_marks", {"marker": str(marker)}), registry, problems, inline)
    assert len(marker.read_text().splitlines()) == 1  # the second saw the first one's mark
    MARKS.clear()


def test_a_dead_server_fails_only_its_case_and_is_replaced(registry):
    workers = CaseWorkers(registry)
    problems = ProblemCache(registry)
    options = RunOptions(QUICK, roofline=False, timeout=60)
    try:
        killed = run_case(_case("kills_its_server"), registry, problems, options, workers=workers)
        assert (killed.status, killed.message) == ("crashed", "the case server died")
        after = run_case(_case("svd_polar"), registry, problems, options, workers=workers)
        assert after.status == "ok"
        assert workers.server is not None
        workers.server.process.kill()  # dies between two cases: the next one starts another
        workers.server.process.join()
        again = run_case(_case("svd_polar"), registry, problems, options, workers=workers)
        assert again.status == "ok"
    finally:
        workers.close()


# --- calibration reuse


def _counted(seconds: float) -> tuple[list[int], object]:
    calls = [0]

    def call() -> None:
        calls[0] += 1
        time.sleep(seconds)

    return calls, call


def test_a_reused_number_of_calls_is_rechecked_by_the_first_sample(registry):
    backend = registry.backend("numpy")
    options = TimingOptions(warmup=1, min_time=0.01, min_samples=3, budget=0)
    calls, call = _counted(0.002)
    fresh = measure(call, backend, options)
    assert fresh.calibrated and fresh.number >= 5
    calls[0] = 0
    reused = measure(call, backend, options, number=fresh.number)
    assert not reused.calibrated and reused.number == fresh.number
    assert calls[0] == 1 + 3 * fresh.number  # warm-up and samples: no calibration call
    assert len(reused.samples) == 3
    too_few = measure(call, backend, options, number=1)  # 2 ms < min_time: calibrated again
    assert too_few.calibrated and too_few.number >= 5 and len(too_few.samples) == 3


def test_the_runner_reuses_a_stable_calibration_within_a_method_and_size(registry):
    runner = CaseRunner(registry)
    options = RunOptions(TimingOptions(min_time=0.002, min_samples=3, budget=0), "inline")
    first = runner.run(_case("svd_polar", seed=0), options)
    assert first.status == "ok" and len(runner.calibrations) == (0 if first.unstable else 1)
    second = runner.run(_case("svd_polar", seed=1), options)  # another problem, same family
    assert second.status == "ok"
    runner.run(_case("svd_polar", seed=0, n=24), options)  # another size: a family of its own
    assert len(runner.calibrations) <= 2


# --- curves and memory


def test_curves_full_sparse_none_and_cheaper_step_metrics(registry):
    task = registry.task("orthogonalize")
    problems = ProblemCache(registry)
    case = _case("newton_schulz", {"steps": 9, "coefficients": "quintic"}, n=24)
    curves = {}
    for kind in ("full", "sparse", "none"):
        options = RunOptions(QUICK, "inline", roofline=False, curves=kind, memory="rss")
        result = run_case(case, registry, problems, options)
        assert result.status == "ok" and result.traced_peak_bytes is None
        curves[kind] = result.curve
    assert [p["step"] for p in curves["full"]] == list(range(1, 10))
    assert [p["step"] for p in curves["sparse"]] == [1, 2, 4, 8, 9] == curve_steps(9, "sparse")
    assert curves["none"] == []
    assert "subspace_error" not in curves["full"][0]  # per step: the cheaper metrics
    assert set(curves["full"][-1]) >= set(result.metrics)  # the last step: the full ones too
    method = registry.method("newton_schulz")
    xp = registry.backend("numpy").xp
    problem = problems.get(case)
    iterates = list(method.iterates(problem.inputs[0], xp=xp, steps=9, coefficients="quintic"))
    for point, iterate in zip(curves["full"], iterates, strict=True):
        exact = task.metrics(problem, np.asarray(iterate, dtype=np.float64))
        for name in ("orthogonality_error", "polar_distance", "alignment_error"):
            assert point[name] == pytest.approx(exact[name], rel=1e-12)
        for name in ("max_sigma_error", "spectral_norm_error"):
            assert point[name] == pytest.approx(exact[name], rel=1e-6, abs=1e-12)
    traced = run_case(case, registry, problems, RunOptions(QUICK, "inline", roofline=False))
    assert traced.traced_peak_bytes and traced.traced_peak_bytes > 0


def test_the_suite_options_curves_and_memory_are_checked(tmp_path, registry):
    path = tmp_path / "suite.yaml"
    body = "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 8]]\n    methods: [svd_polar]\n"
    path.write_text("timing: {curves: sparse, memory: rss}\n" + body)
    options = load(str(path), registry).options
    assert (options.curves, options.memory) == ("sparse", "rss")
    path.write_text("timing: {curves: some, memory: all}\n" + body)
    with pytest.raises(SuiteError) as error:
        load(str(path), registry)
    text = str(error.value)
    assert "timing.curves" in text and "timing.memory" in text and "'sparse'" in text


# --- batched database writes


def _result(registry: Registry, seed: int) -> CaseResult:
    return CaseResult(_case("svd_polar", seed=seed), Status.OK, metrics={"x": 1.0})


def _stored(path: Path) -> list[str]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return [key for (key,) in conn.execute("SELECT case_key FROM cases ORDER BY id")]
    except sqlite3.OperationalError:  # no file, or no table yet
        return []


def test_results_are_committed_a_few_at_a_time(tmp_path, registry):
    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = db.start_run("s", "s.yaml", "", {})
    batch = ResultBatch(db, run_id)
    for seed in range(BATCH_CASES - 1):
        batch.add(_result(registry, seed))
    assert _stored(tmp_path / "r.sqlite") == []  # not committed yet: another reader sees none
    batch.add(_result(registry, BATCH_CASES))
    assert len(_stored(tmp_path / "r.sqlite")) == BATCH_CASES
    batch.add(_result(registry, 100))
    time.sleep(BATCH_SECONDS)
    batch.add(_result(registry, 101))  # the first waited long enough: both committed
    assert len(_stored(tmp_path / "r.sqlite")) == BATCH_CASES + 2


def test_a_run_killed_mid_batch_loses_only_uncommitted_cases_and_resumes(tmp_path):
    suite = tmp_path / "many.yaml"
    suite.write_text(
        "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0.05, roofline: false}\n"
        "seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\nbenchmarks:\n  - task: orthogonalize\n"
        "    sizes: [[16, 16], [24, 24]]\n    methods: [svd_polar, newton_schulz]\n"
        "    backends: [numpy]\n    dtypes: [float64]\n"
    )
    db = tmp_path / "r.sqlite"
    harness = subprocess.Popen(
        [*HARNESS, "run", str(suite), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(_stored(db)) < BATCH_CASES + 1:
        assert time.monotonic() < deadline and harness.poll() is None, "no batch was committed"
        time.sleep(0.02)
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    before = _stored(db)
    registry = Registry.load()
    plan = [case.key() for case in load(str(suite), registry).cases]
    assert before == plan[: len(before)] and len(before) < len(plan) == 40  # whole cases only
    resumed = subprocess.run(
        [*HARNESS, "run", "--resume", "1", "--db", str(db)], capture_output=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    after = _stored(db)
    assert after[: len(before)] == before and sorted(after) == sorted(plan)


def test_a_suite_runs_alike_inline_and_isolated(tmp_path, registry):
    """The same cases, the same metrics, whichever way they ran (the curves judged alike)."""
    path = tmp_path / "suite.yaml"
    path.write_text(
        "timing: {warmup: 0, min_time: 0.001, min_samples: 3, budget: 0, roofline: false}\n"
        "seed: [0, 1]\nbenchmarks:\n  - task: orthogonalize\n    sizes: [[16, 32]]\n"
        "    methods: [svd_polar, newton_schulz]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    got = {}
    for isolation in ("process", "inline"):
        suite = load(str(path), registry)
        suite.options = RunOptions(**{**suite.options.__dict__, "isolation": isolation})
        db = ResultsDB(tmp_path / f"{isolation}.sqlite")
        run_id = run_suite(suite, registry, db)
        got[isolation] = {
            c.case_key: (c.status, c.metrics, c.curve and len(c.curve)) for c in db.cases(run_id)
        }
    assert got["process"] == got["inline"] and len(got["inline"]) == 4
