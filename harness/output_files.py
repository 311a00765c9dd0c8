"""Files the harness writes for a user (exports, report pages): never over a file it was not
told to replace, and never half-written.

A file is written to a temporary file beside it and renamed over it (``write_atomically``), so
a reader, an interruption or a full disk leaves the old file or the new one, never part of
one. Every ``OSError`` on the way becomes an ``OutputError`` whose message names the path, the
problem and the fix.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path

_PROBLEMS = {
    errno.ENOENT: ("folder {folder} does not exist", "create it first, or choose another path"),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("permission denied", "choose a folder you can write to"),
    errno.EROFS: ("the file system is read-only", "choose a folder you can write to"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter name"),
    errno.EISDIR: ("it is a folder", "give a file name"),
    errno.ENOSPC: ("no space left on the device", "free some space, or write elsewhere"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space, or write elsewhere"),
    errno.EFBIG: ("the file is larger than allowed here", "write elsewhere"),
}


class OutputError(Exception):
    """A path the harness cannot, or must not, write; the message names it and the fix."""


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing part of ``path`` that is not a folder (so nothing can be
    created under it), if any."""
    for part in [path, *path.parents]:
        if os.path.lexists(part):
            return None if part.is_dir() else part
    return None


def explain(exc: OSError, path: Path, doing: str = "write") -> OutputError:
    """``exc``, raised while ``doing`` ``path``, as one line naming the path and the fix."""
    if exc.errno == errno.ENOTDIR and (blocker := _file_in_the_way(path.parent)) is not None:
        return OutputError(
            f"cannot {doing} {path}: {blocker} is a file, not a folder (choose a path in a folder)"
        )
    problem, fix = _PROBLEMS.get(exc.errno or 0, (exc.strerror or str(exc), "choose another path"))
    problem = problem.replace("{folder}", str(path.parent))
    return OutputError(f"cannot {doing} {path}: {problem} ({fix})")


def exists(path: Path) -> bool:
    """Whether anything (a file, a folder, a link, even a dangling one) is at ``path``;
    ``OutputError`` where the path cannot even be looked at (a name too long, no access)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise explain(exc, path) from None
    return True


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing, or a dangling link
        return False


def check_target(path: Path, *, force: bool, database: Path | None = None) -> None:
    """Refuse ``path`` as a file to write: a folder; the results database ``database`` or
    its SQLite journal files, by any name (a link, a hard link), even with ``force``; any
    other existing file unless ``force``."""
    if not exists(path):
        return
    if path.is_dir():
        raise OutputError(f"{path} is a folder: give a file name (e.g. {path / 'out.csv'})")
    if path.exists() and not path.is_file():  # a device, a pipe: never replaced by a file
        raise OutputError(f"{path} is not a regular file: choose a file name")
    journals = ("", "-wal", "-shm", "-journal")
    if database is not None and any(
        _same_file(path, database.with_name(database.name + suffix)) for suffix in journals
    ):
        raise OutputError(f"{path} is the results database being read: choose another file")
    if not force:
        raise OutputError(f"{path} exists: pass --force to replace it, or choose another file name")


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` with a new empty file beside ``path`` to fill, then rename it to
    ``path`` (replacing the file there). Whatever goes wrong, the temporary file is removed
    and ``path`` is as it was; an ``OSError`` is raised as an ``OutputError``."""
    temporary = path.parent / f".{secrets.token_hex(8)}.harness-tmp"
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise explain(exc, path) from None
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        kept = f"; {path} is unchanged" if os.path.lexists(path) else ""
        raise OutputError(f"{explain(exc, path)}{kept}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """``write_atomically`` for UTF-8 text."""
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
