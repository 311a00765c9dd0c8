"""``harness report``: the HTML report of a stored run."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from harness import db as results_db
from harness import report as html_report
from harness.cli.common import console, db_option, errors


@click.command()
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
