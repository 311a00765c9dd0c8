"""Hardening, compare: `harness compare` never passes with nothing compared, refuses option
values that are not numbers in range (NaN passes click's own range check), and names what
a database holds when BASE or NEW names no run; through the real command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_compare import record, store, tight

from harness.cli import main
from harness.results.compare import compare_runs
from harness.results.db import ResultsDB


def cli(*args: str | int | Path):
    """The ``harness`` command in this process; an exception would fail the test."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A database with runs that share a case (``base``, ``same``), one of other cases
    (``other``), one without cases (``empty``) and an unfinished one (``running``)."""
    db = ResultsDB(tmp_path / "r.sqlite")
    samples = tight(1e-3)
    ids = {
        "base": store(db, [record(samples)]),
        "same": store(db, [record(samples)]),
        "other": store(db, [record(samples, method="svd_polar")]),
        "empty": store(db, []),
    }
    ids["running"] = db.start_run("test", "test.yaml", "", {})
    db.close()
    return tmp_path / "r.sqlite", ids


def test_runs_with_a_case_in_common_are_compared(runs):
    db, ids = runs
    result = cli("compare", ids["base"], ids["same"], "--db", db)
    assert result.exit_code == 0 and "1 cases: 1 same. nothing regressed" in result.stdout


@pytest.mark.parametrize(("base", "new"), [("base", "other"), ("base", "empty"), ("empty", "base")])
def test_nothing_to_compare_exits_2(runs, base, new):
    db, ids = runs
    result = cli("compare", ids[base], ids[new], "--db", db)
    assert result.exit_code == 2, result.stdout
    assert "nothing to compare: the runs have no case in common (exit 2)" in result.stdout
    as_json = cli("compare", ids[base], ids[new], "--db", db, "--json")
    out = json.loads(as_json.stdout)
    assert as_json.exit_code == out["exit_code"] == 2 and out["common"] == 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--alpha", "nan", "nan is not a finite number"),
        ("--alpha", "inf", "inf is not in the range 0<x<1"),
        ("--alpha", "0", "0.0 is not in the range 0<x<1"),
        ("--alpha", "1", "1.0 is not in the range 0<x<1"),
        ("--min-effect", "nan", "nan is not a finite number"),
        ("--min-effect", "inf", "inf is not a finite number"),
        ("--min-effect", "-0.1", "-0.1 is not in the range x>=0"),
        ("--metric-rtol", "nan", "nan is not a finite number"),
        ("--metric-rtol", "-inf", "-inf is not in the range x>=0"),
        ("--metric-atol", "NaN", "nan is not a finite number"),
        ("--metric-atol", "1e999", "inf is not a finite number"),
        ("--alpha", "five", "'five' is not a valid float"),
    ],
)
def test_option_values_that_are_not_numbers_in_range(runs, option, value, message):
    db, ids = runs
    result = cli("compare", ids["base"], ids["same"], "--db", db, option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': {message}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("ref", ["zzzz", "99", "", "abc", "12ab34"])
def test_a_run_that_is_not_there_lists_what_is(runs, ref):
    db, ids = runs
    for base, new in ((ref, ids["base"]), (ids["base"], ref)):
        result = cli("compare", base, new, "--db", db)
        assert result.exit_code == 2
        message = " ".join(result.stderr.split())  # as the console wrapped it
        assert f"error: {ref.lower()!r} is neither a run id nor the commit of a finished run" in (
            message
        )
        assert "its runs (latest first): 5 (no commit, running), 4 (aaaa111100)" in message
        assert "1 (aaaa111100)" in message and "Traceback" not in message


def test_an_unfinished_run_is_named_by_its_id(runs):
    db, ids = runs
    result = cli("compare", ids["base"], ids["running"], "--db", db)
    assert result.exit_code == 2 and "nothing to compare" in result.stdout


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"alpha": math.nan}, "alpha must be between 0 and 1, not nan"),
        ({"min_effect": math.nan}, "min_effect must be a finite number of at least 0, not nan"),
        ({"min_effect": math.inf}, "min_effect must be a finite number of at least 0, not inf"),
    ],
)
def test_compare_runs_refuses_what_is_not_a_number_in_range(runs, settings, message):
    db, ids = runs
    results = ResultsDB(db)
    with pytest.raises(ValueError, match=message):
        compare_runs(results, ids["base"], ids["same"], **settings)
    results.close()
