"""``harness run``: run a suite (or resume a run) with a progress bar, store every case as it
finishes, print its results and a summary; the exit status says whether cases failed."""

from __future__ import annotations

import dataclasses
import json
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any, Literal

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from harness.cli import results_table
from harness.cli.common import (
    EXIT_BAD_INPUT,
    STATUS_STYLE,
    console,
    db_option,
    errors,
    escape,
    fail,
    open_db,
    printable,
)
from harness.cli.results import (
    counts_line,
    describe,
    print_cases,
    print_summary,
    summary,
)
from harness.cli.validate import max_cases_option, print_dry_run, tier_option
from harness.names import did_you_mean
from harness.plugins.registry import Registry, UnknownNameError
from harness.results.db import ResultsDB, ResumeError, StorageError
from harness.results.records import StoredCase
from harness.run import conditions
from harness.run.case import FAILED, Case, CaseResult, Status
from harness.run.executors import Executor
from harness.run.placement import make_executor, parse_cluster
from harness.run.runner import resume_run, run_cases, start_run
from harness.suite.loader import Suite, SuiteError, load

DEFAULT_SUITE = "smoke"


def _fail_on(ctx: click.Context, param: click.Parameter, value: str) -> frozenset[str]:
    """The statuses named by ``--fail-on`` (comma-separated), each checked."""
    known = (*(status.value for status in Status), "unstable")
    names = frozenset(v.strip() for v in value.split(",") if v.strip())
    for name in sorted(names - set(known)):
        raise click.BadParameter(
            f"unknown status {name!r}{did_you_mean(name, known, n=1)} (known: {', '.join(known)})"
        )
    return names


