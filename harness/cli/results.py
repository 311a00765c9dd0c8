"""Stored runs in the terminal: ``harness runs``, ``show``, ``export`` and ``merge``, and the
tables and summary that ``harness run`` prints at the end of a run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from harness import output_files
from harness.cli import results_table
from harness.cli.common import (
    STATUS_STYLE,
    console,
    db_option,
    errors,
    escape,
    fail,
    open_db,
)
from harness.results import db as results_db
from harness.results import export as tidy
from harness.results.records import StoredCase, StoredRun
from harness.run.case import DID_NOT_RUN, FAILED, Case, Status

SLOWEST_SHOWN = 3
UNSTABLE_SHOWN = 5


def stored_run(db: results_db.ResultsDB, run_id: int | None) -> StoredRun:
    """Run ``run_id`` (default: the latest), or exit 2 saying which runs there are."""
    try:
        return db.run(db.latest_run() if run_id is None else run_id)
    except LookupError as exc:
        ids = [r.id for r in db.runs()]
        fail(f"{exc}" + (f" (runs: {ids[0]} to {ids[-1]})" if ids else ""))


def suite_params(record: StoredCase) -> dict[str, Any]:
    """The method parameters the suite set for a stored case (its key keeps them; the
    ``params`` column has the defaults filled in too)."""
    return json.loads(record.case_key)["params"] if record.case_key else record.params


def describe(record: Case | StoredCase, params: dict[str, Any]) -> str:
    """One line naming a case (planned or stored): ``method(p=v) backend dtype MxN``, plus
    its problem."""
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    problem = " ".join(f"{k}={v}" for k, v in record.problem.items())
    size = "x".join(map(str, record.sizes.values()))
    rep = f" rep {record.repetition}" if record.repetition else ""
    return (
        f"{record.method}{f'({shown})' if shown else ''} {record.backend} "
        f"{record.dtype} {size}{rep} [{record.task}{f' {problem}' if problem else ''}]"
    )


def _cases_table(title: str, records: list[StoredCase]) -> Table:
    """The cases that ran, one row each, with the task's metrics as columns."""
    metrics = results_table.metric_names(records)
    traffic = results_table.has_traffic(records)
    table = Table(title=escape(title))
    for column in results_table.headers(metrics, traffic):
        table.add_column(
            column,
            no_wrap=column != "status",
            min_width=6 if column == "status" else None,
            justify="left" if column in results_table.TEXT_COLUMNS else "right",
        )
    for record in records:
        status = f"[{STATUS_STYLE[record.status]}]{results_table.status(record)}[/]"
        if record.message:
            status += f" [dim]{escape(record.message)}[/]"
        cells = results_table.cells(record, metrics, suite_params(record), traffic)
        table.add_row(*map(escape, cells), status)
    return table


def print_cases(records: list[StoredCase]) -> None:
    """A table per task and problem for the cases that ran, then why the others did not."""
    groups: dict[str, list[StoredCase]] = {}
    for r in records:
        if r.status in (Status.OK, *FAILED):
            problem = " ".join(f"{k}={v}" for k, v in r.problem.items())
            groups.setdefault(f"{r.task} {problem}".strip(), []).append(r)
    for title, group in groups.items():
        console.print(_cases_table(title, group))
    reasons = Counter(
        (r.status, f"{r.backend}: {r.message}") for r in records if r.status in DID_NOT_RUN
    )
    for (status, reason), count in reasons.items():
        console.print(f"[{STATUS_STYLE[status]}]{status}[/] {count} cases - {escape(reason)}")


def _spread(record: StoredCase) -> float:
    """IQR / median of a case's samples."""
    stats = record.stats or {}
    return stats.get("iqr", 0.0) / stats["median"] if stats.get("median") else 0.0


def summary(records: Iterable[StoredCase], planned: int | None = None) -> dict[str, Any]:
    """Counts per status, overall and per task; the slowest and the least stable cases, and
    those above the measured peak."""
    records = list(records)
    by_task: dict[str, Counter[str]] = {}
    for r in records:
        by_task.setdefault(r.task, Counter())[r.status] += 1
    timed = [r for r in records if r.status == Status.OK and r.median_s is not None]
    unstable = sorted((r for r in timed if r.unstable), key=_spread, reverse=True)

    def brief(record: StoredCase) -> dict[str, Any]:
        return {
            "case_id": record.id,
            "case": describe(record, suite_params(record)),
            "median_s": record.median_s,
            "iqr_over_median": _spread(record),
        }

    return {
        "cases": len(records),
        "planned": planned,
        "counts": dict(Counter(r.status for r in records)),
        "by_task": {task: dict(counts) for task, counts in by_task.items()},
        "unstable": len(unstable),
        "slowest": [brief(r) for r in sorted(timed, key=lambda r: -(r.median_s or 0.0))][
            :SLOWEST_SHOWN
        ],
        "least_stable": [brief(r) for r in unstable[:UNSTABLE_SHOWN]],
        "above_peak": [
            {**brief(r), "peak_fraction": r.peak_fraction} for r in timed if r.above_peak
        ],
    }


