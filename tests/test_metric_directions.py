"""Each task declares its main metric and which of its metrics are higher-is-better
(``@task(main_metric=..., higher_is_better=...)``); a run stores the declarations in its
metadata (``metadata["tasks"]``), and the report (headline, Pareto fronts, fastest per level,
plots) and ``harness compare`` follow them. A run stored without them keeps the old rules:
the first metric named like an error, every metric lower-is-better."""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import pytest
from conftest import QUICK, run_cli
from test_conformance_matrix import TINY
from test_report_pages import case, synthetic_run

from harness import Problem, Task, hookimpl, task
from harness import report as html_report
from harness.plugins.registry import Registry
from harness.report import charts
from harness.report.headline import headline, higher_levels
from harness.report.rows import Declared, group_repetitions, problem_groups
from harness.results.compare import compare_runs
from harness.results.db import ResultsDB
from harness.run.case import Case
from harness.run.runner import ProblemCache, run_case, run_suite
from harness.suite.loader import load

HIT_RATE = {"main": "hits", "higher_is_better": ["hits"]}


def hit_rate_metrics(problem: Problem, Q: np.ndarray) -> dict[str, float]:
    """An error first (the old rule's pick), then the higher-is-better share of singular
    values within 1e-6 of 1."""
    sigma = np.linalg.svd(Q, compute_uv=False)
    return {
        "sigma_error": float(np.max(np.abs(sigma - 1.0))),
        "hits": float(np.mean(np.abs(sigma - 1.0) < 1e-6)),
    }


@task(
    name="hit_rate",
    family="orthogonalizer",
    size_names=("m", "n"),
    metrics=hit_rate_metrics,
    main_metric="hits",
    higher_is_better=["hits"],
)
def generate_hit_rate(sizes: dict[str, int], rng: np.random.Generator) -> Problem:
    """A Gaussian m×n matrix."""
    return Problem(inputs=(rng.standard_normal((sizes["m"], sizes["n"])),))


class HitRatePlugin:
    @hookimpl
    def harness_tasks(self) -> list[Task]:
        return [generate_hit_rate]


# the declaration


def test_a_task_declares_its_main_metric_and_its_higher_is_better_metrics():
    assert generate_hit_rate.main_metric == "hits"
    assert generate_hit_rate.higher_is_better == ("hits",)
    assert generate_hit_rate.metric_declaration() == HIT_RATE
    json.dumps(generate_hit_rate.metric_declaration())  # JSON-ready

    @task(name="plain", family="orthogonalizer", size_names=("n",), metrics=hit_rate_metrics)
    def plain(sizes: dict[str, int], rng: np.random.Generator) -> Problem:
        return Problem(inputs=())

    assert plain.metric_declaration() == {"main": None, "higher_is_better": []}


def test_a_bare_string_of_higher_is_better_metrics_is_refused():
    with pytest.raises(ValueError, match="higher_is_better"):
        task(
            name="oops",
            family="orthogonalizer",
            size_names=("n",),
            metrics=hit_rate_metrics,
            higher_is_better="hits",
        )


# stored with the run


def test_a_run_stores_its_tasks_declarations_and_the_report_follows_them(tmp_path):
    registry = Registry.load(extra=[("hit-rate", HitRatePlugin())])
    suite = tmp_path / "hits.yaml"
    suite.write_text(
        "name: hits\n"
        "timing: {warmup: 0, min_time: 0, min_samples: 2, budget: 0, isolation: inline, "
        "roofline: false}\n"
        "benchmarks:\n"
        "  - task: hit_rate\n    sizes: [[8, 8]]\n    methods: [svd_polar, cholesky_qr2]\n"
        "    backends: [numpy]\n    dtypes: [float64]\n"
        "  - task: orthogonalize\n    sizes: [[8, 8]]\n    methods: [svd_polar]\n"
        "    backends: [numpy]\n    dtypes: [float64]\n"
    )
    db = ResultsDB(tmp_path / "r.sqlite")
    run_id = run_suite(load(str(suite), registry), registry, db)
    stored = db.run(run_id).metadata["tasks"]
    assert stored == {
        "hit_rate": HIT_RATE,
        "orthogonalize": {"main": "orthogonality_error", "higher_is_better": []},
    }
    html_report.write(db, [run_id], tmp_path / "site")
    page = (tmp_path / "site" / "task-hit_rate.html").read_text()
    assert '<option value="hits" selected>' in page  # the declared main metric, not the error
    assert "upper left for hits (higher is better)" in page
    assert "Fastest method with hits at least" in page
    db.close()


