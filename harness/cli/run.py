"""``harness run``: run a suite with a progress bar, store it, print its results."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from harness import db as results_db
from harness import results_table
from harness.cli.common import FAILED, STATUS_STYLE, console, db_option, errors
from harness.registry import Registry, UnknownNameError
from harness.runner import CaseResult, run_suite
from harness.suite import SuiteError, load

DEFAULT_SUITE = "smoke"


def _results_table(title: str, results: list[CaseResult]) -> Table:
    """The cases that ran, one row each, with the task's metrics as columns; the parameters
    shown are those the suite set (the database keeps them all, defaults included)."""
    records = [r.record() for r in results]
    metrics = results_table.metric_names(records)
    table = Table(title=escape(title))
    for column in results_table.headers(metrics):
        table.add_column(
            column,
            no_wrap=column != "status",
            min_width=6 if column == "status" else None,
            justify="left" if column in results_table.TEXT_COLUMNS else "right",
        )
    for result, record in zip(results, records, strict=True):
        status = f"[{STATUS_STYLE[record['status']]}]{results_table.status(record)}[/]"
        if record["message"]:
            status += f" [dim]{escape(record['message'])}[/]"
        cells = results_table.cells(record, metrics, params=result.case.params)
        table.add_row(*map(escape, cells), status)
    return table


def _print_results(results: list[CaseResult]) -> None:
    """A table per task and problem for the cases that ran, then why the others did not."""
    ran = [r for r in results if r.status in ("ok", *FAILED)]
    groups: dict[str, list[CaseResult]] = {}
    for r in ran:
        problem = " ".join(f"{k}={v}" for k, v in r.case.problem.items())
        groups.setdefault(f"{r.case.task} {problem}".strip(), []).append(r)
    for title, group in groups.items():
        console.print(_results_table(title, group))
    reasons: dict[tuple[str, str], int] = {}
    for r in results:
        if r.status in ("unavailable", "unsupported"):
            key = (r.status, f"{r.case.backend}: {r.message}")
            reasons[key] = reasons.get(key, 0) + 1
    for (status, reason), count in reasons.items():
        console.print(f"[{STATUS_STYLE[status]}]{status}[/] {count} cases - {escape(reason)}")


@click.command()
@click.argument("suite", default=DEFAULT_SUITE)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the stored cases as JSON.")
@click.option(
    "--inline", is_flag=True, help="Run every case in this process (for debugging; no timeouts)."
)
def run(suite: str, db_path: Path | None, as_json: bool, inline: bool) -> None:
    """Run SUITE (a YAML file, or the name of a shipped suite; default: smoke).

    Expands tasks x sizes x methods x backends x dtypes, times every case (each in a fresh
    worker process unless the suite or --inline says otherwise), stores each in the results
    database as it finishes, and prints a table. Exit status: 0 when no case failed, 1 when a
    case raised, timed out, crashed or gave non-finite output, 2 when the suite is invalid.
    """
    registry = Registry.load()
    try:
        loaded = load(suite, registry)
    except (SuiteError, UnknownNameError) as exc:
        errors.print(f"[bold red]error:[/] suite {suite!r} cannot run:", highlight=False)
        errors.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    if inline:
        loaded.options = dataclasses.replace(loaded.options, isolation="inline")
    db = results_db.ResultsDB(db_path or results_db.default_path())
    results: list[CaseResult] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=as_json,
    ) as progress:
        bar = progress.add_task(f"running {loaded.name}", total=len(loaded.cases))

        def on_result(result: CaseResult) -> None:
            results.append(result)
            progress.advance(bar)
            if result.status in FAILED:
                progress.console.print(
                    f"[red]{result.status}[/] {escape(result.case.method)} on "
                    f"{escape(result.case.backend)}: {escape(result.message or '')}"
                )

        run_id = run_suite(loaded, registry, db, on_result)
    if as_json:
        click.echo(
            json.dumps({"run_id": run_id, "db": str(db.path), "cases": db.cases(run_id)}, indent=2)
        )
    else:
        _print_results(results)
        counts = {s: sum(r.status == s for r in results) for s in STATUS_STYLE}
        console.print(
            f"run {run_id} stored in {db.path}: "
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        )
    db.close()
    sys.exit(1 if any(r.status in FAILED for r in results) else 0)