def _cluster(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--cluster local:N``, checked before anything runs."""
    if value is not None:
        try:
            parse_cluster(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _failed(record: StoredCase | CaseResult, fail_on: frozenset[str]) -> bool:
    """Whether a stored or a just-finished case has a status ``--fail-on`` names."""
    return record.status in fail_on or bool("unstable" in fail_on and record.unstable)


@click.command()
@click.argument("suite", required=False)
@db_option
@click.option(
    "--resume",
    "resume_id",
    type=int,
    metavar="RUN",
    help="Go on with interrupted run RUN from its stored plan: the cases not stored yet.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's cases and summary as JSON.")
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bar or tables: failures as they happen, then the summary line.",
)
@click.option(
    "--fail-on",
    default=",".join(FAILED),
    show_default=True,
    callback=_fail_on,
    help="Statuses that make the exit status 1, comma-separated ('unstable' too).",
)
@click.option("--no-fail", is_flag=True, help="Exit status 0 whatever became of the cases.")
@click.option(
    "--inline", is_flag=True, help="Run every case in this process (for debugging; no timeouts)."
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run the cases on the Dask cluster at ADDRESS, e.g. tcp://HOST:8786 "
    "(docs/distributed.md).",
)
@click.option(
    "--cluster",
    metavar="local:N",
    callback=_cluster,
    help="Run the cases on a Dask cluster of N worker processes started on this machine.",
)
@tier_option
@max_cases_option
@click.option(
    "--dry-run", is_flag=True, help="Print the expanded cases and their count; run nothing."
)
def run(
    suite: str | None,
    db_path: Path | None,
    resume_id: int | None,
    as_json: bool,
    quiet: bool,
    fail_on: frozenset[str],
    no_fail: bool,
    inline: bool,
    scheduler: str | None,
    cluster: str | None,
    tier: str | None,
    max_cases: int,
    dry_run: bool,
) -> None:
    """Run SUITE (a YAML file, or the name of a shipped suite; default: smoke).

    Expands tasks x sizes x methods x backends x dtypes, times every case (each in a fresh
    worker process unless the suite or --inline says otherwise), stores each in the results
    database as it finishes, and prints a table per task and a summary. A run that was
    killed goes on with --resume RUN (see `harness runs`), from the cases it planned.
    --scheduler or --cluster spreads the cases over the workers of a Dask cluster.

    Exit status: 0 when no case failed; 1 when a case ended with a --fail-on status (by
    default: raised, timed out or crashed); 2 when the suite is invalid or the run cannot
    be resumed; 130 when interrupted (Ctrl-C: resume it later).
    """
    registry = Registry.load()
    if sum(map(bool, (inline, scheduler, cluster))) > 1:
        fail("--inline, --scheduler and --cluster exclude each other: give one")
    if resume_id is None:
        loaded = _load(suite or DEFAULT_SUITE, registry, tier, max_cases)
        if dry_run:
            print_dry_run(loaded, as_json)
            sys.exit(0)
        if inline:
            loaded.options = dataclasses.replace(loaded.options, isolation="inline")
        db = open_db(db_path, create=True)
    else:
        if suite is not None or tier is not None or dry_run:
            fail(
                f"--resume {resume_id} goes on with the run's stored plan: "
                "give no SUITE, --tier or --dry-run"
            )
        db = open_db(db_path, write=True)
    with _executor(registry, scheduler, cluster) as executor:
        run_id = (
            start_run(loaded, registry, db)
            if resume_id is None
            else _claim(db, resume_id, registry)
        )
        db.note_executor(run_id, executor.describe())
        planned = db.run(run_id).planned
        how = Progressing(fail_on, quiet=quiet or as_json, name_db=db_path is not None)
        start = _start_conditions(db.run(run_id).metadata)
        said = _warn(conditions.warnings(start), quiet)
        _run_cases(db, run_id, registry, executor, how, inline)
    end = db.run(run_id).metadata.get("conditions", {}).get("end")
    noted = conditions.warnings(start, end)
    _warn([line for line in noted if line not in said], quiet)
    records = db.cases(run_id)
    status = 0 if no_fail or not any(_failed(r, fail_on) for r in records) else 1
    facts = {**summary(records, planned), "conditions": noted}
    _print_outcome(db, run_id, records, facts, status, as_json, quiet)
    db.close()
    sys.exit(status)


def _executor(registry: Registry, scheduler: str | None, cluster: str | None) -> Executor:
    """Where the cases run (``--scheduler``, ``--cluster`` or this machine), made before the
    run is stored so that a cluster that cannot be reached leaves no empty run; exit 2 then."""
    try:
        return make_executor(registry, scheduler, cluster)
    except (ValueError, RuntimeError, OSError) as exc:
        fail(f"cannot run the cases there: {exc}")


def _load(suite: str, registry: Registry, tier: str | None, max_cases: int) -> Suite:
    """The suite ``suite`` (a file or a shipped suite's name) expanded, or exit 2 with the
    reasons it cannot run."""
    try:
        return load(suite, registry, tier=tier, max_cases=max_cases)
    except (SuiteError, UnknownNameError) as exc:
        message = f"[bold red]error:[/] suite {escape(repr(suite))} cannot run:"
        errors.print(message, highlight=False)
        errors.print(printable(str(exc)), highlight=False, markup=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)


def _print_outcome(
    db: ResultsDB,
    run_id: int,
    records: list[StoredCase],
    facts: dict[str, Any],
    status: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Print what became of run ``run_id``: its cases, summary (``facts``) and exit status
    as JSON; or the tables (unless ``quiet``) and the counts line."""
    if as_json:
        out = {
            "run_id": run_id,
            "db": str(db.path),
            "cases": [r.as_dict() for r in records],
            "summary": facts,
        }
        click.echo(json.dumps({**out, "exit_status": status}, indent=2))
    else:
        if not quiet:
            print_cases(records)
            print_summary(facts)
        console.print(counts_line(run_id, db.path, facts), highlight=False)


@dataclasses.dataclass(frozen=True)
class Progressing:
    """How ``harness run`` shows its progress: the statuses printed as they happen, whether
    the bar is shown, whether the resume command names ``--db``."""

    fail_on: frozenset[str]
    quiet: bool
    name_db: bool


def _claim(db: ResultsDB, run_id: int, registry: Registry) -> int:
    """Make this process the one running interrupted run ``run_id``, or exit 2 saying why."""
    try:
        claimed = resume_run(run_id, registry, db)
    except (ResumeError, LookupError) as exc:
        fail(str(exc))
    _warn_if_another_commit(claimed.metadata)
    return run_id


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM: stop as on Ctrl-C, so that the run says what is stored and how to go on."""
    raise KeyboardInterrupt


def _run_cases(
    db: ResultsDB,
    run_id: int,
    registry: Registry,
    executor: Executor,
    how: Progressing,
    inline: bool,
) -> None:
    """Run the cases of ``run_id`` not stored yet with a progress bar and a line per failure;
    an interrupt or a storage failure ends the command with the resume command."""
    planned = db.run(run_id).planned
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` ends the run as Ctrl-C does
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[case]}"),
        console=errors,
        transient=True,
        disable=how.quiet,
    ) as progress:
        name = escape(db.run(run_id).suite)
        stored = len(db.case_keys(run_id))
        bar = progress.add_task(f"run {run_id} {name}", total=planned, completed=stored, case="")

        def on_start(case: Case) -> None:
            progress.update(bar, case=escape(describe(case, case.params)))

        def on_result(result: CaseResult) -> None:
            progress.advance(bar)
            if _failed(result, how.fail_on) or result.status in FAILED:
                progress.console.print(
                    f"[{STATUS_STYLE[result.status]}]{results_table.status(result)}[/] "
                    f"{escape(describe(result.case, result.case.params))}: "
                    f"{escape(result.message or '')}",
                    highlight=False,
                    soft_wrap=True,
                )

        try:
            isolation: Literal["inline"] | None = "inline" if inline else None
            run_cases(run_id, registry, db, on_start, on_result, isolation, executor=executor)
        except KeyboardInterrupt:
            progress.stop()
            _stopped(db, run_id, planned, "[bold red]interrupted:[/]", "go on", how.name_db)
            sys.exit(130)
        except StorageError as exc:
            progress.stop()
            what = f"[bold red]error:[/] {escape(str(exc))}:"
            advice = "free some space (or fix what is named), then go on"
            _stopped(db, run_id, planned, what, advice, how.name_db)
            sys.exit(EXIT_BAD_INPUT)


def _stopped(
    db: ResultsDB, run_id: int, planned: int | None, what: str, advice: str, name_db: bool
) -> None:
    """Say (``what``) that run ``run_id`` stopped early, how much of it is stored, and how to
    go on (``advice``, then the command)."""
    try:
        stored = f"{len(db.case_keys(run_id))} of {planned}"
    except sqlite3.Error:  # the file cannot even be read now
        stored = "the earlier"
    errors.print(
        f"{what} {stored} cases of run {run_id} stored; {advice} with: "
        f"harness run --resume {run_id}" + (f" --db {escape(str(db.path))}" if name_db else ""),
        highlight=False,
        soft_wrap=True,
    )


def _start_conditions(metadata: dict[str, Any]) -> dict[str, Any]:
    """The machine's conditions when this process began the run: at its start, or at the
    latest resume."""
    resumes = metadata.get("resumes") or []
    latest = resumes[-1].get("conditions") if resumes else None
    return latest or metadata.get("conditions", {}).get("start") or {}


def _warn(lines: list[str], quiet: bool) -> list[str]:
    """Print each of ``lines`` as a warning (unless ``quiet``) and return them."""
    for line in lines if not quiet else []:
        errors.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    return lines


def _warn_if_another_commit(metadata: dict) -> None:
    """Say so when a run is resumed at a git commit other than the one it started at."""
    started = metadata.get("project", {})
    now = metadata["resumes"][-1]["project"]
    if (started.get("commit"), started.get("dirty")) != (now["commit"], now["dirty"]):
        errors.print(
            f"[yellow]warning:[/] the run started at commit {started.get('commit')}"
            f"{' (dirty)' if started.get('dirty') else ''} and goes on at {now['commit']}"
            f"{' (dirty)' if now['dirty'] else ''}: its cases may not be comparable",
            highlight=False,
        )