# the report


def accuracy_cases(**extra: Any) -> list[dict[str, Any]]:
    """One size: the fastest case (0.5), a fast accurate one (0.95, on the front only when
    higher is better), a slow exact one (1.0) and one both slower and less accurate than the
    fast accurate one (0.6)."""
    points = {
        "fastest": (5e-4, 0.5),
        "fast_accurate": (1e-3, 0.95),
        "beaten": (2e-3, 0.6),
        "slow_exact": (1e-2, 1.0),
    }
    cases = []
    for method, (seconds, accuracy) in points.items():
        record = case(method, seconds, 0.0, **extra)
        record["metrics"] = {"accuracy": accuracy}
        cases.append(record)
    return cases


DECLARED = {"tasks": {"t": {"main": "accuracy", "higher_is_better": ["accuracy"]}}}


def test_the_pareto_front_of_a_higher_is_better_metric_keeps_the_accurate_fast_case(tmp_path):
    db, run_id = synthetic_run(tmp_path / "r.sqlite", accuracy_cases(), DECLARED)
    declared = Declared.of(db.run(run_id).metadata, "t")
    assert declared.stored and declared.higher_is_better("accuracy")
    rows = group_repetitions(db.cases(run_id))
    assert declared.main_metric(["drift", "accuracy"]) == "accuracy"
    found = headline(rows, "accuracy", higher_is_better=True)
    assert [s.label for s in found.front] == ["fastest", "fast_accurate", "slow_exact"]
    levels = [(lv.loosest, lv.tightest, lv.fastest.label) for lv in found.levels]
    assert levels == [(0.5, 0.5, "fastest"), (0.6, 0.9, "fast_accurate"), (1.0, 1.0, "slow_exact")]
    # the plot marks the same front, upper left
    (group,) = problem_groups(rows).values()
    figure = charts.accuracy_vs_time(
        group, "accuracy", charts.Styles(rows), "64", higher_is_better=True
    )
    assert "higher is better: upper left is best" in figure
    assert figure.count("\nPareto front") == 3  # the tips of the three marks on it
    html_report.write(db, [run_id], tmp_path / "site")
    page = (tmp_path / "site" / "task-t.html").read_text()
    assert "upper left is better (higher is better)" in page
    assert "lower left" not in page
    assert "Fastest method with accuracy at least" in page and "0.6 up to 0.9" in page
    overview = (tmp_path / "site" / "index.html").read_text()
    assert "<b>fast_accurate</b>" in overview
    db.close()


def test_a_run_stored_without_declarations_keeps_the_old_rules(tmp_path):
    db, run_id = synthetic_run(tmp_path / "r.sqlite", accuracy_cases())
    declared = Declared.of(db.run(run_id).metadata, "t")
    assert not declared.stored and not declared.higher_is_better("accuracy")
    assert declared.main_metric(["drift", "max_error", "accuracy"]) == "max_error"
    rows = group_repetitions(db.cases(run_id))
    found = headline(rows, "accuracy", declared.higher_is_better("accuracy"))
    assert [s.label for s in found.front] == ["fastest"]  # lower accuracy read as better
    html_report.write(db, [run_id], tmp_path / "site")
    page = (tmp_path / "site" / "task-t.html").read_text()
    assert "lower left is better" in page and "upper left" not in page
    assert "Fastest method with accuracy at most" in page
    db.close()


def test_a_declared_task_without_a_main_metric_starts_on_its_first_metric():
    declared = Declared.of({"tasks": {"t": {"main": None, "higher_is_better": []}}}, "t")
    assert declared.main_metric(["drift", "max_error"]) == "drift"
    gone = Declared.of({"tasks": {"t": {"main": "val_loss", "higher_is_better": []}}}, "t")
    assert gone.main_metric(["step_seconds"]) == "step_seconds"  # every run diverged


def test_higher_is_better_levels_are_round_values_or_decades():
    assert higher_levels([0.5, 0.95, 1.0]) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert higher_levels([3.0, 40.0, 700.0]) == [1.0, 10.0, 100.0]
    assert higher_levels([0.7, 0.7]) == [0.7]
    assert higher_levels([-0.2, 0.2]) == [-0.2, -0.1, 0.0, 0.1, 0.2]


