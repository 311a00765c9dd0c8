"""What every ``harness`` subcommand shares: the consoles, the ``--db`` option and opening the
results database, escaping what is printed, status styles, failing with exit status 2."""

from __future__ import annotations

import os
import sys
import unicodedata
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape as escape_markup

from harness.results import db as results_db
from harness.run.case import Status

EXIT_BAD_INPUT = 2
"""Exit status when nothing (more) could be done: bad input, an unusable file or folder."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, as a shell reports a command whose reader went away (``| head``)."""


def end_on_broken_pipe() -> NoReturn:
    """The reader of the output has gone: stop quietly (nothing more can be written; the
    output is pointed at /dev/null so that Python's flush at exit cannot complain)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(EXIT_BROKEN_PIPE)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        end_on_broken_pipe()


# Not a terminal (a pipe, a CI log): wide enough for a results table without folding.
console = _Console() if Console().is_terminal else _Console(width=240)
errors = _Console(stderr=True, soft_wrap=True)  # an error is one line, whatever the width
db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Results database (default: $HARNESS_DB or results/harness.sqlite).",
)
STATUS_STYLE = {
    Status.OK: "green",
    Status.ERROR: "bold red",
    Status.TIMEOUT: "bold red",
    Status.CRASHED: "bold red",
    Status.UNAVAILABLE: "yellow",
    Status.UNSUPPORTED: "dim",
}
"""The rich style of each case status, in the order of ``Status``."""
opened_databases: list[Path] = []
"""The databases this command opened, latest last (the error boundary names a damaged one)."""


def printable(text: str) -> str:
    """``text`` with every control, format (bidirectional overrides, zero-width) and
    unassigned character shown as its escape (``\\x1b``, ``\\u202e``), so that a stored name
    can never move the cursor, recolour or reorder the terminal. Newlines and tabs stay."""
    if text.isprintable():
        return text
    return "".join(
        c
        if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cn", "Co", "Cs")
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def escape(text: str) -> str:
    """``text`` for a rich console: printable (see ``printable``), and rich markup escaped."""
    return escape_markup(printable(text))


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 2 (bad input: nothing was done)."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_BAD_INPUT)


def open_db(
    db_path: Path | None, *, create: bool = False, write: bool | None = None
) -> results_db.ResultsDB:
    """The results database (``--db``, ``$HARNESS_DB`` or the default), or exit 2 saying why:
    missing (unless ``create``), a folder, not a harness database, damaged, or of a newer
    schema. Opened read-only unless ``write`` (default: ``create``): a read command never
    changes the file."""
    path = db_path or results_db.default_path()
    opened_databases.append(path)
    try:
        return results_db.ResultsDB(
            path, create=create, readonly=not (create if write is None else write)
        )
    except FileNotFoundError as exc:
        fail(f"{exc} (pass --db, or set HARNESS_DB)")
    except results_db.UnusableDatabase as exc:
        fail(str(exc))
