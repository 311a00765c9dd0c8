"""``harness validate``: check a suite without running it, and the listing of a suite's
expanded cases that ``harness run --dry-run`` prints."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter

import click

from harness.cli.common import errors, escape, printable
from harness.plugins.registry import Registry, UnknownNameError
from harness.run.case import Case
from harness.suite.loader import MAX_CASES, Suite, SuiteError, SuiteIssue, load
from harness.suite.schema import TIERS

tier_option = click.option(
    "--tier",
    type=click.Choice(TIERS),
    default=None,
    help="Only the benchmarks of this tier (a suite tags its benchmarks with tiers).",
)
max_cases_option = click.option(
    "--max-cases",
    type=click.IntRange(min=1),
    default=MAX_CASES,
    show_default=True,
    help="Refuse a suite that expands to more cases than this (counted before its "
    "include/exclude rules, and before any case is built).",
)


def case_counts(cases: list[Case]) -> dict[str, dict[str, int]]:
    """Cases per task, and per backend within each task, in the suite's order."""
    counts: dict[str, Counter[str]] = {}
    for case in cases:
        counts.setdefault(case.task, Counter())[case.backend] += 1
    return {task: dict(by_backend) for task, by_backend in counts.items()}


def summary_line(suite: Suite) -> str:
    """``N cases: task N (backend n, ...); ...``: what a suite expands to, in one line."""
    tasks = "; ".join(
        f"{task} {sum(by_backend.values())} ("
        + ", ".join(f"{backend} {n}" for backend, n in by_backend.items())
        + ")"
        for task, by_backend in case_counts(suite.cases).items()
    )
    tier = f" in tier {suite.tier}" if suite.tier else ""
    return f"{len(suite.cases)} cases{tier}: {tasks}"


def _pairs(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) or "-"


def cases_table(cases: list[Case]) -> str:
    """The cases as a compact text table, one line each."""
    header = ("#", "task", "method", "params", "backend", "dtype", "size", "problem", "seed", "rep")
    rows = [
        (
            str(i),
            c.task,
            c.method,
            _pairs(c.params),
            c.backend,
            c.dtype,
            "x".join(map(str, c.sizes.values())),
            _pairs(c.problem),
            str(c.seed),
            str(c.repetition),
        )
        for i, c in enumerate(cases, 1)
    ]
    widths = [max(len(row[j]) for row in [header, *rows]) for j in range(len(header))]
    right = {0, 8, 9}
    return "\n".join(
        "  ".join(
            cell.rjust(width) if j in right else cell.ljust(width)
            for j, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    )


def print_dry_run(suite: Suite, as_json: bool) -> None:
    """What ``harness run --dry-run`` prints: the expanded cases and their count."""
    if as_json:
        cases = [dataclasses.asdict(case) for case in suite.cases]
        out = {"suite": suite.name, "path": suite.path, "tier": suite.tier, "cases": cases}
        click.echo(json.dumps({**out, "count": len(cases)}, indent=2))
        return
    click.echo(cases_table(suite.cases))
    click.echo(f"{summary_line(suite)}\ndry run: nothing was run or written")


@click.command()
@click.argument("suite")
@tier_option
@max_cases_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def validate(suite: str, tier: str | None, max_cases: int, as_json: bool) -> None:
    """Check SUITE (a YAML file, or the name of a shipped suite) against the format and the
    installed plugins, without running anything.

    Every problem is reported at once, each as FILE:LINE: FIELD: MESSAGE, with close
    matches for unknown names. A valid suite prints one line: its cases per task and
    backend. Exit status: 0 when valid, 2 when not.
    """
    registry = Registry.load()
    try:
        loaded = load(suite, registry, tier=tier, max_cases=max_cases)
    except SuiteError as exc:
        issues = exc.issues
    except UnknownNameError as exc:
        issues = [SuiteIssue(suite, 0, "(suite)", str(exc))]
    else:
        if as_json:
            out = {"valid": True, "suite": loaded.name, "path": loaded.path, "tier": tier}
            out |= {"cases": len(loaded.cases), "counts": case_counts(loaded.cases)}
            click.echo(json.dumps(out, indent=2))
        else:
            click.echo(f"{loaded.path}: valid; {summary_line(loaded)}")
        return
    if as_json:
        out = {"valid": False, "suite": suite, "tier": tier}
        click.echo(json.dumps(out | {"issues": [dataclasses.asdict(i) for i in issues]}, indent=2))
    else:
        errors.print(
            f"[bold red]error:[/] suite {escape(repr(suite))} is not valid:",
            highlight=False,
            soft_wrap=True,
        )
        errors.print(
            printable("\n".join(map(str, issues))), highlight=False, markup=False, soft_wrap=True
        )
        errors.print(f"{len(issues)} problem{'s' * (len(issues) != 1)}", highlight=False)
    sys.exit(2)
