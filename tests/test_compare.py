"""``harness compare``: verdicts from controlled sample sets stored in a real results file, and
the command on real runs of a tiny suite."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_cli

from harness.results.compare import MetricTolerance, compare_runs, find_run
from harness.results.db import ResultsDB
from harness.run.case import Case, CaseResult
from harness.run.stats import summarize

MACHINE: dict[str, Any] = {
    "project": {"commit": "aaaa1111" + "0" * 32, "dirty": False},
    "cpu": "Test CPU 3000",
    "cores": 2,
    "memory_bytes": 24 * 2**30,
    "platform": "Linux-6.1-x86_64",
    "backends": {"numpy": {"library": "numpy", "version": "2.1.0", "device": "cpu", "blas": []}},
    "roofline": {"numpy": {"float64": {"gemm_gflops": 50.0}}},
}
METRICS = {"orthogonality_error": 1e-3, "polar_distance": 2e-4}
TINY_SUITE = """\
name: tiny
seed: 0
timing: {warmup: 1, min_time: 0.002, min_samples: 7, budget: 0.02, threads: 1}
benchmarks:
  - task: orthogonalize
    sizes: [[48, 48]]
    methods: [{name: newton_schulz, params: {steps: 3}}, svd_polar]
    backends: [numpy]
    dtypes: [float64]
