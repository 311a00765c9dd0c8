"""``harness check-plugin NAME``: the conformance checks (``harness.plugins.conformance``) of one
plugin, or of every plugin of one distribution, as a pass/fail table with reasons."""

from __future__ import annotations

import dataclasses
import json
import sys

import click
from rich.table import Table

from harness.cli.common import console, escape, fail
from harness.plugins.conformance import check_plugin as run_checks
from harness.plugins.conformance import failed
from harness.plugins.registry import Registry, UnknownNameError

STYLE = {"pass": "green", "fail": "bold red", "skip": "dim"}
SUMMARY = {"pass": "passed", "fail": "failed", "skip": "skipped"}


@click.command("check-plugin")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def check_plugin(name: str, as_json: bool) -> None:
    """Check that plugin NAME (an entry-point or distribution name) keeps the plugin contract:
    its backends (dtypes, round trips to and from numpy, synchronize, timer, peak memory,
    metadata), its tasks (sizes, deterministic generation, metrics on the exact answer) and
    its methods (run on a small problem of each task they fit, on each available backend:
    ok or a declared unsupported, output dtype and shape, inputs untouched, iterates, flops
    below the measured peak).

    Exit status: 0 when every check passes (or is skipped), 1 when one fails, 2 for an
    unknown NAME.
    """
    registry = Registry.load()
    try:
        checks = run_checks(registry, name)
    except UnknownNameError as exc:
        fail(str(exc))
    status = 1 if failed(checks) else 0
    counts = {SUMMARY[s]: sum(c.status == s for c in checks) for s in SUMMARY}
    if as_json:
        rows = [dataclasses.asdict(c) for c in checks]
        click.echo(json.dumps({"plugin": name, **counts, "checks": rows}, indent=2))
        sys.exit(status)
    table = Table(title=f"harness check-plugin {escape(name)}")
    for column in ("kind", "name", "check", "result", "reason"):
        table.add_column(column)
    for c in checks:
        result = f"[{STYLE[c.status]}]{c.status}[/]"
        table.add_row(c.kind, escape(c.name), escape(c.check), result, escape(c.reason))
    console.print(table)
    console.print(", ".join(f"{n} {word}" for word, n in counts.items()))
    sys.exit(status)