def counts_line(run_id: int, db_path: Path, facts: dict[str, Any]) -> str:
    """``run 3 stored in results/harness.sqlite: 30 ok, 2 error (32 of 32 cases)``."""
    counts = ", ".join(
        f"[{STATUS_STYLE[s]}]{facts['counts'][s]} {s}[/]"
        for s in STATUS_STYLE
        if s in facts["counts"]
    )
    of = f" ({facts['cases']} of {facts['planned']} cases)" if facts["planned"] else ""
    return f"run {run_id} stored in {escape(str(db_path))}: {counts or 'no cases'}{of}"


def print_summary(facts: dict[str, Any]) -> None:
    """The counts per task and status, then the slowest and the least stable cases."""
    statuses = [s for s in STATUS_STYLE if s in facts["counts"]]
    table = Table(title="summary")
    table.add_column("task")
    for status in statuses:
        table.add_column(f"[{STATUS_STYLE[status]}]{status}[/]", justify="right")
    table.add_column("total", justify="right")
    for task, counts in facts["by_task"].items():
        cells = [str(counts.get(s, 0)) for s in statuses]
        table.add_row(escape(task), *cells, str(sum(counts.values())))
    console.print(table)
    for case in facts["slowest"]:
        console.print(f"slowest: {case['median_s'] * 1e3:.3f} ms  {escape(case['case'])}")
    if facts["unstable"]:
        console.print(
            f"[yellow]{facts['unstable']} unstable[/] (IQR/median above the suite's threshold):"
        )
        for case in facts["least_stable"]:
            console.print(f"  IQR {case['iqr_over_median']:.0%}  {escape(case['case'])}")
    if facts["above_peak"]:
        console.print(
            f"[yellow]{len(facts['above_peak'])} above the measured peak[/] (the GEMM probe "
            "missed a faster kernel for these shapes; `harness roofline --refresh`):"
        )
        for case in facts["above_peak"]:
            console.print(f"  {case['peak_fraction']:.0%} of peak  {escape(case['case'])}")


@click.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs(db_path: Path | None, as_json: bool) -> None:
    """List the stored runs: id, suite, start, state, cases stored of planned, commit, machine.

    State is finished; running (its process is alive here); interrupted (its process has
    gone: `harness run --resume ID` goes on with it); or unfinished (on another machine).
    """
    db = open_db(db_path)
    rows = []
    stored = db.stored_counts()
    for run in db.runs():
        meta = run.metadata
        rows.append(
            {
                "id": run.id,
                "uuid": run.uuid,
                "suite": run.suite,
                "tier": meta.get("tier"),
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "state": results_db.run_state(run),
                "done": stored[run.id],
                "planned": run.planned,
                "commit": meta.get("project", {}).get("commit"),
                "dirty": meta.get("project", {}).get("dirty"),
                "host": run.host,
                "cpu": meta.get("cpu"),
                "cores": meta.get("cores"),
            }
        )
    db.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=escape(f"runs in {db.path}"))
    for column in ("id", "suite", "started", "state", "cases", "commit", "machine"):
        table.add_column(column, justify="right" if column in ("id", "cases") else "left")
    state_style = {"finished": "green", "running": "cyan", "interrupted": "bold red"}
    for row in rows:
        commit = (row["commit"] or "-")[:10] + (" dirty" if row["dirty"] else "")
        machine = ", ".join(
            str(x) for x in (row["host"], row["cpu"], row["cores"] and f"{row['cores']} cores") if x
        )
        table.add_row(
            str(row["id"]),
            escape(row["suite"] + (f" ({row['tier']})" if row["tier"] else "")),
            row["started_at"],
            f"[{state_style.get(row['state'], 'yellow')}]{row['state']}[/]",
            f"{row['done']}/{row['planned'] if row['planned'] is not None else '?'}",
            commit,
            escape(machine),
        )
    console.print(table)


