"""``harness compare``: did NEW get slower, faster or less accurate than BASE, case by case?"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from harness.cli.common import console, db_option, errors, escape, open_db
from harness.results import db as results_db
from harness.results.compare import (
    CaseComparison,
    Comparison,
    MetricTolerance,
    compare_runs,
    find_run,
)
from harness.results.records import StoredCase, StoredRun
from harness.run.case import Status

VERDICT_STYLE = {
    "slower": "bold red",
    "failing": "bold red",
    "faster": "green",
    "fixed": "green",
    "same": "dim",
    "unstable": "yellow",
    "not comparable": "yellow",
    "status changed": "magenta",
    "not measured": "dim",
    "only in base": "cyan",
    "only in new": "cyan",
}


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that refuses NaN (which passes its bounds: every comparison with
    NaN is false) and ±infinity."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number.", param, ctx)
        return number


def _open(path: Path) -> results_db.ResultsDB:
    return open_db(path)


def _run_title(run: StoredRun) -> str:
    project = run.metadata.get("project") or {}
    commit = (project.get("commit") or "no commit")[:10] + (
        " dirty" if project.get("dirty") else ""
    )
    return f"run {run.id} ({run.suite}, {commit}, {run.started_at})"


def _milliseconds(record: StoredCase | None) -> str:
    if record is None:
        return "-"
    if record.status != Status.OK or record.median_s is None:
        return record.status
    if record.gbs is not None:  # a memory-bound method: its GB/s beside the time
        return f"{record.median_s * 1e3:.3f} ({record.gbs:.3g} GB/s)"
    return f"{record.median_s * 1e3:.3f}"


def _metric_cell(row: CaseComparison) -> str:
    """The metrics that changed, red when worse in the direction their task declared (a
    higher-is-better one is marked so)."""
    return "\n".join(
        f"[{'red' if c.worse else 'green'}]{escape(c.name)}"
        f"{' (higher is better)' if c.higher_is_better else ''} "
        f"{'nan' if c.base is None else format(c.base, '.2e')} → "
        f"{'nan' if c.new is None else format(c.new, '.2e')}[/]"
        for c in row.metric_changes
    )


def _table(comparison: Comparison, rows: list[CaseComparison]) -> Table:
    ratio_header = "ratio (roofline)" if comparison.normalize else "ratio"
    table = Table(
        title=escape(f"{_run_title(comparison.base_run)} → {_run_title(comparison.new_run)}")
    )
    for column in ("task", "method", "params", "backend", "dtype", "size"):
        table.add_column(column)
    for column in ("base ms", "new ms", ratio_header, f"{1 - comparison.alpha:.0%} interval", "p"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("metrics changed")
    table.add_column("note")
    for row in rows:
        case = row.identity
        params = " ".join(f"{k}={v}" for k, v in case["params"].items())
        interval = f"{row.interval[0]:.3f}-{row.interval[1]:.3f}" if row.interval else ""
        style = VERDICT_STYLE[row.verdict]
        table.add_row(
            *map(escape, (case["task"], case["method"], params, case["backend"], case["dtype"])),
            "x".join(map(str, case["sizes"].values())),
            _milliseconds(row.base),
            _milliseconds(row.new),
            "" if row.ratio is None else f"[{style}]{row.ratio:.3f}[/]",
            interval,
            "" if row.p_value is None else f"{row.p_value:.2g}",
            f"[{style}]{row.verdict}[/]",
            _metric_cell(row),
            f"[dim]{escape(row.note or '')}[/]",
        )
    return table


def _summary_line(comparison: Comparison) -> str:
    counts = comparison.summary()
    parts = [
        f"[{VERDICT_STYLE.get(name, 'red' if name == 'less accurate' else 'green')}]{n} {name}[/]"
        for name, n in counts.items()
        if n and name != "regressed"
    ]
    outcome = {
        0: "[green]nothing regressed[/]",
        1: f"[bold red]{counts['regressed']} regressed[/]",
        2: "[yellow]undecided: too unstable to say, or not comparable[/]"
        if comparison.common
        else "[bold red]nothing to compare: the runs have no case in common[/]",
    }[comparison.exit_code]
    return (
        f"{len(comparison.rows)} cases: {', '.join(parts)}. {outcome} (exit {comparison.exit_code})"
    )


@click.command()
@click.argument("base")
@click.argument("new")
@db_option
@click.option(
    "--base-db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Database holding BASE (default: the same as NEW's).",
)
@click.option(
    "--min-effect",
    type=FiniteFloatRange(min=0),
    default=0.05,
    show_default=True,
    help="Smallest time change that counts (0.05: 5%), however significant.",
)
@click.option(
    "--alpha",
    type=FiniteFloatRange(0, 1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Significance level of the Mann-Whitney U test; the interval is at 1 - alpha.",
)
@click.option(
    "--metric-rtol",
    type=FiniteFloatRange(min=0),
    default=0.10,
    show_default=True,
    help="Relative change of a quality metric that counts.",
)
@click.option(
    "--metric-atol",
    type=FiniteFloatRange(min=0),
    default=None,
    help="Absolute change of a quality metric that counts (default: 10 machine epsilons "
    "of the case's dtype).",
)
@click.option(
    "--normalize",
    type=click.Choice(["roofline"]),
    default=None,
    help="Multiply each run's times by its measured GEMM rate (backend, dtype): compares "
    "runs from different machines.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every case, not only the changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(
    base: str,
    new: str,
    db_path: Path | None,
    base_db: Path | None,
    min_effect: float,
    alpha: float,
    metric_rtol: float,
    metric_atol: float | None,
    normalize: str | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """Compare run NEW with run BASE, case by case.

    BASE and NEW are run ids, or git commits (a prefix of 4+ hex digits: the latest finished
    run of that commit). Per case: the ratio of median times new/base, a Mann-Whitney U test
    on the raw samples, a bootstrap interval of the ratio, and the quality metrics that
    changed beyond the tolerance, better or worse in the direction each task declares
    (lower is better unless it says higher). Exit status: 0 when nothing regressed, 1 when
    a case got slower, less accurate or newly failed, 2 when the results are too unstable to
    say, the runs come from different machines (see --normalize), the runs have no case in
    common (nothing to compare), or an option or run is not valid.
    """
    new_db = _open(db_path or results_db.default_path())
    old_db = _open(base_db) if base_db else new_db
    try:
        comparison = compare_runs(
            new_db,
            find_run(old_db, base),
            find_run(new_db, new),
            base_db=old_db,
            min_effect=min_effect,
            alpha=alpha,
            metric_tolerance=MetricTolerance(metric_rtol, metric_atol),
            normalize=normalize,  # type: ignore[arg-type]  # click.Choice checked it
        )
    except LookupError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    finally:
        new_db.close()
        old_db.close()
    if as_json:
        click.echo(json.dumps(comparison.as_dict(), indent=2))
        sys.exit(comparison.exit_code)
    _print_comparison(comparison, normalize, show_all)
    sys.exit(comparison.exit_code)


def _print_comparison(comparison: Comparison, normalize: str | None, show_all: bool) -> None:
    """Print a comparison for people: why the runs are not comparable (if they are not), the
    table of the cases that changed (every case with ``show_all``), and the summary line."""
    if not comparison.comparable:
        console.print(
            f"[yellow]not comparable:[/] the runs come from different machines or software "
            f"stacks ({escape(comparison.reason or '')})."
            + (
                " Times are normalised by each run's measured GEMM rate."
                if normalize
                else " Times are not judged; --normalize roofline compares them as shares "
                "of each machine's measured GEMM rate."
            ),
            highlight=False,
        )
    rows = comparison.rows if show_all else [row for row in comparison.rows if row.changed]
    if rows:
        console.print(_table(comparison, rows))
    else:
        console.print(f"no case changed (of {len(comparison.rows)}; --all shows them)")
    console.print(_summary_line(comparison), highlight=False)
