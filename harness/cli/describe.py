"""``harness describe NAME``: one method, task or backend in full.

The same descriptions make ``harness plugins --verbose``: a method's family, the tasks it
fits, its dtypes and backends, its parameters (type, default, choices), what it requires and
its docstring; a task's family, sizes, parameters and the methods that fit it; a backend's
library, device, dtypes, sparse matrices and availability.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import click

from harness.cli.common import console, escape, fail
from harness.model.backend import Backend, probe
from harness.model.method import Method
from harness.model.task import Task
from harness.plugins.registry import KINDS, DuplicateNameError, Registry, UnknownNameError


def _plugin(registry: Registry, kind: str, name: str) -> str | None:
    record = registry.providers.get((kind, name))
    return record.name if record else None


def method_info(registry: Registry, method: Method) -> dict[str, Any]:
    """What ``describe`` shows of a method, JSON-able; ``dtypes``/``backends`` ``None``: all."""
    return {
        "kind": "method",
        "name": method.name,
        "plugin": _plugin(registry, "method", method.name),
        "family": method.family,
        "tasks": sorted(t.name for t in registry.tasks.values() if method.fits(t)),
        "dtypes": sorted(method.dtypes) if method.dtypes is not None else None,
        "backends": sorted(method.backends) if method.backends is not None else None,
        "iterative": method.iterates is not None,
        "flops_model": method.flops is not None,
        "bytes_model": method.bytes is not None,
        "supports_check": method.supports is not None,
        "requires": [{"module": m, "install": hint} for m, hint in method.requires],
        "unsupported": method.missing_requirements(),
        "parameters": [p.as_dict() for p in method.params],
        "doc": method.doc,
    }


def task_info(registry: Registry, task: Task) -> dict[str, Any]:
    """What ``describe`` shows of a task, JSON-able."""
    return {
        "kind": "task",
        "name": task.name,
        "plugin": _plugin(registry, "task", task.name),
        "family": task.family,
        "sizes": list(task.size_names),
        "example_sizes": task.small_sizes(),
        "exact": task.exact,
        "methods": sorted(m.name for m in registry.methods.values() if m.fits(task)),
        "parameters": [p.as_dict() for p in task.params],
        "doc": task.doc,
    }


def backend_info(registry: Registry, backend: Backend) -> dict[str, Any]:
    """What ``describe`` shows of a backend, JSON-able."""
    availability = probe(backend)
    return {
        "kind": "backend",
        "name": backend.name,
        "plugin": _plugin(registry, "backend", backend.name),
        "library": backend.library,
        "device": backend.device,
        "dtypes": list(backend.dtypes),
        "sparse": backend.supports_sparse,
        "available": availability.available,
        "reason": availability.reason or None,
        "doc": inspect.getdoc(type(backend)) or "",
    }


# the description of each kind; the registry's entry is a Method, Task or Backend as the kind says
INFO: dict[str, Callable[[Registry, Any], dict[str, Any]]] = {
    "method": method_info,
    "task": task_info,
    "backend": backend_info,
}


def _listed(values: list[str] | None, every: str) -> str:
    return ", ".join(values) if values else every


def _lines(info: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows of one description, in the order they are printed."""
    kind = info["kind"]
    if kind == "method":
        rows = [
            ("family", info["family"]),
            ("tasks", _listed(info["tasks"], "none registered")),
            ("dtypes", _listed(info["dtypes"], "every dtype of the backend")),
            ("backends", _listed(info["backends"], "every backend")),
            ("iterative", "yes" if info["iterative"] else "no"),
            ("flops model", "yes" if info["flops_model"] else "no"),
            ("bytes model", "yes" if info["bytes_model"] else "no"),
            ("supports", "refuses some problems" if info["supports_check"] else "every problem"),
        ]
        if info["requires"]:
            rows.append(("requires", ", ".join(r["module"] for r in info["requires"])))
        if info["unsupported"]:
            rows.append(("unsupported", info["unsupported"]))
    elif kind == "task":
        rows = [
            ("family", info["family"]),
            ("sizes", ", ".join(info["sizes"])),
            ("example sizes", ", ".join(f"{k}={v}" for k, v in info["example_sizes"].items())),
            ("exact answer", info["exact"] or "none declared"),
            ("methods", _listed(info["methods"], "none registered")),
        ]
    else:
        rows = [
            ("library", info["library"]),
            ("device", info["device"]),
            ("dtypes", ", ".join(info["dtypes"])),
            ("sparse", "yes" if info["sparse"] else "no"),
            ("available", "yes" if info["available"] else f"no - {info['reason']}"),
        ]
    rows += [("parameter", param["text"]) for param in info.get("parameters", [])]
    return rows


def print_info(info: dict[str, Any]) -> None:
    """One description as text: a heading, labelled rows, then the docstring."""
    plugin = f" (plugin {info['plugin']})" if info["plugin"] else ""
    console.print(f"[bold]{info['kind']} {escape(info['name'])}[/]{escape(plugin)}")
    for label, text in _lines(info):
        console.print(f"  {label:<14}{escape(text)}", highlight=False)
    if info["doc"]:
        console.print()
        for line in info["doc"].splitlines():
            console.print(f"  {escape(line)}" if line else "", highlight=False)
    console.print()


def find(registry: Registry, name: str) -> list[dict[str, Any]]:
    """Descriptions of every method, task or backend called ``name`` (a task and a method
    may share one); ``DuplicateNameError`` where two plugins provide it, ``UnknownNameError``
    (with close matches among all names) where nothing does."""
    found = [
        INFO[kind](registry, registry.get(kind, name))
        for kind in KINDS
        if name in registry.entries[kind] or (kind, name) in registry.conflicts
    ]
    if not found:
        known = {n for entries in registry.entries.values() for n in entries}
        raise UnknownNameError("method, task or backend", name, sorted(known))
    return found


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def describe(name: str, as_json: bool) -> None:
    """Show one method, task or backend in full: family, tasks, dtypes, backends, parameters
    with types, defaults and choices, and its docstring. Exit status 2 for an unknown NAME."""
    try:
        found = find(Registry.load(), name)
    except (UnknownNameError, DuplicateNameError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for info in found:
        print_info(info)