"""


def tight(median: float, n: int = 20, spread: float = 0.01, seed: int = 0) -> list[float]:
    """``n`` samples around ``median``, uniformly within ±``spread`` of it."""
    rng = np.random.default_rng(seed)
    return list(median * (1 + spread * rng.uniform(-1, 1, n)))


def record(
    samples: list[float],
    method: str = "newton_schulz",
    status: str = "ok",
    metrics: dict[str, float | None] | None = None,
    repetition: int = 0,
) -> dict[str, Any]:
    """A stored case of ``orthogonalize`` 64x64 numpy float64, as the runner writes it."""
    sizes = {"m": 64, "n": 64}
    case = Case("orthogonalize", method, "numpy", "float64", sizes, {}, {}, 0, repetition)
    ok = status == "ok"
    return CaseResult(
        case,
        status,
        None if ok else "ValueError: boom",
        params={"steps": 5} if method == "newton_schulz" else {},
        number=1,
        samples=samples if ok else [],
        stats=summarize(samples).as_dict() if ok else {},
        metrics=(METRICS if metrics is None else metrics) if ok else {},
    ).record()


def store(db: ResultsDB, records: list[dict[str, Any]], **meta: Any) -> int:
    """A finished run holding ``records``, with ``MACHINE`` metadata updated by ``meta``."""
    run_id = db.start_run("test", "test.yaml", "", {**copy.deepcopy(MACHINE), **meta})
    for r in records:
        db.add_case(run_id, r)
    db.finish_run(run_id)
    return run_id


@pytest.fixture
def db(tmp_path: Path) -> ResultsDB:
    results = ResultsDB(tmp_path / "r.sqlite")
    yield results
    results.close()


def verdicts(comparison) -> list[str]:
    return [row.verdict for row in comparison.rows]


def test_identical_samples_are_the_same(db):
    samples = tight(1e-3)
    base, new = store(db, [record(samples)]), store(db, [record(samples)])
    comparison = compare_runs(db, base, new)
    (row,) = comparison.rows
    assert (row.verdict, row.ratio, row.p_value) == ("same", 1.0, 1.0)
    assert 0.98 < row.interval[0] < 1 < row.interval[1] < 1.02
    assert comparison.comparable and comparison.exit_code == 0
    assert comparison.summary() == {
        "same": 1,
        "less accurate": 0,
        "more accurate": 0,
        "regressed": 0,
    }


def test_twice_the_time_with_tight_samples_is_slower_and_half_is_faster(db):
    base = store(db, [record(tight(1e-3))])
    slower = compare_runs(db, base, store(db, [record(tight(2e-3, seed=1))]))
    (row,) = slower.rows
    assert row.verdict == "slower" and row.regressed and slower.exit_code == 1
    assert row.ratio == pytest.approx(2, rel=0.03)
    assert 1.9 < row.interval[0] < row.ratio < row.interval[1] < 2.1
    assert row.p_value < 1e-6
    faster = compare_runs(db, base, store(db, [record(tight(0.5e-3, seed=1))]))
    assert verdicts(faster) == ["faster"] and faster.exit_code == 0


def test_a_significant_change_below_the_minimum_effect_is_the_same(db):
    base = store(db, [record(tight(1e-3, spread=0.001))])
    new = store(db, [record(tight(1.02e-3, spread=0.001, seed=1))])
    comparison = compare_runs(db, base, new)
    assert comparison.rows[0].p_value < 1e-6
    assert verdicts(comparison) == ["same"]
    assert verdicts(compare_runs(db, base, new, min_effect=0.01)) == ["slower"]


def test_wide_noisy_samples_are_unstable(db):
    rng = np.random.default_rng(0)
    noisy = [list(1e-3 * rng.lognormal(0, 0.5, 15)) for _ in range(2)]
    base, new = store(db, [record(noisy[0])]), store(db, [record([1.1 * s for s in noisy[1]])])
    comparison = compare_runs(db, base, new)
    (row,) = comparison.rows
    assert row.base.unstable and row.verdict == "unstable"
    assert row.note == "base and new too spread; the interval crosses ±5%"
    assert comparison.exit_code == 2


def test_too_few_samples_to_reach_alpha_are_unstable(db):
    base = store(db, [record([1e-3, 1e-3, 1e-3])])
    new = store(db, [record([2e-3, 2e-3, 2e-3])])
    (row,) = compare_runs(db, base, new).rows
    assert row.verdict == "unstable" and "too few samples (3 and 3)" in row.note
    (row,) = compare_runs(db, base, new, alpha=0.2).rows
    assert row.verdict == "slower"


def test_an_accuracy_regression_with_equal_times_is_a_regression(db):
    samples = tight(1e-3)
    base = store(db, [record(samples)])
    worse = {**METRICS, "orthogonality_error": 5e-3}
    comparison = compare_runs(db, base, store(db, [record(samples, metrics=worse)]))
    (row,) = comparison.rows
    assert row.verdict == "same" and row.accuracy_regressed and comparison.exit_code == 1
    (change,) = row.metric_changes
    assert (change.name, change.base, change.new, change.worse) == (
        "orthogonality_error",
        1e-3,
        5e-3,
        True,
    )
    assert comparison.summary()["less accurate"] == 1
    # Within the tolerance it is no change; a metric gone non-finite always is one.
    lenient = compare_runs(db, base, row.new.run_id, metric_tolerance=MetricTolerance(5.0))
    assert lenient.rows[0].metric_changes == () and lenient.exit_code == 0
    gone = compare_runs(
        db, base, store(db, [record(samples, metrics={**METRICS, "polar_distance": None})])
    )
    assert [(c.name, c.new, c.worse) for c in gone.rows[0].metric_changes] == [
        ("polar_distance", None, True)
    ]


def test_rounding_level_metric_changes_do_not_count(db):
    samples = tight(1e-3)
    exact = {"orthogonality_error": 2e-15}
    base = store(db, [record(samples, metrics=exact)])
    new = store(db, [record(samples, metrics={"orthogonality_error": 4e-15})])
    assert compare_runs(db, base, new).rows[0].metric_changes == ()


def test_better_accuracy_is_reported_not_a_regression(db):
    samples = tight(1e-3)
    base = store(db, [record(samples)])
    new = store(db, [record(samples, metrics={**METRICS, "polar_distance": 1e-5})])
    comparison = compare_runs(db, base, new)
    assert [c.worse for c in comparison.rows[0].metric_changes] == [False]
    assert comparison.exit_code == 0 and comparison.summary()["more accurate"] == 1


def test_status_changes_and_cases_in_one_run_only(db):
    samples = tight(1e-3)
    base = store(
        db, [record(samples), record(samples, "svd_polar", status="error"), record(samples, "qr")]
    )
    new = store(
        db,
        [
            record(samples, status="error"),
            record(samples, "svd_polar"),
            record(samples, "householder"),
        ],
    )
    comparison = compare_runs(db, base, new)
    assert verdicts(comparison) == ["failing", "fixed", "only in base", "only in new"]
    assert comparison.rows[0].note == "ok → error: ValueError: boom"
    assert comparison.rows[1].note == "error → ok" and comparison.exit_code == 1


def test_repetitions_pair_with_their_own(db):
    base = store(db, [record(tight(1e-3)), record(tight(4e-3), repetition=1)])
    new = store(db, [record(tight(8e-3, seed=1), repetition=1), record(tight(1e-3, seed=1))])
    assert verdicts(compare_runs(db, base, new)) == ["same", "slower"]


def test_another_machine_is_not_comparable_unless_normalised_by_the_roofline(db):
    base = store(db, [record(tight(2e-3))])
    # A machine twice as fast: half the time, twice the GEMM rate.
    faster_machine = {"numpy": {"float64": {"gemm_gflops": 100.0}}}
    new = store(db, [record(tight(1e-3, seed=1))], cpu="Other CPU 9000", roofline=faster_machine)
    comparison = compare_runs(db, base, new)
    assert not comparison.comparable and comparison.exit_code == 2
    assert comparison.reason == "cpu: 'Test CPU 3000' vs 'Other CPU 9000'"
    assert verdicts(comparison) == ["not comparable"]
    normalised = compare_runs(db, base, new, normalize="roofline")
    assert verdicts(normalised) == ["same"] and normalised.exit_code == 0
    assert normalised.rows[0].ratio == pytest.approx(1, rel=0.03)
    # A run without the GEMM rate of the case's backend and dtype cannot be normalised.
    bare = store(db, [record(tight(1e-3, seed=1))], cpu="Other CPU 9000", roofline={})
    (row,) = compare_runs(db, base, bare, normalize="roofline").rows
    assert row.verdict == "not comparable" and "new run has no measured GEMM rate" in row.note


def test_a_new_failure_on_another_machine_is_a_regression(db):
    base = store(db, [record(tight(2e-3))])
    new = store(db, [record([], status="error")], cpu="Other CPU 9000")
    comparison = compare_runs(db, base, new)
    assert not comparison.comparable
    assert verdicts(comparison) == ["failing"] and comparison.exit_code == 1


def test_a_different_library_version_is_not_comparable(db):
    base = store(db, [record(tight(1e-3))])
    backends = {"numpy": {**MACHINE["backends"]["numpy"], "version": "2.2.0"}}
    comparison = compare_runs(db, base, store(db, [record(tight(1e-3))], backends=backends))
    assert comparison.reason == "numpy version: '2.1.0' vs '2.2.0'"


def test_cases_run_with_other_thread_pools_are_not_comparable(db):
    one, two = record(tight(1e-3)), record(tight(1e-3))
    one["threads"] = [{"internal_api": "openblas", "num_threads": 1}]
    two["threads"] = [{"internal_api": "openblas", "num_threads": 2}]
    comparison = compare_runs(db, store(db, [one]), store(db, [two]))
    (row,) = comparison.rows
    assert comparison.comparable and comparison.exit_code == 2
    assert (row.verdict, row.note) == (
        "not comparable",
        "different threads: openblas 1 vs openblas 2",
    )


def test_runs_are_found_by_id_or_by_the_latest_finished_run_of_a_commit(db):
    first = store(db, [], project={"commit": "bbbb2222" + "1" * 32, "dirty": False})
    second = store(db, [], project={"commit": "bbbb2222" + "1" * 32, "dirty": True})
    unfinished = db.start_run("test", "test.yaml", "", MACHINE)
    other = store(db, [])
    assert find_run(db, str(first)) == first
    assert find_run(db, "BBBB222") == second
    assert find_run(db, "aaaa1111") == other != unfinished
    with pytest.raises(LookupError, match=r"'cccc' is neither .* 4 \(aaaa1111"):
        find_run(db, "cccc")


def test_cli_exit_codes_messages_and_json(db):
    samples = tight(1e-3)
    same = store(db, [record(samples)])
    args = ("--db", str(db.path))
    result = run_cli("compare", str(same), str(same), *args)
    assert result.returncode == 0 and "1 cases: 1 same. nothing regressed" in result.stdout
    slower = store(db, [record(tight(2e-3, seed=1))])
    result = run_cli("compare", str(same), "aaaa1111", *args)  # the latest run of the commit
    assert result.returncode == 1 and "slower" in result.stdout and "1 regressed" in result.stdout
    elsewhere = store(db, [record(tight(1e-3, seed=2))], cpu="Other CPU 9000")
    result = run_cli("compare", str(same), str(elsewhere), *args)
    assert result.returncode == 2
    assert "not comparable: the runs come from different machines" in result.stdout
    assert "--normalize roofline" in result.stdout
    result = run_cli("compare", str(same), str(elsewhere), *args, "--normalize", "roofline")
    assert result.returncode == 0, result.stdout
    result = run_cli("compare", str(same), str(slower), *args, "--json")
    out = json.loads(result.stdout)
    assert result.returncode == out["exit_code"] == 1
    assert set(out) == {
        "base",
        "new",
        "comparable",
        "reason",
        "normalize",
        "min_effect",
        "alpha",
        "metric_tolerance",
        "summary",
        "common",
        "exit_code",
        "rows",
    }
    (row,) = out["rows"]
    assert row["verdict"] == "slower" and row["params"] == {"steps": 5}
    assert row["base"]["samples"] == 20 and len(row["interval"]) == 2
    assert out["base"]["commit"].startswith("aaaa1111")
    result = run_cli("compare", "9", str(same), *args)
    assert result.returncode == 2 and "'9' is neither a run id" in result.stderr


@pytest.mark.slow
def test_real_runs_of_a_suite_compare_case_by_case_and_across_databases(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    first, second = tmp_path / "first.sqlite", tmp_path / "second.sqlite"
    for path in (first, second):
        assert run_cli("run", str(suite), "--db", str(path), "--json").returncode == 0
    # A run against itself: identical samples, so the same unless too spread on this busy
    # machine to say even that.
    result = run_cli("compare", "1", "1", "--db", str(first), "--json")
    out = json.loads(result.stdout)
    assert [(r["ratio"], r["p_value"]) for r in out["rows"]] == [(1.0, 1.0)] * 2
    assert {r["verdict"] for r in out["rows"]} <= {"same", "unstable"}
    assert result.returncode == (0 if out["summary"].get("same") == 2 else 2)
    # Two runs, one in each database: every case matched, with the same metrics.
    across = ("compare", "1", "1", "--db", str(second), "--base-db", str(first))
    out = json.loads(run_cli(*across, "--json").stdout)
    assert out["comparable"]
    assert [r["method"] for r in out["rows"]] == ["newton_schulz", "svd_polar"]
    assert {r["verdict"] for r in out["rows"]} <= {"same", "slower", "faster", "unstable"}
    assert all(r["metric_changes"] == [] for r in out["rows"])


def test_a_memory_bound_case_shows_its_gbs_on_both_sides(db):
    """A method with a bytes model: each side of the comparison carries its GB/s and share
    of the bandwidth (JSON), and the table shows the GB/s beside each median."""
    sides = []
    for median in (1e-3, 2e-3):
        moved = {**record(tight(median)), "bytes": 4e6, "bandwidth_fraction": 0.2}
        sides.append(store(db, [moved]))
    (row,) = compare_runs(db, *sides).rows
    as_json = row.as_dict()
    assert as_json["base"]["gbs"] == pytest.approx(4e6 / 1e-3 / 1e9, rel=0.02)
    assert as_json["new"]["bandwidth_fraction"] == 0.2
    table = run_cli("compare", str(sides[0]), str(sides[1]), "--db", str(db.path))
    assert "GB/s)" in table.stdout
