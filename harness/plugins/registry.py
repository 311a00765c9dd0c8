"""The registry: every backend, method and task the loaded plugins provide, by name.

Each plugin's hooks are called through pluggy one plugin at a time (a hook caller holding
that plugin alone), so that arguments a hook specification gains later reach the
implementations that ask for them, and a hook that raises, or returns something that is not a
list of the expected objects, is recorded against that plugin while the others still
register. Two plugins that provide the same name are a conflict: the name is kept out
of use and looking it up raises an error naming both distributions.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from harness.model.backend import Backend
from harness.model.method import Method
from harness.model.task import Task
from harness.names import close_names, did_you_mean
from harness.plugins.discovery import PluginRecord, describe_exception, load_plugins

KINDS: dict[str, tuple[str, type]] = {
    "backend": ("harness_backends", Backend),
    "method": ("harness_methods", Method),
    "task": ("harness_tasks", Task),
}


class UnknownNameError(LookupError):
    """A name no plugin provides; the message lists the closest known names."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name = kind, name
        known = list(known)
        self.suggestions = close_names(name, known)
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, known)}")

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateNameError(LookupError):
    """A name that two plugins both provide."""

    def __str__(self) -> str:
        return str(self.args[0])


def _call_hook(
    manager: pluggy.PluginManager, hook_name: str, plugin: Any, record: PluginRecord, expected: type
) -> list[Any]:
    """What one plugin's implementation of ``hook_name`` returns, called through pluggy with
    the other plugins left out; a hook that raises, or returns anything but a list or tuple,
    fails ``record`` (once) and provides nothing."""
    others = [p for _, p in manager.list_name_plugin() if p is not None and p is not plugin]
    caller = manager.subset_hook_caller(hook_name, remove_plugins=others)
    try:
        results = caller()
    except (Exception, SystemExit) as exc:  # the plugin's fault: record it, keep the others
        record.fail(f"{hook_name} raised {describe_exception(exc)}")
        return []
    provided = results[0] if results else None  # pluggy leaves a None result out
    if not isinstance(provided, list | tuple):
        record.fail(
            f"{hook_name} returned {_short_repr(provided)}, not a list of {expected.__name__}"
        )
        return []
    return list(provided)


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _origin(record: PluginRecord) -> str:
    dist = f"{record.distribution} {record.version}" if record.distribution else "no distribution"
    return f"plugin {record.name!r} ({dist})"


@dataclass
class Registry:
    """Backends, methods and tasks by name, with the plugin each came from."""

    plugins: list[PluginRecord]
    entries: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})
    providers: dict[tuple[str, str], PluginRecord] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[PluginRecord]] = field(default_factory=dict)
    extra: list[tuple[str, Any]] = field(default_factory=list)
    """Plugins registered by the caller rather than found by entry point."""

    @classmethod
    def load(cls, extra: Iterable[tuple[str, Any]] = ()) -> Registry:
        """Discover plugins (see ``harness.plugins.discovery``) and register what their hooks
        return."""
        extra = list(extra)
        manager, records = load_plugins(extra)
        registry = cls(records, extra=extra)
        by_name = {r.name: r for r in records}
        for kind, (hook_name, expected) in KINDS.items():
            for impl in getattr(manager.hook, hook_name).get_hookimpls():
                record = by_name[impl.plugin_name]
                provided = _call_hook(manager, hook_name, impl.plugin, record, expected)
                registry._add(kind, expected, hook_name, provided, record)
        return registry

    def _add(
        self, kind: str, expected: type, hook_name: str, provided: list[Any], record: PluginRecord
    ) -> None:
        for item in provided:
            name = getattr(item, "name", None)
            if not isinstance(item, expected) or not isinstance(name, str):
                record.fail(f"{hook_name} returned {item!r}, not a named {expected.__name__}")
                continue
            key = (kind, name)
            if key in self.conflicts:
                self.conflicts[key].append(record)
            elif key in self.providers:
                del self.entries[kind][name]
                self.conflicts[key] = [self.providers.pop(key), record]
            else:
                self.entries[kind][name] = item
                self.providers[key] = record

    def extra_modules(self) -> list[tuple[str, str]]:
        """The caller-registered plugins as importable module names, for worker processes."""
        for name, plugin in self.extra:
            if not isinstance(plugin, types.ModuleType):
                raise TypeError(
                    f"plugin {name!r} is not a module, so a worker process cannot import it: "
                    "register a module, or run inline"
                )
        return [(name, plugin.__name__) for name, plugin in self.extra]

    def get(self, kind: str, name: str) -> Any:
        """The backend, method or task called ``name``; raises a helpful error if there is none."""
        if (kind, name) in self.conflicts:
            origins = " and ".join(_origin(r) for r in self.conflicts[(kind, name)])
            raise DuplicateNameError(
                f"{kind} {name!r} is provided by {origins}; "
                "uninstall one, or block one with HARNESS_BLOCK_PLUGINS"
            )
        try:
            return self.entries[kind][name]
        except KeyError:
            raise UnknownNameError(kind, name, self.entries[kind]) from None

    def backend(self, name: str) -> Backend:
        return self.get("backend", name)

    def method(self, name: str) -> Method:
        return self.get("method", name)

    def task(self, name: str) -> Task:
        return self.get("task", name)

    @property
    def backends(self) -> dict[str, Backend]:
        return self.entries["backend"]

    @property
    def methods(self) -> dict[str, Method]:
        return self.entries["method"]

    @property
    def tasks(self) -> dict[str, Task]:
        return self.entries["task"]

    def provided_by(self, record: PluginRecord) -> dict[str, list[str]]:
        """What one plugin provides, by kind (conflicting names included)."""
        provided: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for (kind, name), provider in self.providers.items():
            if provider is record:
                provided[kind].append(name)
        for (kind, name), records in self.conflicts.items():
            if record in records:
                provided[kind].append(name)
        return {kind: sorted(names) for kind, names in provided.items()}