# compare


def test_compare_judges_a_drop_of_a_higher_is_better_metric_as_worse(tmp_path):
    path = tmp_path / "r.sqlite"
    before, after = accuracy_cases(), accuracy_cases()
    after[1]["metrics"] = {"accuracy": 0.5}  # fast_accurate got less accurate
    after[3]["metrics"] = {"accuracy": 1.0}  # slow_exact unchanged
    db, base = synthetic_run(path, before, DECLARED)
    db.close()
    db, new = synthetic_run(path, after, DECLARED)
    comparison = compare_runs(db, base, new)
    (changed,) = [row for row in comparison.rows if row.metric_changes]
    assert changed.identity["method"] == "fast_accurate"
    (change,) = changed.metric_changes
    assert change.worse and change.higher_is_better and changed.regressed
    assert comparison.exit_code == 1
    # the other way round, the same change is an improvement
    reverse = compare_runs(db, new, base)
    (improved,) = [row for row in reverse.rows if row.metric_changes]
    assert not improved.metric_changes[0].worse and not improved.regressed
    db.close()
    done = run_cli("compare", str(base), str(new), "--db", str(path), "--json")
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)["rows"]
    (change_json,) = [c for row in rows for c in row["metric_changes"]]
    assert change_json == {
        "name": "accuracy",
        "base": 0.95,
        "new": 0.5,
        "worse": True,
        "higher_is_better": True,
    }


def test_compare_without_declarations_takes_every_metric_as_lower_is_better(tmp_path):
    path = tmp_path / "r.sqlite"
    after = accuracy_cases()
    after[1]["metrics"] = {"accuracy": 0.5}
    db, base = synthetic_run(path, accuracy_cases())
    db.close()
    db, new = synthetic_run(path, after)
    comparison = compare_runs(db, base, new)
    (changed,) = [row for row in comparison.rows if row.metric_changes]
    assert not changed.metric_changes[0].worse and not changed.metric_changes[0].higher_is_better
    assert comparison.exit_code == 0
    db.close()


# the built-in tasks


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load()


BUILTIN_TASKS = sorted(TINY)
METHODS_PER_TASK = 3
"""The fitting methods (by name) whose output each built-in task's main metric is checked
on: a few are enough to catch a name the task never reports."""


@pytest.mark.parametrize("name", BUILTIN_TASKS)
def test_every_builtin_task_declares_a_main_metric_it_reports(registry, name):
    declared = registry.task(name)
    assert declared.generate.__module__.startswith("harness_builtins"), "not built in"
    main = declared.main_metric
    assert main, f"{name} declares no main metric"
    source = inspect.getsource(inspect.getmodule(declared.metrics))
    for metric in (main, *declared.higher_is_better):
        assert f'"{metric}"' in source, f"{name}'s metrics never name {metric!r}"
    sizes, problem = TINY[name][0]
    cache = ProblemCache(registry)
    judged = 0
    for method_name, method in sorted(registry.methods.items()):
        if judged == METHODS_PER_TASK:
            break
        if not method.fits(declared) or method.unsupported_reason("numpy", "float64"):
            continue
        result = run_case(
            Case(name, method_name, "numpy", "float64", sizes, problem, {}, seed=0),
            registry,
            cache,
            QUICK,
        )
        if result.status != "ok":
            continue
        assert main in (result.metrics or {}), f"{method_name} on {name}: {result.metrics}"
        judged += 1
    assert judged, f"no method ran on {name}"


def test_every_builtin_task_is_checked(registry):
    builtin = {
        name
        for name, t in registry.tasks.items()
        if t.generate.__module__.startswith("harness_builtins")
    }
    assert builtin <= set(BUILTIN_TASKS), "add the new task's tiny problem to TINY"


def test_the_builtin_declarations_reach_a_runs_metadata(registry):
    from harness.run import metadata

    meta = metadata.collect(registry, [], ["graph_embedding", "no_such_task", "spd_solve"])
    assert meta["tasks"] == {
        "graph_embedding": {"main": "accuracy", "higher_is_better": ["accuracy"]},
        "spd_solve": {"main": "relative_residual", "higher_is_better": []},
    }
