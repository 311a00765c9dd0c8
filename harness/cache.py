"""Where the harness keeps what it can regenerate (the measured roofline, generated
workloads): ``$HARNESS_CACHE``, else ``$XDG_CACHE_HOME/linalg-harness``, else
``~/.cache/linalg-harness``.

A cache is a convenience, never a reason for a run to stop: without a usable home (``HOME``
unset, ``/``, or not writable) there is no cache; a cache folder or file that cannot be read
or written gives a warning, and the harness measures or generates again and goes on.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.output_files import OutputError, write_atomically

NAME = "linalg-harness"


class CacheWarning(UserWarning):
    """The cache could not be read or written; the harness went on without it."""


def cache_dir() -> Path | None:
    """The cache folder (see the module docstring), or None when there is no usable home."""
    if os.environ.get("HARNESS_CACHE"):
        return Path(os.environ["HARNESS_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / NAME
    home = os.environ.get("HOME")
    if not home or Path(home).resolve() == Path("/") or not os.access(home, os.W_OK):
        return None
    return Path(home) / ".cache" / NAME


def read(name: str, load: Callable[[Path], Any]) -> Any | None:
    """``load(path)`` of the cache file ``name``; None when it is absent, unreadable or
    corrupt (with a warning for the last two: it will be made again)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / name
    try:
        if not path.is_file():
            return None
        return load(path)
    except Exception as exc:  # unreadable or corrupt, in any way the loader says
        warnings.warn(
            f"ignored the cache file {path} ({type(exc).__name__}: {exc}); it is made again",
            CacheWarning,
            stacklevel=2,
        )
        return None


def write(name: str, save: Callable[[Path], object]) -> None:
    """Store cache file ``name`` by ``save(temporary_path)`` and an atomic rename (a
    concurrent reader sees all or nothing); a warning, not an error, when it cannot be."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / name, save)
    except (OSError, OutputError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        warnings.warn(
            f"cannot write the cache in {folder} ({reason or exc}); going on without "
            "caching (set HARNESS_CACHE to a writable folder)",
            CacheWarning,
            stacklevel=2,
        )


def read_json(name: str) -> Any | None:
    return read(name, lambda path: json.loads(path.read_text()))


def write_json(name: str, value: Any) -> None:
    write(name, lambda path: path.write_text(json.dumps(value, indent=1, sort_keys=True)))
