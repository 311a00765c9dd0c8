"""The ``harness`` command line: ``harness plugins``, ``harness run``.

Built on click (commands, options and ``--help`` text from one declaration) and rich (tables,
colour and a progress bar that degrade to plain text when the output is not a terminal).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from harness import __version__, metadata, results_table
from harness import db as results_db
from harness import report as html_report
from harness import roofline as roofline_module
from harness.asv import asv as asv_commands
from harness.backend import probe
from harness.registry import Registry, UnknownNameError
from harness.runner import CaseResult, run_suite
from harness.suite import SuiteError, load

# Not a terminal (a pipe, a CI log): wide enough for a results table without folding.
console = Console() if Console().is_terminal else Console(width=240)
errors = Console(stderr=True)
DEFAULT_SUITE = "smoke"
db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Results database (default: $HARNESS_DB or results/harness.sqlite).",
)
STATUS_STYLE = {
    "ok": "green",
    "error": "bold red",
    "timeout": "bold red",
    "crashed": "bold red",
    "unavailable": "yellow",
    "unsupported": "dim",
}
FAILED = ("error", "timeout", "crashed")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """linalg-harness: benchmark matrix methods (orthogonalizers, sketches, spectral filters,
    preconditioners) on every backend, from plugins.

    Plugins are found through the entry-point group 'harness'. Set HARNESS_BLOCK_PLUGINS=a,b
    to skip named plugins, HARNESS_DISABLE_PLUGIN_AUTOLOAD=1 to load none, HARNESS_DB to
    change the default results database (results/harness.sqlite).
    """


def _plugins_json(registry: Registry) -> dict[str, Any]:
    plugins = []
    for record in registry.plugins:
        provided = registry.provided_by(record)
        plugins.append(
            {
                "name": record.name,
                "distribution": record.distribution,
                "version": record.version,
                "status": record.status,
                "errors": record.errors,
                "backends": [
                    {"name": b, **_availability(registry, b)} for b in provided["backend"]
                ],
                "methods": provided["method"],
                "tasks": provided["task"],
            }
        )
    conflicts = [
        {"kind": k, "name": n, "plugins": [r.name for r in rs]}
        for (k, n), rs in registry.conflicts.items()
    ]
    return {"plugins": plugins, "conflicts": conflicts}


def _availability(registry: Registry, name: str) -> dict[str, Any]:
    if ("backend", name) in registry.conflicts:
        return {"available": False, "reason": "name provided by two plugins"}
    availability = probe(registry.backend(name))
    return {"available": availability.available, "reason": availability.reason or None}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins(as_json: bool) -> None:
    """List every plugin: distribution, version, what it provides, and backend availability."""
    info = _plugins_json(Registry.load())
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    table = Table(title="harness plugins")
    for column in ("plugin", "distribution", "status", "provides"):
        table.add_column(column)
    for p in info["plugins"]:
        dist = f"{p['distribution']} {p['version']}" if p["distribution"] else "-"
        status = {"loaded": "[green]loaded[/]", "blocked": "[yellow]blocked[/]"}.get(
            p["status"], "[bold red]failed[/]"
        )
        provides = [
            escape(b["name"])
            + ": "
            + (
                "[green]available[/]"
                if b["available"]
                else f"[yellow]unavailable - {escape(b['reason'])}[/]"
            )
            for b in p["backends"]
        ]
        provides += [f"method {escape(m)}" for m in p["methods"]]
        provides += [f"task {escape(t)}" for t in p["tasks"]]
        provides += [f"[red]{escape(e)}[/]" for e in p["errors"]]
        table.add_row(escape(p["name"]), escape(dist), status, "\n".join(provides) or "-")
    console.print(table)
    for c in info["conflicts"]:
        console.print(
            f"[bold red]conflict:[/] {c['kind']} {escape(repr(c['name']))} is "
            f"provided by {escape(' and '.join(c['plugins']))}; neither is used"
        )


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


@main.command()
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


@main.command()
@click.argument("run_id", type=int, required=False)
@db_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports") / "latest",
    show_default=True,
    help="Folder to write index.html into.",
)
def report(run_id: int | None, db_path: Path | None, out: Path) -> None:
    """Write a self-contained HTML page of RUN_ID (default: the latest run)."""
    path = db_path or results_db.default_path()
    if not path.exists():
        errors.print(f"[bold red]error:[/] no results database at {escape(str(path))}")
        sys.exit(2)
    db = results_db.ResultsDB(path)
    try:
        page = html_report.write(db, run_id if run_id is not None else db.latest_run(), out)
    except LookupError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    finally:
        db.close()
    console.print(f"report written to {escape(str(page))}")


@main.command()
@click.option("--backend", "backends", multiple=True, help="Backend (repeatable; default: all).")
@click.option(
    "--dtype", "dtypes", multiple=True, help="Dtype (repeatable; default: float32, float64)."
)
@click.option("--threads", type=int, default=None, help="BLAS/OpenMP threads (default: all).")
@click.option("--refresh", is_flag=True, help="Measure again instead of reading the cache.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def roofline(
    backends: tuple[str, ...],
    dtypes: tuple[str, ...],
    threads: int | None,
    refresh: bool,
    as_json: bool,
) -> None:
    """Show this machine's measured GEMM rate and memory bandwidth per backend and dtype.

    Measured once per machine fingerprint and cached (see HARNESS_CACHE); every run records
    it, and results report their achieved GFLOP/s as a percentage of it.
    """
    registry = Registry.load()
    try:
        names = [registry.backend(name).name for name in backends] or sorted(registry.backends)
    except UnknownNameError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    pairs = [(b, d) for b in names for d in dtypes or ("float32", "float64")]
    meta = metadata.collect(registry, names)
    measured = roofline_module.for_run(registry, pairs, meta, refresh, threads)
    if as_json:
        click.echo(json.dumps(measured, indent=2))
        return
    table = Table(title="roofline (this machine)")
    for column in (
        "backend",
        "dtype",
        "GEMM GFLOP/s",
        "at n",
        "copy GB/s",
        "triad GB/s",
        "measured",
    ):
        table.add_column(column)
    for backend, by_dtype in measured.items():
        for dtype, m in by_dtype.items():
            if "error" in m:
                table.add_row(escape(backend), dtype, f"[red]{escape(m['error'])}[/]")
                continue
            table.add_row(
                escape(backend),
                dtype,
                f"{m['gemm_gflops']:.1f}",
                str(m["gemm_n"]),
                f"{m['copy_gbs']:.1f}",
                f"{m['triad_gbs']:.1f}",
                m["measured_at"],
            )
    console.print(table)
    for name in names:
        availability = probe(registry.backend(name))
        if not availability.available:
            console.print(f"[yellow]{escape(name)}: {escape(str(availability))}[/]")


main.add_command(asv_commands)
