"""``harness plugins``: every plugin, what it provides, and whether its backends can run."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from harness.backend import probe
from harness.cli.common import console
from harness.registry import Registry


def _plugins_json(registry: Registry) -> dict[str, Any]:
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
                "tasks": provided["task"],
            }
        )
    conflicts = [
        {"kind": k, "name": n, "plugins": [r.name for r in rs]}
        for (k, n), rs in registry.conflicts.items()
    ]
    return {"plugins": plugins, "conflicts": conflicts}


def _availability(registry: Registry, name: str) -> dict[str, Any]:
    if ("backend", name) in registry.conflicts:
        return {"available": False, "reason": "name provided by two plugins"}
    availability = probe(registry.backend(name))
    return {"available": availability.available, "reason": availability.reason or None}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins(as_json: bool) -> None:
    """List every plugin: distribution, version, what it provides, and backend availability."""
    info = _plugins_json(Registry.load())
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
        provides += [f"method {escape(m)}" for m in p["methods"]]
        provides += [f"task {escape(t)}" for t in p["tasks"]]
        provides += [f"[red]{escape(e)}[/]" for e in p["errors"]]
        table.add_row(escape(p["name"]), escape(dist), status, "\n".join(provides) or "-")
    console.print(table)
    for c in info["conflicts"]:
        console.print(
            f"[bold red]conflict:[/] {c['kind']} {escape(repr(c['name']))} is "
            f"provided by {escape(' and '.join(c['plugins']))}; neither is used"
        )
