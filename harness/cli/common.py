"""What every ``harness`` subcommand shares: the consoles, the ``--db`` option and opening the
results database, status styles, failing with exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape

from harness import db as results_db

# Not a terminal (a pipe, a CI log): wide enough for a results table without folding.
console = Console() if Console().is_terminal else Console(width=240)
errors = Console(stderr=True)
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


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 2 (bad input: nothing was done)."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(2)


def open_db(db_path: Path | None, *, create: bool = False) -> results_db.ResultsDB:
    """The results database (``--db``, ``$HARNESS_DB`` or the default), or exit 2 saying why:
    missing (unless ``create``), not an SQLite file, or of a newer schema."""
    path = db_path or results_db.default_path()
    try:
        return results_db.ResultsDB(path, create=create)
    except FileNotFoundError as exc:
        fail(f"{exc} (pass --db, or set HARNESS_DB)")
    except RuntimeError as exc:
        fail(str(exc))
