"""Process isolation: every way a case can fail is recorded, and the run goes on."""

from __future__ import annotations

import misbehaving_plugin
import pytest

from harness.plugins.registry import Registry
from harness.results.db import ResultsDB
from harness.run.runner import run_suite
from harness.suite.loader import load

SUITE = """
timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, timeout: 5,
         memory_limit_mb: 1024, roofline: false}
benchmarks:
  - task: orthogonalize
    sizes: [[16, 32]]
    methods: [explodes, sleeps, exits, segfaults, hoards, svd_polar]
    backends: [numpy]
    dtypes: [float64]
"""


@pytest.mark.slow
def test_every_failure_is_recorded_and_the_run_goes_on(tmp_path):
    registry = Registry.load(extra=[("misbehaving", misbehaving_plugin)])
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = run_suite(load(str(path), registry), registry, db)
    got = {c.method: (c.status, c.message) for c in db.cases(run_id)}
    assert got["explodes"][0] == "error"
    assert got["explodes"][1].startswith("ValueError: this method always raises")
    assert got["sleeps"] == ("timeout", "killed after 5 s")
    assert got["exits"] == ("crashed", "worker exited with status 3 without a result")
    assert got["segfaults"] == ("crashed", "worker died from SIGSEGV")
    assert got["hoards"] == ("crashed", "killed: resident memory passed the limit of 1024 MiB")
    assert got["svd_polar"] == ("ok", None)
    assert db.run(run_id).status == "finished"


def test_worker_and_inline_runs_agree(tmp_path):
    registry = Registry.load()
    metrics = {}
    for isolation in ("process", "inline"):
        path = tmp_path / f"{isolation}.yaml"
        path.write_text(
            f"timing: {{min_time: 0, min_samples: 2, budget: 0, isolation: {isolation}, "
            "roofline: false, threads: 1}\nbenchmarks:\n  - task: orthogonalize\n"
            "    sizes: [[32, 64]]\n    methods: [newton_schulz]\n    backends: [numpy]\n"
            "    dtypes: [float64]\n"
        )
        db = ResultsDB(tmp_path / f"{isolation}.sqlite")
        (case,) = db.cases(run_suite(load(str(path), registry), registry, db))
        assert case.status == "ok" and len(case.samples) == 2
        assert {pool["num_threads"] for pool in case.threads} == {1}
        metrics[isolation] = case.metrics
    assert metrics["process"] == metrics["inline"]


def test_plugins_that_are_not_modules_cannot_go_to_a_worker():
    class NotAModule:
        pass

    with pytest.raises(TypeError, match="not a module"):
        Registry.load(extra=[("object", NotAModule())]).extra_modules()


def test_unusual_deaths_and_unpicklable_problems_are_results_not_crashes():
    from harness.model.task import Problem
    from harness.run.case import Case, RunOptions
    from harness.run.isolation import CaseWorkers, _death

    assert _death(-40) == "worker died from signal 40"
    assert _death(-11) == "worker died from SIGSEGV"
    case = Case("orthogonalize", "svd_polar", "numpy", "float64", {"m": 4, "n": 4}, {}, {}, 0)
    problem = Problem(inputs=(), reference={"unpicklable": lambda: None})
    workers = CaseWorkers(Registry.load())
    try:
        result = workers.run(case, {}, problem, RunOptions())
        assert result.status == "error" and result.message.startswith("cannot start a worker")
    finally:
        workers.close()


@pytest.mark.slow
def test_workers_end_when_the_harness_is_killed(tmp_path, site):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    source = Path(misbehaving_plugin.__file__).read_text()
    site.add("misbehaving", "misbehaving_copy", source)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "timing: {roofline: false, timeout: 600}\nbenchmarks:\n  - task: orthogonalize\n"
        "    sizes: [[8, 8]]\n    methods: [sleeps]\n    backends: [numpy]\n"
    )
    pidfile = tmp_path / "worker.pid"
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(suite), "--db", str(tmp_path / "r.sqlite")],
        env=site.env(MISBEHAVING_PIDFILE=str(pidfile)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.1)
    worker = int(pidfile.read_text())
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and "zombie" not in _state(worker):
        assert time.monotonic() < deadline, "the worker outlived the harness"
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{worker}") or "zombie" in _state(worker)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(line for line in status if line.startswith("State:")).lower()
    except (OSError, StopIteration):
        return "gone"
