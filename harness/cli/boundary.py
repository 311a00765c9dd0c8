"""The one error boundary of the ``harness`` command: what no command foresaw ends as one line
``error: ...`` with a hint, never as a traceback.

Exit statuses (every command):

- 0 done; 1 done, and what was run failed (``harness run``'s cases, ``harness compare``'s
  regressions);
- 2 nothing (more) could be done: bad input, or a file, folder or database that cannot be
  used (disk full, damaged, read-only); the message names it and says what to do;
- 3 an internal error, a bug in the harness or a plugin: the traceback is written to a log
  file whose path is printed (``harness --debug`` or ``HARNESS_DEBUG=1`` prints it instead);
- 130 interrupted (Ctrl-C); a closed output pipe (``harness runs | head``) ends quietly.

Warnings (``warnings.warn``, e.g. an unusable cache) are printed as ``warning: ...`` lines.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import tempfile
import traceback
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from harness import __version__
from harness.cache import cache_dir
from harness.cli.common import (
    EXIT_BAD_INPUT,
    end_on_broken_pipe,
    errors,
    escape,
    opened_databases,
)
from harness.results.db import RECOVER_HINT, UnusableDatabase, default_path

EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _print(kind: str, message: str) -> None:
    style = "bold red" if kind == "error" else "yellow"
    errors.print(f"[{style}]{kind}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    _print("warning", str(message))


def prepare_streams() -> None:
    """Print what the output's encoding cannot hold as escapes (``\\u00e9``) instead of
    failing, and warnings as ``warning:`` lines."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    warnings.showwarning = _show_warning


def _log_file(exc: BaseException) -> Path | None:
    """Write the traceback of ``exc`` (with the command line and versions) to a new log file
    in the cache (else the temporary folder); its path, or None when nowhere is writable."""
    text = (
        f"harness {__version__}, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}\n"
        f"command: {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc))
    )
    cache = cache_dir()
    folders = [cache / "logs"] if cache is not None else []
    for folder in [*folders, Path(tempfile.gettempdir())]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix="harness-error-", suffix=".log", dir=folder)
            with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as log:
                log.write(text)
            return Path(name)
        except OSError:
            continue
    return None


def _unforeseen(exc: BaseException, debug: bool) -> NoReturn:
    """An exception no command handled: one line and the log file, or the traceback."""
    if debug:
        traceback.print_exception(exc)
    else:
        log = _log_file(exc)
        where = f"the traceback is in {log}" if log else "no log file could be written"
        _print(
            "error",
            f"internal error: {type(exc).__name__}: {exc} ({where}; `harness --debug ...` "
            "prints it; please report it with that file)",
        )
    sys.exit(EXIT_INTERNAL)


def handle(exc: BaseException, debug: bool) -> NoReturn:
    """End the command for an exception that reached the boundary, with the right words and
    exit status (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        _print("error", "interrupted")
        sys.exit(EXIT_INTERRUPTED)
    if isinstance(exc, BrokenPipeError):
        end_on_broken_pipe()
    if debug:
        _unforeseen(exc, debug)
    if isinstance(exc, UnusableDatabase):
        _print("error", str(exc))
    elif isinstance(exc, sqlite3.DatabaseError):
        path = opened_databases[-1] if opened_databases else default_path()
        _print("error", f"{path} cannot be read ({exc}): " + RECOVER_HINT.format(path=path))
    elif isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        _print("error", f"disk full: {exc}; free some space and run the command again")
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        _print("error", f"{exc}: give a writable path (see `harness COMMAND --help`)")
    else:
        _unforeseen(exc, debug)
    sys.exit(EXIT_BAD_INPUT)


class HarnessGroup(click.Group):
    """The ``harness`` group: every command runs inside the error boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        prepare_streams()
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # the boundary: no traceback reaches the user
            handle(exc, bool(ctx.params.get("debug")))
        except KeyboardInterrupt as exc:
            handle(exc, False)
