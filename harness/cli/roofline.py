"""``harness roofline``: the machine's measured GEMM rate and memory bandwidth."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from harness.cli.common import console, errors, escape
from harness.model.backend import DTYPES, probe
from harness.plugins.registry import Registry, UnknownNameError
from harness.run import metadata
from harness.run import roofline as roofline_module


@click.command()
@click.option("--backend", "backends", multiple=True, help="Backend (repeatable; default: all).")
@click.option(
    "--dtype",
    "dtypes",
    multiple=True,
    type=click.Choice(DTYPES),
    help="Dtype (repeatable; default: float32, float64).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="BLAS/OpenMP threads (default: all).",
)
@click.option("--refresh", is_flag=True, help="Measure again instead of reading the cache.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def roofline(
    backends: tuple[str, ...],
    dtypes: tuple[str, ...],
    threads: int | None,
    refresh: bool,
    as_json: bool,
) -> None:
    """Show this machine's measured GEMM rate and memory bandwidth per backend and dtype.

    Measured once per machine fingerprint and cached (see HARNESS_CACHE); every run records
    it, and results report their achieved GFLOP/s as a percentage of it.
    """
    registry = Registry.load()
    try:
        names = [registry.backend(name).name for name in backends] or sorted(registry.backends)
    except UnknownNameError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    pairs = [(b, d) for b in names for d in dtypes or ("float32", "float64")]
    meta = metadata.collect(registry, names)
    measured = roofline_module.for_run(registry, pairs, meta, refresh, threads)
    if as_json:
        click.echo(json.dumps(measured, indent=2))
        return
    table = Table(title="roofline (this machine)")
    for column in (
        "backend",
        "dtype",
        "GEMM GFLOP/s",
        "at m×k×n",
        "copy GB/s",
        "triad GB/s",
        "measured",
    ):
        table.add_column(column)
    for backend, by_dtype in measured.items():
        for dtype, m in by_dtype.items():
            if "error" in m:
                table.add_row(escape(backend), dtype, f"[red]{escape(m['error'])}[/]")
                continue
            table.add_row(
                escape(backend),
                dtype,
                f"{m['gemm_gflops']:.1f}",
                str(m["gemm_shape"]),
                f"{m['copy_gbs']:.1f}",
                f"{m['triad_gbs']:.1f}",
                m["measured_at"],
            )
    console.print(table)
    for name in names:
        availability = probe(registry.backend(name))
        if not availability.available:
            console.print(f"[yellow]{escape(name)}: {escape(str(availability))}[/]")
