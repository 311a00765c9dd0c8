"""What every ``harness`` subcommand shares: the consoles, the ``--db`` option, status styles."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

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