@click.command()
@click.argument("run_id", type=int, required=False)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the run and its cases as JSON.")
def show(run_id: int | None, db_path: Path | None, as_json: bool) -> None:
    """Print stored run RUN_ID (default: the latest): what ran where, its cases, a summary."""
    db = open_db(db_path)
    run = stored_run(db, run_id)
    cases = db.cases(run.id)
    db.close()
    state = results_db.run_state(run)
    if as_json:
        click.echo(
            json.dumps(
                {"run": run.as_dict(), "state": state, "cases": [c.as_dict() for c in cases]},
                indent=2,
            )
        )
        return
    meta = run.metadata
    project = meta.get("project", {})
    facts = {
        "run": f"{run.id}  (uuid {run.uuid})",
        "suite": f"{run.suite}  ({run.suite_path})"
        + (f", tier {meta['tier']}" if meta.get("tier") else ""),
        "state": state,
        "started": run.started_at,
        "finished": run.finished_at or "-",
        "cases": f"{len(cases)} of {run.planned if run.planned is not None else '?'}",
        "commit": f"{project.get('commit')}" + (" (dirty)" if project.get("dirty") else ""),
        "machine": f"{run.host or '?'}: {meta.get('cpu')}, {meta.get('cores')} cores, "
        f"{(meta.get('memory_bytes') or 0) / 2**30:.0f} GiB, {meta.get('platform')}",
        "backends": ", ".join(meta.get("backends", {})) or "-",
        "resumed": ", ".join(r["at"] for r in meta.get("resumes", [])) or "-",
    }
    header = Table.grid(padding=(0, 2))
    for key, value in facts.items():
        header.add_row(f"[bold]{key}[/]", escape(str(value)))
    console.print(header)
    print_cases(cases)
    if cases:
        print_summary(summary(cases, run.planned))


@click.command()
@click.argument("run_id", type=int)
@db_option
@click.option("--format", "fmt", type=click.Choice(tidy.FORMATS), default="csv", show_default=True)
@click.option(
    "--table",
    type=click.Choice(tuple(tidy.TABLES)),
    default="cases",
    show_default=True,
    help="cases: one row per case; samples: one per timing sample; curves: one per step of "
    "an iterative method.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="File to write (default: run-RUN_ID-TABLE.FORMAT here; '-': standard output).",
)
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
def export(
    run_id: int, db_path: Path | None, fmt: str, table: str, out: Path | None, force: bool
) -> None:
    """Write run RUN_ID as a tidy table: one row per case, with the method's parameters as
    p_<name> columns, the sizes as size_<name>, the problem as problem_<name>, the timing
    statistics as time_<stat>_s and the quality metrics as metric_<name> (docs/results.md).

    An existing file is replaced only with --force, and never the database being read; the
    file is written whole or not at all."""
    db = open_db(db_path)
    run = stored_run(db, run_id)
    rows = tidy.TABLES[table](db.cases(run.id))
    db.close()
    out = out or Path(f"run-{run_id}-{table}.{fmt}")
    to_stdout = str(out) == "-"
    if to_stdout and fmt == "parquet":
        fail("parquet is binary: give --out FILE")
    try:
        if not to_stdout:
            output_files.check_target(out, force=force, database=db.path)
        tidy.write(rows, fmt, None if to_stdout else out)
    except (tidy.MissingDependency, output_files.OutputError) as exc:
        fail(str(exc))
    if not to_stdout:
        errors.print(f"{len(rows)} rows written to {escape(str(out))}", highlight=False)


@click.command()
@click.argument("other", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print what was merged as JSON.")
def merge(other: Path, db_path: Path | None, as_json: bool) -> None:
    """Import the runs of OTHER (another machine's results database, of any schema version;
    only read) into --db. Runs are matched by uuid, so merging again adds nothing; a run
    already here gets only the cases it lacks. Imported runs get the next free ids here."""
    try:
        source = results_db.ResultsDB.copy_of(other)
        source.check_records()  # nothing unreadable is imported
    except (FileNotFoundError, RuntimeError) as exc:
        fail(str(exc))
    db = open_db(db_path, create=True)
    merged = db.merge_from(source)
    source.close()
    db.close()
    if as_json:
        click.echo(json.dumps(merged, indent=2))
        return
    for run in merged:
        what = "new" if run["new"] else "already here"
        console.print(
            f"run {run['their_id']} of {escape(str(other))} -> run {run['id']} ({what}): "
            f"{run['cases_added']} cases added"
        )
    added = sum(r["new"] for r in merged)
    console.print(
        f"{escape(str(db.path))}: {added} runs added, {len(merged) - added} already there"
    )
