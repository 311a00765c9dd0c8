"""Rounds (docs/measurement.md): with ``timing: {rounds: N}`` every case runs N times over,
interleaved with the others, each round a 1/N share of its samples; a case is stored once,
with the samples of every round, its statistics over all of them, and the curve of its
first round; a case that fails in a round is stored as it stands and runs no more."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nonconforming_plugin
import pytest
from conftest import run_cli

from harness.plugins.registry import Registry
from harness.results.db import ResultsDB
from harness.run.case import Case, RunOptions
from harness.run.executors import LocalExecutor
from harness.run.runner import round_options, run_rounds
from harness.run.timing import TimingOptions

SIZES = {"m": 8, "n": 16}


def options(rounds: int) -> RunOptions:
    timing = TimingOptions(warmup=0, min_time=0, min_samples=6, max_samples=30, budget=0)
    return RunOptions(timing, "inline", roofline=False, rounds=rounds)


def cases(*methods: str) -> list[Case]:
    return [Case("orthogonalize", m, "numpy", "float64", SIZES, {}, {}, 0) for m in methods]


def test_a_round_takes_a_share_of_the_samples_and_the_curve_comes_once() -> None:
    run = dataclasses.replace(options(3), timing=dataclasses.replace(options(3).timing, budget=0.3))
    first, later = round_options(run, 1), round_options(run, 2)
    assert (first.timing.min_samples, first.timing.max_samples) == (2, 10)
    assert first.timing.budget == pytest.approx(0.1)
    assert (first.curves, first.memory) == (run.curves, run.memory)
    assert (later.curves, later.memory) == ("none", "rss")


def test_cases_run_interleaved_and_are_merged_once() -> None:
    registry = Registry.load()
    started: list[str] = []
    planned = cases("newton_schulz", "svd_polar")
    results = list(
        run_rounds(
            LocalExecutor(), planned, registry, options(3), lambda c: started.append(c.method)
        )
    )
    assert started == ["newton_schulz", "svd_polar"] * 3  # round by round, not case by case
    assert [r.case.method for r in results] == ["newton_schulz", "svd_polar"]
    for result in results:
        assert result.status == "ok", result.message
        assert len(result.samples) == len(result.host_samples) == result.stats["n"] >= 6
    (iterative,) = [r for r in results if r.case.method == "newton_schulz"]
    assert iterative.curve  # from the first round


def test_a_case_that_fails_in_a_round_runs_no_more_rounds() -> None:
    registry = Registry.load(extra=[("nonconforming", nonconforming_plugin)])
    started: list[str] = []
    results = list(
        run_rounds(
            LocalExecutor(),
            cases("raises", "svd_polar"),
            registry,
            options(3),
            lambda c: started.append(c.method),
        )
    )
    assert started == ["raises", "svd_polar", "svd_polar", "svd_polar"]
    assert {r.case.method: r.status for r in results} == {"raises": "error", "svd_polar": "ok"}


def test_a_suite_with_rounds_stores_each_case_once(tmp_path: Path) -> None:
    suite = tmp_path / "rounds.yaml"
    suite.write_text(
        "name: rounds\ndescription: rounds\n"
        "timing: {warmup: 0, min_time: 0, min_samples: 4, budget: 0, roofline: false, "
        "rounds: 2}\n"
        "benchmarks:\n  - task: orthogonalize\n    sizes: [[8, 16]]\n"
        "    methods: [svd_polar, cholesky_qr2]\n    backends: [numpy]\n    dtypes: [float64]\n"
    )
    db = tmp_path / "r.sqlite"
    done = run_cli("run", str(suite), "--db", str(db))
    assert done.returncode == 0, done.stderr
    stored = ResultsDB(db, readonly=True).cases(1)
    assert len(stored) == 2 and all(len(c.samples or []) >= 4 for c in stored)
    bad = tmp_path / "bad.yaml"
    bad.write_text(suite.read_text().replace("rounds: 2", "rounds: 0"))
    refused = run_cli("run", str(bad), "--db", str(tmp_path / "b.sqlite"))
    assert refused.returncode == 2 and "rounds" in refused.stderr
