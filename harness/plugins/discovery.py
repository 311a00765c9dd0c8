"""Plugin discovery: load the ``harness`` entry points into a pluggy plugin manager.

Built-in and third-party plugins are found the same way, through the entry-point group
``harness``. Each is loaded on its own: one that fails to import is recorded with its
distribution, version and error, and skipped; the host carries on with the rest.

Environment variables (as pytest's and datasette's):

- ``HARNESS_BLOCK_PLUGINS=name[,name...]``: do not load these entry points.
- ``HARNESS_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points at all; plugins then come
  only from ``extra`` (tests, embedding applications).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

import pluggy

from harness.names import did_you_mean
from harness.plugins import hookspecs

ENTRY_POINT_GROUP = "harness"
BLOCK_ENV = "HARNESS_BLOCK_PLUGINS"
NO_AUTOLOAD_ENV = "HARNESS_DISABLE_PLUGIN_AUTOLOAD"


@dataclass
class PluginRecord:
    """What the host knows of one plugin: where it came from and whether it works."""

    name: str
    distribution: str | None
    version: str | None
    status: Literal["loaded", "failed", "blocked"]
    errors: list[str] = field(default_factory=list)
    module: Any = None

    def fail(self, error: str) -> None:
        self.status = "failed"
        self.errors.append(error)


def describe_exception(exc: BaseException) -> str:
    """One line naming the exception and the innermost frame that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def blocked_names() -> set[str]:
    return {n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()}


def autoload_disabled() -> bool:
    return os.environ.get(NO_AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no")


def load_plugins(
    extra: Iterable[tuple[str, Any]] = (),
) -> tuple[pluggy.PluginManager, list[PluginRecord]]:
    """A plugin manager holding every loadable plugin, and a record for every plugin seen.

    ``extra`` are ``(name, plugin)`` pairs registered as well, as if found by entry point.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    blocked = blocked_names()

    found = [] if autoload_disabled() else entry_points(group=ENTRY_POINT_GROUP)
    for ep in sorted(found, key=lambda e: e.name):
        dist = ep.dist
        record = PluginRecord(
            ep.name, dist.name if dist else None, dist.version if dist else None, "loaded"
        )
        records.append(record)
        if ep.name in blocked:
            record.status = "blocked"
            continue
        try:
            record.module = ep.load()
        except (Exception, SystemExit) as exc:  # any import-time failure is the plugin's
            record.fail(f"import failed: {describe_exception(exc)}")
            continue
        _register(manager, record)

    for name, plugin in extra:
        record = PluginRecord(name, None, None, "loaded", module=plugin)
        records.append(record)
        _register(manager, record)
    return manager, records


def _register(manager: pluggy.PluginManager, record: PluginRecord) -> None:
    """Register one plugin; refuse it whole if it implements a hook no specification names."""
    try:
        manager.register(record.module, name=record.name)
    except Exception as exc:  # hook arguments the spec lacks, a second plugin under one name
        record.fail(f"registration failed: {describe_exception(exc)}")
        return
    specs = [name for name in dir(hookspecs) if name.startswith("harness_")]
    unknown = sorted(
        h.name for h in manager.get_hookcallers(record.module) or () if not h.has_spec()
    )
    if unknown:
        manager.unregister(record.module)
        for name in unknown:
            hint = did_you_mean(name, specs, n=1) or f" (hooks: {', '.join(specs)})"
            record.fail(f"unknown hook {name!r}{hint}")
