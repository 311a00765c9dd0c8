"""``harness plugins``: every plugin, what it provides, whether its backends can run and its
methods' optional libraries are installed; with ``--verbose``, every method, task and backend
in full (as ``harness describe`` shows one)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from harness.cli.common import console, escape
from harness.cli.describe import INFO, print_info
from harness.model.backend import probe
from harness.plugins.registry import Registry


def _plugins_json(registry: Registry, verbose: bool = False) -> dict[str, Any]:
    plugins = []
    for record in registry.plugins:
        provided = registry.provided_by(record)
        plugins.append(
            {
                "name": record.name,
                "distribution": record.distribution,
                "version": record.version,
                "status": record.status,
                "errors": record.errors,
                "backends": [
                    {"name": b, **_availability(registry, b)} for b in provided["backend"]
                ],
                "methods": provided["method"],
                "unsupported_methods": _unsupported(registry, provided["method"]),
                "tasks": provided["task"],
            }
        )
    conflicts = [
        {"kind": k, "name": n, "plugins": [r.name for r in rs]}
        for (k, n), rs in registry.conflicts.items()
    ]
    info: dict[str, Any] = {"plugins": plugins, "conflicts": conflicts}
    if verbose:
        for kind, describe in INFO.items():
            entries = registry.entries[kind]
            info[f"{kind}s"] = [describe(registry, entries[name]) for name in sorted(entries)]
    return info


def _unsupported(registry: Registry, methods: list[str]) -> dict[str, str]:
    """Why each of ``methods`` that cannot run anywhere here (an optional library missing)
    cannot."""
    reasons = {
        name: registry.methods[name].missing_requirements()
        for name in methods
        if name in registry.methods
    }
    return {name: reason for name, reason in reasons.items() if reason}


def _availability(registry: Registry, name: str) -> dict[str, Any]:
    if ("backend", name) in registry.conflicts:
        return {"available": False, "reason": "name provided by two plugins"}
    availability = probe(registry.backend(name))
    return {"available": availability.available, "reason": availability.reason or None}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Describe every method, task and backend in full (as `harness describe` does).",
)
def plugins(as_json: bool, verbose: bool) -> None:
    """List every plugin: distribution, version, what it provides, backend availability, and
    methods whose optional libraries are missing. With --verbose (and with --json
    --verbose), each method's family, tasks, dtypes, backends, parameters and docstring, and
    each task and backend in full."""
    info = _plugins_json(Registry.load(), verbose)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    table = Table(title="harness plugins")
    for column in ("plugin", "distribution", "status", "provides"):
        table.add_column(column)
    for p in info["plugins"]:
        dist = f"{p['distribution']} {p['version']}" if p["distribution"] else "-"
        status = {"loaded": "[green]loaded[/]", "blocked": "[yellow]blocked[/]"}.get(
            p["status"], "[bold red]failed[/]"
        )
        provides = [
            escape(b["name"])
            + ": "
            + (
                "[green]available[/]"
                if b["available"]
                else f"[yellow]unavailable - {escape(b['reason'])}[/]"
            )
            for b in p["backends"]
        ]
        provides += [
            f"method {escape(m)}"
            + (
                f": [yellow]unsupported - {escape(p['unsupported_methods'][m])}[/]"
                if m in p["unsupported_methods"]
                else ""
            )
            for m in p["methods"]
        ]
        provides += [f"task {escape(t)}" for t in p["tasks"]]
        provides += [f"[red]{escape(e)}[/]" for e in p["errors"]]
        table.add_row(escape(p["name"]), escape(dist), status, "\n".join(provides) or "-")
    console.print(table)
    for c in info["conflicts"]:
        console.print(
            f"[bold red]conflict:[/] {c['kind']} {escape(repr(c['name']))} is "
            f"provided by {escape(' and '.join(c['plugins']))}; neither is used"
        )
    for kind in INFO if verbose else ():
        console.print()
        for entry in info[f"{kind}s"]:
            print_info(entry)
